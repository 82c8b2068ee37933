"""The audit trail: one structured line per action taken as a person (never a token, a
comment or an address), and the intent line written before a send."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from tandem_mailbox import metrics
from tandem_mailbox.mail.claim_category import is_claim
from tandem_mailbox.mail.context import ItemContext
from tandem_mailbox.mail.operation import Act
from tandem_mailbox.mail.record import key_of
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.store import StoreUnavailable
from tandem_mailbox.store.record import Person, Seen, utc_now

log = logging.getLogger("tandem.audit")


def event(kind: str, **fields: Any) -> None:
    """One structured audit line for an action taken as a person (never a token or comment)."""
    log.info(
        "audit %s %s %s",
        kind,
        fields.get("action", ""),
        fields.get("outcome", ""),
        extra={"event": kind, **fields},
    )


def record(
    name: str,
    act: Act | None,
    caller: Caller,
    ctx: ItemContext | None,
    outcome: str,
    started: float,
    result: dict[str, Any] | None = None,
) -> None:
    """One audit line per action: who, where, what, how it ended (never a token, a comment or
    an address: a send says its route, as whom and how many recipients); and the same, for an
    action on a conversation, on its timeline (the record's own actions write theirs as they
    change it, in the same transaction)."""
    metrics.ACTIONS.labels(name, outcome).inc()
    extra: dict[str, Any] = {}
    if act is not None and act.sent is not None:
        extra["send"] = act.sent
    event(
        "action",
        action=name,
        person={"oid": caller.oid, "upn": caller.upn},
        mailbox=(ctx.target or caller.upn) if ctx else None,
        item=hashlib.sha256(ctx.item_id.encode()).hexdigest()[:16] if ctx else None,
        outcome=outcome,
        graphRequestIds=act.graph_request_ids if act else [],
        durationMs=round((time.perf_counter() - started) * 1000),
        **extra,
    )
    if act is not None and ctx is not None and outcome in ("ok", "send_outcome_unknown"):
        timeline(name, act, caller, ctx, result or {})


# The record's actions, and claim and release (an assignment), put their own events there.
OWN_EVENTS = frozenset({"assign", "status", "note", "editNote", "deleteNote", "claim", "release"})


def timeline(
    name: str,
    act: Act,
    caller: Caller,
    ctx: ItemContext,
    result: dict[str, Any],
    *,
    look: int | None = None,
) -> Seen | None:
    """The action on its conversation's timeline (once): what it did, never a body or an
    address. Written before the action's answer is made, so the record it carries shows it;
    with `look`, answers the conversation as the same transaction left it."""
    if act.timelined:
        return None
    act.timelined = True
    if name in OWN_EVENTS or act.record is None or act.conversation_id is None:
        return None
    key = key_of(caller, ctx, {"conversationId": act.conversation_id}, mailbox=act.mailbox_id)
    if key is None:
        return None
    detail = _detail(name, act, ctx, caller, result)
    try:
        by = Person(caller.oid, caller.upn.lower(), caller.name)
        if name in ("reply", "replyAll", "forward") and detail.get("outcome") == "sent":
            # Answered from the mailbox: the first-response clock stops (before the event, so
            # the record the answer carries shows it stopped).
            act.record.saw_message(key, utc_now(), from_customer=False)
        return act.record.event(key, name, by=by, detail=detail, look=look)
    except StoreUnavailable:
        log.warning("the timeline of a conversation missed an action (the store is unavailable)")
        return None


def _detail(
    name: str, act: Act, ctx: ItemContext, caller: Caller, result: dict[str, Any]
) -> dict[str, Any]:
    """What the timeline says an action did."""
    if name in ("reply", "replyAll", "forward"):
        sent = dict(act.sent or {})
        sent["mailbox"] = (ctx.target or caller.upn).lower()  # sent as/from: the mailbox, never
        return sent  # a recipient
    if name == "respond":
        return {"response": act.fields.get("response"), "sent": (act.sent or {}).get("outcome")}
    if name in ("move", "delete"):
        moved = result.get("movedTo") or {}
        return {"to": moved.get("name"), "wellKnownName": moved.get("wellKnownName")}
    if name == "categorize":
        names = [c for c in result.get("categories") or [] if not is_claim(str(c))]
        return {"categories": names}
    if name == "flag":
        return {"flag": result.get("flag")}
    if name in ("markRead", "markUnread"):
        return {"isRead": result.get("isRead")}
    return {}
