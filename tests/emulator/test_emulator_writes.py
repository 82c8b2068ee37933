"""Graph's write routes on the emulator: shapes, status codes, and Exchange's rules behind them.

Every test runs against a live emulator over HTTPS, with Graph tokens from
/_emulator/graph-token and plain requests.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.graph import G, deliveries, graph_error, item_by, state
from tests.support.servers import EmulatorHandle

CONFLICT = (
    "The send or update operation could not be performed because the change key passed in the "
    "request does not match the current change key for the item."
)


def mailbox(e: EmulatorHandle, address: str) -> dict[str, Any]:
    """A mailbox of the world."""
    return next(m for m in e.world()["mailboxes"] if m["address"] == address)


def folder_items(e: EmulatorHandle, address: str, well_known: str) -> list[dict[str, Any]]:
    """The items of a well-known folder."""
    return e.items(address, well_known)


# -- PATCH ------------------------------------------------------------------------------------
def test_patch_replaces_categories_and_answers_the_updated_item(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    item = e.items("support@contoso.com")[0]
    before = state(e, item["id"])
    path = f"/users/support@contoso.com/messages/{item['id']}"
    response = lee(
        "PATCH",
        path,
        {
            "categories": ["Blue", "Tandem: Lee Gu (lee@contoso.com)"],
            "flag": {"flagStatus": "flagged"},
        },
        **{"client-request-id": "c0ffee00-0000-4000-8000-000000000001"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == item["id"]
    assert body["categories"] == ["Blue", "Tandem: Lee Gu (lee@contoso.com)"]
    assert body["flag"] == {"flagStatus": "flagged"}
    assert body["@odata.etag"] == f'W/"{body["changeKey"]}"'
    assert body["changeKey"] != before["changeKey"]
    assert response.headers["client-request-id"] == "c0ffee00-0000-4000-8000-000000000001"
    # categories replace the whole array
    again = lee("PATCH", path, {"categories": ["Green"], "isRead": True})
    assert again.json()["categories"] == ["Green"]
    assert again.json()["isRead"] is True
    after = state(e, item["id"])
    first, second = after["history"][-2:]
    assert first["by"] == "lee@contoso.com"
    assert first["operation"] == "update"
    assert first["fields"]["categories"] == {
        "old": [],
        "new": ["Blue", "Tandem: Lee Gu (lee@contoso.com)"],
    }
    assert first["clientRequestId"] == "c0ffee00-0000-4000-8000-000000000001"
    assert first["changeKey"] == body["changeKey"]
    assert second["fields"]["categories"]["old"] == ["Blue", "Tandem: Lee Gu (lee@contoso.com)"]
    assert after["changeKey"] == again.json()["changeKey"]


def test_patch_an_event_categories(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    nestor = G(e, "nestor@contoso.com")
    event = e.items("adele@contoso.com", "calendar")[0]
    response = nestor(
        "PATCH", f"/users/adele@contoso.com/events/{event['id']}", {"categories": ["Red"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["categories"] == ["Red"]
    assert state(e, event["id"])["history"][-1]["fields"]["categories"]["new"] == ["Red"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"nope": 1}, 400, "RequestBodyRead"),
        ({"receivedDateTime": "2026-01-01T00:00:00Z"}, 400, "ErrorInvalidPropertySet"),
        ({"flag": {"flagStatus": "maybe"}}, 400, "RequestBodyRead"),
        ({"categories": "Blue"}, 400, "RequestBodyRead"),
        ({"isRead": "yes"}, 400, "RequestBodyRead"),
        # `from` is a draft's only (reported for Graph: "Message is not draft.")
        (
            {"from": {"emailAddress": {"address": "sales@contoso.com"}}},
            400,
            "ErrorInvalidPropertySet",
        ),
    ],
)
def test_patch_refuses_what_graph_refuses(
    emulator: EmulatorHandle, body: dict[str, Any], status: int, code: str
):
    item = emulator.items("support@contoso.com")[0]
    lee = G(emulator, "lee@contoso.com")
    response = lee("PATCH", f"/users/support@contoso.com/messages/{item['id']}", body)
    graph_error(response, status, code)


def test_a_draft_may_change_body_recipients_subject_and_from(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    draft = lee("POST", "/me/messages", {"subject": "Draft", "toRecipients": []})
    assert draft.status_code == 201, draft.text
    changes = {
        "subject": "Re-worded",
        "body": {"contentType": "text", "content": "Hello"},
        "toRecipients": [{"emailAddress": {"address": "maria.lopez@adatum.com"}}],
        "ccRecipients": [{"emailAddress": {"address": "sam@contoso.com"}}],
        "from": {"emailAddress": {"address": "support@contoso.com"}},
    }
    response = lee("PATCH", f"/me/messages/{draft.json()['id']}", changes)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"] == "Re-worded"
    assert body["bodyPreview"] == "Hello"
    assert body["from"]["emailAddress"]["address"] == "support@contoso.com"
    assert body["ccRecipients"][0]["emailAddress"]["address"] == "sam@contoso.com"


def test_writes_need_a_write_scope(fresh_emulator: EmulatorHandle):
    emulator = fresh_emulator  # it writes
    reader = G(emulator, "lee@contoso.com", ["Mail.Read.Shared", "Calendars.Read.Shared"])
    item = emulator.items("support@contoso.com")[0]
    event = emulator.items("support@contoso.com", "calendar")[0]
    path = f"/users/support@contoso.com/messages/{item['id']}"
    assert reader("GET", path).status_code == 200
    graph_error(reader("PATCH", path, {"isRead": True}), 403, "ErrorAccessDenied")
    graph_error(
        reader("POST", f"{path}/move", {"destinationId": "archive"}), 403, "ErrorAccessDenied"
    )
    graph_error(reader("DELETE", path), 403, "ErrorAccessDenied")
    graph_error(reader("POST", f"{path}/createReply", {}), 403, "ErrorAccessDenied")
    graph_error(reader("POST", f"{path}/reply", {"comment": "x"}), 403, "ErrorAccessDenied")
    graph_error(
        reader("POST", f"/users/support@contoso.com/events/{event['id']}/accept", {}),
        403,
        "ErrorAccessDenied",
    )
    # Mail.ReadWrite (without .Shared) covers only the person's own mailbox
    own_only = G(emulator, "lee@contoso.com", ["Mail.ReadWrite", "Mail.Send"])
    graph_error(own_only("PATCH", path, {"isRead": True}), 403, "ErrorAccessDenied")
    mine = emulator.items("lee@contoso.com")[0]
    assert own_only("PATCH", f"/me/messages/{mine['id']}", {"isRead": mine["isRead"]}).ok
    # sending as another address needs Mail.Send.Shared, even through /me
    graph_error(
        own_only(
            "POST",
            "/me/sendMail",
            {
                "message": {
                    "subject": "x",
                    "toRecipients": [{"emailAddress": {"address": "sam@contoso.com"}}],
                    "from": {"emailAddress": {"address": "support@contoso.com"}},
                }
            },
        ),
        403,
        "ErrorAccessDenied",
    )


# -- move and delete ----------------------------------------------------------------------------
def test_move_answers_201_at_a_new_id_and_the_old_id_is_gone(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    item = e.items("support@contoso.com")[0]
    escalations = next(
        f for f in mailbox(e, "support@contoso.com")["folders"] if f["name"] == "Escalations"
    )
    path = f"/users/support@contoso.com/messages/{item['id']}"
    lee("PATCH", path, {"categories": ["Before the move"]}).raise_for_status()
    moved = lee("POST", f"{path}/move", {"destinationId": escalations["id"]})
    assert moved.status_code == 201, moved.text
    body = moved.json()
    assert body["id"] != item["id"]
    assert body["parentFolderId"] == escalations["id"]
    assert body["categories"] == ["Before the move"]
    assert body["webLink"] == (
        f"https://outlook.office.com/owa/?ItemID={quote(body['id'], safe='')}"
        "&exvsurl=1&viewmodel=ReadMessageItem"
    )
    graph_error(lee("GET", path), 404, "ErrorItemNotFound")
    # well-known names in any case
    again = lee(
        "POST",
        f"/users/support@contoso.com/messages/{body['id']}/move",
        {"destinationId": "Archive"},
    )
    assert again.status_code == 201, again.text
    assert (
        again.json()["parentFolderId"]
        == mailbox(e, "support@contoso.com")["wellKnownFolders"]["archive"]
    )
    # the history survives both moves, found by any of the ids
    history = state(e, item["id"])
    assert history["ids"] == [item["id"], body["id"], again.json()["id"]]
    assert history["id"] == again.json()["id"]
    assert history["folderWellKnownName"] == "archive"
    assert [h["operation"] for h in history["history"]][-3:] == ["update", "move", "move"]
    assert history["history"][-2]["fields"]["parentFolderId"]["new"] == escalations["id"]
    assert state(e, body["id"]) == history
    assert history["createdBy"] == "support@contoso.com"  # a move keeps the creator


@pytest.mark.parametrize(
    ("destination", "status", "code"),
    [("Processed", 400, "ErrorInvalidIdMalformed"), ("outbox", 404, "ErrorItemNotFound")],
)
def test_move_to_an_unknown_folder(
    emulator: EmulatorHandle, destination: str, status: int, code: str
):
    item = emulator.items("support@contoso.com")[0]
    lee = G(emulator, "lee@contoso.com")
    response = lee(
        "POST",
        f"/users/support@contoso.com/messages/{item['id']}/move",
        {"destinationId": destination},
    )
    graph_error(response, status, code)


def test_graph_cannot_move_between_mailboxes(emulator: EmulatorHandle):
    item = emulator.items("support@contoso.com")[0]
    sales_inbox = mailbox(emulator, "sales@contoso.com")["wellKnownFolders"]["inbox"]
    pat_and_lee = G(emulator, "lee@contoso.com")
    response = pat_and_lee(
        "POST",
        f"/users/support@contoso.com/messages/{item['id']}/move",
        {"destinationId": sales_inbox},
    )
    graph_error(response, 404, "ErrorItemNotFound")


def test_delete_moves_to_deleted_items_then_removes_for_good(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    item = e.items("support@contoso.com")[0]
    response = lee("DELETE", f"/users/support@contoso.com/messages/{item['id']}")
    assert response.status_code == 204
    assert response.content == b""
    first = state(e, item["id"])
    assert first["folderWellKnownName"] == "deleteditems"
    assert first["id"] != item["id"]
    graph_error(
        lee("GET", f"/users/support@contoso.com/messages/{item['id']}"), 404, "ErrorItemNotFound"
    )
    assert lee("DELETE", f"/users/support@contoso.com/messages/{first['id']}").status_code == 204
    gone = state(e, item["id"])
    assert gone["deleted"] is True
    assert gone["folderId"] is None
    assert [h["operation"] for h in gone["history"]][-2:] == ["delete", "delete"]
    graph_error(
        lee("GET", f"/users/support@contoso.com/messages/{first['id']}"), 404, "ErrorItemNotFound"
    )


# -- If-Match ---------------------------------------------------------------------------------
def test_if_match_is_honoured_by_default_and_can_be_ignored(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    item = e.items("support@contoso.com")[0]
    path = f"/users/support@contoso.com/messages/{item['id']}"
    etag = lee("GET", path).json()["@odata.etag"]
    fresh = lee("PATCH", path, {"isRead": True}, **{"If-Match": etag})
    assert fresh.status_code == 200, fresh.text
    stale = lee("PATCH", path, {"categories": ["Late"]}, **{"If-Match": etag})
    error = graph_error(stale, 412, "ErrorIrresolvableConflict")
    assert error["message"] == CONFLICT
    graph_error(
        lee("POST", f"{path}/move", {"destinationId": "archive"}, **{"If-Match": etag}),
        412,
        "ErrorIrresolvableConflict",
    )
    graph_error(lee("DELETE", path, **{"If-Match": etag}), 412, "ErrorIrresolvableConflict")
    assert state(e, item["id"])["item"]["categories"] == []  # nothing was written
    assert lee("PATCH", path, {"categories": ["Any"]}, **{"If-Match": "*"}).ok
    settings = e.http.post(f"{e.url}/_emulator/settings", json={"ifMatch": "ignore"})
    assert settings.json()["ifMatch"] == "ignore"
    ignored = lee("PATCH", path, {"categories": ["Late"]}, **{"If-Match": etag})
    assert ignored.status_code == 200, ignored.text
    history = state(e, item["id"])["history"][-1]
    assert history["ifMatch"] == etag
    assert history["changeKey"] == ignored.json()["changeKey"]


# -- faults -----------------------------------------------------------------------------------
def test_after_fault_does_the_work_then_answers_the_status(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    item = e.items("support@contoso.com")[0]
    path = f"/users/support@contoso.com/messages/{item['id']}"
    draft = lee("POST", f"{path}/createReply", {"comment": "On it."}).json()
    e.fault(target="graph", method="POST", path=f"{draft['id']}/send", status=503, after=True)
    response = lee("POST", f"/users/support@contoso.com/messages/{draft['id']}/send")
    graph_error(response, 503, "ServiceUnavailable")
    sent = [d for d in deliveries(e) if d["internetMessageId"] == draft["internetMessageId"]]
    assert len(sent) == 1  # "Graph answered 503 after sending"
    assert state(e, draft["id"])["folderWellKnownName"] == "sentitems"
    graph_error(
        lee("GET", f"/users/support@contoso.com/messages/{draft['id']}"), 404, "ErrorItemNotFound"
    )


def test_outside_change_makes_a_stale_etag_conflict(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    item = e.items("support@contoso.com")[0]
    path = f"/users/support@contoso.com/messages/{item['id']}"
    etag = lee("GET", path).json()["@odata.etag"]
    e.fault(
        target="graph",
        method="PATCH",
        itemId=item["id"],
        outsideChange={"by": "sam@contoso.com", "categories": ["Sam's"], "flag": "flagged"},
    )
    response = lee("PATCH", path, {"categories": ["Lee's"]}, **{"If-Match": etag})
    graph_error(response, 412, "ErrorIrresolvableConflict")
    now = state(e, item["id"])
    outlook = now["history"][-1]
    assert outlook["via"] == "outlook"
    assert outlook["by"] == "sam@contoso.com"
    assert outlook["fields"]["categories"]["new"] == ["Sam's"]
    assert now["item"]["categories"] == ["Sam's"]
    assert now["item"]["flag"] == {"flagStatus": "flagged"}
    assert e.http.get(f"{e.url}/_emulator/faults").json()["faults"] == []


def test_change_an_item_as_outlook_would(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    item = e.items("support@contoso.com")[0]
    before = state(e, item["id"])
    response = e.http.post(
        f"{e.url}/_emulator/items/{item['id']}/change",
        json={"by": "lee@contoso.com", "categories": ["Red"], "flag": "complete", "isRead": True},
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["changeKey"] != before["changeKey"]
    assert after["item"]["flag"]["flagStatus"] == "complete"
    assert after["history"][-1]["via"] == "outlook"
    bad = e.http.post(f"{e.url}/_emulator/items/{item['id']}/change", json={"subject": "x"})
    assert bad.status_code == 400
    assert e.http.get(f"{e.url}/_emulator/items/AAMkADnothing").status_code == 404


# -- drafts, replies, sending -------------------------------------------------------------------
def test_create_reply_is_a_draft_in_that_mailboxs_drafts(fresh_emulator: EmulatorHandle):
    emulator = fresh_emulator  # it writes
    lee = G(emulator, "lee@contoso.com")
    item = item_by(emulator, "support@contoso.com", subject="Printer")
    support = mailbox(emulator, "support@contoso.com")
    response = lee(
        "POST",
        f"/users/support@contoso.com/messages/{item['id']}/createReply",
        {"comment": "Hello"},
    )
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["isDraft"] is True
    assert draft["subject"] == "RE: " + item["subject"]
    assert draft["parentFolderId"] == support["wellKnownFolders"]["drafts"]
    assert [r["emailAddress"]["address"] for r in draft["toRecipients"]] == [
        item["from"]["address"]
    ]
    assert draft["from"]["emailAddress"]["address"] == "support@contoso.com"
    assert re.fullmatch(r"<[0-9A-F]{32}@contoso\.com>", draft["internetMessageId"])
    assert draft["webLink"] == (
        f"https://outlook.office.com/owa/?ItemID={quote(draft['id'], safe='')}"
        "&exvsurl=1&viewmodel=ReadMessageItem"
    )
    # Exchange makes an HTML body with the comment in it as HTML, the original quoted below.
    assert draft["body"]["contentType"] == "html"
    assert draft["body"]["content"].startswith("<html><body><div>Hello</div>")
    assert item["subject"] in draft["body"]["content"]  # the original is quoted
    assert draft["bodyPreview"].startswith("Hello")
    assert state(emulator, draft["id"])["createdBy"] == "lee@contoso.com"


def test_create_reply_all_and_forward_recipients(fresh_emulator: EmulatorHandle):
    emulator = fresh_emulator  # it writes
    lee = G(emulator, "lee@contoso.com")
    item = emulator.items("support@contoso.com")[0]
    path = f"/users/support@contoso.com/messages/{item['id']}"
    reply_all = lee("POST", f"{path}/createReplyAll", {}).json()
    addresses = [r["emailAddress"]["address"] for r in reply_all["toRecipients"]]
    assert addresses == [item["from"]["address"]]  # support@ itself is left out
    forward = lee(
        "POST",
        f"{path}/createForward",
        {"comment": "FYI", "toRecipients": [{"emailAddress": {"address": "sam@contoso.com"}}]},
    )
    assert forward.status_code == 201, forward.text
    assert forward.json()["subject"] == "FW: " + item["subject"]
    assert forward.json()["toRecipients"][0]["emailAddress"]["address"] == "sam@contoso.com"
    both = lee(
        "POST",
        f"{path}/createReply",
        {"comment": "x", "message": {"body": {"contentType": "text", "content": "y"}}},
    )
    graph_error(both, 400, "BadRequest")


def test_send_a_draft_records_one_delivery_and_files_the_copy(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    item = e.items("support@contoso.com")[0]
    draft = lee(
        "POST",
        f"/users/support@contoso.com/messages/{item['id']}/createForward",
        {"toRecipients": [{"emailAddress": {"address": "sam@contoso.com"}}]},
    ).json()
    response = lee(
        "POST",
        f"/users/support@contoso.com/messages/{draft['id']}/send",
        **{"client-request-id": "5e4d0000-0000-4000-8000-000000000002"},
    )
    assert response.status_code == 202, response.text
    assert response.content == b""
    (delivery,) = deliveries(e)
    assert delivery["from"] == delivery["sender"] == "support@contoso.com"  # Send As
    assert delivery["to"] == ["sam@contoso.com"]
    assert delivery["subject"] == draft["subject"]
    assert delivery["internetMessageId"] == draft["internetMessageId"]
    assert delivery["clientRequestId"] == "5e4d0000-0000-4000-8000-000000000002"
    assert delivery["sentCopyIn"] == "support@contoso.com"
    assert delivery["deliveredTo"] == ["sam@contoso.com"]
    sent = state(e, draft["id"])
    assert sent["mailbox"] == "support@contoso.com"
    assert sent["folderWellKnownName"] == "sentitems"
    assert sent["item"]["isDraft"] is False
    received = [
        i
        for i in e.items("sam@contoso.com")
        if i["internetMessageId"] == draft["internetMessageId"]
    ]
    assert len(received) == 1 and received[0]["isRead"] is False
    assert e.stats()["deliveries"] == 1
    graph_error(
        lee("POST", f"/users/support@contoso.com/messages/{draft['id']}/send"),
        404,
        "ErrorItemNotFound",
    )


@pytest.mark.parametrize("action", ["reply", "replyAll", "forward"])
def test_reply_reply_all_forward_send_at_once(fresh_emulator: EmulatorHandle, action: str):
    e = fresh_emulator
    pat = G(e, "pat@contoso.com")
    item = e.items("sales@contoso.com")[0]
    body: dict[str, Any] = {"comment": "Thanks"}
    if action == "forward":
        body["toRecipients"] = [{"emailAddress": {"address": "lee@contoso.com"}}]
    response = pat("POST", f"/users/sales@contoso.com/messages/{item['id']}/{action}", body)
    assert response.status_code == 202, response.text
    (delivery,) = deliveries(e)
    assert delivery["from"] == "sales@contoso.com"
    assert delivery["sender"] == "pat@contoso.com"  # Send on Behalf only
    assert delivery["sentCopyIn"] == "sales@contoso.com"
    assert delivery["subject"].startswith("FW: " if action == "forward" else "RE: ")
    copy = state(e, delivery["sentCopy"])
    assert copy["item"]["sender"]["emailAddress"]["address"] == "pat@contoso.com"
    assert copy["item"]["from"]["emailAddress"]["address"] == "sales@contoso.com"


def test_forward_needs_a_recipient(emulator: EmulatorHandle):
    item = emulator.items("sales@contoso.com")[0]
    response = G(emulator, "pat@contoso.com")(
        "POST", f"/users/sales@contoso.com/messages/{item['id']}/forward", {"comment": "x"}
    )
    graph_error(response, 400, "ErrorInvalidRecipients")


def test_send_mail_and_where_the_copy_lands(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    message = {
        "subject": "Outage notice",
        "body": {"contentType": "Text", "content": "Back at noon."},
        "toRecipients": [{"emailAddress": {"address": "maria.lopez@adatum.com"}}],
    }
    through_mailbox = lee("POST", "/users/support@contoso.com/sendMail", {"message": message})
    assert through_mailbox.status_code == 202, through_mailbox.text
    as_from = dict(message, **{"from": {"emailAddress": {"address": "support@contoso.com"}}})
    through_me = lee("POST", "/me/sendMail", {"message": as_from})
    assert through_me.status_code == 202, through_me.text
    unsaved = lee("POST", "/me/sendMail", {"message": message, "saveToSentItems": "false"})
    assert unsaved.status_code == 202
    first, second, third = deliveries(e)
    assert (first["sentCopyIn"], first["from"], first["sender"]) == (
        "support@contoso.com",
        "support@contoso.com",
        "support@contoso.com",
    )
    assert (second["sentCopyIn"], second["from"], second["sender"]) == (
        "lee@contoso.com",
        "support@contoso.com",
        "support@contoso.com",
    )
    assert (third["sentCopyIn"], third["from"], third["sender"]) == (
        None,
        "lee@contoso.com",
        "lee@contoso.com",
    )
    assert third["deliveredTo"] == []  # adatum.com is outside the world
    assert state(e, first["sentCopy"])["item"]["body"]["content"] == "Back at noon."


def test_me_messages_creates_a_draft_in_the_callers_own_drafts(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    nestor = G(e, "nestor@contoso.com")
    response = nestor(
        "POST",
        "/me/messages",
        {
            "subject": "For Adele",
            "toRecipients": [{"emailAddress": {"address": "megan@contoso.com"}}],
            "from": {"emailAddress": {"address": "adele@contoso.com"}},
        },
    )
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["isDraft"] is True
    assert draft["parentFolderId"] == mailbox(e, "nestor@contoso.com")["wellKnownFolders"]["drafts"]
    sent = nestor("POST", f"/me/messages/{draft['id']}/send")
    assert sent.status_code == 202, sent.text
    (delivery,) = deliveries(e)
    assert (delivery["from"], delivery["sender"], delivery["sentCopyIn"]) == (
        "adele@contoso.com",
        "nestor@contoso.com",
        "nestor@contoso.com",
    )


def test_send_needs_recipients(emulator: EmulatorHandle):
    response = G(emulator, "lee@contoso.com")(
        "POST", "/me/sendMail", {"message": {"subject": "nobody"}}
    )
    graph_error(response, 400, "ErrorInvalidRecipients")


# -- mail folders -----------------------------------------------------------------------------
def test_mail_folders_list_get_children_and_messages(emulator: EmulatorHandle):
    lee = G(emulator, "lee@contoso.com")
    support = mailbox(emulator, "support@contoso.com")
    top = lee("GET", "/users/support@contoso.com/mailFolders?$top=3")
    assert top.status_code == 200, top.text
    page = top.json()
    assert len(page["value"]) == 3
    assert "@odata.nextLink" in page
    rest = emulator.http.get(
        page["@odata.nextLink"], headers={"Authorization": f"Bearer {lee.token}"}
    )
    names = [f["displayName"] for f in page["value"] + rest.json()["value"]]
    assert sorted(names, key=str.lower) == names
    assert set(names) == {"Archive", "Deleted Items", "Drafts", "Inbox", "Junk Email", "Sent Items"}
    for folder in page["value"]:
        assert set(folder) == {
            "id",
            "displayName",
            "parentFolderId",
            "childFolderCount",
            "unreadItemCount",
            "totalItemCount",
            "isHidden",
        }
        assert "wellKnownName" not in folder
        assert folder["parentFolderId"] == support["rootFolderId"]
    inbox = lee("GET", "/users/support@contoso.com/mailFolders/inbox").json()
    assert inbox["id"] == support["wellKnownFolders"]["inbox"]
    assert inbox["childFolderCount"] == 2
    assert inbox["totalItemCount"] == len(emulator.items("support@contoso.com"))
    children = lee(
        "GET", f"/users/support@contoso.com/mailFolders/{inbox['id']}/childFolders"
    ).json()
    assert {f["displayName"] for f in children["value"]} == {"Escalations", "Waiting on customer"}
    assert all(f["parentFolderId"] == inbox["id"] for f in children["value"])
    target = emulator.items("support@contoso.com")[3]
    found = lee(
        "GET",
        "/users/support@contoso.com/mailFolders/inbox/messages?$filter=internetMessageId eq "
        f"'{target['internetMessageId']}'&$select=id,subject",
    ).json()
    assert [set(m) for m in found["value"]] == [{"@odata.etag", "id", "subject"}]
    assert found["value"][0]["id"] == target["id"]
    graph_error(  # a filter that does not parse (tests/emulator/test_list_queries.py: the rest)
        lee("GET", "/users/support@contoso.com/mailFolders/inbox/messages?$filter=isRead eq"),
        400,
        "BadRequest",
    )


def test_a_delegate_lists_only_the_folders_shared_with_them(emulator: EmulatorHandle):
    megan = G(emulator, "megan@contoso.com")
    listed = megan("GET", "/users/adele@contoso.com/mailFolders").json()
    assert [f["displayName"] for f in listed["value"]] == ["Inbox"]
    graph_error(
        megan("GET", "/users/adele@contoso.com/mailFolders/drafts"), 403, "ErrorAccessDenied"
    )
    joni = G(emulator, "joni@contoso.com")
    graph_error(joni("GET", "/users/support@contoso.com/mailFolders"), 403, "ErrorAccessDenied")


# -- events -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "response_value"),
    [("accept", "accepted"), ("tentativelyAccept", "tentativelyAccepted"), ("decline", "declined")],
)
def test_event_responses(fresh_emulator: EmulatorHandle, action: str, response_value: str):
    e = fresh_emulator
    nestor = G(e, "nestor@contoso.com")
    event = item_by(e, "adele@contoso.com", "calendar", subject="1:1 with Megan")
    response = nestor(
        "POST",
        f"/users/adele@contoso.com/events/{event['id']}/{action}",
        {"comment": "See you", "sendResponse": True},
    )
    assert response.status_code == 202, response.text
    status = state(e, event["id"])["item"]["responseStatus"]
    assert status["response"] == response_value
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", status["time"])
    (delivery,) = deliveries(e)
    assert delivery["to"] == ["megan@contoso.com"]
    assert (delivery["from"], delivery["sender"]) == ("adele@contoso.com", "nestor@contoso.com")
    quiet = nestor(
        "POST", f"/users/adele@contoso.com/events/{event['id']}/{action}", {"sendResponse": False}
    )
    assert quiet.status_code == 202
    assert len(deliveries(e)) == 1


def test_the_organizer_cannot_respond(emulator: EmulatorHandle):
    event = item_by(emulator, "adele@contoso.com", "calendar", subject="Board meeting prep")
    response = G(emulator, "adele@contoso.com")("POST", f"/me/events/{event['id']}/accept", {})
    graph_error(response, 400, "ErrorCalendarIsOrganizerForAccept")
