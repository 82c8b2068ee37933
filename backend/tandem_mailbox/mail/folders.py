"""Folders of the target mailbox: a move's destination resolved, and the list for the picker."""

from __future__ import annotations

from typing import Any, Literal, overload
from urllib.parse import quote

from tandem_mailbox.errors import InvalidRequest, ItemNotFound, MailboxAccessDenied
from tandem_mailbox.mail.fields import WELL_KNOWN, is_folder_id
from tandem_mailbox.mail.operation import Act


def _folder(answer: dict[str, Any], well_known: str | None = None) -> dict[str, Any]:
    return {
        "id": str(answer.get("id", "")),
        "name": str(answer.get("displayName", "")),
        "wellKnownName": well_known,
        "parentId": answer.get("parentFolderId"),
    }


@overload
def resolve(act: Act, name: str, *, quiet: Literal[False] = False) -> dict[str, Any]: ...
@overload
def resolve(act: Act, name: str, *, quiet: bool) -> dict[str, Any] | None: ...
def resolve(act: Act, name: str, *, quiet: bool = False) -> dict[str, Any] | None:
    """A well-known name, a folder id, or a path like Inbox/Escalations, as {"id", "name", ...}."""
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
    except (ItemNotFound, MailboxAccessDenied) as error:
        if quiet:
            return None
        if isinstance(error, MailboxAccessDenied):
            raise  # Exchange refused: the person has no rights on that folder
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
    return here


def listing(act: Act, *, limit: int = 200) -> list[dict[str, Any]]:
    """The folders of the mailbox the person can see, each with its path, for the move picker."""
    select = {"$select": "id,displayName,parentFolderId,childFolderCount", "$top": "250"}
    well_known: dict[str, str] = {}
    for name in WELL_KNOWN:
        try:
            found = act.call("GET", act.route, f"/mailFolders/{name}", params={"$select": "id"})
            well_known[str(found.body.get("id"))] = name
        except (ItemNotFound, MailboxAccessDenied):
            continue
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
            try:
                queue.append(
                    (act.call("GET", act.route, f"/mailFolders/{name}", params=select).body, "")
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
    return folders
