"""The team's record as tables: conversations, notes, the timeline, members, and each
mailbox's first-response policy and reply templates.

Every row is keyed by the tenant (`tid`), the mailbox (its Exchange GUID) and the
conversation (Graph's `conversationId` in that mailbox), never by an item id that changes when
the item moves. Times are UTC. The schema changes only through Alembic migrations
(store/migrations/); `metadata` is what they are written against.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# Names for constraints and indexes, so every migration names them alike on every database.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TENANT = 36  # a GUID
MAILBOX = 36  # a GUID
CONVERSATION = 512  # Graph's conversationId: base64 of a few dozen bytes; bounded generously
OID = 36
UPN = 320  # an SMTP address
NAME = 256
NOTE_TEXT = 4000  # characters (code points), the contract's limit
TEMPLATE_NAME = 100
STATUSES = ("open", "pending", "done")

conversations = Table(
    "conversations",
    metadata,
    Column("tenant_id", String(TENANT), primary_key=True),
    Column("mailbox_id", String(MAILBOX), primary_key=True),
    Column("conversation_id", String(CONVERSATION), primary_key=True),
    Column("assignee_oid", String(OID)),
    Column("assignee_upn", String(UPN)),
    Column("assignee_name", String(NAME)),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("status_since", DateTime(timezone=True)),  # when the status last changed
    Column("customer_since", DateTime(timezone=True)),  # the first message Tandem saw from them
    Column("last_customer_at", DateTime(timezone=True)),  # their newest message Tandem saw
    Column("answered_at", DateTime(timezone=True)),  # the mailbox's first answer
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    CheckConstraint("status in ('open', 'pending', 'done')", name="status"),
)

notes = Table(
    "notes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(TENANT), nullable=False),
    Column("mailbox_id", String(MAILBOX), nullable=False),
    Column("conversation_id", String(CONVERSATION), nullable=False),
    Column("author_oid", String(OID), nullable=False),
    Column("author_upn", String(UPN), nullable=False),
    Column("author_name", String(NAME), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("edited_at", DateTime(timezone=True)),
    ForeignKeyConstraint(
        ["tenant_id", "mailbox_id", "conversation_id"],
        [conversations.c.tenant_id, conversations.c.mailbox_id, conversations.c.conversation_id],
        ondelete="CASCADE",
    ),
    Index(None, "tenant_id", "mailbox_id", "conversation_id", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("tenant_id", String(TENANT), nullable=False),
    Column("mailbox_id", String(MAILBOX), nullable=False),
    Column("conversation_id", String(CONVERSATION), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_oid", String(OID)),
    Column("actor_upn", String(UPN)),
    Column("actor_name", String(NAME)),
    Column("kind", String(32), nullable=False),
    # What it did, never a body or an address: {"to": "sam@..."} is a member's upn only.
    Column("detail", JSON, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "mailbox_id", "conversation_id"],
        [conversations.c.tenant_id, conversations.c.mailbox_id, conversations.c.conversation_id],
        ondelete="CASCADE",
    ),
    Index(None, "tenant_id", "mailbox_id", "conversation_id", "id"),
)

members = Table(
    "members",
    metadata,
    Column("tenant_id", String(TENANT), primary_key=True),
    Column("mailbox_id", String(MAILBOX), primary_key=True),
    Column("oid", String(OID), primary_key=True),
    Column("upn", String(UPN), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)

policies = Table(
    "policies",
    metadata,
    Column("tenant_id", String(TENANT), primary_key=True),
    Column("mailbox_id", String(MAILBOX), primary_key=True),
    Column("first_response_minutes", Integer, nullable=False),
    # {"days": [0..6], "start": minutes, "end": minutes, "zone": "Europe/London"}
    Column("business_hours", JSON, nullable=False),
    Column("updated_by", String(UPN), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

templates = Table(
    "templates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(TENANT), nullable=False),
    Column("mailbox_id", String(MAILBOX), nullable=False),
    Column("name", String(TEMPLATE_NAME), nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_by", String(UPN), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "tenant_id", "mailbox_id", "name"),
)
