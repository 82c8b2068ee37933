"""Tandem's backend: validates the Office SSO token, exchanges it on-behalf-of, calls Graph."""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, g, has_request_context, request
from flask_cors import CORS

from . import api, audit, errors, metrics, serving, site
from .actions import Act
from .config import ConfigError, Settings
from .context import ItemContext
from .coordination import Coordinator, build
from .errors import ServerMisconfigured
from .graph import MAILBOX_CONCURRENCY, GraphClient
from .identity import Caller, KeySet, TokenValidator
from .obo import OnBehalfOf
from .outbound import Session, ssl_context

__all__ = ["ConfigError", "Settings", "create_app"]

log = logging.getLogger("tandem")
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


@dataclass(frozen=True)
class Tandem:
    """The clients an app builds once: kept in app.extensions["tandem"]."""

    settings: Settings
    keys: KeySet
    validator: TokenValidator
    obo: OnBehalfOf
    graph: GraphClient
    coordinator: Coordinator
    wall: Callable[[], float] = time.time  # the wall clock (tests move it)

    def act(
        self, caller: Caller, ctx: ItemContext, fields: dict[str, Any], etag: str | None
    ) -> Act:
        """Everything an action needs: the person's Graph token and the item's route."""
        if has_request_context():
            g.target_mailbox = ctx.target or caller.upn
        deadline = self.graph.clock() + self.settings.action_budget
        return Act(
            graph=self.graph,
            coordinator=self.coordinator,
            token=self.obo.graph_token(caller),
            caller=caller,
            ctx=ctx,
            route=self.graph.route(caller, ctx),
            etag=etag,
            fields=fields,
            deadline=deadline,
            graph_timeout=self.settings.http_timeout,
        )


def create_app(
    config: Mapping[str, str] | Settings | None = None,
    *,
    clock: Callable[[], float] | None = None,
    obo_cache: bool = True,
    mailbox_gate: bool = True,
) -> Flask:
    """The backend app; settings from the environment, or `config` laid over it.

    `obo_cache` and `mailbox_gate` exist for the benchmark's naive mode only (bench/servers.py):
    off, every request exchanges its token with Entra ID, and Graph calls take no mailbox slot.
    No setting reaches them.
    """
    settings = config if isinstance(config, Settings) else Settings.load(config)
    audit.install(
        [
            s
            for s in (settings.client_secret, settings.metrics_token, *_redis_secrets(settings))
            if s
        ]
    )
    wall = clock or time.time

    context = ssl_context(settings.ca_bundle)
    timeout = (3.05, settings.http_timeout)
    entra_session = Session(context=context, timeout=timeout)
    graph_session = Session(context=context, timeout=timeout, pool_size=64)

    authority = settings.authority_host
    key_tenant = "common" if settings.multi_tenant else settings.tenant_id
    keys = KeySet(
        f"https://{authority}/{key_tenant}/discovery/v2.0/keys",
        context=context,
        timeout=settings.http_timeout,
        cooldown=settings.jwks_cooldown,
        clock=clock or time.monotonic,
    )
    coordinator = build(settings)
    _announce_coordination(settings, coordinator)
    # Naive mode (the benchmark's): a token cache of its own that keeps nothing.
    uncached: dict[str, Any] = {} if obo_cache else {"max_entries": 0}
    tandem = Tandem(
        settings=settings,
        keys=keys,
        validator=TokenValidator(settings, keys, clock=wall),
        obo=OnBehalfOf(
            settings,
            entra_session,
            clock=wall,
            coordinator=coordinator if obo_cache else None,
            **uncached,
        ),
        graph=GraphClient(
            graph_session,
            graph_url=settings.graph_url,
            coordinator=coordinator,
            timeout=timeout,
            # A person waits at most one timeout for a slot, and two for the whole call.
            slot_wait=settings.http_timeout,
            budget=2 * settings.http_timeout,
            concurrency=MAILBOX_CONCURRENCY if mailbox_gate else sys.maxsize,
            request_id=_request_id,
            observe=_graph_answered,
            wall=wall,
        ),
        coordinator=coordinator,
        wall=wall,
    )

    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["tandem"] = tandem
    errors.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(site.bp)
    app.register_blueprint(metrics.bp)
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
    app.wsgi_app = serving.wrap(app.wsgi_app, max_body=MAX_BODY, proxy_hops=settings.trust_proxy)  # type: ignore[method-assign]

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
        metrics.REQUESTS.labels(route, str(response.status_code)).inc()
        metrics.DURATION.labels(route).observe(seconds)
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
            _log_request(route, response.status_code, seconds)
        return response

    return app


def _exactly(origin: str) -> re.Pattern[str]:
    """An origin as a pattern that matches that origin and nothing else (case-insensitively)."""
    return re.compile(re.escape(origin) + r"\Z", re.IGNORECASE)


def _redis_secrets(settings: Settings) -> list[str]:
    """What must never reach a log line: the cache keys and the Redis URL's password."""
    secrets = list(settings.cache_keys)
    if settings.redis_url:
        password = urlsplit(settings.redis_url).password
        if password:
            secrets += [password, unquote(password)]
    return secrets


def _announce_coordination(settings: Settings, coordinator: Coordinator) -> None:
    """One line at start saying where locks, slots and the token cache live."""
    if not coordinator.shared:
        log.info("locks, mailbox slots and the token cache: in this process (one worker)")
        return
    where = urlsplit(settings.redis_url or "")
    reachable = coordinator.ping()
    log.info(
        "locks, mailbox slots and the token cache: Redis at %s (%s)",
        f"{where.scheme}://{where.hostname}:{where.port or 6379}{where.path}",
        "reachable" if reachable else "unreachable for now; reads go on without it",
    )


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
