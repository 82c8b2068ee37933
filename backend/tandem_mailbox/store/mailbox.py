"""What a mailbox's team shares beyond each conversation: its first-response policy, its reply
templates, and the rows its queue and its numbers are read from."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, select, update

from tandem_mailbox.store import Store
from tandem_mailbox.store.record import Conversation, Event, Key, Person, Record, utc_now
from tandem_mailbox.store.tables import conversations, events, policies, templates


@dataclass(frozen=True)
class Policy:
    """A first-response target in business minutes, and the business hours it counts in."""

    first_response_minutes: int
    days: frozenset[int]
    start: int
    end: int
    zone: str
    updated_by: str | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class Template:
    """A canned reply the mailbox's members share."""

    id: str
    name: str
    body: str
    updated_by: str
    updated_at: dt.datetime


class NoSuchTemplate(Exception):
    """No template with that id in this mailbox."""


class Mailboxes:
    """Policies, templates and the queue's and numbers' reads, in one Store."""

    def __init__(self, store: Store, record: Record, *, clock: Callable[[], dt.datetime] = utc_now):
        self.store = store
        self.record = record
        self._clock = clock

    # -- the first-response policy ----------------------------------------------------------
    def policy(self, tenant: str, mailbox: str) -> Policy | None:
        """The mailbox's policy, or None when nobody set one."""
        with self.store.transaction() as connection:
            row = connection.execute(
                select(policies).where(
                    policies.c.tenant_id == tenant, policies.c.mailbox_id == mailbox
                )
            ).first()
        if row is None:
            return None
        hours = dict(row.business_hours)
        return Policy(
            first_response_minutes=row.first_response_minutes,
            days=frozenset(int(d) for d in hours["days"]),
            start=int(hours["start"]),
            end=int(hours["end"]),
            zone=str(hours["zone"]),
            updated_by=row.updated_by,
            updated_at=_utc(row.updated_at),
        )

    def save_policy(self, tenant: str, mailbox: str, policy: Policy, *, by: Person) -> Policy:
        """Set the mailbox's policy (replacing any)."""
        now = self._clock()
        values = {
            "first_response_minutes": policy.first_response_minutes,
            "business_hours": {
                "days": sorted(policy.days),
                "start": policy.start,
                "end": policy.end,
                "zone": policy.zone,
            },
            "updated_by": by.upn,
            "updated_at": now,
        }
        key = and_(policies.c.tenant_id == tenant, policies.c.mailbox_id == mailbox)
        with self.store.transaction() as connection:
            changed = connection.execute(update(policies).where(key).values(**values)).rowcount
            if not changed:
                connection.execute(
                    insert(policies).values(tenant_id=tenant, mailbox_id=mailbox, **values)
                )
        return Policy(**{**policy.__dict__, "updated_by": by.upn, "updated_at": now})

    # -- templates ---------------------------------------------------------------------------
    def templates(self, tenant: str, mailbox: str) -> list[Template]:
        """The mailbox's templates, by name."""
        with self.store.transaction() as connection:
            rows = connection.execute(
                select(templates)
                .where(templates.c.tenant_id == tenant, templates.c.mailbox_id == mailbox)
                .order_by(templates.c.name, templates.c.id)
            ).all()
        return [
            Template(r.id, r.name, r.body, r.updated_by, _utc(r.updated_at) or self._clock())
            for r in rows
        ]

    def save_template(
        self,
        tenant: str,
        mailbox: str,
        *,
        template_id: str | None,
        name: str,
        body: str,
        by: Person,
    ) -> Template:
        """A new template (no id), or an edit of one of this mailbox's."""
        now = self._clock()
        values = {"name": name, "body": body, "updated_by": by.upn, "updated_at": now}
        with self.store.transaction() as connection:
            if template_id is None:
                template_id = str(uuid.uuid4())
                connection.execute(
                    insert(templates).values(
                        id=template_id, tenant_id=tenant, mailbox_id=mailbox, **values
                    )
                )
            else:
                changed = connection.execute(
                    update(templates)
                    .where(
                        templates.c.id == template_id,
                        templates.c.tenant_id == tenant,
                        templates.c.mailbox_id == mailbox,
                    )
                    .values(**values)
                ).rowcount
                if not changed:
                    raise NoSuchTemplate(template_id)
        return Template(template_id, name, body, by.upn, now)

    def delete_template(self, tenant: str, mailbox: str, template_id: str) -> None:
        """Remove one of this mailbox's templates."""
        with self.store.transaction() as connection:
            gone = connection.execute(
                delete(templates).where(
                    templates.c.id == template_id,
                    templates.c.tenant_id == tenant,
                    templates.c.mailbox_id == mailbox,
                )
            ).rowcount
        if not gone:
            raise NoSuchTemplate(template_id)

    # -- what the queue and the numbers read ----------------------------------------------
    def conversations(
        self, tenant: str, mailbox: str, ids: Iterable[str]
    ) -> dict[str, Conversation]:
        """The records of these conversations of the mailbox (those that have one)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Conversation] = {}
        with self.store.transaction() as connection:
            for chunk in (wanted[n : n + 500] for n in range(0, len(wanted), 500)):
                rows = connection.execute(
                    select(conversations).where(
                        conversations.c.tenant_id == tenant,
                        conversations.c.mailbox_id == mailbox,
                        conversations.c.conversation_id.in_(chunk),
                    )
                ).all()
                for row in rows:
                    key = Key(tenant, mailbox, row.conversation_id)
                    found[row.conversation_id] = self.record.conversation_of(key, row)
        return found

    def events_since(self, tenant: str, mailbox: str, since: dt.datetime) -> list[Event]:
        """Every timeline entry of the mailbox's conversations since `since`, oldest first."""
        with self.store.transaction() as connection:
            rows = connection.execute(
                select(events)
                .where(
                    events.c.tenant_id == tenant,
                    events.c.mailbox_id == mailbox,
                    events.c.at >= since,
                )
                .order_by(events.c.id)
            ).all()
        return [self.record.event_of(row) for row in rows]

    def answered_since(
        self, tenant: str, mailbox: str, since: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """(customer's first message, the mailbox's first answer) of the conversations first
        answered since `since`."""
        with self.store.transaction() as connection:
            rows = connection.execute(
                select(conversations.c.customer_since, conversations.c.answered_at).where(
                    conversations.c.tenant_id == tenant,
                    conversations.c.mailbox_id == mailbox,
                    conversations.c.answered_at >= since,
                    conversations.c.customer_since.is_not(None),
                )
            ).all()
        pairs = []
        for first, answered in rows:
            first, answered = _utc(first), _utc(answered)
            if first is not None and answered is not None and answered >= first:
                pairs.append((first, answered))
        return pairs


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
