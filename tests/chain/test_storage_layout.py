"""The storage layout the hand-packed certificate record relies on, asked of solc itself.

``EcooRegistry._writeRecord`` writes a whole ``CertificateRecord`` with one ``sstore`` of a word it
packs by hand (status at bit 0, reason at 8, byAuthority at 16, changedAt at 24, changedBy at 72),
while every read goes through Solidity's own struct layout. The two agree only as long as solc
lays the struct out that way: this test asks solc for ``storageLayout`` (standard JSON output
selection), asserts the slots and offsets, and reads a written record back from a live chain
through those offsets.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak
from web3 import Web3

from ecoo.compiler import CompilerConfig, collect_sources, find_solc, standard_input
from ecoo.registry import CertificateQuery, CertificateStatus, Registry, RevocationReason
from tests.support.chain import ROOT, Actors, new_signer, random_hash

pytestmark = pytest.mark.slow  # one solc run (solcjs: tens of seconds)

#: (member, byte offset in slot 0, bytes) exactly as _writeRecord shifts them (bits = 8 × offset).
CERTIFICATE_RECORD = [("status", 0, 1), ("reason", 1, 1), ("byAuthority", 2, 1), ("changedAt", 3, 6), ("changedBy", 9, 20)]
#: The anchor record: block time and block number share one slot.
ANCHOR = [("anchoredAt", 0, 6), ("anchoredBlock", 6, 6)]
#: An item's utilisation, as _writeUtilisation packs it: certified (low half), utilised (high half).
ITEM_UTILISATION = [("certified", 0, 16), ("utilised", 16, 16)]


@pytest.fixture(scope="module")
def layout() -> dict[str, Any]:
    import solcx

    config = CompilerConfig.load(ROOT)
    compiler_input = standard_input(config, collect_sources(config))
    compiler_input["settings"]["outputSelection"] = {"contracts/EcooRegistry.sol": {"EcooRegistry": ["storageLayout"]}}
    output = solcx.compile_standard(compiler_input, solc_binary=find_solc(config))
    result: dict[str, Any] = output["contracts"]["contracts/EcooRegistry.sol"]["EcooRegistry"]["storageLayout"]
    return result


def _variable(layout: dict[str, Any], label: str) -> dict[str, Any]:
    (found,) = [item for item in layout["storage"] if item["label"] == label]
    return found


def _struct_of_nested_mapping(layout: dict[str, Any], label: str) -> dict[str, Any]:
    """The struct type held by ``mapping(address => mapping(bytes32 => Struct)) label``."""
    types = layout["types"]
    outer = types[_variable(layout, label)["type"]]
    inner = types[outer["value"]]
    assert outer["encoding"] == inner["encoding"] == "mapping"
    assert types[outer["key"]]["label"] == "address" and types[inner["key"]]["label"] == "bytes32"
    struct: dict[str, Any] = types[inner["value"]]
    return struct


def _members(layout: dict[str, Any], struct: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    """(name, slot, byte offset, bytes) of every member, in declaration order."""
    types = layout["types"]
    return [(m["label"], int(m["slot"]), int(m["offset"]), int(types[m["type"]]["numberOfBytes"])) for m in struct["members"]]


def test_certificate_record_is_one_slot_in_the_order_write_record_packs(layout: dict[str, Any]) -> None:
    record = _struct_of_nested_mapping(layout, "_certificates")
    assert record["label"] == "struct EcooRegistry.CertificateRecord"
    assert record["numberOfBytes"] == "32"  # one slot: a change is one SSTORE
    assert _members(layout, record) == [(name, 0, offset, size) for name, offset, size in CERTIFICATE_RECORD]


def test_anchor_is_one_slot(layout: dict[str, Any]) -> None:
    anchor = _struct_of_nested_mapping(layout, "_anchors")
    assert anchor["label"] == "struct EcooRegistry.Anchor" and anchor["numberOfBytes"] == "32"
    assert _members(layout, anchor) == [(name, 0, offset, size) for name, offset, size in ANCHOR]


def test_item_utilisation_is_one_slot_in_the_order_write_utilisation_packs(layout: dict[str, Any]) -> None:
    types = layout["types"]
    by_leaf = types[types[_variable(layout, "_utilisations")["type"]]["value"]]
    by_item = types[by_leaf["value"]]
    assert types[by_item["key"]]["label"] == "uint16"
    item = types[by_item["value"]]
    assert item["label"] == "struct ItemUtilisation" and item["numberOfBytes"] == "32"
    assert _members(layout, item) == [(name, 0, offset, size) for name, offset, size in ITEM_UTILISATION]


def test_packed_utilisation_reads_back_through_solcs_layout(
    layout: dict[str, Any], w3: Web3, registry: Registry, actors: Actors
) -> None:
    """The word _writeUtilisation stored, decoded at solc's offsets, is what getUtilisation reports."""
    customs = new_signer(w3, actors.admin)
    registry.grant_customs(actors.authority, customs.address, "NL")
    leaf, item = random_hash(), 3
    registry.record_utilisation(customs, actors.issuer.address, leaf, item, 12_000_000, 8_000_000, random_hash())
    base = int(_variable(layout, "_utilisations")["slot"])
    by_issuer = keccak(encode(["address", "uint256"], [actors.issuer.address, base]))
    by_leaf = keccak(leaf + by_issuer)
    slot = keccak(encode(["uint16", "bytes32"], [item, by_leaf]))
    word = int.from_bytes(registry.w3.eth.get_storage_at(registry.address, int.from_bytes(slot, "big")), "big")
    fields = {name: (word >> (8 * offset)) & ((1 << (8 * size)) - 1) for name, offset, size in ITEM_UTILISATION}
    (recorded,) = registry.get_utilisation(actors.issuer.address, leaf, [item])
    assert fields == {"certified": 12_000_000, "utilised": 8_000_000}
    assert (recorded.certified, recorded.utilised) == (fields["certified"], fields["utilised"])


def test_packed_record_reads_back_through_solcs_layout(layout: dict[str, Any], registry: Registry, actors: Actors) -> None:
    """The word _writeRecord stored, decoded at solc's offsets, is what the view reports."""
    leaf = random_hash()
    registry.revoke(actors.authority, leaf, RevocationReason.CANCELLED, issuer=actors.issuer.address)
    base = int(_variable(layout, "_certificates")["slot"])
    outer = keccak(encode(["address", "uint256"], [actors.issuer.address, base]))
    slot = keccak(leaf + outer)  # bytes32 keys are hashed as they are, unpadded
    word = int.from_bytes(registry.w3.eth.get_storage_at(registry.address, int.from_bytes(slot, "big")), "big")
    fields = {name: (word >> (8 * offset)) & ((1 << (8 * size)) - 1) for name, offset, size in CERTIFICATE_RECORD}
    assert word >> (8 * 29) == 0  # nothing beyond changedBy

    state = registry.verify_certificate(CertificateQuery(actors.issuer.address, leaf, leaf))
    assert state.status is CertificateStatus.REVOKED and fields["status"] == 2
    assert fields["reason"] == RevocationReason.CANCELLED == state.reason
    assert fields["byAuthority"] == 1
    assert fields["changedAt"] == state.status_changed_at
    assert fields["changedBy"] == int(actors.authority.address, 16) == int(state.status_changed_by, 16)
