"""The embedded order store, and each conversation's order-lookup state.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("number", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("postcode", sa.String(20), nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("total", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("carrier", sa.String(60)),
        sa.Column("tracking_number", sa.String(120)),
        sa.Column("tracking_url", sa.String(500)),
        sa.Column("placed_at", sa.DateTime(timezone=True)),
        sa.Column("shipped_at", sa.Date()),
        sa.Column("delivered_at", sa.Date()),
        sa.Column("destination_country", sa.String(2), nullable=False),
        sa.Column("city", sa.String(120)),
        sa.Column("customer_tags", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_orders_email", "orders", ["email"])
    op.create_table(
        "order_sessions",
        sa.Column("conversation_key", sa.String(160), primary_key=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("pending_number", sa.String(64)),
        sa.Column("verified_email", sa.String(320)),
        sa.Column("verified_numbers", sa.JSON(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("lookups", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("order_sessions")
    op.drop_index("ix_orders_email", table_name="orders")
    op.drop_table("orders")
