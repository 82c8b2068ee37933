"""create_app(): Settings -> Services -> the Flask app, its hooks, CORS and blueprints."""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
import time
import uuid
from collections.abc import Callable, Mapping

from flask import Flask, Response, g, has_request_context, request
from flask.json.provider import DefaultJSONProvider
from flask_cors import CORS

from tandem_mailbox import metrics
from tandem_mailbox.config import Settings
from tandem_mailbox.coordination import Coordinator
from tandem_mailbox.errors import ServerMisconfigured
from tandem_mailbox.services import build
from tandem_mailbox.web import api, mailbox, pages, problems, wsgi

log = logging.getLogger("tandem")


def create_app(
    config: Mapping[str, str] | Settings | None = None,
    *,
    clock: Callable[[], float] | None = None,
    obo_cache: bool = True,
    mailbox_gate: bool = True,
    trust: ssl.SSLContext | None = None,
) -> Flask:
    """The backend app; settings from the environment, or `config` laid over it.

    `obo_cache` and `mailbox_gate` exist for the benchmark's naive mode only (bench/servers.py):
    off, every request exchanges its token with Entra ID, and Graph calls take no mailbox slot.
    No setting reaches them. `trust`, the TLS context of outbound calls, is built from
    TANDEM_CA_BUNDLE unless given (the tests build one per session, not one per app).
    """
    settings = config if isinstance(config, Settings) else Settings.load(config)
    services = build(
        settings,
        clock=clock,
        obo_cache=obo_cache,
        mailbox_gate=mailbox_gate,
        request_id=_request_id,
        observe=_graph_answered,
        trust=trust,
    )
    coordinator = services.coordinator

    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = wsgi.MAX_BODY
    json_provider = DefaultJSONProvider(app)  # the provider Flask makes, answers in build order
    json_provider.sort_keys = False
    app.json = json_provider
    app.extensions["tandem"] = services
    problems.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(mailbox.bp)
    app.register_blueprint(pages.bp)
    # The pane is served by this app (same origin: no CORS needed); other origins are refused
    # unless TANDEM_ALLOWED_ORIGINS names them. Each is handed to flask-cors as an anchored
    # pattern of its escaped text: flask-cors takes a string holding '*', '$', '[' ... for an
    # unanchored regex, so only an exact origin may match, whatever the Settings hold.
    if settings.allowed_origins:
        CORS(
            app,
            resources={r"/api/*": {"origins": [_exactly(o) for o in settings.allowed_origins]}},
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Idempotent-Replayed", "Retry-After", "request-id"],
            max_age=600,
        )
    # Chunked bodies judged by the same MAX_BODY limit; X-Forwarded-* from trusted hops only.
    # Replacing app.wsgi_app is how Flask's docs add WSGI middleware; mypy sees a method.
    app.wsgi_app = wsgi.wrap(  # type: ignore[method-assign]
        app.wsgi_app, max_body=wsgi.MAX_BODY, proxy_hops=settings.trust_proxy
    )

    @app.before_request
    def _start() -> None:
        g.request_id = str(uuid.uuid4())
        g.started = time.perf_counter()
        _refuse_unshared_workers(settings, coordinator)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["request-id"] = g.get("request_id", "")
        route = request.url_rule.rule if request.url_rule else "unmatched"
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.child(metrics.REQUESTS, route, str(response.status_code)).inc()
        metrics.child(metrics.DURATION, route).observe(seconds)
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
            _log_request(route, response.status_code, seconds)
        return response

    return app


def _exactly(origin: str) -> re.Pattern[str]:
    """An origin as a pattern that matches that origin and nothing else (case-insensitively)."""
    return re.compile(re.escape(origin) + r"\Z", re.IGNORECASE)


def _refuse_unshared_workers(settings: Settings, coordinator: Coordinator) -> None:
    """`gunicorn -w N` without Redis: refuse the API and readiness, say why in the log.

    gunicorn tells the app its worker count only per request (`wsgi.multiprocess`, true with
    more than one worker); TANDEM_WORKERS / WEB_CONCURRENCY already stopped the start.
    """
    if coordinator.shared or settings.single_worker_state:
        return
    if not request.environ.get("wsgi.multiprocess"):
        return
    if not (request.path.startswith("/api/") or request.path == "/readyz"):
        return
    log.error(
        "several workers without TANDEM_REDIS_URL: each keeps its own locks, slots and token "
        "cache; set TANDEM_REDIS_URL (or TANDEM_WORKERS=1, or TANDEM_SINGLE_WORKER_STATE=true)"
    )
    raise ServerMisconfigured("The add-in's server runs several workers without shared state.")


def _request_id() -> str | None:
    """This request's id, sent to Graph as client-request-id so one ticket can be followed."""
    return g.get("request_id") if has_request_context() else None


def _graph_answered(request_id: str) -> None:
    """Keep Graph's request-id for this request's log line (and the support ticket)."""
    if has_request_context():
        g.setdefault("graph_request_ids", []).append(request_id)


def _log_request(route: str, status: int, seconds: float) -> None:
    """One line per API request: no token, no address; the person as a hash of their oid."""
    caller = g.get("caller")
    target = g.get("target_mailbox")
    log.info(
        "%s %s %s %.0fms",
        request.method,
        route,
        status,
        seconds * 1000,
        extra={
            "method": request.method,
            "route": route,
            "status": status,
            "durationMs": round(seconds * 1000, 1),
            "requestId": g.get("request_id"),
            "tenant": caller.tid if caller else None,
            "person": hashlib.sha256(caller.oid.encode()).hexdigest()[:16] if caller else None,
            "mailboxDomain": target.rsplit("@", 1)[-1] if target and "@" in target else None,
            "graphRequestIds": g.get("graph_request_ids", []),
        },
    )
