"""The emulator as one Flask app: Entra ID, Graph and the /_emulator control routes."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

from tandem_mailbox.emulator import control, directory, graph, identity
from tandem_mailbox.emulator.graph import GraphError
from tandem_mailbox.emulator.world import Emulator

LOOPBACK_ORIGINS = r"^https://(localhost|127\.0\.0\.1)(:\d+)?$"


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
