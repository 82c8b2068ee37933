"""The team's record of the conversation an item belongs to, reached only through that item.

Nothing here runs before Graph let the person read the item in the same request (the
context's read, as that person): that read is the authorization. The record is keyed by the
token's tenant, the mailbox's GUID (from the item's id) and the item's `conversationId`, so a
customer's follow-up, a move in Outlook and a restart all find the same record.

What a read of an item tells the record: the person is a member of the mailbox (they could
read it), and a customer's message newer than a `pending` or `done` status opens the
conversation again.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from tandem_mailbox.errors import InvalidRequest, PermissionDenied
from tandem_mailbox.mail.context import ItemContext
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.microsoft.mailboxes import mailbox_guid
from tandem_mailbox.store import StoreUnavailable
from tandem_mailbox.store.record import (
    Conversation,
    Event,
    Key,
    NoSuchNote,
    Note,
    NotTheAuthor,
    Person,
    Record,
    Seen,
)

log = logging.getLogger("tandem.record")

TIMELINE = 50  # entries the record answers (the pane shows five, then the rest on demand)


def person(caller: Caller) -> Person:
    """The caller as the record names people."""
    return Person(caller.oid, caller.upn.lower(), caller.name)


def key_of(
    caller: Caller, ctx: ItemContext, item: dict[str, Any], *, mailbox: str | None = None
) -> Key | None:
    """The record's key for an item Graph answered: None for an appointment, or an item
    whose mailbox or conversation Tandem can't tell.

    The mailbox's GUID is in a REST item id and in a folder id; an immutable id names none,
    so an item known by it is placed by its `parentFolderId` (or `mailbox`, as learnt).
    """
    conversation = item.get("conversationId")
    mailbox = (
        mailbox
        or mailbox_guid(ctx.item_id)
        or mailbox_guid(str(item.get("id") or ""))
        or mailbox_guid(str(item.get("parentFolderId") or ""))
    )
    if ctx.item_type != "message" or not isinstance(conversation, str) or not mailbox:
        return None
    if not 0 < len(conversation) <= 512:
        return None
    return Key(caller.tid, mailbox, conversation)


def view(
    record: Record, caller: Caller, key: Key, conversation: Conversation | None = None
) -> dict[str, Any]:
    """The record as the pane shows it: the conversation, its notes, its timeline, the members."""
    return shown(caller, key, record.look(key, limit=TIMELINE), conversation)


def shown(
    caller: Caller, key: Key, seen: Seen, conversation: Conversation | None = None
) -> dict[str, Any]:
    """What `Record.look` read, as the pane shows it."""
    conversation = conversation or seen.conversation
    me = caller.oid
    return {
        "conversation": {
            "id": key.conversation,
            "assignee": _who(conversation.assignee),
            "status": conversation.status,
            "customerSince": _iso(conversation.customer_since),
            "answeredAt": _iso(conversation.answered_at),
            "firstResponseDue": None,
            "overdue": False,
        },
        "notes": [_note(note, me) for note in seen.notes],
        "timeline": [_event(event) for event in seen.timeline],
        "members": [_who(m) for m in seen.members],
    }


def member_named(record: Record, key: Key, caller: Caller, upn: Any) -> Person | None:
    """The member a posted `assignee` names (None for nobody); refused when it names no one
    the mailbox has."""
    if upn is None:
        return None
    if not isinstance(upn, str) or not 0 < len(upn) <= 320:
        raise InvalidRequest("assignee must be a member's address, or null.", field="assignee")
    wanted = upn.strip().lower()
    if wanted == caller.upn.lower():
        return person(caller)
    for member in record.members(key.tenant, key.mailbox):
        if member.upn == wanted:
            return member
    raise InvalidRequest(
        f"{upn[:80]} is not a member of this mailbox that Tandem knows: they must open one of "
        "its items in Tandem first.",
        field="assignee",
    )


def assign(record: Record, key: Key, to: Person | None, by: Caller) -> dict[str, Any]:
    """Give the conversation to a member (or nobody); answers what changed."""
    conversation, changed = record.assign(key, to, by=person(by))
    return {"assignee": _who(conversation.assignee), "changed": changed}


def set_status(record: Record, key: Key, status: str, by: Caller) -> dict[str, Any]:
    """Change the conversation's status."""
    conversation, changed = record.set_status(key, status, by=person(by))
    return {"status": conversation.status, "changed": changed}


def add_note(record: Record, key: Key, text: str, by: Caller) -> dict[str, Any]:
    """A note by the caller."""
    return {"note": _note(record.add_note(key, text, by=person(by)), by.oid)}


def edit_note(record: Record, key: Key, note_id: str, text: str, by: Caller) -> dict[str, Any]:
    """Change one's own note."""
    try:
        note = record.edit_note(key, note_id, text, by=person(by))
    except NoSuchNote:
        raise InvalidRequest("There is no such note on this conversation.", "noteId") from None
    except NotTheAuthor:
        raise PermissionDenied("Only a note's author can change it.") from None
    return {"note": _note(note, by.oid)}


def delete_note(record: Record, key: Key, note_id: str, by: Caller) -> dict[str, Any]:
    """Remove one's own note."""
    try:
        record.delete_note(key, note_id, by=person(by))
    except NoSuchNote:
        raise InvalidRequest("There is no such note on this conversation.", "noteId") from None
    except NotTheAuthor:
        raise PermissionDenied("Only a note's author can delete it.") from None
    return {"deleted": note_id}


def timeline_event(record: Record, key: Key, kind: str, by: Caller, detail: dict[str, Any]) -> None:
    """What an action did, on the conversation's timeline."""
    record.event(key, kind, by=person(by), detail=detail)


# -- shapes -------------------------------------------------------------------------------------
def _who(someone: Person | None) -> dict[str, str] | None:
    return {"upn": someone.upn, "name": someone.name} if someone else None


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None


def _note(note: Note, me: str) -> dict[str, Any]:
    return {
        "id": note.id,
        "author": _who(note.author),
        "text": note.text,
        "createdAt": _iso(note.created_at),
        "editedAt": _iso(note.edited_at),
        "mine": note.author.oid == me,
    }


# Each event as the pane shows it, rendered once: the store hands back one Event object per
# event for as long as it keeps it (`Record.event_of`), and up to TIMELINE of them go into every
# context answer. Kept by the object's id with the object itself, so that the id can't name
# another event while its rendering is kept; answers share these dicts and only read them.
_RENDERED: dict[int, tuple[Event, dict[str, Any]]] = {}
RENDERED_KEPT = 4096


def _event(event: Event) -> dict[str, Any]:
    kept = _RENDERED.get(id(event))
    if kept is not None and kept[0] is event:
        return kept[1]
    rendered = {
        "id": event.id,
        "at": _iso(event.at),
        "actor": _who(event.actor),
        "kind": event.kind,
        "detail": dict(event.detail),
    }
    if len(_RENDERED) >= RENDERED_KEPT:
        _RENDERED.clear()
    _RENDERED[id(event)] = (event, rendered)
    return rendered


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _address(value: Any) -> str:
    email = value.get("emailAddress") if isinstance(value, dict) else None
    return str(email.get("address", "")).lower() if isinstance(email, dict) else ""


def snapshot(
    record: Record, caller: Caller, ctx: ItemContext, item: dict[str, Any]
) -> tuple[dict[str, Any] | None, Conversation | None]:
    """The record of the item Graph just let the person read, as the pane shows it (None for
    an item with no conversation, or while the store can't be reached)."""
    try:
        key = key_of(caller, ctx, item)
        if key is None:
            return None, None
        record.saw_member(key.tenant, key.mailbox, person(caller))
        # One read of everything the pane shows; a write only when the message changes the
        # record (a customer's first or newer message, the mailbox's first answer).
        seen = record.look(key, limit=TIMELINE)
        received = _when(item.get("receivedDateTime"))
        if received is not None and not item.get("isDraft"):
            team = {m.upn for m in seen.members} | {(ctx.target or caller.upn).lower()}
            customer = _address(item.get("from")) not in team
            changes, _ = Record.changes(seen.conversation, received, from_customer=customer)
            if changes or not seen.recorded:
                _, reopened = record.saw_message(key, received, from_customer=customer)
                if reopened:
                    log.info("a customer's reply opened a conversation again")
                seen = record.look(key, limit=TIMELINE)
        return shown(caller, key, seen), seen.conversation
    except StoreUnavailable:
        log.warning("the team's record is unavailable; the item is shown without it")
        return None, None
