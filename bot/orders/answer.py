"""The order-status answer, following the support rule: the status in plain words, when to
expect it, and what happens next. Also the masked summary agents see, and late-order detection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.orders.delivery import DeliveryTable, add_business_days, business_days_between
from bot.orders.model import Order, OrderStatus

COUNTRY_NAMES = {
    "DE": "Germany", "AT": "Austria", "NL": "the Netherlands", "BE": "Belgium", "LU": "Luxembourg",
    "DK": "Denmark", "FR": "France", "IT": "Italy", "ES": "Spain", "PT": "Portugal", "IE": "Ireland",
    "SE": "Sweden", "FI": "Finland", "PL": "Poland", "CZ": "Czechia", "CH": "Switzerland",
    "GB": "the UK", "US": "the US", "CA": "Canada",
}  # fmt: skip


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code.upper(), code.upper())


def day(moment: date, today: date) -> str:
    if moment == today:
        return "today"
    if (moment - today).days == 1:
        return "tomorrow"
    if (today - moment).days == 1:
        return "yesterday"
    return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B')}"


@dataclass(frozen=True, slots=True)
class Lateness:
    expected_by: date
    days_late: int  # business days past the latest expected delivery; ≤ 0 when not late


def lateness(order: Order, table: DeliveryTable, today: date) -> Lateness | None:
    """For an order on its way: when it should arrive at the latest, and how late it is."""
    if order.status not in (OrderStatus.SHIPPED, OrderStatus.OUT_FOR_DELIVERY) or order.shipped_at is None:
        return None
    expected = add_business_days(order.shipped_at, table.window(order.destination_country).latest)
    return Lateness(expected, business_days_between(expected, today))


def status_answer(order: Order, table: DeliveryTable, today: date) -> str:
    number = f"#{order.number}"
    where = country_name(order.destination_country)
    window = table.window(order.destination_country)
    link = order.tracking_url or table.tracking_link(order.carrier, order.tracking_number)
    tracking = ""
    if order.carrier and order.tracking_number:
        tracking = f" with {order.carrier} (tracking number {order.tracking_number})"
    elif order.carrier:
        tracking = f" with {order.carrier}"
    follow = f" You can follow it here: {link}" if link else ""
    match order.status:
        case OrderStatus.PAID:
            ships_by = add_business_days(today, table.processing.latest)
            arrives_by = add_business_days(ships_by, window.latest)
            return (
                f"Order {number} is paid and being prepared at our roastery. It should leave us by "
                f"{day(ships_by, today)}, and delivery to {where} then takes {window.earliest}–{window.latest} "
                f"business days, so expect it by {day(arrives_by, today)}. You'll get an email with the "
                "tracking link as soon as it ships; nothing is needed from you."
            )
        case OrderStatus.SHIPPED | OrderStatus.OUT_FOR_DELIVERY:
            late = lateness(order, table, today)
            assert late is not None and order.shipped_at is not None
            shipped = f"shipped on {day(order.shipped_at, today)}{tracking}"
            if late.days_late > 0:
                return (
                    f"I'm sorry: order {number} {shipped} and should have reached {where} by "
                    f"{day(late.expected_by, today)}, so it is running late.{follow} Next, our team checks with "
                    f"the carrier and gets back to you here within 1 business day; if the parcel is lost, "
                    "we send a replacement or refund it, whichever you prefer."
                )
            if order.status is OrderStatus.OUT_FOR_DELIVERY:
                return (
                    f"Good news: order {number} is out for delivery{tracking} and should arrive today.{follow} "
                    "If nobody is home, the carrier leaves a note with the next delivery attempt."
                )
            return (
                f"Order {number} {shipped} and is on its way to {where}. Delivery there takes "
                f"{window.earliest}–{window.latest} business days, so expect it by "
                f"{day(late.expected_by, today)}.{follow} If it hasn't arrived by then, write to us here and "
                "we'll chase the carrier."
            )
        case OrderStatus.DELIVERED:
            when = f" on {day(order.delivered_at, today)}" if order.delivered_at else ""
            return (
                f"Order {number} was delivered{when}{tracking.replace(' with', ' by', 1)}. If you can't find it, "
                "check with neighbours and around your door first; if it's still missing, tell us here within "
                "2 days and we'll open a claim with the carrier and send a replacement."
            )
        case OrderStatus.CANCELLED:
            return (
                f"Order {number} was cancelled, so it won't be shipped. If you were charged, the money goes back "
                "to your original payment method within 3–5 business days. Would you like to order again? "
                "Just write here if anything looks wrong."
            )
        case OrderStatus.REFUNDED:
            return (
                f"Order {number} has been refunded. The money goes back to your original payment method and "
                "usually shows within 3–5 business days, depending on your bank. If it hasn't arrived after "
                "that, write to us here with your bank statement date and we'll check."
            )
    raise AssertionError(order.status)


def choice_label(order: Order) -> str:
    """A button label for picking one of several orders (no personal details in it)."""
    placed = f"{order.placed_at.day} {order.placed_at.strftime('%b')}" if order.placed_at else ""
    items = f"{order.quantity} item{'s' if order.quantity != 1 else ''}"
    status = order.status.value.replace("_", " ")
    return " · ".join(part for part in (f"#{order.number}", placed, items, status) if part)[:64]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_postcode(postcode: str) -> str:
    return postcode[:2] + "*" * max(len(postcode) - 2, 1) if postcode else ""


def agent_summary(order: Order) -> dict[str, object]:
    """What agents see in the handoff: enough to act, with the customer's address partly masked."""
    items = ", ".join(f"{i.quantity} × {i.name}" for i in order.items[:6])
    if len(order.items) > 6:
        items += f", and {len(order.items) - 6} more"
    destination = ", ".join(
        part
        for part in (order.city, f"{mask_postcode(order.postcode)} {order.destination_country}".strip())
        if part
    )
    return {
        "number": f"#{order.number}",
        "status": order.status.value.replace("_", " "),
        "total": f"{order.total:.2f} {order.currency}",
        "items": items,
        "carrier": " ".join(p for p in (order.carrier, order.tracking_number) if p) or None,
        "destination": destination,
        "email": mask_email(order.email),
        "shipped": order.shipped_at.isoformat() if order.shipped_at else None,
        "tags": ", ".join(order.customer_tags) or None,
    }
