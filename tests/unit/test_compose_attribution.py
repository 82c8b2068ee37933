"""Who sent which reply of a conversation (mail/replies.py's `attribute`), and how the send
check says it: pure functions over Graph's listed messages, the timeline and the checks'
notes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tandem_mailbox.mail import compose, replies
from tandem_mailbox.store.record import Event, Person

MAILBOX = "support@contoso.com"
T0 = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)
LEE = Person("oid-lee", "lee@contoso.com", "Lee Gu")
SAM = Person("oid-sam", "sam@contoso.com", "Sam Taylor")
PAT = Person("oid-pat", "pat@contoso.com", "Pat Lee")


def at(seconds: float) -> dt.datetime:
    """T0 plus `seconds`."""
    return T0 + dt.timedelta(seconds=seconds)


def copy(ident: str, seconds: int, sender: str = MAILBOX) -> dict[str, Any]:
    """A copy the mailbox sent, as Graph lists it (stamped to the second)."""
    stamp = at(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": ident,
        "from": {"emailAddress": {"address": MAILBOX, "name": "Support"}},
        "sender": {"emailAddress": {"address": sender, "name": sender.split("@")[0].title()}},
        "sentDateTime": stamp,
        "isDraft": False,
    }


def note(who: Person, seconds: float, seen: tuple[str, ...] = ()) -> replies.Note:
    """A send check `who` ran at T0 + seconds, having seen these copies."""
    hashes = frozenset(replies.copy_hash(c) for c in seen)
    return replies.Note(f"{who.oid}:{seconds}", who, at(seconds), hashes)


def names(replies: list[replies.Reply]) -> list[tuple[str | None, str]]:
    """(who, via) of each reply, in order."""
    return [(r.by.name if r.by else None, r.via) for r in replies]


def test_each_copy_is_named_by_the_check_that_ran_before_it():
    copies = [copy("a", 10), copy("b", 40)]
    notes = [note(SAM, 8), note(LEE, 35, seen=("a",))]
    found = replies.attribute(copies, [], notes, [LEE, SAM], MAILBOX)
    assert names(found) == [("Sam Taylor", "outlook"), ("Lee Gu", "outlook")]
    assert [r.sent_as for r in found] == ["sendAs", "sendAs"]


def test_two_copies_of_one_second_are_told_apart_by_what_each_check_saw():
    copies = [copy("sam", 10), copy("lee", 10)]
    notes = [note(SAM, 10.2), note(LEE, 10.6, seen=("sam",))]
    found = replies.attribute(copies, [], notes, [LEE, SAM], MAILBOX)
    by_copy = {r.copy: r.by.name for r in found if r.by}
    assert by_copy == {replies.copy_hash("sam"): "Sam Taylor", replies.copy_hash("lee"): "Lee Gu"}


def test_a_check_followed_by_don_t_send_names_nothing():
    # Sam checked and chose Don't Send; Lee checked later and sent.
    found = replies.attribute([copy("x", 30)], [], [note(SAM, 5), note(LEE, 25)], [], MAILBOX)
    assert names(found) == [("Lee Gu", "outlook")]


def test_a_copy_long_after_any_check_is_someone_s():
    late = replies.CHECK_WINDOW + 60
    found = replies.attribute([copy("x", int(late))], [], [note(SAM, 0)], [], MAILBOX)
    assert names(found) == [(None, "outlook")]


def test_send_on_behalf_names_the_sender():
    found = replies.attribute([copy("x", 5, sender=PAT.upn)], [], [], [PAT], MAILBOX)
    assert names(found) == [("Pat Lee", "outlook")]
    assert found[0].sent_as == "sendOnBehalf"


def test_tandem_s_own_reply_is_its_timeline_entry():
    event = Event(1, at(3), SAM, "reply", {"outcome": "sent", "sentAs": "sendAs"})
    elsewhere = Event(2, at(50), LEE, "replyAll", {"outcome": "sent"})
    found = replies.attribute([copy("x", 4)], [event, elsewhere], [note(LEE, 1)], [], MAILBOX)
    # The copy is Sam's (Tandem sent it), not the check's; Lee's reply has no copy here.
    assert names(found) == [("Sam Taylor", "tandem"), ("Lee Gu", "tandem")]
    assert found[0].copy == replies.copy_hash("x") and found[1].copy is None


def test_a_copy_already_on_the_timeline_keeps_its_name():
    settled = Event(7, at(9), SAM, "reply", {"via": "outlook", "copy": replies.copy_hash("x")})
    found = replies.attribute([copy("x", 9)], [settled], [note(LEE, 8)], [], MAILBOX)
    assert names(found) == [("Sam Taylor", "outlook")]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "less than a minute ago"),
        (59, "less than a minute ago"),
        (60, "1 minute ago"),
        (180, "3 minutes ago"),
        (5400, "90 minutes ago"),
        (7200, "2 hours ago"),
        (86400 * 3, "3 days ago"),
    ],
)
def test_how_long_ago(seconds: int, words: str):
    assert compose.ago(dt.timedelta(seconds=seconds)) == words
