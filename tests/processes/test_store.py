"""The team's record on both databases it runs on: a SQLite file and a real PostgreSQL server.

The same tests, each on a fresh database: migrations from empty and from the previous revision,
the schema the migrations make equal to the tables the code knows, every change of the record,
and many writers at once on one conversation.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select

from tandem_mailbox.store import Store, StoreUnavailable
from tandem_mailbox.store.record import Key, NoSuchNote, NotTheAuthor, Person, Record
from tandem_mailbox.store.tables import conversations, metadata, notes
from tests.support.postgres import PostgresServer

LEE = Person(str(uuid.uuid4()), "lee@contoso.com", "Lee Gu")
SAM = Person(str(uuid.uuid4()), "sam@contoso.com", "Sam Taylor")
TENANT, MAILBOX = str(uuid.uuid4()), str(uuid.uuid4())


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tandem.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.database()


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    """The store of that database, its schema current."""
    opened = Store(url)
    opened.upgrade()
    yield opened
    opened.dispose()


def _key(conversation: str | None = None) -> Key:
    return Key(TENANT, MAILBOX, conversation or "AAQk" + uuid.uuid4().hex)


# -- the schema -------------------------------------------------------------------------------
def test_an_empty_database_is_migrated_to_the_tables_the_code_knows(url: str):
    store = Store(url)
    assert store.revision() is None
    assert "tandem db upgrade" in (store.behind() or "")
    store.upgrade()
    assert store.revision() == store.head() and store.behind() is None
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []
    store.dispose()


def test_the_previous_revision_is_migrated_and_its_rows_kept(url: str):
    store = Store(url)
    store.upgrade("0001")
    key = _key()
    now = dt.datetime.now(dt.UTC)
    with store.engine.begin() as connection:
        connection.execute(
            insert(conversations).values(
                **key.values(), status="pending", updated_at=now, version=3
            )
        )
    assert "behind" in (store.behind() or "")
    store.upgrade()
    record = Record(store)
    assert record.conversation(key).status == "pending"
    assert record.conversation(key).version == 3
    record.saw_member(TENANT, MAILBOX, LEE)  # what 0002 added works on the upgraded database
    assert record.members(TENANT, MAILBOX) == [LEE]
    store.dispose()


def test_a_postgresql_schema_behind_is_refused_and_sqlite_upgrades_itself(url: str):
    store = Store(url)
    store.upgrade("0001")
    if store.embedded:
        store.ready()  # the embedded file upgrades itself
        assert store.revision() == store.head()
    else:
        with pytest.raises(StoreUnavailable, match="tandem db upgrade"):
            store.ready()
    store.dispose()


# -- the record -------------------------------------------------------------------------------
def test_an_unrecorded_conversation_is_open_and_nobodys(store: Store):
    record = Record(store)
    conversation = record.conversation(_key())
    assert (conversation.assignee, conversation.status, conversation.version) == (None, "open", 0)
    assert record.notes(_key()) == [] and record.timeline(_key()) == []


def test_assign_status_and_their_timeline(store: Store):
    record, key = Record(store), _key()
    assigned, changed = record.assign(key, SAM, by=LEE)
    assert changed and assigned.assignee == SAM
    again, changed = record.assign(key, SAM, by=LEE)
    assert not changed and again.version == assigned.version  # nothing written
    pending, changed = record.set_status(key, "pending", by=SAM)
    assert changed and pending.status == "pending" and pending.status_since is not None
    record.assign(key, None, by=SAM)
    timeline = record.timeline(key)
    assert [e.kind for e in timeline] == ["assigned", "status", "assigned"]
    assert timeline[0].detail == {"to": None, "from": {"upn": SAM.upn, "name": SAM.name}}
    assert timeline[1].detail == {"from": "open", "to": "pending"}
    assert timeline[2].actor == LEE and timeline[2].detail["to"] == {
        "upn": SAM.upn,
        "name": SAM.name,
    }
    assert all(e.at.tzinfo is not None for e in timeline)
    with pytest.raises(ValueError):
        record.set_status(key, "closed", by=LEE)


def test_an_event_is_decoded_once_and_read_alike_by_every_reader(store: Store):
    record, key = Record(store), _key()
    record.event(key, "flag", by=LEE, detail={"flag": "flagged", "nested": {"a": [1, 2]}})
    first = record.look(key, limit=50).timeline[0]
    # Kept: the next read (of either kind) hands back the event decoded the first time.
    assert record.look(key, limit=50).timeline[0] is first
    assert record.timeline(key)[0] is first
    # Shared between answers, so no reader can change it for the next.
    with pytest.raises(TypeError):
        first.detail["flag"] = "notFlagged"  # type: ignore[index]
    # Another worker (its own Record) decodes its own, equal in every field.
    other = Record(store).look(key, limit=50).timeline[0]
    assert other is not first and other == first
    assert (other.kind, other.actor, other.detail, other.at) == (
        "flag",
        LEE,
        {"flag": "flagged", "nested": {"a": [1, 2]}},
        first.at,
    )
    # A second event is decoded afresh, the first still kept.
    record.event(key, "flag", by=SAM, detail={"flag": "notFlagged"})
    newest, older = record.look(key, limit=50).timeline[:2]
    assert older is first and newest.actor == SAM and newest.detail == {"flag": "notFlagged"}


def test_the_look_reads_what_each_read_reads_and_a_driver_error_is_unavailable(store: Store):
    """`look` reads on the driver's own cursor: the same record as the other reads, and an
    error of the driver is StoreUnavailable (the pane's "record unavailable"), its transaction
    rolled back."""
    record, key = Record(store), _key()
    record.assign(key, SAM, by=LEE)
    record.add_note(key, "Called the customer back.", by=SAM)
    record.event(key, "flag", by=LEE, detail={"flag": "flagged"})
    record.saw_member(TENANT, MAILBOX, LEE)
    seen = record.look(key, limit=50)
    assert seen.recorded and seen.conversation == record.conversation(key)
    assert seen.notes == record.notes(key) and len(seen.notes) == 1
    assert seen.timeline == record.timeline(key) and seen.timeline[0].kind == "flag"
    assert seen.members == record.members(TENANT, MAILBOX) == [LEE]
    assert not record.look(_key(), limit=50).recorded
    events = len(seen.timeline)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("drop table notes")
    with pytest.raises(StoreUnavailable):
        record.look(key, limit=50)
    with pytest.raises(StoreUnavailable):  # the event and the read are one transaction
        record.event(key, "flag", by=LEE, detail={"flag": "notFlagged"}, look=50)
    assert len(record.timeline(key)) == events


def test_notes_are_their_authors_and_live_in_their_conversation(store: Store):
    record, key, other = Record(store), _key(), _key()
    first = record.add_note(key, "Refund approved by finance.\nWaiting for the bank.", by=LEE)
    second = record.add_note(key, "@sam@contoso.com please call them", by=SAM)
    assert [n.id for n in record.notes(key)] == [second.id, first.id]  # newest first
    assert record.notes(key)[1].text == "Refund approved by finance.\nWaiting for the bank."
    edited = record.edit_note(key, first.id, "Refund approved.", by=LEE)
    assert edited.edited_at is not None and record.notes(key)[1].text == "Refund approved."
    with pytest.raises(NotTheAuthor):
        record.edit_note(key, first.id, "mine now", by=SAM)
    with pytest.raises(NotTheAuthor):
        record.delete_note(key, first.id, by=SAM)
    with pytest.raises(NoSuchNote):  # a note of another conversation is not found here
        record.delete_note(other, first.id, by=LEE)
    record.delete_note(key, first.id, by=LEE)
    assert [n.id for n in record.notes(key)] == [second.id]
    kinds = [e.kind for e in record.timeline(key)]
    assert kinds == ["note_deleted", "note_edited", "note_added", "note_added"]
    assert record.notes(other) == []


def test_hostile_text_is_stored_inert(store: Store):
    record, key = Record(store), _key()
    text = "'); DROP TABLE notes; -- \u202e\u0000? ok"
    note = record.add_note(key, text.replace("\u0000", ""), by=LEE)
    assert record.notes(key)[0].text == text.replace("\u0000", "")
    with store.engine.connect() as connection:
        assert connection.execute(select(notes.c.id)).scalars().all() == [note.id]


def test_a_customers_reply_opens_a_pending_or_done_conversation_again(store: Store):
    record, key = Record(store), _key()
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    record.saw_message(key, start, from_customer=True)
    record.saw_message(key, start + dt.timedelta(minutes=30), from_customer=False)
    record.set_status(key, "pending", by=LEE)
    # An old message seen again changes nothing.
    conversation, reopened = record.saw_message(key, start, from_customer=True)
    assert not reopened and conversation.status == "pending"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    conversation, reopened = record.saw_message(key, later, from_customer=True)
    assert reopened and conversation.status == "open"
    assert conversation.customer_since == start
    assert conversation.answered_at == start + dt.timedelta(minutes=30)
    assert conversation.last_customer_at == later
    newest = record.timeline(key)[0]
    assert (newest.kind, newest.actor, newest.detail["why"]) == ("status", None, "customer_wrote")


def test_members_are_listed_once_each_by_name(store: Store):
    record = Record(store)
    record.saw_member(TENANT, MAILBOX, SAM)
    record.saw_member(TENANT, MAILBOX, LEE)
    record.saw_member(TENANT, MAILBOX, LEE)
    assert record.members(TENANT, MAILBOX) == [LEE, SAM]
    assert record.members(TENANT, str(uuid.uuid4())) == []  # another mailbox's are not here
    assert record.members(str(uuid.uuid4()), MAILBOX) == []  # nor another tenant's


def test_fifty_people_assigning_at_once_leave_one_owner_and_fifty_events(store: Store):
    record, key = Record(store), _key()
    people = [Person(str(uuid.uuid4()), f"p{n}@contoso.com", f"Person {n}") for n in range(50)]
    start = threading.Barrier(50)
    errors: list[BaseException] = []

    def assign(person: Person) -> None:
        try:
            start.wait(timeout=30)
            record.assign(key, person, by=person)
            record.add_note(key, f"{person.name} was here", by=person)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=assign, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    final = record.conversation(key)
    timeline = record.timeline(key)
    assigned = [e for e in timeline if e.kind == "assigned"]
    assert len(assigned) == 50
    assert final.assignee is not None and final.assignee.upn == assigned[0].detail["to"]["upn"]
    assert len(record.notes(key)) == 50  # no lost note
    # Each assignment names the one before it: a chain, none lost.
    chain = [e.detail for e in reversed(assigned)]
    assert chain[0]["from"] is None
    assert all(chain[n]["from"] == chain[n - 1]["to"] for n in range(1, 50))
    with store.engine.connect() as connection:
        rows = connection.execute(select(conversations).where(key.where(conversations))).all()
    assert len(rows) == 1
