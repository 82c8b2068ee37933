"""An in-memory Exchange Online: mailboxes, folders, items, delegate rights, Send As / on Behalf.

Exchange's rules: who may read, edit, delete, move and create in which folder, who may send
as whom and where the copy lands, change keys, and the write history that lets a test see what
happened. Graph (`graph.py`) parses requests and speaks the wire; this module decides, and
raises `ExchangeError` with Exchange's codes.

Item ids look like Exchange's: base64 of 00 03 24 00, the mailbox GUID in ASCII, and the
item's own key, so an id tells which mailbox it belongs to (ErrorInvalidMailboxItemId) and
its EWS form (standard base64) differs from its REST form (`/` -> `-`, `+` -> `_`). Such an
id changes when the item moves. Every item also has an immutable id (Graph's
`restImmutableEntryId`, asked for with `Prefer: IdType="ImmutableId"`), kept for as long as the
item stays in its mailbox (learn.microsoft.com/graph/outlook-immutable-id); the emulator
finds its mailbox by the store GUID inside it.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import html
import random
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

ID_PREFIX = b"\x00\x03\x24\x00"
ID_MIDDLE = b"\x00\x46\x00\x00"
# An immutable entry id: the 27 bytes every restImmutableEntryId of Exchange Online starts with
# ("AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A": a header, flags and a provider UID that is the same
# for every mailbox), then a GUID of the mailbox's store and the item's own key. Nothing in it
# reads as the mailbox's address or GUID to a client.
IMMUTABLE_PREFIX = bytes.fromhex("0009002e00000000001d840311aa6611cd9bc800aa002fc45a0d00")
FOLDER_MIDDLE = b"\x00\x2e\x00\x00"
READ, WRITE, DELETE_OWN, DELETE_ALL, EDIT_OWN, EDIT_ALL = 1, 2, 4, 8, 16, 32
ALL_BITS = 63
# The well-known folders every mailbox has here, as Graph names them in URLs.
WELL_KNOWN_MAIL = ("inbox", "drafts", "sentitems", "deleteditems", "junkemail", "archive")
ROOT = "msgfolderroot"
RESPONSES = {
    "accept": "accepted",
    "tentativelyAccept": "tentativelyAccepted",
    "decline": "declined",
}
# Exchange refuses an organizer's own response (EWS ErrorCalendarIsOrganizerFor*).
ORGANIZER_ERRORS = {
    "accept": "ErrorCalendarIsOrganizerForAccept",
    "tentativelyAccept": "ErrorCalendarIsOrganizerForTentative",
    "decline": "ErrorCalendarIsOrganizerForDecline",
}
CONFLICT_MESSAGE = (
    "The send or update operation could not be performed because the change key passed in the "
    "request does not match the current change key for the item."
)
SEND_AS_DENIED_MESSAGE = (
    "The user account which was used to submit this request does not have the right to send "
    "mail on behalf of the specified sending account. Cannot submit message."
)


# What Exchange stores for a member nobody set (the defaults the message and event resource
# pages document): a message is Focused with no receipts asked; an event reminds 15 minutes
# ahead, allows new time proposals, asks for responses and is not an online meeting.
DEFAULTS: dict[str, dict[str, Any]] = {
    "message": {
        "bccRecipients": [],
        "ccRecipients": [],
        "replyTo": [],
        "inferenceClassification": "focused",
        "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False,
    },
    "event": {
        "allowNewTimeProposals": True,
        "hasAttachments": False,
        "hideAttendees": False,
        "importance": "normal",
        "isAllDay": False,
        "isDraft": False,
        "isOnlineMeeting": False,
        "isReminderOn": True,
        "onlineMeetingProvider": "unknown",
        "reminderMinutesBeforeStart": 15,
        "responseRequested": True,
        "sensitivity": "normal",
        "originalStartTimeZone": "UTC",
        "originalEndTimeZone": "UTC",
    },
}


class ExchangeError(Exception):
    """A refusal in Exchange's words: HTTP status, Exchange error code, message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


_TAG = re.compile(r"<[^>]*>")


def preview(body: Any) -> str:
    """Graph's bodyPreview: the body's first 255 characters as text (HTML's tags dropped)."""
    if not isinstance(body, dict):
        return ""
    content = str(body.get("content", ""))
    if str(body.get("contentType", "")).lower() == "html":
        content = html.unescape(_TAG.sub(" ", content.replace("<br>", "\n")))
        content = re.sub(r"[ \t]+", " ", content).strip()
    return content[:255]


def access_denied() -> ExchangeError:
    """403 ErrorAccessDenied, Exchange's answer to anything the caller may not do."""
    return ExchangeError(
        403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
    )


def not_found() -> ExchangeError:
    """404 ErrorItemNotFound."""
    return ExchangeError(
        404, "ErrorItemNotFound", "The specified object was not found in the store."
    )


def rest_id(ews_id: str) -> str:
    """Office's convertToRestId(v2.0): the URL-safe alphabet."""
    return ews_id.replace("/", "-").replace("+", "_")


def ews_id(rest: str) -> str:
    """The inverse of rest_id: what item.itemId shows in Office."""
    return rest.replace("-", "/").replace("_", "+")


def decode_id(rest: str) -> str | None:
    """The mailbox GUID an item id (regular or immutable) belongs to; None when malformed."""
    if not rest or len(rest) > 1024:
        return None
    try:
        raw = base64.b64decode(ews_id(rest), validate=True)
    except (ValueError, TypeError):
        return None
    if raw.startswith(IMMUTABLE_PREFIX) and len(raw) >= len(IMMUTABLE_PREFIX) + 16 + 8:
        start = len(IMMUTABLE_PREFIX)
        return str(uuid.UUID(bytes=raw[start : start + 16]))
    if not raw.startswith(ID_PREFIX) or len(raw) < len(ID_PREFIX) + 36 + len(ID_MIDDLE) + 8:
        return None
    guid = raw[len(ID_PREFIX) : len(ID_PREFIX) + 36]
    try:
        return str(uuid.UUID(guid.decode("ascii")))
    except (ValueError, UnicodeDecodeError):
        return None


def is_immutable(any_id: str) -> bool:
    """Whether an item id is in the immutable form (restImmutableEntryId)."""
    try:
        raw = base64.b64decode(ews_id(any_id)[:16], validate=True)
    except (ValueError, TypeError):
        return False
    return raw.startswith(IMMUTABLE_PREFIX[:12])


def immutable_id(mailbox_guid: str, first_id: str) -> str:
    """The item's immutable id, derived from the id it was created with (no draw on the
    seeded random generator, so the seeded world's other ids stay as they were)."""
    key = hashlib.sha256(first_id.encode()).digest()[:30]
    raw = IMMUTABLE_PREFIX + uuid.UUID(mailbox_guid).bytes + b"\x07\x00" + key
    return rest_id(base64.b64encode(raw).decode())


def conversation_id(mailbox_guid: str, thread: bytes) -> str:
    """A conversationId of this mailbox ("AAQkA..." as Graph's read): a header, the mailbox
    GUID in ASCII, the thread's GUID."""
    raw = b"\x00\x04\x24\x00" + mailbox_guid.encode() + b"\x00\x10\x00" + thread[:16]
    return base64.b64encode(raw).decode()


def conversation_index(conversation: bytes, delivered: str, *, parent: str | None = None) -> str:
    """PidTagConversationIndex (MS-OXOMSG 2.2.1.3), base64 as Graph's Edm.Binary reads.

    A new thread: 0x01, the 40 high bits of the delivery FILETIME (big-endian), the thread's
    GUID (16 bytes); a response: its parent's index and a 5-byte response level (DC bit 0,
    31 bits of time delta, a random nibble, a sequence nibble).
    """
    when = dt.datetime.strptime(delivered, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    filetime = int((when - dt.datetime(1601, 1, 1, tzinfo=dt.UTC)).total_seconds() * 10**7)
    if parent is None:
        header = b"\x01" + (filetime >> 24).to_bytes(5, "big") + conversation[:16]
        return base64.b64encode(header).decode()
    raw = base64.b64decode(parent)
    start = int.from_bytes(raw[1:6], "big") << 24
    delta = max(0, filetime - start) >> 18  # DC = 0: bits 49..18 of the difference
    level = ((delta & 0x7FFFFFFF) << 8) | (conversation[0] & 0xF0) | (len(raw) - 22) // 5 % 16
    return base64.b64encode(raw + level.to_bytes(5, "big")).decode()


# translateExchangeIds' exchangeIdFormat members (learn.microsoft.com/graph/api/
# user-translateexchangeids): the REST forms Graph uses, EWS's standard base64, and the binary
# entry ids in URL-safe base64 with the padding replaced by its count.
ID_FORMATS = ("entryId", "ewsId", "immutableEntryId", "restId", "restImmutableEntryId")


def id_bytes(value: str, form: str) -> bytes | None:
    """The binary id behind an id written in one of ID_FORMATS, or None when malformed."""
    try:
        if form in ("entryId", "immutableEntryId"):
            if not value or not value[-1].isdigit():
                return None
            text = value[:-1].replace("-", "+").replace("_", "/") + "=" * int(value[-1])
            return base64.b64decode(text, validate=True)
        text = value if form == "ewsId" else ews_id(value)
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        return None


def id_text(raw: bytes, form: str) -> str:
    """A binary id written in one of ID_FORMATS."""
    encoded = base64.b64encode(raw).decode()
    if form in ("entryId", "immutableEntryId"):
        bare = encoded.rstrip("=")
        return bare.replace("+", "-").replace("/", "_") + str(len(encoded) - len(bare))
    return encoded if form == "ewsId" else rest_id(encoded)


def now_iso() -> str:
    """Graph's timestamp format."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def recipient(name: str, address: str) -> dict[str, Any]:
    """Graph's recipient shape."""
    return {"emailAddress": {"name": name, "address": address}}


def address_of(value: Any) -> str:
    """The lower-case SMTP address of a Graph recipient, or ''."""
    if isinstance(value, dict):
        return str((value.get("emailAddress") or {}).get("address") or "").lower()
    return ""


@dataclass
class Person:
    """A signed-in user of a tenant."""

    oid: str
    upn: str
    name: str
    tenant_id: str
    persona: str = ""
    description: str = ""


@dataclass
class Folder:
    """A mail or calendar folder with per-person delegate bits."""

    id: str
    name: str
    kind: str  # "mail" or "calendar"
    well_known: str | None = None
    parent_id: str | None = None
    permissions: dict[str, int] = field(default_factory=dict)  # upn -> bits


@dataclass
class Item:
    """A message or an event, with every id it has had and the history of its writes."""

    id: str
    kind: str  # "message" or "event"
    folder_id: str
    created_by: str  # upn of the person whose own item this is
    data: dict[str, Any]
    mailbox: str = ""  # the address of the mailbox that holds it
    change_key: str = ""
    version: int = 0
    ids: list[str] = field(default_factory=list)
    immutable_id: str = ""  # kept across moves within the mailbox
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False  # removed for good (deleted from Deleted Items)


@dataclass
class Mailbox:
    """A user or shared mailbox and who may do what in it."""

    guid: str
    address: str
    display_name: str
    kind: str  # "user" or "shared"
    tenant_id: str
    owner_upn: str | None = None
    full_access: set[str] = field(default_factory=set)
    send_as: set[str] = field(default_factory=set)
    send_on_behalf: set[str] = field(default_factory=set)
    folders: dict[str, Folder] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    enabled: bool = True  # False: on-premises or inactive (MailboxNotEnabledForRESTAPI)

    @property
    def root_id(self) -> str:
        """The id of the mailbox's root folder (msgfolderroot), the parent of top folders."""
        key = hashlib.sha256(self.guid.encode()).digest()[:22]
        return rest_id(
            base64.b64encode(ID_PREFIX + self.guid.encode() + FOLDER_MIDDLE + key).decode()
        )


@dataclass
class Call:
    """Who asks, and what their request carried, for the rules and the write history."""

    person: Person
    if_match: str | None = None
    client_request_id: str = ""
    via: str = "graph"  # "graph", or "outlook" for a change made in a person's own client


class Exchange:
    """The whole store, guarded by one lock."""

    def __init__(self, seed: int = 7):
        self.lock = threading.RLock()
        self.people: dict[str, Person] = {}  # by lower-case upn
        self.mailboxes: dict[str, Mailbox] = {}  # by lower-case address
        self._by_guid: dict[str, Mailbox] = {}
        self._by_any_id: dict[str, Item] = {}  # every id an item has had
        self._rng = random.Random(seed)
        self.deliveries: list[dict[str, Any]] = []
        # Graph documents no If-Match on messages; "honour" checks it, "ignore" does not.
        self.if_match = "honour"

    # -- building -------------------------------------------------------------------------
    def guid(self) -> str:
        """A deterministic GUID (the seed makes the world the same on every run)."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def add_person(self, person: Person) -> Person:
        """Register a person."""
        self.people[person.upn.lower()] = person
        return person

    def add_mailbox(self, mailbox: Mailbox) -> Mailbox:
        """Register a mailbox with its well-known folders (Junk Email comes with the seed)."""
        self.mailboxes[mailbox.address.lower()] = mailbox
        self._by_guid[mailbox.guid] = mailbox
        for name, display, kind in (
            ("inbox", "Inbox", "mail"),
            ("drafts", "Drafts", "mail"),
            ("sentitems", "Sent Items", "mail"),
            ("deleteditems", "Deleted Items", "mail"),
            ("archive", "Archive", "mail"),
            ("calendar", "Calendar", "calendar"),
        ):
            self.add_folder(mailbox, display, kind=kind, well_known=name)
        return mailbox

    def folder_id(self, mailbox: Mailbox) -> str:
        """A new folder id of this mailbox (Exchange's AAMkAD... shape, REST form)."""
        raw = ID_PREFIX + mailbox.guid.encode() + FOLDER_MIDDLE + self._rng.randbytes(22)
        return rest_id(base64.b64encode(raw).decode())

    def add_folder(
        self,
        mailbox: Mailbox,
        name: str,
        *,
        kind: str = "mail",
        well_known: str | None = None,
        parent: Folder | None = None,
    ) -> Folder:
        """Create a folder."""
        folder = Folder(
            id=self.folder_id(mailbox),
            name=name,
            kind=kind,
            well_known=well_known,
            parent_id=parent.id if parent else None,
        )
        mailbox.folders[folder.id] = folder
        return folder

    def item_id(self, mailbox: Mailbox) -> str:
        """A new item id of this mailbox, REST form."""
        raw = ID_PREFIX + mailbox.guid.encode() + ID_MIDDLE + self._rng.randbytes(40)
        return rest_id(base64.b64encode(raw).decode())

    def add_item(
        self, mailbox: Mailbox, folder: Folder, kind: str, created_by: str, data: dict[str, Any]
    ) -> Item:
        """Store a new item."""
        item = Item(
            id=self.item_id(mailbox),
            kind=kind,
            folder_id=folder.id,
            created_by=created_by.lower(),
            data=data,
            mailbox=mailbox.address,
        )
        item.ids.append(item.id)
        item.immutable_id = immutable_id(mailbox.guid, item.id)
        for name, value in DEFAULTS.get(kind, {}).items():
            data.setdefault(name, copy.deepcopy(value))
        if kind == "event":
            data.setdefault(
                "iCalUId",
                "040000008200E00074C5B7101A82E00800000000"
                + hashlib.sha256(item.immutable_id.encode()).hexdigest()[:40].upper(),
            )
            data.setdefault("locations", [data["location"]] if data.get("location") else [])
        if kind == "message":
            conversation = hashlib.sha256(str(data.get("conversationId", "")).encode()).digest()
            data.setdefault(
                "conversationIndex",
                conversation_index(conversation, str(data.get("receivedDateTime") or now_iso())),
            )
        self.touch(item)
        mailbox.items[item.id] = item
        self._by_any_id[item.id] = item
        self._by_any_id[item.immutable_id] = item
        return item

    def touch(self, item: Item) -> None:
        """Give the item a new change key, as every write does in Exchange."""
        item.version += 1
        raw = b"\x16\x00\x00\x00" + self._rng.randbytes(18) + item.version.to_bytes(4, "big")
        item.change_key = base64.b64encode(raw).decode()
        item.data["lastModifiedDateTime"] = now_iso()
        item.data["changeKey"] = item.change_key

    # -- looking up -----------------------------------------------------------------------
    def person(self, upn_or_oid: str) -> Person | None:
        """A person by UPN or object id."""
        key = upn_or_oid.lower()
        if key in self.people:
            return self.people[key]
        return next((p for p in self.people.values() if p.oid == key), None)

    def mailbox(self, ident: str) -> Mailbox | None:
        """A mailbox by SMTP address, or by the object id of its owner or itself."""
        key = ident.lower()
        if key in self.mailboxes:
            return self.mailboxes[key]
        if key in self._by_guid:
            return self._by_guid[key]
        person = self.person(key)
        if person is not None:
            return self.mailboxes.get(person.upn.lower())
        return None

    def item(self, any_id: str) -> Item | None:
        """An item by its current or any former id (deleted items too)."""
        return self._by_any_id.get(any_id)

    def translate(self, mailbox: Mailbox, value: str, source: str, target: str) -> str:
        """translateExchangeIds for one id of an item of this mailbox; ExchangeError when the
        id is malformed or names no item here."""
        raw = id_bytes(value, source)
        immutable = source in ("immutableEntryId", "restImmutableEntryId")
        if raw is None or raw.startswith(IMMUTABLE_PREFIX) != immutable:
            raise ExchangeError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        key = id_text(raw, "restImmutableEntryId" if immutable else "restId")
        item = self._by_any_id.get(key)
        if item is None or mailbox.items.get(item.id) is not item:
            raise not_found()
        if immutable and key != item.immutable_id:
            raise not_found()
        wanted = target in ("immutableEntryId", "restImmutableEntryId")
        chosen = item.immutable_id if wanted else item.id
        return id_text(id_bytes(chosen, "restId") or b"", target)

    def well_known(self, mailbox: Mailbox, name: str) -> Folder | None:
        """A well-known folder of the mailbox."""
        return next((f for f in mailbox.folders.values() if f.well_known == name), None)

    def folder(self, mailbox: Mailbox, ref: str) -> Folder | None:
        """A folder by id or by well-known name (Graph accepts either, the name in any case)."""
        if ref in mailbox.folders:
            return mailbox.folders[ref]
        return self.well_known(mailbox, ref.lower())

    def rights(self, person: Person, mailbox: Mailbox, folder: Folder) -> int:
        """The delegate bits the person has on the folder (owner and Full Access: all)."""
        if self.full_rights(person, mailbox):
            return ALL_BITS
        return folder.permissions.get(person.upn.lower(), 0)

    @staticmethod
    def full_rights(person: Person, mailbox: Mailbox) -> bool:
        """Whether the person owns the mailbox or holds Full Access on it."""
        upn = person.upn.lower()
        return mailbox.owner_upn == upn or upn in mailbox.full_access

    def any_access(self, person: Person, mailbox: Mailbox) -> bool:
        """Whether the person can open the mailbox at all."""
        if self.full_rights(person, mailbox):
            return True
        upn = person.upn.lower()
        return any(f.permissions.get(upn, 0) for f in mailbox.folders.values())

    # -- the rules ------------------------------------------------------------------------
    def _own(self, person: Person, item: Item) -> bool:
        return item.created_by == person.upn.lower()

    def check_edit(self, person: Person, mailbox: Mailbox, item: Item) -> None:
        """Editing needs EditAll, or EditOwn on an item the person created."""
        bits = self.rights(person, mailbox, mailbox.folders[item.folder_id])
        if not (bits & EDIT_ALL or (bits & EDIT_OWN and self._own(person, item))):
            raise access_denied()

    def check_delete(self, person: Person, mailbox: Mailbox, item: Item) -> None:
        """Deleting or moving out needs DeleteAll, or DeleteOwn on an item the person created."""
        bits = self.rights(person, mailbox, mailbox.folders[item.folder_id])
        if not (bits & DELETE_ALL or (bits & DELETE_OWN and self._own(person, item))):
            raise access_denied()

    def check_create(self, person: Person, mailbox: Mailbox, folder: Folder) -> None:
        """Creating an item in a folder, or moving one in, needs Write (create) there."""
        if not self.rights(person, mailbox, folder) & WRITE:
            raise access_denied()

    def check_change_key(self, item: Item, if_match: str | None) -> None:
        """If-Match against the change key: 412 ErrorIrresolvableConflict when it differs."""
        if self.if_match != "honour" or not if_match:
            return
        sent = [tag.strip() for tag in if_match.split(",")]
        if "*" in sent:
            return
        keys = {tag.removeprefix("W/").strip('"') for tag in sent}
        if item.change_key not in keys:
            raise ExchangeError(412, "ErrorIrresolvableConflict", CONFLICT_MESSAGE)

    # -- the write history ----------------------------------------------------------------
    def _record(
        self,
        item: Item,
        call: Call | None,
        operation: str,
        fields: dict[str, dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        item.history.append(
            {
                "time": now_iso(),
                "by": call.person.upn if call else None,
                "via": call.via if call else "transport",
                "operation": operation,
                "fields": copy.deepcopy(fields or {}),
                "ifMatch": call.if_match if call else None,
                "clientRequestId": call.client_request_id if call else None,
                "id": item.id,
                "changeKey": item.change_key,
                **extra,
            }
        )

    def _reid(self, mailbox: Mailbox, item: Item, folder: Folder) -> None:
        """Put the item in another folder under a new id, as Exchange's move does."""
        del mailbox.items[item.id]
        item.id = self.item_id(mailbox)
        item.ids.append(item.id)
        item.folder_id = folder.id
        mailbox.items[item.id] = item
        self._by_any_id[item.id] = item

    # -- writes ---------------------------------------------------------------------------
    def update(self, call: Call, mailbox: Mailbox, item: Item, changes: dict[str, Any]) -> Item:
        """PATCH: edit rights, the change key, then every field replaced as sent."""
        with self.lock:
            self.check_edit(call.person, mailbox, item)
            if "from" in changes and not item.data.get("isDraft"):
                # Reported for Graph: `from` on a sent or received message.
                raise ExchangeError(400, "ErrorInvalidPropertySet", "Message is not draft.")
            self.check_change_key(item, call.if_match)
            return self._apply(call, item, changes, "update")

    def _apply(self, call: Call, item: Item, changes: dict[str, Any], operation: str) -> Item:
        fields = {}
        for name, value in changes.items():
            old = item.data.get(name)
            if old != value:
                fields[name] = {"old": old, "new": value}
            item.data[name] = copy.deepcopy(value)
            if name == "body" and isinstance(value, dict):
                item.data["bodyPreview"] = preview(value)
        self.touch(item)
        self._record(item, call, operation, fields)
        return item

    def outlook_change(self, upn: str, item: Item, changes: dict[str, Any]) -> Item:
        """A change made in a person's own Outlook: no Graph rules, a new change key."""
        person = self.person(upn) or Person(oid="", upn=upn, name=upn, tenant_id="")
        with self.lock:
            return self._apply(Call(person=person, via="outlook"), item, changes, "update")

    def outlook_move(self, upn: str, item: Item, folder: Folder) -> Item:
        """A move made in a person's own Outlook: no Graph rules, a new REST id, the same
        immutable id (the item stays in its mailbox)."""
        person = self.person(upn) or Person(oid="", upn=upn, name=upn, tenant_id="")
        with self.lock:
            mailbox = self.mailbox(item.mailbox)
            assert mailbox is not None
            source = item.folder_id
            self._reid(mailbox, item, folder)
            self.touch(item)
            call = Call(person=person, via="outlook")
            self._record(item, call, "move", {"parentFolderId": {"old": source, "new": folder.id}})
            return item

    def move(self, call: Call, mailbox: Mailbox, item: Item, folder: Folder) -> Item:
        """Move within the mailbox: delete rights here, create rights there; a new id."""
        with self.lock:
            self.check_delete(call.person, mailbox, item)
            self.check_create(call.person, mailbox, folder)
            self.check_change_key(item, call.if_match)
            source = item.folder_id
            self._reid(mailbox, item, folder)
            self.touch(item)
            self._record(item, call, "move", {"parentFolderId": {"old": source, "new": folder.id}})
            return item

    def delete(self, call: Call, mailbox: Mailbox, item: Item) -> None:
        """DELETE: Exchange moves the item to Deleted Items; from there it is gone for good.

        Only delete rights on the source are needed: Exchange itself does the move, so a
        delegate without rights on the owner's Deleted Items may still delete.
        """
        with self.lock:
            self.check_delete(call.person, mailbox, item)
            self.check_change_key(item, call.if_match)
            bin_ = self.well_known(mailbox, "deleteditems")
            assert bin_ is not None
            source = item.folder_id
            if source == bin_.id:
                del mailbox.items[item.id]
                item.deleted = True
                self._record(item, call, "delete", {"deleted": {"old": False, "new": True}})
                return
            self._reid(mailbox, item, bin_)
            self.touch(item)
            self._record(item, call, "delete", {"parentFolderId": {"old": source, "new": bin_.id}})

    def create(
        self, call: Call, mailbox: Mailbox, folder: Folder, data: dict[str, Any], kind: str
    ) -> Item:
        """A new item the caller creates in a folder (Write needed there)."""
        with self.lock:
            self.check_create(call.person, mailbox, folder)
            item = self.add_item(mailbox, folder, kind, call.person.upn, data)
            self._record(item, call, "create", {"parentFolderId": {"old": None, "new": folder.id}})
            return item

    def new_message(self, mailbox: Mailbox, message: dict[str, Any]) -> dict[str, Any]:
        """A draft's fields: what was posted, with Exchange's defaults for the rest."""
        now = now_iso()
        body = message.get("body") or {"contentType": "text", "content": ""}
        own = recipient(mailbox.display_name, mailbox.address)
        data: dict[str, Any] = {
            "subject": "",
            "body": body,
            "bodyPreview": preview(body),
            "from": own,
            "sender": own,
            "toRecipients": [],
            "ccRecipients": [],
            "bccRecipients": [],
            "replyTo": [],
            "receivedDateTime": now,
            "sentDateTime": now,
            "createdDateTime": now,
            "isRead": True,
            "isDraft": True,
            "importance": "normal",
            "hasAttachments": False,
            "categories": [],
            "flag": {"flagStatus": "notFlagged"},
            "conversationId": "AAQk" + uuid.uuid4().hex,
            "internetMessageId": self.message_id(mailbox),
        }
        data.update(copy.deepcopy({k: v for k, v in message.items() if k != "body"}))
        return data

    @staticmethod
    def message_id(mailbox: Mailbox) -> str:
        """A new RFC 2822 Message-ID."""
        return f"<{uuid.uuid4().hex.upper()}@{mailbox.address.split('@')[-1]}>"

    def response_draft(
        self,
        call: Call,
        mailbox: Mailbox,
        original: Item,
        action: str,
        *,
        comment: str | None,
        message: dict[str, Any],
        to: list[dict[str, Any]] | None,
    ) -> Item:
        """createReply / createReplyAll / createForward: a draft in this mailbox's Drafts."""
        with self.lock:
            drafts = self.well_known(mailbox, "drafts")
            assert drafts is not None
            data = self.new_message(mailbox, self._response_fields(mailbox, original, action, to))
            self._thread(data, original)
            body = message.get("body")
            if body is None:
                data["body"] = self._comment_body(comment, original)
            data.update(copy.deepcopy(message))
            data["bodyPreview"] = preview(data["body"])
            return self.create(call, mailbox, drafts, data, "message")

    @staticmethod
    def _thread(data: dict[str, Any], original: Item) -> None:
        """A response joins the original's conversation, one response level below it."""
        data["conversationId"] = original.data.get("conversationId", data["conversationId"])
        parent = original.data.get("conversationIndex")
        if isinstance(parent, str):
            seed = hashlib.sha256(str(data.get("internetMessageId")).encode()).digest()
            data["conversationIndex"] = conversation_index(seed, now_iso(), parent=parent)

    @staticmethod
    def _response_fields(
        mailbox: Mailbox, original: Item, action: str, to: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        o = original.data
        subject = str(o.get("subject", ""))
        prefix = "FW: " if action.endswith("Forward") else "RE: "
        if not subject.upper().startswith(prefix.strip()):
            subject = prefix + subject
        fields: dict[str, Any] = {"subject": subject}
        if action.endswith("Forward"):
            fields["toRecipients"] = copy.deepcopy(to or [])
            return fields
        # RFC 2822 and Graph: reply to replyTo when the original has one, else to its sender.
        reply_to = copy.deepcopy(o.get("replyTo") or [o.get("from")])
        fields["toRecipients"] = [r for r in reply_to if r]
        if action.endswith("ReplyAll"):
            me = mailbox.address.lower()
            seen = {address_of(r) for r in fields["toRecipients"]} | {me}
            for r in o.get("toRecipients", []):
                if address_of(r) not in seen:
                    fields["toRecipients"].append(copy.deepcopy(r))
                    seen.add(address_of(r))
            fields["ccRecipients"] = [
                copy.deepcopy(r) for r in o.get("ccRecipients", []) if address_of(r) not in seen
            ]
        return fields

    @classmethod
    def _comment_body(cls, comment: str | None, original: Item) -> dict[str, str]:
        """The HTML body Exchange makes of a `comment` and the original: the comment goes in
        as HTML (its markup is interpreted and its bare line breaks collapse, as people
        report of Graph's `comment`), the original quoted below it."""
        quoted = html.escape(cls._quote(original)).replace("\n", "<br>")
        return {
            "contentType": "html",
            "content": f"<html><body><div>{comment or ''}</div>{quoted}</body></html>",
        }

    @staticmethod
    def _quote(original: Item) -> str:
        o = original.data
        sender = (o.get("from") or {}).get("emailAddress", {})
        to = "; ".join(address_of(r) for r in o.get("toRecipients", []))
        return (
            "\n\n________________________________\n"
            f"From: {sender.get('name', '')} <{sender.get('address', '')}>\n"
            f"Sent: {o.get('sentDateTime', '')}\nTo: {to}\nSubject: {o.get('subject', '')}\n\n"
            + str((o.get("body") or {}).get("content", ""))
        )

    def sending_from(self, mailbox: Mailbox, data: dict[str, Any]) -> str:
        """The address a message will be sent from: its `from`, else the mailbox's own."""
        return address_of(data.get("from")) or mailbox.address.lower()

    def send(self, call: Call, mailbox: Mailbox, draft: Item) -> Item | None:
        """Send a draft of this mailbox; the draft becomes the sent copy in its Sent Items."""
        with self.lock:
            if not draft.data.get("isDraft"):
                raise ExchangeError(400, "ErrorInvalidRequest", "The message is not a draft.")
            return self._submit(call, mailbox, draft.data, draft=draft, save=True)

    def send_mail(
        self, call: Call, mailbox: Mailbox, message: dict[str, Any], *, save: bool
    ) -> Item | None:
        """sendMail: a new message sent at once; the copy in this mailbox's Sent Items."""
        with self.lock:
            data = self.new_message(mailbox, message)
            if "body" in message:
                data["body"] = copy.deepcopy(message["body"])
            return self._submit(call, mailbox, data, draft=None, save=save)

    def _submit(
        self,
        call: Call,
        mailbox: Mailbox,
        data: dict[str, Any],
        *,
        draft: Item | None,
        save: bool,
    ) -> Item | None:
        """Hand a message to transport with Exchange's Send As / Send on Behalf rules.

        Microsoft's "Send Outlook messages from another user": sending through a mailbox
        needs owning it or Full Access on it; sending as `from` F needs Send As on F (then
        sender = from = F) or Send on Behalf on F (sender = the person, from = F); Graph sets
        `sender` itself. The copy lands in the Sent Items of the mailbox sent through.
        """
        person = call.person
        if not self.full_rights(person, mailbox):
            raise access_denied()
        frm = self.sending_from(mailbox, data)
        me = recipient(person.name, person.upn)
        if frm == person.upn.lower():
            sender, from_ = me, me
        else:
            target = self.mailbox(frm)
            upn = person.upn.lower()
            if target is None or (upn not in target.send_as and upn not in target.send_on_behalf):
                raise ExchangeError(403, "ErrorSendAsDenied", SEND_AS_DENIED_MESSAGE)
            from_ = recipient(target.display_name, target.address)
            sender = from_ if upn in target.send_as else me
        recipients = [
            address_of(r)
            for key in ("toRecipients", "ccRecipients", "bccRecipients")
            for r in data.get(key) or []
        ]
        if not [r for r in recipients if r]:
            raise ExchangeError(
                400, "ErrorInvalidRecipients", "At least one recipient isn't valid."
            )
        now = now_iso()
        data.update(sender=sender, sentDateTime=now, receivedDateTime=now, isDraft=False)
        data["from"] = from_
        copy_item: Item | None = None
        sent_items = self.well_known(mailbox, "sentitems")
        assert sent_items is not None
        if draft is not None:
            drafts_folder = draft.folder_id
            if save:
                self._reid(mailbox, draft, sent_items)
                self.touch(draft)
                self._record(
                    draft,
                    call,
                    "send",
                    {"parentFolderId": {"old": drafts_folder, "new": sent_items.id}},
                )
                copy_item = draft
            else:
                del mailbox.items[draft.id]
                draft.deleted = True
                self._record(draft, call, "send", {"deleted": {"old": False, "new": True}})
        elif save:
            copy_item = self.add_item(mailbox, sent_items, "message", person.upn, data)
            self._record(copy_item, call, "send")
        self._deliver(call, mailbox, data, copy_item)
        return copy_item

    def _deliver(
        self, call: Call, mailbox: Mailbox, data: dict[str, Any], copy_item: Item | None
    ) -> None:
        """Record the message once in the deliveries log, and put it in each known Inbox."""
        delivered = []
        for key in ("toRecipients", "ccRecipients", "bccRecipients"):
            for r in data.get(key) or []:
                box = self.mailbox(address_of(r))
                if box is None or box.address in delivered:
                    continue
                inbox = self.well_known(box, "inbox")
                assert inbox is not None
                received = copy.deepcopy(data)
                received.update(isRead=False, isDraft=False, bccRecipients=[], categories=[])
                received["flag"] = {"flagStatus": "notFlagged"}
                item = self.add_item(box, inbox, "message", box.address, received)
                self._record(item, None, "deliver", fromMailbox=mailbox.address)
                delivered.append(box.address)
        self.deliveries.append(
            {
                "time": now_iso(),
                "by": call.person.upn,
                "mailbox": mailbox.address,
                "from": address_of(data.get("from")),
                "sender": address_of(data.get("sender")),
                "to": [address_of(r) for r in data.get("toRecipients") or []],
                "cc": [address_of(r) for r in data.get("ccRecipients") or []],
                "bcc": [address_of(r) for r in data.get("bccRecipients") or []],
                "subject": data.get("subject", ""),
                "internetMessageId": data.get("internetMessageId"),
                "clientRequestId": call.client_request_id,
                "sentCopy": copy_item.id if copy_item else None,
                "sentCopyIn": mailbox.address if copy_item else None,
                "deliveredTo": delivered,
            }
        )

    def send_now(
        self,
        call: Call,
        mailbox: Mailbox,
        original: Item,
        action: str,
        *,
        comment: str | None,
        message: dict[str, Any],
        to: list[dict[str, Any]] | None,
    ) -> Item | None:
        """reply / replyAll / forward: the response sent at once, its copy in Sent Items."""
        with self.lock:
            if not self.full_rights(call.person, mailbox):
                raise access_denied()
            fields = self._response_fields(
                mailbox, original, "create" + action[0].upper() + action[1:], to
            )
            data = self.new_message(mailbox, fields)
            self._thread(data, original)
            if message.get("body") is None:
                data["body"] = self._comment_body(comment, original)
            data.update(copy.deepcopy(message))
            data["bodyPreview"] = preview(data["body"])
            return self._submit(call, mailbox, data, draft=None, save=True)

    def respond(
        self,
        call: Call,
        mailbox: Mailbox,
        event: Item,
        action: str,
        *,
        comment: str,
        send_response: bool,
    ) -> Item:
        """accept / tentativelyAccept / decline: the event's responseStatus, and a reply."""
        with self.lock:
            self.check_edit(call.person, mailbox, event)
            organizer = address_of(event.data.get("organizer"))
            if organizer == mailbox.address.lower():
                raise ExchangeError(
                    400,
                    ORGANIZER_ERRORS[action],
                    "Your request can't be completed. You can't respond to a meeting you "
                    "organized.",
                )
            response = {"response": RESPONSES[action], "time": now_iso()}
            self._apply(call, event, {"responseStatus": response}, action)
            if send_response and organizer:
                upn = call.person.upn.lower()
                # The owner answers as themselves; anyone else answers on the owner's behalf.
                upn_acts_as_owner = mailbox.owner_upn == upn or upn in mailbox.send_as
                owner = recipient(mailbox.display_name, mailbox.address)
                acting = recipient(call.person.name, call.person.upn)
                words = {"accept": "Accepted", "tentativelyAccept": "Tentative"}
                data = {
                    "subject": f"{words.get(action, 'Declined')}: {event.data.get('subject', '')}",
                    "body": {"contentType": "text", "content": comment},
                    "from": owner,
                    "sender": owner if upn_acts_as_owner else acting,
                    "toRecipients": [copy.deepcopy(event.data["organizer"])],
                    "internetMessageId": self.message_id(mailbox),
                }
                self._deliver(call, mailbox, data, None)
            return event
