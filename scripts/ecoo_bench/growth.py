"""Phase 5: cost per certificate as the store grows (1k, 10k, 100k stored certificates)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .common import Plan, latency_ms, log, over_repeats, spread
from .http import create_service_chambers, wait_issued
from .service import JSON, ServiceProcess, load
from .setup import make_certificates

# -- 5. growth ---------------------------------------------------------------------------------

GROWTH_STATUSES = ["ISSUED"] * 90 + ["REVOKED"] * 5 + ["SUSPENDED"] * 3 + ["SUPERSEDED"] * 2
GROWTH_DESTINATIONS = ["DE", "US", "CN", "KR", "AU", "GB", "FR", "IN", "SG", "ID"]


def fill_store(db_url: str, template: Any, start: int, count: int) -> None:
    """Insert ``count`` synthetic certificate rows shaped like ``template`` (a real row) directly."""
    from ecoo.service.store import Store, certificates

    store = Store(db_url)
    today = datetime.now(UTC).date()
    data = json.dumps(template.data, ensure_ascii=False)
    salts = json.dumps(template.salts)
    document = json.dumps(template.document, ensure_ascii=False)
    now = time.time()
    chunk = 5_000
    for offset in range(start, start + count, chunk):
        rows = [
            {
                "chamber_id": template.chamber_id,
                "key_id": template.key_id,
                "number": f"SYN-{i:07d}",
                "idempotency_key": f"SYN-{i:07d}",
                "status": GROWTH_STATUSES[i % len(GROWTH_STATUSES)],
                "reason": None,
                "scheme": template.scheme,
                "export_country": template.export_country,
                "destination": GROWTH_DESTINATIONS[i % len(GROWTH_DESTINATIONS)],
                "issue_date": (today - timedelta(days=1 + i % 730)).isoformat(),
                "data": data,
                "salts": salts,
                "leaf": "0x" + secrets.token_hex(32),
                "signature": template.signature,
                "batch_id": template.batch_id,  # issued certificates always belong to an anchored batch
                "document": document,
                "successor_leaf": None,
                "created_at": now,
                "issued_at": now,
            }
            for i in range(offset, min(offset + chunk, start + count))
        ]
        with store.transaction() as conn:
            conn.execute(certificates.insert(), rows)
    store.close()


def query_plans(store: Any, chamber_id: int, number: str, leaf: str) -> dict[str, list[str]]:
    """SQLite's EXPLAIN QUERY PLAN for the store's queries (rebuilt here as ecoo.service.store builds them)."""
    from sqlalchemy import select

    from ecoo.service.store import batches, certificates

    c = certificates.c
    today = datetime.now(UTC).date()
    mine = c.chamber_id == chamber_id
    newest = (c.id.desc(),)
    statements = {
        "worker poll (Store.chambers_with_pending)": select(c.chamber_id)
        .where(c.status == "PENDING", c.batch_id.is_(None))
        .union(select(batches.c.chamber_id).where(batches.c.status != "ANCHORED")),
        "list, newest": select(certificates).where(mine).order_by(*newest).limit(50),
        "list, status": select(certificates).where(mine, c.status == "REVOKED").order_by(*newest).limit(50),
        "list, destination": select(certificates).where(mine, c.destination == "DE").order_by(*newest).limit(50),
        "list, issue date range": select(certificates)
        .where(mine, c.issue_date >= str(today - timedelta(days=40)), c.issue_date <= str(today - timedelta(days=30)))
        .order_by(*newest)
        .limit(50),
        "list, after=": select(certificates).where(mine, c.id < 50_000).order_by(*newest).limit(50),
        "lookup by leaf": select(certificates).where(c.leaf == leaf),
        "lookup by number": select(certificates).where(mine, c.number == number).order_by(c.id),
    }
    plans = {}
    with store.transaction() as conn:
        for name, statement in statements.items():
            sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            plans[name] = [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()]
    return plans


def bench_growth(
    service_factory: Callable[[], ServiceProcess],
    env: dict[str, str],
    samples: list[tuple[str, dict[str, Any]]],
    plan: Plan,
    db_url: str,
    db_path: Path,
) -> dict[str, Any]:
    from ecoo.service.store import Store

    chamber = create_service_chambers(env, samples[:1])[0]
    service = service_factory()
    try:
        certificates = make_certificates(chamber.sample, "GROW", plan.growth_seed)
        seeded = load(
            "POST",
            f"{service.url}/api/v1/certificates/batch",
            [json.dumps({"certificates": certificates}).encode()],
            headers={**JSON, **chamber.auth},
        )
        if seeded.statuses != {202: 1}:
            raise RuntimeError(f"seeding the store answered {seeded.statuses}")
        wait_issued(service, chamber)
        store = Store(db_url)
        real = store.list_certificates(chamber.id, limit=plan.growth_seed)
        documents = [row.document for row in real if row.document]
        template = real[0]
        in_store = plan.growth_seed
        today = datetime.now(UTC).date()
        queries: dict[str, tuple[str, list[str], Sequence[bytes] | None, dict[str, str]]] = {}
        results: dict[str, Any] = {"sizes": list(plan.growth_sizes), "queries": {}, "insert_seconds": {}, "database_mb": {}}
        for size in plan.growth_sizes:
            t0 = time.perf_counter()
            fill_store(db_url, template, in_store, size - in_store)
            results["insert_seconds"][str(size)] = round(time.perf_counter() - t0, 2)
            in_store = size
            db_bytes = sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*"))
            results["database_mb"][str(size)] = round(db_bytes / 1024 / 1024, 1)
            middle = store.list_certificates(chamber.id, limit=1)[0].id // 2
            base = f"{service.url}/api/v1"
            queries = {
                "verify a presented document (POST /verify)": (
                    "POST", [f"{base}/verify"], [json.dumps(d).encode() for d in documents], JSON,
                ),
                "lookup by leaf (store + verify)": (
                    "GET", [f"{base}/lookup?leaf={row.leaf}" for row in real], None, {},
                ),
                "lookup by issuer and number (store + verify)": (
                    "GET", [f"{base}/lookup?issuer={chamber.address}&number={row.number}" for row in real], None, {},
                ),
                "list, newest 50": ("GET", [f"{base}/certificates?limit=50"], None, chamber.auth),
                "list, status=REVOKED": ("GET", [f"{base}/certificates?status=REVOKED&limit=50"], None, chamber.auth),
                "list, destination=DE": ("GET", [f"{base}/certificates?destination=DE&limit=50"], None, chamber.auth),
                "list, issue date in a 10-day range": (
                    "GET",
                    [f"{base}/certificates?from={today - timedelta(days=40)}&to={today - timedelta(days=30)}&limit=50"],
                    None,
                    chamber.auth,
                ),
                "list, by number": ("GET", [f"{base}/certificates?number={row.number}" for row in real], None, chamber.auth),
                "list, page from the middle (after=)": (
                    "GET", [f"{base}/certificates?limit=50&after={middle}"], None, chamber.auth,
                ),
            }  # fmt: skip
            for name, (method, urls, bodies, headers) in queries.items():
                load(method, urls, bodies, requests=3, headers=headers)  # warm-up
                runs = []
                for _ in range(plan.repeats):
                    result = load(method, urls, bodies, requests=plan.growth_requests, headers=headers)
                    if set(result.statuses) != {200}:
                        raise RuntimeError(f"{name}: HTTP {result.statuses}")
                    runs.append(latency_ms(result.latencies))
                results["queries"].setdefault(name, {})[str(size)] = over_repeats(runs)
            poll = []
            for _ in range(max(3, plan.repeats)):
                t0 = time.perf_counter()
                store.chambers_with_pending()
                poll.append((time.perf_counter() - t0) * 1000)
            results["queries"].setdefault("worker poll: Store.chambers_with_pending (library)", {})[str(size)] = {
                "p50": spread(poll)
            }
            log(f"growth: {size:,} certificates in the store measured")
        if db_url.startswith("sqlite"):
            results["sqlite_query_plans"] = query_plans(store, chamber.id, real[0].number, real[0].leaf)
        store.close()
        first, last = str(plan.growth_sizes[0]), str(plan.growth_sizes[-1])
        results["p50_ratio_largest_to_smallest"] = {
            name: round(sizes[last]["p50"]["median"] / sizes[first]["p50"]["median"], 2)
            for name, sizes in results["queries"].items()
        }
        results["note"] = (
            f"{plan.growth_seed} certificates issued through the API and anchored; the rest inserted directly "
            "into the certificates table (copies of a real row with a fresh leaf and number, 90% ISSUED, 5% REVOKED, "
            "3% SUSPENDED, 2% SUPERSEDED, 10 destinations, issue dates over two years). No audit rows for them."
        )
        return results
    finally:
        service.stop()
