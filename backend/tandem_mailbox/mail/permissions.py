"""The six delegate permission bits Office reports, and which action needs which.

Office.MailboxEnums.DelegatePermissions: Read 1, Write 2, DeleteOwn 4, DeleteAll 8,
EditOwn 16, EditAll 32. Graph exposes no item creator, so "own" rights are Exchange's to
judge: the backend refuses early only when no bit could allow the action. This module is the
one owner of the table: the task pane renders what `describe` answers.
"""

from __future__ import annotations

from dataclasses import dataclass

BITS: dict[str, int] = {
    "read": 1,
    "write": 2,
    "deleteOwn": 4,
    "deleteAll": 8,
    "editOwn": 16,
    "editAll": 32,
}
ALL_BITS = 63
LABELS: dict[str, str] = {
    "read": "Read items",
    "write": "Create items",
    "deleteOwn": "Delete own items",
    "deleteAll": "Delete all items",
    "editOwn": "Edit own items",
    "editAll": "Edit all items",
}


@dataclass(frozen=True)
class Need:
    """What an action needs: every bit of `all_of` and at least one of `any_of`."""

    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()


_EDIT = Need(all_of=("read",), any_of=("editOwn", "editAll"))
ACTIONS: dict[str, Need] = {
    "claim": _EDIT,
    "release": _EDIT,
    "categorize": _EDIT,
    "flag": _EDIT,
    "markRead": _EDIT,
    "markUnread": _EDIT,
    "move": Need(all_of=("read", "write"), any_of=("deleteOwn", "deleteAll")),
    "delete": Need(all_of=("read",), any_of=("deleteOwn", "deleteAll")),
    "reply": Need(all_of=("read",)),
    "replyAll": Need(all_of=("read",)),
    "forward": Need(all_of=("read",)),
    # A delegate answers a meeting for the calendar's owner with edit rights on it (Exchange
    # updates the owner's copy) and create rights (the response is a new item).
    "respond": Need(all_of=("read", "write"), any_of=("editOwn", "editAll")),
    # The team's record: assigning writes the owner's claim category on the item; the status
    # and the notes are Tandem's alone, for anyone who may read the item.
    "assign": _EDIT,
    "status": Need(all_of=("read",)),
    "note": Need(all_of=("read",)),
    "editNote": Need(all_of=("read",)),
    "deleteNote": Need(all_of=("read",)),
}
# The record's actions: a message's conversation (the pane's record card offers them).
RECORD: tuple[str, ...] = ("assign", "status", "note", "editNote", "deleteNote")
# Which actions each item type offers, in the order the pane shows them.
BY_TYPE: dict[str, tuple[str, ...]] = {
    "message": (
        "claim",
        "release",
        "categorize",
        "flag",
        "markRead",
        "markUnread",
        "move",
        "delete",
        "reply",
        "replyAll",
        "forward",
    ),
    "appointment": ("claim", "release", "categorize", "respond"),
}


def decode(bits: int) -> dict[str, bool]:
    """The bitmask as one boolean per permission."""
    return {name: bool(bits & value) for name, value in BITS.items()}


def missing(action: str, bits: int) -> list[str]:
    """The permissions `bits` lack for `action`: empty when it may be tried."""
    need = ACTIONS[action]
    have = decode(bits)
    lacking = [name for name in need.all_of if not have[name]]
    if need.any_of and not any(have[name] for name in need.any_of):
        lacking.append(" or ".join(need.any_of))
    return lacking


def describe(
    bits: int,
    item_type: str = "message",
    *,
    holder: dict[str, str] | None = None,
    me: str = "",
    owner: bool = False,
    organizer: bool = False,
) -> dict[str, dict[str, object]]:
    """For every action of the item type whether it is allowed and, if not, why.

    `holder` is the claim on the item (or None), `me` the caller's upn, `owner` whether the
    item is in the caller's own mailbox (an owner may release anyone's claim), `organizer`
    whether the mailbox organizes the meeting (Exchange refuses an organizer's own response).
    """
    result: dict[str, dict[str, object]] = {}
    mine = holder is not None and holder["upn"] == me.lower()
    for action in BY_TYPE[item_type]:
        lacking = missing(action, bits)
        if lacking:
            words = [" or ".join(LABELS[p] for p in item.split(" or ")) for item in lacking]
            result[action] = refused("Needs the permission: " + "; ".join(words), lacking)
        elif action == "claim" and holder is not None:
            who = "You hold" if mine else f"{holder['name'] or holder['upn']} holds"
            result[action] = refused(f"{who} the claim on this item.")
        elif action == "respond" and organizer:
            result[action] = refused(
                "This mailbox organizes the meeting: there is no invitation to answer."
            )
        elif action == "release" and holder is None:
            result[action] = refused("Nobody holds a claim on this item.")
        elif action == "release" and not (mine or owner):
            name = holder["name"] or holder["upn"] if holder else ""
            result[action] = refused(
                f"{name} holds the claim; only they or the mailbox's owner can release it."
            )
        else:
            result[action] = {"allowed": True}
    return result


def refused(reason: str, lacking: list[str] | None = None) -> dict[str, object]:
    """An action the pane shows disabled, with the sentence that says why."""
    return {"allowed": False, "missing": list(lacking or []), "reason": reason}
