"""The embedded order store and each conversation's order-lookup state, on SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.orders.model import Order, OrderItem, OrderStatus, normalise_email, normalise_number
from bot.orders.verification import OrderSession, Stage
from bot.persistence.models import OrderRow, OrderSessionRow, utcnow
from bot.persistence.repository import Repository, _aware

IMPORT_CHUNK = 2_000  # rows per INSERT: big enough to be fast, small enough for SQLite's variable limit


def to_order(row: OrderRow, order_count: int | None = None) -> Order:
    return Order(
        number=row.number,
        email=row.email,
        postcode=row.postcode,
        customer_name=row.customer_name,
        items=tuple(
            OrderItem(
                str(i["sku"]), str(i.get("name") or i["sku"]), int(i["quantity"]), Decimal(str(i["price"]))
            )
            for i in row.items
        ),
        total=Decimal(row.total),
        currency=row.currency,
        status=OrderStatus(row.status),
        destination_country=row.destination_country,
        placed_at=_aware(row.placed_at) if row.placed_at else None,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        tracking_url=row.tracking_url,
        shipped_at=row.shipped_at,
        delivered_at=row.delivered_at,
        city=row.city,
        customer_tags=tuple(row.customer_tags or ()),
        customer_order_count=order_count,
    )


def order_values(order: Order) -> dict[str, Any]:
    return {
        "number": normalise_number(order.number),
        "email": normalise_email(order.email),
        "postcode": order.postcode,
        "customer_name": order.customer_name,
        "items": [
            {"sku": i.sku, "name": i.name, "quantity": i.quantity, "price": str(i.price)} for i in order.items
        ],
        "total": str(order.total),
        "currency": order.currency,
        "status": order.status.value,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
        "placed_at": order.placed_at,
        "shipped_at": order.shipped_at,
        "delivered_at": order.delivered_at,
        "destination_country": order.destination_country,
        "city": order.city,
        "customer_tags": list(order.customer_tags),
    }


class EmbeddedOrders:
    """Implements OrderSource over the project's own database (the default)."""

    def __init__(self, repository: Repository) -> None:
        self._db = repository

    async def by_number(self, number: str) -> Order | None:
        async with self._db.reading() as session:
            row = await session.get(OrderRow, normalise_number(number))
            if row is None:
                return None
            count = await session.scalar(select(func.count()).where(OrderRow.email == row.email))
        return to_order(row, int(count or 0))

    async def by_email(self, email: str, limit: int = 10) -> list[Order]:
        async with self._db.reading() as session:
            rows = (
                await session.scalars(
                    select(OrderRow)
                    .where(OrderRow.email == normalise_email(email))
                    .order_by(OrderRow.placed_at.desc().nulls_last(), OrderRow.number.desc())
                    .limit(limit)
                )
            ).all()
        return [to_order(r, len(rows)) for r in rows]

    async def count(self) -> int:
        async with self._db.reading() as session:
            return int(await session.scalar(select(func.count()).select_from(OrderRow)) or 0)

    async def save_all(self, orders: Iterable[Order]) -> int:
        """Insert or update (by number) in chunks, all in one transaction: all or nothing."""
        module = postgresql if self._db.dialect == "postgresql" else sqlite
        saved = 0
        now = utcnow()
        async with self._db.writing() as session:
            chunk: list[dict[str, Any]] = []
            for order in orders:
                chunk.append({**order_values(order), "imported_at": now})
                if len(chunk) >= IMPORT_CHUNK:
                    saved += await self._upsert(session, module, chunk)
                    chunk = []
            if chunk:
                saved += await self._upsert(session, module, chunk)
        return saved

    @staticmethod
    async def _upsert(session: Any, module: Any, rows: Sequence[dict[str, Any]]) -> int:
        # One prepared statement and the rows as a batch (executemany): a multi-row VALUES clause
        # costs SQLAlchemy time per row to build and exceeds PostgreSQL's 32,767 parameters.
        statement = module.insert(OrderRow)
        updated = {c: statement.excluded[c] for c in rows[0] if c != "number"}
        await session.execute(
            statement.on_conflict_do_update(index_elements=["number"], set_=updated), list(rows)
        )
        return len(rows)


class OrderSessions:
    """Each conversation's order-lookup state (verification survives restarts and replicas)."""

    def __init__(self, repository: Repository) -> None:
        self._db = repository

    async def load(self, key: str) -> OrderSession:
        async with self._db.reading() as session:
            row = await session.get(OrderSessionRow, key)
        if row is None:
            return OrderSession()
        return OrderSession(
            stage=Stage(row.stage),
            pending_number=row.pending_number,
            verified_email=row.verified_email,
            verified_numbers=tuple(row.verified_numbers or ()),
            failures=row.failures,
            locked_until=_aware(row.locked_until) if row.locked_until else None,
            lookups=tuple(_aware(datetime.fromisoformat(t)) for t in row.lookups or ()),
        )

    async def save(self, key: str, state: OrderSession) -> None:
        values = {
            "stage": state.stage.value,
            "pending_number": state.pending_number,
            "verified_email": state.verified_email,
            "verified_numbers": list(state.verified_numbers),
            "failures": state.failures,
            "locked_until": state.locked_until,
            "lookups": [t.isoformat() for t in state.lookups],
            "updated_at": utcnow(),
        }
        module = postgresql if self._db.dialect == "postgresql" else sqlite
        statement = module.insert(OrderSessionRow).values(conversation_key=key, **values)
        async with self._db.writing() as session:
            await session.execute(
                statement.on_conflict_do_update(index_elements=["conversation_key"], set_=values)
            )
