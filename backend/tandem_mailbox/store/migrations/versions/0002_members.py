"""The mailbox's members as Tandem has seen them (people whose context call succeeded).

Revision ID: 0002
Revises: 0001
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create members."""
    op.create_table(
        "members",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("mailbox_id", sa.String(36), nullable=False),
        sa.Column("oid", sa.String(36), nullable=False),
        sa.Column("upn", sa.String(320), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "mailbox_id", "oid", name="pk_members"),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("members")
