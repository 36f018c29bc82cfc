"""Phase 1: gas of every registry operation beside the floor contracts."""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Callable
from typing import Any

from eth_account import Account
from web3 import Web3

from ecoo.deploy import deploy_registry
from ecoo.merkle import MerkleTree
from ecoo.registry import CertificateQuery, Registry, RevocationReason, TxResult
from ecoo.signers import LocalSigner, Signer, unlocked_signer
from ecoo.utilisation import RejectionCode

from .common import Plan, spread
from .setup import fund

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
    customs = LocalSigner(Account.create())
    fund(w3, dev, customs.address)
    return {
        "repeats": repeats,
        "operations": rows,
        "customs": bench_customs_gas(w3, registry, dev_signer, issuer.address, customs, repeats),
    }


# -- customs records beside their floor (issue #10) --------------------------------------------

# The floor of a transaction is what the EVM charges for it however the contract is written:
# the intrinsic cost, its calldata, and the storage writes the record cannot do without.
TX_INTRINSIC = 21_000
CALLDATA_ZERO_BYTE, CALLDATA_NONZERO_BYTE = 4, 16  # EIP-2028
CALLDATA_FLOOR_PER_TOKEN = 10  # EIP-7623 (Prague): calldata-heavy transactions pay at least this
SSTORE_NEW_SLOT = 22_100  # zero to non-zero, cold slot: 20,000 + 2,100 (EIP-2929)
SSTORE_REWRITE_SLOT = 5_000  # non-zero to non-zero, cold slot: 2,900 + 2,100
LOG_BASE, LOG_PER_TOPIC, LOG_PER_BYTE = 375, 375, 8

#: The storage writes each customs record must make (gas, why). A receipt and a rejection are
#: notices that nothing on chain reads back, so an event is all they need; a utilisation must be
#: read by the next one (never beyond the certified quantity), so it keeps one slot per item.
CUSTOMS_STORAGE_FLOOR: dict[str, tuple[int, str]] = {
    "grantCustoms": (SSTORE_NEW_SLOT, "the key's country and role: one new slot"),
    "recordReceipt": (0, "none: the receipt is an event"),
    "recordUtilisation, first record of an item": (SSTORE_NEW_SLOT, "certified and utilised: one new slot"),
    "recordUtilisation, a later record of the item": (SSTORE_REWRITE_SLOT, "the same slot rewritten"),
    "recordRejection": (0, "none: the rejection is an event"),
}
#: Issue #10: "Gas: a utilisation record ≤ 60,000".
UTILISATION_GAS_LIMIT = 60_000
UTILISATION_ROWS = ("recordUtilisation, first record of an item", "recordUtilisation, a later record of the item")
#: A certificate item's certified quantity and what one declaration line utilises, in thousandths
#: of the unit (12,000 kg and 2,500 kg), as the customs service records them.
CERTIFIED, UTILISED = 12_000_000, 2_500_000


def intrinsic_and_calldata(data: bytes) -> tuple[int, int]:
    """(21,000 + the calldata's gas, EIP-7623's floor for it)."""
    zeros = data.count(0)
    nonzero = len(data) - zeros
    tokens = zeros + 4 * nonzero
    return (
        TX_INTRINSIC + zeros * CALLDATA_ZERO_BYTE + nonzero * CALLDATA_NONZERO_BYTE,
        TX_INTRINSIC + CALLDATA_FLOOR_PER_TOKEN * tokens,
    )


def log_gas(receipt: Any) -> int:
    """What the receipt's events cost (LOG base, topics, data bytes; memory expansion left out)."""
    return sum(LOG_BASE + LOG_PER_TOPIC * len(log["topics"]) + LOG_PER_BYTE * len(log["data"]) for log in receipt["logs"])


def bench_customs_gas(
    w3: Web3, registry: Registry, authority: Signer, issuer: str, customs: Signer, repeats: int
) -> dict[str, Any]:
    """Gas of each customs record (receipts) beside its floor: intrinsic + calldata + the storage
    writes it must make (:data:`CUSTOMS_STORAGE_FLOOR`). ``customs`` is funded and not yet a
    customs key; ``issuer`` need not be accredited (the registry does not check it on records)."""
    rand = secrets.token_bytes
    runs: dict[str, list[dict[str, int]]] = {name: [] for name in CUSTOMS_STORAGE_FLOOR}

    def record(name: str, result: TxResult) -> None:
        tx = w3.eth.get_transaction(result.tx_hash)  # type: ignore[arg-type]
        receipt = w3.eth.get_transaction_receipt(result.tx_hash)  # type: ignore[arg-type]
        base, calldata_floor = intrinsic_and_calldata(bytes(tx["input"]))
        storage = CUSTOMS_STORAGE_FLOOR[name][0]
        runs[name].append(
            {
                "gas": result.gas_used,
                "intrinsic_calldata": base,
                "calldata_floor": calldata_floor,
                "floor": max(base + storage, calldata_floor),
                "event": log_gas(receipt),
            }
        )

    for _ in range(repeats):
        record("grantCustoms", registry.grant_customs(authority, Account.create().address, "DE"))
    registry.grant_customs(authority, customs.address, "DE")
    for _ in range(repeats):
        record("recordReceipt", registry.record_receipt(customs, issuer, rand(32), rand(32)))
        leaf = rand(32)
        first = registry.record_utilisation(customs, issuer, leaf, 1, CERTIFIED, UTILISED, rand(32))
        record("recordUtilisation, first record of an item", first)
        later = registry.record_utilisation(customs, issuer, leaf, 1, CERTIFIED, UTILISED, rand(32))
        record("recordUtilisation, a later record of the item", later)
        record("recordRejection", registry.record_rejection(customs, issuer, rand(32), RejectionCode.HS_MISMATCH, rand(32)))

    rows = {}
    for name, measured in runs.items():
        gas = [r["gas"] for r in measured]
        floor = [r["floor"] for r in measured]
        storage, why = CUSTOMS_STORAGE_FLOOR[name]
        rows[name] = {
            "ecoo": spread(gas, 0),
            "floor": spread(floor, 0),
            "intrinsic_calldata": int(statistics.median(r["intrinsic_calldata"] for r in measured)),
            "calldata_floor_eip7623": int(statistics.median(r["calldata_floor"] for r in measured)),
            "storage_writes": storage,
            "storage_writes_why": why,
            "over_floor": int(statistics.median(r["gas"] - r["floor"] for r in measured)),
            "event": int(statistics.median(r["event"] for r in measured)),
            "ratio_to_floor": round(statistics.median(gas) / statistics.median(floor), 2),
        }
    worst = max(max(runs[name][i]["gas"] for i in range(repeats)) for name in UTILISATION_ROWS)
    return {
        "repeats": repeats,
        "records": rows,
        "utilisation_check": {"limit": UTILISATION_GAS_LIMIT, "max_measured": worst, "met": worst <= UTILISATION_GAS_LIMIT},
    }


def customs_gas_table(gas: dict[str, Any]) -> list[str]:
    """The customs rows as Markdown (bench report and scripts/gas_report.py alike)."""
    lines = [
        "| customs record | ecoo (min / **median** / max) | intrinsic + calldata | storage writes it must make "
        "| EIP-7623 calldata floor | floor | ecoo − floor | its event | ecoo ÷ floor |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in gas["records"].items():
        e = row["ecoo"]
        lines.append(
            f"| {name} | {e['min']:,.0f} / **{e['median']:,.0f}** / {e['max']:,.0f} | {row['intrinsic_calldata']:,} "
            f"| {row['storage_writes']:,} ({row['storage_writes_why']}) | {row['calldata_floor_eip7623']:,} "
            f"| {row['floor']['median']:,.0f} "
            f"| {row['over_floor']:,} | {row['event']:,} | {row['ratio_to_floor']:.2f} |"
        )
    check = gas["utilisation_check"]
    lines += [
        "",
        "Floor: the larger of intrinsic + calldata + the storage writes, and EIP-7623's calldata floor "
        "(21,000 + 10 per calldata token; Prague, Anvil's default), which is what binds for the receipt and the "
        "rejection. Beyond intrinsic + calldata + storage, ecoo spends its event (the whole record of a receipt or a "
        "rejection; LOG's 375 + 375 per topic + 8 per data byte), the role check (a cold SLOAD, 2,100) and the ABI "
        "decoding; for the receipt and the rejection part of that hides under EIP-7623's floor.",
        "",
        f"Utilisation record ≤ {check['limit']:,} gas (issue #10): at most {check['max_measured']:,} measured "
        f"(first and later records, {gas['repeats']} each) — **{'met' if check['met'] else 'MISSED'}**.",
    ]
    return lines
