"""The emulator of Entra ID, Microsoft Graph and the Office host: test and demo equipment.

The production backend never imports this package.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from flask import Flask, Response, jsonify, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

from . import directory, identity, seed
from . import graph as graph_module
from .exchange import Exchange, ews_id
from .graph import Graph, GraphError
from .identity import Entra, Faults, Stats

LOOPBACK_ORIGINS = r"^https://(localhost|127\.0\.0\.1)(:\d+)?$"


class Emulator:
    """One emulated Microsoft 365: a directory, its mailboxes, counters and faults."""

    def __init__(self, *, public_url: str = "https://localhost:3000", seed_value: int = 7):
        self.exchange: Exchange = seed.build(seed_value)
        self.faults = Faults()
        self.stats = Stats()
        self.entra = Entra(self.exchange, self.faults, self.stats, public_url=public_url)
        self.graph = Graph(self.exchange, self.entra, self.faults, self.stats)

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

    def world(self) -> dict[str, Any]:
        """People, mailboxes, folders, item ids (REST and EWS form) and rights."""
        ex = self.exchange
        with ex.lock:
            mailboxes = []
            for mailbox in ex.mailboxes.values():
                folders = []
                for folder in mailbox.folders.values():
                    items = [
                        {
                            "id": item.id,
                            "ewsId": ews_id(item.id),
                            "itemType": "message" if item.kind == "message" else "appointment",
                            "subject": item.data.get("subject", ""),
                            "from": (item.data.get("from") or item.data.get("organizer") or {}).get(
                                "emailAddress", {}
                            ),
                            "receivedDateTime": item.data.get("receivedDateTime")
                            or item.data.get("start", {}).get("dateTime"),
                            "isRead": item.data.get("isRead", True),
                            "categories": list(item.data.get("categories", [])),
                            "createdBy": item.created_by,
                        }
                        for item in mailbox.items.values()
                        if item.folder_id == folder.id
                    ]
                    items.sort(key=lambda i: i["receivedDateTime"] or "", reverse=True)
                    folders.append(
                        {
                            "id": folder.id,
                            "name": folder.name,
                            "kind": folder.kind,
                            "wellKnownName": folder.well_known,
                            "parentId": folder.parent_id,
                            "permissions": dict(folder.permissions),
                            "items": items,
                        }
                    )
                mailboxes.append(
                    {
                        "address": mailbox.address,
                        "id": mailbox.guid,
                        "displayName": mailbox.display_name,
                        "kind": mailbox.kind,
                        "tenantId": mailbox.tenant_id,
                        "owner": mailbox.owner_upn,
                        "fullAccess": sorted(mailbox.full_access),
                        "sendAs": sorted(mailbox.send_as),
                        "sendOnBehalf": sorted(mailbox.send_on_behalf),
                        "folders": folders,
                    }
                )
            people = [
                {
                    "upn": p.upn,
                    "name": p.name,
                    "oid": p.oid,
                    "tenantId": p.tenant_id,
                    "persona": p.persona,
                    "description": p.description,
                    "mailbox": p.upn,
                }
                for p in ex.people.values()
            ]
        return {
            "tenants": [dict(info, id=tid) for tid, info in seed.TENANTS.items()],
            "homeTenant": seed.CONTOSO,
            "app": {
                "clientId": self.entra.app.client_id,
                "identifierUris": list(self.entra.app.identifier_uris),
            },
            "authorityHost": self.entra.host,
            "graphUrl": f"{self.base_url}/v1.0",
            "people": people,
            "mailboxes": mailboxes,
        }


def create_app(emulator: Emulator | None = None) -> Flask:
    """The emulator as one Flask app: Entra ID, Graph and the /_emulator control routes."""
    emulator = emulator or Emulator()
    app = Flask(__name__)
    app.extensions["emulator"] = emulator
    CORS(app, resources={r"/_emulator/*": {"origins": LOOPBACK_ORIGINS}})
    app.register_blueprint(identity.blueprint(emulator.entra))
    app.register_blueprint(graph_module.blueprint(emulator.graph))
    app.register_blueprint(directory.blueprint(emulator))  # device code, app registrations

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if request.path.startswith("/v1.0/"):
            return emulator.graph.answer(
                GraphError(
                    error.code or 400,
                    "BadRequest" if error.code != 405 else "MethodNotAllowed",
                    "Resource not found for the segment." if error.code == 404 else str(error.name),
                )
            )
        response = jsonify({"error": error.name, "status": error.code})
        response.status_code = error.code or 500
        return response

    @app.post("/_emulator/sso-token")
    def sso_token() -> Response:
        body = request.get_json(silent=True) or {}
        person = emulator.exchange.person(str(body.get("user", "")))
        if person is None:
            return _bad("unknown user; see GET /_emulator/world")
        version = int(body.get("version") or emulator.entra.access_token_version)
        if version not in (1, 2):
            return _bad("version must be 1 or 2")
        token = emulator.entra.sso_token(
            person,
            version=version,
            lifetime=int(body.get("lifetime", 3600)),
            client_app=str(body.get("clientApp", identity.OFFICE_DESKTOP)),
            overrides=body.get("claims") or {},
            remove=list(body.get("remove") or []),
        )
        return jsonify({"token": token})

    @app.get("/_emulator/world")
    def world() -> Response:
        return jsonify(emulator.world())

    @app.get("/_emulator/config")
    def config() -> Response:
        return jsonify({"settings": emulator.settings(), "baseUrl": emulator.base_url})

    @app.get("/_emulator/stats")
    def stats() -> Response:
        return jsonify(emulator.stats.snapshot())

    @app.get("/_emulator/faults")
    def list_faults() -> Response:
        return jsonify({"faults": emulator.faults.list()})

    @app.post("/_emulator/faults")
    def add_faults() -> Response:
        body = request.get_json(silent=True)
        faults = body if isinstance(body, list) else [body]
        for fault in faults:
            if not isinstance(fault, dict) or fault.get("target") not in ("token", "graph", "jwks"):
                return _bad("each fault needs target: token, graph or jwks")
            if "aadsts" in fault and int(fault["aadsts"]) not in identity.AADSTS:
                return _bad(f"aadsts must be one of {sorted(identity.AADSTS)}")
        for fault in faults:
            emulator.faults.add(fault)
        return jsonify({"faults": emulator.faults.list()}), 201  # type: ignore[return-value]

    @app.delete("/_emulator/faults")
    def clear_faults() -> Response:
        emulator.faults.clear()
        return Response(status=204)

    @app.post("/_emulator/keys/rotate")
    def rotate() -> Response:
        body = request.get_json(silent=True) or {}
        key = emulator.entra.rotate(retire_old=bool(body.get("retireOld")))
        return jsonify({"kid": key.kid})

    @app.post("/_emulator/app/certificates")
    def add_certificate() -> Response:
        body = request.get_json(silent=True) or {}
        try:
            cert = x509.load_pem_x509_certificate(str(body.get("pem", "")).encode())
        except ValueError:
            return _bad("pem must be a PEM certificate")
        emulator.entra.app.certificates.append(cert)
        return jsonify({"registered": len(emulator.entra.app.certificates)}), 201  # type: ignore[return-value]

    @app.post("/_emulator/settings")
    def settings() -> Response:
        body = request.get_json(silent=True) or {}
        if "graphTokenLifetime" in body:
            emulator.entra.graph_token_lifetime = int(body["graphTokenLifetime"])
        if "accessTokenAcceptedVersion" in body:
            if body["accessTokenAcceptedVersion"] not in (1, 2):
                return _bad("accessTokenAcceptedVersion must be 1 or 2")
            emulator.entra.access_token_version = int(body["accessTokenAcceptedVersion"])
        return jsonify(
            {
                "graphTokenLifetime": emulator.entra.graph_token_lifetime,
                "accessTokenAcceptedVersion": emulator.entra.access_token_version,
            }
        )

    return app


def _bad(message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = 400
    return response
