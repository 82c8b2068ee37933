"""Who else has the item open in Tandem, and who is writing a reply: the collision warning.

The pane reports its person's state (`viewing`, `replying`, or `gone` when it closes or moves
on) every few seconds; an entry lives PRESENCE_TTL seconds unless refreshed, so a closed
laptop disappears by itself. Presence never tells anyone about an item they could not open
themselves: before a person first appears on an item, and again every RECHECK seconds while
they stay, Graph is asked whether they can read it; `gone` is answered with nobody.

A draft of a reply open in Outlook (the compose pane, mail/compose.py) is present on its
conversation rather than on an item: the pane of someone on any item of that conversation
lists it too, so "Sam Taylor is replying" shows wherever the customer's messages are read.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, TypeGuard

from tandem_mailbox.errors import InvalidRequest
from tandem_mailbox.mail.context import ItemContext
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.services import Services

PRESENCE_TTL = 30.0
# How long a Graph read vouches for a person's access while they stay on an item. Exchange
# itself takes up to an hour to apply a removed permission, so re-reading more often buys
# little, while every re-read is one of the mailbox's 10,000 requests per 10 minutes and takes
# one of its 4 slots: with the pane reporting every 10 s, a read on each report would be 30
# times the load of one every 5 minutes, for every person looking at the queue.
RECHECK = 300.0
STATES = ("viewing", "replying", "gone")


def state_of(body: dict[str, Any]) -> str:
    """The `state` member, validated."""
    state = body.get("state")
    if not isinstance(state, str) or state not in STATES:
        raise InvalidRequest("state must be viewing, replying or gone.", field="state")
    return state


def report(tandem: Services, caller: Caller, ctx: ItemContext, state: str) -> dict[str, Any]:
    """Record the caller's state on the item; answers the others present there."""
    graph, coordinator = tandem.graph, tandem.coordinator
    # Keyed by the item's immutable id: the pane of someone who opened it after it moved in
    # Outlook posts another REST id for the same item.
    route = graph.route(caller, ctx.target, ctx.item_id)
    if state == "gone":  # asks Graph nothing: the id as remembered, else as posted
        stable = graph.known_stable_id(ctx.item_id) or ctx.item_id
    else:
        token = tandem.obo.graph_token(caller)
        stable = graph.stable_id(token, route, ctx.item_type, ctx.item_id)
    ctx = dataclasses.replace(ctx, item_id=stable)
    key = f"{graph.route(caller, ctx.target, ctx.item_id).key}:{ctx.item_id}"
    if state == "gone":
        # The pane is moving on and shows nobody: answering the others would tell someone
        # who never showed they can read the item who else is on it.
        coordinator.leave(key, caller.oid)
        return {"others": [], "ttl": PRESENCE_TTL}
    now = tandem.wall()
    here = coordinator.present(key).get(caller.oid)
    verified = _number(here.get("verified")) if here else None
    along = here.get("conversation") if here else None
    if verified is None or not 0 <= now - verified < RECHECK:
        # Exchange is the judge of who may see the item (404 or 403 end it here).
        route = graph.route(caller, ctx.target, ctx.item_id)
        raw = graph.item(tandem.obo.graph_token(caller), route, ctx.item_type, ctx.item_id)
        verified = now
        # The read may have shown which mailbox the route reaches: key by it from now on.
        route = graph.route(caller, ctx.target, ctx.item_id)
        key = f"{route.key}:{ctx.item_id}"
        here = coordinator.present(key).get(caller.oid)
        conversation = raw.get("conversationId")
        along = conversation_key(route.key, conversation) if _named(conversation) else None
    since = _number(here.get("since")) if here and here.get("state") == state else None
    value = {
        "upn": caller.upn,
        "name": caller.name,
        "state": state,
        "since": now if since is None else since,
        "verified": verified,
        "conversation": along if isinstance(along, str) else None,
    }
    coordinator.announce(key, caller.oid, value, ttl=PRESENCE_TTL)
    keys = [key, along] if isinstance(along, str) else [key]
    return {"others": others_at(tandem, keys, caller.oid), "ttl": PRESENCE_TTL}


def conversation_key(route_key: str, conversation: str) -> str:
    """Where the drafts of replies in a conversation are present (hashed: ids are long)."""
    digest = hashlib.sha256(conversation.encode()).hexdigest()[:32]
    return f"{route_key}:conversation:{digest}"


def others_at(tandem: Services, keys: list[str], me: str) -> list[dict[str, Any]]:
    """Everyone present at any of `keys` but `me`, once each (replying wins), replying first."""
    found: dict[str, dict[str, Any]] = {}
    for key in keys:
        for member, v in tandem.coordinator.present(key).items():
            if member == me:
                continue
            entry = {"upn": v["upn"], "name": v["name"], "state": v["state"], "since": v["since"]}
            if member not in found or entry["state"] == "replying":
                found[member] = entry
    others = list(found.values())
    others.sort(key=lambda v: (v["state"] != "replying", v["since"]))
    return others


def _named(value: Any) -> TypeGuard[str]:
    """Whether Graph answered a conversation id."""
    return isinstance(value, str) and 0 < len(value) <= 512


def _number(value: Any) -> float | None:
    """A time kept in a presence entry, or None when there is none (an older entry)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
