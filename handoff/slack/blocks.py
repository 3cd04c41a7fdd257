"""Block Kit for a handoff: one message per ticket with everything at a glance, and its thread lines.

Every customer-written string goes through handoff.slack.text.escape; our own labels do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from handoff.ports import Line, LineKind
from handoff.slack.text import escape, quote
from handoff.tickets import Ticket, TicketState

Block = dict[str, Any]

REASON_LABELS = {
    "refund_request": "Refund request",
    "chargeback_dispute": "Chargeback or payment dispute",
    "legal_threat": "Legal threat",
    "human_request": "Asked for a person",
    "angry_customer": "Angry customer",
    "threat_public_review": "Threatens a bad review or public complaint",
    "quality_issue": "Quality problem",
    "quality_cluster": "Quality problem reported by several customers",
    "high_value_order": "High-value order",
    "vip_customer": "VIP customer",
    "bulk_order": "Bulk order",
    "repeat_contact": "Repeat contact",
    "bot_loop": "The bot could not help",
    "low_csat": "Low rating",
    "order_late": "Order running late",
}
CHANNEL_LABELS = {
    "telegram": "Telegram",
    "web": "Web chat",
    "memory": "Test",
    "cli": "Terminal",
    "api": "API",
}
STATE_LABELS = {
    TicketState.WAITING: ":hourglass_flowing_sand: Waiting for an agent",
    TicketState.CLAIMED: ":technologist: Claimed",
    TicketState.RESOLVED: ":white_check_mark: Resolved",
    TicketState.RETURNED: ":robot_face: Returned to the bot",
}


def reason_label(reason: str) -> str:
    return REASON_LABELS.get(reason, reason.replace("_", " ").capitalize())


def slack_date(moment: datetime, fallback_format: str = "%a %d %b %H:%M UTC") -> str:
    """A time every agent sees in their own time zone (Slack's date formatting)."""
    epoch = int(moment.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{moment.strftime(fallback_format)}>"


def _text(markdown: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown[:3000]}}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _order_lines(order: dict[str, object]) -> str:
    parts = []
    for key, label in (
        ("number", "Order"),
        ("status", "Status"),
        ("total", "Total"),
        ("items", "Items"),
        ("carrier", "Carrier"),
        ("shipped", "Shipped"),
        ("destination", "Ship to"),
        ("email", "Email"),
        ("tags", "Customer tags"),
    ):
        value = order.get(key)
        if value:
            parts.append(f"*{label}:* {escape(str(value), 300)}")
    return "\n".join(parts)


def ticket_message(
    ticket: Ticket, transcript: Sequence[tuple[str, str, datetime]], now: datetime
) -> tuple[str, list[Block]]:
    """(notification text, blocks) for the ticket's one message in the handoff channel."""
    customer = escape(ticket.customer.display_name or "A customer", 100)
    channel = CHANNEL_LABELS.get(ticket.ref.channel.value, ticket.ref.channel.value)
    headline = f"{reason_label(ticket.reason)}: {customer} on {channel}"
    fields = [
        {"type": "mrkdwn", "text": f"*Customer*\n{customer}"},
        {"type": "mrkdwn", "text": f"*Channel*\n{channel}"},
        {"type": "mrkdwn", "text": f"*Language*\n{escape(ticket.customer.language or 'unknown', 20)}"},
        {"type": "mrkdwn", "text": f"*Ticket*\n#{ticket.id}"},
    ]
    if ticket.is_open:
        fields.append(
            {"type": "mrkdwn", "text": f"*First reply due*\n{slack_date(ticket.due.first_response)}"}
        )
        fields.append({"type": "mrkdwn", "text": f"*Resolve by*\n{slack_date(ticket.due.resolution)}"})
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"#{ticket.id} {reason_label(ticket.reason)}"[:150]},
        },
        {"type": "section", "fields": fields},
    ]
    triggers = "\n".join(
        f"• *{reason_label(r.reason)}*" + (f": “{escape(r.evidence, 200)}”" if r.evidence else "")
        for r in ticket.reasons
    )
    blocks.append(_text(f"*Why it was handed over*\n{triggers}"))
    if ticket.order:
        blocks.append(_text(f"*Order*\n{_order_lines(ticket.order)}"))
    history = [f"*{author.capitalize()}:* {escape(text, 300)}" for author, text, _ in transcript[-6:]]
    history.append(f"*Customer:* {escape(ticket.trigger_text, 600)}")
    blocks.append(_text("*Conversation so far*\n" + "\n".join(history)))
    status = STATE_LABELS[ticket.state]
    if ticket.state is TicketState.CLAIMED and ticket.claimed_by is not None:
        status = f":technologist: Claimed by <@{ticket.claimed_by.id}>"
    if ticket.recovery and ticket.is_open:
        status += " · :rotating_light: reopened after a low rating"
    if ticket.csat_score is not None:
        status += f" · rated {ticket.csat_score}/5"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": status}]})
    value = str(ticket.id)
    if ticket.state is TicketState.WAITING:
        buttons = [
            _button("Claim", "claim", value, "primary"),
            _button("Return to bot", "return_to_bot", value),
        ]
        buttons.append(_button("Close as spam", "close_spam", value, "danger"))
        blocks.append({"type": "actions", "block_id": "ticket_actions", "elements": buttons})
    elif ticket.state is TicketState.CLAIMED:
        buttons = [
            _button("Resolve", "resolve", value, "primary"),
            _button("Return to bot", "return_to_bot", value),
        ]
        blocks.append({"type": "actions", "block_id": "ticket_actions", "elements": buttons})
    return headline, blocks


def line_message(line: Line) -> str:
    """A thread reply for a customer message or the service's own remark."""
    if line.kind is LineKind.CUSTOMER:
        return f"*Customer:*\n{quote(line.text)}"
    return f"_{escape(line.text)}_"


def held_reply_blocks(line_id: int, warnings: Sequence[str]) -> tuple[str, list[Block]]:
    """The private warning shown to an agent whose reply was held back by the check."""
    listed = "\n".join(f"• {w}" for w in warnings)
    text = f"Not sent yet. Your reply is missing something the customer needs:\n{listed}"
    return text, [
        _text(f":warning: *Not sent yet.* Your reply is missing something the customer needs:\n{listed}"),
        {
            "type": "actions",
            "block_id": "held_reply",
            "elements": [
                _button("Send anyway", "send_held", str(line_id), "primary"),
                _button("Discard (I'll rewrite it)", "discard_held", str(line_id)),
            ],
        },
    ]
