"""The team's queue: the mailbox's conversations as work — what is open, whose, waiting on the
customer, and late against the mailbox's first-response target — and "take the next one".

The queue is Exchange's view joined with the record. Exchange's part is two Graph list queries
on the mailbox (the Inbox's messages and the Sent Items' of the last QUEUE_DAYS, newest first,
paged), made as one of its members and kept for the mailbox, across workers, for SNAPSHOT_TTL
seconds: however many members refresh, the mailbox sees one pair of lists per period (one
member makes them while the others wait for that answer, a lock per mailbox). A member's own
right to see the mailbox is checked by Graph as them, once per ACCESS_TTL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from tandem_mailbox.coordination import CoordinationUnavailable, LockTimeout
from tandem_mailbox.errors import (
    InvalidRequest,
    ItemNotFound,
    MailboxAccessDenied,
    PermissionDenied,
)
from tandem_mailbox.mail.context import ItemContext
from tandem_mailbox.mail.hours import BusinessHours
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.microsoft.mailboxes import Route, mailbox_guid
from tandem_mailbox.services import Services
from tandem_mailbox.store.mailbox import Policy
from tandem_mailbox.store.record import Conversation, Key, Person, utc_now

log = logging.getLogger("tandem.queue")

QUEUE_DAYS = 14  # conversations whose newest message is older than this are not in the queue
SNAPSHOT_TTL = 10.0  # seconds the mailbox's lists serve every member
ACCESS_TTL = 300.0  # seconds a member's right to list the mailbox is taken as checked
PAGE_SIZE = 20
LIST_PAGES = 5  # pages of 100 messages each list may read
VIEWS = ("unassigned", "mine", "pending", "overdue", "open")


@dataclass(frozen=True)
class Mailbox:
    """The mailbox a queue call is about: where Graph reaches it, and its record's key."""

    route: Route
    token: str
    tenant: str
    guid: str
    address: str


def mailbox_of(services: Services, caller: Caller, ctx: ItemContext) -> Mailbox:
    """The item's mailbox, after Graph let the caller list it (once per ACCESS_TTL)."""
    graph = services.graph
    token = services.obo.graph_token(caller)
    route = graph.route(caller, ctx.target, ctx.item_id)
    guid = mailbox_guid(ctx.item_id) or _learnt(route)
    mark = _key("access", caller.tid, caller.oid, route.key)
    if guid is None or services.coordinator.fetch(mark) is None:
        # Exchange says whether the person may list the mailbox's Inbox (403 or 404 end here).
        inbox = graph.get(token, route, "/mailFolders/inbox", **{"$select": "id"})
        guid = guid or mailbox_guid(str(inbox.get("id") or ""))
        if guid is None:
            raise InvalidRequest("Tandem can't tell which mailbox this is.", field="itemId")
        services.coordinator.store(mark, b"1", ttl=ACCESS_TTL)
    address = (ctx.target or caller.upn).lower()
    return Mailbox(route, token, caller.tid, guid, address)


def sees_sent_items(services: Services, caller: Caller, box: Mailbox) -> bool:
    """Whether Exchange lets the caller open the mailbox's Sent Items (asked once per
    ACCESS_TTL). The queue is made of the Inbox's and the Sent Items' lists: a person who may
    not see the second (a delegate of the Inbox alone) gets no queue made from it."""
    mark = _key("sent-items", caller.tid, caller.oid, box.route.key)
    known = services.coordinator.fetch(mark)
    if known is not None:
        return known == b"1"
    try:
        services.graph.get(box.token, box.route, "/mailFolders/sentitems", **{"$select": "id"})
        seen = True
    except (MailboxAccessDenied, ItemNotFound):
        seen = False
    services.coordinator.store(mark, b"1" if seen else b"0", ttl=ACCESS_TTL)
    return seen


def _learnt(route: Route) -> str | None:
    return route.key.removeprefix("mailbox:") if route.key.startswith("mailbox:") else None


def _key(*parts: str) -> str:
    return "queue:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


# -- Exchange's part: the lists, shared by the mailbox's members -------------------------------
def snapshot(services: Services, box: Mailbox, now: dt.datetime) -> dict[str, Any]:
    """The mailbox's conversations as Graph lists them, at most SNAPSHOT_TTL seconds old."""
    name = _key("snapshot", box.tenant, box.guid)
    cached = services.coordinator.fetch(name)
    if cached is not None:
        return dict(json.loads(cached))
    try:
        with services.coordinator.lock(name, ttl=30.0, wait=2 * services.settings.http_timeout):
            cached = services.coordinator.fetch(name)  # another member's, made while we waited
            if cached is not None:
                return dict(json.loads(cached))
            made = _list(services, box, now)
            services.coordinator.store(name, json.dumps(made).encode(), ttl=SNAPSHOT_TTL)
            return made
    except (LockTimeout, CoordinationUnavailable):
        log.info("the queue's lists were slow to come from another member; listing here")
        return _list(services, box, now)


def _list(services: Services, box: Mailbox, now: dt.datetime) -> dict[str, Any]:
    since = (now - dt.timedelta(days=QUEUE_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Exchange sorts only by what the filter names first (InefficientFilter otherwise).
    inbox = _pages(
        services,
        box,
        "/mailFolders/inbox/messages",
        {
            "$filter": f"receivedDateTime ge {since}",
            "$orderby": "receivedDateTime desc",
            "$select": "id,conversationId,subject,from,receivedDateTime,parentFolderId",
            "$top": "100",
        },
    )
    sent = _pages(
        services,
        box,
        "/mailFolders/sentitems/messages",
        {
            "$filter": f"sentDateTime ge {since}",
            "$orderby": "sentDateTime desc",
            "$select": "conversationId,sentDateTime,from",
            "$top": "100",
        },
    )
    conversations: dict[str, dict[str, Any]] = {}
    for message in inbox:  # newest first
        conversation = message.get("conversationId")
        received = message.get("receivedDateTime")
        if not isinstance(conversation, str) or not isinstance(received, str):
            continue
        email = _email(message.get("from"))
        entry = conversations.setdefault(
            conversation,
            {
                "itemId": message.get("id"),
                "subject": message.get("subject") or "",
                "from": {"name": email.get("name") or "", "address": email.get("address") or ""},
                "receivedDateTime": received,
                "messages": [],
            },
        )
        entry["messages"].append([received, str(email.get("address") or "").lower()])
    answers: dict[str, list[str]] = {}
    name = ""
    for message in sent:
        conversation, when = message.get("conversationId"), message.get("sentDateTime")
        if isinstance(conversation, str) and isinstance(when, str):
            answers.setdefault(conversation, []).append(when)
        # What the mailbox is called, as its own sent mail says (from is the mailbox, also
        # for mail a member sent on its behalf): the templates' {{mailbox.name}}.
        email = _email(message.get("from"))
        if not name and str(email.get("address") or "").lower() == box.address:
            name = str(email.get("name") or "")
    return {
        "at": now.isoformat(),
        "conversations": conversations,
        "answers": answers,
        "name": name,
    }


def _pages(
    services: Services, box: Mailbox, path: str, params: dict[str, str]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    answer = services.graph.get(box.token, box.route, path, **params)
    for _ in range(LIST_PAGES):
        found += [m for m in answer.get("value") or [] if isinstance(m, dict)]
        link = answer.get("@odata.nextLink")
        if not isinstance(link, str) or "$skip=" not in link:
            break
        skip = link.split("$skip=", 1)[1].split("&", 1)[0]
        answer = services.graph.get(box.token, box.route, path, **params, **{"$skip": skip})
    return found


# -- joined with the record --------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One conversation of the queue."""

    key: Key
    item_id: str
    subject: str
    sender: dict[str, str]
    received: dt.datetime
    assignee: Person | None
    status: str
    due: dt.datetime | None
    overdue: bool

    def shown(self) -> dict[str, Any]:
        """As the API answers it."""
        return {
            "itemId": self.item_id,
            "conversationId": self.key.conversation,
            "subject": self.subject,
            "from": self.sender,
            "receivedDateTime": _iso(self.received),
            "assignee": {"upn": self.assignee.upn, "name": self.assignee.name}
            if self.assignee
            else None,
            "status": self.status,
            "due": _iso(self.due),
            "overdue": self.overdue,
        }


def hours_of(policy: Policy | None) -> BusinessHours:
    """The business hours a policy counts in (around the clock, UTC, without a policy)."""
    if policy is None:
        return BusinessHours.around_the_clock()
    return BusinessHours(policy.days, policy.start, policy.end, policy.zone)


@dataclass(frozen=True)
class Rows:
    """The queue's conversations, when Exchange was asked, and the mailbox's display name."""

    found: list[Row]
    asked: dt.datetime
    name: str


def rows(services: Services, box: Mailbox, now: dt.datetime) -> Rows:
    """The queue's conversations, Exchange's lists joined with the record, and when Exchange was
    asked; a customer's message newer than a `pending` or `done` status opens the
    conversation again, here too."""
    made = snapshot(services, box, now)
    books = services.mailboxes
    record = services.record
    team = {m.upn for m in record.members(box.tenant, box.guid)} | {box.address}
    policy = books.policy(box.tenant, box.guid)
    hours = hours_of(policy)
    listed: dict[str, dict[str, Any]] = made["conversations"]
    kept = books.conversations(box.tenant, box.guid, listed)
    found: list[Row] = []
    for conversation, entry in listed.items():
        key = Key(box.tenant, box.guid, conversation)
        from_customer = [_when(t) for t, who in entry["messages"] if who not in team]
        if not from_customer:
            continue  # the team's own messages: nothing to answer
        first, newest = min(from_customer), max(from_customer)
        current = kept.get(conversation) or Conversation(key)
        status_since = current.status_since
        if current.status != "open" and (
            status_since is None or newest >= status_since.replace(microsecond=0)
        ):
            current, _ = record.saw_message(key, newest, from_customer=True)
        answered = [_when(t) for t in made["answers"].get(conversation, []) if _when(t) >= first]
        if current.answered_at is not None:
            answered.append(current.answered_at)
        answered_at = min(answered, default=None)
        started = min(first, current.customer_since) if current.customer_since else first
        due = None
        if policy is not None and answered_at is None:
            due = hours.add(started, policy.first_response_minutes)
        found.append(
            Row(
                key=key,
                item_id=str(entry["itemId"]),
                subject=str(entry["subject"]),
                sender=dict(entry["from"]),
                received=newest,
                assignee=current.assignee,
                status=current.status,
                due=due,
                overdue=due is not None and now > due and current.status == "open",
            )
        )
    return Rows(found, dt.datetime.fromisoformat(made["at"]), str(made.get("name") or ""))


def in_view(row: Row, view: str, me: str) -> bool:
    """Whether a conversation is in a view of the queue."""
    if view == "open":
        return row.status == "open"
    if view == "unassigned":
        return row.status == "open" and row.assignee is None
    if view == "mine":
        return row.assignee is not None and row.assignee.upn == me and row.status != "done"
    if view == "pending":
        return row.status == "pending"
    return row.overdue


def order(found: list[Row]) -> list[Row]:
    """Oldest due first; then those without a due time, the longest waiting first."""
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda r: (r.due or far, r.received, r.key.conversation))


def queue(
    services: Services, caller: Caller, ctx: ItemContext, view: str, page: int
) -> dict[str, Any]:
    """Counts for every view, and one page of the chosen view's conversations."""
    now = utc_now()
    box = mailbox_of(services, caller, ctx)
    if not sees_sent_items(services, caller, box):
        return {"available": False, "mailbox": box.address}
    listed = rows(services, box, now)
    found = listed.found
    me = caller.upn.lower()
    chosen = order([r for r in found if in_view(r, view, me)])
    pages = max(1, -(-len(chosen) // PAGE_SIZE))
    page = min(page, pages)
    shown = chosen[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return {
        "available": True,
        "mailbox": box.address,
        "mailboxName": listed.name or box.address,
        "view": view,
        "counts": {v: sum(1 for r in found if in_view(r, v, me)) for v in VIEWS},
        "items": [r.shown() for r in shown],
        "page": page,
        "pages": pages,
        "total": len(chosen),
        "asOf": _iso(listed.asked),
    }


def take_next(services: Services, caller: Caller, ctx: ItemContext) -> dict[str, Any]:
    """The open conversation nobody owns that is due soonest, now the caller's (atomically: two
    people pressing at once get two conversations); answers its newest item."""
    now = utc_now()
    box = mailbox_of(services, caller, ctx)
    if not sees_sent_items(services, caller, box):
        raise PermissionDenied(
            "Taking the next one needs this mailbox's Inbox and Sent Items, and your access "
            "doesn't include its Sent Items."
        )
    me = Person(caller.oid, caller.upn.lower(), caller.name)
    for row in order([r for r in rows(services, box, now).found if in_view(r, "unassigned", "")]):
        if services.record.take_if_free(row.key, me):
            return {"taken": row.shown() | {"assignee": {"upn": me.upn, "name": me.name}}}
    return {"taken": None}


def _email(value: Any) -> dict[str, Any]:
    """A recipient's emailAddress member ({} when it has none)."""
    email = value.get("emailAddress") if isinstance(value, dict) else None
    return email if isinstance(email, dict) else {}


def _when(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None
