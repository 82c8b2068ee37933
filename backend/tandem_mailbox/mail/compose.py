"""Compose: a draft of a reply in Outlook's own window, known by its conversation.

A draft open in Outlook has no id Tandem can use until it is saved (and a reply to a shared
mailbox's message, drafted where that mailbox is opened beside one's own, is saved in one's
own Drafts), so the compose pane and the OnMessageSend handler name the draft's conversation
(`item.conversationId`) and the mailbox it is sent from. Graph listing that conversation's
messages in the mailbox, as the person, is the authorization (as the context's read is for an
item) and is what the checks read: one list query (`$filter=conversationId eq '…'`, no
`$orderby`: Exchange refuses one on another property than the filter's, InefficientFilter).

Who replied: Tandem's own replies are on the timeline with their actor. A reply sent from
Outlook's own window is found by its copy in the mailbox: with Send on Behalf its `sender`
names the person; with Send As `sender` is the mailbox itself, so the copy is named by the
send check that ran for it just before (each check leaves a "sending" note in the coordinator
for a day); a copy nobody checked is "someone". The send check only reads (Graph, the
record) and leaves its note; the next read of the conversation's record puts the copies the
notes name on the timeline (`settle`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from tandem_mailbox.config import Settings
from tandem_mailbox.coordination import CoordinationUnavailable, LockTimeout
from tandem_mailbox.errors import ApiError, InvalidRequest, ItemNotFound
from tandem_mailbox.mail import presence
from tandem_mailbox.mail.context import ItemContext, parse_shared
from tandem_mailbox.mail.record import key_of, person, view
from tandem_mailbox.microsoft.graph import Route, mailbox_guid
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.services import Services
from tandem_mailbox.store import StoreUnavailable
from tandem_mailbox.store.record import Event, Key, Person

log = logging.getLogger("tandem.compose")

# Graph's conversationId: base64 (Office.js hands it over as Graph has it).
CONVERSATION_ID = re.compile(r"[A-Za-z0-9+/_-]{8,510}={0,2}")
DRAFT_FIELDS = frozenset({"conversationId", "itemType", "shared"})
SELECT = "id,from,sender,sentDateTime,receivedDateTime,isDraft,parentFolderId,conversationId"
LISTED = 50  # the conversation's newest messages read (Graph's default order: newest first)
# The send check answers well within Smart Alerts' five seconds (after which Outlook tells
# the person the add-in is "taking longer than expected"): Graph gets this long.
CHECK_SECONDS = 3.0
NOTE_TTL = 86400.0  # how long a send check's note waits for its copy to be seen
CHECK_WINDOW = 600.0  # a copy sent this long after a check is that check's send
TANDEM_MATCH = 120.0  # seconds between Tandem's own reply on the timeline and its copy
STAMP_SLACK = 1.0  # Exchange stamps sentDateTime to the second
OPENED_LIMIT = dt.timedelta(days=7)  # an older openedAt is not believed
REPLIES = ("reply", "replyAll")


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
    moment = _when(value)
    if moment is None:
        raise InvalidRequest("openedAt must be an ISO 8601 time.", field="openedAt")
    return moment if now - OPENED_LIMIT <= moment <= now + dt.timedelta(minutes=5) else None


# -- the conversation, as Graph lists it for the person ---------------------------------------
def read_thread(tandem: Services, caller: Caller, draft: Draft, *, top: int = LISTED) -> Thread:
    """The conversation's newest messages in the mailbox (ItemNotFound when Graph lists none:
    not this mailbox's, or not visible to the person)."""
    route = tandem.graph.route(caller, draft.ctx.target, "")
    messages = _listed(tandem, caller, route, draft.conversation, top=top)
    if not messages:
        raise ItemNotFound("No message of this conversation is in the mailbox for you.")
    folder = next((str(m.get("parentFolderId")) for m in messages if m.get("parentFolderId")), "")
    guid = mailbox_guid(folder) if folder else None
    if guid:
        tandem.graph.learn(route, folder)
        route = tandem.graph.route(caller, draft.ctx.target, "")
    key = Key(caller.tid, guid, draft.conversation) if guid else None
    return Thread(route, key, messages)


def _listed(
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


def record_of(tandem: Services, caller: Caller, draft: Draft) -> dict[str, Any]:
    """The conversation's record for the compose pane (read only there)."""
    thread = read_thread(tandem, caller, draft)
    if thread.key is None:
        raise InvalidRequest("Tandem can't tell which mailbox this conversation is in.")
    tandem.record.saw_member(thread.key.tenant, thread.key.mailbox, person(caller))
    settle(tandem, thread.route, thread.key, draft.ctx, messages=thread.messages)
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
    verified = _number(here.get("verified")) if here else None
    if verified is None or not 0 <= now - verified < presence.RECHECK:
        thread = read_thread(tandem, caller, draft, top=1)
        verified = now
        key = presence.conversation_key(thread.route.key, draft.conversation)
        here = coordinator.present(key).get(caller.oid)
    since = _number(here.get("since")) if here and here.get("state") == state else None
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
    notes = _notes(tandem, thread.route, draft.conversation)
    # Since when: the draft's opening (Exchange stamps a copy to the second, so one of the
    # same second counts as after it), else the customer's last message (one of its second
    # counts as before it: the customer wrote after reading it).
    slack = dt.timedelta(seconds=STAMP_SLACK)
    since = opened or _replying_since(tandem, thread.route, draft.conversation, caller)
    if since is not None:
        since -= slack
    else:
        wrote = _customer_wrote(thread.messages, mailbox, members)
        since = wrote + slack / 2 if wrote is not None else None
    copies = _copies(thread.messages, mailbox)
    replies = attribute(copies, events, notes, members, mailbox)
    seen = [copy_hash(str(c.get("id"))) for c in copies]
    _note(tandem, thread.route, draft.conversation, caller, now, seen)
    # Send was pressed: the draft is going (its pane's "gone" at unload may not arrive; if the
    # person chooses Don't Send, the pane's next refresh says "replying" again).
    _stop_replying(tandem, thread.route, draft.conversation, caller)
    theirs = [
        r
        for r in replies
        if since is not None and r.at >= since and (r.by is None or r.by.upn != me)
    ]
    if theirs:
        latest = max(theirs, key=lambda r: r.at)
        return {"warn": {"code": "replied", "sentence": _replied(latest, owner, mailbox, now)}}
    if owner is not None and owner.upn != me:
        return {"warn": {"code": "held", "sentence": f"{_name(owner)} holds this conversation."}}
    return {"warn": None}


def _replied(reply: Reply, owner: Person | None, mailbox: str, now: dt.datetime) -> str:
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
    for message in sorted(copies, key=_sent):
        at = _sent(message)
        copy = copy_hash(str(message.get("id")))
        sender = _address(message.get("sender"))
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


def _copies(messages: list[dict[str, Any]], mailbox: str) -> list[dict[str, Any]]:
    """The mailbox's own sent messages of the conversation (its answers)."""
    return [
        m
        for m in messages
        if not m.get("isDraft")
        and _address(m.get("from")) == mailbox
        and _when(m.get("sentDateTime")) is not None
    ]


def _customer_wrote(
    messages: list[dict[str, Any]], mailbox: str, members: list[Person]
) -> dt.datetime | None:
    """When the customer last wrote: a draft's opening, where nothing says when that was."""
    team = {m.upn for m in members} | {mailbox}
    times = [
        moment
        for m in messages
        if not m.get("isDraft") and _address(m.get("from")) not in team
        for moment in [_when(m.get("receivedDateTime"))]
        if moment is not None
    ]
    return max(times, default=None)


# -- the send checks' notes, and the copies they name on the timeline -------------------------
def _notes_key(route: Route, conversation: str) -> str:
    digest = hashlib.sha256(conversation.encode()).hexdigest()[:32]
    return f"sending:{route.key}:{digest}"


def _note(
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


def _notes(tandem: Services, route: Route, conversation: str) -> list[Note]:
    """The send checks noted in this conversation that no copy has been matched to yet."""
    try:
        present = tandem.coordinator.present(_notes_key(route, conversation))
    except CoordinationUnavailable:
        return []
    found = []
    for member, value in present.items():
        at = _number(value.get("at"))
        if at is None or not value.get("oid"):
            continue
        by = Person(str(value["oid"]), str(value.get("upn", "")), str(value.get("name", "")))
        listed = value.get("seen")
        seen = listed if isinstance(listed, list) else []
        moment = dt.datetime.fromtimestamp(at, dt.UTC)
        found.append(Note(member, by, moment, frozenset(str(c) for c in seen)))
    return found


def _replying_since(
    tandem: Services, route: Route, conversation: str, caller: Caller
) -> dt.datetime | None:
    """When the caller's compose pane said they began this draft, while it is open."""
    try:
        here = tandem.coordinator.present(presence.conversation_key(route.key, conversation))
    except CoordinationUnavailable:
        return None
    mine = here.get(caller.oid)
    since = _number(mine.get("since")) if mine and mine.get("state") == "replying" else None
    return dt.datetime.fromtimestamp(since, dt.UTC) if since is not None else None


def _stop_replying(tandem: Services, route: Route, conversation: str, caller: Caller) -> None:
    """The caller's draft is no longer present in the conversation (best effort)."""
    with contextlib.suppress(CoordinationUnavailable):
        tandem.coordinator.leave(presence.conversation_key(route.key, conversation), caller.oid)


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
    notes = _notes(tandem, route, key.conversation)
    if not notes:
        return False
    coordinator = tandem.coordinator
    mailbox = (ctx.target or (caller.upn if caller else "")).lower()
    try:
        with coordinator.lock(f"settle:{_notes_key(route, key.conversation)}", ttl=10, wait=0):
            if messages is None:
                assert caller is not None
                messages = _listed(tandem, caller, route, key.conversation)
            events = tandem.record.timeline(key, limit=200)
            members = tandem.record.members(key.tenant, key.mailbox)
            earliest = min(n.at for n in notes) - dt.timedelta(seconds=STAMP_SLACK)
            copies = [c for c in _copies(messages, mailbox) if _sent(c) >= earliest]
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
def _address(value: Any) -> str:
    email = value.get("emailAddress") if isinstance(value, dict) else None
    return str(email.get("address", "")).lower() if isinstance(email, dict) else ""


def _display(value: Any) -> str:
    email = value.get("emailAddress") if isinstance(value, dict) else None
    return str(email.get("name", "")) if isinstance(email, dict) else ""


def _name(who: Person) -> str:
    return who.name or who.upn or "Someone"


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _sent(message: dict[str, Any]) -> dt.datetime:
    return _when(message.get("sentDateTime")) or dt.datetime.min.replace(tzinfo=dt.UTC)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
