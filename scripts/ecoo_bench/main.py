"""The command line: runs the phases in order and writes the JSON and the report."""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from ecoo.anvil import ManagedAnvil
from ecoo.deploy import deploy_registry
from ecoo.registry import Registry
from ecoo.signers import LocalSigner, unlocked_signer

from .common import FULL, OPENATTESTATION, QUICK, ROOT, TARGETS, Plan, RpcCounter, code_state, log, machine_info, versions
from .customs import bench_customs
from .floor import compile_floor
from .gas import bench_gas
from .growth import bench_growth
from .http import bench_http_issuance, bench_http_verification, create_service_chambers, profile_service, service_env
from .library import Budget, bench_library_issuance, bench_library_verification, profile_library
from .report import evaluate_targets, render, render_customs
from .service import RssSampler, ServiceProcess
from .setup import Chamber, fund, load_samples

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
    parser.add_argument(
        "--only",
        choices=["customs"],
        default=None,
        help="run only this phase (customs: declarations through the customs service, its own three nodes)",
    )
    parser.add_argument(
        "--customs-block-time",
        type=float,
        default=None,
        help="the customs phase's nodes mine a block every this many seconds (default: one per transaction, at once)",
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.repeats:
        plan = Plan(**{**asdict(plan), "repeats": args.repeats})
    if args.no_budget:
        plan = Plan(**{**asdict(plan), "issuance_budget": None})
    if args.customs_block_time:
        plan = Plan(**{**asdict(plan), "customs_block_time": args.customs_block_time})

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
    if args.only == "customs":
        return customs_only(args, plan, samples, results, timings, started)
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

        with phase("customs declarations (three registries, their own nodes)", timings):
            results["customs"] = bench_customs(tmp, samples, plan, args.workers, args.threads)

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


def customs_only(
    args: argparse.Namespace,
    plan: Plan,
    samples: list[tuple[str, dict[str, Any]]],
    results: dict[str, Any],
    timings: dict[str, float],
    started: float,
) -> int:
    """``--only customs``: the customs phase alone; the JSON and the report hold only it."""
    results["versions"] = versions(None)
    with tempfile.TemporaryDirectory(prefix="ecoo-bench-") as tmp_name:
        with phase("customs declarations (three registries, their own nodes)", timings):
            results["customs"] = bench_customs(Path(tmp_name), samples, plan, args.workers, args.threads)
    results["phase_seconds"] = timings
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    table = render_customs(results)
    results["table_markdown"] = table
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table)
    print(f"\nJSON: {args.json}")
    return 0
