"""The record of one conversation: who owns it, its status, its notes and its timeline; and the
mailbox's members as Tandem has seen them.

Each change is one transaction: the conversation's row is created if it is not there, locked
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` serialises writers), changed,
and its timeline event written in the same commit, so two people assigning at once from two
hosts leave one final owner and both events. Authorization is the caller's (mail/record.py):
nothing here is reached before Graph let the person read the item.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tandem_mailbox.store import Store, StoreUnavailable
from tandem_mailbox.store.tables import STATUSES, conversations, events, members, notes

MEMBER_REFRESH = 3600.0  # seconds between two writes of one member's sight
EVENTS_KEPT = 4096  # decoded timeline events kept per process, ~1.5 KB each (all forgotten past it)


def utc_now() -> dt.datetime:
    """Now, in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Person:
    """Someone as the token names them."""

    oid: str
    upn: str
    name: str


@dataclass(frozen=True)
class Key:
    """A conversation of a mailbox of a tenant."""

    tenant: str
    mailbox: str
    conversation: str

    def where(self, table: Any) -> Any:
        """The SQL condition selecting this conversation's rows of `table`."""
        return and_(
            table.c.tenant_id == self.tenant,
            table.c.mailbox_id == self.mailbox,
            table.c.conversation_id == self.conversation,
        )

    def bound(self) -> dict[str, str]:
        """The key as the prebuilt statements' parameters."""
        return {
            "k_tenant": self.tenant,
            "k_mailbox": self.mailbox,
            "k_conversation": self.conversation,
        }

    def values(self) -> dict[str, str]:
        """The key's columns."""
        return {
            "tenant_id": self.tenant,
            "mailbox_id": self.mailbox,
            "conversation_id": self.conversation,
        }


@dataclass(frozen=True)
class Conversation:
    """A conversation's record (an unrecorded conversation is open and nobody's)."""

    key: Key
    assignee: Person | None = None
    status: str = "open"
    status_since: dt.datetime | None = None
    customer_since: dt.datetime | None = None
    last_customer_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    version: int = 0


@dataclass(frozen=True)
class Note:
    """An internal note on a conversation, never sent to anyone outside Tandem."""

    id: str
    author: Person
    text: str
    created_at: dt.datetime
    edited_at: dt.datetime | None


@dataclass(frozen=True)
class Event:
    """One entry of the timeline: who did what when (never a body or an address)."""

    id: int
    at: dt.datetime
    actor: Person | None
    kind: str
    detail: Mapping[str, Any]
    conversation: str = ""  # the conversation it happened to


@dataclass(frozen=True)
class Seen:
    """A conversation as the pane shows it, read at once: its record (`recorded` False when it
    has no row yet), its notes, its newest events and the mailbox's members."""

    conversation: Conversation
    recorded: bool
    notes: list[Note]
    timeline: list[Event]
    members: list[Person]


class NoSuchNote(Exception):
    """No note with that id on this conversation."""


class NotTheAuthor(Exception):
    """Only a note's author may change it."""


def _utc(value: dt.datetime | str | None) -> dt.datetime | None:
    """A stored time as UTC (SQLite hands times back without their zone, and as the text
    SQLAlchemy stored when read through the driver)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _detail(value: Any) -> dict[str, Any]:
    """An event's detail: a JSON object (SQLite's driver hands back its text)."""
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}


# What `Record.look` reads, with sqlite3's parameter marks (psycopg's: `%s`). Every value is a
# parameter: no text of a request reaches the SQL.
_LOOK = {
    "conversation": "select * from conversations "
    "where tenant_id = ? and mailbox_id = ? and conversation_id = ?",
    "notes": "select * from notes where tenant_id = ? and mailbox_id = ? and conversation_id = ? "
    "order by created_at desc, id desc",
    "events": "select * from events where tenant_id = ? and mailbox_id = ? "
    "and conversation_id = ? order by id desc limit ?",
    "members": "select oid, upn, name from members where tenant_id = ? and mailbox_id = ? "
    "order by lower(name), upn",
}
_LOOK_SQL = {False: _LOOK, True: {k: v.replace("?", "%s") for k, v in _LOOK.items()}}


# The statements every change of the record runs, built once with bound parameters: building
# and compiling a statement's expression per call was most of a change's own CPU (an action
# writes its timeline event on every call). Their cache keys are made once too.
def _of_key(table: Any) -> Any:
    return and_(
        table.c.tenant_id == bindparam("k_tenant"),
        table.c.mailbox_id == bindparam("k_mailbox"),
        table.c.conversation_id == bindparam("k_conversation"),
    )


_ROW = select(conversations).where(_of_key(conversations))
_ROW_LOCKED = _ROW.with_for_update()
_TOUCH = (
    update(conversations)
    .where(_of_key(conversations))
    .values(updated_at=bindparam("now"), version=conversations.c.version + 1)
)
_ASSIGN = (
    update(conversations)
    .where(_of_key(conversations))
    .values(
        assignee_oid=bindparam("oid"),
        assignee_upn=bindparam("upn"),
        assignee_name=bindparam("name"),
        updated_at=bindparam("now"),
        version=conversations.c.version + 1,
    )
)
_EVENT = insert(events).values(
    tenant_id=bindparam("k_tenant"),
    mailbox_id=bindparam("k_mailbox"),
    conversation_id=bindparam("k_conversation"),
    at=bindparam("at"),
    actor_oid=bindparam("actor_oid"),
    actor_upn=bindparam("actor_upn"),
    actor_name=bindparam("actor_name"),
    kind=bindparam("kind"),
    detail=bindparam("detail", type_=events.c.detail.type),
)
_CREATE = {
    dialect: insert_of(conversations)
    .values(
        tenant_id=bindparam("k_tenant"),
        mailbox_id=bindparam("k_mailbox"),
        conversation_id=bindparam("k_conversation"),
        status="open",
        updated_at=bindparam("now"),
        version=1,
    )
    .on_conflict_do_nothing(index_elements=["tenant_id", "mailbox_id", "conversation_id"])
    for dialect, insert_of in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def _person(oid: str | None, upn: str | None, name: str | None) -> Person | None:
    return Person(oid, upn or "", name or "") if oid else None


class Record:
    """The team's record in one Store."""

    def __init__(self, store: Store, *, clock: Callable[[], dt.datetime] = utc_now):
        self.store = store
        self._clock = clock
        # When this process last wrote each member's sight: written again after MEMBER_REFRESH.
        self._members_seen: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._members_lock = threading.Lock()
        self._events: dict[tuple[int, str, str], Event] = {}  # decoded (event_of)

    # -- reading ---------------------------------------------------------------------------------
    def conversation(self, key: Key) -> Conversation:
        """The conversation's record as it is now."""
        with self.store.transaction() as connection:
            row = connection.execute(select(conversations).where(key.where(conversations))).first()
        return self.conversation_of(key, row)

    def look(self, key: Key, *, limit: int) -> Seen:
        """The conversation, its notes, its newest `limit` events and the mailbox's members,
        in one transaction that only reads (what every context call and action shows)."""
        with self.store.reading() as connection:
            return self._seen(connection, key, limit)

    def _seen(self, connection: Connection, key: Key, limit: int) -> Seen:
        # The read every context call and action makes, as plain SQL on the driver's own
        # cursor, in the connection's transaction: it is the largest part of a context call's
        # own CPU, and building SQLAlchemy's statements, then its result's description of the
        # columns, on every call was most of that (bench/RESULTS.md). The rows come as the
        # driver gives them (`_utc` and `_detail` read SQLite's text too).
        sql = _LOOK_SQL[connection.dialect.name == "postgresql"]
        where = (key.tenant, key.mailbox, key.conversation)
        dbapi = connection.dialect.loaded_dbapi
        cursor = connection.connection.cursor()
        try:
            found = _rows(cursor, sql["conversation"], where)
            noted = _rows(cursor, sql["notes"], where)
            happened = _rows(cursor, sql["events"], (*where, limit))
            seen = _rows(cursor, sql["members"], where[:2])
        except dbapi.Error as error:
            raise StoreUnavailable(type(error).__name__) from error
        finally:
            cursor.close()
        row = found[0] if found else None
        return Seen(
            conversation=self.conversation_of(key, row),
            recorded=row is not None,
            notes=[self._note(r) for r in noted],
            timeline=[self.event_of(r) for r in happened],
            members=[Person(r.oid, r.upn, r.name) for r in seen],
        )

    def notes(self, key: Key) -> list[Note]:
        """The conversation's notes, newest first."""
        with self.store.transaction() as connection:
            rows = connection.execute(
                select(notes)
                .where(key.where(notes))
                .order_by(notes.c.created_at.desc(), notes.c.id.desc())
            ).all()
        return [self._note(row) for row in rows]

    def timeline(self, key: Key, *, limit: int | None = None) -> list[Event]:
        """What happened to the conversation, newest first."""
        query = select(events).where(key.where(events)).order_by(events.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.store.transaction() as connection:
            rows = connection.execute(query).all()
        return [self.event_of(row) for row in rows]

    def event_of(self, row: Row[Any]) -> Event:
        """A timeline row as an Event. Events are never changed once written, so each is
        decoded once per process (every context call and action shows up to 50 of them) and
        kept, by its id, conversation and time to the second (as both the driver's text and a
        datetime print it: an id a new database hands out again names another moment)."""
        known = (row.id, row.conversation_id, str(row.at)[:19])
        event = self._events.get(known)
        if event is None:
            event = Event(
                id=row.id,
                at=_utc(row.at) or self._clock(),
                actor=_person(row.actor_oid, row.actor_upn, row.actor_name),
                kind=row.kind,
                detail=MappingProxyType(_detail(row.detail)),
                conversation=row.conversation_id,
            )
            if len(self._events) >= EVENTS_KEPT:
                self._events.clear()
            self._events[known] = event
        return event

    def members(self, tenant: str, mailbox: str) -> list[Person]:
        """The mailbox's members Tandem has seen, by name."""
        with self.store.transaction() as connection:
            rows = connection.execute(
                select(members)
                .where(members.c.tenant_id == tenant, members.c.mailbox_id == mailbox)
                .order_by(func.lower(members.c.name), members.c.upn)
            ).all()
        return [Person(row.oid, row.upn, row.name) for row in rows]

    # -- changing --------------------------------------------------------------------------------
    def assign(self, key: Key, assignee: Person | None, *, by: Person) -> tuple[Conversation, bool]:
        """Give the conversation to `assignee` (None: nobody); answers it and whether it changed."""
        with self.store.transaction() as connection:
            row = self._locked(connection, key)
            was = row.assignee_oid
            now = self._clock()
            if was == (assignee.oid if assignee else None):
                return self.conversation_of(key, row), False
            connection.execute(
                _ASSIGN,
                {
                    **key.bound(),
                    "oid": assignee.oid if assignee else None,
                    "upn": assignee.upn if assignee else None,
                    "name": assignee.name if assignee else None,
                    "now": now,
                },
            )
            detail: dict[str, Any] = {
                "to": {"upn": assignee.upn, "name": assignee.name} if assignee else None,
                "from": {"upn": row.assignee_upn, "name": row.assignee_name} if was else None,
            }
            self._event(connection, key, "assigned", by, detail, now)
            return self._reread(connection, key), True

    def take_if_free(self, key: Key, to: Person) -> bool:
        """Give an open conversation nobody owns to `to`, in one locked transaction: answers
        False when someone owns it or it is not open by the time the lock is had."""
        with self.store.transaction() as connection:
            row = self._locked(connection, key)
            if row.assignee_oid is not None or row.status != "open":
                return False
            now = self._clock()
            connection.execute(
                update(conversations)
                .where(key.where(conversations))
                .values(
                    assignee_oid=to.oid,
                    assignee_upn=to.upn,
                    assignee_name=to.name,
                    updated_at=now,
                    version=conversations.c.version + 1,
                )
            )
            detail = {"to": {"upn": to.upn, "name": to.name}, "from": None, "why": "next"}
            self._event(connection, key, "assigned", to, detail, now)
            return True

    def set_status(self, key: Key, status: str, *, by: Person) -> tuple[Conversation, bool]:
        """Set the status (open, pending: waiting on the customer, done)."""
        if status not in STATUSES:
            raise ValueError(status)
        with self.store.transaction() as connection:
            row = self._locked(connection, key)
            if row.status == status:
                return self.conversation_of(key, row), False
            now = self._clock()
            connection.execute(
                update(conversations)
                .where(key.where(conversations))
                .values(
                    status=status,
                    status_since=now,
                    updated_at=now,
                    version=conversations.c.version + 1,
                )
            )
            self._event(connection, key, "status", by, {"from": row.status, "to": status}, now)
            return self._reread(connection, key), True

    def add_note(self, key: Key, text: str, *, by: Person) -> Note:
        """A new note by `by`."""
        with self.store.transaction() as connection:
            self._locked(connection, key)
            now = self._clock()
            note_id = str(uuid.uuid4())
            connection.execute(
                insert(notes).values(
                    id=note_id,
                    **key.values(),
                    author_oid=by.oid,
                    author_upn=by.upn,
                    author_name=by.name,
                    text=text,
                    created_at=now,
                    edited_at=None,
                )
            )
            self._touch(connection, key, now)
            self._event(connection, key, "note_added", by, {"note": note_id}, now)
            return Note(note_id, by, text, now, None)

    def edit_note(self, key: Key, note_id: str, text: str, *, by: Person) -> Note:
        """Change a note's text: its author only."""
        with self.store.transaction() as connection:
            self._locked(connection, key)
            row = self._own_note(connection, key, note_id, by)
            now = self._clock()
            connection.execute(
                update(notes).where(notes.c.id == note_id).values(text=text, edited_at=now)
            )
            self._touch(connection, key, now)
            self._event(connection, key, "note_edited", by, {"note": note_id}, now)
            return Note(note_id, by, text, _utc(row.created_at) or now, now)

    def delete_note(self, key: Key, note_id: str, *, by: Person) -> None:
        """Remove a note: its author only (the timeline keeps that it was there)."""
        with self.store.transaction() as connection:
            self._locked(connection, key)
            self._own_note(connection, key, note_id, by)
            now = self._clock()
            connection.execute(delete(notes).where(notes.c.id == note_id))
            self._touch(connection, key, now)
            self._event(connection, key, "note_deleted", by, {"note": note_id}, now)

    def event(
        self,
        key: Key,
        kind: str,
        *,
        by: Person | None,
        detail: Mapping[str, Any],
        at: dt.datetime | None = None,
        look: int | None = None,
    ) -> Seen | None:
        """Add to the timeline what an action did (the audit line's twin); `at` when it
        happened before it was learnt (a reply sent from Outlook, found by its copy); with
        `look`, answers the conversation as `look` would, read in the same transaction."""
        with self.store.transaction() as connection:
            self._locked(connection, key)
            now = self._clock()
            self._touch(connection, key, now)
            self._event(connection, key, kind, by, dict(detail), _utc(at) or now)
            return self._seen(connection, key, look) if look is not None else None

    def saw_message(
        self, key: Key, received: dt.datetime, *, from_customer: bool
    ) -> tuple[Conversation, bool]:
        """A message of the conversation, as Tandem saw it: a customer's first message starts
        the record's clock, and one newer than a `pending` or `done` status opens the
        conversation again. Answers the record and whether it was opened again."""
        received = _utc(received) or self._clock()
        with self.store.transaction() as connection:
            row = self._locked(connection, key)
            changes, reopened = self.changes(row, received, from_customer=from_customer)
            if not changes:
                return self.conversation_of(key, row), False
            now = self._clock()
            connection.execute(
                update(conversations)
                .where(key.where(conversations))
                .values(**changes, updated_at=now, version=conversations.c.version + 1)
            )
            if reopened:
                detail = {"from": row.status, "to": "open", "why": "customer_wrote"}
                self._event(connection, key, "status", None, detail, now)
            return self._reread(connection, key), reopened

    @staticmethod
    def changes(
        record: Any, received: dt.datetime, *, from_customer: bool
    ) -> tuple[dict[str, Any], bool]:
        """What a message received at `received` changes in a conversation's record (a row or
        a Conversation), and whether it opens the conversation again."""
        received = _utc(received) or utc_now()
        changes: dict[str, Any] = {}
        reopened = False
        if from_customer:
            since = _utc(record.customer_since)
            if since is None or received < since:
                changes["customer_since"] = received
            last = _utc(record.last_customer_at)
            if last is None or received > last:
                changes["last_customer_at"] = received
            status_since = _utc(record.status_since)
            # Exchange stamps received times to the second: a message of the same second as
            # the status change counts as after it (reopening is the safe side).
            since = status_since.replace(microsecond=0) if status_since else None
            if record.status != "open" and (since is None or received >= since):
                reopened = True
                changes.update(status="open", status_since=received)
        else:
            answered = _utc(record.answered_at)
            if answered is None or received < answered:
                changes["answered_at"] = received
        return changes, reopened

    def saw_member(self, tenant: str, mailbox: str, person: Person) -> None:
        """`person` read an item of the mailbox through Tandem: a member, listed from now on
        (their sight written at most once per MEMBER_REFRESH by this process)."""
        mark = (tenant, mailbox, person.oid)
        with self._members_lock:
            last = self._members_seen.get(mark)
            if last is not None and time.monotonic() - last < MEMBER_REFRESH:
                return
            self._members_seen[mark] = time.monotonic()
            while len(self._members_seen) > 10_000:
                self._members_seen.popitem(last=False)
        now = self._clock()
        values = {
            "tenant_id": tenant,
            "mailbox_id": mailbox,
            "oid": person.oid,
            "upn": person.upn,
            "name": person.name,
            "first_seen": now,
            "last_seen": now,
        }
        with self.store.transaction() as connection:
            statement = _insert(connection, members).values(**values)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["tenant_id", "mailbox_id", "oid"],
                    set_={"upn": person.upn, "name": person.name, "last_seen": now},
                )
            )

    # -- inside a transaction --------------------------------------------------------------------
    def _locked(self, connection: Connection, key: Key) -> Row[Any]:
        """The conversation's row, created if missing, locked until the transaction ends."""
        bound = key.bound()
        connection.execute(_CREATE[connection.dialect.name], {**bound, "now": self._clock()})
        return connection.execute(_ROW_LOCKED, bound).one()

    def _reread(self, connection: Connection, key: Key) -> Conversation:
        row = connection.execute(_ROW, key.bound()).one()
        return self.conversation_of(key, row)

    @staticmethod
    def _touch(connection: Connection, key: Key, now: dt.datetime) -> None:
        connection.execute(_TOUCH, {**key.bound(), "now": now})

    @staticmethod
    def _own_note(connection: Connection, key: Key, note_id: str, by: Person) -> Row[Any]:
        row = connection.execute(
            select(notes).where(notes.c.id == note_id, key.where(notes))
        ).first()
        if row is None:
            raise NoSuchNote(note_id)
        if row.author_oid != by.oid:
            raise NotTheAuthor(note_id)
        return row

    @staticmethod
    def _event(
        connection: Connection,
        key: Key,
        kind: str,
        by: Person | None,
        detail: dict[str, Any],
        now: dt.datetime,
    ) -> None:
        connection.execute(
            _EVENT,
            {
                **key.bound(),
                "at": now,
                "actor_oid": by.oid if by else None,
                "actor_upn": by.upn if by else None,
                "actor_name": by.name if by else None,
                "kind": kind,
                "detail": detail,
            },
        )

    def conversation_of(self, key: Key, row: Row[Any] | None) -> Conversation:
        """A conversation's row as its record (no row: open and nobody's)."""
        if row is None:
            return Conversation(key)
        return Conversation(
            key=key,
            assignee=_person(row.assignee_oid, row.assignee_upn, row.assignee_name),
            status=row.status,
            status_since=_utc(row.status_since),
            customer_since=_utc(row.customer_since),
            last_customer_at=_utc(row.last_customer_at),
            answered_at=_utc(row.answered_at),
            updated_at=_utc(row.updated_at),
            version=row.version,
        )

    @staticmethod
    def _note(row: Row[Any]) -> Note:
        return Note(
            id=row.id,
            author=Person(row.author_oid, row.author_upn, row.author_name),
            text=row.text,
            created_at=_utc(row.created_at) or utc_now(),
            edited_at=_utc(row.edited_at),
        )


# Named rows of the driver's tuples, a class per statement and its columns (made once).
_SHAPES: dict[tuple[str, tuple[str, ...]], Callable[..., Any]] = {}


def _named(names: tuple[str, ...]) -> Callable[..., Any]:
    """A maker of rows with these columns, each by name (the columns are the driver's)."""
    made: Any = namedtuple  # the columns are known only once the statement has run
    return made("Row", names)._make  # type: ignore[no-any-return]


def _rows(cursor: Any, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """The rows of one statement on the driver's cursor, each with its columns by name."""
    cursor.execute(sql, params)
    names = tuple(column[0] for column in cursor.description)
    shape = _SHAPES.get((sql, names))
    if shape is None:
        shape = _SHAPES[sql, names] = _named(names)
    return [shape(values) for values in cursor.fetchall()]


def _insert(connection: Connection, table: Any) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite alike)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
