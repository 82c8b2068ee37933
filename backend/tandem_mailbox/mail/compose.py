"""Compose: a draft of a reply in Outlook's own window, known by its conversation.

A draft open in Outlook has no id Tandem can use until it is saved (and a reply to a shared
mailbox's message, drafted where that mailbox is opened beside one's own, is saved in one's
own Drafts), so the compose pane and the OnMessageSend handler name the draft's conversation
(`item.conversationId`) and the mailbox it is sent from. Graph listing that conversation's
messages in the mailbox, as the person, is the authorization (as the context's read is for an
item) and is what the checks read: one list query (`$filter=conversationId eq '…'`, no
`$orderby`: Exchange refuses one on another property than the filter's, InefficientFilter).

Who replied, and the replies sent from Outlook on the timeline: mail/replies.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

from tandem_mailbox.config import Settings
from tandem_mailbox.coordination import CoordinationUnavailable
from tandem_mailbox.errors import InvalidRequest, ItemNotFound
from tandem_mailbox.mail import presence, replies
from tandem_mailbox.mail.context import ItemContext, parse_shared
from tandem_mailbox.mail.record import person, view
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.microsoft.mailboxes import Route, mailbox_guid
from tandem_mailbox.services import Services
from tandem_mailbox.store import StoreUnavailable
from tandem_mailbox.store.record import Event, Key, Person

log = logging.getLogger("tandem.compose")

# Graph's conversationId: base64 (Office.js hands it over as Graph has it).
CONVERSATION_ID = re.compile(r"[A-Za-z0-9+/_-]{8,510}={0,2}")
DRAFT_FIELDS = frozenset({"conversationId", "itemType", "shared"})
OPENED_LIMIT = dt.timedelta(days=7)  # an older openedAt is not believed


@dataclass(frozen=True)
class Draft:
    """A draft's conversation, and the mailbox it is sent from (`ctx.item_id` is empty)."""

    ctx: ItemContext
    conversation: str


@dataclass(frozen=True)
class Thread:
    """What Graph listed of a conversation, as the person, and where its record is."""

    route: Route
    key: Key | None  # None when no listed message told the mailbox's GUID
    messages: list[dict[str, Any]]


# -- the request ---------------------------------------------------------------------------
def is_draft(body: Any) -> bool:
    """Whether a posted body names a draft (its conversation) rather than an item."""
    return isinstance(body, dict) and "conversationId" in body and "itemId" not in body


def parse_draft(
    body: Any, settings: Settings, caller: Caller, *, extra: frozenset[str] = frozenset()
) -> Draft:
    """Validate a draft's context: `conversationId`, `itemType` (message), `shared` as for
    an item (absent: the person's own mailbox)."""
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    unknown = sorted(str(k) for k in body if k not in DRAFT_FIELDS and k not in extra)
    if unknown:
        raise InvalidRequest(f"Unknown member '{unknown[0][:64]}'.", field=unknown[0][:64])
    conversation = body.get("conversationId")
    if not isinstance(conversation, str) or not CONVERSATION_ID.fullmatch(conversation):
        raise InvalidRequest("conversationId is not a conversation id.", field="conversationId")
    if body.get("itemType", "message") != "message":
        raise InvalidRequest("A draft is a message.", field="itemType")
    target, owner, bits = parse_shared(body.get("shared"), settings, caller)
    return Draft(ItemContext("", "message", target, owner, bits), conversation)


def opened_at(body: dict[str, Any], now: dt.datetime) -> dt.datetime | None:
    """When the draft was opened, as the compose pane noted it (`openedAt`), if believable."""
    value = body.get("openedAt")
    if value is None:
        return None
    moment = replies.when(value)
    if moment is None:
        raise InvalidRequest("openedAt must be an ISO 8601 time.", field="openedAt")
    return moment if now - OPENED_LIMIT <= moment <= now + dt.timedelta(minutes=5) else None


# -- the conversation, as Graph lists it for the person ---------------------------------------
def read_thread(
    tandem: Services, caller: Caller, draft: Draft, *, top: int = replies.LISTED
) -> Thread:
    """The conversation's newest messages in the mailbox (ItemNotFound when Graph lists none:
    not this mailbox's, or not visible to the person)."""
    route = tandem.graph.route(caller, draft.ctx.target, "")
    messages = replies.listed(tandem, caller, route, draft.conversation, top=top)
    if not messages:
        raise ItemNotFound("No message of this conversation is in the mailbox for you.")
    folder = next((str(m.get("parentFolderId")) for m in messages if m.get("parentFolderId")), "")
    guid = mailbox_guid(folder) if folder else None
    if guid:
        tandem.graph.learn(route, folder)
        route = tandem.graph.route(caller, draft.ctx.target, "")
    key = Key(caller.tid, guid, draft.conversation) if guid else None
    return Thread(route, key, messages)


def record_of(tandem: Services, caller: Caller, draft: Draft) -> dict[str, Any]:
    """The conversation's record for the compose pane (read only there)."""
    thread = read_thread(tandem, caller, draft)
    if thread.key is None:
        raise InvalidRequest("Tandem can't tell which mailbox this conversation is in.")
    tandem.record.saw_member(thread.key.tenant, thread.key.mailbox, person(caller))
    replies.settle(tandem, thread.route, thread.key, draft.ctx, messages=thread.messages)
    shown = view(tandem.record, caller, thread.key)
    shown["actions"] = {}
    return shown


# -- presence of a draft --------------------------------------------------------------------
def report(tandem: Services, caller: Caller, draft: Draft, state: str) -> dict[str, Any]:
    """The caller's draft is open (`replying`) or closed (`gone`) in the conversation;
    answers the others on it. Graph lists the conversation for the person when they first
    appear and every presence.RECHECK seconds after, as for an item."""
    coordinator = tandem.coordinator
    route = tandem.graph.route(caller, draft.ctx.target, "")
    key = presence.conversation_key(route.key, draft.conversation)
    if state == "gone":
        coordinator.leave(key, caller.oid)
        return {"others": [], "ttl": presence.PRESENCE_TTL}
    now = tandem.wall()
    here = coordinator.present(key).get(caller.oid)
    verified = replies.number(here.get("verified")) if here else None
    if verified is None or not 0 <= now - verified < presence.RECHECK:
        thread = read_thread(tandem, caller, draft, top=1)
        verified = now
        key = presence.conversation_key(thread.route.key, draft.conversation)
        here = coordinator.present(key).get(caller.oid)
    since = replies.number(here.get("since")) if here and here.get("state") == state else None
    value = {
        "upn": caller.upn,
        "name": caller.name,
        "state": state,
        "since": now if since is None else since,
        "verified": verified,
    }
    coordinator.announce(key, caller.oid, value, ttl=presence.PRESENCE_TTL)
    return {"others": presence.others_at(tandem, [key], caller.oid), "ttl": presence.PRESENCE_TTL}


# -- the send check --------------------------------------------------------------------------
def sendcheck(
    tandem: Services, caller: Caller, draft: Draft, opened: dt.datetime | None
) -> dict[str, Any]:
    """Whether to warn before this draft is sent: someone else replied in the conversation
    since the draft was opened (`replied`), or holds the conversation (`held`). Reads only;
    leaves a note that the caller is sending, by which their copy is named later, and ends
    their draft's presence."""
    now = dt.datetime.fromtimestamp(tandem.wall(), dt.UTC)
    try:
        thread = read_thread(tandem, caller, draft)
    except ItemNotFound:
        return {"warn": None}  # nothing Tandem can see of this conversation here
    mailbox = (draft.ctx.target or caller.upn).lower()
    me = caller.upn.lower()
    owner: Person | None = None
    events: list[Event] = []
    members: list[Person] = []
    if thread.key is not None:
        try:
            owner = tandem.record.conversation(thread.key).assignee
            events = tandem.record.timeline(thread.key, limit=200)
            members = tandem.record.members(thread.key.tenant, thread.key.mailbox)
        except StoreUnavailable:
            log.warning("the send check went on without the team's record (store unavailable)")
    notes = replies.waiting_notes(tandem, thread.route, draft.conversation)
    # Since when: the draft's opening (Exchange stamps a copy to the second, so one of the
    # same second counts as after it), else the customer's last message (one of its second
    # counts as before it: the customer wrote after reading it).
    slack = dt.timedelta(seconds=replies.STAMP_SLACK)
    since = opened or _replying_since(tandem, thread.route, draft.conversation, caller)
    if since is not None:
        since -= slack
    else:
        wrote = _customer_wrote(thread.messages, mailbox, members)
        since = wrote + slack / 2 if wrote is not None else None
    copies = replies.sent_copies(thread.messages, mailbox)
    answers = replies.attribute(copies, events, notes, members, mailbox)
    seen = [replies.copy_hash(str(c.get("id"))) for c in copies]
    replies.leave_note(tandem, thread.route, draft.conversation, caller, now, seen)
    # Send was pressed: the draft is going (its pane's "gone" at unload may not arrive; if the
    # person chooses Don't Send, the pane's next refresh says "replying" again).
    _stop_replying(tandem, thread.route, draft.conversation, caller)
    theirs = [
        r
        for r in answers
        if since is not None and r.at >= since and (r.by is None or r.by.upn != me)
    ]
    if theirs:
        latest = max(theirs, key=lambda r: r.at)
        return {"warn": {"code": "replied", "sentence": _replied(latest, owner, mailbox, now)}}
    if owner is not None and owner.upn != me:
        return {"warn": {"code": "held", "sentence": f"{_name(owner)} holds this conversation."}}
    return {"warn": None}


def _replied(reply: replies.Reply, owner: Person | None, mailbox: str, now: dt.datetime) -> str:
    """'Sam Taylor replied 3 minutes ago.' — honest when only 'someone' is known."""
    when = ago(now - reply.at)
    if reply.by is None:
        return (
            f"Someone replied from {mailbox} {when}: it was sent as the mailbox, so Tandem "
            "can't tell who."
        )
    also = " and holds this conversation" if owner is not None and owner.oid == reply.by.oid else ""
    return f"{_name(reply.by)} replied {when}{also}."


def ago(elapsed: dt.timedelta) -> str:
    """'less than a minute ago', '1 minute ago', '3 hours ago', '2 days ago'."""
    seconds = max(0, int(elapsed.total_seconds()))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        count = seconds // size
        if count >= (2 if unit != "minute" else 1):
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "less than a minute ago"


def _customer_wrote(
    messages: list[dict[str, Any]], mailbox: str, members: list[Person]
) -> dt.datetime | None:
    """When the customer last wrote: a draft's opening, where nothing says when that was."""
    team = {m.upn for m in members} | {mailbox}
    times = [
        moment
        for m in messages
        if not m.get("isDraft") and replies.address(m.get("from")) not in team
        for moment in [replies.when(m.get("receivedDateTime"))]
        if moment is not None
    ]
    return max(times, default=None)


def _replying_since(
    tandem: Services, route: Route, conversation: str, caller: Caller
) -> dt.datetime | None:
    """When the caller's compose pane said they began this draft, while it is open."""
    try:
        here = tandem.coordinator.present(presence.conversation_key(route.key, conversation))
    except CoordinationUnavailable:
        return None
    mine = here.get(caller.oid)
    since = replies.number(mine.get("since")) if mine and mine.get("state") == "replying" else None
    return dt.datetime.fromtimestamp(since, dt.UTC) if since is not None else None


def _name(who: Person) -> str:
    return who.name or who.upn or "Someone"


def _stop_replying(tandem: Services, route: Route, conversation: str, caller: Caller) -> None:
    """The caller's draft is no longer present in the conversation (best effort)."""
    with contextlib.suppress(CoordinationUnavailable):
        tandem.coordinator.leave(presence.conversation_key(route.key, conversation), caller.oid)
