"""Phases 2 and 3: issuance and verification through the library, and their profiles."""

from __future__ import annotations

import cProfile
import pstats
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ecoo.files import write_documents
from ecoo.issuing import CertificateIssuer
from ecoo.registry import Registry
from ecoo.verify import Verifier

from .common import Plan, RpcCounter, latency_ms, log, over_repeats, spread
from .setup import Chamber, make_certificates

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
    write_documents(batch.documents, out / prefix)
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
    ("validation/certificate.py", "validate_certificate", "validate_certificate"),
    ("protocol.py", "prepare", "protocol.prepare (salt, JCS, keccak)"),
    ("canonical.py", "canonicalize", "canonical.canonicalize (RFC 8785)"),
    ("signers.py", "sign_digest", "LocalSigner.sign_digest (ECDSA)"),
    ("registry/client.py", "anchor", "Registry.anchor (transaction)"),
    ("protocol.py", "build_document", "protocol.build_document"),
    ("files.py", "write_documents", "write documents (json.dumps + files)"),
)

VERIFY_FUNCTIONS = (
    ("verify.py", "_check_format", "verify._check_format (incl. validate_certificate)"),
    ("validation/certificate.py", "validate_certificate", "validate_certificate"),
    ("protocol.py", "compute_leaf", "protocol.compute_leaf (JCS + keccak)"),
    ("protocol.py", "recover_signer", "protocol.recover_signer (ECDSA recover)"),
    ("protocol.py", "typed_data", "protocol.typed_data"),
    ("protocol.py", "certificate_digest", "protocol.certificate_digest"),
    ("registry/client.py", "verify_certificates", "Registry.verify_certificates (eth_call)"),
    ("verify.py", "report", "building the report"),
)

SERVICE_ISSUE_FUNCTIONS = (
    ("issuance.py", "create", "Issuance.create (request: validate, hash, sign, insert)"),
    ("validation/certificate.py", "validate_certificate", "validate_certificate"),
    ("protocol.py", "prepare", "protocol.prepare"),
    ("signers.py", "sign_digest", "LocalSigner.sign_digest (ECDSA)"),
    ("store.py", "insert_certificates", "Store.insert_certificates"),
    ("store.py", "get_certificate", "Store.get_certificate (reload after insert)"),
    ("api_issuer.py", "summary", "api_issuer.summary (response)"),
    ("worker.py", "run_once", "AnchoringWorker.run_once (follow, batch, anchor, follow)"),
    ("store.py", "pending", "Store.pending"),
    ("registry/client.py", "anchor", "Registry.anchor (transaction)"),
    ("protocol.py", "build_document", "protocol.build_document"),
    ("chain_repository.py", "record", "ChainRepository.record (the follower: events and projection)"),
)

SERVICE_VERIFY_FUNCTIONS = (
    ("api_public.py", "verify_one", "api_public.verify_one (whole view)"),
    ("http.py", "json_body", "http.json_body (strict JSON parse)"),
    ("verify.py", "verify_many", "Verifier.verify_many"),
    ("validation/certificate.py", "validate_certificate", "validate_certificate"),
    ("protocol.py", "compute_leaf", "protocol.compute_leaf"),
    ("protocol.py", "recover_signer", "protocol.recover_signer (ECDSA recover)"),
    ("registry/client.py", "verify_certificates", "Registry.verify_certificates (eth_call)"),
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
    sequential = {"documents": len(docs), **over_repeats(runs), "rpc_per_verification": per_unit(counted, calls)}

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
        "rpc_per_certificate": per_unit(counted, certs),
    }
    return {"sequential": sequential, "batches": batches}


def per_unit(counts: dict[str, int], divisor: int) -> dict[str, float]:
    return {method: round(n / divisor, 4) for method, n in sorted(counts.items())} | {
        "total": round(sum(counts.values()) / divisor, 4)
    }
