"""An in-memory Exchange Online: mailboxes, folders, items, delegate rights, Send As / on Behalf.

Item ids look like Exchange's: base64 of 00 03 24 00, the mailbox GUID in ASCII, and the
item's own key, so an id tells which mailbox it belongs to (ErrorInvalidMailboxItemId) and
its EWS form (standard base64) differs from its REST form (`/` -> `-`, `+` -> `_`).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import random
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

ID_PREFIX = b"\x00\x03\x24\x00"
ID_MIDDLE = b"\x00\x46\x00\x00"
ALL_BITS = 63
WELL_KNOWN = ("inbox", "drafts", "sentitems", "deleteditems", "archive", "calendar")


def rest_id(ews_id: str) -> str:
    """Office's convertToRestId(v2.0): the URL-safe alphabet."""
    return ews_id.replace("/", "-").replace("+", "_")


def ews_id(rest: str) -> str:
    """The inverse of rest_id: what item.itemId shows in Office."""
    return rest.replace("-", "/").replace("_", "+")


def decode_id(rest: str) -> str | None:
    """The mailbox GUID an item id belongs to, or None when the id is malformed."""
    if not rest or len(rest) > 1024:
        return None
    try:
        raw = base64.b64decode(ews_id(rest), validate=True)
    except (ValueError, TypeError):
        return None
    if not raw.startswith(ID_PREFIX) or len(raw) < len(ID_PREFIX) + 36 + len(ID_MIDDLE) + 8:
        return None
    guid = raw[len(ID_PREFIX) : len(ID_PREFIX) + 36]
    try:
        return str(uuid.UUID(guid.decode("ascii")))
    except (ValueError, UnicodeDecodeError):
        return None


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
    """A message or an event."""

    id: str
    kind: str  # "message" or "event"
    folder_id: str
    created_by: str  # upn of the person whose own item this is
    data: dict[str, Any]
    change_key: str = ""
    version: int = 0


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


class Exchange:
    """The whole store, guarded by one lock."""

    def __init__(self, seed: int = 7):
        self.lock = threading.RLock()
        self.people: dict[str, Person] = {}  # by lower-case upn
        self.mailboxes: dict[str, Mailbox] = {}  # by lower-case address
        self._by_guid: dict[str, Mailbox] = {}
        self._rng = random.Random(seed)

    # -- building -------------------------------------------------------------------------
    def guid(self) -> str:
        """A deterministic GUID (the seed makes the world the same on every run)."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def add_person(self, person: Person) -> Person:
        """Register a person."""
        self.people[person.upn.lower()] = person
        return person

    def add_mailbox(self, mailbox: Mailbox) -> Mailbox:
        """Register a mailbox with its well-known folders."""
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
        raw = ID_PREFIX + mailbox.guid.encode() + b"\x00\x2e\x00\x00" + self._rng.randbytes(22)
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
        )
        self.touch(item)
        mailbox.items[item.id] = item
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

    def mailbox_by_guid(self, guid: str) -> Mailbox | None:
        """The mailbox an id's GUID names."""
        return self._by_guid.get(guid)

    def well_known(self, mailbox: Mailbox, name: str) -> Folder | None:
        """A well-known folder of the mailbox."""
        return next((f for f in mailbox.folders.values() if f.well_known == name), None)

    def rights(self, person: Person, mailbox: Mailbox, folder: Folder) -> int:
        """The delegate bits the person has on the folder (owner and Full Access: all)."""
        upn = person.upn.lower()
        if mailbox.owner_upn == upn or upn in mailbox.full_access:
            return ALL_BITS
        return folder.permissions.get(upn, 0)

    def any_access(self, person: Person, mailbox: Mailbox) -> bool:
        """Whether the person can open the mailbox at all."""
        upn = person.upn.lower()
        if mailbox.owner_upn == upn or upn in mailbox.full_access:
            return True
        return any(f.permissions.get(upn, 0) for f in mailbox.folders.values())

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the items (for tests that compare before and after)."""
        with self.lock:
            return {
                address: {i.id: copy.deepcopy(i.data) for i in mb.items.values()}
                for address, mb in self.mailboxes.items()
            }


def now_iso() -> str:
    """Graph's timestamp format."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
