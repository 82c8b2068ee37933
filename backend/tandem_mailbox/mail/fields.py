"""The fields each action takes, validated before anything reaches Entra ID or Graph.

Each parser answers the action's fields or raises InvalidRequest naming the `field`.
"""

from __future__ import annotations

import re
from typing import Any

from tandem_mailbox.errors import InvalidRequest
from tandem_mailbox.mail import claim_category as claims
from tandem_mailbox.mail.context import is_address, is_item_id

MAX_NAMES = 25
# A comment's limit in characters: Unicode code points, as Python's len() counts them (in
# JavaScript, [...text].length; a textarea's maxlength counts UTF-16 code units, so an emoji
# counts twice there). The body limit (web/wsgi.py's MAX_BODY) is sized so that this
# limit, not the body's, is the one a person meets, whatever the script and the encoding.
MAX_COMMENT = 32_000
# The most bytes one character of a JSON string can take on the wire: 1-4 in UTF-8 (CJK 3, an
# emoji 4), 6 as a \uXXXX escape, 12 as an escaped surrogate pair ("\ud83d\ude00"), which is
# what json.dumps sends by default for any character beyond the Basic Multilingual Plane.
MAX_JSON_CHAR_BYTES = 12
MAX_RECIPIENTS = 50
MAX_NOTE = 4_000  # characters (code points), as the comment's
STATUSES = ("open", "pending", "done")
# A note keeps line breaks and tabs; no other control character, and none of the bidi
# embeddings and overrides that make text read otherwise than it is stored (U+202A-U+202E,
# U+2066-U+2069; the marks U+200E/U+200F that right-to-left writing needs stay).
_NOTE_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FLAGS = ("flagged", "complete", "notFlagged")
RESPONSES = ("accept", "tentativelyAccept", "decline")
# Graph's well-known folder names a person may move an item to (mailFolder resource).
WELL_KNOWN = ("inbox", "archive", "deleteditems", "junkemail", "drafts", "sentitems")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def names(body: dict[str, Any], key: str, *, adding: bool) -> list[str]:
    """Category names to add or remove, validated; each is named by `key[n]` when refused.

    A name to add is written for everyone to see: it may hold no invisible or bidi character
    and may not read like a claim (`Tandem:` after NFKD and a look-alike skeleton). A name to
    remove only matches one already on the item, so the team can clean such names away.
    """
    value = body.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_NAMES:
        raise InvalidRequest(f"{key} must be a list of at most {MAX_NAMES} names.", field=key)
    names: list[str] = []
    for n, name in enumerate(value):
        where = f"{key}[{n}]"
        if not isinstance(name, str) or not 0 < len(name.strip()) <= claims.MAX_CATEGORY:
            raise InvalidRequest("A category name has 1 to 255 characters.", field=where)
        if "," in name or _CONTROL.search(name):
            raise InvalidRequest(
                "A category name holds no comma (Outlook splits names at commas) and no "
                "control character.",
                field=where,
            )
        if adding and (bad := claims.refused_character(name)) is not None:
            raise InvalidRequest(
                f"A category name holds no invisible, direction-changing or unassigned "
                f"character (U+{ord(bad):04X}): Outlook would show something else than it holds.",
                field=where,
            )
        if claims.is_claim(name) or (adding and claims.looks_like_claim(name)):
            raise InvalidRequest(
                "Tandem's claim categories change only through claim and release (and a name "
                "that reads like one can't be added).",
                field=where,
            )
        if name.strip().lower() not in {n.lower() for n in names}:
            names.append(name.strip())
    return names


def categorize(body: dict[str, Any]) -> dict[str, Any]:
    add, remove = names(body, "add", adding=True), names(body, "remove", adding=False)
    if not add and not remove:
        raise InvalidRequest("Name at least one category to add or remove.", field="add")
    overlap = {n.lower() for n in add} & {n.lower() for n in remove}
    if overlap:
        raise InvalidRequest("A category can't be both added and removed.", field="remove")
    return {"add": add, "remove": remove}


def flag(body: dict[str, Any]) -> dict[str, Any]:
    flag = body.get("flag")
    if not isinstance(flag, str) or flag not in FLAGS:
        raise InvalidRequest("flag must be flagged, complete or notFlagged.", field="flag")
    return {"flag": flag}


def folder(body: dict[str, Any]) -> dict[str, Any]:
    folder = body.get("folder")
    if not isinstance(folder, str) or not 0 < len(folder) <= 1024 or _CONTROL.search(folder):
        raise InvalidRequest(
            "folder must be a well-known name, a folder id or a path such as Inbox/Escalations.",
            field="folder",
        )
    if not is_folder_id(folder) and folder.lower() not in WELL_KNOWN:
        segments = [s.strip() for s in folder.strip("/").split("/")]
        if not 0 < len(segments) <= 10 or not all(0 < len(s) <= 255 for s in segments):
            raise InvalidRequest(
                "A folder path has 1 to 10 names of 1 to 255 characters.", "folder"
            )
    return {"folder": folder}


def comment(body: dict[str, Any]) -> str:
    comment = body.get("comment", "")
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT or "\x00" in comment:
        raise InvalidRequest(f"comment is text of at most {MAX_COMMENT} characters.", "comment")
    return comment


def boolean(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise InvalidRequest(f"{key} must be true or false.", field=key)
    return value


def reply(body: dict[str, Any]) -> dict[str, Any]:
    return {"comment": comment(body), "send": boolean(body, "send", False)}


def forward(body: dict[str, Any]) -> dict[str, Any]:
    recipients = body.get("toRecipients")
    if not isinstance(recipients, list) or not 0 < len(recipients) <= MAX_RECIPIENTS:
        raise InvalidRequest(
            f"toRecipients must list 1 to {MAX_RECIPIENTS} addresses.", field="toRecipients"
        )
    addresses: list[str] = []
    for n, address in enumerate(recipients):
        if not is_address(address) or len(address) > 320:
            raise InvalidRequest("Each recipient is an email address.", f"toRecipients[{n}]")
        if address.lower() not in {a.lower() for a in addresses}:
            addresses.append(address)
    return {**reply(body), "toRecipients": addresses}


def respond(body: dict[str, Any]) -> dict[str, Any]:
    response = body.get("response")
    if not isinstance(response, str) or response not in RESPONSES:
        raise InvalidRequest(
            "response must be accept, tentativelyAccept or decline.", field="response"
        )
    return {
        "response": response,
        "comment": comment(body),
        "sendResponse": boolean(body, "sendResponse", True),
    }


def nothing(body: dict[str, Any]) -> dict[str, Any]:
    return {}


def is_folder_id(value: str) -> bool:
    """Exchange folder ids are long base64url strings (AAMk... / AQMk...), never a name."""
    return len(value) >= 60 and value[:2] in ("AA", "AQ") and is_item_id(value)


def assignee(body: dict[str, Any]) -> dict[str, Any]:
    """`assignee`: a member's address, or null for nobody (checked against the members later)."""
    if "assignee" not in body:
        raise InvalidRequest("assignee is a member's address, or null.", field="assignee")
    value = body["assignee"]
    if value is not None and not (isinstance(value, str) and is_address(value)):
        raise InvalidRequest("assignee is a member's address, or null.", field="assignee")
    return {"assignee": value}


def status(body: dict[str, Any]) -> dict[str, Any]:
    """`status`: open, pending (waiting on the customer) or done."""
    value = body.get("status")
    if not isinstance(value, str) or value not in STATUSES:
        raise InvalidRequest("status must be open, pending or done.", field="status")
    return {"status": value}


def note_text(body: dict[str, Any]) -> str:
    """A note's text: 1 to 4,000 characters, line breaks kept (as \n), nothing invisible."""
    text = body.get("text")
    if not isinstance(text, str):
        raise InvalidRequest("text is the note, 1 to 4,000 characters.", field="text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip() or len(text) > MAX_NOTE:
        raise InvalidRequest(
            f"A note is 1 to {MAX_NOTE:,} characters (this one has {len(text):,}).", field="text"
        )
    if _NOTE_REFUSED.search(text):
        raise InvalidRequest(
            "A note may not hold control characters or bidirectional overrides.", field="text"
        )
    return text


def note(body: dict[str, Any]) -> dict[str, Any]:
    """A new note."""
    return {"text": note_text(body)}


def note_id(body: dict[str, Any]) -> dict[str, Any]:
    """The note an edit or a deletion is about."""
    value = body.get("noteId")
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise InvalidRequest("noteId is the id of a note of this conversation.", field="noteId")
    return {"noteId": value}


def note_edit(body: dict[str, Any]) -> dict[str, Any]:
    """A note's new text."""
    return {**note_id(body), "text": note_text(body)}
