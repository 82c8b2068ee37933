"""The emulator of Entra ID, Microsoft Graph and the Office host: test and demo equipment.

The production backend never imports this package.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, jsonify, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

from ..serving import Server
from . import control, directory, graph, identity, seed
from .exchange import Exchange
from .faults import Faults, RequestLog, Stats
from .graph import Graph, GraphError
from .identity import Entra

LOOPBACK_ORIGINS = r"^https://(localhost|127\.0\.0\.1)(:\d+)?$"


class Emulator:
    """One emulated Microsoft 365: a directory, its mailboxes, counters and faults."""

    def __init__(self, *, public_url: str = "https://localhost:3000", seed_value: int = 7):
        self.exchange: Exchange = seed.build(seed_value)
        self.faults = Faults()
        self.stats = Stats()
        self.requests = RequestLog()
        self.entra = Entra(self.exchange, self.faults, self.stats, public_url=public_url)
        self.graph = Graph(self.exchange, self.entra, self.faults, self.stats, self.requests)

    @property
    def base_url(self) -> str:
        """https://host:port the emulator answers on."""
        return self.entra.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.entra.base_url = value.rstrip("/")

    def settings(self) -> dict[str, str]:
        """The TANDEM_* settings that wire a backend to this emulator."""
        return {
            "TANDEM_CLIENT_ID": seed.CLIENT_ID,
            "TANDEM_CLIENT_SECRET": seed.CLIENT_SECRET,
            "TANDEM_TENANT_ID": seed.CONTOSO,
            "TANDEM_AUTHORITY_HOST": self.entra.host,
            "TANDEM_GRAPH_URL": f"{self.base_url}/v1.0",
        }


def create_app(emulator: Emulator | None = None) -> Flask:
    """The emulator as one Flask app: Entra ID, Graph and the /_emulator control routes."""
    emulator = emulator or Emulator()
    app = Flask(__name__)
    app.extensions["emulator"] = emulator
    CORS(app, resources={r"/_emulator/*": {"origins": LOOPBACK_ORIGINS}})
    app.register_blueprint(identity.blueprint(emulator.entra))
    app.register_blueprint(graph.blueprint(emulator.graph))
    app.register_blueprint(control.blueprint(emulator))
    app.register_blueprint(directory.blueprint(emulator))  # device code, app registrations

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if request.path.startswith("/v1.0/"):
            # Graph answers a path it cannot resolve with 400 BadRequest "Resource not found
            # for the segment '...'", not 404 (learn.microsoft.com/graph/errors).
            segment = request.path.rstrip("/").rsplit("/", 1)[-1]
            emulator.graph.requests.add(
                {
                    "method": request.method,
                    "path": request.path,
                    "rawPath": graph.raw_path(),
                    "status": 400 if error.code == 404 else error.code,
                    "unrouted": True,
                }
            )
            return emulator.graph.answer(
                GraphError(
                    400 if error.code == 404 else error.code or 400,
                    "BadRequest" if error.code != 405 else "MethodNotAllowed",
                    f"Resource not found for the segment '{segment}'."
                    if error.code == 404
                    else str(error.name),
                )
            )
        response = jsonify({"error": error.name, "status": error.code})
        response.status_code = error.code or 500
        return response

    return app


def serve_emulator(
    *, host: str, port: int, cert: Path, key: Path, public_url: str
) -> tuple[Server, Emulator]:
    """Bind a server (port 0 picks a free one), build the emulator with its URL, and start it.

    `public_url` is the backend's (the audience of v1 SSO tokens names its host).
    """
    server = Server(None, host=host, port=port, cert=cert, key=key)
    emulator = Emulator(public_url=public_url)
    emulator.base_url = server.url
    server.app = create_app(emulator)
    server.start()
    return server, emulator
