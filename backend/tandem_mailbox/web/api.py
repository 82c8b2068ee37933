"""The API blueprint: views of a few lines, caller -> item context -> action -> JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import UnsupportedMediaType

from tandem_mailbox.errors import PROBLEM_JSON, InvalidRequest
from tandem_mailbox.mail import (
    actions,
    answers,
    compose,
    idempotency,
    permissions,
    presence,
    record,
    replies,
)
from tandem_mailbox.mail.context import ItemContext, parse_context
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.web.auth import services, sso_required

bp = Blueprint("api", __name__, url_prefix="/api")


def json_body() -> Any:
    """The JSON body, or 415 / 400 as problem+json."""
    if not request.is_json:
        raise UnsupportedMediaType("The body must be application/json.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # a small body nested a thousand levels deep
        raise InvalidRequest("The body is nested too deeply.") from None
    if body is None:
        raise InvalidRequest("The body is not valid JSON.")
    return body


def _context(caller: Caller, body: Any, extra: frozenset[str] = frozenset()) -> ItemContext:
    """The item context of the body, its mailbox named for this request's log line."""
    ctx = parse_context(body, services().settings, caller, extra=extra)
    g.target_mailbox = ctx.target or caller.upn
    return ctx


@bp.post("/items/context")
@sso_required
def item_context(caller: Caller) -> ResponseReturnValue:
    """What may be done with this item, and its summary."""
    tandem = services()
    ctx = _context(caller, json_body())
    token = tandem.obo.graph_token(caller)
    route = tandem.graph.route(caller, ctx.target, ctx.item_id)
    raw = tandem.graph.item(token, route, ctx.item_type, ctx.item_id)
    answer = answers.context(caller, ctx, raw, tandem.settings)
    replies.settle_item(tandem, caller, ctx, raw)
    shown, conversation = record.snapshot(tandem.record, caller, ctx, raw)
    owner = conversation.assignee if conversation else None
    holder = (answer["item"].get("claim") or {}).get("upn")
    if owner and holder != owner.upn and not permissions.missing("assign", ctx.bits):
        # A newer item of an owned conversation (the customer wrote again): the claim
        # category follows the owner, so Outlook shows them too.
        followed = actions.follow_owner(tandem, caller, ctx, owner)
        if followed is not None:
            answer = {**answer, **answers.refreshed(caller, ctx, followed)}
    if shown is not None:
        shown["actions"] = answers.record_actions(ctx.bits)
    answer["record"] = shown
    return jsonify(answer)


@bp.post("/items/record")
@sso_required
def item_record(caller: Caller) -> ResponseReturnValue:
    """The team's record of the item's conversation (after Graph let the person read it), or
    of a draft's (its conversation, after Graph listed it for the person)."""
    tandem = services()
    body = json_body()
    if compose.is_draft(body):
        return jsonify(compose.record_of(tandem, caller, _draft(caller, body)))
    ctx = _context(caller, body)
    token = tandem.obo.graph_token(caller)
    route = tandem.graph.route(caller, ctx.target, ctx.item_id)
    raw = tandem.graph.item(token, route, ctx.item_type, ctx.item_id)
    replies.settle_item(tandem, caller, ctx, raw)
    shown, _ = record.snapshot(tandem.record, caller, ctx, raw)
    if shown is None:
        raise InvalidRequest("This item has no conversation record.", field="itemId")
    shown["actions"] = answers.record_actions(ctx.bits)
    return jsonify(shown)


@bp.post("/items/sendcheck")
@sso_required
def item_sendcheck(caller: Caller) -> ResponseReturnValue:
    """Before a draft is sent (Outlook's OnMessageSend): whether someone else replied in its
    conversation since it was opened, or holds it."""
    tandem = services()
    body = json_body()
    draft = _draft(caller, body, frozenset({"openedAt"}))
    opened = compose.opened_at(body, dt.datetime.fromtimestamp(tandem.wall(), dt.UTC))
    return jsonify(compose.sendcheck(tandem, caller, draft, opened))


def _draft(caller: Caller, body: Any, extra: frozenset[str] = frozenset()) -> compose.Draft:
    """The draft's context in the body, its mailbox named for this request's log line."""
    draft = compose.parse_draft(body, services().settings, caller, extra=extra)
    g.target_mailbox = draft.ctx.target or caller.upn
    return draft


@bp.post("/items/actions/<name>")
@sso_required
def item_action(name: str, caller: Caller) -> ResponseReturnValue:
    """Carry out one action on the item, under Exchange's rules, once per Idempotency-Key."""
    key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
    outcome = actions.perform(
        name,
        json_body(),
        caller,
        services(),
        key=key,
        request_id=g.get("request_id"),
        on_context=lambda ctx: g.setdefault("target_mailbox", ctx.target or caller.upn),
    )
    response = jsonify(outcome.body)
    response.status_code = outcome.status
    if outcome.status >= 400:
        response.mimetype = PROBLEM_JSON
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/items/presence")
@sso_required
def item_presence(caller: Caller) -> ResponseReturnValue:
    """Say this person is viewing or replying to the item (or writing a draft in its
    conversation); answers who else is."""
    body = json_body()
    if compose.is_draft(body):
        draft = _draft(caller, body, frozenset({"state"}))
        return jsonify(compose.report(services(), caller, draft, presence.state_of(body)))
    ctx = _context(caller, body, frozenset({"state"}))
    return jsonify(presence.report(services(), caller, ctx, presence.state_of(body)))
