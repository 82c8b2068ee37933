"""A reply goes out once, whatever fails: Idempotency-Key replays, unknown outcomes said as
such and resolved by looking, and each double-send path of the review with its fault firing
at the emulator (deliveries counted there)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

from tests.support.api import shared_body
from tests.support.servers import EmulatorHandle

SUPPORT, ADELE = "support@contoso.com", "adele@contoso.com"


def _support_item(emulator: EmulatorHandle, n: int = 0) -> dict[str, Any]:
    return [i for i in emulator.items(SUPPORT) if i["createdBy"] == SUPPORT][n]


def _requests(emulator: EmulatorHandle, method: str, ending: str) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["method"] == method and r["path"].endswith(ending)]


def _key() -> str:
    return str(uuid.uuid4())


def _until(answer_of: Any, done: Any, seconds: float = 15) -> Any:
    """Ask again (the pane's Check again) until `done(answer)`, within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        answer = answer_of()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)  # polling: the outcome settles at the emulator's pace


def _reply(backend: Any, token: str, body: dict[str, Any], key: str | None, **fields: Any) -> Any:
    fields.setdefault("comment", "Sorted.")
    fields.setdefault("send", True)
    return backend.action(token, "reply", body, key=key, **fields)


# -- Idempotency-Key: the rules ----------------------------------------------------------------
def test_a_replay_gets_the_first_answer_and_changes_nothing(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    key = _key()
    first = _reply(backend, lee, body, key)
    assert first.status_code == 200, first.text
    before = fresh_emulator.stats()["graphRequests"]
    again = _reply(backend, lee, body, key)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert fresh_emulator.stats()["graphRequests"] == before  # not one Graph call
    assert len(fresh_emulator.deliveries()) == 1


def test_a_replay_of_a_claim_answers_what_the_claim_did(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    key = _key()
    first = backend.action(lee, "claim", body, key=key)
    again = backend.action(lee, "claim", body, key=key)
    assert first.json()["result"]["changed"] is True
    assert again.json() == first.json()  # "changed": true, as it was, not a second claim


def test_the_same_key_with_another_body_is_refused(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    key = _key()
    assert _reply(backend, lee, body, key).status_code == 200
    other = _reply(backend, lee, body, key, comment="Something else.")
    assert other.status_code == 422
    assert other.headers["Content-Type"] == "application/problem+json"
    assert other.json()["code"] == "invalid_request"
    assert other.json()["field"] == "Idempotency-Key"
    assert len(fresh_emulator.deliveries()) == 1


@pytest.mark.parametrize(
    "key", ["", "x" * 256, "clé", "tab\there"], ids=["empty", "256", "not ascii", "control"]
)
def test_a_malformed_key_is_refused_before_anything(
    make_backend, fresh_emulator: EmulatorHandle, key: str
):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    before = fresh_emulator.stats()["graphRequests"]
    answer = backend.http.post(
        f"{backend.url}/api/items/actions/reply",
        json={**body, "comment": "Hi", "send": True},
        headers={"Authorization": f"Bearer {lee}", "Idempotency-Key": key.encode("utf-8")},
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "Idempotency-Key"
    assert fresh_emulator.stats()["graphRequests"] == before


def test_without_a_key_nothing_is_deduplicated(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    assert _reply(backend, lee, body, None).status_code == 200
    assert _reply(backend, lee, body, None).status_code == 200
    assert len(fresh_emulator.deliveries()) == 2  # two submissions, two replies


def test_a_key_is_the_persons_own(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    lee, sam = fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("sam@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    key = _key()
    assert _reply(backend, lee, body, key).status_code == 200
    theirs = _reply(backend, sam, body, key)  # Sam's own submission, whatever its key
    assert theirs.status_code == 200 and "Idempotent-Replayed" not in theirs.headers
    assert len(fresh_emulator.deliveries()) == 2


def test_a_kept_refusal_is_replayed_as_it_was(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    joni = fresh_emulator.sso("joni@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    key = _key()
    first = _reply(backend, joni, body, key)
    assert first.status_code == 403
    again = _reply(backend, joni, body, key)
    assert again.status_code == 403
    assert again.json() == first.json()  # the same body, its request id included
    assert again.headers["Content-Type"] == "application/problem+json"


def test_a_failure_before_anything_was_sent_runs_afresh(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    key = _key()
    # createReply refused 503: no draft, nothing sent, so the same submission may run again.
    fresh_emulator.fault(target="graph", method="POST", path="/createReply", status=503)
    assert _reply(backend, lee, body, key).status_code == 503
    again = _reply(backend, lee, body, key)
    assert again.status_code == 200, again.text
    assert "Idempotent-Replayed" not in again.headers
    assert len(fresh_emulator.deliveries()) == 1


def test_an_unsent_draft_is_sent_by_the_retry_not_drafted_again(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    key = _key()
    # /send refused with Graph's final answer and the draft still a draft: surely not sent.
    fresh_emulator.fault(target="graph", method="POST", path="/send", status=503)
    first = _reply(backend, lee, body, key)
    assert first.status_code == 503 and "Drafts" in first.json()["detail"]
    again = _reply(backend, lee, body, key)
    assert again.status_code == 200, again.text
    assert len(_requests(fresh_emulator, "POST", "/createReply")) == 1  # the same draft
    assert len(fresh_emulator.deliveries()) == 1
    assert fresh_emulator.items(SUPPORT, "drafts") == []


# -- the review's double-send paths: one delivery each ---------------------------------------
def test_a_sent_reply_whose_reread_fails_answers_200(make_backend, fresh_emulator: EmulatorHandle):
    """a. The send went out while the item can't be read: 200, item null, audit sent (a send
    reads nothing after /send, so no failing read can turn it into a failure)."""
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    target = _support_item(fresh_emulator)
    body = shared_body(target["id"], SUPPORT)
    assert backend.context(lee, body).status_code == 200  # the pane reads the item first
    fresh_emulator.fault(
        target="graph", method="GET", path=target["id"], status=503, retryAfter=0, times=8
    )
    answer = _reply(backend, lee, body, _key())
    assert answer.status_code == 200, answer.text
    assert answer.json()["item"] is None
    assert answer.json()["result"]["sent"] is True
    failed_reads = [
        r
        for r in fresh_emulator.requests()
        if r["method"] == "GET"
        and any(i in r["path"] for i in (target["id"], target["immutableId"]))
        and r["status"] == 503
    ]
    assert failed_reads == []  # nothing read the item after the send
    assert len(fresh_emulator.deliveries()) == 1


def test_a_send_answered_503_whose_check_fails_is_unknown_then_resolved(
    make_backend, fresh_emulator: EmulatorHandle
):
    """b. Graph sent, answered 503, and the look at the draft failed too."""
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    assert backend.context(lee, body).status_code == 200  # the pane reads the item first
    key = _key()
    fresh_emulator.fault(target="graph", method="POST", path="/send", status=503, after=True)
    fresh_emulator.fault(target="graph", method="GET", status=503, retryAfter=0, times=-1)
    first = _reply(backend, lee, body, key)
    assert first.status_code == 502, first.text
    problem = first.json()
    assert problem["code"] == "send_outcome_unknown"
    assert "may or may not have gone out" in problem["detail"]
    assert "support@contoso.com's Sent Items" in problem["detail"]
    assert len(fresh_emulator.deliveries()) == 1  # it did go out
    fresh_emulator.clear_faults()
    again = _reply(backend, lee, body, key)  # Check again: Tandem looks
    assert again.status_code == 200, again.text
    assert again.json()["result"]["sent"] is True
    assert again.json()["result"]["sentAs"] == "sendAs"
    assert len(_requests(fresh_emulator, "POST", "/send")) == 1
    assert len(fresh_emulator.deliveries()) == 1


def test_a_send_slower_than_the_timeout_is_unknown_then_found_sent(
    make_backend, fresh_emulator: EmulatorHandle
):
    """c. /send answers after TANDEM_HTTP_TIMEOUT but delivers: unknown, never "not sent"."""
    backend = make_backend(fresh_emulator, TANDEM_HTTP_TIMEOUT="1")
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    key = _key()
    fresh_emulator.fault(target="graph", method="POST", path="/send", delayMs=1800)
    first = _reply(backend, lee, body, key)
    assert first.status_code == 502, first.text
    assert first.json()["code"] == "send_outcome_unknown"
    assert "may not have been sent" not in first.json()["detail"]
    resolved = _until(lambda: _reply(backend, lee, body, key), lambda a: a.status_code == 200)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["result"]["sent"] is True
    assert len(_requests(fresh_emulator, "POST", "/send")) == 1
    assert len(fresh_emulator.deliveries()) == 1


def test_a_send_cut_before_exchange_had_it_is_sent_once_after_it_settles(
    make_backend, fresh_emulator: EmulatorHandle
):
    """c'. No answer and nothing sent: unknown until it settles, then sent by the replay."""
    backend = make_backend(fresh_emulator, TANDEM_HTTP_TIMEOUT="1")
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    key = _key()
    fresh_emulator.fault(target="graph", method="POST", path="/send", reset=True)
    first = _reply(backend, lee, body, key)
    assert first.json()["code"] == "send_outcome_unknown"
    early = _reply(backend, lee, body, key)  # at once: Exchange may still be taking it
    assert early.status_code == 502 and early.json()["code"] == "send_outcome_unknown"
    assert int(early.headers["Retry-After"]) >= 1
    assert fresh_emulator.deliveries() == []
    resolved = _until(lambda: _reply(backend, lee, body, key), lambda a: a.status_code == 200)
    assert resolved.status_code == 200, resolved.text
    assert len(fresh_emulator.deliveries()) == 1
    assert len(_requests(fresh_emulator, "POST", "/createReply")) == 1


def test_a_delegates_slow_reply_ends_within_what_the_pane_waits(
    make_backend, fresh_emulator: EmulatorHandle
):
    """d. A delegate's reply through /me is six calls, each slow: the server ends in time."""
    backend = make_backend(fresh_emulator, TANDEM_HTTP_TIMEOUT="2")
    nestor = fresh_emulator.sso("nestor@contoso.com")
    target = next(i for i in fresh_emulator.items(ADELE) if i["createdBy"] == ADELE)
    body = shared_body(target["id"], ADELE, bits=63)
    context = backend.context(nestor, body).json()
    limit = context["limits"]["requestSeconds"]
    assert limit >= backend.settings.longest_request
    fresh_emulator.fault(target="graph", delayMs=900, times=-1)  # every Graph call, ~1 s
    started = time.monotonic()
    answer = _reply(backend, nestor, body, _key())
    took = time.monotonic() - started
    assert took < limit  # what the pane waits is longer still (taskpane/tests/once.test.js)
    assert took > 5 * 0.9  # it really made its calls, each slowly
    problem = answer.json() if answer.status_code != 200 else {}
    # Whatever a loaded machine makes of it, never a second copy, and never a silent failure:
    # sent (200), surely not sent (504), or said to be unknown (502).
    assert answer.status_code in (200, 502, 504), answer.text
    assert len(fresh_emulator.deliveries()) <= 1
    if answer.status_code == 200:
        assert answer.json()["result"]["route"] == "me"
        assert len(fresh_emulator.deliveries()) == 1
    elif answer.status_code == 502:
        assert problem["code"] == "send_outcome_unknown"
    else:
        assert fresh_emulator.deliveries() == []


@pytest.mark.parametrize("check_fails", [False, True], ids=["looked", "look failed"])
def test_a_meeting_response_answered_503_is_made_once(
    make_backend, fresh_emulator: EmulatorHandle, check_fails: bool
):
    """e. Graph recorded the response and answered 503."""
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    meeting = next(
        i for i in fresh_emulator.items(SUPPORT, "calendar") if i["subject"] == "Customer call"
    )
    body = shared_body(meeting["id"], SUPPORT, itemType="appointment")
    assert backend.context(lee, body).status_code == 200  # the pane reads the item first
    key = _key()
    fresh_emulator.fault(target="graph", method="POST", path="/accept", status=503, after=True)
    if check_fails:
        fresh_emulator.fault(target="graph", method="GET", status=503, retryAfter=0, times=-1)
    first = backend.action(lee, "respond", body, key=key, response="accept")
    if check_fails:
        assert first.status_code == 502 and first.json()["code"] == "send_outcome_unknown"
        fresh_emulator.clear_faults()
    else:
        assert first.status_code == 200, first.text
    again = backend.action(lee, "respond", body, key=key, response="accept")
    assert again.status_code == 200, again.text
    assert again.json()["result"] == {"response": "accept", "sent": True}
    assert len(_requests(fresh_emulator, "POST", "/accept")) == 1
    assert len(fresh_emulator.deliveries()) == 1
    assert fresh_emulator.item(meeting["id"])["item"]["responseStatus"]["response"] == "accepted"


# -- what the person typed arrives as they typed it --------------------------------------------
TYPED = 'Hi <b>there</b>\n<img src="https://evil.example/x.png">\nThanks & bye'
SHOWN = (
    'Hi &lt;b&gt;there&lt;/b&gt;<br>&lt;img src="https://evil.example/x.png"&gt;<br>'
    "Thanks &amp; bye"
)


@pytest.mark.parametrize(
    ("user", "mailbox", "route"),
    [("lee@contoso.com", SUPPORT, "mailbox"), ("nestor@contoso.com", ADELE, "me")],
    ids=["mailbox route", "me route"],
)
def test_a_comment_is_sent_as_typed_on_either_route(
    make_backend, fresh_emulator: EmulatorHandle, user: str, mailbox: str, route: str
):
    backend = make_backend(fresh_emulator)
    token = fresh_emulator.sso(user)
    target = next(i for i in fresh_emulator.items(mailbox) if i["createdBy"] == mailbox)
    answer = _reply(backend, token, shared_body(target["id"], mailbox), _key(), comment=TYPED)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["route"] == route
    [delivery] = fresh_emulator.deliveries()
    body = fresh_emulator.item(delivery["sentCopy"])["item"]["body"]
    assert body["contentType"] == "html"
    assert SHOWN in body["content"]  # line breaks kept, nothing of theirs interpreted
    assert "<img" not in body["content"] and "<b>there" not in body["content"]


# -- the audit line: nothing from the URL verbatim ---------------------------------------------
def test_an_action_name_from_the_url_cannot_forge_a_text_log_line(
    make_backend, fresh_emulator: EmulatorHandle
):
    import io
    import logging

    from tandem_mailbox import logs

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.TextLines())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        backend = make_backend(fresh_emulator)
        lee = fresh_emulator.sso("lee@contoso.com")
        body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
        forged = "claim%0A2026-12-06 09:00:00,000 INFO tandem.audit: audit action claim ok"
        answer = backend.http.post(
            f"{backend.url}/api/items/actions/{forged}",
            json=body,
            headers={"Authorization": f"Bearer {lee}"},
        )
    finally:
        root.removeHandler(handler)
    assert answer.status_code == 400
    lines = stream.getvalue().splitlines()
    assert lines and all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line) for line in lines)
    audited = [line for line in lines if line.split(" ", 4)[3] == "tandem.audit:"]
    assert audited and all("audit action unknown invalid_request" in line for line in audited)
