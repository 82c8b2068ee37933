"""The audit trail: one structured line per action taken as a person (never a token, a
comment or an address), and the intent line written before a send."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from tandem_mailbox import metrics
from tandem_mailbox.mail.context import ItemContext
from tandem_mailbox.mail.operation import Act
from tandem_mailbox.microsoft.identity import Caller

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
) -> None:
    """One audit line per action: who, where, what, how it ended (never a token, a comment or
    an address: a send says its route, as whom and how many recipients)."""
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
