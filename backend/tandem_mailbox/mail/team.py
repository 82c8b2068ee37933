"""What a mailbox's team shares: its reply templates, its first-response policy (set by an
administrator: the app role Tandem.Admin), and its numbers."""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from tandem_mailbox.errors import InvalidRequest, PermissionDenied
from tandem_mailbox.mail.hours import BusinessHours, PolicyError
from tandem_mailbox.mail.queue import Mailbox, hours_of
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.services import Services
from tandem_mailbox.store.mailbox import NoSuchTemplate, Policy, Template
from tandem_mailbox.store.record import Event, Person, utc_now

ADMIN_ROLE = "Tandem.Admin"
MAX_TEMPLATE_NAME = 100
MAX_TEMPLATE_BODY = 8000
MAX_FIRST_RESPONSE = 7 * 24 * 60  # a week of minutes: beyond it, a target is no target
# The placeholders a template may hold; the pane fills them from the item and the person.
PLACEHOLDERS = (
    "customer.name",
    "customer.firstName",
    "me.name",
    "me.firstName",
    "mailbox.name",
)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REPLIES = ("reply", "replyAll", "forward")


def _person(caller: Caller) -> Person:
    return Person(caller.oid, caller.upn.lower(), caller.name)


# -- templates ----------------------------------------------------------------------------------
def _names(services: Services, box: Mailbox) -> dict[str, str]:
    """The mailbox's members' names by upn, as Tandem has seen them."""
    return {m.upn: m.name for m in services.record.members(box.tenant, box.guid)}


def _template(template: Template, names: dict[str, str]) -> dict[str, Any]:
    by = template.updated_by
    return {
        "id": template.id,
        "name": template.name,
        "body": template.body,
        "updatedBy": {"upn": by, "name": names.get(by, by)},
        "updatedAt": template.updated_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def templates(services: Services, box: Mailbox) -> dict[str, Any]:
    """The mailbox's templates, and the placeholders they may hold."""
    found = services.mailboxes.templates(box.tenant, box.guid)
    names = _names(services, box)
    return {
        "templates": [_template(t, names) for t in found],
        "placeholders": list(PLACEHOLDERS),
    }


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidRequest(f"{name} is text of 1 to {limit:,} characters.", field=name)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if _REFUSED.search(value):
        raise InvalidRequest(
            f"{name} may not hold control characters or bidirectional overrides.", field=name
        )
    return value


def save_template(
    services: Services, box: Mailbox, caller: Caller, body: dict[str, Any]
) -> dict[str, Any]:
    """Create a template (no `id`) or change one; any member may."""
    template_id = body.get("id")
    if template_id is not None and not (
        isinstance(template_id, str) and _UUID.fullmatch(template_id)
    ):
        raise InvalidRequest("id is one of this mailbox's templates, or absent.", field="id")
    name = _text(body, "name", MAX_TEMPLATE_NAME).strip()
    text = _text(body, "body", MAX_TEMPLATE_BODY)
    unknown = sorted({p for p in _PLACEHOLDER.findall(text) if p not in PLACEHOLDERS})
    if unknown:
        raise InvalidRequest(
            f"Unknown placeholder {{{{{unknown[0]}}}}}: use "
            + ", ".join(f"{{{{{p}}}}}" for p in PLACEHOLDERS)
            + ".",
            field="body",
        )
    try:
        saved = services.mailboxes.save_template(
            box.tenant, box.guid, template_id=template_id, name=name, body=text, by=_person(caller)
        )
    except NoSuchTemplate:
        raise InvalidRequest("There is no such template in this mailbox.", field="id") from None
    return {"template": _template(saved, {caller.upn.lower(): caller.name})}


def delete_template(services: Services, box: Mailbox, body: dict[str, Any]) -> dict[str, Any]:
    """Remove a template of the mailbox; any member may."""
    template_id = body.get("id")
    if not (isinstance(template_id, str) and _UUID.fullmatch(template_id)):
        raise InvalidRequest("id is one of this mailbox's templates.", field="id")
    try:
        services.mailboxes.delete_template(box.tenant, box.guid, template_id)
    except NoSuchTemplate:
        raise InvalidRequest("There is no such template in this mailbox.", field="id") from None
    return {"deleted": template_id}


# -- the first-response policy -------------------------------------------------------------------
def _policy(policy: Policy | None, caller: Caller) -> dict[str, Any]:
    shown: dict[str, Any] = {"canEdit": ADMIN_ROLE in caller.roles, "policy": None}
    if policy is not None:
        hours = hours_of(policy).shown()
        shown["policy"] = {
            "firstResponseMinutes": policy.first_response_minutes,
            "businessHours": hours,
            "updatedBy": policy.updated_by,
        }
    return shown


def policy(services: Services, box: Mailbox, caller: Caller) -> dict[str, Any]:
    """The mailbox's first-response policy (None when nobody set one)."""
    return _policy(services.mailboxes.policy(box.tenant, box.guid), caller)


def save_policy(
    services: Services, box: Mailbox, caller: Caller, body: dict[str, Any]
) -> dict[str, Any]:
    """Set the policy: for the app role Tandem.Admin only (the token's `roles`)."""
    if ADMIN_ROLE not in caller.roles:
        raise PermissionDenied(
            f"Only a Tandem administrator (the app role {ADMIN_ROLE}) may set a mailbox's "
            "first-response target."
        )
    minutes = body.get("firstResponseMinutes")
    if (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not 1 <= minutes <= MAX_FIRST_RESPONSE
    ):
        raise InvalidRequest(
            "firstResponseMinutes is a whole number of business minutes, 1 to "
            f"{MAX_FIRST_RESPONSE}.",
            field="firstResponseMinutes",
        )
    try:
        hours = BusinessHours.parse(body.get("businessHours"))
    except PolicyError as error:
        raise InvalidRequest(str(error), field="businessHours") from None
    saved = services.mailboxes.save_policy(
        box.tenant,
        box.guid,
        Policy(minutes, hours.days, hours.start, hours.end, hours.zone),
        by=_person(caller),
    )
    return _policy(saved, caller)


# -- the numbers ----------------------------------------------------------------------------
def stats(services: Services, box: Mailbox, days: int) -> dict[str, Any]:
    """Replies sent, conversations done and the first response (median and 90th percentile, in
    business minutes), per person and for the mailbox, over the last `days`, with a daily
    series."""
    now = utc_now()
    books = services.mailboxes
    hours = hours_of(books.policy(box.tenant, box.guid))
    # Whole days in the mailbox's time zone (its policy's, else UTC): today and the days
    # before it, so the daily series and the totals count the same events.
    zone = ZoneInfo(hours.zone)
    first_day = now.astimezone(zone).date() - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first_day, dt.time(0), zone).astimezone(dt.UTC)
    happened = books.events_since(box.tenant, box.guid, since)
    replies: Counter[str] = Counter()
    done: Counter[str] = Counter()
    names: dict[str, str] = {}
    daily: dict[str, dict[str, int]] = defaultdict(lambda: {"replies": 0, "done": 0})
    first_reply: dict[str, tuple[dt.datetime, str]] = {}
    for event in happened:
        who = event.actor.upn if event.actor else ""
        if event.actor:
            names[who] = event.actor.name
        day = event.at.astimezone(zone).date().isoformat()
        if event.kind in REPLIES and event.detail.get("outcome") == "sent":
            replies[who] += 1
            daily[day]["replies"] += 1
        if event.kind == "status" and event.detail.get("to") == "done" and event.actor:
            done[who] += 1
            daily[day]["done"] += 1
    # The first answer of each conversation answered in the window, and who gave it.
    records = books.conversations(box.tenant, box.guid, _answered(happened))
    per_person: dict[str, list[float]] = defaultdict(list)
    everyone: list[float] = []
    for event in happened:
        if event.kind not in REPLIES or event.detail.get("outcome") != "sent" or not event.actor:
            continue
        conversation = records.get(_conversation_of(event))
        if conversation is None or conversation.customer_since is None:
            continue
        key = conversation.key.conversation
        if key in first_reply or event.at < conversation.customer_since:
            continue
        first_reply[key] = (event.at, event.actor.upn)
        minutes = hours.minutes_between(conversation.customer_since, event.at)
        per_person[event.actor.upn].append(minutes)
    for first, answered in books.answered_since(box.tenant, box.guid, since):
        everyone.append(hours.minutes_between(first, answered))
    people = sorted(set(replies) | set(done) | set(per_person) - {""})
    series = []
    for n in range(days):
        day = (first_day + dt.timedelta(days=n)).isoformat()
        series.append({"day": day, **daily.get(day, {"replies": 0, "done": 0})})
    return {
        "days": days,
        "timeZone": hours.zone,
        "mailbox": {
            "repliesSent": sum(replies.values()),
            "conversationsDone": sum(done.values()),
            **_spread(everyone or [m for ms in per_person.values() for m in ms]),
        },
        "people": [
            {
                "upn": upn,
                "name": names.get(upn, upn),
                "repliesSent": replies[upn],
                "conversationsDone": done[upn],
                **_spread(per_person.get(upn, [])),
            }
            for upn in people
            if upn
        ],
        "daily": series,
    }


def _answered(happened: list[Event]) -> list[str]:
    return [e.conversation for e in happened if e.conversation]


def _conversation_of(event: Event) -> str:
    return event.conversation


def _spread(minutes: list[float]) -> dict[str, Any]:
    """Median and 90th percentile of first responses, in whole business minutes."""
    if not minutes:
        return {"firstResponses": 0, "firstResponseMedian": None, "firstResponseP90": None}
    ordered = sorted(minutes)
    p90 = ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered) + 0.5) - 1))]
    return {
        "firstResponses": len(ordered),
        "firstResponseMedian": round(statistics.median(ordered)),
        "firstResponseP90": round(p90),
    }
