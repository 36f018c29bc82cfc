"""A month of a Japanese customs office's activity (November 2026), inserted with SQL into the
customs tables, and the statistics it must give (worked out by hand, not by the code under test).

Rows sit on the period's edges on purpose: the first and last instant of a day and of the period
(a float time that PostgreSQL would round into the next day if it were cast, not floored), and
rows just outside the period on both sides. Labels that come from certificates include hostile
ones (markup, a control character).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from ecoo.customs.statistics import Period
from ecoo.customs.store import CustomsDatabase, insert_id
from ecoo.customs.store.schema import alerts, declaration_lines, declarations, verifications
from ecoo.trustlist import TrustEntry
from tests.support.customs import CustomsHarness, make_customs, write_trust_list

PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))
HOSTILE_CHAMBER = "</text><script>alert(1)</script>"
HOSTILE_SCHEME = "<b>FTA</b>\x07"  # markup and a BEL, which XML forbids
THAI = "Thai Chamber of Commerce"
VCCI = "Vietnam Chamber of Commerce and Industry (VCCI)"
KOREA = "Korea Chamber of Commerce & Industry"
LEAF_A, LEAF_B, LEAF_C, LEAF_D, LEAF_E = (f"0x{digit * 64}" for digit in "abcde")
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ISSUER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def at(day: str, clock: str = "12:00:00", fraction: float = 0.0) -> float:
    """Unix time of ``day`` (YYYY-MM-DD) at ``clock`` UTC plus ``fraction`` of a second."""
    moment = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)
    return moment.timestamp() + fraction


def add_verification(
    conn: Connection,
    when: float,
    verdict: str,
    country: str | None,
    chamber: str | None,
    *,
    leaf: str | None = None,
    source: str = "declaration",
    declaration_id: int | None = None,
) -> None:
    conn.execute(
        verifications.insert().values(
            at=when,
            actor="account:officer",
            source=source,
            declaration_id=declaration_id,
            verdict=verdict,
            failed_check=None if verdict == "VALID" else "status",
            chain_id=31337,
            registry=REGISTRY,
            issuer=ISSUER,
            leaf=leaf,
            certificate_number=f"CO-{int(when)}",
            scheme="RCEP",
            export_country=country,
            import_country="JP",
            chamber=chamber,
        )
    )


def add_declaration(conn: Connection, when: float, reference: str, outcome: str, lines: list[dict[str, Any]]) -> int:
    declaration_id = insert_id(
        conn,
        declarations.insert().values(
            reference=reference,
            salt="0x" + "11" * 32,
            declaration_hash="0x" + "22" * 32,
            importer=json.dumps({"name": "Nihon Trading KK", "identifier": {"scheme": "JP-CN", "value": "1234567890123"}}),
            port_of_entry="JPTYO",
            declared_on=datetime.fromtimestamp(when, UTC).date().isoformat(),
            created_at=when,
            actor="account:officer",
            outcome=outcome,
            answer="{}",
        ),
    )
    for number, line in enumerate(lines, 1):
        reasons = [{"code": code, "message": f"{code} (line {number})"} for code in line.get("reasons", [])]
        conn.execute(
            declaration_lines.insert().values(
                declaration_id=declaration_id,
                line_no=number,
                chain_id=31337,
                registry=REGISTRY,
                issuer=ISSUER,
                leaf=line["leaf"],
                item=line["item"],
                hs_code="620520",
                quantity=line["quantity"],
                unit=line["unit"],
                preference=line.get("preference"),
                decision=line["decision"],
                reasons=json.dumps(reasons),
                record_kind="utilisation" if line["decision"] == "accept" else "rejection",
                record_tx="0x" + "33" * 32,
                record_state=line.get("state", "confirmed"),
            )
        )
    return declaration_id


def add_alert(conn: Connection, when: float, kind: str, leaf: str, log_index: int) -> None:
    conn.execute(
        alerts.insert().values(
            at=when,
            kind=kind,
            chain_id=31337,
            registry=REGISTRY,
            issuer=ISSUER,
            leaf=leaf,
            certificate_number="CO-1",
            block_number=100 + log_index,
            block_hash="0x" + "44" * 32,
            tx_hash="0x" + f"{log_index:02d}" * 32,
            log_index=log_index,
            detail="{}",
        )
    )


def accept(leaf: str, item: int, quantity: str, unit: str, preference: str | None) -> dict[str, Any]:
    return {"leaf": leaf, "item": item, "quantity": quantity, "unit": unit, "preference": preference, "decision": "accept"}


def reject(leaf: str, item: int, quantity: str, unit: str, preference: str | None, *reasons: str) -> dict[str, Any]:
    return {
        "leaf": leaf,
        "item": item,
        "quantity": quantity,
        "unit": unit,
        "preference": preference,
        "decision": "reject",
        "reasons": list(reasons),
    }


def seed(db: CustomsDatabase, *, hostile_scheme: bool = False) -> None:
    """November 2026, and one row on each side of it. ``hostile_scheme`` adds one more accepted
    line (in the page's tests) whose preference is :data:`HOSTILE_SCHEME`."""
    with db.transaction() as conn:
        # Outside the period, on both sides.
        add_verification(conn, at("2026-10-31", "23:59:59", 0.999), "VALID", "TH", THAI)
        add_verification(conn, at("2026-12-01", "00:00:00"), "VALID", "TH", THAI)
        add_declaration(conn, at("2026-10-31", "12:00:00"), "JP-IMP-2026-000050", "rejected",
                        [reject(LEAF_A, 1, "10", "PCE", "RCEP", "quantity_exceeded")])  # fmt: skip
        add_declaration(conn, at("2026-12-01", "00:00:00"), "JP-IMP-2026-000300", "accepted",
                        [accept(LEAF_A, 1, "999", "PCE", "JTEPA")])  # fmt: skip
        add_alert(conn, at("2026-12-01", "00:00:00"), "key_rotated", LEAF_A, 9)

        # 3 November: a declaration of two certificates, and the day's last instant.
        first = add_declaration(
            conn,
            at("2026-11-03", "09:12:06"),
            "JP-IMP-2026-000101",
            "partly_accepted",
            [
                accept(LEAF_A, 1, "2000", "PCE", "RCEP"),
                accept(LEAF_A, 2, "1250.5", "KGM", "RCEP"),
                reject(LEAF_B, 1, "800", "PCE", "RCEP", "quantity_exceeded", "unit_mismatch"),
            ],
        )
        add_verification(conn, at("2026-11-03", "09:12:05", 0.25), "VALID", "TH", THAI, leaf=LEAF_A, declaration_id=first)
        add_verification(conn, at("2026-11-03", "09:12:05", 0.5), "VALID", "VN", VCCI, leaf=LEAF_B, declaration_id=first)
        add_verification(conn, at("2026-11-03", "23:59:59", 0.9), "VALID", "TH", THAI, source="api")

        # 10 November: checks by hand.
        add_verification(conn, at("2026-11-10", "14:00:00"), "REVOKED", "TH", THAI, source="page")
        add_verification(conn, at("2026-11-10", "14:05:00"), "INVALID", None, None, source="page")

        # 18 November: a hostile chamber name; 19 November its certificate is revoked for fraud.
        second = add_declaration(
            conn,
            at("2026-11-18", "08:30:02"),
            "JP-IMP-2026-000187",
            "accepted",
            [accept(LEAF_C, 1, "0.125", "KGM", "RCEP"), accept(LEAF_C, 2, "300", "PCE", None)]
            + ([accept(LEAF_C, 3, "1", "PCE", HOSTILE_SCHEME)] if hostile_scheme else []),
        )
        add_verification(conn, at("2026-11-18", "08:30:00"), "VALID", "CN", HOSTILE_CHAMBER, leaf=LEAF_C, declaration_id=second)
        add_verification(conn, at("2026-11-18", "08:30:01"), "NOT_ANCHORED", "VN", VCCI, source="api")
        add_alert(conn, at("2026-11-19", "06:00:00"), "revoked_fraud", LEAF_C, 1)

        # 20 November: everything rejected.
        add_declaration(
            conn,
            at("2026-11-20", "11:00:00"),
            "JP-IMP-2026-000230",
            "rejected",
            [
                reject(LEAF_D, 1, "50", "PCE", "CPTPP", "certificate_not_valid"),
                reject(LEAF_D, 2, "10", "SET", "JTEPA", "certificate_not_valid", "outside_validity"),
                reject(LEAF_E, 1, "5", "PCE", "", "certificate_not_presented"),
            ],
        )
        add_alert(conn, at("2026-11-25", "10:00:00"), "superseded", LEAF_A, 2)
        add_alert(conn, at("2026-11-25", "10:00:00"), "revoked_fraud", LEAF_B, 3)
        add_alert(conn, at("2026-11-29", "16:45:00"), "issuer_suspended", LEAF_A, 4)

        # 30 November: the period's last instants.
        add_declaration(conn, at("2026-11-30", "23:59:59", 0.5), "JP-IMP-2026-000299", "accepted",
                        [accept(LEAF_A, 1, "1000", "PCE", "JTEPA")])  # fmt: skip
        add_verification(conn, at("2026-11-30", "23:59:59", 0.999), "VALID", "KR", KOREA, leaf=LEAF_A)


#: The API's answer for PERIOD after ``seed`` (worked out by hand from the rows above).
EXPECTED_PER_DAY = {"2026-11-03": (3, 1), "2026-11-10": (2, 0), "2026-11-18": (2, 1), "2026-11-20": (0, 1), "2026-11-30": (1, 1)}


def rows(*pairs: tuple[str | None, int]) -> list[dict[str, Any]]:
    return [{"key": key, "count": count} for key, count in pairs]


EXPECTED = {
    "range": {"from": "2026-11-01", "to": "2026-11-30", "days": 30},
    "verifications": {
        "total": 8,
        "byVerdict": {
            "total": 8,
            "rows": rows(("VALID", 5), ("INVALID", 1), ("NOT_ANCHORED", 1), ("REVOKED", 1)),
            "others": 0,
        },
        "byExportCountry": {"total": 8, "rows": rows(("TH", 3), ("VN", 2), ("CN", 1), ("KR", 1), (None, 1)), "others": 0},
        "byChamber": {
            "total": 8,
            "rows": rows((THAI, 3), (VCCI, 2), (HOSTILE_CHAMBER, 1), (KOREA, 1), (None, 1)),
            "others": 0,
        },
    },
    "declarations": {
        "total": 4,
        "byOutcome": {"total": 4, "rows": rows(("accepted", 2), ("partly_accepted", 1), ("rejected", 1)), "others": 0},
    },
    "preference": {
        "lines": 7,
        "accepted": 4,
        "byScheme": [
            {"scheme": "RCEP", "lines": 4, "accepted": 3},
            {"scheme": "JTEPA", "lines": 2, "accepted": 1},
            {"scheme": "CPTPP", "lines": 1, "accepted": 0},
        ],
        "others": 0,
    },
    "utilisation": {
        "lines": 5,
        "certificates": 2,
        "byUnit": [{"unit": "PCE", "lines": 3, "quantity": "3300"}, {"unit": "KGM", "lines": 2, "quantity": "1250.625"}],
        "others": 0,
    },
    "rejections": {
        "lines": 4,
        "byReason": {
            "total": 6,
            "rows": rows(
                ("certificate_not_valid", 2),
                ("certificate_not_presented", 1),
                ("outside_validity", 1),
                ("quantity_exceeded", 1),
                ("unit_mismatch", 1),
            ),
            "others": 0,
        },
    },
    "alerts": {
        "total": 4,
        "byKind": {"total": 4, "rows": rows(("revoked_fraud", 2), ("issuer_suspended", 1), ("superseded", 1)), "others": 0},
    },
    "perDay": [
        {
            "date": day.isoformat(),
            "verifications": EXPECTED_PER_DAY.get(day.isoformat(), (0, 0))[0],
            "declarations": EXPECTED_PER_DAY.get(day.isoformat(), (0, 0))[1],
        }
        for day in PERIOD.dates()
    ],
}


def statistics_customs(tmp_path: Path, database_url: str | None = None) -> CustomsHarness:
    """The customs service with an officer and an admin (``tests.support.customs.make_customs``) on
    a trust list whose one registry is never reached: statistics read the database alone."""
    entry = TrustEntry(
        chain_id=31337,
        registry=REGISTRY,
        rpc_urls=("http://127.0.0.1:9",),  # the discard port: nothing answers, nothing asks
        authority_name="Ministry of Commerce, Thailand",
        authority_country="TH",
        valid_from="2026-01-01",
    )
    trust_list = write_trust_list(tmp_path / "trust-list.json", [entry])
    return make_customs(tmp_path, None, trust_list, database_url)  # type: ignore[arg-type]  # no chamber: no chain
