"""Tandem's claim categories: `Tandem: <name> (<upn>)`, readable in Outlook, matched by the upn.

A claim is a category on the item, because categories are the one thing every person with
access sees in every Outlook (open extensions on shared-mailbox messages have been reported to
answer 403 with Mail.ReadWrite.Shared, and extended properties sync to Outlook late). The colour
comes from each viewing mailbox's master list, which delegated Graph cannot edit
(docs/outlook.md says what a person can do about it). Classic Outlook may split category names
at commas, so a claim name never holds one.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

PREFIX = "Tandem:"
MAX_CATEGORY = 255
_CLAIM = re.compile(r"Tandem: (?P<name>[^()]*) \((?P<upn>[^()\s,]+@[^()\s,]+)\)", re.IGNORECASE)
_UNSAFE = re.compile(r"[,()\x00-\x1f\x7f]+")

# Characters a category name may not hold: controls, format characters (zero-width spaces and
# joiners, U+FEFF, the bidi embeddings, overrides and isolates U+202A-202E / U+2066-2069: they
# reorder or hide what Outlook shows), line and paragraph separators, surrogates, private use
# and unassigned code points (Unicode general categories, UAX #44).
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Letters that render as nothing (Hangul fillers, the blank Braille pattern): Lo / So, not Cf.
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Look-alikes of the letters of "tandem:" that NFKC leaves alone (fullwidth and mathematical
# letters it folds by itself), after Unicode's confusables.txt (UTS #39): Cyrillic, Greek,
# Armenian, Cherokee and Lisu letters, small capitals, and colon-like marks.
_LOOKALIKES = {
    "t": "\u0422\u0442\u03a4\u03c4\u13a2\ua4d4\u1d1b\u01ad",
    "a": "\u0410\u0430\u0391\u03b1\u0251\u13aa\ua4ee\u1d00\u0250",
    "n": "\u039d\u03b7\u0578\u043f\u0274\ua4e0",
    "d": "\u0501\u13a0\u13e7\ua4d2\u1d05\u0257\u0256",
    "e": "\u0415\u0435\u0395\u04bd\u212e\u13ac\ua4f0\u1d07\u0454\u03b5",
    "m": "\u041c\u043c\u039c\u13b7\ua4df\u1d0d\u028d",
    ":": "\u0589\u05c3\u0703\u0704\u16ec\u1803\u1809\u205a\u2236\ua4fd\ua789\u02d0\u02f8"
    "\u0903\u0a83\u003b\u037e",
}
_SKELETON = str.maketrans(
    {c.casefold(): letter for letter, chars in _LOOKALIKES.items() for c in chars}
)


def refused_character(text: str) -> str | None:
    """The first character of `text` a category name may not hold (see REFUSED_CATEGORIES)."""
    for char in text:
        if char in BLANKS or unicodedata.category(char) in REFUSED_CATEGORIES:
            return char
    return None


def skeleton(text: str) -> str:
    """How `text` reads rather than what it holds: compatibility-decomposed (NFKD folds
    fullwidth and mathematical letters), accents, marks and invisibles dropped, casefolded,
    look-alike letters mapped to Latin, runs of spaces made one, "rn" read as "m"."""
    folded = unicodedata.normalize("NFKD", text)
    seen = "".join(
        c
        for c in folded
        if c not in BLANKS and unicodedata.category(c) not in {"Mn", "Me", "Cf", "Cc"}
    )
    return " ".join(seen.casefold().translate(_SKELETON).split()).replace("rn", "m")


def looks_like_claim(category: str) -> bool:
    """Whether a name would read as one of Tandem's claims in Outlook: `Tandem:` or a look-alike
    (Cyrillic Т, fullwidth Ｔ, an accent, a zero-width space, a space before the colon ...)."""
    return skeleton(category).replace(" ", "").startswith(PREFIX.lower())


def category_for(name: str, upn: str) -> str:
    """The claim category of one person: stable as long as their upn is."""
    name = "".join(" " if refused_character(c) else c for c in name or "")
    clean = " ".join(_UNSAFE.sub(" ", name).split()) or upn.split("@", 1)[0]
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
