"""One action in progress (`Act`), and the protocol every write of an item follows.

Every field is validated before anything reaches Graph (actions.prepare); every write of an
item runs under the item's lock as read -> compare with the pane's etag -> write with
If-Match -> the write's answer (docs/api.md, "Writes: no lost update"). The write's answer is
the item's new state (PATCH answers the updated item, `move` the moved one: Graph's
message-update and message-move), so nothing is read after it unless the answer lacks what
the pane shows (docs/performance.md, the minimum per action). A 412 means someone outside
Tandem changed the item between our read and our write: the action is recomputed from what is
there now and written once more, so their change survives. A lock lost while held (the shared
store reset) stops the action before any write or send (`Act.fence`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tandem_mailbox.coordination import CoordinationUnavailable, Coordinator, Hold, LockTimeout
from tandem_mailbox.errors import Conflict, ItemNotFound, UpstreamUnavailable
from tandem_mailbox.mail import claim_category, idempotency
from tandem_mailbox.mail.answers import summary
from tandem_mailbox.mail.context import ItemContext
from tandem_mailbox.microsoft.graph import ITEM_PATHS, SELECTS, Answer, GraphClient
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.microsoft.mailboxes import Route, mailbox_guid
from tandem_mailbox.services import Services
from tandem_mailbox.store.record import Record

log = logging.getLogger("tandem.actions")

# Renewed while the write runs; a holder that stops renewing (a killed worker) frees the item
# this long after its last renewal.
LOCK_TTL = 10.0
LOCK_WAIT = 10.0  # longer than this for someone else's write: `conflict`, never a blind write
# An irreversible call (/send) is not made with less than this left of the action's budget: it
# would time out on our side with its outcome unknown, where stopping before it is clear.
SEND_MARGIN = 3.0


# -- one action in progress ----------------------------------------------------------------
@dataclass
class Act:
    """What an action works with: the person, the item's context and a Graph client for them."""

    graph: GraphClient
    coordinator: Coordinator
    token: str
    caller: Caller
    ctx: ItemContext
    route: Route
    etag: str | None
    fields: dict[str, Any]
    graph_request_ids: list[str] = field(default_factory=list)
    deadline: float = float("inf")  # on graph.clock(): no Graph call of the action runs past it
    graph_timeout: float = 10.0  # TANDEM_HTTP_TIMEOUT
    journal: idempotency.Journal | None = None  # the record of a keyed action
    holds: list[Hold] = field(default_factory=list)  # the locks it runs under
    sent: dict[str, Any] | None = None  # what a send did, for the audit line
    record: Record | None = None  # the team's record
    conversation_id: str | None = None  # the item's conversation, once Graph said it
    mailbox_id: str | None = None  # the item's mailbox GUID, once a folder id said it
    posted_id: str = ""  # the item id as the pane posted it (ctx.item_id is the immutable one)
    settled: bool = False  # ctx.item_id is the immutable id
    timelined: bool = False  # the action's event is on its conversation's timeline already

    @property
    def previous_id(self) -> str:
        """The id the pane knew the item by (a move's `previousId`)."""
        return self.posted_id or self.ctx.item_id

    @property
    def item_path(self) -> str:
        """messages/<id> or events/<id> of the item."""
        return ITEM_PATHS[self.ctx.item_type] + quote(self.ctx.item_id, safe="")

    def call(self, method: str, route: Route, path: str, **kwargs: Any) -> Answer:
        """One Graph call within the action's deadline, its request-id kept for the audit line."""
        answer = self.graph.request(
            method, self.token, route, path, deadline=self.deadline, **kwargs
        )
        if answer.request_id:
            self.graph_request_ids.append(answer.request_id)
        return answer

    def read(self, item_id: str | None = None) -> dict[str, Any]:
        """The item as Graph has it now (its conversation noted)."""
        raw = self.graph.item(
            self.token,
            self.route,
            self.ctx.item_type,
            item_id or self.ctx.item_id,
            deadline=self.deadline,
        )
        self.saw(raw)
        return raw

    def saw(self, message: dict[str, Any]) -> None:
        """Note the conversation a message of the item's thread names (a read, a draft), and
        the mailbox its folder is in."""
        conversation = message.get("conversationId")
        if isinstance(conversation, str) and conversation:
            self.conversation_id = conversation
        folder = message.get("parentFolderId")
        guid = mailbox_guid(folder) if isinstance(folder, str) else None
        if guid:
            self.mailbox_id = guid

    def remaining(self) -> float:
        """Seconds left of the action's budget."""
        return self.deadline - self.graph.clock()

    def fence(self) -> None:
        """Before a write that can't be undone: every lock still ours, or `conflict`.

        A lock is lost when the shared store was flushed or restarted, or the holder stalled
        past its TTL; another request may hold it now and be doing the same thing.
        """
        if all(hold.held() for hold in self.holds):
            return
        log.warning("a lock was lost before a write; the write is not made")
        raise Conflict(idempotency.LOST)

    def who(self) -> dict[str, Any]:
        """The audit line's person, mailbox and item (the item as a hash)."""
        return {
            "person": {"oid": self.caller.oid, "upn": self.caller.upn},
            "mailbox": self.ctx.target or self.caller.upn,
            "item": hashlib.sha256(self.ctx.item_id.encode()).hexdigest()[:16],
        }

    def summary(self, raw: dict[str, Any] | None) -> dict[str, Any] | None:
        """The item as the pane shows it."""
        return summary(raw, self.ctx.item_type, me=self.caller.upn) if raw else None

    @property
    def owner(self) -> bool:
        """Whether the item is in the person's own mailbox (known from the token, not the body)."""
        return self.ctx.target is None


# A write: given the current item, makes the Graph call that changes it and answers what Graph
# answered (the item's new state: PATCH answers the updated item, `move` the moved one), or
# None when Graph answers nothing (DELETE).
Write = Callable[[dict[str, Any]], dict[str, Any] | None]
Plan = Callable[[Act, dict[str, Any]], tuple[Write | None, dict[str, Any]]]
# The members an answer must have to stand for the item as the pane shows it.
SHOWN = {kind: ("@odata.etag", *select.split(",")) for kind, select in SELECTS.items()}


def write_item(
    act: Act, plan: Plan, current: dict[str, Any] | None = None
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Read (unless the caller just did: `current`), compare, write with If-Match; answers the
    item as the write's answer shows it. The item lock is held by the caller."""
    for attempt in (1, 2):
        if current is None or attempt == 2:
            current = act.read()
        if attempt == 1:
            compare(act, current)
        write, result = plan(act, current)
        if write is None:
            return act.summary(current), result
        try:
            written = write(current)
        except Conflict:
            if attempt == 2:
                latest = act.read()
                raise Conflict(
                    "The item kept changing while Tandem saved it; nothing was written.",
                    etag=latest.get("@odata.etag"),
                    item=act.summary(latest),
                ) from None
            log.info("the item changed outside Tandem between read and write; once more")
            continue
        if written is None and result.get("deleted"):
            return None, result  # Graph's DELETE: the item is where nobody was told
        return act.summary(state_after(act, written)), result
    raise AssertionError("unreachable")


def state_after(act: Act, written: dict[str, Any] | None) -> dict[str, Any] | None:
    """The item as a write's answer shows it; read only when the answer lacks a member the
    pane shows (None when the item can't be read any more)."""
    if written and all(name in written for name in SHOWN[act.ctx.item_type]):
        act.saw(written)
        return written
    log.info("a write's answer lacked the item's state; reading it")
    new_id = written.get("id") if written else None
    try:
        return act.read(new_id if isinstance(new_id, str) and new_id else None)
    except ItemNotFound:
        return None


def categories(current: dict[str, Any]) -> list[str]:
    """The item's categories, as the names they are."""
    return [c for c in current.get("categories") or [] if isinstance(c, str)]


def compare(act: Act, current: dict[str, Any]) -> None:
    """`conflict` when the item changed since the pane read it (its etag), naming a new holder."""
    if not act.etag or current.get("@odata.etag") == act.etag:
        return
    holder = claim_category.holder(categories(current))
    theirs = holder if holder and holder["upn"] != act.caller.upn.lower() else None
    raise Conflict(
        f"{theirs['name'] or theirs['upn']} has claimed this item since you opened it; "
        "nothing was written."
        if theirs
        else "The item changed since you opened it; nothing was written.",
        holder=theirs,
        etag=current.get("@odata.etag"),
        item=act.summary(current),
    )


def patch(act: Act, changes: dict[str, Any]) -> Write:
    """PATCH the item; Graph answers the updated item (200)."""

    def write(current: dict[str, Any]) -> dict[str, Any] | None:
        act.fence()
        return act.call(
            "PATCH", act.route, act.item_path, body=changes, if_match=current.get("@odata.etag")
        ).body

    return write


class locked:
    """A lock the action runs under, or `conflict` when it can't be had in time (never a blind
    write); the hold joins the action's, which `Act.fence` checks before what can't be undone.

    Without the shared store (Redis down) no lock can be promised, so nothing is written:
    `upstream_unavailable` (503), which the pane retries, rather than a possible lost update.
    """

    def __init__(self, act: Act, key: str, *, wait: float, what: str):
        self._act = act
        wait = max(0.0, min(wait, act.remaining() - SEND_MARGIN))
        self._manager = act.coordinator.lock(key, ttl=LOCK_TTL, wait=wait)
        self._what = what
        self._hold: Hold | None = None

    def __enter__(self) -> Hold:
        try:
            self._hold = self._manager.__enter__()
        except LockTimeout:
            raise Conflict(f"{self._what} right now; try again in a moment.") from None
        except CoordinationUnavailable:
            error = UpstreamUnavailable(
                "Tandem can't reach the store that keeps two people from saving at once; "
                "nothing was written. Try again in a moment.",
                status=503,
            )
            error.reached = False
            error.headers["Retry-After"] = "2"
            raise error from None
        self._act.holds.append(self._hold)
        return self._hold

    def __exit__(self, *exc: Any) -> None:
        if self._hold in self._act.holds:
            self._act.holds.remove(self._hold)
        self._manager.__exit__(*exc)


def begin(
    services: Services,
    caller: Caller,
    ctx: ItemContext,
    fields: dict[str, Any],
    etag: str | None,
) -> Act:
    """An action on the item: the person's Graph token, the item's route, its time budget.

    The item is known by its immutable id (locks, presence, records and Graph calls alike),
    whichever form the pane posted, so an item moved in Outlook keeps its keys: here when the
    context call showed it, else from `settle`.
    """
    graph = services.graph
    route = graph.route(caller, ctx.target, ctx.item_id)  # refuses another mailbox's id early
    known = graph.known_stable_id(ctx.item_id)
    return Act(
        graph=graph,
        coordinator=services.coordinator,
        token=services.obo.graph_token(caller),
        caller=caller,
        ctx=dataclasses.replace(ctx, item_id=known) if known else ctx,
        route=graph.route(caller, ctx.target, known) if known else route,
        etag=etag,
        fields=fields,
        deadline=graph.clock() + services.settings.action_budget,
        graph_timeout=services.settings.http_timeout,
        record=services.record,
        posted_id=ctx.item_id,
        settled=known is not None,
    )


def settle(act: Act) -> None:
    """Know the item by its immutable id before anything is keyed by it: remembered from the
    context call the pane makes first, else asked of Graph (inside a keyed action's record,
    so a refusal here is replayed as it was)."""
    if act.settled:
        return
    stable = act.graph.stable_id(
        act.token, act.route, act.ctx.item_type, act.ctx.item_id, deadline=act.deadline
    )
    act.ctx = dataclasses.replace(act.ctx, item_id=stable)
    act.route = act.graph.route(act.caller, act.ctx.target, stable)
    act.settled = True
