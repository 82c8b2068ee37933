"""Every error of the app answered as problem+json (RFC 9457): ours, werkzeug's, the unexpected."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, g, json, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from tandem_mailbox.errors import PROBLEM_JSON, ApiError, problem_body

log = logging.getLogger("tandem")


def _snake(name: str) -> str:
    """'Request Entity Too Large' -> 'request_entity_too_large'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    members: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build one application/problem+json response."""
    body = problem_body(status, code, title, detail, members, request_id=g.get("request_id"))
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register(app: Flask) -> None:
    """Answer every error of the app, ours and werkzeug's, as problem+json."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        level = logging.ERROR if error.status >= 500 else logging.INFO
        log.log(level, "answered %s %s", error.status, error.code)
        return problem(
            error.status, error.code, error.title, error.detail, error.members, error.headers
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        name = error.name or "error"
        detail = error.description or name
        if status == 413 and request.max_content_length:
            # The limit in the answer, for a client that did not ask the context for it.
            detail = f"The request body is over {request.max_content_length:,} bytes."
        response = problem(status, _snake(name), name, detail)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return problem(500, "internal_error", "Something went wrong", "An unexpected error.")
