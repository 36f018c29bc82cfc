"""Reorganisations of depth 1 to 3 on a real Anvil (``anvil_reorg``), and confirmations.

A reorganisation that removes a batch's anchor makes the batch unanchored again and the worker
anchors it again; one that removes a revocation reopens the chamber's intent and the worker sends
it again; with ``ECOO_CONFIRMATIONS=n`` nothing is ISSUED before its anchor has n confirmations.
After each: the API's status is the chain's, and each root is anchored once on the chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ecoo.anvil import ManagedAnvil
from ecoo.registry import read_events
from tests.support.chain import node_rpc, node_w3
from tests.support.service import ServiceHarness, made_service


def _w3(node: ManagedAnvil) -> Web3:
    return node_w3(node)


def _rpc(node: ManagedAnvil, method: str, *params: Any) -> Any:
    return node_rpc(node, method, *params)


def _status(service: ServiceHarness, certificate_id: int) -> str:
    return str(service.client.get(f"/api/v1/certificates/{certificate_id}", headers=service.auth).json["status"])


def _verdict(service: ServiceHarness, document: dict[str, Any]) -> str:
    return str(service.client.post("/api/v1/verify", json=document).json["verdict"])


def _anchors_per_root(service: ServiceHarness, node: ManagedAnvil) -> dict[str, int]:
    registry = service.app.extensions["ecoo"].chain.registry()
    counts: dict[str, int] = {}
    for event in read_events(_w3(node), registry.address, 0, _w3(node).eth.block_number):
        if event.name == "BatchAnchored":
            counts[event.subject] = counts.get(event.subject, 0) + 1
    return counts


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_reorganisation_that_removes_an_anchor_is_anchored_again(
    depth: int, tmp_path: Path, own_chain: ManagedAnvil, database_url: str | None, made: list[ServiceHarness]
) -> None:
    service = made_service(made, tmp_path, own_chain, database_url)
    created = service.create(service.certificate(f"REORG-{depth}"))
    assert service.anchor() == 1 and _status(service, created["id"]) == "ISSUED"
    document = service.client.get(f"/api/v1/certificates/{created['id']}/document", headers=service.auth).json
    for _ in range(depth - 1):
        _rpc(own_chain, "evm_mine")  # the anchor is now `depth` blocks deep
    anchored_block = service.app.extensions["ecoo"].store.batch_of(1)["block_number"]
    assert _w3(own_chain).eth.block_number - anchored_block + 1 == depth

    _rpc(own_chain, "anvil_reorg", depth, [])  # the last `depth` blocks replaced: the anchor is gone
    assert _verdict(service, document) != "VALID"
    follow = service.app.extensions["ecoo"].follower.run_once()
    assert follow.rewound >= 1 and _status(service, created["id"]) == "PENDING"
    assert service.client.get(f"/api/v1/certificates/{created['id']}/document", headers=service.auth).status_code == 409

    assert service.anchor() == 1  # sent again, recorded again
    assert _status(service, created["id"]) == "ISSUED" and _verdict(service, document) == "VALID"
    assert list(_anchors_per_root(service, own_chain).values()) == [1]
    health = service.client.get("/api/v1/health").json["projection"]
    assert health["divergent"] == 0 and health["intentsInFlight"] == 0


@pytest.mark.parametrize("depth", [1, 3])
def test_a_reorganisation_that_removes_a_revocation_sends_it_again(
    depth: int, tmp_path: Path, own_chain: ManagedAnvil, database_url: str | None, made: list[ServiceHarness]
) -> None:
    service = made_service(made, tmp_path, own_chain, database_url)
    created = service.create(service.certificate("REORG-REVOKE"))
    service.anchor()
    for _ in range(depth):
        _rpc(own_chain, "evm_mine")  # the anchor is deeper than the reorganisation
    document = service.client.get(f"/api/v1/certificates/{created['id']}/document", headers=service.auth).json
    revoked = service.client.post(f"/api/v1/certificates/{created['id']}/revoke", json={"reason": "fraud"}, headers=service.auth)
    assert revoked.status_code == 200 and revoked.json["status"] == "REVOKED"
    for _ in range(depth - 1):
        _rpc(own_chain, "evm_mine")

    _rpc(own_chain, "anvil_reorg", depth, [])
    assert _verdict(service, document) == "VALID"  # on the chain as it is now, the revocation never happened
    service.app.extensions["ecoo"].follower.run_once()
    detail = service.client.get(f"/api/v1/certificates/{created['id']}", headers=service.auth).json
    assert detail["status"] == "ISSUED" and detail["intent"]["kind"] == "REVOKE"  # the chamber's wish is kept

    service.anchor()  # the worker sends it again
    assert _status(service, created["id"]) == "REVOKED" and _verdict(service, document) == "REVOKED"
    assert service.client.get("/api/v1/health").json["projection"]["intentsInFlight"] == 0


def test_nothing_is_issued_before_its_confirmations(
    tmp_path: Path, own_chain: ManagedAnvil, made: list[ServiceHarness]
) -> None:
    service = made_service(made, tmp_path, own_chain, confirmations=3)
    created = service.create(service.certificate("CONFIRM-3"))
    assert service.anchor() == 0 and _status(service, created["id"]) == "PENDING"  # 1 confirmation
    _rpc(own_chain, "evm_mine")
    assert service.anchor() == 0 and _status(service, created["id"]) == "PENDING"  # 2
    _rpc(own_chain, "anvil_reorg", 2, [])  # the anchor's block is replaced before it was confirmed
    service.anchor()  # the worker finds the anchor gone and sends it again
    assert _status(service, created["id"]) == "PENDING"
    _rpc(own_chain, "evm_mine")
    _rpc(own_chain, "evm_mine")
    assert service.anchor() == 1 and _status(service, created["id"]) == "ISSUED"
    assert list(_anchors_per_root(service, own_chain).values()) == [1]
