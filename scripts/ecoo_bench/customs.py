"""Phase 6 (issue #10): customs declarations through the customs service's HTTP API.

Three registries on three Anvils with their own chain ids (as three exporting countries run
them), a chamber issuing on each, and the customs service of one importing administration (DE)
trusting all three through its trust list, under gunicorn like the chamber service, called with a
real API token. Each declaration presents ``plan.customs_certificates`` certificates dealt round
robin over the registries, with one line each (accepted). Measured twice on the same declarations:

* without a customs key: verification (one batched call per registry), what is utilised read from
  each registry, the lines decided and stored: nothing is sent;
* with a customs key: the same, plus the on-chain records (a receipt per certificate and a
  utilisation per line, each a transaction waited for).

JSON-RPC requests are counted on each node as the rest of the benchmark counts them (RpcCounter,
Anvil's log), by method and by registry; records = with key − without. One declaration with the
key is also profiled in process (cProfile) to say where its time goes.
"""

from __future__ import annotations

import cProfile
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from ecoo.anvil import ManagedAnvil, free_port
from ecoo.deploy import deploy_registry
from ecoo.issuing import CertificateIssuer
from ecoo.registry import Registry
from ecoo.signers import LocalSigner, unlocked_signer

from .common import Plan, RpcCounter, latency_ms, log, over_repeats
from .library import profile_summary
from .service import JSON, ServiceProcess, load
from .setup import Chamber, fund, make_certificates

#: The importing administration and the importer every declaration names (every certificate is
#: rewritten to be for import into DE by this importer, so that every line is accepted).
COUNTRY = "DE"
PORT_OF_ENTRY = "DEHAM"
IMPORTER = {
    "name": "Hansa Fenster GmbH",
    "address": "Am Sandtorkai 12, 20457 Hamburg",
    "country": COUNTRY,
    "identifier": {"scheme": "EORI", "value": "DE123456789012345"},
}
#: One chain id per registry (none is Anvil's default 31337: these nodes are the phase's own).
CHAIN_IDS = (31401, 31402, 31403)
#: Quantity each line declares, in the item's unit (small: certificates are never exhausted).
LINE_QUANTITY = "10"

# -- three registries ----------------------------------------------------------------------------


@dataclass
class CustomsChain:
    """One exporting country's registry, on its own node, with its chamber."""

    node: ManagedAnvil
    registry: Registry
    chamber: Chamber
    rpc: RpcCounter

    @property
    def chain_id(self) -> int:
        return self.node.chain_id

    @property
    def label(self) -> str:
        return f"{self.chain_id} ({self.chamber.sample['issuer']['country']})"


def for_import(sample: dict[str, Any]) -> dict[str, Any]:
    """``sample`` rewritten to be for import into :data:`COUNTRY` by :data:`IMPORTER`."""
    return {**sample, "importCountry": COUNTRY, "importer": dict(IMPORTER)}


@contextmanager
def customs_chains(
    tmp: Path, samples: list[tuple[str, dict[str, Any]]], customs: str, block_time: float | None = None
) -> Iterator[list[CustomsChain]]:
    """One Anvil per sample (chain ids :data:`CHAIN_IDS`; a block every ``block_time`` seconds, else
    one per transaction), a registry on each, the sample's chamber accredited and ``customs``
    granted the customs role of :data:`COUNTRY` (and funded)."""
    mining = ("--block-time", f"{block_time:g}") if block_time else ()
    tmp.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        chains = []
        for chain_id, (label, sample) in zip(CHAIN_IDS, samples, strict=False):
            log_file = tmp / f"anvil-{chain_id}.log"
            node = stack.enter_context(ManagedAnvil(None, log_file=log_file, chain_id=chain_id, extra_args=mining))
            w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 120}))
            dev_signer, dev = unlocked_signer(w3), w3.eth.accounts[0]
            deployment, _ = deploy_registry(w3, dev_signer, deployments_dir=tmp / f"deployments-{chain_id}", reuse=False)
            registry = Registry(w3, deployment.address)
            chamber = LocalSigner(Account.create())
            fund(w3, dev, chamber.address)
            fund(w3, dev, customs)
            issuer = sample["issuer"]
            registry.accredit_issuer(
                dev_signer,
                chamber.address,
                name=issuer["name"],
                country=issuer["country"],
                accreditation_code=issuer["accreditationCode"],
            )
            registry.grant_customs(dev_signer, customs, COUNTRY)
            chains.append(CustomsChain(node, registry, Chamber(chamber, for_import(sample), label), RpcCounter(log_file)))
        yield chains


def issue_pool(chains: list[CustomsChain], per_chain: int) -> list[list[dict[str, Any]]]:
    """``per_chain`` certificates issued and anchored on every chain (one batch each)."""
    pool = []
    for chain in chains:
        certificates = make_certificates(chain.chamber.sample, f"CUS-{chain.chain_id}", per_chain)
        batch = CertificateIssuer(chain.registry, chain.chamber.signer).issue(certificates)
        pool.append(list(batch.documents))
    return pool


def declarations(pool: list[list[dict[str, Any]]], count: int, size: int, prefix: str) -> list[dict[str, Any]]:
    """``count`` declarations of ``size`` certificates each, dealt round robin over the registries
    (no certificate in two declarations), one line per certificate on its first item."""
    today = datetime.now(UTC).date().isoformat()
    taken = [0] * len(pool)
    out = []
    for d in range(count):
        documents = []
        for i in range(size):
            chain = i % len(pool)
            documents.append(pool[chain][taken[chain]])
            taken[chain] += 1
        lines = []
        for i, document in enumerate(documents):
            item = document["certificate"]["items"][0]
            lines.append(
                {
                    "line": i + 1,
                    "certificate": i,
                    "item": item["itemNumber"],
                    "hsCode": item["hsCode"],
                    "quantity": LINE_QUANTITY,
                    "unit": item["quantity"]["unit"],
                    "preference": "BENCH",
                }
            )
        importer = {"name": IMPORTER["name"], "identifier": IMPORTER["identifier"]}
        out.append(
            {
                "reference": f"{prefix}-{d:05d}",
                "importer": importer,
                "portOfEntry": PORT_OF_ENTRY,
                "date": today,
                "certificates": documents,
                "lines": lines,
            }
        )
    return out


def trust_list(chains: list[CustomsChain], path: Path) -> Path:
    from ecoo.trustlist import TrustEntry, TrustList, write_trust_list
    from ecoo.trustlist.document import format_moment

    entries = tuple(
        TrustEntry(
            chain_id=chain.chain_id,
            registry=chain.registry.address,
            rpc_urls=(chain.node.url,),
            authority_name=f"Authority of {chain.chamber.sample['issuer']['country']} (bench)",
            authority_country=chain.chamber.sample["issuer"]["country"],
            valid_from="2026-01-01",
        )
        for chain in chains
    )
    now = format_moment(datetime.now(UTC))
    return write_trust_list(TrustList(name="Customs of Germany (bench)", sequence=1, issued=now, entries=entries), path)


# -- the customs service -------------------------------------------------------------------------


def customs_env(trust: Path, data_dir: Path, key: str | None) -> dict[str, str]:
    """The customs service's environment: background work off (the watcher would add its own
    JSON-RPC requests to the counts), the key file only when ``key`` is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOO_") and k != "DATABASE_URL"}
    data_dir.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "ECOO_TRUST_LIST": str(trust),
            "ECOO_CUSTOMS_COUNTRY": COUNTRY,
            "ECOO_DATA_DIR": str(data_dir),
            "ECOO_WORKER": "0",
            "ECOO_SECRET_KEY": "bench",
        }
    )
    if key is not None:
        key_file = data_dir / "customs.key"
        key_file.write_text(key + "\n", encoding="ascii")
        key_file.chmod(0o600)
        env["ECOO_CUSTOMS_KEY_FILE"] = str(key_file)
    return env


def officer_token(env: dict[str, str]) -> str:
    """An officer's API token, made in the service's database as ``ecoo customs token`` makes it."""
    from ecoo.customs.accounts import OFFICER, create_token
    from ecoo.customs.config import customs_database_url
    from ecoo.customs.wiring import open_database

    db = open_database(customs_database_url(env))
    try:
        with db.transaction() as conn:
            _, token = create_token(conn, "bench system", OFFICER)
    finally:
        db.close()
    return token


class CustomsProcess(ServiceProcess):
    """``gunicorn 'ecoo.customs.app:create_customs_app()'``: ServiceProcess's measuring and stopping,
    the customs application (ServiceProcess starts the chamber service's factory only)."""

    APP = "ecoo.customs.app:create_customs_app()"

    def __init__(self, env: dict[str, str], workers: int, threads: int, log_file: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [
            sys.executable, "-m", "gunicorn",
            "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
            "--bind", f"127.0.0.1:{self.port}", "--timeout", "300", "--graceful-timeout", "10",
            "--log-level", "warning", self.APP,
        ]  # fmt: skip
        with open(log_file, "ab") as output:
            self.process = subprocess.Popen(
                self.command, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn (customs) exited with {self.process.returncode}; see {log_file}")
            try:
                with urllib.request.urlopen(self.url + "/api/v1/health", timeout=5) as response:
                    if json.loads(response.read())["status"] == "ok":
                        return
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the customs service did not answer within 90 s; see {log_file}")


# -- measuring -----------------------------------------------------------------------------------


def check_answers(bodies: list[bytes], lines: int, signed: bool) -> None:
    """Every declaration accepted, every line accepted, and with a key every record confirmed."""
    for body in bodies:
        answer = json.loads(body)
        if answer.get("outcome") != "accepted" or len(answer["lines"]) != lines:
            raise RuntimeError(f"declaration not accepted: {body[:2000]!r}")
        states = {line["record"]["state"] for line in answer["lines"]}
        if states != ({"confirmed"} if signed else {"not_sent"}):
            raise RuntimeError(f"record states {states}, signed={signed}: {body[:2000]!r}")


def per_declaration(counts: dict[str, int], count: int) -> dict[str, float]:
    return {method: round(n / count, 2) for method, n in sorted(counts.items())} | {
        "total": round(sum(counts.values()) / count, 2)
    }


def run_declarations(
    service: ServiceProcess, token: str, warm: bytes, bodies: list[list[bytes]], chains: list[CustomsChain], signed: bool
) -> dict[str, Any]:
    """One warm-up declaration, then each repeat's declarations one after the other."""
    url = f"{service.url}/api/v1/declarations"
    headers = {**JSON, "Authorization": f"Bearer {token}"}
    lines = len(json.loads(warm)["lines"])
    first = load("POST", url, [warm], headers=headers, keep_bodies=True)
    if first.statuses != {201: 1}:
        raise RuntimeError(f"warm-up declaration answered {first.statuses}: {first.bodies[0][:2000]!r}")
    check_answers(first.bodies, lines, signed)
    runs = []
    for chain in chains:
        chain.rpc.mark()
    for r, repeat in enumerate(bodies):
        result = load("POST", url, repeat, concurrency=1, requests=len(repeat), headers=headers, keep_bodies=True)
        if result.statuses != {201: len(repeat)}:
            raise RuntimeError(f"declarations answered {result.statuses}")
        check_answers(result.bodies, lines, signed)
        runs.append({"per_second": len(repeat) / result.elapsed, **latency_ms(result.latencies)})
        log(
            f"customs declarations ({'with' if signed else 'without'} key), repeat {r + 1}: "
            f"p50 {runs[-1]['p50']:,.0f} ms, {runs[-1]['per_second']:.2f}/s"
        )
    made = sum(len(repeat) for repeat in bodies)
    by_registry = {chain.label: chain.rpc.counts() for chain in chains}
    by_method: dict[str, int] = {}
    for counts in by_registry.values():
        for method, n in counts.items():
            by_method[method] = by_method.get(method, 0) + n
    return {
        "declarations": made,
        **over_repeats(runs),
        "rpc_per_declaration": per_declaration(by_method, made),
        "rpc_per_declaration_by_registry": {label: per_declaration(c, made) for label, c in by_registry.items()},
    }


def difference(signed: dict[str, float], unsigned: dict[str, float]) -> dict[str, float]:
    return {k: round(signed.get(k, 0) - unsigned.get(k, 0), 2) for k in sorted(set(signed) | set(unsigned))}


PROFILE_FUNCTIONS = (
    ("declarations_http.py", "create_declaration", "declarations_http.create_declaration (whole view)"),
    ("declaration_input.py", "read_declaration", "read_declaration (bounded parse)"),
    ("verify.py", "verify_many", "Verifier.verify_many (trust list, batched per registry)"),
    # Several registries are asked from a thread each, which cProfile (main thread only) does not
    # see: this row is near 0 % and verify_many's share is the time waiting for those threads.
    ("registry/client.py", "verify_certificates", "Registry.verify_certificates (eth_call; main thread only)"),
    ("declarations_http.py", "_read_usage", "_read_usage (getUtilisations per registry)"),
    ("declarations.py", "check_lines", "check_lines (the decisions)"),
    ("declaration_repository.py", "insert_declaration", "insert_declaration"),
    ("verifications.py", "log_verifications", "log_verifications"),
    ("declaration_records.py", "send_records", "send_records (all on-chain records)"),
    ("registry/client.py", "record_receipt", "Registry.record_receipt"),
    ("registry/client.py", "record_utilisation", "Registry.record_utilisation"),
    ("contract.py", "estimate_gas", "estimate_gas"),
    ("transactions.py", "reserve", "NonceManager.reserve (eth_getTransactionCount)"),
    ("contract.py", "build_transaction", "build_transaction (fees, chain id)"),
    ("signers.py", "send", "Signer.send (sign + eth_sendRawTransaction)"),
    ("transactions.py", "_wait", "Transactor._wait (receipt)"),
    ("registries.py", "sender", "CustomsRegistries.sender (eth_blockNumber per record)"),
    ("declaration_repository.py", "update_line_record", "update_line_record (a transaction per state)"),
    ("declaration_repository.py", "update_answer", "update_answer"),
    ("json/provider.py", "response", "flask jsonify"),
)


def profile_declaration(env: dict[str, str], warm: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """One declaration with the customs key, in process (Flask test client), under cProfile, after
    a first one (``warm``) has connected to every node."""
    from ecoo.customs.app import create_customs_app
    from ecoo.customs.config import CustomsSettings

    token = officer_token(env)
    app = create_customs_app(CustomsSettings.from_env(env))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    first = client.post("/api/v1/declarations", json=warm, headers=headers)
    if first.status_code != 201:
        raise RuntimeError(f"in-process declaration answered {first.status_code}: {first.get_data()[:2000]!r}")
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    answer = client.post("/api/v1/declarations", json=body, headers=headers)
    profile.disable()
    elapsed = time.perf_counter() - t0
    if answer.status_code != 201:
        raise RuntimeError(f"in-process declaration answered {answer.status_code}: {answer.get_data()[:2000]!r}")
    check_answers([answer.get_data()], len(body["lines"]), True)
    app.extensions["ecoo_customs"].db.close()
    return {
        "certificates": len(body["certificates"]),
        "wall_seconds": round(elapsed, 3),
        **profile_summary(profile, PROFILE_FUNCTIONS, top=15),
    }


def bench_customs(tmp: Path, samples: list[tuple[str, dict[str, Any]]], plan: Plan, workers: int, threads: int) -> dict[str, Any]:
    size, count, repeats = plan.customs_certificates, plan.customs_declarations, plan.repeats
    key = Account.create()
    # Every declaration once in each mode (+1 warm-up), +2 for the profile (and its warm-up): no
    # certificate is declared twice with the key, so every record is a certificate's first.
    wanted = count * repeats + 3
    with customs_chains(tmp / "customs", samples, key.address, plan.customs_block_time) as chains:
        t0 = time.perf_counter()
        per_chain = wanted * -(-size // len(chains))  # the first registries take one more when it does not divide
        pool = issue_pool(chains, per_chain)
        log(
            f"customs: {per_chain * len(chains):,} certificates issued on {len(chains)} registries in {time.perf_counter() - t0:.1f} s"
        )
        made = declarations(pool, wanted, size, "DE-IMP-BENCH")
        encoded = [json.dumps(d).encode() for d in made]
        warm, profiled = encoded[0], made[-2:]
        bodies = [encoded[1 + r * count : 1 + (r + 1) * count] for r in range(repeats)]
        trust = trust_list(chains, tmp / "customs" / "trust-list.json")
        results: dict[str, Any] = {}
        for name, signing in (("without_key", None), ("with_key", "0x" + bytes(key.key).hex())):
            env = customs_env(trust, tmp / "customs" / name, signing)
            token = officer_token(env)
            service = CustomsProcess(env, workers, threads, tmp / "customs" / "gunicorn.log")
            try:
                results[name] = run_declarations(service, token, warm, bodies, chains, signing is not None)
            finally:
                service.stop()
        profile_env = customs_env(trust, tmp / "customs" / "profile", "0x" + bytes(key.key).hex())
        profile = profile_declaration(profile_env, *profiled)
        spread_per_registry = [sum(1 for i in range(size) if i % len(chains) == c) for c in range(len(chains))]
    signed, unsigned = results["with_key"], results["without_key"]
    p50_signed, p50_unsigned = signed["p50"]["median"], unsigned["p50"]["median"]
    return {
        "certificates_per_declaration": size,
        "lines_per_declaration": size,
        "registries": [
            {"chain_id": chain.chain_id, "label": chain.label, "sample": chain.chamber.label, "certificates_per_declaration": n}
            for chain, n in zip(chains, spread_per_registry, strict=True)
        ],
        "declarations_per_repeat": count,
        "repeats": repeats,
        "concurrency": 1,
        "block_time_seconds": plan.customs_block_time,  # None: Anvil mines each transaction at once
        "service": {
            "server": "gunicorn gthread",
            "workers": workers,
            "threads": threads,
            "database": "SQLite (the default)",
            "background": "off (ECOO_WORKER=0: the watcher's own requests would be counted)",
            "country": COUNTRY,
        },
        "without_key": unsigned,
        "with_key": signed,
        "records": {
            "transactions_per_declaration": 2 * size,  # a receipt per certificate, a utilisation per line
            "rpc_per_declaration": difference(signed["rpc_per_declaration"], unsigned["rpc_per_declaration"]),
            "p50_ms": round(p50_signed - p50_unsigned, 1),
            "p50_share": round((p50_signed - p50_unsigned) / p50_signed, 3) if p50_signed else 0.0,
        },
        "profile_with_key": profile,
    }
