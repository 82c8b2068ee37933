"""Folders of the target mailbox: a move's destination resolved, and the list for the picker.

Folders change rarely, and a move that looked its destination up every time would pay a Graph
round trip (or one per segment of a path) for an answer it had a minute ago. So what Graph
showed a person of a mailbox's folders (the picker's list, and each name resolved) is
remembered for FOLDERS_TTL in the coordinator, where every worker finds it; a name not in it
is resolved through Graph and added. It is kept per person and mailbox, not per mailbox: a
delegate sees only the folders shared with them, and a folder's name is shown only to someone
Exchange showed it to. A destination that has gone since is found out by the move itself
(actions.py resolves the name afresh then).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, overload
from urllib.parse import quote

from tandem_mailbox.errors import InvalidRequest, ItemNotFound, MailboxAccessDenied
from tandem_mailbox.mail.fields import WELL_KNOWN, is_folder_id
from tandem_mailbox.mail.operation import Act

# How long what Graph showed of a mailbox's folders stands for them: a folder made, renamed
# or removed in Outlook shows in the picker and the moves after at most this much later.
FOLDERS_TTL = 300.0
MAX_KEPT = 1000  # folders remembered per person and mailbox (the picker lists 200 at most)


def _folder(answer: dict[str, Any], well_known: str | None = None) -> dict[str, Any]:
    return {
        "id": str(answer.get("id", "")),
        "name": str(answer.get("displayName", "")),
        "wellKnownName": well_known,
        "parentId": answer.get("parentFolderId"),
    }


def shown(folder: dict[str, Any]) -> dict[str, Any]:
    """A folder as an action's result names it."""
    return {"id": folder["id"], "name": folder["name"], "wellKnownName": folder["wellKnownName"]}


def _name_key(name: str) -> str:
    """How a destination is looked up: a well-known name, an id, or a path (case-insensitive)."""
    if name.lower() in WELL_KNOWN:
        return "wk:" + name.lower()
    if is_folder_id(name):
        return "id:" + name
    return "path:" + "/".join(s.strip().lower() for s in name.strip("/").split("/"))


class _Memory:
    """What Graph showed this person of this mailbox's folders, in the coordinator."""

    def __init__(self, act: Act):
        self._act = act
        who = f"{act.caller.tid}\n{act.caller.oid}\n{act.route.key}"
        self._key = "folders:" + hashlib.sha256(who.encode()).hexdigest()
        raw = act.coordinator.fetch(self._key)
        data: Any = None
        if raw:
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
        data = data if isinstance(data, dict) else {}
        names = data.get("names")
        self.names: dict[str, dict[str, Any] | None] = names if isinstance(names, dict) else {}
        listed = data.get("list")
        self.listed: list[dict[str, Any]] | None = listed if isinstance(listed, list) else None

    def save(self) -> None:
        """Keep what is known now, for FOLDERS_TTL."""
        while len(self.names) > MAX_KEPT:
            self.names.pop(next(iter(self.names)))
        data = {"names": self.names, "list": self.listed}
        self._act.coordinator.store(
            self._key, json.dumps(data, separators=(",", ":")).encode(), ttl=FOLDERS_TTL
        )

    def forget(self) -> None:
        """Drop everything: a remembered destination turned out to be gone."""
        self.names, self.listed = {}, None
        self._act.coordinator.store(self._key, b"{}", ttl=FOLDERS_TTL)


@overload
def resolve(act: Act, name: str, *, quiet: Literal[False] = False) -> dict[str, Any]: ...
@overload
def resolve(act: Act, name: str, *, quiet: bool) -> dict[str, Any] | None: ...
def resolve(act: Act, name: str, *, quiet: bool = False) -> dict[str, Any] | None:
    """A well-known name, a folder id, or a path like Inbox/Escalations, as {"id", "name", ...}:
    remembered, else through Graph (and remembered). `quiet`: None when Exchange refuses it
    or has none (remembered too), rather than an error."""
    memory = _Memory(act)
    key = _name_key(name)
    if key in memory.names:
        known = memory.names[key]
        if isinstance(known, dict):
            return dict(known, remembered=True, asked=name)
        if quiet:
            return None
    try:
        found = _resolve(act, name)
    except (ItemNotFound, MailboxAccessDenied, InvalidRequest):
        if not quiet:
            raise
        memory.names[key] = None
        memory.save()
        return None
    memory.names[key] = found
    memory.save()
    return found


def resolve_again(act: Act, folder: dict[str, Any]) -> dict[str, Any] | None:
    """A remembered destination, after Exchange said it is gone: everything remembered of the
    mailbox's folders dropped, and the name the action asked for resolved through Graph."""
    _Memory(act).forget()
    asked = folder.get("asked")
    return resolve(act, asked) if isinstance(asked, str) else None


def refused(act: Act, well_known: str) -> None:
    """Remember that Exchange refused this person a well-known folder (a delegate's Deleted
    Items): the next delete goes to Exchange's own DELETE at once."""
    memory = _Memory(act)
    memory.names[_name_key(well_known)] = None
    memory.save()


def _resolve(act: Act, name: str) -> dict[str, Any]:
    """`resolve` through Graph: one call for a well-known name or an id, one per segment of
    a path (after its first, when that is a well-known name)."""
    select = {"$select": "id,displayName,parentFolderId"}
    try:
        if name.lower() in WELL_KNOWN:
            found = act.call("GET", act.route, f"/mailFolders/{name.lower()}", params=select)
            return _folder(found.body, name.lower())
        if is_folder_id(name):
            found = act.call(
                "GET", act.route, f"/mailFolders/{quote(name, safe='')}", params=select
            )
            return _folder(found.body)
    except ItemNotFound:
        raise InvalidRequest(f"There is no folder '{name}' in this mailbox.", "folder") from None
    segments = [s.strip() for s in name.strip("/").split("/")]
    first = segments[0].lower()
    here: dict[str, Any] | None = None
    if first in WELL_KNOWN or first.replace(" ", "") in WELL_KNOWN:
        here = resolve(act, first.replace(" ", ""))
        segments = segments[1:]
    for segment in segments:
        path = f"/mailFolders/{quote(here['id'], safe='')}/childFolders" if here else "/mailFolders"
        children = act.call("GET", act.route, path, params={**select, "$top": "250"})
        match = next(
            (
                f
                for f in children.body.get("value") or []
                if str(f.get("displayName", "")).lower() == segment.lower()
            ),
            None,
        )
        if match is None:
            where = f" under '{here['name']}'" if here else ""
            raise InvalidRequest(f"There is no folder '{segment}'{where}.", field="folder")
        here = _folder(match)
    assert here is not None
    return {k: v for k, v in here.items() if k not in ("remembered", "asked")}


def listing(act: Act, *, limit: int = 200) -> list[dict[str, Any]]:
    """The folders of the mailbox the person can see, each with its path, for the move picker
    (remembered for FOLDERS_TTL, each one then found by id, path and well-known name)."""
    memory = _Memory(act)
    if memory.listed is not None:
        return memory.listed
    one = {"$select": "id,displayName,parentFolderId,childFolderCount"}
    select = {**one, "$top": "250"}
    well_known: dict[str, str] = {}
    seen: dict[str, dict[str, Any]] = {}
    for name in WELL_KNOWN:
        try:
            found = act.call("GET", act.route, f"/mailFolders/{name}", params=one)
        except (ItemNotFound, MailboxAccessDenied):
            memory.names[_name_key(name)] = None
            continue
        well_known[str(found.body.get("id"))] = name
        seen[name] = found.body
    try:
        queue = [
            (f, "")
            for f in act.call("GET", act.route, "/mailFolders", params=select).body.get("value")
            or []
        ]
    except MailboxAccessDenied:
        # A delegate sees only the folders shared with them: start from those Graph names.
        queue = []
        for name in ("inbox", "calendar"):
            if name in seen:
                queue.append((seen[name], ""))
                continue
            try:
                queue.append(
                    (act.call("GET", act.route, f"/mailFolders/{name}", params=one).body, "")
                )
            except (ItemNotFound, MailboxAccessDenied):
                continue
    folders: list[dict[str, Any]] = []
    while queue and len(folders) < limit:
        raw, parent_path = queue.pop(0)
        folder = _folder(raw, well_known.get(str(raw.get("id"))))
        folder["path"] = f"{parent_path}/{folder['name']}" if parent_path else folder["name"]
        folders.append(folder)
        if int(raw.get("childFolderCount") or 0) > 0 and folder["path"].count("/") < 5:
            try:
                children = act.call(
                    "GET",
                    act.route,
                    f"/mailFolders/{quote(folder['id'], safe='')}/childFolders",
                    params=select,
                )
            except (ItemNotFound, MailboxAccessDenied):
                continue
            queue.extend((child, folder["path"]) for child in children.body.get("value") or [])
    for folder in folders:
        entry = {k: v for k, v in folder.items() if k != "path"}
        memory.names["id:" + folder["id"]] = entry
        memory.names[_name_key(folder["path"])] = entry
        if folder["wellKnownName"]:
            memory.names["wk:" + folder["wellKnownName"]] = entry
    memory.listed = folders
    memory.save()
    return folders
