"""The mailbox's routes: its folders, its queue and "take the next one", its templates, its
first-response policy and its numbers. Each takes the item context of the item the pane shows
(it says which mailbox), and each answers only after Graph let the person reach the mailbox."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, g, jsonify
from flask.typing import ResponseReturnValue

from tandem_mailbox.errors import InvalidRequest
from tandem_mailbox.mail import actions, compose, folders, operation, queue, record, team
from tandem_mailbox.mail.context import ItemContext, parse_context
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.web.api import json_body
from tandem_mailbox.web.auth import services, sso_required

bp = Blueprint("mailbox", __name__, url_prefix="/api/mailbox")


def _context(caller: Caller, body: Any, extra: frozenset[str] = frozenset()) -> ItemContext:
    ctx = parse_context(body, services().settings, caller, extra=extra)
    g.target_mailbox = ctx.target or caller.upn
    return ctx


def _mailbox(caller: Caller, body: Any, *extra: str) -> queue.Mailbox:
    if compose.is_draft(body):  # the pane beside a draft: its conversation says which mailbox
        draft = compose.parse_draft(body, services().settings, caller, extra=frozenset(extra))
        g.target_mailbox = draft.ctx.target or caller.upn
        return queue.mailbox_of(services(), caller, draft.ctx)
    return queue.mailbox_of(services(), caller, _context(caller, body, frozenset(extra)))


@bp.post("/folders")
@sso_required
def mailbox_folders(caller: Caller) -> ResponseReturnValue:
    """The folders of the item's mailbox the person can see, for the move picker."""
    ctx = _context(caller, json_body())
    act = operation.begin(services(), caller, ctx, {}, None)
    return jsonify({"folders": folders.listing(act)})


@bp.post("/queue")
@sso_required
def mailbox_queue(caller: Caller) -> ResponseReturnValue:
    """Counts for every view of the queue, and a page of one view's conversations."""
    body = json_body()
    ctx = _context(caller, body, frozenset({"view", "page"}))
    view = body.get("view", "open")
    if view not in queue.VIEWS:
        raise InvalidRequest(f"view is one of {', '.join(queue.VIEWS)}.", field="view")
    page = body.get("page", 1)
    if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= 10_000:
        raise InvalidRequest("page is a whole number from 1.", field="page")
    return jsonify(queue.queue(services(), caller, ctx, view, page))


@bp.post("/next")
@sso_required
def mailbox_next(caller: Caller) -> ResponseReturnValue:
    """Take the next one: the open conversation nobody owns that is due soonest."""
    tandem = services()
    ctx = _context(caller, json_body())
    taken = queue.take_next(tandem, caller, ctx)
    item = taken["taken"]
    if item is not None:
        # Outlook shows the new owner too: their claim category on the conversation's newest item.
        newest = dataclasses.replace(ctx, item_id=item["itemId"], item_type="message")
        actions.follow_owner(tandem, caller, newest, record.person(caller))
    return jsonify(taken)


@bp.post("/templates")
@sso_required
def mailbox_templates(caller: Caller) -> ResponseReturnValue:
    """The mailbox's templates."""
    return jsonify(team.templates(services(), _mailbox(caller, json_body())))


@bp.post("/templates/save")
@sso_required
def mailbox_template_save(caller: Caller) -> ResponseReturnValue:
    """Create or change a template (any member)."""
    body = json_body()
    box = _mailbox(caller, body, "id", "name", "body")
    return jsonify(team.save_template(services(), box, caller, body))


@bp.post("/templates/delete")
@sso_required
def mailbox_template_delete(caller: Caller) -> ResponseReturnValue:
    """Remove a template (any member)."""
    body = json_body()
    return jsonify(team.delete_template(services(), _mailbox(caller, body, "id"), body))


@bp.post("/policy")
@sso_required
def mailbox_policy(caller: Caller) -> ResponseReturnValue:
    """The mailbox's first-response policy."""
    return jsonify(team.policy(services(), _mailbox(caller, json_body()), caller))


@bp.post("/policy/save")
@sso_required
def mailbox_policy_save(caller: Caller) -> ResponseReturnValue:
    """Set the first-response policy (the app role Tandem.Admin only)."""
    body = json_body()
    box = _mailbox(caller, body, "firstResponseMinutes", "businessHours")
    return jsonify(team.save_policy(services(), box, caller, body))


@bp.post("/stats")
@sso_required
def mailbox_stats(caller: Caller) -> ResponseReturnValue:
    """The mailbox's numbers over the last 7 or 30 days."""
    body = json_body()
    box = _mailbox(caller, body, "days")
    days = body.get("days", 7)
    if days not in (7, 30) or isinstance(days, bool):
        raise InvalidRequest("days is 7 or 30.", field="days")
    return jsonify(team.stats(services(), box, days))
