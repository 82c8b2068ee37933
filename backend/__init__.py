"""Tandem's backend: validates the Office SSO token, exchanges it on-behalf-of, calls Graph."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Flask, Response, g, request
from flask_cors import CORS

from . import api, audit, errors, serving, site
from .config import ConfigError, Settings
from .identity import KeySet, TokenValidator
from .mailbox import MailboxClient
from .obo import OnBehalfOf
from .outbound import Session, ssl_context

__all__ = ["ConfigError", "Settings", "create_app"]

log = logging.getLogger("tandem")
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Tandem:
    """The clients an app builds once: kept in app.extensions["tandem"]."""

    settings: Settings
    keys: KeySet
    validator: TokenValidator
    obo: OnBehalfOf
    mailbox: MailboxClient


def create_app(
    config: Mapping[str, str] | Settings | None = None,
    *,
    clock: Callable[[], float] | None = None,
) -> Flask:
    """The backend app; settings from the environment, or `config` laid over it."""
    settings = config if isinstance(config, Settings) else Settings.load(config)
    audit.install([s for s in (settings.client_secret,) if s])
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
    tandem = Tandem(
        settings=settings,
        keys=keys,
        validator=TokenValidator(settings, keys, clock=wall),
        obo=OnBehalfOf(settings, entra_session, clock=wall),
        mailbox=MailboxClient(graph_session, graph_url=settings.graph_url),
    )

    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["tandem"] = tandem
    errors.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(site.bp)
    # The pane is served by this app (same origin: no CORS needed); other origins are refused
    # unless TANDEM_ALLOWED_ORIGINS names them.
    if settings.allowed_origins:
        CORS(
            app,
            resources={r"/api/*": {"origins": list(settings.allowed_origins)}},
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    # Chunked bodies judged by the same 64 KiB limit; X-Forwarded-* from trusted hops only.
    app.wsgi_app = serving.wrap(app.wsgi_app, max_body=MAX_BODY, proxy_hops=settings.trust_proxy)  # type: ignore[method-assign]

    @app.before_request
    def _start() -> None:
        g.request_id = str(uuid.uuid4())
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["request-id"] = g.get("request_id", "")
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
            log.info(
                "%s %s %s %.0fms request-id=%s",
                request.method,
                request.path,
                response.status_code,
                (time.perf_counter() - g.get("started", time.perf_counter())) * 1000,
                g.get("request_id"),
            )
        return response

    return app
