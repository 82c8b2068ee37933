"""No lost update, no double send, and nothing written on bad input (issue "Act on shared items").

The emulator's write history is the witness: every change Exchange made to an item, with who
made it and the categories before and after.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tandem_mailbox import logs
from tests.support import lanes
from tests.support.api import shared_body
from tests.support.servers import BackendHandle, EmulatorHandle

SUPPORT = "support@contoso.com"
LEE_CLAIM = "Tandem: Lee Gu (lee@contoso.com)"
SAM_CLAIM = "Tandem: Sam Taylor (sam@contoso.com)"


def _support_item(emulator: EmulatorHandle, n: int = 0) -> dict[str, Any]:
    return [i for i in emulator.items(SUPPORT) if i["createdBy"] == SUPPORT][n]


def _categories_over_time(emulator: EmulatorHandle, item_id: str) -> list[dict[str, Any]]:
    return [h for h in emulator.item(item_id)["history"] if "categories" in h["fields"]]


def assert_no_lost_update(emulator: EmulatorHandle, item_id: str) -> None:
    """Each change of the categories started from what the previous change left."""
    changes = _categories_over_time(emulator, item_id)
    for before, after in itertools.pairwise(changes):
        assert after["fields"]["categories"]["old"] == before["fields"]["categories"]["new"], (
            before,
            after,
        )
    for change in changes:
        claims = [c for c in change["fields"]["categories"]["new"] if c.startswith("Tandem:")]
        assert len(claims) <= 1, change


# -- claims never silently change hands ------------------------------------------------------
def test_two_people_claiming_one_item_at_once_exactly_one_wins(
    make_backend, fresh_emulator: EmulatorHandle
):
    fresh_emulator.settings(ifMatch="ignore")  # the lock alone must prevent a lost update
    backend = make_backend(fresh_emulator)
    people = {
        "lee@contoso.com": fresh_emulator.sso("lee@contoso.com"),
        "sam@contoso.com": fresh_emulator.sso("sam@contoso.com"),
    }
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    assert backend.context(people["lee@contoso.com"], body).status_code == 200
    assert backend.context(people["sam@contoso.com"], body).status_code == 200
    wins = {upn: 0 for upn in people}
    rounds = lanes.rounds(100)  # a quarter of them in the fast lane
    with ThreadPoolExecutor(max_workers=16) as pool:
        for _ in range(rounds):
            start = threading.Barrier(16)

            def claim(upn: str, start: threading.Barrier = start) -> tuple[str, Any]:
                start.wait()
                return upn, backend.action(people[upn], "claim", body)

            answers = list(pool.map(claim, [upn for upn in people for _ in range(8)]))
            winners = {
                upn
                for upn, a in answers
                if a.status_code == 200 and a.json()["result"]["holder"]["upn"] == upn
            }
            assert len(winners) == 1, [(u, a.status_code, a.text) for u, a in answers]
            [winner] = winners
            wins[winner] += 1
            for upn, answer in answers:
                if upn == winner:
                    assert answer.status_code == 200
                else:
                    assert answer.status_code == 409, answer.text
                    assert answer.json()["holder"]["upn"] == winner
            changed = [
                a for u, a in answers if a.status_code == 200 and a.json()["result"]["changed"]
            ]
            assert len(changed) == 1  # one write; the winner's other requests found its claim
            released = backend.action(people[winner], "release", body)
            assert released.status_code == 200 and released.json()["result"]["changed"]
    assert_no_lost_update(fresh_emulator, body["itemId"])
    changes = _categories_over_time(fresh_emulator, body["itemId"])
    assert len(changes) == 2 * rounds  # a claim and a release each round
    assert sum(wins.values()) == rounds


def test_release_is_for_the_holder_or_the_mailboxs_owner(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee, sam = fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("sam@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    assert backend.action(lee, "claim", body).status_code == 200
    again = backend.action(lee, "claim", body)
    assert again.status_code == 200 and again.json()["result"]["changed"] is False
    refused = backend.action(sam, "release", body)
    assert refused.status_code == 409
    assert refused.json()["holder"] == {"upn": "lee@contoso.com", "name": "Lee Gu"}
    assert LEE_CLAIM in fresh_emulator.item(body["itemId"])["item"]["categories"]
    released = backend.action(lee, "release", body)
    assert released.json()["result"]["released"]["upn"] == "lee@contoso.com"
    nothing = backend.action(sam, "release", body)
    assert nothing.status_code == 200 and nothing.json()["result"]["changed"] is False

    # Adele owns her mailbox: she may release Nestor's claim on her item (the token says who
    # she is; the body's shared properties are not what decides it).
    adele, nestor = (
        fresh_emulator.sso("adele@contoso.com"),
        fresh_emulator.sso("nestor@contoso.com"),
    )
    mine = next(
        i for i in fresh_emulator.items("adele@contoso.com") if i["createdBy"].startswith("adele")
    )
    assert backend.action(nestor, "claim", shared_body(mine["id"], "adele@contoso.com")).ok
    freed = backend.action(adele, "release", {"itemId": mine["id"], "itemType": "message"})
    assert freed.status_code == 200, freed.text
    assert freed.json()["result"]["released"]["upn"] == "nestor@contoso.com"
    assert fresh_emulator.item(mine["id"])["item"]["categories"] == []


def test_a_claim_survives_everyone_elses_categorize(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    lee, sam = fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("sam@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    assert backend.action(lee, "claim", body).status_code == 200
    assert backend.action(sam, "categorize", body, add=["Billing", "VIP"]).status_code == 200
    assert backend.action(sam, "categorize", body, remove=["Billing"]).status_code == 200
    refused = backend.action(sam, "categorize", body, remove=[LEE_CLAIM])
    assert refused.status_code == 400 and refused.json()["field"] == "remove[0]"
    assert backend.action(sam, "categorize", body, add=["Later"], remove=["VIP"]).ok
    assert fresh_emulator.item(body["itemId"])["item"]["categories"] == [LEE_CLAIM, "Later"]
    assert_no_lost_update(fresh_emulator, body["itemId"])


# -- the etag the pane saw, and changes made in Outlook meanwhile ------------------------------
def test_a_stale_etag_is_a_conflict_and_nothing_is_written(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    seen = backend.context(lee, body).json()["item"]["etag"]
    fresh_emulator.change(body["itemId"], by="sam@contoso.com", flag="flagged")  # in Outlook
    history = len(fresh_emulator.item(body["itemId"])["history"])
    answer = backend.action(lee, "categorize", body, etag=seen, add=["Billing"])
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["etag"] != seen and problem["item"]["flag"] == "flagged"
    assert problem.get("holder") is None
    assert len(fresh_emulator.item(body["itemId"])["history"]) == history
    fresh = backend.action(lee, "categorize", body, etag=problem["etag"], add=["Billing"])
    assert fresh.status_code == 200 and fresh.json()["item"]["flag"] == "flagged"


def test_a_change_in_outlook_between_read_and_write_is_kept(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    fresh_emulator.fault(
        target="graph",
        method="PATCH",
        path=body["itemId"],
        outsideChange={"by": "sam@contoso.com", "categories": ["Added in Outlook"]},
    )
    answer = backend.action(lee, "claim", body)
    assert answer.status_code == 200, answer.text
    state = fresh_emulator.item(body["itemId"])
    assert state["item"]["categories"] == ["Added in Outlook", LEE_CLAIM]
    writes = [h for h in state["history"] if h["operation"] != "create"]
    assert [h["by"] for h in writes][-2:] == ["sam@contoso.com", "lee@contoso.com"]
    assert_no_lost_update(fresh_emulator, body["itemId"])


def test_an_item_that_keeps_changing_is_a_conflict_after_one_retry(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    for n in range(2):
        fresh_emulator.fault(
            target="graph",
            method="PATCH",
            path=body["itemId"],
            outsideChange={"by": "sam@contoso.com", "categories": [f"Outlook {n}"]},
        )
    answer = backend.action(lee, "flag", body, flag="flagged")
    assert answer.status_code == 409
    assert answer.json()["item"]["categories"] == ["Outlook 1"]
    state = fresh_emulator.item(body["itemId"])
    assert state["item"]["flag"]["flagStatus"] == "notFlagged"
    assert not [h for h in state["history"] if h["by"] == "lee@contoso.com"]


# -- retries: safe ones only, and never a second send ------------------------------------------
def test_a_write_waits_out_a_mailbox_at_429(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    fresh_emulator.fault(target="graph", method="PATCH", status=429, retryAfter=1, times=2)
    answer = backend.action(lee, "flag", body, flag="flagged")
    assert answer.status_code == 200, answer.text
    patches = [r for r in fresh_emulator.requests() if r["method"] == "PATCH"]
    assert [r["status"] for r in patches] == [429, 429, 200]
    writes = [h for h in fresh_emulator.item(body["itemId"])["history"] if h["by"]]
    assert len(writes) == 1


def _sends(emulator: EmulatorHandle) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["method"] == "POST" and r["path"].endswith("/send")]


def test_a_reply_answered_503_after_sending_is_delivered_once(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    fresh_emulator.fault(target="graph", method="POST", path="/send", status=503, after=True)
    answer = backend.action(lee, "reply", body, comment="Sorted.", send=True)
    assert answer.status_code == 200, answer.text  # the draft is gone: it was sent
    assert answer.json()["result"]["sent"] is True
    assert len(fresh_emulator.deliveries()) == 1
    assert len(_sends(fresh_emulator)) == 1


def test_a_reply_refused_503_before_sending_is_not_sent_nor_retried(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    fresh_emulator.fault(target="graph", method="POST", path="/send", status=503)
    answer = backend.action(lee, "reply", body, comment="Sorted.", send=True)
    assert answer.status_code == 503
    assert "Drafts" in answer.json()["detail"]
    assert fresh_emulator.deliveries() == []
    assert len(_sends(fresh_emulator)) == 1
    drafts = fresh_emulator.items(SUPPORT, "drafts")
    assert [d["subject"] for d in drafts] == ["RE: " + _support_item(fresh_emulator)["subject"]]


def test_a_send_answered_429_is_retried_and_delivered_once(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    fresh_emulator.fault(target="graph", method="POST", path="/send", status=429, retryAfter=0)
    answer = backend.action(lee, "forward", body, toRecipients=["kenji@litware.com"], send=True)
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in _sends(fresh_emulator)] == [429, 202]
    assert len(fresh_emulator.deliveries()) == 1


# -- hostile input: a clear problem naming the field, and nothing sent anywhere ---------------
ITEM = "AAMkADQxNmU5OWIwLWUxM2UtNDEzZS1iZGFhLWVhMDBhMDFkNjE2ZgBGAAD-6rbIfRYM4WYcuJj1Wbdj"
HOSTILE: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("categorize", "nothing to do", {}, "add"),
    ("categorize", "add not a list", {"add": "Billing"}, "add"),
    ("categorize", "a number", {"add": [7]}, "add[0]"),
    ("categorize", "an empty name", {"add": [" "]}, "add[0]"),
    ("categorize", "a comma", {"add": ["Billing, VIP"]}, "add[0]"),
    ("categorize", "a newline", {"add": ["Billing\nVIP"]}, "add[0]"),
    ("categorize", "256 characters", {"add": ["x" * 256]}, "add[0]"),
    ("categorize", "26 names", {"add": [f"c{n}" for n in range(26)]}, "add"),
    (
        "categorize",
        "a claim through categorize",
        {"add": ["Tandem: Me (me@contoso.com)"]},
        "add[0]",
    ),
    (
        "categorize",
        "removing a claim",
        {"remove": ["tandem: Lee Gu (lee@contoso.com)"]},
        "remove[0]",
    ),
    ("categorize", "added and removed", {"add": ["A"], "remove": ["a"]}, "remove"),
    # Issue 15, defect 11: names that Outlook shows as a claim, or as something they don't hold.
    ("categorize", "a zero-width space first", {"add": ["\u200b" + LEE_CLAIM]}, "add[0]"),
    ("categorize", "a byte order mark first", {"add": ["\ufeff" + LEE_CLAIM]}, "add[0]"),
    ("categorize", "a right-to-left override", {"add": ["\u202eUrgent"]}, "add[0]"),
    ("categorize", "a zero-width joiner inside", {"add": ["Ur\u200dgent"]}, "add[0]"),
    ("categorize", "a line separator", {"add": ["Billing\u2028VIP"]}, "add[0]"),
    ("categorize", "a C1 control", {"add": ["Billing\x85"]}, "add[0]"),
    ("categorize", "a Hangul filler", {"add": ["\u3164" + LEE_CLAIM]}, "add[0]"),
    ("categorize", "a Cyrillic Т", {"add": ["\u0422" + LEE_CLAIM[1:]]}, "add[0]"),
    ("categorize", "a fullwidth Ｔ", {"add": ["\uff34" + LEE_CLAIM[1:]]}, "add[0]"),
    ("categorize", "a mathematical T", {"add": ["\U0001d413" + LEE_CLAIM[1:]]}, "add[0]"),
    (
        "categorize",
        "Greek and Cyrillic letters with a ratio sign",
        {"add": ["Urgent", "\u03a4\u0430nd\u0435m\u2236 Sam Taylor (sam@contoso.com)"]},
        "add[1]",
    ),
    ("categorize", "an accent", {"add": ["T\u00e0ndem: Lee Gu (lee@contoso.com)"]}, "add[0]"),
    ("categorize", "rn for m", {"add": ["Tandern: Lee Gu (lee@contoso.com)"]}, "add[0]"),
    ("categorize", "a space before the colon", {"add": ["Tandem : Lee Gu"]}, "add[0]"),
    ("flag", "no flag", {}, "flag"),
    ("flag", "an unknown flag", {"flag": "urgent"}, "flag"),
    ("move", "no folder", {}, "folder"),
    ("move", "a folder object", {"folder": {"id": "x"}}, "folder"),
    ("move", "eleven levels", {"folder": "/".join("a" * 11)}, "folder"),
    ("move", "an empty level", {"folder": "Inbox//Escalations"}, "folder"),
    ("move", "a control character", {"folder": "Inbox\x00"}, "folder"),
    ("reply", "send as a string", {"send": "true"}, "send"),
    ("reply", "a comment too long", {"comment": "x" * 32_001}, "comment"),
    ("reply", "recipients on a reply", {"toRecipients": ["a@contoso.com"]}, "toRecipients"),
    ("forward", "no recipients", {"toRecipients": []}, "toRecipients"),
    ("forward", "not an address", {"toRecipients": ["lee"]}, "toRecipients[0]"),
    (
        "forward",
        "a header injection",
        {"toRecipients": ["a@b.com\r\nBcc: x@y.com"]},
        "toRecipients[0]",
    ),
    (
        "forward",
        "51 recipients",
        {"toRecipients": [f"p{n}@adatum.com" for n in range(51)]},
        "toRecipients",
    ),
    ("claim", "a field it doesn't take", {"holder": "lee@contoso.com"}, "holder"),
    ("claim", "an etag that's an object", {"etag": {"W": 1}}, "etag"),
    ("nuke", "an action that doesn't exist", {}, "action"),
    ("respond", "a message", {"response": "accept"}, "itemType"),
]


@pytest.mark.parametrize(
    ("action", "fields", "field"),
    [(a, f, fld) for a, _, f, fld in HOSTILE],
    ids=[name for _, name, _, _ in HOSTILE],
)
def test_hostile_action_fields_are_refused_before_anything_is_sent(
    backend: BackendHandle,
    emulator: EmulatorHandle,
    action: str,
    fields: dict[str, Any],
    field: str,
):
    token = emulator.sso("lee@contoso.com")
    before = emulator.stats()
    answer = backend.action(token, action, shared_body(ITEM, SUPPORT), **fields)
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "invalid_request" and problem["field"] == field
    after = emulator.stats()
    assert after["graphRequests"] == before["graphRequests"]
    assert after["tokenRequests"] == before["tokenRequests"]


# -- the audit trail ---------------------------------------------------------------------------
def test_every_action_leaves_one_json_audit_line_without_token_or_comment(
    make_backend, fresh_emulator: EmulatorHandle
):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    logger = logging.getLogger("tandem.audit")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        backend = make_backend(fresh_emulator)
        lee = fresh_emulator.sso("lee@contoso.com")
        body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
        secret_comment = "The customer's PIN is 4471"
        assert backend.action(lee, "claim", body).ok
        assert backend.action(lee, "reply", body, comment=secret_comment, send=True).ok
        assert backend.action(lee, "flag", body, flag="nope").status_code == 400
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["action"], line["outcome"]) for line in lines] == [
        ("claim", "ok"),
        ("reply", "sending"),  # the intent, written before Graph is asked to send
        ("reply", "ok"),
        ("flag", "invalid_request"),
    ]
    for line in lines:
        assert line["event"] == "action"
        assert line["person"]["upn"] == "lee@contoso.com" and line["person"]["oid"]
        assert line.get("durationMs", 0) >= 0
    assert lines[0]["mailbox"] == SUPPORT and len(lines[0]["item"]) == 16
    assert lines[1]["send"] == {"outcome": "sending", "route": "mailbox", "recipients": 1}
    # Sent, by which route, as whom, to how many: never to whom.
    assert lines[2]["send"] == {
        "outcome": "sent",
        "route": "mailbox",
        "sentAs": "sendAs",
        "recipients": 1,
    }
    assert lines[2]["graphRequestIds"]  # Graph's request-ids, for a ticket with Microsoft
    text = stream.getvalue()
    assert secret_comment not in text and "4471" not in text
    assert lee not in text and "eyJ" not in text
    assert body["itemId"] not in text


def test_a_stale_pane_claiming_a_claimed_item_hears_who_holds_it(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee, sam = fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("sam@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    seen = backend.context(sam, body).json()["item"]["etag"]
    claimed = backend.action(lee, "claim", body)
    assert claimed.json()["actions"]["release"]["allowed"] is True  # the answer says what's next
    answer = backend.action(sam, "claim", body, etag=seen)
    assert answer.status_code == 409
    assert answer.json()["holder"] == {"upn": "lee@contoso.com", "name": "Lee Gu"}
    assert "Lee Gu" in answer.json()["detail"]


def test_a_delegate_replying_to_their_own_message_sends_it_back_to_them(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    nestor = fresh_emulator.sso("nestor@contoso.com")
    own = next(
        i
        for i in fresh_emulator.items("adele@contoso.com")
        if i["createdBy"] == "nestor@contoso.com"
    )
    answer = backend.action(
        nestor, "reply", shared_body(own["id"], "adele@contoso.com"), comment="Note", send=True
    )
    assert answer.status_code == 200, answer.text
    [delivery] = fresh_emulator.deliveries()
    assert delivery["to"] == ["nestor@contoso.com"]


def test_respond_is_not_offered_on_a_meeting_the_mailbox_organizes(
    backend: BackendHandle, emulator: EmulatorHandle
):
    prep = next(
        i
        for i in emulator.items("adele@contoso.com", "calendar")
        if i["subject"] == "Board meeting prep"
    )
    body = shared_body(prep["id"], "adele@contoso.com", itemType="appointment")
    context = backend.context(emulator.sso("nestor@contoso.com"), body).json()
    assert context["actions"]["respond"]["allowed"] is False
    assert "organizes the meeting" in context["actions"]["respond"]["reason"]
