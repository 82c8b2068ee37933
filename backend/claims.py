"""Tandem's claim categories: `Tandem: <name> (<upn>)`, readable in Outlook, matched by the upn.

A claim is a category on the item, because categories are the one thing every person with
access sees in every Outlook (open extensions on shared-mailbox messages have been reported to
answer 403 with Mail.ReadWrite.Shared, and extended properties sync to Outlook late). The colour
comes from each viewing mailbox's master list, which delegated Graph cannot edit: the README
tells the admin how to pre-create it. Classic Outlook may split category names at commas, so a
claim name never holds one.
"""

from __future__ import annotations

import re
from typing import Any

PREFIX = "Tandem:"
MAX_CATEGORY = 255
_CLAIM = re.compile(r"Tandem: (?P<name>[^()]*) \((?P<upn>[^()\s,]+@[^()\s,]+)\)", re.IGNORECASE)
_UNSAFE = re.compile(r"[,()\x00-\x1f\x7f]+")


def category_for(name: str, upn: str) -> str:
    """The claim category of one person: stable as long as their upn is."""
    clean = " ".join(_UNSAFE.sub(" ", name or "").split()) or upn.split("@", 1)[0]
    room = MAX_CATEGORY - len(f"{PREFIX}  ({upn})")
    return f"{PREFIX} {clean[: max(1, room)]} ({upn.lower()})"


def is_claim(category: str) -> bool:
    """Whether a category name is one of Tandem's (claims can't be set through categorize)."""
    return category.strip().lower().startswith(PREFIX.lower())


def holder(categories: Any) -> dict[str, str] | None:
    """The person whose claim is on the item (the first, should several be), or None."""
    for category in categories if isinstance(categories, list) else []:
        match = _CLAIM.fullmatch(str(category).strip())
        if match:
            return {"upn": match["upn"].lower(), "name": match["name"].strip()}
    return None


def claims_of(categories: list[str], upn: str) -> list[str]:
    """The categories that are this person's claim (matched by upn, whatever the name says)."""
    return [c for c in categories if (h := holder([c])) is not None and h["upn"] == upn.lower()]
