#!/usr/bin/env python3
"""Benchmarks of ecoo on a real Anvil this script starts itself (issue #5).

    python scripts/bench.py [--quick] [--json PATH] [--repeats N] [--workers 2] [--threads 8]

Measures, in one run:

1. gas, from receipts (views: eth_estimateGas), of the registry and of two *floor* contracts the
   script compiles itself (a bare ``mapping(bytes32 => uint256)`` write; a one-slot packed record
   plus an event), so that every figure is also shown as a ratio to the floor;
2. issuance end to end (validate, hash, sign, batch, anchor, store) through the library and the
   HTTP API, with a per-stage breakdown and cProfile summaries naming the slowest functions;
3. verification through the library (sequential, batches) and the HTTP API (single documents at
   several concurrencies, the batch endpoint), latency percentiles, JSON-RPC requests per
   verification counted on the node (Anvil logs every request it serves);
4. the service's memory (RSS of all its gunicorn processes) under the verification load;
5. growth: verification, lookup and list-query latency with 1k, 10k and 100k certificates in the
   store (rows beyond the first real ones are inserted directly into the ``certificates`` table).

Timing figures are min / median / max over ``--repeats`` runs. The service runs under gunicorn in
its own processes on 127.0.0.1; the load generator is asyncio + aiohttp (a dependency of web3).
``--quick`` is a smoke run with tiny sizes (CI); its figures mean nothing. The JSON (default
``.ecoo/bench.json``) holds the machine, the versions and every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import importlib.metadata
import json
import math
import os
import platform
import pstats
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from eth_account import Account
from web3 import Web3

from ecoo._cli_certificates import _write_documents
from ecoo.anvil import ManagedAnvil, find_anvil, free_port
from ecoo.deploy import deploy_registry
from ecoo.examples import shift_dates
from ecoo.issuing import CertificateIssuer
from ecoo.merkle import MerkleTree
from ecoo.registry import CertificateQuery, Registry, RevocationReason
from ecoo.signers import LocalSigner, unlocked_signer
from ecoo.verify import Verifier

ROOT = Path(__file__).resolve().parents[1]
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


# -- floor contracts ---------------------------------------------------------------------------

FLOOR_SOURCE = """// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// Floor 1: one bare mapping(bytes32 => uint256) write per operation; one read per certificate.
contract FloorBare {
    mapping(bytes32 => uint256) private _slots;

    function anchor(bytes32 root) external { _slots[root] = block.timestamp; }
    function revoke(bytes32 leaf, uint8 reason) external { _slots[leaf] = reason; }
    function supersede(bytes32 leaf, bytes32 successor) external { _slots[leaf] = uint256(successor); }
    function suspend(bytes32 leaf) external { _slots[leaf] = 1; }

    function verify(bytes32[] calldata keys) external view returns (uint256[] memory values) {
        values = new uint256[](keys.length);
        for (uint256 i; i < keys.length; ++i) values[i] = _slots[keys[i]];
    }
}

/// Floor 2: one packed one-slot record per operation, keyed by the caller, plus an event
/// (supersede also stores the successor: two slots). The view takes the registry's query shape,
/// checks the Merkle path (sorted pairs) and reads the anchor and the status records.
contract FloorPacked {
    struct Anchor { uint64 time; uint64 blockNumber; }
    struct Status { uint8 status; uint8 reason; uint64 time; address by; }
    struct Query { address issuer; bytes32 root; bytes32 leaf; bytes32[] proof; }
    struct Answer { bool proofValid; uint64 anchoredAt; uint8 status; uint8 reason; }

    mapping(address => mapping(bytes32 => Anchor)) private _anchors;
    mapping(address => mapping(bytes32 => Status)) private _statuses;
    mapping(address => mapping(bytes32 => bytes32)) private _successors;

    event Anchored(address indexed issuer, bytes32 indexed root);
    event StatusChanged(address indexed issuer, bytes32 indexed leaf, uint8 status, uint8 reason);
    event Superseded(address indexed issuer, bytes32 indexed leaf, bytes32 successor);

    function anchor(bytes32 root) external {
        _anchors[msg.sender][root] = Anchor(uint64(block.timestamp), uint64(block.number));
        emit Anchored(msg.sender, root);
    }

    function revoke(bytes32 leaf, uint8 reason) external {
        _statuses[msg.sender][leaf] = Status(2, reason, uint64(block.timestamp), msg.sender);
        emit StatusChanged(msg.sender, leaf, 2, reason);
    }

    function suspend(bytes32 leaf) external {
        _statuses[msg.sender][leaf] = Status(1, 0, uint64(block.timestamp), msg.sender);
        emit StatusChanged(msg.sender, leaf, 1, 0);
    }

    function supersede(bytes32 leaf, bytes32 successor) external {
        _statuses[msg.sender][leaf] = Status(2, 4, uint64(block.timestamp), msg.sender);
        _successors[msg.sender][leaf] = successor;
        emit Superseded(msg.sender, leaf, successor);
    }

    function verify(Query[] calldata queries) external view returns (Answer[] memory answers) {
        answers = new Answer[](queries.length);
        for (uint256 i; i < queries.length; ++i) {
            Query calldata q = queries[i];
            bytes32 node = q.leaf;
            for (uint256 j; j < q.proof.length; ++j) node = _pair(node, q.proof[j]);
            Anchor memory a = _anchors[q.issuer][q.root];
            Status memory s = _statuses[q.issuer][q.leaf];
            answers[i] = Answer(node == q.root, a.time, s.status, s.reason);
        }
    }

    function _pair(bytes32 a, bytes32 b) private pure returns (bytes32 value) {
        (bytes32 lo, bytes32 hi) = a < b ? (a, b) : (b, a);
        assembly ("memory-safe") {
            mstore(0x00, lo)
            mstore(0x20, hi)
            value := keccak256(0x00, 0x40)
        }
    }
}
"""


def compile_floor() -> tuple[dict[str, dict[str, Any]], str]:
    """Compile the floor contracts with the project's pinned solc and settings (ecoo.compiler)."""
    import solcx

    from ecoo.compiler import CompilerConfig, find_solc, project_root

    config = CompilerConfig.load(project_root())
    solc = find_solc(config)
    output = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"Floor.sol": {"content": FLOOR_SOURCE}},
            "settings": {
                "evmVersion": config.evm_version,
                "optimizer": config.optimizer,
                "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
            },
        },
        solc_binary=solc,
    )
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("floor contracts do not compile:\n" + "\n".join(e.get("formattedMessage", "") for e in errors))
    contracts = output["contracts"]["Floor.sol"]
    return {
        name: {"abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"]} for name, c in contracts.items()
    }, f"{config.solc_long_version} ({Path(solc).name})"


# -- shared setup ------------------------------------------------------------------------------


@dataclass
class Chamber:
    signer: LocalSigner
    sample: dict[str, Any]
    label: str


def load_samples() -> list[tuple[str, dict[str, Any]]]:
    """The sample certificates, every date shifted so that each is issued today (UTC)."""
    today = datetime.now(UTC).date()
    samples = []
    for path in sorted(SAMPLES.glob("*.json")):
        sample = json.loads(path.read_text(encoding="utf-8"))
        samples.append((path.stem, shift_dates(sample, today - date.fromisoformat(sample["issueDate"]))))
    return samples


def make_certificates(sample: dict[str, Any], prefix: str, count: int) -> list[dict[str, Any]]:
    return [{**sample, "certificateNumber": f"{prefix}-{i:06d}"} for i in range(count)]


def fund(w3: Web3, dev: str, address: str, wei: int = 10**20) -> None:
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": dev, "to": address, "value": wei}))  # type: ignore[typeddict-item]


# -- 1. gas ------------------------------------------------------------------------------------


def bench_gas(
    w3: Web3, registry: Registry, dev: str, issuer: LocalSigner, floor: dict[str, dict[str, Any]], plan: Plan
) -> dict[str, Any]:
    dev_signer = unlocked_signer(w3)
    repeats = plan.repeats
    rand = secrets.token_bytes

    def receipt_gas(tx_hash: Any) -> int:
        return int(w3.eth.wait_for_transaction_receipt(tx_hash)["gasUsed"])

    # floor contracts: deployed and operated from the dev node's unlocked account (the sender does not change gas)
    floors: dict[str, Any] = {}
    floor_deploy: dict[str, list[int]] = {}
    for name, compiled in floor.items():
        factory = w3.eth.contract(abi=compiled["abi"], bytecode=compiled["bytecode"])
        gases = []
        address = None
        for _ in range(repeats):
            receipt = w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": dev}))  # type: ignore[arg-type]
            gases.append(int(receipt["gasUsed"]))
            address = receipt["contractAddress"]
        floor_deploy[name] = gases
        floors[name] = w3.eth.contract(address=address, abi=compiled["abi"])

    def floor_tx(contract: Any, fn: str, *args: Any) -> int:
        return receipt_gas(getattr(contract.functions, fn)(*args).transact({"from": dev}))

    ours: dict[str, list[int]] = {}
    bare: dict[str, list[int]] = {}
    packed: dict[str, list[int]] = {}
    fb, fp = floors["FloorBare"], floors["FloorPacked"]

    def measure(name: str, mine: Callable[[], int], floor_bare: Callable[[], int], floor_packed: Callable[[], int]) -> None:
        ours[name] = [mine() for _ in range(repeats)]
        bare[name] = [floor_bare() for _ in range(repeats)]
        packed[name] = [floor_packed() for _ in range(repeats)]

    ours["deploy"] = [receipt_gas(deploy_registry(w3, dev_signer, reuse=False)[0].deploy_tx) for _ in range(repeats)]
    bare["deploy"], packed["deploy"] = floor_deploy["FloorBare"], floor_deploy["FloorPacked"]

    measure(
        "anchor one root",
        lambda: registry.anchor(issuer, rand(32)).gas_used,
        lambda: floor_tx(fb, "anchor", rand(32)),
        lambda: floor_tx(fp, "anchor", rand(32)),
    )
    for size in plan.gas_batches:

        def per_cert(anchor: Callable[[bytes], int], size: int = size) -> int:
            tree = MerkleTree.build([rand(32) for _ in range(size)])
            return round(anchor(tree.root) / size)

        measure(
            f"anchor, batch of {size:,}, per certificate",
            lambda per_cert=per_cert: per_cert(lambda root: registry.anchor(issuer, root).gas_used),
            lambda per_cert=per_cert: per_cert(lambda root: floor_tx(fb, "anchor", root)),
            lambda per_cert=per_cert: per_cert(lambda root: floor_tx(fp, "anchor", root)),
        )
    measure(
        "revoke one leaf (with a reason)",
        lambda: registry.revoke(issuer, rand(32), RevocationReason.FRAUD).gas_used,
        lambda: floor_tx(fb, "revoke", rand(32), int(RevocationReason.FRAUD)),
        lambda: floor_tx(fp, "revoke", rand(32), int(RevocationReason.FRAUD)),
    )
    measure(
        "supersede",
        lambda: registry.supersede(issuer, rand(32), rand(32)).gas_used,
        lambda: floor_tx(fb, "supersede", rand(32), rand(32)),
        lambda: floor_tx(fp, "supersede", rand(32), rand(32)),
    )
    measure(
        "suspend",
        lambda: registry.suspend_certificate(issuer, rand(32)).gas_used,
        lambda: floor_tx(fb, "suspend", rand(32)),
        lambda: floor_tx(fp, "suspend", rand(32)),
    )

    # the one-call status view, eth_estimateGas (calldata included), single and for 100
    for size in (1, 100):
        leaves = [rand(32) for _ in range(size)]
        tree = MerkleTree.build(leaves)
        registry.anchor(issuer, tree.root)
        floor_tx(fp, "anchor", tree.root)
        floor_tx(fb, "anchor", tree.root)
        queries = [CertificateQuery(issuer.address, tree.root, leaf, tree.proof(i)).as_abi() for i, leaf in enumerate(leaves)]
        fns = registry.contract.functions
        mine = fns.verifyCertificate(queries[0]) if size == 1 else fns.verifyCertificates(queries)
        name = "status view, single certificate" if size == 1 else "status view, 100 certificates (whole call)"
        measure(
            name,
            lambda mine=mine: int(mine.estimate_gas()),
            lambda leaves=leaves: int(fb.functions.verify(leaves).estimate_gas()),
            lambda queries=queries: int(fp.functions.verify([(dev, *q[1:]) for q in queries]).estimate_gas()),
        )
        if size == 100:
            per = "status view, 100 certificates, per certificate"
            ours[per] = [v // 100 for v in ours[name]]
            bare[per] = [v // 100 for v in bare[name]]
            packed[per] = [v // 100 for v in packed[name]]

    rows = {}
    for name, values in ours.items():
        ours_median = statistics.median(values)
        rows[name] = {
            "ecoo": spread(values, 0),
            "floor_bare": spread(bare[name], 0),
            "floor_packed_event": spread(packed[name], 0),
            "ratio_to_bare": round(ours_median / statistics.median(bare[name]), 2),
            "ratio_to_packed_event": round(ours_median / statistics.median(packed[name]), 2),
        }
    return {"repeats": repeats, "operations": rows}


# -- 2. issuance through the library -----------------------------------------------------------


class Budget:
    """Repeats of the expensive issuance runs stop early when the next one would overrun the phase's
    time budget (full mode: the whole bench must stay under 10 minutes on 2 cores); at least one
    run of every size is always made, and the JSON records how many were."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.start = time.perf_counter()

    def another(self, done: int, wanted: int, last_run: float) -> bool:
        if done >= wanted:
            return False
        if self.seconds is None or done == 0:
            return True
        return time.perf_counter() - self.start + last_run <= self.seconds


LIBRARY_STAGES = (
    ("validate", "validate (schema + rules) and issuer standing (1 eth_call)"),
    ("hash", "salt + RFC 8785 + keccak (prepare)"),
    ("sign", "Merkle tree + EIP-712 digest + ECDSA sign"),
    ("anchor", "anchor transaction + receipt"),
    ("build", "build the issued documents"),
    ("store", "write one JSON file per certificate"),
)


def library_issue_once(
    registry: Registry, chamber: Chamber, count: int, prefix: str, out: Path
) -> tuple[float, dict[str, float], tuple[dict[str, Any], ...]]:
    certificates = make_certificates(chamber.sample, prefix, count)
    first: dict[str, float] = {}
    last: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        first.setdefault(stage, now)
        last[stage] = now

    issuer = CertificateIssuer(registry, chamber.signer)
    t0 = time.perf_counter()
    batch = issuer.issue(certificates, progress)
    t1 = time.perf_counter()
    _write_documents(batch.documents, out / prefix)
    t2 = time.perf_counter()
    stages = {
        "validate": first["hash"] - t0,
        "hash": last["hash"] - first["hash"],
        "sign": last["sign"] - last["hash"],
        "anchor": last["anchor"] - last["sign"],
        "build": t1 - last["anchor"],
        "store": t2 - t1,
    }
    return t2 - t0, stages, batch.documents


def bench_library_issuance(
    registry: Registry, chambers: list[Chamber], plan: Plan, out: Path, budget: Budget
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    results: dict[str, Any] = {}
    keep: list[dict[str, Any]] = []
    for size in plan.issue_sizes:
        runs: list[float] = []
        stage_runs: list[dict[str, float]] = []
        elapsed = 0.0
        while budget.another(len(runs), plan.repeats, elapsed):
            r = len(runs)
            chamber = chambers[r % len(chambers)]
            elapsed, stages, documents = library_issue_once(registry, chamber, size, f"LIB{size}-R{r}", out)
            runs.append(size / elapsed)
            stage_runs.append(stages)
            if size == plan.issue_sizes[0]:
                keep.extend(documents)
            log(f"library issuance {size:,} ({chamber.label}): {size / elapsed:,.0f}/s")
        shares = {k: statistics.median(s[k] / sum(s.values()) for s in stage_runs) for k in stage_runs[0]}
        results[str(size)] = {
            "certificates": size,
            "per_second": spread(runs, 1),
            "stage_seconds": over_repeats(stage_runs),
            "stage_share": {k: round(v, 3) for k, v in shares.items()},
            "stage_per_second": {k: round(size / statistics.median(s[k] for s in stage_runs), 1) for k in stage_runs[0]},
            "slowest_stage": max(shares, key=lambda k: shares[k]),
            "samples": [chambers[r % len(chambers)].label for r in range(len(runs))],
            "repeats": len(runs),
            "cut_by_time_budget": len(runs) < plan.repeats,
        }
    return results, keep


# -- profiles ----------------------------------------------------------------------------------


def profile_summary(profile: cProfile.Profile, named: Sequence[tuple[str, str, str]], top: int = 12) -> dict[str, Any]:
    """Top functions by own time, and the cumulative share of named functions (file suffix, name)."""
    stats = pstats.Stats(profile)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]

    def where(key: tuple[str, int, str]) -> str:
        filename, line, name = key
        short = filename
        for marker in ("site-packages/", "src/", "lib/python"):
            if marker in filename:
                short = filename.split(marker, 1)[1]
                break
        return f"{short}:{line}({name})"

    by_own = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    named_out = {}
    for suffix, name, label in named:
        cumulative = sum(v[3] for k, v in raw.items() if k[2] == name and k[0].endswith(suffix))
        named_out[label] = round(cumulative / total, 3) if total else 0.0
    return {
        "total_seconds": round(total, 3),
        "top_own_time": [
            {"function": where(k), "calls": v[1], "own_share": round(v[2] / total, 3), "cumulative_share": round(v[3] / total, 3)}
            for k, v in by_own
        ],
        "named_cumulative_share": named_out,
    }


ISSUE_FUNCTIONS = (
    ("validation.py", "validate_certificate", "validate_certificate"),
    ("protocol.py", "prepare", "protocol.prepare (salt, JCS, keccak)"),
    ("canonical.py", "canonicalize", "canonical.canonicalize (RFC 8785)"),
    ("signers.py", "sign_digest", "LocalSigner.sign_digest (ECDSA)"),
    ("registry.py", "anchor", "Registry.anchor (transaction)"),
    ("protocol.py", "build_document", "protocol.build_document"),
    ("_cli_certificates.py", "_write_documents", "write documents (json.dumps + files)"),
)

VERIFY_FUNCTIONS = (
    ("verify.py", "_check_format", "verify._check_format (incl. validate_certificate)"),
    ("validation.py", "validate_certificate", "validate_certificate"),
    ("protocol.py", "compute_leaf", "protocol.compute_leaf (JCS + keccak)"),
    ("protocol.py", "recover_signer", "protocol.recover_signer (ECDSA recover)"),
    ("protocol.py", "typed_data", "protocol.typed_data"),
    ("protocol.py", "certificate_digest", "protocol.certificate_digest"),
    ("registry.py", "verify_certificates", "Registry.verify_certificates (eth_call)"),
    ("verify.py", "report", "building the report"),
)

SERVICE_ISSUE_FUNCTIONS = (
    ("issuance.py", "create", "Issuance.create (request: validate, hash, sign, insert)"),
    ("validation.py", "validate_certificate", "validate_certificate"),
    ("protocol.py", "prepare", "protocol.prepare"),
    ("signers.py", "sign_digest", "LocalSigner.sign_digest (ECDSA)"),
    ("store.py", "insert_certificates", "Store.insert_certificates"),
    ("store.py", "get_certificate", "Store.get_certificate (reload after insert)"),
    ("api_issuer.py", "summary", "api_issuer.summary (response)"),
    ("worker.py", "run_once", "AnchoringWorker.run_once (batch + anchor + finish)"),
    ("store.py", "pending", "Store.pending"),
    ("registry.py", "anchor", "Registry.anchor (transaction)"),
    ("protocol.py", "build_document", "protocol.build_document"),
    ("store.py", "finish_batch", "Store.finish_batch"),
)

SERVICE_VERIFY_FUNCTIONS = (
    ("api_public.py", "verify_one", "api_public.verify_one (whole view)"),
    ("http.py", "json_body", "http.json_body (strict JSON parse)"),
    ("verify.py", "verify_many", "Verifier.verify_many"),
    ("validation.py", "validate_certificate", "validate_certificate"),
    ("protocol.py", "compute_leaf", "protocol.compute_leaf"),
    ("protocol.py", "recover_signer", "protocol.recover_signer (ECDSA recover)"),
    ("registry.py", "verify_certificates", "Registry.verify_certificates (eth_call)"),
    ("api_public.py", "report_json", "api_public.report_json"),
    ("json/provider.py", "response", "flask jsonify"),
)


def profile_library(
    registry: Registry, chamber: Chamber, documents: list[dict[str, Any]], plan: Plan, out: Path
) -> dict[str, Any]:
    size = plan.profile_size
    issue = cProfile.Profile()
    issue.enable()
    library_issue_once(registry, chamber, size, f"PROF{size}", out)
    issue.disable()
    verifier = Verifier.for_registry(registry, registry.chain_id)
    verify = cProfile.Profile()
    verify.enable()
    for document in (documents * (size // max(1, len(documents)) + 1))[:size]:
        verifier.verify(document)
    verify.disable()
    return {
        "issuance": {"certificates": size, **profile_summary(issue, ISSUE_FUNCTIONS)},
        "verification_sequential": {"documents": size, **profile_summary(verify, VERIFY_FUNCTIONS)},
    }


# -- 3. verification through the library -------------------------------------------------------


def bench_library_verification(
    registry: Registry, documents: list[dict[str, Any]], plan: Plan, rpc: RpcCounter
) -> dict[str, Any]:
    verifier = Verifier.for_registry(registry, registry.chain_id)
    docs = (documents * (plan.verify_sequential // len(documents) + 1))[: plan.verify_sequential]
    for document in docs[:5]:  # warm-up
        assert verifier.verify(document).valid
    runs, calls = [], 0
    rpc.mark()
    for r in range(plan.repeats):
        latencies = []
        t0 = time.perf_counter()
        for document in docs:
            start = time.perf_counter()
            report = verifier.verify(document)
            latencies.append(time.perf_counter() - start)
            if not report.valid:
                raise RuntimeError(f"sample document not VALID: {report.verdict} {report.failed_check}")
        elapsed = time.perf_counter() - t0
        calls += len(docs)
        runs.append({"per_second": len(docs) / elapsed, **latency_ms(latencies)})
        log(f"library verification, sequential, repeat {r + 1}: {len(docs) / elapsed:,.0f}/s")
    counted = rpc.counts()
    sequential = {"documents": len(docs), **over_repeats(runs), "rpc_per_verification": _per(counted, calls)}

    size = plan.verify_batch_size
    batch_docs = (documents * (size * plan.verify_batches // len(documents) + 1))[: size * plan.verify_batches]
    runs, certs = [], 0
    rpc.mark()
    for r in range(plan.repeats):
        latencies = []
        t0 = time.perf_counter()
        for i in range(plan.verify_batches):
            start = time.perf_counter()
            reports = verifier.verify_many(batch_docs[i * size : (i + 1) * size])
            latencies.append(time.perf_counter() - start)
            if not all(rep.valid for rep in reports):
                raise RuntimeError("a sample document in a batch is not VALID")
        elapsed = time.perf_counter() - t0
        certs += len(batch_docs)
        runs.append({"per_second": len(batch_docs) / elapsed, **latency_ms(latencies)})
        log(f"library verification, batches of {size}, repeat {r + 1}: {len(batch_docs) / elapsed:,.0f}/s")
    counted = rpc.counts()
    batches = {
        "batch_size": size,
        "batches": plan.verify_batches,
        **over_repeats(runs),
        "latency_is_per_batch": True,
        "rpc_per_certificate": _per(counted, certs),
    }
    return {"sequential": sequential, "batches": batches}


def _per(counts: dict[str, int], divisor: int) -> dict[str, float]:
    return {method: round(n / divisor, 4) for method, n in sorted(counts.items())} | {
        "total": round(sum(counts.values()) / divisor, 4)
    }


# -- the service in its own processes ----------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _status_kb(pid: int, field_name: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


class ServiceProcess:
    """``gunicorn 'ecoo.service:create_app()'`` on 127.0.0.1 with gthread workers."""

    def __init__(self, env: dict[str, str], workers: int, threads: int, log_file: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable, "-m", "gunicorn",
            "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
            "--bind", f"127.0.0.1:{self.port}", "--timeout", "300", "--graceful-timeout", "10",
            "--log-level", "warning", "ecoo.service:create_app()",
        ]  # fmt: skip
        self.command = command
        with open(log_file, "ab") as output:
            self.process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {log_file}")
            try:
                with urllib.request.urlopen(self.url + "/api/v1/health", timeout=5) as response:
                    if json.loads(response.read())["status"] == "ok":
                        break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(f"the service did not answer within 90 s; see {log_file}")

    def pids(self) -> list[int]:
        return [self.process.pid, *_children(self.process.pid)]

    def rss_kb(self) -> int:
        return sum(_status_kb(pid, "VmRSS") for pid in self.pids())

    def pss_kb(self) -> int:
        """Proportional set size: shared pages counted once across the processes."""
        total = 0
        for pid in self.pids():
            try:
                text = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            match = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
            total += int(match.group(1)) if match else 0
        return total

    def cpu_seconds(self) -> dict[int, float]:
        """User + system CPU seconds of each process so far (/proc/<pid>/stat)."""
        out = {}
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return out

    def hwm_kb(self) -> dict[int, int]:
        return {pid: _status_kb(pid, "VmHWM") for pid in self.pids()}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _cpu_delta(before: dict[int, float], after: dict[int, float]) -> list[float]:
    """CPU seconds each service process spent between two readings, busiest first."""
    return sorted((round(after[pid] - before.get(pid, 0.0), 2) for pid in after), reverse=True)


class RssSampler:
    """Samples the summed VmRSS of the service's processes every 50 ms while running."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.peak_kb = 0
        self.peak_pss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self.service.rss_kb())
            self.peak_pss_kb = max(self.peak_pss_kb, self.service.pss_kb())
            self._stop.wait(0.05)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- the load generator ------------------------------------------------------------------------


@dataclass
class LoadResult:
    elapsed: float
    latencies: list[float]
    statuses: dict[int, int]
    bodies: list[bytes] = field(default_factory=list)


async def _load(
    method: str,
    urls: Sequence[str],
    bodies: Sequence[bytes] | None,
    concurrency: int,
    requests: int,
    headers: dict[str, str],
    keep_bodies: bool,
) -> LoadResult:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    kept: list[bytes] = []
    counter = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=600)) as session:

        async def worker() -> None:
            for i in counter:
                data = bodies[i % len(bodies)] if bodies else None
                start = time.perf_counter()
                async with session.request(method, urls[i % len(urls)], data=data, headers=headers) as response:
                    body = await response.read()
                latencies.append(time.perf_counter() - start)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if keep_bodies:
                    kept.append(body)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return LoadResult(elapsed, latencies, statuses, kept)


def load(
    method: str,
    urls: str | Sequence[str],
    bodies: Sequence[bytes] | None = None,
    *,
    concurrency: int = 1,
    requests: int = 1,
    headers: dict[str, str] | None = None,
    keep_bodies: bool = False,
) -> LoadResult:
    url_list = [urls] if isinstance(urls, str) else list(urls)
    return asyncio.run(_load(method, url_list, bodies, concurrency, requests, headers or {}, keep_bodies))


JSON = {"Content-Type": "application/json"}


def _check_valid(result: LoadResult, expected: int) -> None:
    if result.statuses != {200: len(result.latencies)}:
        raise RuntimeError(f"unexpected HTTP statuses {result.statuses}")
    valid = sum(body.count(b'"verdict":"VALID"') for body in result.bodies)
    if valid != expected:
        raise RuntimeError(f"{valid} VALID verdicts, expected {expected}")


# -- 2b. issuance through the HTTP API ---------------------------------------------------------


@dataclass
class ServiceChamber:
    id: int
    token: str
    address: str
    sample: dict[str, Any]
    label: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def service_env(
    anvil_url: str, registry: str, deployments: Path, data_dir: Path, master_key: str, batch_window: float | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOO_") and k != "DATABASE_URL"}
    env.update(
        {
            "ECOO_RPC_URL": anvil_url,
            "ECOO_REGISTRY": registry,
            "ECOO_DEPLOYMENTS_DIR": str(deployments),
            "ECOO_DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{(data_dir / 'ecoo.db').as_posix()}",
            "ECOO_MASTER_KEY": master_key,
            "ECOO_SECRET_KEY": "bench",
        }
    )
    if batch_window is not None:
        env["ECOO_BATCH_WINDOW"] = str(batch_window)
    return env


def create_service_chambers(env: dict[str, str], samples: list[tuple[str, dict[str, Any]]]) -> list[ServiceChamber]:
    from ecoo.service.cli import create_chamber
    from ecoo.service.config import ServiceSettings

    settings = ServiceSettings.from_env(env, worker=False)
    out = []
    for label, sample in samples:
        issuer = sample["issuer"]
        created = create_chamber(settings, issuer["name"], issuer["country"], issuer["accreditationCode"], dev=True)
        out.append(ServiceChamber(created["chamber"], created["token"], created["address"], sample, label))
    return out


def wait_issued(service: ServiceProcess, chamber: ServiceChamber, timeout: float = 600) -> float:
    """Poll until the chamber has no PENDING certificate; returns the time it was seen empty."""
    url = f"{service.url}/api/v1/certificates?status=PENDING&limit=1"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = urllib.request.Request(url, headers=chamber.auth)
        with urllib.request.urlopen(request, timeout=30) as response:
            if not json.loads(response.read())["certificates"]:
                return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError("certificates still PENDING after the timeout: see the service log")


def bench_http_issuance(
    service: ServiceProcess, chambers: list[ServiceChamber], plan: Plan, concurrency: int, db_url: str, budget: Budget
) -> dict[str, Any]:
    from ecoo.service.store import Store

    store = Store(db_url)
    results: dict[str, Any] = {}
    for size in plan.issue_sizes:
        runs: list[dict[str, float]] = []
        cpu_runs: list[list[float]] = []
        elapsed = 0.0
        while budget.another(len(runs), plan.repeats, elapsed):
            r = len(runs)
            chamber = chambers[r % len(chambers)]
            before = store.counts(chamber.id).get("ISSUED", 0)
            certificates = make_certificates(chamber.sample, f"API{size}-R{r}", size)
            chunk = 1_000
            bodies = [json.dumps({"certificates": certificates[i : i + chunk]}).encode() for i in range(0, size, chunk)]
            cpu_before = service.cpu_seconds()
            t0 = time.perf_counter()
            result = load(
                "POST",
                f"{service.url}/api/v1/certificates/batch",
                bodies,
                concurrency=min(concurrency, len(bodies)),
                requests=len(bodies),
                headers={**JSON, **chamber.auth},
            )
            accepted = time.perf_counter()
            if result.statuses != {202: len(bodies)}:
                raise RuntimeError(f"batch issuance answered {result.statuses}")
            issued = wait_issued(service, chamber)
            elapsed = issued - t0
            cpu_runs.append(_cpu_delta(cpu_before, service.cpu_seconds()))
            after = store.counts(chamber.id).get("ISSUED", 0)
            if after - before != size:
                raise RuntimeError(f"{after - before} certificates ISSUED, expected {size}")
            runs.append(
                {
                    "per_second": size / (issued - t0),
                    "accepted_per_second": size / (accepted - t0),
                    "accept_seconds": accepted - t0,
                    "anchoring_tail_seconds": issued - accepted,
                }
            )
            log(f"HTTP issuance {size:,} ({chamber.label}): {size / (issued - t0):,.0f}/s end to end")
        results[str(size)] = {
            "certificates": size,
            "request_size": min(size, 1_000),
            "request_concurrency": min(concurrency, math.ceil(size / 1_000)),
            **over_repeats(runs),
            "service_cpu_seconds_per_process": cpu_runs,
            "repeats": len(runs),
            "cut_by_time_budget": len(runs) < plan.repeats,
        }
    store.close()
    return results


def profile_service(
    env: dict[str, str], samples: list[tuple[str, dict[str, Any]]], documents: list[dict[str, Any]], plan: Plan
) -> dict[str, Any]:
    """The service's own stages, in process (Flask test client, worker driven by hand), under cProfile."""
    from ecoo.service.app import create_app
    from ecoo.service.config import ServiceSettings

    chamber = create_service_chambers(env, samples[:1])[0]
    app = create_app(ServiceSettings.from_env(env, worker=False))
    client = app.test_client()
    services = app.extensions["ecoo"]
    client.get("/api/v1/health")
    size = plan.profile_size
    body = {"certificates": make_certificates(chamber.sample, "PROFAPI", size)}
    issue = cProfile.Profile()
    issue.enable()
    response = client.post("/api/v1/certificates/batch", json=body, headers=chamber.auth)
    issued = services.worker.run_once(force=True)
    issue.disable()
    if response.status_code != 202 or issued != size:
        raise RuntimeError(f"in-process issuance: {response.status_code}, {issued} issued")
    verify = cProfile.Profile()
    payloads = [json.dumps(d).encode() for d in documents[:size]]
    verify.enable()
    for i in range(size):
        answer = client.post("/api/v1/verify", data=payloads[i % len(payloads)], content_type="application/json")
        if answer.status_code != 200:
            raise RuntimeError(f"in-process verify answered {answer.status_code}")
    verify.disable()
    services.store.close()
    return {
        "issuance": {"certificates": size, **profile_summary(issue, SERVICE_ISSUE_FUNCTIONS)},
        "verification_single": {"documents": size, **profile_summary(verify, SERVICE_VERIFY_FUNCTIONS)},
    }


# -- 3b/4. verification through the HTTP API, with the service's memory -------------------------


def bench_http_verification(
    service: ServiceProcess, documents: list[dict[str, Any]], plan: Plan, rpc: RpcCounter, batch_concurrency: int
) -> dict[str, Any]:
    payloads = [json.dumps(d).encode() for d in documents]
    url = f"{service.url}/api/v1/verify"
    warm = load("POST", url, payloads, concurrency=16, requests=64, headers=JSON, keep_bodies=True)
    _check_valid(warm, 64)
    results: dict[str, Any] = {"single": {}}
    rss_idle = service.rss_kb()
    with RssSampler(service) as sampler:
        for concurrency, requests in sorted(plan.http_requests.items()):
            runs = []
            cpu_runs = []
            rpc.mark()
            for r in range(plan.repeats):
                cpu_before = service.cpu_seconds()
                result = load("POST", url, payloads, concurrency=concurrency, requests=requests, headers=JSON, keep_bodies=True)
                cpu_runs.append(_cpu_delta(cpu_before, service.cpu_seconds()))
                _check_valid(result, requests)
                runs.append({"per_second": requests / result.elapsed, **latency_ms(result.latencies)})
                log(
                    f"HTTP verify c={concurrency}, repeat {r + 1}: {requests / result.elapsed:,.0f}/s, p99 {runs[-1]['p99']:.1f} ms"
                )
            counted = rpc.counts()
            results["single"][str(concurrency)] = {
                "concurrency": concurrency,
                "requests": requests,
                **over_repeats(runs),
                "rpc_per_verification": _per(counted, requests * plan.repeats),
                "service_cpu_seconds_per_process": cpu_runs,
            }
        size = plan.http_batch_size
        batch_bodies = [
            json.dumps({"documents": [documents[(i * size + j) % len(documents)] for j in range(size)]}).encode()
            for i in range(max(1, len(documents) // size))
        ]
        runs = []
        cpu_runs = []
        rpc.mark()
        for r in range(plan.repeats):
            cpu_before = service.cpu_seconds()
            result = load(
                "POST",
                f"{service.url}/api/v1/verify/batch",
                batch_bodies,
                concurrency=batch_concurrency,
                requests=plan.http_batch_requests,
                headers=JSON,
                keep_bodies=True,
            )
            _check_valid(result, size * plan.http_batch_requests)
            cpu_runs.append(_cpu_delta(cpu_before, service.cpu_seconds()))
            runs.append({"per_second": size * plan.http_batch_requests / result.elapsed, **latency_ms(result.latencies)})
            log(f"HTTP verify batch of {size}, repeat {r + 1}: {runs[-1]['per_second']:,.0f} certificates/s")
        counted = rpc.counts()
        results["batch"] = {
            "batch_size": size,
            "concurrency": batch_concurrency,
            "requests": plan.http_batch_requests,
            **over_repeats(runs),
            "latency_is_per_batch": True,
            "rpc_per_certificate": _per(counted, size * plan.http_batch_requests * plan.repeats),
            "service_cpu_seconds_per_process": cpu_runs,
        }
    hwm = service.hwm_kb()
    memory = {
        "processes": len(hwm),
        "rss_idle_mb": round(rss_idle / 1024, 1),
        "peak_rss_sum_mb": round(sampler.peak_kb / 1024, 1),
        "peak_pss_sum_mb": round(sampler.peak_pss_kb / 1024, 1),
        "vmhwm_sum_mb": round(sum(hwm.values()) / 1024, 1),
        "vmhwm_per_process_mb": [round(v / 1024, 1) for v in hwm.values()],
        "note": "peak_rss_sum: summed VmRSS of the gunicorn master and workers, sampled every 50 ms during the "
        "verification load; peak_pss_sum: the same for the proportional set size (pages shared between the processes "
        "counted once); vmhwm: each process's own high-water mark (the service was started fresh for this load)",
    }
    memory["import_footprint_mb"] = import_footprint()
    return {"http": results, "memory": memory}


IMPORT_FOOTPRINT = """
import json, re, sys
from pathlib import Path

def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024

steps = [("python", rss())]
for name in sys.argv[1:]:
    __import__(name)
    steps.append((name, rss()))
from ecoo.service.app import create_app
from ecoo.service.config import ServiceSettings
import base64, os, tempfile
tmp = tempfile.mkdtemp()
env = {"ECOO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(), "ECOO_DATA_DIR": tmp, "ECOO_WORKER": "0",
       "ECOO_RPC_URL": "http://127.0.0.1:9"}
create_app(ServiceSettings.from_env(env))
steps.append(("create_app()", rss()))
print(json.dumps(steps))
"""

#: Imported in this order by a fresh interpreter to see what a service worker's RSS is made of.
IMPORT_ORDER = [
    "flask",
    "sqlalchemy",
    "requests",
    "web3",
    "cryptography.hazmat.primitives.ciphers.aead",
    "jsonschema",
    "ecoo.validation",
    "ecoo.verify",
    "ecoo.service.app",
    "ecoo.pdf",
]


def import_footprint() -> dict[str, float]:
    """RSS added by each import of a fresh interpreter (MB), in IMPORT_ORDER; ecoo.pdf (fpdf2, pypdf,
    fonts) is imported by the service only when a PDF is rendered or read."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_FOOTPRINT, *IMPORT_ORDER], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    if done.returncode != 0:
        return {"error": done.stderr[-500:]}  # type: ignore[dict-item]
    steps = json.loads(done.stdout.strip().splitlines()[-1])
    out, previous = {}, 0.0
    for name, mb in steps:
        out[name] = round(mb - previous, 1)
        previous = mb
    out["total"] = round(previous, 1)
    return out


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


# -- the report --------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _mmm(fig: dict[str, Any], digits: int = 0) -> str:
    return f"{_fmt(fig['min'], digits)} / **{_fmt(fig['median'], digits)}** / {_fmt(fig['max'], digits)}"


def _split(row: dict[str, Any]) -> str:
    """How the service's CPU time divided between its two busiest processes, per run (e.g. 50/50)."""
    parts = []
    for cpu in row["service_cpu_seconds_per_process"]:
        top = cpu[:2]
        total = sum(top) or 1.0
        parts.append("/".join(f"{100 * c / total:.0f}" for c in top))
    return ", ".join(parts)


def _runs(row: dict[str, Any]) -> str:
    return f"{row['repeats']}" + (" (time budget)" if row["cut_by_time_budget"] else "")


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []

    def add(name: str, required: str, measured: float, met: bool, miss: str) -> None:
        out.append(
            {"target": name, "required": required, "measured": round(measured, 3), "met": met, "miss": "" if met else miss}
        )

    lib = results["issuance"]["library"]
    largest = lib[str(max(int(k) for k in lib))]
    rate = largest["per_second"]["median"]
    add(
        f"issuance, library, {largest['certificates']:,}-certificate batch",
        "≥ 3,000/s",
        rate,
        rate >= TARGETS["issuance_library_10k_per_s"],
        f"{TARGETS['issuance_library_10k_per_s'] / rate:.1f}× too slow",
    )
    seq = results["verification"]["library"]["sequential"]
    calls = seq["rpc_per_verification"].get("eth_call", 0)
    add("eth_call per verification (single)", "1", calls, calls == 1 and seq["rpc_per_verification"]["total"] == 1, f"{calls}")
    batch = results["verification"]["library"]["batches"]
    per = batch["rpc_per_certificate"]["total"]
    add(f"JSON-RPC requests per certificate in batches of {batch['batch_size']}", "< 1", per, per < 1, f"{per}")
    rate = seq["per_second"]["median"]
    add("verification, library, sequential", "≥ 1,000/s", rate, rate >= 1_000, f"{1_000 / rate:.1f}× too slow")
    rate = batch["per_second"]["median"]
    add("verification, library, batches", "≥ 5,000/s", rate, rate >= 5_000, f"{5_000 / rate:.1f}× too slow")
    c16 = results["verification"]["http"]["single"].get("16")
    if c16:
        rate = c16["per_second"]["median"]
        add("verification, HTTP, concurrency 16", "≥ 500/s", rate, rate >= 500, f"{500 / rate:.1f}× too slow")
        p99 = c16["p99"]["median"]
        add("verification, HTTP, concurrency 16, p99", "≤ 50 ms", p99, p99 <= 50, f"{p99 / 50:.1f}× too slow")
    rate = results["verification"]["http"]["batch"]["per_second"]["median"]
    add("verification, HTTP batch endpoint", "≥ 3,000/s", rate, rate >= 3_000, f"{3_000 / rate:.1f}× too slow")
    rss = results["memory"]["peak_rss_sum_mb"]
    add("service RSS under verification load", "≤ 200 MB", rss, rss <= 200, f"{rss - 200:.0f} MB over")
    return out


def render(results: dict[str, Any]) -> str:
    m, v = results["machine"], results["versions"]
    lines = [
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB, Linux {m['kernel']}; "
        f"Python {v['python']}, web3 {v['packages']['web3']}, {v['anvil']}, eth-keys backend {v['eth_keys_backend']}; "
        f"ecoo {v['ecoo_commit']}; mode {results['mode']}, {results['plan']['repeats']} repeat(s); "
        f"{results['wall_seconds']:.0f} s.",
        "",
        "### Gas (receipts; views: eth_estimateGas) — min / **median** / max",
        "",
        "| operation | ecoo | floor: bare mapping write | floor: packed slot + event | ecoo ÷ bare | ecoo ÷ packed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in results["gas"]["operations"].items():
        lines.append(
            f"| {name} | {_mmm(row['ecoo'])} | {_fmt(row['floor_bare']['median'])} | {_fmt(row['floor_packed_event']['median'])} "
            f"| {row['ratio_to_bare']:.2f} | {row['ratio_to_packed_event']:.2f} |"
        )
    lines += [
        "",
        "### Issuance (end to end: validate, hash, sign, batch, anchor, store) — certificates/s, min / **median** / max",
        "",
        "| path | certificates | runs | per second | slowest stage (share) |",
        "|---|---:|---:|---:|---|",
    ]
    for size, row in results["issuance"]["library"].items():
        slow = row["slowest_stage"]
        lines.append(
            f"| library (`CertificateIssuer.issue` + files) | {int(size):,} | {_runs(row)} | {_mmm(row['per_second'])} "
            f"| {slow} ({row['stage_share'][slow]:.0%}) |"
        )
    for size, row in results["issuance"]["http"].items():
        lines.append(
            f"| HTTP `POST /certificates/batch` ({row['request_size']:,}/request, {row['request_concurrency']} in flight) "
            f"until all ISSUED | {int(size):,} | {_runs(row)} | "
            f"{_mmm(row['per_second'])} | accepting {row['accept_seconds']['median']:.1f} s, anchoring tail "
            f"{row['anchoring_tail_seconds']['median']:.1f} s |"
        )
    biggest = results["issuance"]["library"][max(results["issuance"]["library"], key=int)]
    lines += [
        "",
        f"Library stages at {biggest['certificates']:,} certificates (median share of the time, rate of that stage alone):",
        "",
    ]
    lines += ["| stage | share | stage alone, per second |", "|---|---:|---:|"]
    for key, label in LIBRARY_STAGES:
        lines.append(f"| {key}: {label} | {biggest['stage_share'][key]:.1%} | {_fmt(biggest['stage_per_second'][key])} |")
    lines += [
        "",
        "### Verification — per second and latency (ms), min / **median** / max",
        "",
        "| path | per second | p50 | p95 | p99 | JSON-RPC requests per certificate | service CPU split between workers, per run |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    lib = results["verification"]["library"]
    seq, bat = lib["sequential"], lib["batches"]

    def rpc(counts: dict[str, float]) -> str:
        return ", ".join(f"{k} {val:g}" for k, val in counts.items() if k != "total") or "0"

    lines.append(
        f"| library, sequential single documents | {_mmm(seq['per_second'])} | {_mmm(seq['p50'], 2)} | {_mmm(seq['p95'], 2)} "
        f"| {_mmm(seq['p99'], 2)} | {rpc(seq['rpc_per_verification'])} | |"
    )
    lines.append(
        f"| library, batches of {bat['batch_size']} (latency per batch) | {_mmm(bat['per_second'])} | {_mmm(bat['p50'], 1)} "
        f"| {_mmm(bat['p95'], 1)} | {_mmm(bat['p99'], 1)} | {rpc(bat['rpc_per_certificate'])} | |"
    )
    http = results["verification"]["http"]
    for conc, row in http["single"].items():
        lines.append(
            f"| HTTP `POST /verify`, concurrency {conc} | {_mmm(row['per_second'])} | {_mmm(row['p50'], 1)} | {_mmm(row['p95'], 1)} "
            f"| {_mmm(row['p99'], 1)} | {rpc(row['rpc_per_verification'])} | {_split(row)} |"
        )
    row = http["batch"]
    lines.append(
        f"| HTTP `POST /verify/batch`, {row['batch_size']} per request, concurrency {row['concurrency']} (latency per request) "
        f"| {_mmm(row['per_second'])} | {_mmm(row['p50'], 1)} | {_mmm(row['p95'], 1)} | {_mmm(row['p99'], 1)} "
        f"| {rpc(row['rpc_per_certificate'])} | {_split(row)} |"
    )
    mem = results["memory"]
    lines += [
        "",
        f"### Memory: service ({mem['processes']} processes) peak RSS under the verification load "
        f"**{mem['peak_rss_sum_mb']:.0f} MB** summed RSS, {mem['peak_pss_sum_mb']:.0f} MB PSS "
        f"(idle {mem['rss_idle_mb']:.0f} MB RSS; per-process high-water marks "
        f"{', '.join(f'{x:.0f}' for x in mem['vmhwm_per_process_mb'])} MB)",
        "",
        "What one interpreter's RSS is made of (MB added by each import, in this order): "
        + ", ".join(f"{name} {mb:g}" for name, mb in mem["import_footprint_mb"].items()),
        "",
        "### Growth — p50 latency in ms (median of repeats) by certificates in the store",
        "",
    ]
    growth = results["growth"]
    sizes = [str(s) for s in growth["sizes"]]
    lines.append("| query | " + " | ".join(f"{int(s):,}" for s in sizes) + " | largest ÷ smallest |")
    lines.append("|---|" + "---:|" * (len(sizes) + 1))
    for name, by_size in growth["queries"].items():
        cells = " | ".join(f"{by_size[s]['p50']['median']:.2f}" for s in sizes)
        lines.append(f"| {name} | {cells} | {growth['p50_ratio_largest_to_smallest'][name]:.2f} |")
    lines += [
        "",
        "### Targets",
        "",
        "| target | required | measured (median) | met | miss |",
        "|---|---|---:|---|---|",
    ]
    for t in results["targets"]:
        lines.append(
            f"| {t['target']} | {t['required']} | {t['measured']:,.4g} | {'yes' if t['met'] else '**no**'} | {t['miss']} |"
        )
    if results.get("warning"):
        lines.insert(0, f"**WARNING: {results['warning']}: these figures mix two versions.**\n")
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------


@contextmanager
def phase(name: str, timings: dict[str, float]) -> Iterator[None]:
    log(f"{name} ...")
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 1)
    log(f"{name} done in {timings[name]:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run with tiny sizes (CI); the figures mean nothing")
    parser.add_argument("--json", type=Path, default=ROOT / ".ecoo" / "bench.json", help="where to write the JSON results")
    parser.add_argument("--repeats", type=int, default=None, help="repeats of every timing figure (default 3; quick 1)")
    parser.add_argument(
        "--no-budget", action="store_true", help="make every repeat of the 10,000-certificate issuance runs, however long"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (default 8)")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.repeats:
        plan = Plan(**{**asdict(plan), "repeats": args.repeats})
    if args.no_budget:
        plan = Plan(**{**asdict(plan), "issuance_budget": None})

    started = time.perf_counter()
    timings: dict[str, float] = {}
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "command": " ".join(["python", "scripts/bench.py", *sys.argv[1:]]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "plan": asdict(plan),
        "service": {
            "server": "gunicorn gthread",
            "workers": args.workers,
            "threads": args.threads,
            "database": "SQLite (the default)",
            "ECOO_BATCH_SIZE": 100,
            "ECOO_BATCH_WINDOW": plan.batch_window if plan.batch_window is not None else 2.0,
        },
        "targets_required": TARGETS,
        "openattestation_reference": OPENATTESTATION,
    }
    samples = load_samples()
    with tempfile.TemporaryDirectory(prefix="ecoo-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with phase("compile floor contracts", timings):
            floor, solc = compile_floor()
        results["versions"] = versions(solc)
        anvil = ManagedAnvil(None, log_file=tmp / "anvil.log")
        with anvil:
            rpc = RpcCounter(tmp / "anvil.log")
            w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 120}))
            dev_signer = unlocked_signer(w3)
            dev = w3.eth.accounts[0]
            deployments = tmp / "deployments"
            deployment, _ = deploy_registry(w3, dev_signer, deployments_dir=deployments, reuse=False)
            registry = Registry(w3, deployment.address)
            chambers = []
            for label, sample in samples:
                signer = LocalSigner(Account.create())
                fund(w3, dev, signer.address)
                issuer = sample["issuer"]
                registry.accredit_issuer(
                    dev_signer,
                    signer.address,
                    name=issuer["name"],
                    country=issuer["country"],
                    accreditation_code=issuer["accreditationCode"],
                )
                chambers.append(Chamber(signer, sample, label))

            with phase("gas", timings):
                results["gas"] = bench_gas(w3, registry, dev, chambers[0].signer, floor, plan)

            with phase("issuance through the library", timings):
                library_issuance, documents = bench_library_issuance(
                    registry, chambers, plan, tmp / "issued", Budget(plan.issuance_budget)
                )

            with phase("verification through the library", timings):
                library_verification = bench_library_verification(registry, documents, plan, rpc)

            with phase("profiles (library)", timings):
                library_profiles = profile_library(registry, chambers[0], documents, plan, tmp / "issued")

            master_key = base64.b64encode(secrets.token_bytes(32)).decode()
            data_dir = tmp / "service"
            env = service_env(anvil.url, registry.address, deployments, data_dir, master_key, plan.batch_window)
            db_url = env["DATABASE_URL"]

            def start_service(environment: dict[str, str] = env) -> ServiceProcess:
                return ServiceProcess(environment, args.workers, args.threads, tmp / "gunicorn.log")

            with phase("issuance through the HTTP API", timings):
                service_chambers = create_service_chambers(env, samples)
                service = start_service()
                try:
                    with RssSampler(service) as issuing_rss:
                        http_issuance = bench_http_issuance(
                            service, service_chambers, plan, args.workers, db_url, Budget(plan.issuance_budget)
                        )
                finally:
                    service.stop()

            with phase("verification through the HTTP API (fresh service processes)", timings):
                service = start_service()
                try:
                    http_verification = bench_http_verification(service, documents, plan, rpc, 2 * args.workers)
                finally:
                    service.stop()

            with phase("profiles (service, in process)", timings):
                profile_env = service_env(
                    anvil.url, registry.address, deployments, tmp / "profile", master_key, plan.batch_window
                )
                service_profiles = profile_service(profile_env, samples, documents, plan)

            with phase("growth", timings):
                growth_env = service_env(anvil.url, registry.address, deployments, tmp / "growth", master_key, plan.batch_window)
                results["growth"] = bench_growth(
                    lambda: start_service(growth_env),
                    growth_env,
                    samples,
                    plan,
                    growth_env["DATABASE_URL"],
                    tmp / "growth" / "ecoo.db",
                )

    results["issuance"] = {
        "library": library_issuance,
        "http": http_issuance,
        "http_peak_rss_sum_mb": round(issuing_rss.peak_kb / 1024, 1),
    }
    results["verification"] = {"library": library_verification, "http": http_verification["http"]}
    results["memory"] = http_verification["memory"]
    results["profiles"] = {"library": library_profiles, "service": service_profiles}
    results["targets"] = evaluate_targets(results)
    results["phase_seconds"] = timings
    if code_state() != results["versions"]["ecoo_commit"]:
        results["warning"] = f"the code changed during the run ({results['versions']['ecoo_commit']} -> {code_state()})"
        log("WARNING: " + results["warning"])
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    table = render(results)
    results["table_markdown"] = table
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table)
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
