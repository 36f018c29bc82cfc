"""What every phase shares: the plan (sizes, repeats), statistics, the machine and code state, and the JSON-RPC request counter read from Anvil's log."""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecoo.anvil import find_anvil

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "vectors" / "samples"


# -- plan --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    repeats: int
    gas_batches: tuple[int, ...]
    issue_sizes: tuple[int, ...]  # library and HTTP
    verify_sequential: int  # documents per repeat, one verify() call each
    verify_batches: int  # verify_many() calls per repeat ...
    verify_batch_size: int  # ... of this many documents
    http_requests: dict[int, int]  # concurrency -> POST /verify requests per repeat
    http_batch_requests: int  # POST /verify/batch requests per repeat ...
    http_batch_size: int  # ... of this many documents
    growth_sizes: tuple[int, ...]
    growth_requests: int  # sequential requests per query kind, store size and repeat
    growth_seed: int  # certificates issued for real (through the API) before the store is filled
    profile_size: int  # certificates / documents in each cProfile run
    batch_window: float | None = None  # ECOO_BATCH_WINDOW for the service (None: its default, 2 s)
    issuance_budget: float | None = None  # seconds per issuance path before repeats are cut (see Budget)
    # customs (issue #10): declarations of this many certificates (one line each) from 3 registries
    customs_certificates: int = 50
    customs_declarations: int = 20  # declarations per repeat, one after the other
    customs_block_time: float | None = None  # Anvil --block-time of the customs nodes (None: automine)


FULL = Plan(
    repeats=3,
    gas_batches=(1, 10, 100, 1_000, 10_000),
    issue_sizes=(1_000, 10_000),
    verify_sequential=600,
    verify_batches=6,
    verify_batch_size=100,
    http_requests={1: 150, 16: 450, 64: 450},
    http_batch_requests=6,
    http_batch_size=100,
    growth_sizes=(1_000, 10_000, 100_000),
    growth_requests=25,
    growth_seed=100,
    profile_size=300,
    issuance_budget=170.0,
    customs_certificates=50,
    customs_declarations=20,
)

QUICK = Plan(
    repeats=1,
    gas_batches=(1, 10, 100, 1_000, 10_000),
    issue_sizes=(10, 30),
    verify_sequential=10,
    verify_batches=2,
    verify_batch_size=5,
    http_requests={1: 8, 16: 16, 64: 64},
    http_batch_requests=2,
    http_batch_size=5,
    growth_sizes=(50, 200),
    growth_requests=3,
    growth_seed=10,
    profile_size=10,
    batch_window=0.2,
    customs_certificates=6,
    customs_declarations=2,
)

#: The issue's targets (2-core machine, Anvil on loopback).
TARGETS = {
    "issuance_library_10k_per_s": 3_000,
    "verify_library_sequential_per_s": 1_000,
    "verify_library_batch_per_s": 5_000,
    "verify_http_c16_per_s": 500,
    "verify_http_c16_p99_ms": 50,
    "verify_http_batch_per_s": 3_000,
    "service_rss_mb": 200,
}

#: OpenAttestation 6.9.7 + oa-verify 9.4.0 + DocumentStore, as quoted in the issue (not re-measured).
OPENATTESTATION = {
    "wrap_1000_per_s": 1_037,
    "wrap_10000_per_s": 856,
    "verify_sequential_per_s": 143,
    "verify_20_in_flight_per_s": 179,
    "eth_calls_per_document": 14,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- statistics --------------------------------------------------------------------------------


def spread(values: Sequence[float], digits: int = 3) -> dict[str, Any]:
    vals = [round(float(v), digits) for v in values]
    return {"min": min(vals), "median": round(statistics.median(vals), digits), "max": max(vals), "values": vals}


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_ms(samples: Sequence[float]) -> dict[str, float]:
    return {f"p{q}": round(percentile(samples, q) * 1000, 3) for q in (50, 95, 99)}


def over_repeats(runs: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Per-key min / median / max over repeats of flat figure dicts."""
    return {key: spread([run[key] for run in runs]) for key in runs[0]}


# -- machine -----------------------------------------------------------------------------------


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "hostname": platform.node(),
    }


def code_state() -> str:
    """The checked-out commit, "+dirty" when tracked files differ from it."""
    git = ["git", "-C", str(ROOT)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    changed = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return commit + ("+dirty" if changed.stdout.strip() else "")


def versions(solc: str | None) -> dict[str, Any]:
    from eth_keys.backends import get_backend

    anvil = subprocess.run([find_anvil(), "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    packages = [
        "web3",
        "eth-account",
        "eth-keys",
        "coincurve",
        "safe-pysha3",
        "fastjsonschema",
        "jsonschema",
        "flask",
        "werkzeug",
        "gunicorn",
        "SQLAlchemy",
        "aiohttp",
    ]
    return {
        "python": platform.python_version(),
        "anvil": anvil,
        "solc_floor": solc,
        "ecoo_commit": code_state(),
        "packages": {name: _version(name) for name in packages},
        "eth_keys_backend": type(get_backend()).__name__,
    }


# -- the node: JSON-RPC requests counted from Anvil's log --------------------------------------


_RPC_LINE = re.compile(r"^(eth|net|web3|anvil|evm|debug|txpool|ots)_\w+$")


class RpcCounter:
    """Anvil prints the method of every JSON-RPC request it serves; count them between marks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        time.sleep(0.05)
        self.offset = self.path.stat().st_size

    def counts(self) -> dict[str, int]:
        time.sleep(0.1)  # let Anvil flush its last lines
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            text = handle.read().decode("utf-8", errors="replace")
        counts: dict[str, int] = {}
        for line in text.splitlines():
            line = line.strip()
            if _RPC_LINE.match(line):
                counts[line] = counts.get(line, 0) + 1
        return counts
