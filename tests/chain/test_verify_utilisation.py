"""`ecoo verify` and the library verifier report what customs utilised of each item, from the
registry, on a real Anvil: one more ``eth_call`` per batch (``getUtilisations``), only for documents
whose chain checks ran; a fully utilised certificate stays VALID and says so; a registry without
``getUtilisations`` leaves utilisation unknown and the verdict as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ecoo import verify as verify_module
from ecoo.anvil import ManagedAnvil, free_port
from ecoo.cli import main
from ecoo.documents import hex_bytes
from ecoo.registry import RevocationReason
from ecoo.signers import LocalSigner, unlocked_signer
from ecoo.utilisation import RejectionCode, declaration_hash, new_salt, to_units
from ecoo.verify import OLDER_REGISTRY, Verdict, Verifier
from tests.chain.test_verify import CountingProvider, World
from tests.support.chain import new_signer, node_rpc
from tests.support.samples import sample

GET_UTILISATIONS = "getUtilisations((address,bytes32,uint16[])[])"


def certificate(number: str) -> dict[str, Any]:
    """The RCEP sample with item 1 certified as 12,000 SET (item 2: 900 PCE)."""
    co = sample(number=number)
    co["items"][0]["quantity"] = {"value": "12000", "unit": "SET"}
    return co


class Customs:
    """A customs key the registry's authority granted, recording against issued documents."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.signer: LocalSigner = new_signer(world.w3, world.funder)
        world.registry.grant_customs(world.authority, self.signer.address, "JP")
        self.declaration = declaration_hash("JP-IMP-2026-000001", new_salt())

    @staticmethod
    def key(document: dict[str, Any]) -> tuple[str, bytes]:
        return document["proof"]["issuer"], hex_bytes(document["proof"]["leaf"], 32)

    def utilise(self, document: dict[str, Any], item: int, certified: str, quantity: str) -> None:
        issuer, leaf = self.key(document)
        self.world.registry.record_utilisation(
            self.signer, issuer, leaf, item, to_units(certified), to_units(quantity), self.declaration
        )


@pytest.fixture
def counted(anvil_node: ManagedAnvil) -> tuple[World, CountingProvider]:
    provider = CountingProvider(anvil_node.url)
    w3 = Web3(provider)
    return World(w3, unlocked_signer(w3)), provider


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["verify", *args])
    return code, capsys.readouterr().out


def test_utilisation_per_item_in_the_report_the_json_and_the_text(
    counted: tuple[World, CountingProvider], anvil_node: ManagedAnvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, _ = counted
    used, untouched = world.issue(certificate("UTIL-1"), certificate("UTIL-2"))
    customs = Customs(world)
    customs.utilise(used, 1, "12000", "5000")
    customs.utilise(used, 1, "12000", "3000")
    world.registry.record_rejection(customs.signer, *customs.key(used), RejectionCode.QUANTITY_EXCEEDED, customs.declaration)

    report = world.verifier.verify(used)
    assert report.verdict is Verdict.VALID and report.utilisation_unknown is None
    assert [u.to_json() for u in report.utilisation or ()] == [
        {"item": 1, "certified": "12000", "utilised": "8000", "remaining": "4000", "unit": "SET"}
    ]
    assert report.fully_utilised is False  # item 2 was never utilised
    empty = world.verifier.verify(untouched)
    assert empty.utilisation == () and empty.fully_utilised is False

    path = tmp_path / "used.json"
    path.write_text(json.dumps(used), encoding="utf-8")
    registry = ["--rpc-url", anvil_node.url, "--registry", world.registry.address]
    code, out = _cli(capsys, str(path), *registry, "--json")
    data = json.loads(out)
    assert code == 0 and data["verdict"] == "VALID" and data["fullyUtilised"] is False
    assert data["utilisation"] == [{"item": 1, "certified": "12000", "utilised": "8000", "remaining": "4000", "unit": "SET"}]
    assert data["utilisationUnknown"] is None
    code, out = _cli(capsys, str(path), *registry)
    assert code == 0 and "  utilisation: item 1: 8,000 of 12,000 SET utilised" in out.splitlines()
    assert "fully utilised" not in out

    untouched_path = tmp_path / "untouched.json"
    untouched_path.write_text(json.dumps(untouched), encoding="utf-8")
    code, out = _cli(capsys, str(untouched_path), *registry)
    assert code == 0 and "  utilisation: no utilisation recorded" in out.splitlines()
    code, out = _cli(capsys, str(untouched_path), *registry, "--json")
    assert json.loads(out)["utilisation"] == []


def test_a_fully_utilised_certificate_stays_valid_and_says_so(
    counted: tuple[World, CountingProvider], anvil_node: ManagedAnvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, _ = counted
    (document,) = world.issue(certificate("FULL-1"))
    customs = Customs(world)
    customs.utilise(document, 1, "12000", "12000")
    customs.utilise(document, 2, "900", "900")
    path = tmp_path / "full.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    registry = ["--rpc-url", anvil_node.url, "--registry", world.registry.address]

    code, out = _cli(capsys, str(path), *registry, "--json")
    data = json.loads(out)
    assert code == 0 and data["verdict"] == "VALID" and data["failedCheck"] is None
    assert data["fullyUtilised"] is True
    assert [(u["item"], u["utilised"], u["remaining"]) for u in data["utilisation"]] == [(1, "12000", "0"), (2, "900", "0")]
    code, out = _cli(capsys, str(path), *registry)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "VALID: certificate FULL-1"
    assert "  utilisation: item 1: 12,000 of 12,000 SET utilised" in lines
    assert "  utilisation: item 2: 900 of 900 PCE utilised" in lines
    assert any(line.startswith("  utilisation: fully utilised") for line in lines)

    # In a list, a document with utilisation gets one line with it.
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([document]), encoding="utf-8")
    code, out = _cli(capsys, str(listed), *registry)
    assert code == 0 and any(
        "item 1: 12,000 of 12,000 SET utilised" in line and "fully utilised" in line for line in out.splitlines()
    )


def test_one_more_eth_call_per_batch_and_only_after_the_chain_checks(
    counted: tuple[World, CountingProvider], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, provider = counted
    documents = world.issue(*(certificate(f"RPC-{i}") for i in range(12)))
    Customs(world).utilise(documents[0], 1, "12000", "1")
    verifier = Verifier.for_registry(world.registry, chain_id=world.registry.chain_id)

    provider.calls.clear()
    assert verifier.verify(documents[0]).utilisation is not None
    assert provider.calls == {"eth_call": 2}  # verifyCertificates, getUtilisations
    provider.calls.clear()
    reports = verifier.verify_many(documents)
    assert provider.calls == {"eth_call": 2}
    assert [len(r.utilisation or ()) for r in reports] == [1] + [0] * 11
    small = Verifier({(world.registry.chain_id, world.registry.address): world.registry}, batch_size=5)
    provider.calls.clear()
    assert all(r.valid for r in small.verify_many(documents))
    assert provider.calls == {"eth_call": 6}  # 3 batches, 2 calls each
    # Certificates listing many items together split the utilisation call (a node's gas cap).
    monkeypatch.setattr(verify_module, "MAX_UTILISATION_ITEMS", 4)  # each certificate lists 2 items
    provider.calls.clear()
    assert [len(r.utilisation or ()) for r in verifier.verify_many(documents[:5])] == [1, 0, 0, 0, 0]
    assert provider.calls == {"eth_call": 4}  # verifyCertificates, then 2 + 2 + 1 certificates
    monkeypatch.undo()
    without = Verifier({(world.registry.chain_id, world.registry.address): world.registry}, utilisation=False)
    provider.calls.clear()
    assert without.verify(documents[0]).utilisation is None and provider.calls == {"eth_call": 1}

    # A document that fails before the chain checks is not asked about.
    tampered = json.loads(json.dumps(documents[1]))
    tampered["certificate"]["consignee"]["name"] = "Someone else"
    provider.calls.clear()
    report = verifier.verify(tampered)
    assert report.failed_check == "integrity" and report.utilisation is None and provider.calls == {}
    assert report.to_json()["utilisation"] is None and report.to_json()["fullyUtilised"] is None

    # A revoked certificate: its chain checks ran, so its utilisation is reported beside the verdict.
    world.issuer.revoke(documents[0], RevocationReason.FRAUD)
    revoked = verifier.verify(documents[0])
    assert revoked.verdict is Verdict.REVOKED and revoked.utilisation is not None and len(revoked.utilisation) == 1


def _without_get_utilisations(code: bytes) -> bytes:
    """The registry's runtime code with getUtilisations taken out of its dispatcher (the
    ``PUSH4 selector EQ`` that routes to it): what a registry deployed before the customs records
    answers, a revert, while every other function works on the same storage."""
    selector = Web3.keccak(text=GET_UTILISATIONS)[:4]
    route = b"\x63" + selector + b"\x14"
    assert code.count(route) == 1, "the dispatcher's shape changed: update this test"
    return code.replace(route, b"\x63\xff\xff\xff\xff\x14")


def test_a_registry_without_get_utilisations_still_verifies_and_says_utilisation_is_unknown(
    counted: tuple[World, CountingProvider], anvil_node: ManagedAnvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, _ = counted
    (document,) = world.issue(certificate("OLD-1"))
    code = bytes(world.w3.eth.get_code(world.registry.address))
    node_rpc(anvil_node, "anvil_setCode", world.registry.address, "0x" + _without_get_utilisations(code).hex())
    try:
        report = world.verifier.verify(document)
        assert report.verdict is Verdict.VALID
        assert report.utilisation is None and report.fully_utilised is None
        assert report.utilisation_unknown == OLDER_REGISTRY

        path = tmp_path / "old.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        registry = ["--rpc-url", anvil_node.url, "--registry", world.registry.address]
        exit_code, out = _cli(capsys, str(path), *registry, "--json")
        data = json.loads(out)
        assert exit_code == 0 and data["verdict"] == "VALID"
        assert data["utilisation"] is None and data["utilisationUnknown"] == OLDER_REGISTRY
        exit_code, out = _cli(capsys, str(path), *registry)
        assert exit_code == 0 and f"  utilisation: unknown: {OLDER_REGISTRY}" in out.splitlines()
    finally:
        node_rpc(anvil_node, "anvil_setCode", world.registry.address, "0x" + code.hex())


def test_the_trust_list_path_reports_utilisation_and_an_older_registry(
    counted: tuple[World, CountingProvider], anvil_node: ManagedAnvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through a trust list (first node dead: failover), the utilisation comes from the node that
    answered; a registry without getUtilisations is not a reason to try the next node."""
    world, _ = counted
    (document,) = world.issue(certificate("TRUST-1"))
    Customs(world).utilise(document, 1, "12000", "8000")
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    dead = f"http://127.0.0.1:{free_port()}"
    entry = {
        "chainId": world.registry.chain_id,
        "registry": world.registry.address,
        "rpcUrls": [dead, anvil_node.url],
        "authority": {"name": "Authority", "country": "VN"},
        "validFrom": "2026-01-01",
    }
    trust = tmp_path / "trust.json"
    trust.write_text(
        json.dumps(
            {
                "format": "ecoo-trust-list/1",
                "name": "Customs",
                "sequence": 1,
                "issued": "2026-12-01T00:00:00Z",
                "entries": [entry],
            }
        ),
        encoding="utf-8",
    )
    code, out = _cli(capsys, str(path), "--trust-list", str(trust), "--json")
    data = json.loads(out)
    assert code == 0 and data["verdict"] == "VALID" and data["fullyUtilised"] is False
    assert data["utilisation"] == [{"item": 1, "certified": "12000", "utilised": "8000", "remaining": "4000", "unit": "SET"}]

    code_before = bytes(world.w3.eth.get_code(world.registry.address))
    node_rpc(anvil_node, "anvil_setCode", world.registry.address, "0x" + _without_get_utilisations(code_before).hex())
    try:
        code, out = _cli(capsys, str(path), "--trust-list", str(trust), "--json")
    finally:
        node_rpc(anvil_node, "anvil_setCode", world.registry.address, "0x" + code_before.hex())
    data = json.loads(out)
    assert code == 0 and data["verdict"] == "VALID" and data["utilisationUnknown"] == OLDER_REGISTRY
