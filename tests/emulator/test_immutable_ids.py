"""Immutable ids (Prefer: IdType="ImmutableId"), translateExchangeIds, and conversations."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import pytest

from tests.support.graph import G
from tests.support.servers import EmulatorHandle

SUPPORT = "/users/support@contoso.com"
IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}


def folder_id(e: EmulatorHandle, address: str, name: str) -> str:
    """A folder's id by display name."""
    box = next(m for m in e.world()["mailboxes"] if m["address"] == address)
    return next(f["id"] for f in box["folders"] if f["name"] == name)


def translate(lee: G, ids: list[str], source: str, target: str) -> list[dict[str, Any]]:
    """POST translateExchangeIds on support@; the convertIdResults."""
    response = lee(
        "POST",
        f"{SUPPORT}/translateExchangeIds",
        {"inputIds": ids, "sourceIdType": source, "targetIdType": target},
    )
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_an_item_moved_twice_keeps_its_immutable_id(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com", ["Mail.ReadWrite.Shared", "User.Read"])
    rest = e.items("support@contoso.com")[0]["id"]
    first = lee("GET", f"{SUPPORT}/messages/{rest}?$select=subject", **IMMUTABLE)
    assert first.status_code == 200
    assert first.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    stable = first.json()["id"]
    assert stable != rest and stable.startswith("AAkALg")
    # Without the header, Graph answers the regular id and applies no preference.
    plain = lee("GET", f"{SUPPORT}/messages/{rest}?$select=subject")
    assert plain.json()["id"] == rest and "Preference-Applied" not in plain.headers
    ids = [rest]
    for name in ("Escalations", "Waiting on customer"):
        # The immutable id is accepted as input, with or without the header.
        moved = lee(
            "POST",
            f"{SUPPORT}/messages/{stable}/move",
            {"destinationId": folder_id(e, "support@contoso.com", name)},
        )
        assert moved.status_code == 201, moved.text
        ids.append(moved.json()["id"])
        again = lee("GET", f"{SUPPORT}/messages/{ids[-1]}", **IMMUTABLE)
        assert again.json()["id"] == stable
    assert len(set(ids)) == 3  # the regular id changed with each move
    assert lee("GET", f"{SUPPORT}/messages/{ids[0]}").status_code == 404  # the old one is gone
    assert lee("GET", f"{SUPPORT}/messages/{stable}").json()["id"] == ids[-1]
    # A move answered under the header gives the same immutable id.
    back = lee("POST", f"{SUPPORT}/messages/{stable}/move", {"DestinationId": "inbox"}, **IMMUTABLE)
    assert back.status_code == 201 and back.json()["id"] == stable
    # Lists honour the header too.
    listed = lee("GET", f"{SUPPORT}/mailFolders/inbox/messages?$top=100&$select=id", **IMMUTABLE)
    assert stable in {m["id"] for m in listed.json()["value"]}
    # Deleting keeps it (Deleted Items is a folder of the mailbox); deleting again ends it.
    assert lee("DELETE", f"{SUPPORT}/messages/{stable}").status_code == 204
    assert lee("GET", f"{SUPPORT}/messages/{stable}").status_code == 200
    assert lee("DELETE", f"{SUPPORT}/messages/{stable}").status_code == 204
    assert lee("GET", f"{SUPPORT}/messages/{stable}").status_code == 404


def test_a_sent_draft_keeps_its_immutable_id(fresh_emulator: EmulatorHandle):
    """Graph's "immutable ID with sending mail": create the draft with the header, send it,
    GET the same id: the copy in Sent Items."""
    e = fresh_emulator
    lee = G(e, "lee@contoso.com", ["Mail.ReadWrite.Shared", "Mail.Send.Shared"])
    draft = lee(
        "POST",
        f"{SUPPORT}/messages",
        {"subject": "Hi", "toRecipients": [{"emailAddress": {"address": "kenji@litware.com"}}]},
        **IMMUTABLE,
    ).json()
    assert lee("POST", f"{SUPPORT}/messages/{draft['id']}/send").status_code == 202
    copy = lee("GET", f"{SUPPORT}/messages/{draft['id']}?$select=isDraft,parentFolderId")
    assert copy.status_code == 200 and copy.json()["isDraft"] is False
    sent = next(m for m in e.world()["mailboxes"] if m["address"] == "support@contoso.com")
    assert copy.json()["parentFolderId"] == sent["wellKnownFolders"]["sentitems"]


@pytest.mark.parametrize("target", ["restImmutableEntryId", "immutableEntryId", "ewsId", "entryId"])
def test_translate_exchange_ids_round_trips(emulator: EmulatorHandle, target: str):
    e = emulator
    lee = G(e, "lee@contoso.com", ["Mail.ReadWrite.Shared", "User.Read"])
    items = e.items("support@contoso.com")[:3]
    rest = [i["id"] for i in items]
    there = translate(lee, rest, "restId", target)
    assert [r["sourceId"] for r in there] == rest
    if target == "restImmutableEntryId":
        assert [r["targetId"] for r in there] == [i["immutableId"] for i in items]
    if target == "ewsId":
        assert [r["targetId"] for r in there] == [i["ewsId"] for i in items]
    if target in ("entryId", "immutableEntryId"):  # URL-safe base64, padding as its count
        assert all(r["targetId"][-1] in "012" and "=" not in r["targetId"] for r in there)
    back = translate(lee, [r["targetId"] for r in there], target, "restId")
    assert [r["targetId"] for r in back] == rest


def test_translate_refuses_per_id_and_needs_a_user_scope(emulator: EmulatorHandle):
    e = emulator
    lee = G(e, "lee@contoso.com", ["Mail.ReadWrite.Shared", "User.Read"])
    rest = e.items("support@contoso.com")[0]["id"]
    results = translate(lee, [rest, "not-an-id", rest], "restImmutableEntryId", "restId")
    assert [("errorDetails" in r, "targetId" in r) for r in results] == [(True, False)] * 3
    no_user = G(e, "lee@contoso.com", ["Mail.ReadWrite.Shared"])
    refused = no_user(
        "POST",
        f"{SUPPORT}/translateExchangeIds",
        {"inputIds": [rest], "sourceIdType": "restId", "targetIdType": "ewsId"},
    )
    assert refused.status_code == 403
    bad = lee(
        "POST",
        f"{SUPPORT}/translateExchangeIds",
        {"inputIds": [rest], "sourceIdType": "restId", "targetIdType": "graphId"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "RequestBodyRead"


def test_seeded_threads_share_a_conversation(emulator: EmulatorHandle):
    e = emulator
    lee = G(e, "lee@contoso.com")
    found = lee(
        "GET",
        f"{SUPPORT}/messages?$top=100&$select=subject,conversationId,conversationIndex,"
        "receivedDateTime,from,parentFolderId",
    ).json()["value"]
    threads: dict[str, list[dict[str, Any]]] = {}
    for m in found:
        threads.setdefault(m["conversationId"], []).append(m)
    long = [t for t in threads.values() if len(t) >= 3]
    assert len(long) >= 3
    box = next(m for m in e.world()["mailboxes"] if m["address"] == "support@contoso.com")
    for thread in long:
        thread.sort(key=lambda m: m["receivedDateTime"])
        indexes = [base64.b64decode(m["conversationIndex"]) for m in thread]
        # MS-OXOMSG 2.2.1.3: a 22-byte header, then one 5-byte level per response.
        assert indexes[0][0] == 1 and len(indexes[0]) == 22
        for parent, child in itertools.pairwise(indexes):
            assert child[: len(parent)] == parent and len(child) == len(parent) + 5
        folders = {m["parentFolderId"] for m in thread}
        assert box["wellKnownFolders"]["sentitems"] in folders  # answered from the mailbox
        assert box["wellKnownFolders"]["inbox"] in folders
    # A reply drafted through Graph joins the conversation, one level down.
    customer = long[0][-1]
    assert customer["from"]["emailAddress"]["address"] != "support@contoso.com"


def test_a_reply_joins_the_conversation(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    original = lee("GET", f"{SUPPORT}/messages/{e.items('support@contoso.com')[0]['id']}").json()
    draft = lee("POST", f"{SUPPORT}/messages/{original['id']}/createReply", {}).json()
    assert draft["conversationId"] == original["conversationId"]
    parent = base64.b64decode(original["conversationIndex"])
    child = base64.b64decode(draft["conversationIndex"])
    assert child[: len(parent)] == parent and len(child) == len(parent) + 5
