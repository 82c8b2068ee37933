"""The actions: claim, categorize, flag, move, reply ... each a small function over Graph.

Every action shares one protocol: every field is validated before
anything reaches Graph, the permission bits refuse early only when no bit could allow the action
(Exchange stays the judge), and every write of an item runs under the item's lock as
read → compare with the pane's etag → write with If-Match → re-read (README, "Writes: no lost
update"). A 412 means someone outside Tandem changed the item between our read and our write:
the action is recomputed from what is there now and written once more, so their change survives.
Sending follows README's "Sending as the mailbox".

Just past ~400 lines because the eleven actions share that protocol: each is a short
function, and the protocol is easier to trust read in one place (fields, folders, sending
and claims have rooms of their own).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from . import audit, claims, fields, folders, idempotency, metrics, permissions, sending
from .context import ItemContext, is_item_id, parse_context
from .coordination import CoordinationUnavailable, Coordinator, Hold, LockTimeout
from .errors import (
    ApiError,
    Conflict,
    InvalidRequest,
    ItemNotFound,
    MailboxAccessDenied,
    PermissionDenied,
    UpstreamUnavailable,
    body_of,
)
from .graph import ITEM_PATHS, Answer, GraphClient, Route, summary
from .identity import Caller

log = logging.getLogger("tandem.actions")

# Renewed while the write runs; a holder that stops renewing (a killed worker) frees the item
# this long after its last renewal.
LOCK_TTL = 10.0
LOCK_WAIT = 10.0  # longer than this for someone else's write: `conflict`, never a blind write


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
        """The item as Graph has it now."""
        return self.graph.item(
            self.token,
            self.route,
            self.ctx.item_type,
            item_id or self.ctx.item_id,
            deadline=self.deadline,
        )

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


# A write: given the current item, answers the Graph call that makes the change (or None when
# nothing needs writing) and the action's result.
Write = Callable[[dict[str, Any]], str | None]
Plan = Callable[[Act, dict[str, Any]], tuple[Write | None, dict[str, Any]]]


def _write_item(act: Act, plan: Plan) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Read, compare, write with If-Match, re-read: the item lock is held by the caller."""
    for attempt in (1, 2):
        current = act.read()
        if attempt == 1:
            _compare(act, current)
        write, result = plan(act, current)
        if write is None:
            return act.summary(current), result
        try:
            new_id = write(current)
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
        if new_id is None and act.ctx.item_type == "message" and result.get("deleted"):
            return None, result
        try:
            return act.summary(act.read(new_id)), result
        except ItemNotFound:
            return None, result
    raise AssertionError("unreachable")


def _compare(act: Act, current: dict[str, Any]) -> None:
    """`conflict` when the item changed since the pane read it (its etag), naming a new holder."""
    if not act.etag or current.get("@odata.etag") == act.etag:
        return
    holder = claims.holder(_categories(current))
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


def _patch(act: Act, changes: dict[str, Any]) -> Write:
    def write(current: dict[str, Any]) -> str | None:
        act.fence()
        act.call(
            "PATCH", act.route, act.item_path, body=changes, if_match=current.get("@odata.etag")
        )
        return None

    return write


def _categories(current: dict[str, Any]) -> list[str]:
    return [c for c in current.get("categories") or [] if isinstance(c, str)]


def _claim(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    categories = _categories(current)
    holder = claims.holder(categories)
    me = {"upn": act.caller.upn.lower(), "name": act.caller.name}
    if holder is not None and holder["upn"] != me["upn"]:
        raise Conflict(
            f"{holder['name'] or holder['upn']} holds the claim on this item.", holder=holder
        )
    if holder is not None:
        return None, {"holder": holder, "changed": False}
    mine = claims.category_for(act.caller.name, act.caller.upn)
    return _patch(act, {"categories": [*categories, mine]}), {"holder": me, "changed": True}


def _release(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    categories = _categories(current)
    holder = claims.holder(categories)
    if holder is None:
        return None, {"holder": None, "released": None, "changed": False}
    if holder["upn"] != act.caller.upn.lower() and not act.owner:
        raise Conflict(
            f"{holder['name'] or holder['upn']} holds the claim; only they or the mailbox's "
            "owner can release it.",
            holder=holder,
        )
    theirs = set(claims.claims_of(categories, holder["upn"]))
    kept = [c for c in categories if c not in theirs]
    result = {"holder": claims.holder(kept), "released": holder, "changed": True}
    return _patch(act, {"categories": kept}), result


def _categorize(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    categories = _categories(current)
    remove = {n.lower() for n in act.fields["remove"]}
    kept = [c for c in categories if c.lower() not in remove or claims.is_claim(c)]
    present = {c.lower() for c in kept}
    new = kept + [n for n in act.fields["add"] if n.lower() not in present]
    if new == categories:
        return None, {"categories": categories, "changed": False}
    return _patch(act, {"categories": new}), {"categories": new, "changed": True}


def _flag(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    flag = act.fields["flag"]
    now = (current.get("flag") or {}).get("flagStatus", "notFlagged")
    if now == flag:
        return None, {"flag": flag, "changed": False}
    return _patch(act, {"flag": {"flagStatus": flag}}), {"flag": flag, "changed": True}


def _mark(read: bool) -> Plan:
    def plan(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
        if current.get("isRead") is read:
            return None, {"isRead": read, "changed": False}
        return _patch(act, {"isRead": read}), {"isRead": read, "changed": True}

    return plan


def _move_to(act: Act, folder: dict[str, Any]) -> Write:
    def write(current: dict[str, Any]) -> str | None:
        act.fence()
        answer = act.call(
            "POST",
            act.route,
            act.item_path + "/move",
            body={"destinationId": folder["id"]},
            if_match=current.get("@odata.etag"),
        )
        new_id = answer.body.get("id")
        if not isinstance(new_id, str) or not is_item_id(new_id):
            raise UpstreamUnavailable("Microsoft Graph's move answered no new id.", status=502)
        return new_id

    return write


def _move(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    folder = folders.resolve(act, act.fields["folder"])
    moved = {"id": folder["id"], "name": folder["name"], "wellKnownName": folder["wellKnownName"]}
    if current.get("parentFolderId") == folder["id"]:
        return None, {"id": act.ctx.item_id, "previousId": act.ctx.item_id, "movedTo": moved}
    result = {"id": None, "previousId": act.ctx.item_id, "movedTo": moved}
    move = _move_to(act, folder)

    def write(current: dict[str, Any]) -> str | None:
        result["id"] = new_id = move(current)
        return new_id

    return write, result


def _delete(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    folder = folders.resolve(act, "deleteditems", quiet=True)
    moved = {
        "id": folder["id"] if folder else None,
        "name": folder["name"] if folder else "Deleted Items",
        "wellKnownName": "deleteditems",
    }
    result: dict[str, Any] = {"id": None, "previousId": act.ctx.item_id, "movedTo": moved}
    if folder and current.get("parentFolderId") == folder["id"]:
        return None, dict(result, id=act.ctx.item_id)

    def write(current: dict[str, Any]) -> str | None:
        if folder is not None:
            try:
                result["id"] = new_id = _move_to(act, folder)(current)
                return new_id
            except MailboxAccessDenied:
                log.info("no rights on the Deleted Items folder; asking Exchange to delete")
        # Graph's DELETE: Exchange moves the item to the mailbox's Deleted Items itself and
        # needs delete rights on the item only (a delegate has none on the owner's folders).
        act.fence()
        act.call("DELETE", act.route, act.item_path, if_match=current.get("@odata.etag"))
        result["deleted"] = True
        return None

    return write, result


# -- the table -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """One action: its own fields, which item types it applies to, and how it runs."""

    fields: frozenset[str]
    parse: Callable[[dict[str, Any]], dict[str, Any]]
    plan: Plan | None = None  # a write of the item, under its lock
    send: bool = False


_MESSAGE = ("message",)
SPECS: dict[str, Spec] = {
    "claim": Spec(frozenset(), fields.nothing, _claim),
    "release": Spec(frozenset(), fields.nothing, _release),
    "categorize": Spec(frozenset({"add", "remove"}), fields.categorize, _categorize),
    "flag": Spec(frozenset({"flag"}), fields.flag, _flag),
    "markRead": Spec(frozenset(), fields.nothing, _mark(True)),
    "markUnread": Spec(frozenset(), fields.nothing, _mark(False)),
    "move": Spec(frozenset({"folder"}), fields.folder, _move),
    "delete": Spec(frozenset(), fields.nothing, _delete),
    "reply": Spec(frozenset({"comment", "send"}), fields.reply, send=True),
    "replyAll": Spec(frozenset({"comment", "send"}), fields.reply, send=True),
    "forward": Spec(frozenset({"comment", "send", "toRecipients"}), fields.forward, send=True),
    "respond": Spec(frozenset({"response", "comment", "sendResponse"}), fields.respond, send=True),
}


def prepare(
    name: str, body: Any, settings: Any, caller: Caller
) -> tuple[ItemContext, dict[str, Any], str | None]:
    """Validate everything the action was sent, before anything reaches Entra ID or Graph."""
    spec = SPECS.get(name)
    if spec is None:
        raise InvalidRequest(f"There is no action '{name[:40]}'.", field="action")
    ctx = parse_context(body, settings, caller, extra=spec.fields | {"etag"})
    if name not in permissions.BY_TYPE[ctx.item_type]:
        raise InvalidRequest(f"{name} does not apply to an {ctx.item_type}.", field="itemType")
    etag = body.get("etag")
    if etag is not None and not (isinstance(etag, str) and 0 < len(etag) <= 512):
        raise InvalidRequest("etag must be the item's @odata.etag.", field="etag")
    fields = spec.parse(body)
    lacking = permissions.missing(name, ctx.bits)
    if lacking:
        raise PermissionDenied(
            "Your permissions here do not allow this: "
            + permissions.describe(ctx.bits, ctx.item_type)[name]["reason"]
        )
    return ctx, fields, etag


def run(name: str, act: Act) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Carry the action out; answers the re-read item (None when it can't be had) and the result.

    Once a send or response went out, nothing that follows can turn the answer into a failure:
    a re-read that fails answers the item as None.
    """
    spec = SPECS[name]
    if name == "respond":
        key = f"item:{act.route.key}:{act.ctx.item_id}"
        with _locked(act, key, wait=LOCK_WAIT, what="Someone else is saving this item"):
            resuming = act.journal is not None and act.journal.stage is not None
            if act.etag and not resuming:  # the response itself needs nothing read first
                _compare(act, act.read())
            result = sending.respond(act)
            return _reread(act), result
    if spec.send:
        key = f"send:{act.route.key}:{act.ctx.item_id}:{act.caller.oid}"
        with _locked(act, key, wait=0.0, what="A reply to this item is being sent"):
            result = sending.send(act, name)
        return _reread(act), result
    assert spec.plan is not None
    key = f"item:{act.route.key}:{act.ctx.item_id}"
    with _locked(act, key, wait=LOCK_WAIT, what="Someone else is saving this item"):
        return _write_item(act, spec.plan)


def _reread(act: Act) -> dict[str, Any] | None:
    """The item after a send, or None: the send's answer doesn't depend on it."""
    if act.remaining() < sending.SEND_MARGIN:
        return None
    try:
        return act.summary(act.read())
    except ApiError as error:
        log.info("the item couldn't be read after the action (%s); answered without it", error.code)
        return None


class _locked:
    """A lock the action runs under, or `conflict` when it can't be had in time (never a blind
    write); the hold joins the action's, which `Act.fence` checks before what can't be undone.

    Without the shared store (Redis down) no lock can be promised, so nothing is written:
    `upstream_unavailable` (503), which the pane retries, rather than a possible lost update.
    """

    def __init__(self, act: Act, key: str, *, wait: float, what: str):
        self._act = act
        wait = max(0.0, min(wait, act.remaining() - sending.SEND_MARGIN))
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


@dataclass
class Outcome:
    """An action's answer: its status and JSON body, and whether a replay answered it."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def perform(
    name: str, body: Any, caller: Caller, tandem: Any, *, key: str | None = None
) -> Outcome:
    """Validate, run and audit one action, once per Idempotency-Key; answers the route's JSON."""
    started = time.perf_counter()
    ctx: ItemContext | None = None
    act: Act | None = None
    try:
        ctx, fields, etag = prepare(name, body, tandem.settings, caller)
        act = tandem.act(caller, ctx, fields, etag)
        if key is None:
            item, result = run(name, act)
            outcome = Outcome(200, _answer(name, caller, ctx, item, result))
        else:
            outcome = _once(name, body, caller, act, key)
    except ApiError as error:
        _record(name, act, caller, ctx, error.code, started)
        raise
    except Exception:
        _record(name, act, caller, ctx, "internal_error", started)
        raise
    _record(name, act, caller, ctx, "replayed" if outcome.replayed else "ok", started)
    return outcome


def _answer(
    name: str,
    caller: Caller,
    ctx: ItemContext,
    item: dict[str, Any] | None,
    result: dict[str, Any],
) -> dict[str, Any]:
    answer: dict[str, Any] = {"action": name, "item": item, "result": result}
    if item is not None:
        # What may be done with the item now (a claim changes it): the pane needs no second call.
        answer["actions"] = permissions.describe(
            ctx.bits,
            ctx.item_type,
            holder=item.get("claim"),
            me=caller.upn,
            owner=not ctx.shared,
            organizer=bool(item.get("isOrganizer")),
        )
    return answer


def _once(name: str, body: Any, caller: Caller, act: Act, key: str) -> Outcome:
    """A keyed action: the first outcome for every replay, a send never made twice."""
    ctx = act.ctx
    record_name = idempotency.scope(caller, key)
    print_ = idempotency.fingerprint(name, body)
    journal = idempotency.open_journal(act.coordinator, record_name, action=name, print_=print_)
    if journal is not None and journal.done:
        return _replayed(journal)
    wait = idempotency.REPLAY_WAIT
    what = "This request is still being carried out"
    with _locked(act, record_name, wait=wait, what=what):
        journal = idempotency.open_journal(
            act.coordinator, record_name, action=name, print_=print_
        ) or idempotency.new_journal(act.coordinator, record_name, action=name, print_=print_)
        if journal.done:
            return _replayed(journal)
        journal.holds = list(act.holds)
        act.journal = journal
        if journal.stage is None:
            journal.note()  # the key is taken: a replay with another body is refused from now
        try:
            item, result = run(name, act)
        except ApiError as error:
            if idempotency.kept(error):
                journal.finish(error.status, body_of(error))
            elif journal.stage is None:
                journal.drop()  # nothing that a replay must know of: it may run afresh
            raise
        answer = _answer(name, caller, ctx, item, result)
        journal.finish(200, answer)
    return Outcome(200, answer)


def _replayed(journal: idempotency.Journal) -> Outcome:
    """The first outcome, as it was answered."""
    kept = journal.record["answer"]
    return Outcome(int(kept["status"]), dict(kept["body"]), replayed=True)


def _record(
    name: str,
    act: Act | None,
    caller: Caller,
    ctx: ItemContext | None,
    outcome: str,
    started: float,
) -> None:
    """One audit line per action: who, where, what, how it ended (never a token, a comment or
    an address: a send says its route, as whom and how many recipients)."""
    known = name if name in SPECS else "unknown"  # never the URL's text: it may forge a line
    metrics.ACTIONS.labels(known, outcome).inc()
    extra: dict[str, Any] = {}
    if act is not None and act.sent is not None:
        extra["send"] = act.sent
    audit.event(
        "action",
        action=known,
        person={"oid": caller.oid, "upn": caller.upn},
        mailbox=(ctx.target or caller.upn) if ctx else None,
        item=hashlib.sha256(ctx.item_id.encode()).hexdigest()[:16] if ctx else None,
        outcome=outcome,
        graphRequestIds=act.graph_request_ids if act else [],
        durationMs=round((time.perf_counter() - started) * 1000),
        **extra,
    )
