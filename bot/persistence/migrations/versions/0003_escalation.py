"""Escalation reasons stored with each message; incidents (clustered quality reports).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("escalation", sa.JSON()))
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
    )
    op.create_index("ix_incidents_kind_key_opened", "incidents", ["kind", "key", "opened_at"])
    op.create_table(
        "quality_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("product", sa.String(120), nullable=False),
        sa.Column("customer", sa.String(200), nullable=False),
        sa.Column("evidence", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_quality_reports_product_created", "quality_reports", ["product", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_quality_reports_product_created", table_name="quality_reports")
    op.drop_table("quality_reports")
    op.drop_index("ix_incidents_kind_key_opened", table_name="incidents")
    op.drop_table("incidents")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("escalation")
