"""Phases 2b, 3b and 4: issuance and verification through the HTTP API, the service's memory and import footprint."""

from __future__ import annotations

import cProfile
import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import ROOT, Plan, RpcCounter, latency_ms, log, over_repeats
from .library import SERVICE_ISSUE_FUNCTIONS, SERVICE_VERIFY_FUNCTIONS, Budget, per_unit, profile_summary
from .service import JSON, RssSampler, ServiceProcess, check_all_valid, cpu_delta, load
from .setup import make_certificates

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
    from ecoo.service.chambers import create_chamber
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
            cpu_runs.append(cpu_delta(cpu_before, service.cpu_seconds()))
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
    check_all_valid(warm, 64)
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
                cpu_runs.append(cpu_delta(cpu_before, service.cpu_seconds()))
                check_all_valid(result, requests)
                runs.append({"per_second": requests / result.elapsed, **latency_ms(result.latencies)})
                log(
                    f"HTTP verify c={concurrency}, repeat {r + 1}: {requests / result.elapsed:,.0f}/s, p99 {runs[-1]['p99']:.1f} ms"
                )
            counted = rpc.counts()
            results["single"][str(concurrency)] = {
                "concurrency": concurrency,
                "requests": requests,
                **over_repeats(runs),
                "rpc_per_verification": per_unit(counted, requests * plan.repeats),
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
            check_all_valid(result, size * plan.http_batch_requests)
            cpu_runs.append(cpu_delta(cpu_before, service.cpu_seconds()))
            runs.append({"per_second": size * plan.http_batch_requests / result.elapsed, **latency_ms(result.latencies)})
            log(f"HTTP verify batch of {size}, repeat {r + 1}: {runs[-1]['per_second']:,.0f} certificates/s")
        counted = rpc.counts()
        results["batch"] = {
            "batch_size": size,
            "concurrency": batch_concurrency,
            "requests": plan.http_batch_requests,
            **over_repeats(runs),
            "latency_is_per_batch": True,
            "rpc_per_certificate": per_unit(counted, size * plan.http_batch_requests * plan.repeats),
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
    "ecoo.pdf.layout",
]


def import_footprint() -> dict[str, float]:
    """RSS added by each import of a fresh interpreter (MB), in IMPORT_ORDER; ecoo.pdf.layout (fpdf2,
    segno, fonts) is imported by the service only when a PDF is rendered."""
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
