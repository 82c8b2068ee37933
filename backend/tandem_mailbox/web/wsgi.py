"""What every server wraps around the app (werkzeug's for the demo, gunicorn's in production):
bounded request bodies, trusted proxy hops, and problem+json for errors the app never saw.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

# The body limit must never refuse a request whose fields are all within their own limits,
# however its JSON is encoded (RFC 8259 lets any character be a \uXXXX escape). The largest
# such request is a forward:
#   the comment: MAX_COMMENT (32,000) x MAX_JSON_CHAR_BYTES (12)        = 384,000 bytes
#   toRecipients: 50 addresses x (320 characters x 6 bytes + 3)         =  96,150 bytes
#   the item context (ids up to 514 characters, addresses 320 and 381,
#   the etag 512), the member names and the punctuation, all escaped    <  16,000 bytes
# which is under 497,000 bytes: 512 KiB holds it. (At 64 KiB, a comment of some 21,000 CJK
# characters, 3 bytes each in UTF-8, was refused as a body too large, well under its 32,000.)
MAX_BODY = 512 * 1024


def problem_bytes(status: int, detail: str) -> bytes:
    """The problem+json body (RFC 9457) a server answers for an error the app never saw."""
    phrase = HTTPStatus(status).phrase
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    body = {
        "type": f"urn:tandem:problem:{code}",
        "title": phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "requestId": None,
    }
    return json.dumps(body).encode()


class BoundedBody:
    """Judges a chunked body (no Content-Length) by the same limit as one with a length.

    A server that decodes chunked bodies sets `wsgi.input_terminated`; werkzeug then reads
    such a body only up to MAX_CONTENT_LENGTH and hands the app that much as if it were all
    (the JSON parse fails: a 400 for what is a 413). Reading one byte past the limit here
    tells them apart: a body that fits is passed on with its Content-Length, one that does
    not is passed on with a Content-Length over the limit, which the app answers with its
    problem+json 413 before reading it.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], max_body: int):
        self.app = app
        self.max_body = max_body

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Buffer a chunked body up to the limit, then call the app."""
        if environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            stream = environ["wsgi.input"]
            data = b""
            while len(data) <= self.max_body:
                chunk = stream.read(self.max_body + 1 - len(data))
                if not chunk:
                    break
                data += chunk
            # From here on the body is a plain one of known length: werkzeug reads a
            # Transfer-Encoding: chunked header as "no length" and would see an empty body.
            environ["wsgi.input"] = io.BytesIO(data[: self.max_body])
            environ["CONTENT_LENGTH"] = str(len(data))
            del environ["wsgi.input_terminated"]
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)


def wrap(
    app: Callable[..., Iterable[bytes]], *, max_body: int, proxy_hops: int = 0
) -> Callable[..., Iterable[bytes]]:
    """The app's WSGI callable with bounded bodies, and ProxyFix for `proxy_hops` trusted hops."""
    wrapped: Callable[..., Iterable[bytes]] = BoundedBody(app, max_body)
    if proxy_hops:
        # X-Forwarded-For/-Proto/-Host/-Port from that many proxies only (werkzeug's ProxyFix);
        # with 0 they are ignored, so a client cannot claim to be https or another host.
        wrapped = ProxyFix(
            wrapped, x_for=proxy_hops, x_proto=proxy_hops, x_host=proxy_hops, x_port=proxy_hops
        )
    return wrapped
