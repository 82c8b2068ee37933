"""The emulator's control routes: Graph tokens, the request log, counters, the world."""

from __future__ import annotations

import jwt
import pytest

from tandem_mailbox.emulator import seed
from tandem_mailbox.microsoft.outbound import Session
from tests.support.graph import G, msal_app
from tests.support.servers import EmulatorHandle


def test_graph_token_is_what_on_behalf_of_would_issue(emulator: EmulatorHandle):
    response = emulator.http.post(
        f"{emulator.url}/_emulator/graph-token",
        json={"user": "pat@contoso.com", "scopes": ["Mail.ReadWrite.Shared", "Mail.Send.Shared"]},
    )
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["iss"] == f"https://sts.windows.net/{seed.CONTOSO}/"
    assert claims["upn"] == "pat@contoso.com"
    assert claims["scp"] == "Mail.ReadWrite.Shared Mail.Send.Shared"
    assert claims["appid"] == seed.CLIENT_ID
    assert claims["ver"] == "1.0"
    default = emulator.http.post(
        f"{emulator.url}/_emulator/graph-token", json={"user": "pat@contoso.com"}
    )
    assert (
        "Calendars.ReadWrite.Shared"
        in jwt.decode(default.json()["token"], options={"verify_signature": False})["scp"].split()
    )


@pytest.mark.parametrize(
    "body",
    [
        {"user": "nobody@contoso.com"},
        {"user": "pat@contoso.com", "scopes": ["Mail.Everything"]},
        {"user": "pat@contoso.com", "scopes": "Mail.Read"},
    ],
)
def test_graph_token_refuses_unknown_people_and_scopes(emulator: EmulatorHandle, body: dict):
    response = emulator.http.post(f"{emulator.url}/_emulator/graph-token", json=body)
    assert response.status_code == 400
    assert response.json()["error"]


def test_request_log_names_both_request_ids(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    item = e.items("support@contoso.com")[0]
    ok = lee(
        "GET",
        f"/users/support@contoso.com/messages/{item['id']}",
        **{"client-request-id": "11111111-2222-4333-8444-555555555555"},
    )
    refused = lee("GET", f"/users/sales@contoso.com/messages/{item['id']}")
    log = e.http.get(f"{e.url}/_emulator/requests?limit=2").json()["requests"]
    assert [entry["status"] for entry in log] == [200, 403]
    first, second = log
    assert first["method"] == "GET"
    assert first["path"] == f"/v1.0/users/support@contoso.com/messages/{item['id']}"
    assert first["mailbox"] == "support@contoso.com"
    assert first["caller"] == "lee@contoso.com"
    assert first["clientRequestId"] == "11111111-2222-4333-8444-555555555555"
    assert first["requestId"] == ok.headers["request-id"]
    assert first["durationMs"] >= 0
    assert second["requestId"] == refused.json()["error"]["innerError"]["request-id"]
    assert second["clientRequestId"] is None
    assert e.http.get(f"{e.url}/_emulator/requests?limit=x").status_code == 400


def test_stats_count_token_requests_by_person_and_deliveries(
    fresh_emulator: EmulatorHandle, http: Session
):
    e = fresh_emulator
    result = msal_app(e, http).acquire_token_on_behalf_of(
        e.sso("sam@contoso.com"), ["https://graph.microsoft.com/Mail.Send.Shared"]
    )
    assert "access_token" in result, result
    sam = G(e, "sam@contoso.com")
    sent = sam(
        "POST",
        "/users/support@contoso.com/sendMail",
        {
            "message": {
                "subject": "Hi",
                "toRecipients": [{"emailAddress": {"address": "lee@contoso.com"}}],
            }
        },
    )
    assert sent.status_code == 202, sent.text
    stats = e.stats()
    assert stats["tokenRequestsByPerson"] == {"sam@contoso.com": 1}
    assert stats["deliveries"] == 1
    for name in (
        "tokenRequests",
        "tokenIssued",
        "jwksFetches",
        "openidConfigFetches",
        "graphRequests",
        "graphRequestsByMailbox",
        "maxInFlightPerMailbox",
        "maxInFlight",
        "ssoTokensIssued",
        "throttledByConcurrency",
    ):
        assert name in stats


def test_world_describes_what_the_write_tests_need(emulator: EmulatorHandle):
    world = emulator.world()
    sam = next(p for p in world["people"] if p["upn"] == "sam@contoso.com")
    assert sam["name"] == "Sam Taylor"
    assert sam["persona"] == "shared-member"
    assert sam["description"] == "Member of support@ with Full Access and Send As"
    upns = [p["upn"] for p in world["people"]]
    assert upns.index("sam@contoso.com") == upns.index("lee@contoso.com") + 1
    for box in world["mailboxes"]:
        assert set(box["wellKnownFolders"]) == {
            "inbox",
            "drafts",
            "sentitems",
            "deleteditems",
            "junkemail",
            "archive",
        }
        junk = next(f for f in box["folders"] if f["wellKnownName"] == "junkemail")
        assert junk["id"] == box["wellKnownFolders"]["junkemail"]
        assert junk["name"] == "Junk Email"
    item = emulator.items("support@contoso.com")[0]
    assert item["flag"] == "notFlagged"
    assert item["isDraft"] is False
    assert item["internetMessageId"].startswith("<")
    assert item["sender"]["address"] == item["from"]["address"]
    event = emulator.items("adele@contoso.com", "calendar")[0]
    assert event["flag"] is None and event["sender"] is None


def test_settings_refuse_an_unknown_if_match_mode(emulator: EmulatorHandle):
    response = emulator.http.post(f"{emulator.url}/_emulator/settings", json={"ifMatch": "maybe"})
    assert response.status_code == 400
    current = emulator.http.post(f"{emulator.url}/_emulator/settings", json={})
    assert current.json()["ifMatch"] == "honour"


@pytest.mark.parametrize(
    "fault",
    [
        {"target": "graph", "outsideChange": "flag it"},
        {"target": "graph", "after": True},
        {"target": "mail"},
    ],
)
def test_faults_refuse_malformed_entries(emulator: EmulatorHandle, fault: dict):
    response = emulator.http.post(f"{emulator.url}/_emulator/faults", json=fault)
    assert response.status_code == 400
    assert emulator.http.get(f"{emulator.url}/_emulator/faults").json()["faults"] == []
