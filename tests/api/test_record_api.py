"""The team's record through the API, against the emulator: who may read and change it (each
case asserting the store's rows, not only the status), what the timeline holds, and the
conversation's owner and status following the customer's follow-up."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from tandem_mailbox.store.tables import conversations, events, members, notes
from tests.support.api import shared_body
from tests.support.servers import BackendHandle, EmulatorHandle

SUPPORT, SALES = "support@contoso.com", "sales@contoso.com"


def _item(emulator: EmulatorHandle, mailbox: str = SUPPORT, n: int = 0) -> dict[str, Any]:
    return [i for i in emulator.items(mailbox) if i["createdBy"] == mailbox][n]


def _rows(backend: BackendHandle) -> dict[str, list[dict[str, Any]]]:
    """Everything the backend's store holds, table by table."""
    url = backend.settings.database_url
    if not Path(url.split("///", 1)[1]).exists():
        return {"conversations": [], "notes": [], "events": [], "members": []}
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {
            table.name: [dict(r._mapping) for r in connection.execute(select(table))]
            for table in (conversations, notes, events, members)
        }
    engine.dispose()
    return found


def _post(backend: BackendHandle, token: str, path: str, body: dict[str, Any]) -> Any:
    return backend.http.post(
        f"{backend.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )


@pytest.fixture
def team(make_backend, fresh_emulator: EmulatorHandle) -> tuple[BackendHandle, EmulatorHandle]:
    """A backend of its own (its own store) on an emulator of its own."""
    return make_backend(fresh_emulator), fresh_emulator


def test_a_member_reads_the_record_and_is_listed(team):
    backend, emulator = team
    lee, sam = emulator.sso("lee@contoso.com"), emulator.sso("sam@contoso.com")
    body = shared_body(_item(emulator)["id"], SUPPORT)
    first = backend.context(lee, body).json()["record"]
    assert first["conversation"]["status"] == "open"
    assert first["conversation"]["assignee"] is None
    assert first["members"] == [{"upn": "lee@contoso.com", "name": "Lee Gu"}]
    second = backend.context(sam, body).json()["record"]
    assert [m["upn"] for m in second["members"]] == ["lee@contoso.com", "sam@contoso.com"]
    via_route = _post(backend, sam, "/api/items/record", body)
    assert via_route.status_code == 200 and via_route.json()["members"] == second["members"]
    assert {r["upn"] for r in _rows(backend)["members"]} == {"lee@contoso.com", "sam@contoso.com"}


def test_lee_assigns_to_sam_with_a_note_and_outlook_shows_sam(team):
    backend, emulator = team
    lee, sam = emulator.sso("lee@contoso.com"), emulator.sso("sam@contoso.com")
    item = _item(emulator)
    body = shared_body(item["id"], SUPPORT)
    backend.context(sam, body)  # Sam has been seen on support@: a member
    assigned = backend.action(lee, "assign", body, assignee="sam@contoso.com")
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["result"] == {
        "assignee": {"upn": "sam@contoso.com", "name": "Sam Taylor"},
        "changed": True,
    }
    assert emulator.item(item["id"])["item"]["categories"] == [
        "Tandem: Sam Taylor (sam@contoso.com)"
    ]
    noted = backend.action(lee, "note", body, text="Refund approved.\nWaiting for the bank.")
    assert noted.status_code == 200, noted.text
    record = backend.context(sam, body).json()["record"]
    assert record["conversation"]["assignee"]["upn"] == "sam@contoso.com"
    assert record["notes"][0]["text"] == "Refund approved.\nWaiting for the bank."
    assert record["notes"][0]["mine"] is False
    assert [e["kind"] for e in record["timeline"]] == ["note_added", "assigned"]
    rows = _rows(backend)
    assert [r["assignee_upn"] for r in rows["conversations"]] == ["sam@contoso.com"]
    assert [r["author_upn"] for r in rows["notes"]] == ["lee@contoso.com"]


def test_claim_and_release_are_assignments(team):
    backend, emulator = team
    lee = emulator.sso("lee@contoso.com")
    body = shared_body(_item(emulator, n=1)["id"], SUPPORT)
    assert backend.action(lee, "claim", body).status_code == 200
    assert backend.context(lee, body).json()["record"]["conversation"]["assignee"] == {
        "upn": "lee@contoso.com",
        "name": "Lee Gu",
    }
    assert backend.action(lee, "release", body).status_code == 200
    record = backend.context(lee, body).json()["record"]
    assert record["conversation"]["assignee"] is None
    assert [e["kind"] for e in record["timeline"]] == ["assigned", "assigned"]


def test_status_pending_then_the_customer_writes_again(team):
    backend, emulator = team
    lee, sam = emulator.sso("lee@contoso.com"), emulator.sso("sam@contoso.com")
    item = _item(emulator, n=2)
    body = shared_body(item["id"], SUPPORT)
    backend.context(sam, body)
    assert backend.action(lee, "assign", body, assignee="sam@contoso.com").status_code == 200
    assert backend.action(sam, "status", body, status="pending").status_code == 200
    assert backend.context(sam, body).json()["record"]["conversation"]["status"] == "pending"
    follow_up = emulator.http.post(f"{emulator.url}/_emulator/items/{item['id']}/follow-up")
    assert follow_up.status_code == 201
    newer = follow_up.json()
    opened = backend.context(sam, shared_body(newer["id"], SUPPORT)).json()
    assert opened["record"]["conversation"]["status"] == "open"  # the customer wrote again
    assert opened["record"]["conversation"]["assignee"]["upn"] == "sam@contoso.com"
    assert opened["item"]["claim"]["upn"] == "sam@contoso.com"  # Outlook shows Sam too
    assert emulator.item(newer["id"])["item"]["categories"] == [
        "Tandem: Sam Taylor (sam@contoso.com)"
    ]
    assert opened["record"]["timeline"][0]["detail"]["why"] == "customer_wrote"


def test_notes_are_their_authors_own(team):
    backend, emulator = team
    lee, sam = emulator.sso("lee@contoso.com"), emulator.sso("sam@contoso.com")
    body = shared_body(_item(emulator, n=3)["id"], SUPPORT)
    other = shared_body(_item(emulator, n=4)["id"], SUPPORT)
    note = backend.action(lee, "note", body, text="Mine").json()["result"]["note"]
    refused = backend.action(sam, "editNote", body, noteId=note["id"], text="Sam's now")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    refused = backend.action(sam, "deleteNote", body, noteId=note["id"])
    assert refused.status_code == 403
    elsewhere = backend.action(lee, "deleteNote", other, noteId=note["id"])
    assert elsewhere.status_code == 400 and elsewhere.json()["field"] == "noteId"
    edited = backend.action(lee, "editNote", body, noteId=note["id"], text="Mine, edited")
    assert edited.status_code == 200 and edited.json()["result"]["note"]["editedAt"]
    assert [r["text"] for r in _rows(backend)["notes"]] == ["Mine, edited"]
    assert backend.action(lee, "deleteNote", body, noteId=note["id"]).status_code == 200
    assert _rows(backend)["notes"] == []


HOSTILE = [
    ({"text": "x" * 4001}, "text"),
    ({"text": "   "}, "text"),
    ({"text": "bell\x07"}, "text"),
    ({"text": "evil \u202eoverride"}, "text"),
    ({"text": 42}, "text"),
    ({}, "text"),
]


@pytest.mark.parametrize(("fields", "field"), HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_notes_are_refused_and_change_nothing(team, fields: dict[str, Any], field: str):
    backend, emulator = team
    lee = emulator.sso("lee@contoso.com")
    body = shared_body(_item(emulator)["id"], SUPPORT)
    answer = backend.action(lee, "note", body, **fields)
    assert answer.status_code == 400 and answer.json()["field"] == field
    assert _rows(backend)["notes"] == [] and _rows(backend)["events"] == []


def test_sql_looking_text_and_4000_characters_are_stored_inert(team):
    backend, emulator = team
    lee = emulator.sso("lee@contoso.com")
    body = shared_body(_item(emulator)["id"], SUPPORT)
    text = "'); DROP TABLE notes; --\n" + "é" * 3975
    assert len(text) == 4000
    assert backend.action(lee, "note", body, text=text).status_code == 200
    assert [r["text"] for r in _rows(backend)["notes"]] == [text]


@pytest.mark.parametrize(
    ("user", "mailbox", "status", "code"),
    [
        ("pat@contoso.com", SUPPORT, 403, "mailbox_access_denied"),  # sales@ only
        ("joni@contoso.com", SUPPORT, 403, "mailbox_access_denied"),
        ("joni@contoso.com", SALES, 403, "mailbox_access_denied"),
        ("diego@fabrikam.com", SUPPORT, 401, "invalid_token"),  # another tenant
    ],
)
def test_outsiders_get_no_record_and_change_none(
    team, user: str, mailbox: str, status: int, code: str
):
    backend, emulator = team
    lee = emulator.sso("lee@contoso.com")
    body = shared_body(_item(emulator, mailbox)["id"], mailbox)
    if mailbox == SUPPORT:
        backend.action(lee, "note", body, text="Internal: the customer is a reseller.")
    before = _rows(backend)
    token = emulator.sso(user)
    read = _post(backend, token, "/api/items/record", body)
    assert read.status_code == status and read.json()["code"] == code
    assert "reseller" not in read.text
    context = backend.context(token, body)
    assert context.status_code == status and "reseller" not in context.text
    for name, fields in [
        ("note", {"text": "hi"}),
        ("status", {"status": "done"}),
        ("assign", {"assignee": None}),
    ]:
        answer = backend.action(token, name, body, **fields)
        assert answer.status_code == status, (name, answer.text)
    assert _rows(backend) == before  # not a row changed, not a member added


def test_the_timeline_says_what_a_reply_did_without_an_address(team):
    backend, emulator = team
    lee = emulator.sso("lee@contoso.com")
    item = _item(emulator, n=5)
    body = shared_body(item["id"], SUPPORT)
    assert backend.action(lee, "reply", body, comment="On its way.", send=True).ok
    assert backend.action(lee, "flag", body, flag="flagged").ok
    assert backend.action(lee, "move", body, folder="archive").ok
    # The item moved: its old id is gone; the record is the conversation's, read by the new id.
    moved = emulator.item(item["id"])["id"]
    timeline = _post(backend, lee, "/api/items/record", shared_body(moved, SUPPORT)).json()
    kinds = [e["kind"] for e in timeline["timeline"]]
    assert kinds == ["move", "flag", "reply"]
    reply = timeline["timeline"][2]["detail"]
    assert reply == {
        "outcome": "sent",
        "route": "mailbox",
        "sentAs": "sendAs",
        "recipients": 1,
        "mailbox": SUPPORT,
    }
    assert timeline["timeline"][0]["detail"]["to"] == "Archive"
    customer = item["from"]["address"]
    assert customer not in str(timeline["timeline"])


def test_an_unknown_assignee_is_refused(team):
    backend, emulator = team
    lee = emulator.sso("lee@contoso.com")
    body = shared_body(_item(emulator)["id"], SUPPORT)
    answer = backend.action(lee, "assign", body, assignee=f"{uuid.uuid4().hex}@contoso.com")
    assert answer.status_code == 400 and answer.json()["field"] == "assignee"
    assert _rows(backend)["conversations"] == []
