"""The task pane's files, the rendered manifests, the health and readiness probes, and the
security headers every answer carries."""

from __future__ import annotations

import hmac
import json
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, jsonify, request, send_from_directory
from markupsafe import escape
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import NotFound

from tandem_mailbox import manifest, metrics
from tandem_mailbox.config import OFFICE_JS_CDN
from tandem_mailbox.errors import InvalidToken
from tandem_mailbox.microsoft.identity import SCOPE
from tandem_mailbox.web.auth import services

bp = Blueprint("pages", __name__)

# An installed wheel carries the pane's served files in tandem_mailbox/pane (setup.py's build hook
# copies them from taskpane/); a checkout or editable install serves taskpane/ itself.
PACKAGE = Path(__file__).resolve().parents[1]
PACKAGED = PACKAGE / "pane"
TASKPANE = PACKAGED if PACKAGED.is_dir() else PACKAGE.parents[1] / "taskpane"
# Folders of the pane served beside its top-level files (vendor/: MSAL.js, filled by npm ci).
FOLDERS = ("assets", "vendor")
SERVED = (".js", ".css", ".png", ".svg", ".html", ".ico", ".map")
# The OnMessageSend handler (launch/): classic Outlook on Windows runs its script alone, in a
# JavaScript-only runtime where a relative URL can't be fetched ("Activate add-ins with
# events", Request external data), so the script is served with this deployment's public URL
# written into this line of it.
PUBLIC_URL_LINE = 'const PUBLIC_URL = "";'
# ... and the add-in's client id and API scope into this one, for nested app authentication
# where Outlook offers it (the manifest's WebApplicationInfo, which the pane reads).
APP_LINE = "const APP = null;"
# HSTS for two years (RFC 6797); no includeSubDomains: the deployment need not own its
# parent domain's other hosts. Sent on secure requests only (6797 7.2).
HSTS = "max-age=63072000"
# Outlook on the web and the new Outlook host the pane in a frame of these origins.
FRAME_ANCESTORS = (
    "'self' https://*.office.com https://*.office365.com https://*.officeapps.live.com "
    "https://*.microsoft.com https://*.office365.us https://*.apps.mil https://*.outlook.cn"
)


@cache
def csp(office_js_url: str) -> str:
    """The pane's Content-Security-Policy: scripts from this origin and Office.js's only.

    Office.js loads its further scripts from beside office.js, so its origin (not the file)
    is allowed; an Office.js served by this backend (a path) needs nothing beyond 'self'.
    """
    script_src = ["'self'"]
    parts = urlsplit(office_js_url)
    if parts.scheme == "https" and parts.netloc:
        script_src.append(f"https://{parts.netloc}")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {' '.join(script_src)}",
            "style-src 'self' 'unsafe-inline'",  # Office.js injects styles for its own dialogs
            "img-src 'self' data: https:",
            "connect-src 'self'",
            "frame-src https:",
            f"frame-ancestors {FRAME_ANCESTORS}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = csp(services().settings.office_js_url)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.after_app_request
def _every_answer(response: Response) -> Response:
    """Headers every answer carries: the pane's files, the API, errors, probes, manifests."""
    if request.is_secure:  # https here, or at a trusted proxy (TANDEM_TRUST_PROXY)
        response.headers["Strict-Transport-Security"] = HSTS
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _page(path: Path) -> Response:
    """A page of the pane, with Office.js from Microsoft's CDN (or the configured script)."""
    html = path.read_text(encoding="utf-8")
    office_js = services().settings.office_js_url
    if office_js != OFFICE_JS_CDN:
        html = html.replace(OFFICE_JS_CDN, office_js)
    return _secure(Response(html, mimetype="text/html"))


@bp.get("/")
@bp.get("/taskpane.html")
def taskpane() -> Response:
    """The task pane page."""
    return _page(TASKPANE / "taskpane.html")


@bp.get("/launch/onsend.html")
def onsend_page() -> Response:
    """The OnMessageSend handler's page (Outlook on the web, new Outlook, Mac: a browser
    runtime loads it, and it loads the script)."""
    return _page(TASKPANE / "launch" / "onsend.html")


@bp.get("/launch/onsend.js")
def onsend_script() -> Response:
    """The OnMessageSend handler's script, with the deployment's public URL and its app's
    identity written in."""
    script = (TASKPANE / "launch" / "onsend.js").read_text(encoding="utf-8")
    if PUBLIC_URL_LINE not in script or APP_LINE not in script:
        abort(500)
    settings = services().settings
    public_url = settings.public_url.rstrip("/")
    app = {"clientId": settings.client_id, "scope": f"{settings.app_id_uri}/{SCOPE}"}
    script = script.replace(PUBLIC_URL_LINE, f"const PUBLIC_URL = {json.dumps(public_url)};", 1)
    script = script.replace(APP_LINE, f"const APP = {json.dumps(app)};", 1)
    return _secure(Response(script, mimetype="text/javascript"))


@bp.get("/.well-known/microsoft-officeaddins-allowed.json")
def officeaddins_allowed() -> Response:
    """The scripts of this origin allowed single sign-on and CORS in an event-based runtime
    (classic Outlook on Windows reads this list: "Use single sign-on (SSO) or cross-origin
    resource sharing (CORS) in your event-based or spam-reporting Office Add-in")."""
    public_url = services().settings.public_url.rstrip("/")
    return jsonify({"allowed": [f"{public_url}/launch/onsend.js"]})


@bp.get("/<name>")
@bp.get("/<any(assets, vendor):folder>/<path:name>")
def static_file(name: str, folder: str = "") -> Response:
    """The pane's CSS, modules, icons, vendored MSAL.js, command and support pages (never the
    simulator, the tests or package files)."""
    if any(part.startswith(".") for part in name.split("/")) or not name.endswith(SERVED):
        abort(404)
    response = send_from_directory(TASKPANE / folder if folder else TASKPANE, name, max_age=0)
    if name.endswith(".js"):
        response.mimetype = "text/javascript"
    return _secure(response)


def _rendered(data: str | bytes, mimetype: str, filename: str, *, attach: bool = False) -> Response:
    """A manifest (or the app package) rendered for this deployment, named for download."""
    response = Response(data, mimetype=mimetype)
    disposition = "attachment" if attach else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def _deployment() -> tuple[str, str, list[str]]:
    settings = services().settings
    return settings.client_id, settings.public_url, list(settings.scopes)


@bp.get("/manifest.xml")
def manifest_xml() -> Response:
    """The XML manifest rendered for this deployment, for sideloading."""
    return _rendered(manifest.render(*_deployment()), "application/xml", "manifest.xml")


@bp.get("/manifest.json")
def manifest_json() -> Response:
    """The unified manifest for Microsoft 365 rendered for this deployment."""
    return _rendered(manifest.render_json(*_deployment()), "application/json", "manifest.json")


@bp.get("/tandem-app-package.zip")
def app_package() -> Response:
    """The app package (manifest.json and its icons) to upload as a custom app."""
    data = manifest.package(*_deployment())
    return _rendered(data, "application/zip", "tandem-app-package.zip", attach=True)


@bp.get("/consent-done")
def consent_done() -> Response:
    """Where the admin-consent page returns (the redirect `tandem register` registers)."""
    error = request.args.get("error_description") or request.args.get("error")
    text = (
        f"Consent was not granted: {error}"
        if error
        else "Thank you: the permissions are granted. Close this window and open Tandem again."
    )
    page = (
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>Tandem</title>'
        f"<p>{escape(text)}</p></html>"
    )
    return _secure(Response(page, mimetype="text/html"))


@bp.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready: Entra ID's signing keys can be fetched, so tokens can be validated."""
    services().keys.ready()
    return jsonify({"status": "ready"})


# Behind a proxy the app can't tell a scraper on loopback from the world (the proxy is the
# peer), while a bearer token works the same through any proxy and any number of workers.
@bp.get("/metrics")
def prometheus() -> Response:
    """Prometheus's text format, for a scraper holding TANDEM_METRICS_TOKEN."""
    expected = services().settings.metrics_token
    if not expected:
        raise NotFound("Metrics are off: set TANDEM_METRICS_TOKEN to turn them on.")
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise InvalidToken("The metrics token is missing or wrong.")
    response = Response(generate_latest(metrics.registry()), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
