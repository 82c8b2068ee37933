"""The actions: claim, categorize, flag, move, reply ... each a small plan over the item.

A plan reads the item as it is now and says the one Graph call that makes the change (or none);
mail/operation.py runs it under the item's lock (read, compare, write, re-read). The
permission bits refuse early only when no bit could allow the action: Exchange stays the judge.
Replies, forwards and meeting responses are sends (mail/sending.py): once per Idempotency-Key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tandem_mailbox.config import Settings
from tandem_mailbox.errors import (
    ApiError,
    Conflict,
    InvalidRequest,
    ItemNotFound,
    MailboxAccessDenied,
    PermissionDenied,
    UpstreamUnavailable,
    body_of,
)
from tandem_mailbox.mail import (
    answers,
    audit,
    claim_category,
    fields,
    folders,
    idempotency,
    operation,
    permissions,
    record,
    sending,
)
from tandem_mailbox.mail.context import ItemContext, is_item_id, parse_context
from tandem_mailbox.mail.operation import LOCK_WAIT, Act, Plan, Write
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.services import Services
from tandem_mailbox.store import StoreUnavailable
from tandem_mailbox.store.record import Key, Person, Record, Seen

log = logging.getLogger("tandem.actions")


def _claim(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    categories = operation.categories(current)
    holder = claim_category.holder(categories)
    me = {"upn": act.caller.upn.lower(), "name": act.caller.name}
    if holder is not None and holder["upn"] != me["upn"]:
        raise Conflict(
            f"{holder['name'] or holder['upn']} holds the claim on this item.", holder=holder
        )
    if holder is not None:
        return None, {"holder": holder, "changed": False}
    mine = claim_category.category_for(act.caller.name, act.caller.upn)
    return operation.patch(act, {"categories": [*categories, mine]}), {
        "holder": me,
        "changed": True,
    }


def _release(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    categories = operation.categories(current)
    holder = claim_category.holder(categories)
    if holder is None:
        return None, {"holder": None, "released": None, "changed": False}
    if holder["upn"] != act.caller.upn.lower() and not act.owner:
        raise Conflict(
            f"{holder['name'] or holder['upn']} holds the claim; only they or the mailbox's "
            "owner can release it.",
            holder=holder,
        )
    theirs = set(claim_category.claims_of(categories, holder["upn"]))
    kept = [c for c in categories if c not in theirs]
    result = {"holder": claim_category.holder(kept), "released": holder, "changed": True}
    return operation.patch(act, {"categories": kept}), result


def _categorize(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    categories = operation.categories(current)
    remove = {n.lower() for n in act.fields["remove"]}
    kept = [c for c in categories if c.lower() not in remove or claim_category.is_claim(c)]
    present = {c.lower() for c in kept}
    new = kept + [n for n in act.fields["add"] if n.lower() not in present]
    if new == categories:
        return None, {"categories": categories, "changed": False}
    return operation.patch(act, {"categories": new}), {"categories": new, "changed": True}


def _flag(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    flag = act.fields["flag"]
    now = (current.get("flag") or {}).get("flagStatus", "notFlagged")
    if now == flag:
        return None, {"flag": flag, "changed": False}
    return operation.patch(act, {"flag": {"flagStatus": flag}}), {"flag": flag, "changed": True}


def _mark(read: bool) -> Plan:
    def plan(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
        if current.get("isRead") is read:
            return None, {"isRead": read, "changed": False}
        return operation.patch(act, {"isRead": read}), {"isRead": read, "changed": True}

    return plan


def _move_to(act: Act, folder: dict[str, Any], result: dict[str, Any]) -> Write:
    """The move's write: Graph answers the moved item (201), at its new id.

    A destination remembered from the folder list (folders.py) may have gone since: when
    Exchange answers ErrorItemNotFound, the name is resolved afresh and, if it now names
    another folder, moved there once; the same folder means the item itself is gone.
    """

    def move(destination: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        act.fence()
        return act.call(
            "POST",
            act.route,
            act.item_path + "/move",
            body={"destinationId": destination["id"]},
            if_match=current.get("@odata.etag"),
        ).body

    def write(current: dict[str, Any]) -> dict[str, Any] | None:
        try:
            moved = move(folder, current)
        except ItemNotFound:
            if not folder.get("remembered"):
                raise
            fresh = folders.resolve_again(act, folder)
            if fresh is None or fresh["id"] == folder["id"]:
                raise
            log.info("a remembered folder had gone; moving to the folder its name names now")
            folder.update(fresh)
            result["movedTo"] = folders.shown(fresh)
            moved = move(fresh, current)
        new_id = moved.get("id")
        if not is_item_id(new_id):
            raise UpstreamUnavailable("Microsoft Graph's move answered no new id.", status=502)
        result["id"] = new_id
        return moved

    return write


def _move(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    folder = folders.resolve(act, act.fields["folder"])
    moved = folders.shown(folder)
    if current.get("parentFolderId") == folder["id"]:
        return None, {"id": act.ctx.item_id, "previousId": act.previous_id, "movedTo": moved}
    result = {"id": None, "previousId": act.previous_id, "movedTo": moved}
    return _move_to(act, folder, result), result


def _delete(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
    folder = folders.resolve(act, "deleteditems", quiet=True)
    moved = {
        "id": folder["id"] if folder else None,
        "name": folder["name"] if folder else "Deleted Items",
        "wellKnownName": "deleteditems",
    }
    result: dict[str, Any] = {"id": None, "previousId": act.previous_id, "movedTo": moved}
    if folder and current.get("parentFolderId") == folder["id"]:
        return None, dict(result, id=act.ctx.item_id)

    def write(current: dict[str, Any]) -> dict[str, Any] | None:
        if folder is not None:
            try:
                return _move_to(act, folder, result)(current)
            except MailboxAccessDenied:
                log.info("no rights on the Deleted Items folder; asking Exchange to delete")
                folders.refused(act, "deleteditems")
        # Graph's DELETE: Exchange moves the item to the mailbox's Deleted Items itself and
        # needs delete rights on the item only (a delegate has none on the owner's folders).
        act.fence()
        act.call("DELETE", act.route, act.item_path, if_match=current.get("@odata.etag"))
        result["deleted"] = True
        return None

    return write, result


# -- the team's record ---------------------------------------------------------------------------
def _key(act: Act, current: dict[str, Any]) -> Key:
    """The record's key of the item Graph just let the person read."""
    key = record.key_of(act.caller, act.ctx, current)
    if key is None:
        raise InvalidRequest(
            "Tandem can't tell which conversation this item belongs to.", field="itemId"
        )
    return key


def _owned_by(act: Act, to: Person | None) -> Plan:
    """The item's claim category made the owner's (none for nobody), other categories kept."""

    def plan(act: Act, current: dict[str, Any]) -> tuple[Write | None, dict[str, Any]]:
        categories = operation.categories(current)
        kept = [c for c in categories if not claim_category.is_claim(c)]
        new = kept + ([claim_category.category_for(to.name, to.upn)] if to else [])
        if new == categories:
            return None, {}
        return operation.patch(act, {"categories": new}), {}

    return plan


def _assign(act: Act) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The conversation to a member or nobody, and the item's claim category to them."""
    assert act.record is not None
    key = f"item:{act.route.key}:{act.ctx.item_id}"
    with operation.locked(act, key, wait=LOCK_WAIT, what="Someone else is saving this item"):
        current = act.read()
        conversation = _key(act, current)
        to = record.member_named(act.record, conversation, act.caller, act.fields["assignee"])
        item, _ = operation.write_item(act, _owned_by(act, to), current)
        return item, record.assign(act.record, conversation, to, act.caller)


def _in_record(
    change: Callable[[Record, Key, Act], dict[str, Any]],
) -> Callable[[Act], tuple[dict[str, Any] | None, dict[str, Any]]]:
    """A change of the record alone, after Graph let the person read the item."""

    def run(act: Act) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        assert act.record is not None
        current = act.read()
        return act.summary(current), change(act.record, _key(act, current), act)

    return run


_status = _in_record(lambda r, k, act: record.set_status(r, k, act.fields["status"], act.caller))
_note = _in_record(lambda r, k, act: record.add_note(r, k, act.fields["text"], act.caller))
_edit_note = _in_record(
    lambda r, k, act: record.edit_note(r, k, act.fields["noteId"], act.fields["text"], act.caller)
)
_delete_note = _in_record(
    lambda r, k, act: record.delete_note(r, k, act.fields["noteId"], act.caller)
)


def _follow_claim(name: str, act: Act, result: dict[str, Any]) -> None:
    """A claim is the conversation assigned to oneself; a release, to nobody."""
    if act.record is None or not result.get("changed") or act.conversation_id is None:
        return
    key = record.key_of(
        act.caller, act.ctx, {"conversationId": act.conversation_id}, mailbox=act.mailbox_id
    )
    if key is None:
        return
    to = record.person(act.caller) if name == "claim" else None
    result["record"] = record.assign(act.record, key, to, act.caller)


def follow_owner(
    services: Services, caller: Caller, ctx: ItemContext, owner: Person
) -> dict[str, Any] | None:
    """A newer item of an owned conversation, opened by a member: its claim category made the
    owner's too, so Outlook shows who has it (answers the item as it is now, or None when
    Exchange refused the write: the record is right, the category can follow later)."""
    act = operation.begin(services, caller, ctx, {}, None)
    key = f"item:{act.route.key}:{act.ctx.item_id}"
    try:
        with operation.locked(act, key, wait=LOCK_WAIT, what="Someone else is saving this item"):
            item, _ = operation.write_item(act, _owned_by(act, owner))
    except (Conflict, MailboxAccessDenied, UpstreamUnavailable) as error:
        log.info("the owner's claim category didn't follow to a newer item (%s)", error.code)
        return None
    return item


# -- the table -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """One action: its own fields, which item types it applies to, and how it runs."""

    fields: frozenset[str]
    parse: Callable[[dict[str, Any]], dict[str, Any]]
    plan: Plan | None = None  # a write of the item, under its lock
    send: bool = False
    run: Callable[[Act], tuple[dict[str, Any] | None, dict[str, Any]]] | None = None


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
    "assign": Spec(frozenset({"assignee"}), fields.assignee, run=_assign),
    "status": Spec(frozenset({"status"}), fields.status, run=_status),
    "note": Spec(frozenset({"text"}), fields.note, run=_note),
    "editNote": Spec(frozenset({"noteId", "text"}), fields.note_edit, run=_edit_note),
    "deleteNote": Spec(frozenset({"noteId"}), fields.note_id, run=_delete_note),
}


def prepare(
    name: str, body: Any, settings: Settings, caller: Caller
) -> tuple[ItemContext, dict[str, Any], str | None]:
    """Validate everything the action was sent, before anything reaches Entra ID or Graph."""
    spec = SPECS.get(name)
    if spec is None:
        raise InvalidRequest(f"There is no action '{name[:40]}'.", field="action")
    ctx = parse_context(body, settings, caller, extra=spec.fields | {"etag"})
    offered = permissions.BY_TYPE[ctx.item_type]
    if ctx.item_type == "message":
        offered = (*offered, *permissions.RECORD)
    if name not in offered:
        raise InvalidRequest(f"{name} does not apply to an {ctx.item_type}.", field="itemType")
    etag = body.get("etag")
    if etag is not None and not (isinstance(etag, str) and 0 < len(etag) <= 512):
        raise InvalidRequest("etag must be the item's @odata.etag.", field="etag")
    fields = spec.parse(body)
    lacking = permissions.missing(name, ctx.bits)
    if lacking:
        raise PermissionDenied(
            "Your permissions here do not allow this: "
            + str(permissions.describe(ctx.bits, ctx.item_type)[name]["reason"])
        )
    return ctx, fields, etag


def run(name: str, act: Act) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Carry the action out; answers the item as the action left it and the result.

    A send or a meeting response answers no item: what Exchange does to the original (its
    reply state, the event's response) is Exchange's, and reading it would cost every send a
    round trip its answer doesn't need; the pane asks for the context when it wants it.
    """
    spec = SPECS[name]
    operation.settle(act)
    if spec.run is not None:
        return spec.run(act)
    if name == "respond":
        key = f"item:{act.route.key}:{act.ctx.item_id}"
        with operation.locked(act, key, wait=LOCK_WAIT, what="Someone else is saving this item"):
            resuming = act.journal is not None and act.journal.stage is not None
            if act.etag and not resuming:  # the response itself needs nothing read first
                operation.compare(act, act.read())
            return None, sending.respond(act)
    if spec.send:
        key = f"send:{act.route.key}:{act.ctx.item_id}:{act.caller.oid}"
        with operation.locked(act, key, wait=0.0, what="A reply to this item is being sent"):
            return None, sending.send(act, name)
    assert spec.plan is not None
    key = f"item:{act.route.key}:{act.ctx.item_id}"
    with operation.locked(act, key, wait=LOCK_WAIT, what="Someone else is saving this item"):
        item, result = operation.write_item(act, spec.plan)
        if name in ("claim", "release"):
            _follow_claim(name, act, result)
        return item, result


@dataclass
class Outcome:
    """An action's answer: its status and JSON body, and whether a replay answered it."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def perform(
    name: str,
    body: Any,
    caller: Caller,
    services: Services,
    *,
    key: str | None = None,
    request_id: str | None = None,
    on_context: Callable[[ItemContext], Any] = lambda ctx: None,
) -> Outcome:
    """Validate, run and audit one action, once per Idempotency-Key; answers the route's JSON.

    `request_id` goes into an answer kept for replays; `on_context` hears the item's context
    as soon as it is known (the request's log line names its mailbox).
    """
    started = time.perf_counter()
    known = name if name in SPECS else "unknown"  # never the URL's text: it may forge a line
    ctx: ItemContext | None = None
    act: Act | None = None
    try:
        ctx, fields, etag = prepare(name, body, services.settings, caller)
        on_context(ctx)
        act = operation.begin(services, caller, ctx, fields, etag)
        if key is None:
            item, result = run(name, act)
            outcome = Outcome(200, _answer(name, act, item, result))
        else:
            outcome = _once(name, body, caller, act, key, request_id)
    except ApiError as error:
        audit.record(known, act, caller, ctx, error.code, started)
        raise
    except Exception:
        audit.record(known, act, caller, ctx, "internal_error", started)
        raise
    audit.record(
        known,
        act,
        caller,
        ctx,
        "replayed" if outcome.replayed else "ok",
        started,
        outcome.body.get("result") if not outcome.replayed else None,
    )
    return outcome


def _once(
    name: str, body: Any, caller: Caller, act: Act, key: str, request_id: str | None
) -> Outcome:
    """A keyed action: the first outcome for every replay, a send never made twice."""
    record_name = idempotency.scope(caller, key)
    # The request names the item by its immutable id: a replay after the item moved (in
    # Outlook, say) posts another REST id for the same item, and is the same request. A
    # refusal while learning that id is the action's outcome, kept as any other.
    unsettled: ApiError | None = None
    try:
        operation.settle(act)
    except ApiError as error:
        unsettled = error
    ctx = act.ctx
    same = dict(body, itemId=ctx.item_id) if isinstance(body, dict) else body
    print_ = idempotency.fingerprint(name, same)
    journal = idempotency.open_journal(act.coordinator, record_name, action=name, print_=print_)
    if journal is not None and journal.done:
        return _replayed(journal)
    wait = idempotency.REPLAY_WAIT
    what = "This request is still being carried out"
    with operation.locked(act, record_name, wait=wait, what=what):
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
            if unsettled is not None:
                raise unsettled
            item, result = run(name, act)
        except ApiError as error:
            if idempotency.kept(error):
                journal.finish(error.status, body_of(error, request_id=request_id))
            elif journal.stage is None:
                journal.drop()  # nothing that a replay must know of: it may run afresh
            raise
        answer = _answer(name, act, item, result)
        journal.finish(200, answer)
    return Outcome(200, answer)


def _answer(
    name: str, act: Act, item: dict[str, Any] | None, result: dict[str, Any]
) -> dict[str, Any]:
    """The action's answer: the item as it is now, what may be done next, and the record of its
    conversation with the action on its timeline (the pane renders it and asks nothing more)."""
    seen = audit.timeline(name, act, act.caller, act.ctx, result, look=record.TIMELINE)
    answer = answers.action(name, act.caller, act.ctx, item, result)
    answer["record"] = _record_of(act, seen)
    return answer


def _record_of(act: Act, seen: Seen | None) -> dict[str, Any] | None:
    """The record of the action's conversation as the pane shows it (`seen` when the
    timeline's write read it already), or None (an appointment, a conversation Graph didn't
    name, the store unavailable)."""
    if act.record is None or act.conversation_id is None:
        return None
    key = record.key_of(
        act.caller, act.ctx, {"conversationId": act.conversation_id}, mailbox=act.mailbox_id
    )
    if key is None:
        return None
    try:
        seen = seen or act.record.look(key, limit=record.TIMELINE)
    except StoreUnavailable:
        log.warning("the team's record is unavailable; the action is answered without it")
        return None
    shown = record.shown(act.caller, key, seen)
    shown["actions"] = answers.record_actions(act.ctx.bits)
    return shown


def _replayed(journal: idempotency.Journal) -> Outcome:
    """The first outcome, as it was answered."""
    kept = journal.record["answer"]
    return Outcome(int(kept["status"]), dict(kept["body"]), replayed=True)
