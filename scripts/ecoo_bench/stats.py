"""How fast the chamber statistics (issue 11) answer on PostgreSQL as the store grows.

Starts a throwaway PostgreSQL (tests/support/postgres.py), migrates the service's schema into a
fresh database per size, seeds N certificates straight into it with COPY (no chain, no service:
rows shaped as the follower's projection leaves them), then times every statistics query over
the default period (the last 12 months) for the largest chamber, and the authority's figures for
all chambers: min / median / max of ``--runs`` runs each, after one warm-up run.

The spread: 10 chambers (the largest holds 40% of the certificates), issue dates uniform over
the last 24 months, 6 schemes, 20 destinations, 1 to 3 items per certificate over 40 HS chapters,
statuses 90% issued, 4% revoked (by fraud or error), 2% cancelled, 2% superseded, 2% suspended;
customs recorded a receipt for 30% of the certificates, a utilisation for 20% and a rejection for 3%.

    .venv/bin/python scripts/ecoo_bench/stats.py --sizes 100000 1000000 --runs 5

Prints one JSON object (and a Markdown table with ``--markdown``).
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# Run as a file, this directory comes first on the path, and its http.py would hide the standard
# library's: the repository (for tests.support) takes its place.
sys.path[:] = [str(REPO), *(entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).parent)]

import psycopg  # noqa: E402
from tests.support.postgres import PostgresServer, libpq_url  # noqa: E402

from ecoo.service.statistics import authority_statistics, chamber_statistics, parse_period  # noqa: E402
from ecoo.service.store import Store  # noqa: E402
from ecoo.service.store.schema import hs_chapters  # noqa: E402
from ecoo.service.store.statistics_repository import StatisticsRepository, issued_in  # noqa: E402

CHAMBERS = 10
SCHEMES = ["RCEP", "ATIGA", "ACFTA", "AKFTA", "GSP", "NON_PREFERENTIAL"]
DESTINATIONS = [
    "CN",
    "JP",
    "KR",
    "US",
    "DE",
    "AU",
    "IN",
    "SG",
    "VN",
    "ID",
    "MY",
    "PH",
    "GB",
    "FR",
    "NL",
    "IT",
    "CA",
    "NZ",
    "AE",
    "SA",
]
CHAPTERS = [
    f"{n:02d}"
    for n in (
        3,
        8,
        9,
        15,
        16,
        17,
        19,
        20,
        21,
        22,
        27,
        28,
        29,
        30,
        33,
        34,
        38,
        39,
        40,
        44,
        48,
        52,
        54,
        55,
        61,
        62,
        63,
        64,
        69,
        70,
        72,
        73,
        76,
        84,
        85,
        87,
        90,
        94,
        95,
        96,
    )
]
STATUSES = ["ISSUED"] * 90 + ["REVOKED"] * 4 + ["CANCELLED"] * 2 + ["SUPERSEDED"] * 2 + ["SUSPENDED"] * 2
COLUMNS = (
    "chamber_id, key_id, number, idempotency_key, status, scheme, export_country, destination, issue_date,"
    " data, salts, leaf, signature, batch_id, created_at, issued_at"
)


def seed(url: str, count: int, rng: random.Random) -> dict[str, Any]:
    """Chambers, their keys and one anchored batch each, then ``count`` certificates, their
    revocation events and customs records, by COPY. Returns the largest chamber's id and key."""
    today = datetime.now(UTC).date()
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=False) as conn:
        keys: list[tuple[int, int, str]] = []
        for number in range(CHAMBERS):
            chamber_id = conn.execute(
                "INSERT INTO chambers (name, country, accreditation_code, created_at) VALUES (%s, 'TH', %s, 0) RETURNING id",
                (f"Chamber {number}", f"C-{number}"),
            ).fetchone()[0]  # type: ignore[index]
            address = "0x" + secrets.token_hex(20)
            key_id = conn.execute(
                "INSERT INTO chamber_keys (chamber_id, address, ciphertext, created_at) VALUES (%s, %s, '\\x00', 0) RETURNING id",
                (chamber_id, address),
            ).fetchone()[0]  # type: ignore[index]
            batch_id = conn.execute(
                "INSERT INTO batches (chamber_id, key_id, root, status, attempts, created_at) VALUES (%s, %s, %s, 'ANCHORED', 0, 0) RETURNING id",
                (chamber_id, key_id, "0x" + secrets.token_hex(32)),
            ).fetchone()[0]  # type: ignore[index]
            keys.append((chamber_id, key_id, address, batch_id))  # type: ignore[arg-type]
        weights = [40] + [60 / (CHAMBERS - 1)] * (CHAMBERS - 1)
        revoked: list[tuple[str, str, int]] = []
        chapters: list[tuple[int, str, int, str]] = []
        records: list[tuple[str, str, str, int | None, float]] = []
        with conn.cursor() as cur, cur.copy(f"COPY certificates ({COLUMNS}) FROM STDIN") as copy:
            for index in range(count):
                chamber_id, key_id, address, batch_id = rng.choices(keys, weights)[0]  # type: ignore[misc]
                issued_on = today - timedelta(days=rng.randrange(730))
                status = rng.choice(STATUSES)
                leaf = f"0x{index:064x}"
                items = [
                    {
                        "itemNumber": n,
                        "hsCode": rng.choice(CHAPTERS) + f"{rng.randrange(10000):04d}",
                        "description": "Goods of the kind described in the invoice, packed for sea freight",
                        "quantity": {"value": str(rng.randrange(1, 50000)), "unit": "KGM"},
                    }
                    for n in range(1, rng.choice((1, 1, 1, 2, 2, 3)) + 1)
                ]
                data = {
                    "certificateNumber": f"N-{index}",
                    "scheme": "x",
                    "exporter": {"name": "Exporter Co., Ltd.", "address": "1 Industrial Road, Bangkok", "country": "TH"},
                    "consignee": {"name": "Importer Inc.", "address": "2 Harbour Street", "country": "KR"},
                    "items": items,
                }
                copy.write_row(
                    (
                        chamber_id, key_id, f"N-{index}", f"N-{index}", status, rng.choice(SCHEMES), "TH",
                        rng.choice(DESTINATIONS), issued_on.isoformat(), json.dumps(data), "{}", leaf, "0x",
                        batch_id, 0.0, 1.0,
                    )
                )  # fmt: skip
                # a fresh database numbers the rows 1, 2, ... in COPY order
                chapters.extend((index + 1, chapter, chamber_id, issued_on.isoformat()) for chapter in sorted(hs_chapters(data)))
                if status in ("REVOKED", "CANCELLED"):
                    revoked.append((address, leaf, 3 if status == "CANCELLED" else rng.choice((1, 2))))
                moment = datetime.combine(issued_on, datetime.min.time(), UTC).timestamp() + rng.randrange(86400 * 20)
                roll = rng.random()
                if roll < 0.30:
                    records.append(("received", address, leaf, None, moment))
                if roll < 0.20:
                    records.append(("utilised", address, leaf, None, moment + 3600))
                if roll < 0.03:
                    records.append(("rejected", address, leaf, rng.randrange(1, 9), moment + 7200))
        chapter_copy = "COPY certificate_chapters (certificate_id, chapter, chamber_id, issue_date) FROM STDIN"
        with conn.cursor() as cur, cur.copy(chapter_copy) as copy:
            for chapter_row in chapters:
                copy.write_row(chapter_row)
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY chain_events (registry, name, block_number, block_hash, tx_hash, log_index, issuer, subject, reason) FROM STDIN"
            ) as copy,
        ):
            for number, (address, leaf, reason) in enumerate(revoked):
                copy.write_row(
                    (
                        "0x" + "11" * 20,
                        "CertificateRevoked",
                        number,
                        f"0x{number:064x}",
                        "0x" + "ab" * 32,
                        0,
                        address,
                        leaf,
                        reason,
                    )
                )
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY customs_records (registry, kind, issuer, leaf, customs, item, quantity, utilised, certified, code,"
                " declaration_hash, block_number, block_hash, tx_hash, log_index, at) FROM STDIN"
            ) as copy,
        ):
            for number, (kind, address, leaf, code, moment) in enumerate(records):
                utilised = kind == "utilised"
                copy.write_row(
                    (
                        "0x" + "11" * 20, kind, address, leaf, "0x" + "22" * 20, 1 if utilised else None,
                        "500" if utilised else None, "500" if utilised else None, "1000" if utilised else None,
                        code, "0x" + "33" * 32, number, f"0x{number:064x}", "0x" + "cd" * 32, 0, moment,
                    )
                )  # fmt: skip
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return {
        "largest": keys[0][0],
        "seconds": round(time.perf_counter() - started, 1),
        "revoked": len(revoked),
        "customsRecords": len(records),
    }


def timed(run: Callable[[], Any], runs: int) -> dict[str, float]:
    run()  # warm-up: caches and plans, as a service that has answered once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return {"min_ms": round(min(times), 1), "median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def bench_size(server: PostgresServer, count: int, runs: int, rng: random.Random) -> dict[str, Any]:
    url = server.new_database("stats")
    store = Store(url)
    try:
        store.migrate()
        seeded = seed(url, count, rng)
        chamber = seeded["largest"]
        period = parse_period(None, None)
        first, last = period.first.isoformat(), period.last.isoformat()
        repository = StatisticsRepository(store.database)
        where = issued_in(chamber, first, last)

        def query(build: Callable[[Any], Any]) -> Callable[[], Any]:
            def run() -> Any:
                with store.database.transaction() as conn:
                    return build(conn)

            return run

        queries: dict[str, Callable[[], Any]] = {
            "per month, scheme, destination and status (one pass)": query(lambda conn: repository.issued_breakdowns(conn, where)),
            "by HS chapter": query(lambda conn: repository.chapters(conn, chamber, first, last)),
            "revocations by reason": query(lambda conn: repository.revocation_reasons(conn, where)),
            "customs records": query(lambda conn: repository.customs(conn, chamber, period.start, period.end)),
            "whole chamber page (all of the above)": lambda: chamber_statistics(store, chamber, period),
            "authority, all chambers (ecoo chamber stats)": lambda: authority_statistics(store, period),
        }
        in_period = chamber_statistics(store, chamber, period).issued
        results = {name: timed(run, runs) for name, run in queries.items()}
        return {"certificates": count, "largestChamberInPeriod": in_period, "seed": seeded, "queries": results}
    finally:
        store.close()
        server.drop_database(url.rsplit("/", 1)[1])


def markdown(report: list[dict[str, Any]]) -> str:
    sizes = [f"{r['certificates']:,} (chamber: {r['largestChamberInPeriod']:,})" for r in report]
    lines = ["| query | " + " | ".join(sizes) + " |", "|---|" + "---|" * len(report)]
    for name in report[0]["queries"]:
        cells = ["{min_ms} / {median_ms} / {max_ms}".format(**r["queries"][name]) for r in report]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    if args.runs < 3 or any(size < 1 for size in args.sizes):
        parser.error("--runs must be at least 3 and every size positive")
    rng = random.Random(args.seed)
    server = PostgresServer()
    server.start()
    try:
        report = [bench_size(server, size, args.runs, rng) for size in args.sizes]
    finally:
        server.stop()
    print(json.dumps({"date": date.today().isoformat(), "runs": args.runs, "sizes": report}, indent=2))
    if args.markdown:
        print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
