"""Which mailbox a name reaches, as Graph's answers showed it: the key of its slots and locks.

A person reaches a mailbox as /me, by address or by mailbox id; Outlook's limits are per app
per mailbox (learn.microsoft.com/graph/throttling-limits#outlook-service-limits), so every
name of one mailbox must share its slots, item locks and presence. What each name reaches is
kept in the coordinator, where every worker keys the mailbox alike.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tandem_mailbox.coordination import Coordinator
from tandem_mailbox.errors import ItemNotFound
from tandem_mailbox.microsoft.identity import Caller

log = logging.getLogger("tandem.graph")

# An Exchange item id carries its mailbox's GUID in ASCII after a 4-byte header (base64 of
# 00 03 24 00 <guid> ...): the same mailbox whether it was reached as /me, by address or by id.
# The posted id is the client's word, though: only an id Graph answered through a route tells
# which mailbox that route reaches (Exchange refuses an id of another mailbox with
# ErrorInvalidMailboxItemId), so that is what `route` trusts, for this long.
_EMBEDDED_GUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAILBOX_MEMORY = 3600.0


def mailbox_guid(item_id: str) -> str | None:
    """The mailbox GUID embedded in an Exchange item id (REST form), or None."""
    text = item_id.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text[:64] + "=" * (-len(text[:64]) % 4))
    except (binascii.Error, ValueError):
        return None
    match = _EMBEDDED_GUID.search(raw[:48].lower())
    return match.group().decode() if match else None


@dataclass(frozen=True)
class Route:
    """Where a call goes (`root`: /me or /users/<encoded>) and which mailbox slots it takes.

    `key` names the mailbox the route reaches, never what the posted item id claims: the GUID
    Graph's answers showed for `alias` (so /me, the address and the mailbox id of one mailbox
    share its 4 slots, its item locks and its presence), else the alias itself.
    """

    root: str
    key: str
    target: str | None  # the target mailbox as the pane named it; None for /me
    alias: str = ""  # "me:<oid>", or the target as posted, lower-cased


class Mailboxes:
    """The mailboxes names reach, as Graph's answers showed them (kept in the coordinator)."""

    def __init__(self, coordinator: Coordinator):
        self._coordinator = coordinator

    def route(self, caller: Caller, target: str | None, item_id: str) -> Route:
        """The route of an item's mailbox (`target`, or the person's own for None); its slots
        are the mailbox's, however it is named.

        An item id whose embedded GUID is not the mailbox's that this route is known to reach
        is refused here, before Graph is asked (Exchange would answer ErrorInvalidMailboxItemId).
        """
        alias = f"me:{caller.oid}" if target is None else target.lower()
        known = self.reached(alias)
        posted = mailbox_guid(item_id)
        if known is not None and posted is not None and posted != known:
            log.info("an item id of another mailbox was posted for this one; refused")
            raise ItemNotFound("The item is gone, or it belongs to another mailbox.")
        key = f"mailbox:{known}" if known else alias
        if target is None:
            return Route("/me", key, None, alias)
        return Route("/users/" + quote(target, safe=""), key, target, alias)

    def own_route(self, caller: Caller) -> Route:
        """The route of the person's own mailbox (/me)."""
        alias = f"me:{caller.oid}"
        known = self.reached(alias)
        return Route("/me", f"mailbox:{known}" if known else alias, None, alias)

    def reached(self, alias: str) -> str | None:
        """The GUID of the mailbox `alias` reaches, as Graph's answers showed it, or None."""
        raw = self._coordinator.fetch(_alias_key(alias))
        return raw.decode() if raw else None

    def learn(self, route: Route, item_id: Any) -> None:
        """Remember the mailbox a route reaches: Graph answered an item of it through it.

        Kept in the coordinator (every worker keys the mailbox alike) for MAILBOX_MEMORY, so
        an address given to another mailbox is learnt again within the hour.
        """
        guid = mailbox_guid(item_id) if isinstance(item_id, str) else None
        if guid is None or not route.alias or self.reached(route.alias) == guid:
            return
        self._coordinator.store(_alias_key(route.alias), guid.encode(), ttl=MAILBOX_MEMORY)


def _alias_key(alias: str) -> str:
    """The coordinator's key for what an alias reaches (hashed: no address in Redis's keys)."""
    return "mailbox-of:" + hashlib.sha256(alias.encode()).hexdigest()
