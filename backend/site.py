"""The task pane's files, the rendered manifest, and the health and readiness probes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, send_from_directory

from . import manifest
from .config import OFFICE_JS_CDN

bp = Blueprint("site", __name__)

TASKPANE = Path(__file__).resolve().parent.parent / "taskpane"
# Outlook on the web and the new Outlook host the pane in a frame of these origins.
FRAME_ANCESTORS = (
    "'self' https://*.office.com https://*.office365.com https://*.officeapps.live.com "
    "https://*.microsoft.com https://*.office365.us https://*.apps.mil https://*.outlook.cn"
)
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' https://appsforoffice.microsoft.com",
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


def _tandem() -> Any:
    return current_app.extensions["tandem"]


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/")
@bp.get("/taskpane.html")
def taskpane() -> Response:
    """The task pane page, with Office.js from Microsoft's CDN (or the configured script)."""
    html = (TASKPANE / "taskpane.html").read_text(encoding="utf-8")
    office_js = _tandem().settings.office_js_url
    if office_js != OFFICE_JS_CDN:
        html = html.replace(OFFICE_JS_CDN, office_js)
    return _secure(Response(html, mimetype="text/html"))


@bp.get("/<name>")
@bp.get("/<any(assets, vendor):folder>/<name>")
def static_file(name: str, folder: str = "") -> Response:
    """The pane's CSS, modules, icons and the command and support pages (never the simulator)."""
    if name.startswith(".") or not name.endswith((".js", ".css", ".png", ".svg", ".html", ".ico")):
        abort(404)
    response = send_from_directory(TASKPANE / folder if folder else TASKPANE, name, max_age=0)
    if name.endswith(".js"):
        response.mimetype = "text/javascript"
    return _secure(response)


@bp.get("/manifest.xml")
def manifest_xml() -> Response:
    """The manifest rendered for this deployment, for sideloading."""
    settings = _tandem().settings
    text = manifest.render(settings.client_id, settings.public_url, list(settings.scopes))
    response = Response(text, mimetype="application/xml")
    response.headers["Content-Disposition"] = 'inline; filename="manifest.xml"'
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready: Entra ID's signing keys can be fetched, so tokens can be validated."""
    _tandem().keys.ready()
    return jsonify({"status": "ready"})
