"""Smoke run of the benchmark (scripts/bench.py --quick): every section is there and holds numbers.

Not a timed test: the figures of a quick run mean nothing and are never compared with any limit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.anvil  # starts its own node or build: left out of `make test-fast`

ROOT = Path(__file__).resolve().parents[2]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _spread(figure: Any) -> bool:
    """A min / median / max figure over repeats."""
    return (
        isinstance(figure, dict)
        and all(_number(figure.get(k)) for k in ("min", "median", "max"))
        and figure["min"] <= figure["median"] <= figure["max"]
        and len(figure["values"]) >= 1
    )


def test_bench_quick_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--json", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,  # a hang guard only, never a performance limit
    )
    assert run.returncode == 0, run.stderr[-4000:]
    results = json.loads(out.read_text())
    assert "### Gas" in run.stdout and "### Targets" in run.stdout

    assert results["machine"]["nproc"] >= 1 and results["machine"]["cpu_model"]
    assert results["versions"]["python"] and results["versions"]["anvil"].startswith("anvil")
    assert results["versions"]["packages"]["web3"]

    # 1. gas: ours, both floors, ratios; every operation the issue names
    operations = results["gas"]["operations"]
    for name in ("deploy", "anchor one root", "revoke one leaf (with a reason)", "supersede", "suspend"):
        assert name in operations
    for size in ("1", "10", "100", "1,000", "10,000"):
        assert f"anchor, batch of {size}, per certificate" in operations
    assert "status view, single certificate" in operations
    assert "status view, 100 certificates, per certificate" in operations
    for row in operations.values():
        assert _spread(row["ecoo"]) and _spread(row["floor_bare"]) and _spread(row["floor_packed_event"])
        assert row["ecoo"]["median"] > 0 and _number(row["ratio_to_bare"]) and _number(row["ratio_to_packed_event"])
    _assert_customs_gas(results["gas"]["customs"])
    assert "### Customs records: gas" in run.stdout

    # 2. issuance: library and HTTP at two sizes, stage breakdown, the slowest stage named
    for path in ("library", "http"):
        sizes = results["issuance"][path]
        assert len(sizes) == 2
        for row in sizes.values():
            assert _spread(row["per_second"]) and row["per_second"]["median"] > 0
    for row in results["issuance"]["library"].values():
        assert set(row["stage_share"]) == {"validate", "hash", "sign", "anchor", "build", "store"}
        assert row["slowest_stage"] in row["stage_share"]
    for profiles in results["profiles"].values():
        for profile in profiles.values():
            assert profile["total_seconds"] > 0 and profile["top_own_time"]
            assert all(_number(v) for v in profile["named_cumulative_share"].values())

    # 3. verification: library (sequential, batches) and HTTP (three concurrencies, batch), RPC counted
    library = results["verification"]["library"]
    assert library["sequential"]["rpc_per_verification"]["eth_call"] == 2  # status checks + utilisation
    assert library["batches"]["rpc_per_certificate"]["eth_call"] < 1
    http = results["verification"]["http"]
    assert set(http["single"]) == {"1", "16", "64"}
    for row in [library["sequential"], library["batches"], *http["single"].values(), http["batch"]]:
        for key in ("per_second", "p50", "p95", "p99"):
            assert _spread(row[key]), key
        assert row["per_second"]["median"] > 0
    for row in http["single"].values():
        assert row["rpc_per_verification"]["eth_call"] >= 1

    # 4. memory
    memory = results["memory"]
    assert memory["processes"] >= 2 and memory["peak_rss_sum_mb"] > 0 and memory["peak_pss_sum_mb"] > 0

    # 5. growth: every query at every store size
    growth = results["growth"]
    assert len(growth["sizes"]) >= 2
    for by_size in growth["queries"].values():
        assert set(by_size) == {str(s) for s in growth["sizes"]}
        assert all(_spread(figure["p50"]) for figure in by_size.values())
    assert all(_number(v) for v in growth["p50_ratio_largest_to_smallest"].values())

    # targets are evaluated (met or not), never asserted
    assert results["targets"] and all(isinstance(t["met"], bool) and _number(t["measured"]) for t in results["targets"])

    _assert_customs_figures(results)
    assert "### Customs" in run.stdout


# -- customs (issue #10): a declaration of N certificates from 3 registries ----------------------


def _assert_customs_figures(results: dict[str, Any]) -> None:
    customs = results["customs"]
    size = results["plan"]["customs_certificates"]
    assert customs["certificates_per_declaration"] == size == customs["lines_per_declaration"]
    registries = customs["registries"]
    assert len(registries) == 3 and len({r["chain_id"] for r in registries}) == 3
    assert sum(r["certificates_per_declaration"] for r in registries) == size
    labels = {r["label"] for r in registries}
    for mode in ("without_key", "with_key"):
        row = customs[mode]
        assert row["declarations"] == customs["declarations_per_repeat"] * customs["repeats"] >= 1
        for key in ("per_second", "p50", "p95", "p99"):
            assert _spread(row[key]) and row[key]["median"] > 0, (mode, key)
        assert set(row["rpc_per_declaration_by_registry"]) == labels
        # every registry is asked: its chain checks (batched: far fewer calls than certificates)
        for counts in row["rpc_per_declaration_by_registry"].values():
            assert 1 <= counts["eth_call"] < size
        by_registry = sum(c["total"] for c in row["rpc_per_declaration_by_registry"].values())
        assert abs(by_registry - row["rpc_per_declaration"]["total"]) < 0.1  # rounded to 2 digits per registry
    unsigned, signed = customs["without_key"]["rpc_per_declaration"], customs["with_key"]["rpc_per_declaration"]
    assert "eth_sendRawTransaction" not in unsigned
    # with the key: a receipt per certificate and a utilisation per line, each one transaction
    assert signed["eth_sendRawTransaction"] == customs["records"]["transactions_per_declaration"] == 2 * size
    records = customs["records"]
    assert records["rpc_per_declaration"]["total"] == round(signed["total"] - unsigned["total"], 2) > 0
    # bounded: without the key a few requests per registry whatever the number of certificates
    # (batched), with it a few more per record transaction (nonce, fees, gas, send, receipt)
    assert 0 < unsigned["total"] <= 8 * len(registries)
    assert 0 < records["rpc_per_declaration"]["total"] <= 12 * records["transactions_per_declaration"]
    assert _number(records["p50_ms"]) and _number(records["p50_share"])
    profile = customs["profile_with_key"]
    assert profile["certificates"] == size and profile["total_seconds"] > 0 and profile["top_own_time"]
    assert all(_number(v) for v in profile["named_cumulative_share"].values())


def test_bench_only_customs(tmp_path: Path) -> None:
    """``--only customs --quick``: the customs phase alone, its JSON and its report."""
    out = tmp_path / "customs.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--only", "customs", "--quick", "--json", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard only
    )
    assert run.returncode == 0, run.stderr[-4000:]
    results = json.loads(out.read_text())
    assert "gas" not in results and "issuance" not in results  # only the customs phase ran
    _assert_customs_figures(results)
    assert "### Customs: a declaration of 6 certificates from 3 registries" in run.stdout
    assert "JSON-RPC requests per declaration by registry" in run.stdout


# -- customs records: gas beside the floor (issue #10) -------------------------------------------

CUSTOMS_RECORDS = (
    "grantCustoms",
    "recordReceipt",
    "recordUtilisation, first record of an item",
    "recordUtilisation, a later record of the item",
    "recordRejection",
)


def _assert_customs_gas(gas: dict[str, Any]) -> None:
    records = gas["records"]
    assert tuple(records) == CUSTOMS_RECORDS
    for name, row in records.items():
        assert _spread(row["ecoo"]) and _spread(row["floor"]), name
        # nothing costs less than its floor: the floor is what the EVM charges whatever the code
        assert 21_000 < row["intrinsic_calldata"] <= row["floor"]["median"] <= row["ecoo"]["min"], name
        assert row["floor"]["median"] >= row["calldata_floor_eip7623"] > 21_000, name
        assert row["ratio_to_floor"] >= 1 and row["over_floor"] >= 0 and row["event"] > 0, name
    first, later = records[CUSTOMS_RECORDS[2]], records[CUSTOMS_RECORDS[3]]
    assert first["storage_writes"] == 22_100 and later["storage_writes"] == 5_000
    assert first["ecoo"]["median"] > later["ecoo"]["median"]  # a new slot costs more than a rewrite
    # issue #10: a utilisation record <= 60,000 gas (gas is deterministic: this is a real limit)
    check = gas["utilisation_check"]
    assert check["limit"] == 60_000 and check["met"]
    assert check["max_measured"] == max(first["ecoo"]["max"], later["ecoo"]["max"]) <= 60_000


def test_gas_report_customs_rows(tmp_path: Path) -> None:
    out = tmp_path / "gas.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gas_report.py"), "--repeats", "2", "--json", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard only
    )
    assert run.returncode == 0, run.stderr[-4000:]
    customs = json.loads(out.read_text())["customs"]
    assert customs["repeats"] == 2
    _assert_customs_gas(customs)
    for name in CUSTOMS_RECORDS:
        assert f"| {name} | " in run.stdout
    assert "Utilisation record ≤ 60,000 gas (issue #10)" in run.stdout and "**met**" in run.stdout
