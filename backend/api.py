"""The API blueprint: views of a few lines, caller -> item context -> action -> JSON."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import UnsupportedMediaType

from . import actions, fields, folders, idempotency, permissions, presence
from .context import parse_context
from .errors import PROBLEM_JSON, InvalidRequest
from .graph import summary
from .identity import Caller, sso_required

bp = Blueprint("api", __name__, url_prefix="/api")


def _tandem() -> Any:
    return current_app.extensions["tandem"]


def _json_body() -> Any:
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


def _answer(caller: Caller, ctx: Any, raw: dict[str, Any], settings: Any) -> dict[str, Any]:
    """The context answer: mailbox, person, permissions, item and what may be done with it."""
    item = summary(raw, ctx.item_type, me=caller.upn)
    return {
        "mailbox": {
            "address": ctx.target or caller.upn,
            "kind": ctx.kind,
            "owner": ctx.owner or (ctx.target or caller.upn),
        },
        "person": {"name": caller.name, "upn": caller.upn},
        "permissions": dict(permissions.decode(ctx.bits), bits=ctx.bits),
        "item": item,
        "actions": permissions.describe(
            ctx.bits,
            ctx.item_type,
            holder=item["claim"],
            me=caller.upn,
            owner=not ctx.shared,
            organizer=bool(item.get("isOrganizer")),
        ),
        # What the pane must know before it sends: a comment's limit in characters (code
        # points), and the longest a request may take here (the pane waits longer).
        "limits": {
            "commentCharacters": fields.MAX_COMMENT,
            "requestSeconds": round(settings.longest_request),
        },
    }


@bp.post("/items/context")
@sso_required
def item_context(caller: Caller) -> ResponseReturnValue:
    """What may be done with this item, and its summary."""
    tandem = _tandem()
    ctx = parse_context(_json_body(), tandem.settings, caller)
    g.target_mailbox = ctx.target or caller.upn
    token = tandem.obo.graph_token(caller)
    raw = tandem.graph.item(token, tandem.graph.route(caller, ctx), ctx.item_type, ctx.item_id)
    return jsonify(_answer(caller, ctx, raw, tandem.settings))


@bp.post("/items/actions/<name>")
@sso_required
def item_action(name: str, caller: Caller) -> ResponseReturnValue:
    """Carry out one action on the item, under Exchange's rules, once per Idempotency-Key."""
    key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
    outcome = actions.perform(name, _json_body(), caller, _tandem(), key=key)
    response = jsonify(outcome.body)
    response.status_code = outcome.status
    if outcome.status >= 400:
        response.mimetype = PROBLEM_JSON
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/mailbox/folders")
@sso_required
def mailbox_folders(caller: Caller) -> ResponseReturnValue:
    """The folders of the item's mailbox the person can see, for the move picker."""
    tandem = _tandem()
    ctx = parse_context(_json_body(), tandem.settings, caller)
    return jsonify({"folders": folders.listing(tandem.act(caller, ctx, {}, None))})


@bp.post("/items/presence")
@sso_required
def item_presence(caller: Caller) -> ResponseReturnValue:
    """Say this person is viewing or replying to the item; answers who else is."""
    tandem, body = _tandem(), _json_body()
    ctx = parse_context(body, tandem.settings, caller, extra=frozenset({"state"}))
    return jsonify(presence.report(tandem, caller, ctx, presence.state_of(body)))
