"""Which mailbox a name reaches, as Graph's answers showed it: the key of its slots and locks.

A person reaches a mailbox as /me, by address or by mailbox id; Outlook's limits are per app
per mailbox (learn.microsoft.com/graph/throttling-limits#outlook-service-limits), so every
name of one mailbox must share its slots, item locks and presence. What each name reaches is
kept in the coordinator, where every worker keys the mailbox alike.

Until Graph has shown what a name reaches, its requests go one at a time, each also holding a
slot of the mailbox its item id claims (`Mailboxes.slots`): so two such names of one mailbox
(the owner's /me and a delegate's address for it) stay within its 4 as well. The claim is the
client's word, so it never keys locks or presence, and it costs the claimed mailbox at most
one slot per person at a time, none once Graph refused one of that person's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tandem_mailbox.coordination import Coordinator, Slot
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
    share its 4 slots, its item locks and its presence), else the alias itself. While it is the
    alias, `claimed` is the GUID in the posted item id: a slot of that mailbox is taken as well
    (`Mailboxes.slots`), never its locks or presence.
    """

    root: str
    key: str
    target: str | None  # the target mailbox as the pane named it; None for /me
    alias: str = ""  # "me:<oid>", or the target as posted, lower-cased
    claimed: str | None = None  # the mailbox the posted id names, while `alias` is unknown
    claimant: str = ""  # the oid of the person who posted it


class Mailboxes:
    """The mailboxes names reach, as Graph's answers showed them (kept in the coordinator)."""

    def __init__(
        self,
        coordinator: Coordinator,
        *,
        concurrency: int,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._coordinator = coordinator
        self._concurrency = concurrency
        self._clock = clock

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
        key, claimed = (f"mailbox:{known}", None) if known else (alias, posted)
        root = "/me" if target is None else "/users/" + quote(target, safe="")
        return Route(root, key, target, alias, claimed, caller.oid)

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

    def refused(self, route: Route) -> None:
        """Graph refused a request whose posted id made a claim (403 or 404: the mailbox or
        the item, ErrorInvalidMailboxItemId among them): that person's claims take no
        mailbox's slot for MAILBOX_MEMORY."""
        if route.claimed is not None:
            self._coordinator.store(_refused_key(route.claimant), b"1", ttl=MAILBOX_MEMORY)

    @contextmanager
    def slots(self, route: Route, wait: float) -> Iterator[Slot]:
        """Hold the slots a Graph request on `route` takes, within `wait` in all (else
        SlotTimeout); yields the one counted against the mailbox.

        A known name takes one of its mailbox's 4. A name Graph has not shown yet may be a
        second name of a mailbox in use, so its requests go one at a time (the name's own slot,
        limit 1), each also holding one of the 4 of the mailbox its item id claims. A claim is
        the client's word: a person's claims hold one slot at a time, whatever names they come
        through (`claims:<oid>`, limit 1), and none once Graph refused one (`refused`). Taken
        in one order (name, person, mailbox), so none deadlock.
        """
        deadline = self._clock() + wait

        def left() -> float:
            return max(0.0, deadline - self._clock())

        with ExitStack() as held:
            key = route.key if route.key != route.alias else self._key_of(route.alias)
            if key is None:
                name = held.enter_context(self._coordinator.slot(route.alias, limit=1, wait=left()))
                key = self._key_of(route.alias)  # the request ahead may have shown it
                if key is not None:
                    held.close()  # it did: go as a known name, without the name's slot
                elif self._trusted(route):
                    with ExitStack() as gate:
                        claims = f"claims:{route.claimant}"
                        gate.enter_context(self._coordinator.slot(claims, limit=1, wait=left()))
                        if self._trusted(route):  # asked again: the claim ahead was refused?
                            key = f"mailbox:{route.claimed}"
                            held.enter_context(gate.pop_all())
                if key is None:
                    yield name
                    return
            yield held.enter_context(
                self._coordinator.slot(key, limit=self._concurrency, wait=left())
            )

    def _key_of(self, alias: str) -> str | None:
        """The slot key of the mailbox `alias` reaches, once Graph's answers showed it."""
        known = self.reached(alias)
        return f"mailbox:{known}" if known else None

    def _trusted(self, route: Route) -> bool:
        """Whether the route's claim takes a slot: there is one, and its person's were never
        refused (within MAILBOX_MEMORY)."""
        return route.claimed is not None and not self._coordinator.fetch(
            _refused_key(route.claimant)
        )


def _alias_key(alias: str) -> str:
    """The coordinator's key for what an alias reaches (hashed: no address in Redis's keys)."""
    return "mailbox-of:" + hashlib.sha256(alias.encode()).hexdigest()


def _refused_key(oid: str) -> str:
    """The coordinator's key saying Graph refused a claim of this person's (see `refused`)."""
    return "claims-refused:" + hashlib.sha256(oid.encode()).hexdigest()
