"""The control routes that make a team: a thread written relative to now, and a member granted
Full Access on a shared mailbox who can then list it through Graph as themselves."""

from __future__ import annotations

from tests.support.graph import G
from tests.support.servers import EmulatorHandle

SUPPORT = "support@contoso.com"


def test_a_new_member_gets_full_access_and_send_as(fresh_emulator: EmulatorHandle):
    url = f"{fresh_emulator.url}/_emulator/mailboxes/{SUPPORT}/members"
    answer = fresh_emulator.http.post(url, json={"upn": "kim@contoso.com", "name": "Kim Lee"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["upn"] == "kim@contoso.com"
    again = fresh_emulator.http.post(url, json={"upn": "kim@contoso.com", "name": "Kim Lee"})
    assert again.json()["oid"] == answer.json()["oid"]  # the same person, granted once more
    box = next(m for m in fresh_emulator.world()["mailboxes"] if m["address"] == SUPPORT)
    assert "kim@contoso.com" in box["fullAccess"] and "kim@contoso.com" in box["sendAs"]
    listed = G(fresh_emulator, "kim@contoso.com")(
        "GET", f"/users/{SUPPORT}/mailFolders/inbox/messages?$top=1"
    )
    assert listed.status_code == 200, listed.text
    # Only a shared mailbox, and only a person of its tenant.
    adele = fresh_emulator.http.post(
        f"{fresh_emulator.url}/_emulator/mailboxes/adele@contoso.com/members",
        json={"upn": "kim@contoso.com", "name": "Kim Lee"},
    )
    assert adele.status_code == 404
    assert fresh_emulator.http.post(url, json={"upn": "no-at-sign"}).status_code == 400


def test_a_conversation_written_minutes_ago(fresh_emulator: EmulatorHandle):
    answer = fresh_emulator.http.post(
        f"{fresh_emulator.url}/_emulator/mailboxes/{SUPPORT}/conversations",
        json={
            "customer": {"name": "Ana Ruiz", "address": "ana@adatum.com"},
            "subject": "Where is my order?",
            "steps": [
                {"who": "customer", "minutesAgo": 90, "text": "Where is it?"},
                {"who": "lee@contoso.com", "minutesAgo": 60, "text": "On its way."},
                {"who": "customer", "minutesAgo": 5, "text": "Still nothing."},
            ],
        },
    )
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert len(made["items"]) == 3
    assert {i["conversationId"] for i in made["items"]} == {made["conversationId"]}
    folders = [fresh_emulator.item(i["id"])["folderWellKnownName"] for i in made["items"]]
    assert folders == ["inbox", "sentitems", "inbox"]
    bad = fresh_emulator.http.post(
        f"{fresh_emulator.url}/_emulator/mailboxes/{SUPPORT}/conversations",
        json={"customer": {"address": "x@y.z"}, "subject": "s", "steps": [{"who": "nobody@x"}]},
    )
    assert bad.status_code == 400
