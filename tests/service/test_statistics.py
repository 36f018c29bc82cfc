"""A chamber's statistics (issue 11) on SQLite and a real PostgreSQL: known rows seeded into the
follower's projection (certificates, their batch, registry events, customs records), exact figures
asserted through the API, the CSV and ``ecoo chamber stats``.

No chain is needed: the statistics read only the database's projection of it, so the rows are
written as the follower would have written them (the service's worker is off and never called).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from ecoo.anvil import free_port
from ecoo.cli import cli
from ecoo.service.app import create_app
from ecoo.service.chambers import create_chamber
from ecoo.service.config import ServiceSettings
from ecoo.service.statistics import unusual_jumps
from ecoo.service.store import Store, batches, certificates, chain_events, schema_version
from ecoo.service.store.schema import certificate_chapters, chapter_rows, customs_records

RANGE = "from=2026-01-01&to=2026-03-31"


def at(moment: str) -> float:
    return datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp()


class Seeder:
    """Writes projected rows for one chamber: each certificate anchored in its own batch."""

    def __init__(self, store: Store, chamber_id: int, address: str) -> None:
        self.store, self.chamber_id, self.address = store, chamber_id, address.lower()
        self.count = 0
        with store.database.transaction() as conn:
            self.key_id = int(conn.exec_driver_sql(f"SELECT id FROM chamber_keys WHERE chamber_id = {chamber_id}").scalar_one())

    def certificate(
        self,
        issue_date: str,
        scheme: str,
        destination: str,
        hs_codes: list[str],
        status: str = "ISSUED",
        *,
        anchored: bool = True,
        revoked_for: int | None = None,
    ) -> str:
        self.count += 1
        leaf = "0x" + secrets.token_hex(32)
        data = {"items": [{"itemNumber": n, "hsCode": code} for n, code in enumerate(hs_codes, 1)]}
        with self.store.database.transaction() as conn:
            batch = conn.execute(
                batches.insert().values(
                    chamber_id=self.chamber_id,
                    key_id=self.key_id,
                    root="0x" + secrets.token_hex(32),
                    status="ANCHORED" if anchored else "PREPARED",
                    attempts=0,
                    created_at=0.0,
                )
            ).inserted_primary_key[0]
            certificate_id = conn.execute(
                certificates.insert().values(
                    chamber_id=self.chamber_id,
                    key_id=self.key_id,
                    number=f"N-{self.chamber_id}-{self.count}",
                    idempotency_key=f"N-{self.chamber_id}-{self.count}",
                    status=status,
                    scheme=scheme,
                    export_country="TH",
                    destination=destination,
                    issue_date=issue_date,
                    data=json.dumps(data),
                    salts="{}",
                    leaf=leaf,
                    signature="0x",
                    batch_id=batch,
                    created_at=0.0,
                    issued_at=1.0 if anchored else None,
                )
            ).inserted_primary_key[0]
            # as the store writes them with a certificate
            conn.execute(certificate_chapters.insert(), chapter_rows(certificate_id, self.chamber_id, issue_date, data))
            if revoked_for is not None:
                self._event(conn, "CertificateRevoked", leaf, revoked_for)
            if status == "SUSPENDED":
                self._event(conn, "CertificateSuspended", leaf, None)
        return leaf

    def _event(self, conn: Any, name: str, leaf: str, reason: int | None) -> None:
        conn.execute(
            chain_events.insert().values(
                registry="0x" + "11" * 20,
                name=name,
                block_number=10 + self.count,
                block_hash="0x" + secrets.token_hex(32),
                tx_hash="0x" + secrets.token_hex(32),
                log_index=0,
                issuer=self.address,
                subject=leaf,
                reason=reason,
            )
        )

    def record(self, kind: str, leaf: str, moment: str, code: int | None = None) -> None:
        self.count += 1
        with self.store.database.transaction() as conn:
            conn.execute(
                customs_records.insert().values(
                    registry="0x" + "11" * 20,
                    kind=kind,
                    issuer=self.address,
                    leaf=leaf,
                    customs="0x" + "22" * 20,
                    item=1 if kind == "utilised" else None,
                    quantity="5" if kind == "utilised" else None,
                    utilised="5" if kind == "utilised" else None,
                    certified="10" if kind == "utilised" else None,
                    code=code,
                    declaration_hash="0x" + "33" * 32,
                    block_number=100 + self.count,
                    block_hash="0x" + secrets.token_hex(32),
                    tx_hash="0x" + secrets.token_hex(32),
                    log_index=0,
                    at=at(moment),
                )
            )


class Seeded:
    app: Flask

    def __init__(self, client: FlaskClient, tokens: dict[str, str], store: Store, env: dict[str, str]) -> None:
        self.client, self.tokens, self.store, self.env = client, tokens, store, env

    def get(self, who: str, query: str = RANGE) -> Any:
        return self.client.get(f"/api/v1/statistics?{query}", headers={"Authorization": f"Bearer {self.tokens[who]}"})


@pytest.fixture
def seeded(tmp_path: Path, database_url: str | None) -> Iterator[Seeded]:
    made = seed_service(tmp_path, database_url)
    yield made
    made.store.close()


def seed_service(tmp_path: Path, database_url: str | None) -> Seeded:
    """A service (worker off, no chain) with two chambers and the known rows the tests count."""
    env = {
        "ECOO_RPC_URL": f"http://127.0.0.1:{free_port()}",  # never contacted: the worker is off
        "ECOO_DATA_DIR": str(tmp_path / "data"),
        "ECOO_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ECOO_WORKER": "0",
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    settings = ServiceSettings.from_env(env)
    first = create_chamber(settings, "Chamber A", "TH", "A-1", dev=False)
    second = create_chamber(settings, "Chamber B", "VN", "B-1", dev=False)
    app = create_app(settings)
    store: Store = app.extensions["ecoo"].store
    a = Seeder(store, first["chamber"], first["address"])
    c1 = a.certificate("2026-01-15", "RCEP", "KR", ["630260", "630270"])  # chapter 63 once
    a.certificate("2026-01-31", "ATIGA", "JP", ["870830", "400122"], "REVOKED", revoked_for=1)
    a.certificate("2026-02-01", "RCEP", "KR", ["630260"], "CANCELLED", revoked_for=3)
    c4 = a.certificate("2026-03-10", "RCEP", "CN", ["151190"], "SUSPENDED")
    a.certificate("2026-03-31", "RCEP", "KR", ["870830"], "SUPERSEDED")
    a.certificate("2026-03-15", "=SUM(A1)", "US", ["-12345"])  # a spreadsheet formula, from anyone
    a.certificate("2026-04-01", "RCEP", "KR", ["630260"])  # the day after the range
    a.certificate("2025-12-31", "RCEP", "KR", ["630260"])  # the day before
    a.certificate("2026-02-10", "RCEP", "KR", ["630260"], "PENDING", anchored=False)  # not on chain yet
    a.record("received", c1, "2026-01-20T10:00:00")
    a.record("utilised", c1, "2026-01-01T00:00:00")  # the range's first second
    a.record("rejected", c4, "2026-03-31T23:59:59", code=3)  # its last second
    a.record("rejected", c4, "2026-04-01T00:00:00", code=3)  # after it
    a.record("received", c4, "2025-12-31T23:59:59")  # before it
    b = Seeder(store, second["chamber"], second["address"])
    b_leaf = b.certificate("2026-02-15", "RCEP", "KR", ["630260"], "REVOKED", revoked_for=2)
    b.record("rejected", b_leaf, "2026-02-16T00:00:00", code=1)
    app.config["TESTING"] = True
    made = Seeded(app.test_client(), {"a": first["token"], "b": second["token"]}, store, env)
    made.app = app
    return made


def pairs(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {row["key"]: row["count"] for row in rows}


def test_a_chambers_figures_are_exact(seeded: Seeded) -> None:
    response = seeded.get("a")
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["from"], body["to"], body["issued"], body["utilisedCertificates"]) == ("2026-01-01", "2026-03-31", 6, 1)
    assert body["perMonth"] == [
        {"key": "2026-01", "count": 2},
        {"key": "2026-02", "count": 1},
        {"key": "2026-03", "count": 3},
    ]
    assert body["byScheme"] == [{"key": "RCEP", "count": 4}, {"key": "=SUM(A1)", "count": 1}, {"key": "ATIGA", "count": 1}]
    assert pairs(body["byDestination"]) == {"KR": 3, "CN": 1, "JP": 1, "US": 1}
    assert pairs(body["byHsChapter"]) == {"63": 2, "87": 2, "40": 1, "15": 1, "-1": 1}
    assert pairs(body["byStatus"]) == {"ISSUED": 2, "REVOKED": 1, "CANCELLED": 1, "SUSPENDED": 1, "SUPERSEDED": 1}
    assert pairs(body["revocationsByReason"]) == {"fraud": 1, "cancelled": 1}
    assert body["customsRecords"] == [
        {"key": "received", "count": 1},
        {"key": "utilised", "count": 1},
        {"key": "rejected", "count": 1},
    ]
    assert pairs(body["rejectionsByReason"]) == {"hs_mismatch": 1}


def test_a_chamber_never_sees_another_chambers_figures(seeded: Seeded) -> None:
    body = seeded.get("b").json
    assert body["issued"] == 1 and pairs(body["byStatus"]) == {"REVOKED": 1}
    assert pairs(body["revocationsByReason"]) == {"error": 1}
    assert pairs(body["rejectionsByReason"]) == {"certificate_not_valid": 1}
    assert pairs(body["customsRecords"]) == {"received": 0, "utilised": 0, "rejected": 1}
    # The chamber comes from the token: a query parameter naming another changes nothing.
    assert seeded.get("b", RANGE + "&chamber=1").json == body


@pytest.mark.parametrize(
    ("query", "issued", "months"),
    [
        ("from=2026-01-31&to=2026-01-31", 1, {"2026-01": 1}),
        ("from=2026-04-01&to=2026-04-01", 1, {"2026-04": 1}),
        ("from=2025-12-31&to=2026-01-01", 1, {"2025-12": 1, "2026-01": 0}),
        ("from=2026-02-02&to=2026-02-28", 0, {"2026-02": 0}),
    ],
)
def test_the_range_includes_both_days(seeded: Seeded, query: str, issued: int, months: dict[str, int]) -> None:
    body = seeded.get("a", query).json
    assert body["issued"] == issued and pairs(body["perMonth"]) == months


def test_the_default_range_is_the_last_twelve_months(seeded: Seeded) -> None:
    body = seeded.get("a", "to=2026-03-31").json
    assert (body["from"], body["to"]) == ("2025-04-01", "2026-03-31")
    assert body["issued"] == 7 and len(body["perMonth"]) == 12


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("from=2026-03-01&to=2026-01-01", "invalid_date_range"),
        ("from=2026-02-30", "invalid_date_range"),
        ("from=2024-01-01&to=2026-01-01", "invalid_date_range"),
        ("format=xml", "invalid_format"),
        ("from=2026-01-01&to=", "invalid_date_range"),  # the document says a date: an empty one is not
    ],
)
def test_a_bad_request_is_a_clear_400(seeded: Seeded, query: str, error: str) -> None:
    response = seeded.get("a", query)
    assert response.status_code == 400 and response.json["error"] == error and response.json["message"]


def test_without_a_valid_token_nothing_is_shown(seeded: Seeded) -> None:
    assert seeded.client.get(f"/api/v1/statistics?{RANGE}").status_code == 401
    bad = seeded.client.get(f"/api/v1/statistics?{RANGE}", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json["error"] == "invalid_token"


def test_the_csv_has_every_table_and_guards_formulas(seeded: Seeded) -> None:
    response = seeded.get("a", RANGE + "&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["table", "key", "count"]
    table = {(t, k): v for t, k, v in rows[1:]}
    assert table[("byScheme", "'=SUM(A1)")] == "1" and ("byScheme", "=SUM(A1)") not in table
    assert table[("byHsChapter", "'-1")] == "1"
    assert table[("totals", "issued")] == "6" and table[("byDestination", "KR")] == "3"
    assert table[("rejectionsByReason", "hs_mismatch")] == "1"
    assert not any(key.startswith(("=", "+", "-", "@")) for _, key, _ in rows[1:])


def test_the_page_needs_a_session_and_shows_the_apis_numbers(seeded: Seeded) -> None:
    assert seeded.client.get("/dashboard/statistics").status_code == 302
    page = seeded.client.get("/dashboard")
    token = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed = seeded.client.post("/dashboard/login", data={"token": seeded.tokens["a"], "csrf_token": token})
    assert signed.status_code == 302
    html = seeded.client.get(f"/dashboard/statistics?{RANGE}").get_data(as_text=True)
    assert 'data-testid="total-issued">6<' in html and html.count("<svg") == 8
    assert "&lt;script" not in html and "=SUM(A1)" in html
    assert 'href="/dashboard/statistics"' in seeded.client.get("/dashboard").get_data(as_text=True)
    csv_text = seeded.client.get(f"/dashboard/statistics.csv?{RANGE}").get_data(as_text=True)
    assert csv_text == seeded.get("a", RANGE + "&format=csv").get_data(as_text=True)
    assert seeded.client.get("/dashboard/statistics?from=nope").status_code == 400


def test_the_authority_figures_from_the_command_line(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in seeded.env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["chamber", "stats", "--from", "2026-01-01", "--to", "2026-03-31", "--json"])
    assert result.exit_code == 0, result.output
    listed = {row["name"]: row for row in json.loads(result.output)["chambers"]}
    a, b = listed["Chamber A"], listed["Chamber B"]
    assert (a["issued"], a["revoked"], a["suspended"]) == (6, 2, 1)
    assert (a["revocationRate"], a["suspensionRate"]) == (0.3333, 0.1667)
    assert (b["issued"], b["revocationRate"], b["suspensionRate"]) == (1, 1.0, 0.0)
    assert [m["issued"] for m in a["perMonth"]] == [2, 1, 3]
    # 2025-09 to 2026-02 issued 0, 0, 0, 1, 2, 1 (the day before the range counts here): median 0.5
    assert a["unusualJumps"] == [{"month": "2026-03", "issued": 3, "medianBefore": 0.5}]
    bad = CliRunner().invoke(cli, ["chamber", "stats", "--from", "2026-13-01"])
    assert bad.exit_code != 0 and "calendar" in bad.output


@pytest.mark.parametrize(
    ("counts", "flagged"),
    [
        ([2, 2, 2, 2, 2, 2, 7], ["m6"]),  # 7 > 3 x 2
        ([2, 2, 2, 2, 2, 2, 6], []),  # exactly 3 x: not more
        ([0, 0, 0, 0, 0, 0, 50], []),  # a median of nothing flags nothing
        ([1, 1, 1, 9, 9, 9, 15], []),  # the median of an even window is the mean of its middle two: 5
        ([1, 1, 1, 1, 9, 9, 9, 4], ["m6"]),  # the window moves: 9 > 3 x 1, then 4 < 3 x 5
    ],
)
def test_unusual_jumps(counts: list[int], flagged: list[str]) -> None:
    series = [(f"m{index}", count) for index, count in enumerate(counts)]
    assert [jump["month"] for jump in unusual_jumps(series, "m0")] == flagged


def test_the_store_keeps_each_certificates_chapters_and_migration_6_fills_them(seeded: Seeded) -> None:
    store = seeded.store
    chamber = store.chamber(1)
    assert chamber is not None
    data = {"items": [{"hsCode": "870830"}, {"hsCode": "871200"}, {"hsCode": "400122"}, {"description": "no code"}]}
    row = {
        "number": "CH-1", "idempotency_key": "CH-1", "scheme": "RCEP", "export_country": "TH", "destination": "KR",
        "issue_date": "2026-03-01", "data": data, "salts": {}, "leaf": "0x" + "ab" * 32, "signature": "0x",
    }  # fmt: skip
    (new_id,) = store.certificate_repository.insert_certificates(chamber, [row], "test")

    def chapters() -> dict[int, list[str]]:
        with store.database.transaction() as conn:
            found = conn.execute(select(certificate_chapters.c.certificate_id, certificate_chapters.c.chapter)).all()
        grouped: dict[int, list[str]] = {}
        for certificate_id, chapter in sorted(found):
            grouped.setdefault(int(certificate_id), []).append(str(chapter))
        return grouped

    before = chapters()
    assert before[new_id] == ["40", "87"] and len(before) == 11  # every seeded certificate has a code
    # A database from before schema 6: the chapters are read once from each certificate's JSON.
    with store.database.transaction() as conn:
        conn.execute(delete(certificate_chapters))
        conn.execute(delete(schema_version).where(schema_version.c.version == 6))
    assert chapters() == {}
    assert store.migrate() == 6 and chapters() == before
