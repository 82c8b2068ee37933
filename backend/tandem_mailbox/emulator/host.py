"""The Office host simulator's files, served by the demo backend at /simulator/."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, jsonify, send_from_directory

SIMULATOR = Path(__file__).resolve().parents[3] / "taskpane" / "simulator"


def blueprint(emulator_url: str) -> Blueprint:
    """Serve the simulator, and tell it where the emulator answers."""
    bp = Blueprint("simulator", __name__, url_prefix="/simulator")

    @bp.get("/")
    def host() -> Response:
        return send_from_directory(SIMULATOR, "host.html", max_age=0)

    @bp.get("/config.json")
    def config() -> Response:
        return jsonify({"emulatorUrl": emulator_url})

    @bp.get("/<path:name>")
    def files(name: str) -> Response:
        if not name.endswith((".js", ".css", ".html", ".png", ".svg")):
            abort(404)
        response = send_from_directory(SIMULATOR, name, max_age=0)
        if name.endswith(".js"):
            response.mimetype = "text/javascript"
        return response

    return bp
