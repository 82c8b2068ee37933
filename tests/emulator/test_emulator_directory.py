"""The emulated directory's own wire rules: applications, credentials and service principals
as Graph answers them, for a signed-in admin (what `tandem register` relies on)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tandem_mailbox.certs import self_signed
from tests.support.servers import EmulatorHandle


def _certificate(path: Path, name: str) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed(key, name, days=365)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def admin_token(emulator: EmulatorHandle, scope: str = "Application.ReadWrite.All") -> str:
    """An admin's Graph token through the raw device-code protocol (as Entra speaks it)."""
    http, base = emulator.http, emulator.url
    client = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
    flow = http.post(
        f"{base}/contoso.com/oauth2/v2.0/devicecode",
        data={"client_id": client, "scope": f"https://graph.microsoft.com/{scope} openid"},
    ).json()
    assert {
        "user_code",
        "device_code",
        "verification_uri",
        "expires_in",
        "interval",
        "message",
    } <= set(flow)
    grant = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "client_id": client,
        "device_code": flow["device_code"],
    }
    pending = http.post(f"{base}/contoso.com/oauth2/v2.0/token", data=grant)
    assert pending.status_code == 400
    assert pending.json()["error"] == "authorization_pending"
    assert pending.json()["error_codes"] == [70016]
    assert pending.json()["error_description"].startswith("AADSTS70016: ")
    http.post(
        f"{base}/_emulator/devicecode/approve",
        json={"userCode": flow["user_code"], "user": "adele@contoso.com"},
    ).raise_for_status()
    tokens = http.post(f"{base}/contoso.com/oauth2/v2.0/token", data=grant).json()
    assert {"access_token", "id_token", "client_info", "refresh_token", "scope"} <= set(tokens)
    used = http.post(f"{base}/contoso.com/oauth2/v2.0/token", data=grant)
    assert used.json()["error"] == "bad_verification_code"  # a device code works once
    return tokens["access_token"]


@pytest.fixture
def graph(fresh_emulator: EmulatorHandle) -> Any:
    """Call the emulator's Graph as a signed-in admin: graph(method, path, body, **headers)."""
    token = admin_token(fresh_emulator)

    def call(method: str, path: str, body: Any = None, **headers: str) -> Any:
        headers["Authorization"] = f"Bearer {token}"
        return fresh_emulator.http.request(
            method, f"{fresh_emulator.url}/v1.0{path}", json=body, headers=headers
        )

    return call


def test_upsert_by_unique_name(graph: Any):
    path = "/applications(uniqueName='tandem-x')"
    assert graph("PATCH", path, {"displayName": "X"}).status_code == 404
    created = graph("PATCH", path, {"displayName": "X"}, Prefer="create-if-missing")
    assert created.status_code == 201
    assert created.json()["uniqueName"] == "tandem-x"
    updated = graph("PATCH", path, {"displayName": "Y"}, Prefer="create-if-missing")
    assert updated.status_code == 204
    assert graph("GET", path).json()["displayName"] == "Y"
    app_id = created.json()["appId"]
    assert (
        graph("GET", f"/applications?$filter=appId eq '{app_id}'").json()["value"][0]["displayName"]
        == "Y"
    )


SCOPE_ID = "0e0c1b5a-3f5e-4c57-9a5e-2f1d7c3b9a11"
OFFICE = "ea5a67f6-b6f3-4338-b240-c655ddc3cc8e"
NOT_A_CERT = base64.b64encode(b"not a certificate").decode()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"surprise": 1}, "Request_BadRequest"),
        ({"passwordCredentials": [{"displayName": "x"}]}, "Request_BadRequest"),
        ({"identifierUris": ["ftp://nope"]}, "Request_BadRequest"),
        ({"api": {"requestedAccessTokenVersion": 3}}, "Request_BadRequest"),
        (
            {"api": {"preAuthorizedApplications": [
                {"appId": OFFICE, "delegatedPermissionIds": [SCOPE_ID]}
            ]}},
            "Request_BadRequest",
        ),
        ({"api": {"oauth2PermissionScopes": []}}, "CannotDeleteOrUpdateEnabledEntitlement"),
        ({"keyCredentials": [{"type": "AsymmetricX509Cert", "key": NOT_A_CERT}]},
         "Request_BadRequest"),
    ],
)  # fmt: skip
def test_graph_s_rules_for_an_application(graph: Any, body: dict[str, Any], code: str):
    path = "/applications(uniqueName='tandem-rules')"
    graph("PATCH", path, {"displayName": "Rules"}, Prefer="create-if-missing").raise_for_status()
    scope = {"id": SCOPE_ID, "value": "access_as_user", "type": "User", "isEnabled": True}
    graph("PATCH", path, {"api": {"oauth2PermissionScopes": [scope]}}).raise_for_status()
    if "preAuthorizedApplications" in body.get("api", {}):
        body["api"]["preAuthorizedApplications"][0]["delegatedPermissionIds"] = [
            "6a1b2c3d-0000-4000-8000-000000000000"  # a permission the app does not expose
        ]
    before = graph("GET", path).json()
    answer = graph("PATCH", path, body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == code
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])
    assert graph("GET", path).json() == before  # nothing half-applied


def test_a_certificate_key_is_returned_only_when_selected(graph: Any, tmp_path: Path):
    created = graph(
        "PATCH", "/applications(uniqueName='tandem-keys')", {"displayName": "K"},
        Prefer="create-if-missing",
    ).json()  # fmt: skip
    pem = _certificate(tmp_path / "k.pem", "k")
    der = x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(serialization.Encoding.DER)
    key = base64.b64encode(der).decode()
    credential = {"type": "AsymmetricX509Cert", "usage": "Verify", "key": key}
    assert (
        graph(
            "PATCH", f"/applications/{created['id']}", {"keyCredentials": [credential]}
        ).status_code
        == 204
    )
    plain = graph("GET", f"/applications/{created['id']}").json()
    assert plain["keyCredentials"][0]["key"] is None
    selected = graph("GET", f"/applications/{created['id']}?$select=keyCredentials").json()
    assert selected["keyCredentials"][0]["key"] == key
    assert set(selected) == {"@odata.context", "id", "keyCredentials"}


def test_add_password_shows_the_secret_once(graph: Any):
    created = graph(
        "PATCH", "/applications(uniqueName='tandem-pw')", {"displayName": "P"},
        Prefer="create-if-missing",
    ).json()  # fmt: skip
    secret = graph(
        "POST", f"/applications/{created['id']}/addPassword",
        {"passwordCredential": {"displayName": "tandem backend"}},
    ).json()  # fmt: skip
    assert len(secret["secretText"]) >= 32
    assert secret["hint"] == secret["secretText"][:3]
    assert dt.datetime.fromisoformat(
        secret["endDateTime"].replace("Z", "+00:00")
    ) > dt.datetime.now(dt.UTC)
    listed = graph("GET", f"/applications/{created['id']}").json()["passwordCredentials"]
    assert [p["secretText"] for p in listed] == [None]
    assert secret["secretText"] not in json.dumps(listed)


def test_service_principals_once_per_app(graph: Any):
    created = graph(
        "PATCH", "/applications(uniqueName='tandem-sp')", {"displayName": "S"},
        Prefer="create-if-missing",
    ).json()  # fmt: skip
    app_id = created["appId"]
    assert graph("GET", f"/servicePrincipals(appId='{app_id}')").status_code == 404
    assert graph("POST", "/servicePrincipals", {"appId": app_id}).status_code == 201
    assert graph("POST", "/servicePrincipals", {"appId": app_id}).status_code == 409
    assert graph("GET", f"/servicePrincipals(appId='{app_id}')").json()["appId"] == app_id
    graph_sp = graph(
        "GET", "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')"
    ).json()
    names = {s["value"]: s["id"] for s in graph_sp["oauth2PermissionScopes"]}
    assert names["Mail.ReadWrite.Shared"] == "5df07973-7d5d-46ed-9847-1271055cbd51"


def test_without_application_readwrite_all_graph_refuses(fresh_emulator: EmulatorHandle):
    token = admin_token(fresh_emulator, scope="User.Read")
    answer = fresh_emulator.http.get(
        f"{fresh_emulator.url}/v1.0/applications", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Authorization_RequestDenied"


def test_organization_answers_the_signed_in_tenant(graph: Any, fresh_emulator: EmulatorHandle):
    (org,) = graph("GET", "/organization").json()["value"]
    assert org["id"] == "9188040d-6c67-4c5b-b112-36a304b66dad"
    bare = fresh_emulator.http.get(f"{fresh_emulator.url}/v1.0/organization")
    assert bare.status_code == 401
    assert bare.json()["error"]["code"] == "InvalidAuthenticationToken"
