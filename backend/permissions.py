"""The six delegate permission bits Office reports, and which action needs which.

Office.MailboxEnums.DelegatePermissions: Read 1, Write 2, DeleteOwn 4, DeleteAll 8,
EditOwn 16, EditAll 32. Graph exposes no item creator, so "own" rights are Exchange's to
judge: the backend refuses early only when no bit could allow the action. The task pane
mirrors this table in taskpane/permissions.js; tests/test_permissions.py keeps them equal.
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


def table() -> dict[str, dict[str, list[str]]]:
    """The action table as plain data (what the task pane mirrors)."""
    return {
        action: {"allOf": list(need.all_of), "anyOf": list(need.any_of)}
        for action, need in ACTIONS.items()
    }


def describe(bits: int) -> dict[str, object]:
    """For every action whether it is allowed and, if not, which permission it lacks."""
    result: dict[str, object] = {}
    for action in ACTIONS:
        lacking = missing(action, bits)
        if lacking:
            words = [" or ".join(LABELS[p] for p in item.split(" or ")) for item in lacking]
            result[action] = {
                "allowed": False,
                "missing": lacking,
                "reason": "Needs the permission: " + "; ".join(words),
            }
        else:
            result[action] = {"allowed": True}
    return result
