"""Handoff tickets, their thread lines, and processed vendor event ids.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OPEN = sa.text("state IN ('waiting', 'claimed')")


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("chat_id", sa.String(128), nullable=False),
        sa.Column("customer_user_id", sa.String(128), nullable=False),
        sa.Column("customer_name", sa.String(200)),
        sa.Column("customer_language", sa.String(16)),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("trigger_text", sa.Text(), nullable=False, server_default=""),
        sa.Column("order_summary", sa.JSON()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminder_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_by_name", sa.String(200)),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.Column("first_reply_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("reopened_at", sa.DateTime(timezone=True)),
        sa.Column("returned_at", sa.DateTime(timezone=True)),
        sa.Column("closed_as", sa.String(20)),
        sa.Column("closed_by", sa.String(64)),
        sa.Column("closed_by_name", sa.String(200)),
        sa.Column("recovery", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("csat_score", sa.Integer()),
        sa.Column("csat_comment", sa.Text()),
        sa.Column("rated_at", sa.DateTime(timezone=True)),
        sa.Column("reminded_at", sa.DateTime(timezone=True)),
        sa.Column("breached_at", sa.DateTime(timezone=True)),
        sa.Column("desk_channel", sa.String(64)),
        sa.Column("desk_ts", sa.String(64)),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("desk_version", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index(
        "uq_tickets_one_open_per_conversation",
        "tickets",
        ["conversation_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_index("ix_tickets_state", "tickets", ["state"])
    op.create_table(
        "ticket_lines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(64)),
        sa.Column("author_name", sa.String(200)),
        sa.Column("vendor_id", sa.String(128)),
        sa.Column("delivery", sa.String(20)),
        sa.Column("delivery_error", sa.String(500)),
        sa.Column("outbox_id", sa.Integer()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("desk_posted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("desk_marked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("vendor_id", name="uq_ticket_lines_vendor_id"),
    )
    op.create_index("ix_ticket_lines_ticket", "ticket_lines", ["ticket_id", "id"])
    op.create_index("ix_ticket_lines_outbox", "ticket_lines", ["outbox_id"])
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_index("ix_ticket_lines_outbox", table_name="ticket_lines")
    op.drop_index("ix_ticket_lines_ticket", table_name="ticket_lines")
    op.drop_table("ticket_lines")
    op.drop_index("ix_tickets_state", table_name="tickets")
    op.drop_index("uq_tickets_one_open_per_conversation", table_name="tickets")
    op.drop_table("tickets")
