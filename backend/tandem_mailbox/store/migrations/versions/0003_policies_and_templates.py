"""Each mailbox's first-response policy and its reply templates.

Revision ID: 0003
Revises: 0002
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create policies and templates."""
    op.create_table(
        "policies",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("mailbox_id", sa.String(36), nullable=False),
        sa.Column("first_response_minutes", sa.Integer, nullable=False),
        sa.Column("business_hours", sa.JSON, nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "mailbox_id", name="pk_policies"),
    )
    op.create_table(
        "templates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("mailbox_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_templates"),
    )
    op.create_index(
        "ix_templates_tenant_id_mailbox_id_name", "templates", ["tenant_id", "mailbox_id", "name"]
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("templates")
    op.drop_table("policies")
