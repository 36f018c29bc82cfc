#!/usr/bin/env python3
"""Measure the gas of every registry operation on a real Anvil it starts itself.

    python scripts/gas_report.py [--repeats 5] [--json gas.json]

Gas comes from transaction receipts (views: eth_estimateGas, calldata included). Each operation
runs --repeats times on fresh random hashes; the table shows min / median / max. Prints a
Markdown table (the README's gas table is this output), then the customs records beside their
floor (intrinsic + calldata + the storage writes each must make; scripts/ecoo_bench/gas.py) and
the check of issue #10, a utilisation record ≤ 60,000 gas: the exit status is 1 when it is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from web3 import Web3

from ecoo.anvil import ManagedAnvil, find_anvil
from ecoo.deploy import deploy_registry
from ecoo.merkle import MerkleTree
from ecoo.registry import CertificateQuery, Registry, RevocationReason
from ecoo.signers import LocalSigner, unlocked_signer
from ecoo_bench.gas import bench_customs_gas, customs_gas_table

#: OpenAttestation DocumentStore on Anvil 1.7.1, as quoted in issue #2 (not re-measured here).
OPENATTESTATION = {"anchor one root": 47_886, "revoke one certificate (issuer)": 47_980}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, ManagedAnvil(Path(tmp) / "state.json") as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        dev = unlocked_signer(w3)

        def funded() -> LocalSigner:
            signer = LocalSigner(Account.create())
            w3.eth.wait_for_transaction_receipt(
                w3.eth.send_transaction({"from": dev.address, "to": signer.address, "value": 10**18})
            )
            return signer

        figures: dict[str, list[int]] = {}

        def measure(name: str, op: Callable[[], int]) -> None:
            figures[name] = [op() for _ in range(args.repeats)]

        measure("deploy registry", lambda: w3.eth.get_transaction_receipt(deploy_registry(w3, dev)[0].deploy_tx)["gasUsed"])
        deployment, _ = deploy_registry(w3, dev)
        registry = Registry(w3, deployment.address)
        issuer = funded()

        def accredit() -> int:
            key = funded().address
            return registry.accredit_issuer(
                dev, key, name="Handelskammer Hamburg", country="DE", accreditation_code="WCF-DE-0001"
            ).gas_used

        measure("accredit issuer", accredit)
        registry.accredit_issuer(
            dev, issuer.address, name="Handelskammer Hamburg", country="DE", accreditation_code="WCF-DE-0001"
        )

        def suspend_issuer() -> int:
            key = funded().address
            registry.accredit_issuer(dev, key, name="C", country="DE", accreditation_code="X")
            return registry.suspend_issuer(dev, key).gas_used

        measure("suspend issuer", suspend_issuer)
        measure("anchor one root", lambda: registry.anchor(issuer, os.urandom(32)).gas_used)
        measure(
            "revoke one certificate (issuer)", lambda: registry.revoke(issuer, os.urandom(32), RevocationReason.FRAUD).gas_used
        )
        measure(
            "revoke one certificate (authority, revokeFor)",
            lambda: registry.revoke(dev, os.urandom(32), RevocationReason.FRAUD, issuer=issuer.address).gas_used,
        )
        measure("supersede one certificate", lambda: registry.supersede(issuer, os.urandom(32), os.urandom(32)).gas_used)
        measure("suspend one certificate", lambda: registry.suspend_certificate(issuer, os.urandom(32)).gas_used)

        def lift() -> int:
            leaf = os.urandom(32)
            registry.suspend_certificate(issuer, leaf)
            return registry.lift_certificate_suspension(issuer, leaf).gas_used

        measure("lift a certificate suspension", lift)

        for size in (1, 100):
            leaves = [os.urandom(32) for _ in range(size)]
            tree = MerkleTree.build(leaves)
            registry.anchor(issuer, tree.root)
            queries = [CertificateQuery(issuer.address, tree.root, leaf, tree.proof(i)).as_abi() for i, leaf in enumerate(leaves)]
            fn = registry.contract.functions.verifyCertificates(queries)
            measure(
                f"status view, batch of {size} (eth_estimateGas, per certificate)",
                lambda fn=fn, size=size: fn.estimate_gas() // size,
            )

        customs = bench_customs_gas(w3, registry, dev, issuer.address, funded(), args.repeats)

    anvil_version = subprocess.run([find_anvil(), "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"Gas on {anvil_version}, {args.repeats} runs each (min / median / max)\n")
    print("| operation | min | median | max | OpenAttestation DocumentStore |")
    print("|---|---:|---:|---:|---:|")
    for name, values in figures.items():
        peer = OPENATTESTATION.get(name)
        print(
            f"| {name} | {min(values):,} | {int(statistics.median(values)):,} | {max(values):,} | {f'{peer:,}' if peer else ''} |"
        )
    print("\nCustoms records beside their floor (intrinsic + calldata + the storage writes each must make)\n")
    print("\n".join(customs_gas_table(customs)))
    if args.json:
        figures_json = {"anvil": anvil_version, "repeats": args.repeats, "gas": figures, "customs": customs}
        args.json.write_text(json.dumps(figures_json, indent=2))
    return 0 if customs["utilisation_check"]["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
