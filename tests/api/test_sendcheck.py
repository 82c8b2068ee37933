"""The send check and the compose surface against the emulator: a draft known by its
conversation, warned before a second person answers it (naming them: from Tandem's timeline,
from the send check that ran before a reply sent in Outlook, or "someone"), never warned in
its own person's conversation or when nothing happened; the replies sent from Outlook on the
timeline afterwards; presence of a draft seen from the conversation's items."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.support.api import shared_body
from tests.support.servers import BackendHandle, EmulatorHandle

SUPPORT = "support@contoso.com"
LEE, SAM = "lee@contoso.com", "sam@contoso.com"


def draft_body(conversation: str, mailbox: str = SUPPORT, **extra: Any) -> dict[str, Any]:
    """What the compose pane and the OnMessageSend handler post for a draft in `mailbox`."""
    body = shared_body("unused-item-id-000", mailbox, 63, **extra)
    del body["itemId"]
    return {"conversationId": conversation, **body}


def post(backend: BackendHandle, route: str, token: str, body: dict[str, Any]) -> Any:
    """POST one /api/items/<route> with the person's token."""
    return backend.http.post(
        f"{backend.url}/api/items/{route}", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def check(backend: BackendHandle, token: str, conversation: str, **extra: Any) -> Any:
    """POST /api/items/sendcheck for a draft of a reply in `conversation`; answers `warn`."""
    answer = post(backend, "sendcheck", token, draft_body(conversation, **extra))
    assert answer.status_code == 200, answer.text
    return answer.json()["warn"]


def outlook_reply(e: EmulatorHandle, item_id: str, by: str, text: str) -> dict[str, Any]:
    """`by` sends a reply from their own Outlook window, as the item's mailbox (Send As)."""
    answer = e.http.post(
        f"{e.url}/_emulator/items/{item_id}/outlook-reply",
        json={"by": by, "body": {"contentType": "html", "content": f"<p>{text}</p>"}},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def now_iso(seconds: float = 0.0) -> str:
    """Now (or `seconds` from now), as the compose pane notes a draft's opening. Exchange
    stamps a sent copy to the second: a draft opened in the copy's second counts as opened
    before it, so "after" is two seconds on."""
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def world(make_backend, fresh_emulator: EmulatorHandle) -> tuple[EmulatorHandle, BackendHandle]:
    """An emulator of its own, with a backend on it."""
    return fresh_emulator, make_backend(fresh_emulator)


def unowned(e: EmulatorHandle) -> dict[str, Any]:
    """A customer's message in support@ that nobody owns, alone in its conversation's Inbox."""
    inbox = e.items(SUPPORT)
    return next(i for i in inbox if not i["categories"] and i["from"]["address"] != SUPPORT)


def test_no_warning_when_nothing_happened(world):
    e, backend = world
    item = unowned(e)
    lee = e.sso(LEE)
    assert backend.context(lee, shared_body(item["id"], SUPPORT)).status_code == 200
    assert check(backend, lee, item["conversationId"], openedAt=now_iso()) is None
    # One Graph call: the conversation's list query, as Lee.
    graph = [r for r in e.requests() if r.get("path", "").startswith("/v1.0/")]
    assert graph[-1]["path"] == f"/v1.0/users/{SUPPORT}/messages"


def test_a_reply_sent_in_outlook_is_named_by_its_send_check_and_lands_on_the_timeline(world):
    e, backend = world
    item = unowned(e)
    conversation = item["conversationId"]
    lee, sam = e.sso(LEE), e.sso(SAM)
    body = shared_body(item["id"], SUPPORT)
    for token in (lee, sam):  # both are members Tandem has seen
        assert backend.context(token, body).status_code == 200
    # Lee takes the conversation and opens Outlook's reply form.
    etag = backend.context(lee, body).json()["item"]["etag"]
    assert backend.action(lee, "claim", body, etag=etag).status_code == 200
    opened = now_iso()

    # Sam, meanwhile, answers in Outlook: warned that Lee holds it, he sends anyway.
    warn = check(backend, sam, conversation, openedAt=now_iso())
    assert warn == {"code": "held", "sentence": "Lee Gu holds this conversation."}
    outlook_reply(e, item["id"], SAM, "Refund issued today.")

    # Lee presses Send: warned, naming Sam.
    warn = check(backend, lee, conversation, openedAt=opened)
    assert warn["code"] == "replied"
    assert warn["sentence"] == "Sam Taylor replied less than a minute ago."
    outlook_reply(e, item["id"], LEE, "Adding the tracking number.")

    # The next read of the record puts both replies on the timeline, once.
    for _ in range(2):
        record = backend.context(sam, body).json()["record"]
    replies = [t for t in record["timeline"] if t["kind"] == "reply"]
    assert [(t["actor"]["name"], t["detail"]["via"]) for t in replies] == [
        ("Lee Gu", "outlook"),
        ("Sam Taylor", "outlook"),
    ]
    assert all(t["detail"]["mailbox"] == SUPPORT for t in replies)
    # Neither is warned of their own reply: Sam hears of Lee's, Lee of nothing new.
    warn = check(backend, sam, conversation, openedAt=opened)
    assert warn["sentence"] == "Lee Gu replied less than a minute ago and holds this conversation."
    assert check(backend, lee, conversation, openedAt=now_iso(2)) is None


def test_a_reply_through_tandem_is_named_from_the_timeline(world):
    e, backend = world
    item = unowned(e)
    lee, sam = e.sso(LEE), e.sso(SAM)
    body = shared_body(item["id"], SUPPORT)
    opened = now_iso()
    sent = backend.action(sam, "reply", body, comment="Done.", send=True)
    assert sent.status_code == 200, sent.text
    warn = check(backend, lee, item["conversationId"], openedAt=opened)
    assert warn == {"code": "replied", "sentence": "Sam Taylor replied less than a minute ago."}


def test_a_reply_nobody_checked_is_someone_s(world):
    e, backend = world
    item = unowned(e)
    lee = e.sso(LEE)
    opened = now_iso()
    outlook_reply(e, item["id"], SAM, "Sent without Tandem.")
    warn = check(backend, lee, item["conversationId"], openedAt=opened)
    assert warn["code"] == "replied"
    assert warn["sentence"] == (
        f"Someone replied from {SUPPORT} less than a minute ago: it was sent as the mailbox, "
        "so Tandem can't tell who."
    )


def test_no_warning_for_what_came_before_the_draft_or_one_s_own(world):
    e, backend = world
    free = [i for i in e.items(SUPPORT) if not i["categories"]]
    first = free[0]
    second = next(i for i in free if i["conversationId"] != first["conversationId"])
    lee, sam = e.sso(LEE), e.sso(SAM)
    body = shared_body(first["id"], SUPPORT)
    assert backend.action(sam, "reply", body, comment="Earlier.", send=True).status_code == 200
    assert check(backend, lee, first["conversationId"], openedAt=now_iso(2)) is None
    # Lee's own reply, after the draft opened, warns nobody: it is Lee's.
    opened = now_iso(-60)
    mine = shared_body(second["id"], SUPPORT)
    assert backend.action(lee, "reply", mine, comment="Mine.", send=True).status_code == 200
    assert check(backend, lee, second["conversationId"], openedAt=opened) is None
    assert check(backend, sam, second["conversationId"], openedAt=opened)["code"] == "replied"


def test_without_an_opening_time_the_customer_s_last_message_is_the_mark(world):
    e, backend = world
    item = unowned(e)
    lee, sam = e.sso(LEE), e.sso(SAM)
    body = shared_body(item["id"], SUPPORT)
    assert backend.action(sam, "reply", body, comment="Answered.", send=True).status_code == 200
    assert check(backend, lee, item["conversationId"])["code"] == "replied"
    # The customer writes again: Sam's answer came before it, so nothing to warn of.
    e.http.post(
        f"{e.url}/_emulator/items/{item['id']}/follow-up", json={"text": "Thanks! One more."}
    ).raise_for_status()
    assert check(backend, lee, item["conversationId"]) is None


def test_a_draft_s_record_and_presence_are_its_conversation_s(world):
    e, backend = world
    item = unowned(e)
    lee, sam = e.sso(LEE), e.sso(SAM)
    body = shared_body(item["id"], SUPPORT)
    assert backend.action(sam, "note", body, text="Customer is a reseller.").status_code == 200
    record = post(backend, "record", lee, draft_body(item["conversationId"]))
    assert record.status_code == 200, record.text
    assert [n["text"] for n in record.json()["notes"]] == ["Customer is a reseller."]
    # Lee's draft is open: Sam, on the item, sees Lee replying.
    draft = draft_body(item["conversationId"])
    drafting = post(backend, "presence", lee, {**draft, "state": "replying"})
    assert drafting.status_code == 200, drafting.text
    seen = post(backend, "presence", sam, {**body, "state": "viewing"}).json()["others"]
    assert [(o["upn"], o["state"]) for o in seen] == [(LEE, "replying")]
    gone = post(backend, "presence", lee, {**draft, "state": "gone"})
    assert gone.status_code == 200
    assert post(backend, "presence", sam, {**body, "state": "viewing"}).json()["others"] == []
    # Pressing Send ends the draft's presence too (its pane's "gone" may never arrive).
    post(backend, "presence", lee, {**draft, "state": "replying"})
    assert check(backend, lee, item["conversationId"]) is None
    assert post(backend, "presence", sam, {**body, "state": "viewing"}).json()["others"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"conversationId": "not a conversation"}, "conversationId"),
        ({"conversationId": 7}, "conversationId"),
        ({"itemType": "appointment"}, "itemType"),
        ({"openedAt": "yesterday"}, "openedAt"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_malformed_draft_is_refused(backend, emulator: EmulatorHandle, change, field):
    item = emulator.items(SUPPORT)[0]
    body = {**draft_body(item["conversationId"]), **change}
    answer = post(backend, "sendcheck", emulator.sso(LEE), body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"
    assert answer.json()["field"] == field


def test_a_conversation_not_in_the_mailbox_warns_of_nothing(backend, emulator: EmulatorHandle):
    other = next(i for i in emulator.items("sales@contoso.com") if i["conversationId"])
    assert check(backend, emulator.sso(LEE), other["conversationId"]) is None
