"""The conversation record: owner and status per conversation, its notes and its timeline.

Revision ID: 0001
Revises:
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

KEY = ("tenant_id", "mailbox_id", "conversation_id")


def _key_columns() -> list[sa.Column[str]]:
    return [
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("mailbox_id", sa.String(36), nullable=False),
        sa.Column("conversation_id", sa.String(512), nullable=False),
    ]


def upgrade() -> None:
    """Create conversations, notes and events."""
    op.create_table(
        "conversations",
        *_key_columns(),
        sa.Column("assignee_oid", sa.String(36)),
        sa.Column("assignee_upn", sa.String(320)),
        sa.Column("assignee_name", sa.String(256)),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("status_since", sa.DateTime(timezone=True)),
        sa.Column("customer_since", sa.DateTime(timezone=True)),
        sa.Column("last_customer_at", sa.DateTime(timezone=True)),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint("status in ('open', 'pending', 'done')", name="ck_conversations_status"),
        sa.PrimaryKeyConstraint(*KEY, name="pk_conversations"),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.String(36), nullable=False),
        *_key_columns(),
        sa.Column("author_oid", sa.String(36), nullable=False),
        sa.Column("author_upn", sa.String(320), nullable=False),
        sa.Column("author_name", sa.String(256), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_notes"),
        sa.ForeignKeyConstraint(
            list(KEY),
            [f"conversations.{c}" for c in KEY],
            name="fk_notes_tenant_id_conversations",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_notes_tenant_id_mailbox_id_conversation_id_created_at",
        "notes",
        [*KEY, "created_at"],
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        *_key_columns(),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_oid", sa.String(36)),
        sa.Column("actor_upn", sa.String(320)),
        sa.Column("actor_name", sa.String(256)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(
            list(KEY),
            [f"conversations.{c}" for c in KEY],
            name="fk_events_tenant_id_conversations",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_events_tenant_id_mailbox_id_conversation_id_id", "events", [*KEY, "id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_table("events")
    op.drop_table("notes")
    op.drop_table("conversations")
