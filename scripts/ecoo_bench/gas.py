"""Phase 1: gas of every registry operation beside the floor contracts."""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Callable
from typing import Any

from web3 import Web3

from ecoo.deploy import deploy_registry
from ecoo.merkle import MerkleTree
from ecoo.registry import CertificateQuery, Registry, RevocationReason
from ecoo.signers import LocalSigner, unlocked_signer

from .common import Plan, spread

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
