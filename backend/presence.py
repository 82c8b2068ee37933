"""Who else has the item open in Tandem, and who is writing a reply: the collision warning.

The pane reports its person's state (`viewing`, `replying`, or `gone` when it closes or moves
on) every few seconds; an entry lives PRESENCE_TTL seconds unless refreshed, so a closed
laptop disappears by itself. Before a person first appears on an item, Graph is asked whether
they can read it: presence never tells anyone about an item they could not open themselves.
"""

from __future__ import annotations

import time
from typing import Any

from .context import ItemContext
from .errors import InvalidRequest
from .identity import Caller

PRESENCE_TTL = 30.0
STATES = ("viewing", "replying", "gone")


def state_of(body: dict[str, Any]) -> str:
    """The `state` member, validated."""
    state = body.get("state")
    if not isinstance(state, str) or state not in STATES:
        raise InvalidRequest("state must be viewing, replying or gone.", field="state")
    return state


def report(tandem: Any, caller: Caller, ctx: ItemContext, state: str) -> dict[str, Any]:
    """Record the caller's state on the item; answers the others present there."""
    route = tandem.graph.route(caller, ctx)
    key = f"{route.key}:{ctx.item_id}"
    coordinator = tandem.coordinator
    if state == "gone":
        coordinator.leave(key, caller.oid)
    else:
        if caller.oid not in coordinator.present(key):
            # Exchange is the judge of who may see the item (404 or 403 end it here).
            tandem.graph.item(tandem.obo.graph_token(caller), route, ctx.item_type, ctx.item_id)
        value = {"upn": caller.upn, "name": caller.name, "state": state, "since": time.time()}
        here = coordinator.present(key).get(caller.oid)
        if here and here.get("state") == state:
            value["since"] = here.get("since", value["since"])
        coordinator.announce(key, caller.oid, value, ttl=PRESENCE_TTL)
    others = [
        {"upn": v["upn"], "name": v["name"], "state": v["state"], "since": v["since"]}
        for member, v in coordinator.present(key).items()
        if member != caller.oid
    ]
    others.sort(key=lambda v: (v["state"] != "replying", v["since"]))
    return {"others": others, "ttl": PRESENCE_TTL}
