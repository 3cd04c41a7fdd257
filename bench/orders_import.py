"""Importing a large order export: 100,000 orders from CSV into a fresh database.

    python -m bench.orders_import --count 100000 --json
    python -m bench.orders_import --count 100000 --database-url postgresql+asyncpg://.../empty --json

Writes the demo store's orders (`sample_orders` with `--count`: the demo orders, then a generated
history with a customer base that grows with the count) as CSV into a scratch folder, then:

* parse_s: `parse_orders` alone (read, check every row, build the orders);
* total_s: `import_orders` end to end into a fresh, migrated database (parse again, then write
  every order in one transaction), which is what `supportbot orders import` does;
* import_s: total_s - parse_s, the database part.

SQLite by default (a new file in the scratch folder). `--database-url` must name an empty
throwaway database: the orders are written into it and left there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bot.orders.importer import import_orders, parse_orders
from bot.orders.sample import sample_orders, write_csv
from bot.persistence.database import create_engine, migrate
from bot.persistence.orders import EmbeddedOrders
from bot.persistence.repository import Repository


async def run(count: int, database_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "orders.csv"
        write_csv(sample_orders(date.today(), count=count), path)
        size_mb = path.stat().st_size / 1_000_000

        started = time.perf_counter()
        orders, problems = parse_orders(path)
        parse_s = time.perf_counter() - started
        if problems or len(orders) != count:
            raise SystemExit(f"the sample did not parse cleanly: {len(orders)} orders, {problems[:3]}")
        del orders

        url = database_url or f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}"
        await migrate(url)
        engine = create_engine(url)
        try:
            store = EmbeddedOrders(Repository(engine))
            started = time.perf_counter()
            result = await import_orders(path, store, skip_bad_rows=False)
            total_s = time.perf_counter() - started
            stored = await store.count()
        finally:
            await engine.dispose()
    if result.imported != count or stored < count:
        raise SystemExit(f"imported {result.imported}, {stored} in the store; expected {count}")
    return {
        "orders": count,
        "file_mb": round(size_mb, 1),
        "database": url.split(":", 1)[0],
        "parse_s": round(parse_s, 2),
        "import_s": round(total_s - parse_s, 2),
        "total_s": round(total_s, 2),
        "orders_per_s": round(count / total_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty throwaway database (default: a new SQLite file)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = asyncio.run(run(args.count, args.database_url))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>14}: {value}")


if __name__ == "__main__":
    main()
