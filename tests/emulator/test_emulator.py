"""The emulator speaks Entra ID's and Graph's wire formats, and keeps Exchange's rules."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest

from tandem_mailbox.emulator import seed
from tandem_mailbox.microsoft.outbound import Session
from tests.support.graph import msal_app
from tests.support.servers import EmulatorHandle

AADSTS_DESCRIPTION = re.compile(
    r"^AADSTS(\d+): .+\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\n"
    r"Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$",
    re.S,
)


def graph_token(emulator: EmulatorHandle, http: Session, user: str) -> str:
    """A Graph token for a person through MSAL's on-behalf-of."""
    result = msal_app(emulator, http).acquire_token_on_behalf_of(
        emulator.sso(user),
        [
            "https://graph.microsoft.com/Mail.ReadWrite.Shared",
            "https://graph.microsoft.com/Calendars.ReadWrite.Shared",
        ],
    )
    assert "access_token" in result, result
    return result["access_token"]


def test_msal_on_behalf_of_unmodified(emulator: EmulatorHandle, http: Session):
    result = msal_app(emulator, http).acquire_token_on_behalf_of(
        emulator.sso("lee@contoso.com"), ["https://graph.microsoft.com/User.Read"]
    )
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] > 3000
    assert result["id_token_claims"]["preferred_username"] == "lee@contoso.com"
    assert result["scope"].split()[0] == "https://graph.microsoft.com/User.Read"
    assert "refresh_token" in result


def test_token_endpoint_error_bodies_are_entras(emulator: EmulatorHandle, http: Session):
    response = http.post(
        f"{emulator.url}/{seed.CONTOSO}/oauth2/v2.0/token",
        data={
            "client_id": seed.CLIENT_ID,
            "client_secret": "wrong",
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": emulator.sso("lee@contoso.com"),
            "requested_token_use": "on_behalf_of",
            "scope": "https://graph.microsoft.com/User.Read offline_access openid profile",
        },
        headers={"client-request-id": "5b2c1f6e-2f53-4c3f-9d1a-0a5a3c1e9b77"},
    )
    assert response.status_code == 401
    body = response.json()
    assert set(body) >= {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
        "error_uri",
    }
    assert body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215]
    assert AADSTS_DESCRIPTION.match(body["error_description"])
    assert body["correlation_id"] == "5b2c1f6e-2f53-4c3f-9d1a-0a5a3c1e9b77"


def test_client_credentials_grant_answers_as_entra(emulator: EmulatorHandle, http: Session):
    """v2-oauth2-client-creds-grant-flow: an app-only token for the resource's /.default,
    token_type, expires_in, ext_expires_in and access_token only (no refresh or id token)."""
    result = msal_app(emulator, http).acquire_token_for_client(
        ["https://graph.microsoft.com/.default"]
    )
    assert "access_token" in result, result
    raw = http.post(
        f"{emulator.url}/{seed.CONTOSO}/oauth2/v2.0/token",
        data={
            "client_id": seed.CLIENT_ID,
            "client_secret": seed.CLIENT_SECRET,
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert raw.status_code == 200
    body = raw.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["idtyp"] == "app" and claims["appid"] == seed.CLIENT_ID
    assert claims["tid"] == seed.CONTOSO and claims["oid"] == claims["sub"]
    assert "scp" not in claims and "roles" not in claims  # no application permission granted


@pytest.mark.parametrize(
    ("tenant", "form", "status", "error", "code"),
    [
        (seed.CONTOSO, {"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        (seed.CONTOSO, {"scope": "https://graph.microsoft.com/User.Read"}, 400, "invalid_scope",
         1002012),
        (seed.CONTOSO, {"scope": "https://outlook.office.com/.default"}, 400, "invalid_resource",
         500011),
        ("common", {}, 400, "invalid_request", 9001023),
    ],
)  # fmt: skip
def test_client_credentials_refusals_are_entras(
    emulator: EmulatorHandle,
    http: Session,
    tenant: str,
    form: dict[str, str],
    status: int,
    error: str,
    code: int,
):
    data = {
        "client_id": seed.CLIENT_ID,
        "client_secret": seed.CLIENT_SECRET,
        "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default",
        **form,
    }
    response = http.post(f"{emulator.url}/{tenant}/oauth2/v2.0/token", data=data)
    assert response.status_code == status
    body = response.json()
    assert (body["error"], body["error_codes"]) == (error, [code])
    assert AADSTS_DESCRIPTION.match(body["error_description"])
    assert body["error_uri"].endswith(f"/error?code={code}")


@pytest.mark.parametrize(
    ("aadsts", "status", "error", "extra"),
    [
        (50076, 400, "interaction_required", {"claims", "suberror"}),
        (65001, 400, "invalid_grant", {"suberror"}),
        (500133, 400, "invalid_grant", set()),
        (700027, 401, "invalid_client", set()),
    ],
)
def test_injected_aadsts_errors(
    fresh_emulator: EmulatorHandle,
    http: Session,
    aadsts: int,
    status: int,
    error: str,
    extra: set[str],
):
    fresh_emulator.fault(target="token", aadsts=aadsts)
    response = http.post(
        f"{fresh_emulator.url}/{seed.CONTOSO}/oauth2/v2.0/token",
        data={
            "client_id": seed.CLIENT_ID,
            "client_secret": seed.CLIENT_SECRET,
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": fresh_emulator.sso("lee@contoso.com"),
            "requested_token_use": "on_behalf_of",
            "scope": "https://graph.microsoft.com/User.Read",
        },
    )
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [aadsts]
    assert body["error_description"].startswith(f"AADSTS{aadsts}: ")
    assert extra <= set(body)


def test_real_assertion_checks(emulator: EmulatorHandle, http: Session):
    app = msal_app(emulator, http)
    expired = emulator.sso("lee@contoso.com", claims={"exp": 1_700_000_000})
    result = app.acquire_token_on_behalf_of(expired, ["https://graph.microsoft.com/User.Read"])
    assert result["error_codes"] == [500133]
    foreign = emulator.sso(
        "lee@contoso.com", claims={"aud": "11111111-2222-3333-4444-555555555555"}
    )
    result = app.acquire_token_on_behalf_of(foreign, ["https://graph.microsoft.com/User.Read"])
    assert result["error_codes"] == [50013]
    diego = emulator.sso("diego@fabrikam.com")  # a Fabrikam token at Contoso's authority
    result = app.acquire_token_on_behalf_of(diego, ["https://graph.microsoft.com/User.Read"])
    assert result["error_codes"] == [50013]


def graph(emulator: EmulatorHandle, http: Session, token: str, path: str) -> Any:
    """GET a Graph path of the emulator."""
    return http.get(f"{emulator.url}/v1.0{path}", headers={"Authorization": f"Bearer {token}"})


def assert_graph_error(response: Any, status: int, code: str) -> None:
    """Graph's error body: error.code, error.message, error.innerError.{date,request-id,...}."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert response.headers["request-id"] == error["innerError"]["request-id"]


def test_graph_reads_and_refuses_as_exchange_does(emulator: EmulatorHandle, http: Session):
    lee = graph_token(emulator, http, "lee@contoso.com")
    megan = graph_token(emulator, http, "megan@contoso.com")
    joni = graph_token(emulator, http, "joni@contoso.com")
    support = emulator.items("support@contoso.com")[0]
    adele = emulator.items("adele@contoso.com")[0]
    adele_deleted = emulator.items("adele@contoso.com", "deleteditems")

    ok = graph(
        emulator,
        http,
        lee,
        f"/users/support@contoso.com/messages/{support['id']}?$select=subject,from",
    )
    assert ok.status_code == 200
    body = ok.json()
    assert set(body) == {"@odata.context", "@odata.etag", "id", "subject", "from"}
    assert body["@odata.etag"].startswith('W/"')
    assert graph(emulator, http, megan, f"/users/adele@contoso.com/messages/{adele['id']}").ok
    assert_graph_error(
        graph(emulator, http, joni, f"/users/support@contoso.com/messages/{support['id']}"),
        403,
        "ErrorAccessDenied",
    )
    assert_graph_error(
        graph(emulator, http, lee, f"/users/nobody@contoso.com/messages/{support['id']}"),
        404,
        "ErrorInvalidUser",
    )
    assert_graph_error(
        graph(emulator, http, lee, f"/users/diego@fabrikam.com/messages/{support['id']}"),
        404,
        "ErrorInvalidUser",
    )
    assert_graph_error(
        graph(emulator, http, lee, f"/users/support@contoso.com/messages/{adele['id']}"),
        404,
        "ErrorInvalidMailboxItemId",
    )
    assert_graph_error(
        graph(emulator, http, lee, "/users/support@contoso.com/messages/AAMkADnotanid"),
        400,
        "ErrorInvalidIdMalformed",
    )
    missing = support["id"][:-6] + "AAAAAA"
    assert_graph_error(
        graph(emulator, http, lee, f"/users/support@contoso.com/messages/{missing}"),
        404,
        "ErrorItemNotFound",
    )
    assert_graph_error(
        graph(
            emulator, http, lee, f"/users/support@contoso.com/messages/{support['id']}?$select=nope"
        ),
        400,
        "RequestBroker--ParseUri",
    )
    assert adele_deleted == []  # nothing deleted in the shared emulator
    assert_graph_error(
        graph(
            emulator, http, "not-a-token", f"/users/support@contoso.com/messages/{support['id']}"
        ),
        401,
        "InvalidAuthenticationToken",
    )


def test_a_delegate_reads_only_shared_folders(emulator: EmulatorHandle, http: Session):
    alex = graph_token(emulator, http, "alex@contoso.com")
    # Adele's own "Welcome" message lives in her Inbox (shared); Megan's mailbox is not shared.
    inbox_item = emulator.items("adele@contoso.com")[0]
    assert graph(emulator, http, alex, f"/users/adele@contoso.com/messages/{inbox_item['id']}").ok
    megans = emulator.items("megan@contoso.com")[0]
    assert_graph_error(
        graph(emulator, http, alex, f"/users/megan@contoso.com/messages/{megans['id']}"),
        403,
        "ErrorAccessDenied",
    )


def test_more_than_four_in_flight_on_one_mailbox_is_throttled(
    fresh_emulator: EmulatorHandle, http: Session
):
    token = graph_token(fresh_emulator, http, "lee@contoso.com")
    item = fresh_emulator.items("support@contoso.com")[0]
    fresh_emulator.fault(target="graph", delayMs=300, times=-1)
    url = f"/users/support@contoso.com/messages/{item['id']}"
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: graph(fresh_emulator, http, token, url), range(8)))
    throttled = [r for r in responses if r.status_code == 429]
    assert throttled, [r.status_code for r in responses]
    assert_graph_error(throttled[0], 429, "ApplicationThrottled")
    assert throttled[0].headers["Retry-After"]
    assert "MailboxConcurrency" in throttled[0].json()["error"]["message"]
    assert fresh_emulator.stats()["maxInFlightPerMailbox"]["support@contoso.com"] > 4


def test_world_lists_ids_in_both_forms(emulator: EmulatorHandle):
    world = emulator.world()
    assert {p["persona"] for p in world["people"]} >= {
        "owner",
        "delegate-reviewer",
        "delegate-author",
        "delegate-editor",
        "shared-member",
        "no-access",
    }
    support = next(m for m in world["mailboxes"] if m["address"] == "support@contoso.com")
    assert support["kind"] == "shared"
    assert support["fullAccess"] == ["lee@contoso.com", "sam@contoso.com"]
    assert support["sendAs"] == ["lee@contoso.com", "sam@contoso.com"]
    items = [i for f in support["folders"] for i in f["items"]]
    assert len(items) >= 36
    assert any(i["createdBy"] == "lee@contoso.com" for i in items)
    converted = [i for i in items if i["id"] != i["ewsId"]]
    assert converted, "some ids must differ between EWS and REST form"
    for i in converted:
        assert i["id"] == i["ewsId"].replace("/", "-").replace("+", "_")
    adele = next(m for m in world["mailboxes"] if m["address"] == "adele@contoso.com")
    inbox = next(f for f in adele["folders"] if f["wellKnownName"] == "inbox")
    assert inbox["permissions"] == {
        "megan@contoso.com": 1,
        "alex@contoso.com": 23,
        "nestor@contoso.com": 63,
    }
    assert adele["sendOnBehalf"] == ["nestor@contoso.com"]


def test_token_version_follows_the_app_setting(fresh_emulator: EmulatorHandle, http: Session):
    import jwt

    assert (
        jwt.decode(fresh_emulator.sso("lee@contoso.com"), options={"verify_signature": False})[
            "ver"
        ]
        == "2.0"
    )
    http.post(
        f"{fresh_emulator.url}/_emulator/settings", json={"accessTokenAcceptedVersion": 1}
    ).raise_for_status()
    claims = jwt.decode(fresh_emulator.sso("lee@contoso.com"), options={"verify_signature": False})
    assert claims["ver"] == "1.0"
    assert claims["aud"] == f"api://localhost:3000/{seed.CLIENT_ID}"
    assert claims["iss"] == f"https://sts.windows.net/{seed.CONTOSO}/"
    assert claims["upn"] == "lee@contoso.com"
