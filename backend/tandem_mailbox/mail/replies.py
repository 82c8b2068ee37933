"""Who sent which reply of a conversation, and the replies sent from Outlook on its timeline.

Tandem's own replies are on the timeline with their actor. A reply sent from Outlook's own
window is found by its copy in the mailbox: with Send on Behalf its `sender` names the person;
with Send As `sender` is the mailbox itself, so the copy is named by the send check
(mail/compose.py) that ran for it just before: each check leaves a note in the coordinator
for a day (who, when, which copies were there already); a copy nobody checked is "someone".
The next read of the conversation's record puts the copies the notes name on the timeline
(`settle`), once, with the copy's time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from tandem_mailbox.coordination import CoordinationUnavailable, LockTimeout
from tandem_mailbox.errors import ApiError
from tandem_mailbox.mail.context import ItemContext
from tandem_mailbox.mail.record import key_of
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.microsoft.mailboxes import Route
from tandem_mailbox.services import Services
from tandem_mailbox.store import StoreUnavailable
from tandem_mailbox.store.record import Event, Key, Person

log = logging.getLogger("tandem.replies")

SELECT = "id,from,sender,sentDateTime,receivedDateTime,isDraft,parentFolderId,conversationId"
LISTED = 50  # the conversation's newest messages read (Graph's default order: newest first)
# A send check answers well within Smart Alerts' five seconds (after which Outlook tells the
# person the add-in is "taking longer than expected"): Graph gets this long.
CHECK_SECONDS = 3.0
NOTE_TTL = 86400.0  # how long a send check's note waits for its copy to be seen
CHECK_WINDOW = 600.0  # a copy sent this long after a check is that check's send
TANDEM_MATCH = 120.0  # seconds between Tandem's own reply on the timeline and its copy
STAMP_SLACK = 1.0  # Exchange stamps sentDateTime to the second
REPLIES = ("reply", "replyAll")


@dataclass(frozen=True)
class Reply:
    """One answer from the mailbox: when, by whom (None: nobody Tandem can name), its copy."""

    at: dt.datetime
    by: Person | None
    copy: str | None  # a hash of the sent copy's id (never the id, nor anything of its text)
    via: str  # "tandem" (its own reply action) or "outlook" (Outlook's own window)
    sent_as: str | None = None  # "sendAs" | "sendOnBehalf"
    note: str | None = None  # the send check that named it


@dataclass(frozen=True)
class Note:
    """A send check that ran: who asked, when (its copy, if sent, follows within minutes)."""

    member: str
    by: Person
    at: dt.datetime
    seen: frozenset[str] = frozenset()  # the copies already in the mailbox when it ran


# -- the conversation, as Graph lists it for the person --------------------------------------
def listed(
    tandem: Services, caller: Caller, route: Route, conversation: str, *, top: int = LISTED
) -> list[dict[str, Any]]:
    """One Graph list query: the conversation's messages (newest first), within the check's
    time."""
    graph = tandem.graph
    params = {
        "$filter": f"conversationId eq '{conversation}'",  # the id's alphabet has no quote
        "$select": SELECT,
        "$top": str(top),
    }
    answer = graph.request(
        "GET",
        tandem.obo.graph_token(caller),
        route,
        "/messages",
        params=params,
        deadline=graph.clock() + CHECK_SECONDS,
    )
    found = answer.body.get("value")
    return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []


# -- who sent which copy ---------------------------------------------------------------------
def attribute(
    copies: list[dict[str, Any]],
    events: list[Event],
    notes: list[Note],
    members: list[Person],
    mailbox: str,
) -> list[Reply]:
    """Every reply from the mailbox Tandem knows of, each with who sent it where that can be
    told: a copy on the timeline already; Tandem's own reply; Send on Behalf's `sender`; the
    send check that ran just before it; else nobody. Tandem's replies whose copy is not in the
    mailbox (a delegate's, in their own Sent Items) are replies too."""
    noted = {str(e.detail.get("copy")): e for e in events if e.detail.get("copy")}
    own = [
        e
        for e in events
        if e.kind in REPLIES and e.detail.get("outcome") == "sent" and not e.detail.get("copy")
    ]
    used_events: set[int] = set()
    used_notes: set[str] = set()
    by_upn = {m.upn: m for m in members}
    replies: list[Reply] = []
    for message in sorted(copies, key=sent):
        at = sent(message)
        copy = copy_hash(str(message.get("id")))
        sender = address(message.get("sender"))
        event = noted.get(copy)
        if event is not None:
            used_events.add(event.id)
            via = str(event.detail.get("via") or "tandem")
            replies.append(Reply(at, event.actor, copy, via, event.detail.get("sentAs")))
            continue
        match = _nearest(own, at, used_events)
        if match is not None:
            used_events.add(match.id)
            replies.append(Reply(at, match.actor, copy, "tandem", match.detail.get("sentAs")))
            continue
        if sender and sender != mailbox:  # Send on Behalf: Exchange names the person
            who = by_upn.get(sender) or Person("", sender, _display(message.get("sender")))
            replies.append(Reply(at, who, copy, "outlook", "sendOnBehalf"))
            continue
        checked = [
            n
            for n in notes
            if n.member not in used_notes
            and copy not in n.seen
            and n.at - dt.timedelta(seconds=STAMP_SLACK) <= at
            and at <= n.at + dt.timedelta(seconds=CHECK_WINDOW)
        ]
        if checked:
            note = max(checked, key=lambda n: n.at)
            used_notes.add(note.member)
            replies.append(Reply(at, note.by, copy, "outlook", "sendAs", note.member))
        else:
            replies.append(Reply(at, None, copy, "outlook", "sendAs"))
    for event in own:
        if event.id not in used_events:
            replies.append(Reply(event.at, event.actor, None, "tandem", event.detail.get("sentAs")))
    return replies


def _nearest(events: list[Event], at: dt.datetime, used: set[int]) -> Event | None:
    """Tandem's own reply whose timeline entry is nearest the copy's time, if near enough."""
    near = [
        e for e in events if e.id not in used and abs((e.at - at).total_seconds()) <= TANDEM_MATCH
    ]
    return min(near, key=lambda e: abs((e.at - at).total_seconds()), default=None)


def copy_hash(message_id: str) -> str:
    """What the timeline keeps of a sent copy's (immutable) id: enough to know it again."""
    return hashlib.sha256(message_id.encode()).hexdigest()[:16]


def sent_copies(messages: list[dict[str, Any]], mailbox: str) -> list[dict[str, Any]]:
    """The mailbox's own sent messages of the conversation (its answers)."""
    return [
        m
        for m in messages
        if not m.get("isDraft")
        and address(m.get("from")) == mailbox
        and when(m.get("sentDateTime")) is not None
    ]


# -- the send checks' notes, and the copies they name on the timeline -------------------------
def _notes_key(route: Route, conversation: str) -> str:
    digest = hashlib.sha256(conversation.encode()).hexdigest()[:32]
    return f"sending:{route.key}:{digest}"


def leave_note(
    tandem: Services,
    route: Route,
    conversation: str,
    caller: Caller,
    now: dt.datetime,
    seen: list[str],
) -> None:
    """Leave word that the caller is sending in this conversation now, and which copies were
    there already (Exchange stamps a copy to the second: two sent within one second are told
    apart by what each check saw). Best effort."""
    at = now.timestamp()
    value = {
        "oid": caller.oid,
        "upn": caller.upn.lower(),
        "name": caller.name,
        "at": at,
        "seen": seen[:LISTED],
    }
    try:
        tandem.coordinator.announce(
            _notes_key(route, conversation), f"{caller.oid}:{at:.3f}", value, ttl=NOTE_TTL
        )
    except CoordinationUnavailable:
        log.info("a send check's note wasn't kept (coordination unavailable)")


def waiting_notes(tandem: Services, route: Route, conversation: str) -> list[Note]:
    """The send checks noted in this conversation that no copy has been matched to yet."""
    try:
        present = tandem.coordinator.present(_notes_key(route, conversation))
    except CoordinationUnavailable:
        return []
    found = []
    for member, value in present.items():
        at = number(value.get("at"))
        if at is None or not value.get("oid"):
            continue
        by = Person(str(value["oid"]), str(value.get("upn", "")), str(value.get("name", "")))
        listed = value.get("seen")
        seen = listed if isinstance(listed, list) else []
        moment = dt.datetime.fromtimestamp(at, dt.UTC)
        found.append(Note(member, by, moment, frozenset(str(c) for c in seen)))
    return found


def settle_item(tandem: Services, caller: Caller, ctx: ItemContext, item: dict[str, Any]) -> None:
    """Before an item's record is shown: the replies sent from Outlook in its conversation
    that send checks named, on the timeline (one Graph list query, only while notes wait)."""
    key = key_of(caller, ctx, item)
    if key is None:
        return
    route = tandem.graph.route(caller, ctx.target, ctx.item_id)
    settle(tandem, route, key, dataclasses.replace(ctx, item_id=""), caller=caller)


def settle(
    tandem: Services,
    route: Route,
    key: Key,
    ctx: ItemContext,
    *,
    messages: list[dict[str, Any]] | None = None,
    caller: Caller | None = None,
) -> bool:
    """Put on the timeline each copy in the mailbox sent after a waiting send check (by the
    person the check names, else "someone"), once; drop the notes that found their copy or
    waited past CHECK_WINDOW. Answers whether anything was added. Never fails the read it
    runs in: Graph, the store or the coordinator unavailable leave it for the next read."""
    notes = waiting_notes(tandem, route, key.conversation)
    if not notes:
        return False
    coordinator = tandem.coordinator
    mailbox = (ctx.target or (caller.upn if caller else "")).lower()
    try:
        with coordinator.lock(f"settle:{_notes_key(route, key.conversation)}", ttl=10, wait=0):
            if messages is None:
                assert caller is not None
                messages = listed(tandem, caller, route, key.conversation)
            events = tandem.record.timeline(key, limit=200)
            members = tandem.record.members(key.tenant, key.mailbox)
            earliest = min(n.at for n in notes) - dt.timedelta(seconds=STAMP_SLACK)
            copies = [c for c in sent_copies(messages, mailbox) if sent(c) >= earliest]
            replies = attribute(copies, events, notes, members, mailbox)
            known = {e.detail.get("copy") for e in events}
            added = False
            for reply in replies:
                if reply.via != "outlook" or reply.copy is None or reply.copy in known:
                    continue
                detail = {
                    "outcome": "sent",
                    "via": "outlook",
                    "mailbox": mailbox,
                    "sentAs": reply.sent_as,
                    "copy": reply.copy,
                }
                tandem.record.event(key, "reply", by=reply.by, detail=detail, at=reply.at)
                added = True
            _drop_settled(tandem, route, key.conversation, notes, replies)
            return added
    except (LockTimeout, CoordinationUnavailable):
        return False  # someone else is settling it now, or nobody can promise they aren't
    except (ApiError, StoreUnavailable) as error:
        log.info("replies sent from Outlook weren't put on the timeline now (%s)", error)
        return False


def _drop_settled(
    tandem: Services, route: Route, conversation: str, notes: list[Note], replies: list[Reply]
) -> None:
    """Forget the notes whose copy was found, and those that waited past CHECK_WINDOW (the
    person chose Don't Send)."""
    found = {r.note for r in replies if r.note}
    now = dt.datetime.fromtimestamp(tandem.wall(), dt.UTC)
    window = dt.timedelta(seconds=CHECK_WINDOW + STAMP_SLACK)
    key = _notes_key(route, conversation)
    for note in notes:
        if note.member in found or now - note.at > window:
            tandem.coordinator.leave(key, note.member)


# -- small readers ----------------------------------------------------------------------------
def address(value: Any) -> str:
    """A recipient's address, lower case ('' when there is none)."""
    email = value.get("emailAddress") if isinstance(value, dict) else None
    return str(email.get("address", "")).lower() if isinstance(email, dict) else ""


def _display(value: Any) -> str:
    email = value.get("emailAddress") if isinstance(value, dict) else None
    return str(email.get("name", "")) if isinstance(email, dict) else ""


def when(value: Any) -> dt.datetime | None:
    """An ISO 8601 time Graph answered, with its zone (UTC when it has none)."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def sent(message: dict[str, Any]) -> dt.datetime:
    """When a message was sent (the earliest time when Graph didn't say)."""
    return when(message.get("sentDateTime")) or dt.datetime.min.replace(tzinfo=dt.UTC)


def number(value: Any) -> float | None:
    """A number kept in a coordinator entry, or None."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
