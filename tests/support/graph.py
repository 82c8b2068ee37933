"""Talking to the emulator as Graph's and Entra ID's clients do: tokens, requests, errors."""

from __future__ import annotations

from typing import Any

import msal

from tandem_mailbox.emulator import seed
from tandem_mailbox.microsoft.outbound import Session
from tests.support.servers import EmulatorHandle

ALL_SCOPES = ["Mail.ReadWrite.Shared", "Mail.Send.Shared", "Calendars.ReadWrite.Shared"]
SEND_AS_DENIED_MESSAGE = (
    "The user account which was used to submit this request does not have the right to send "
    "mail on behalf of the specified sending account. Cannot submit message."
)


def msal_app(
    emulator: EmulatorHandle,
    http: Session,
    tenant: str = seed.CONTOSO,
    secret: str = seed.CLIENT_SECRET,
) -> msal.ConfidentialClientApplication:
    """MSAL for Python, unmodified, pointed at the emulator."""
    return msal.ConfidentialClientApplication(
        seed.CLIENT_ID,
        client_credential=secret,
        authority=f"https://{emulator.emulator.entra.host}/{tenant}",
        http_client=http,
        instance_discovery=False,
    )


class G:
    """Graph calls on one emulator, as one person."""

    def __init__(self, emulator: EmulatorHandle, user: str, scopes: list[str] | None = None):
        self.e = emulator
        self.user = user
        response = emulator.http.post(
            f"{emulator.url}/_emulator/graph-token",
            json={"user": user, "scopes": scopes or ALL_SCOPES},
        )
        response.raise_for_status()
        self.token = response.json()["token"]

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        """One Graph request under /v1.0."""
        headers["Authorization"] = f"Bearer {self.token}"
        return self.e.http.request(method, f"{self.e.url}/v1.0{path}", json=body, headers=headers)


def state(e: EmulatorHandle, item_id: str) -> dict[str, Any]:
    """GET /_emulator/items/<id>."""
    response = e.http.get(f"{e.url}/_emulator/items/{item_id}")
    assert response.status_code == 200, response.text
    return response.json()


def deliveries(e: EmulatorHandle) -> list[dict[str, Any]]:
    """GET /_emulator/deliveries."""
    return e.http.get(f"{e.url}/_emulator/deliveries").json()["deliveries"]


def item_by(e: EmulatorHandle, address: str, folder: str = "inbox", **match: str) -> dict:
    """The first item of a folder whose fields match (createdBy, subject prefix ...)."""
    for item in e.items(address, folder):
        if all(str(item.get(k, "")).startswith(v) for k, v in match.items()):
            return item
    raise KeyError(match)


def graph_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Graph's error body, with its request-id header."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert response.headers["request-id"] == error["innerError"]["request-id"]
    return error


class AdminGraph:
    """Graph calls as an admin tool makes them: a Graph Command Line Tools token from the
    device-code sign-in, with the scopes asked for."""

    CLIENT = "14d82eec-204b-4c2f-b7e8-296a70dab67e"  # Microsoft Graph Command Line Tools

    def __init__(
        self, emulator: EmulatorHandle, scopes: list[str], user: str = "adele@contoso.com"
    ):
        self.e = emulator
        http, base = emulator.http, emulator.url
        asked = " ".join(f"https://graph.microsoft.com/{s}" for s in scopes)
        flow = http.post(
            f"{base}/contoso.com/oauth2/v2.0/devicecode",
            data={"client_id": self.CLIENT, "scope": f"{asked} openid"},
        ).json()
        http.post(
            f"{base}/_emulator/devicecode/approve",
            json={"userCode": flow["user_code"], "user": user},
        ).raise_for_status()
        grant = {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": self.CLIENT,
            "device_code": flow["device_code"],
        }
        answer = http.post(f"{base}/contoso.com/oauth2/v2.0/token", data=grant)
        answer.raise_for_status()
        self.token = answer.json()["access_token"]

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        """One Graph request under /v1.0."""
        headers["Authorization"] = f"Bearer {self.token}"
        return self.e.http.request(method, f"{self.e.url}/v1.0{path}", json=body, headers=headers)
