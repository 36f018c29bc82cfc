"""The registry's customs role and records through the Python client, on real Anvil nodes: who may
grant and record, the certified-quantity rule with its typed reverts, two ports racing for the same
item in one block, the batched utilisation view, the events, and the second chain of
tests/support/customs_chain.py."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_utils.abi import get_abi_output_types
from eth_utils.crypto import keccak
from web3 import Web3

from ecoo import errors
from ecoo.artifacts import load_artifact
from ecoo.errors.registry import (
    CertifiedQuantityMismatchError,
    CustomsAlreadyGrantedError,
    InvalidCustomsError,
    InvalidItemError,
    InvalidQuantityError,
    InvalidRejectionCodeError,
    NotCustomsError,
    UtilisationExceededError,
)
from ecoo.registry import CustomsRecord, ItemUtilisation, Registry, TxResult, UtilisationQuery, read_events
from ecoo.registry import customs as customs_abi
from ecoo.registry.events import SIGNATURES
from ecoo.signers import LocalSigner
from tests.chain.test_verify import CountingProvider
from tests.support.chain import Actors, new_signer, node_rpc, random_hash
from tests.support.customs_chain import ANVIL_KEYS, anvil_signer, customs_chain

#: These tests run on the session's real Anvil (the embedded chain is covered by the access matrix).
ON_ANVIL = pytest.mark.parametrize("w3", ["anvil"], indirect=True)
ABI = load_artifact("EcooRegistry")["abi"]
QUANTITY_EXCEEDED = 4  # ecoo.utilisation.RejectionCode.QUANTITY_EXCEEDED


def _customs(w3: Web3, registry: Registry, actors: Actors, country: str = "NL") -> LocalSigner:
    key = new_signer(w3, actors.admin)
    registry.grant_customs(actors.authority, key.address, country)
    return key


# -- the ABI the client encodes by hand ------------------------------------------------------------


def test_event_signatures_and_utilisation_views_match_the_artifact() -> None:
    events = {item["name"]: item for item in ABI if item["type"] == "event"}
    for name, signature in SIGNATURES.items():
        types = ",".join(i["type"] for i in events[name]["inputs"])
        assert signature == f"{name}({types})"
    functions = {item["name"]: item for item in ABI if item["type"] == "function"}
    for name, selector in (
        ("getUtilisation", customs_abi.GET_UTILISATION_SELECTOR),
        ("getUtilisations", customs_abi.GET_UTILISATIONS_SELECTOR),
    ):
        item = functions[name]
        types = ",".join(
            i["type"] if i["type"] != "tuple[]" else customs_abi.UTILISATION_QUERY_TYPE + "[]" for i in item["inputs"]
        )
        assert keccak(text=f"{name}({types})")[:4] == selector
    assert get_abi_output_types(functions["getUtilisation"]) == [customs_abi.ITEM_UTILISATION_TYPE + "[]"]
    assert get_abi_output_types(functions["getUtilisations"]) == [customs_abi.ITEM_UTILISATION_TYPE + "[][]"]


# -- the role -----------------------------------------------------------------------------------------


@ON_ANVIL
def test_only_the_authority_grants_and_revokes(w3: Web3, registry: Registry, actors: Actors) -> None:
    key = new_signer(w3, actors.admin).address
    for caller in (actors.admin, actors.issuer, actors.stranger):
        with pytest.raises(errors.MissingRoleError):
            registry.grant_customs(caller, key, "NL")
    assert registry.get_customs(key) == CustomsRecord(country="", active=False)
    registry.grant_customs(actors.authority, key, "NL")
    assert registry.get_customs(key) == CustomsRecord(country="NL", active=True)
    with pytest.raises(CustomsAlreadyGrantedError):
        registry.grant_customs(actors.authority, key, "BE")
    for caller in (actors.admin, actors.issuer, actors.stranger):
        with pytest.raises(errors.MissingRoleError):
            registry.revoke_customs(caller, key)
    registry.revoke_customs(actors.authority, key)
    assert registry.get_customs(key) == CustomsRecord(country="NL", active=False)  # keeps its country
    with pytest.raises(NotCustomsError) as raised:
        registry.revoke_customs(actors.authority, key)
    assert raised.value.args_by_name == {"account": key}
    registry.grant_customs(actors.authority, key, "BE")
    assert registry.get_customs(key) == CustomsRecord(country="BE", active=True)


@ON_ANVIL
def test_grant_refuses_the_zero_address_and_bad_countries(registry: Registry, actors: Actors) -> None:
    with pytest.raises(InvalidCustomsError):
        registry.grant_customs(actors.authority, "0x" + "00" * 20, "NL")
    for country in ("", "nl", "NLD", "N1"):
        with pytest.raises(errors.ConfigurationError):
            registry.grant_customs(actors.authority, actors.stranger.address, country)


# -- who records ------------------------------------------------------------------------------------


@ON_ANVIL
def test_only_an_active_customs_key_records(w3: Web3, registry: Registry, actors: Actors) -> None:
    revoked = _customs(w3, registry, actors)
    registry.revoke_customs(actors.authority, revoked.address)
    leaf, declaration = random_hash(), random_hash()
    records: list[Callable[[Any], TxResult]] = [
        lambda signer: registry.record_receipt(signer, actors.issuer.address, leaf, declaration),
        lambda signer: registry.record_utilisation(signer, actors.issuer.address, leaf, 1, 1000, 10, declaration),
        lambda signer: registry.record_rejection(signer, actors.issuer.address, leaf, QUANTITY_EXCEEDED, declaration),
    ]
    for record in records:
        # Not the authority, not the certificate's issuer, not a revoked customs key.
        for caller in (actors.authority, actors.issuer, actors.stranger, revoked):
            with pytest.raises(NotCustomsError) as raised:
                record(caller)
            assert raised.value.args_by_name == {"account": caller.address}
    customs = _customs(w3, registry, actors)
    assert all(record(customs).gas_used > 0 for record in records)


# -- the certified-quantity rule ----------------------------------------------------------------------


@ON_ANVIL
def test_the_certified_quantity_rule_with_its_numbers(w3: Web3, registry: Registry, actors: Actors) -> None:
    ports = _customs(w3, registry, actors, "NL"), _customs(w3, registry, actors, "BE")
    issuer, leaf, declaration = actors.issuer.address, random_hash(), random_hash()
    registry.record_utilisation(ports[0], issuer, leaf, 1, 12_000, 8_000, declaration)
    with pytest.raises(CertifiedQuantityMismatchError) as mismatch:
        registry.record_utilisation(ports[1], issuer, leaf, 1, 13_000, 1_000, declaration)
    assert {k: mismatch.value.args_by_name[k] for k in ("item", "recorded", "stated")} == {
        "item": 1,
        "recorded": 12_000,
        "stated": 13_000,
    }
    with pytest.raises(UtilisationExceededError) as exceeded:
        registry.record_utilisation(ports[1], issuer, leaf, 1, 12_000, 4_001, declaration)
    error = exceeded.value
    assert (error.certified, error.utilised, error.requested, error.remaining) == (12_000, 8_000, 4_001, 4_000)
    assert "4001 more would exceed the certified 12000 (8000 already utilised" in str(error)
    registry.record_utilisation(ports[1], issuer, leaf, 1, 12_000, 4_000, declaration)
    assert registry.get_utilisation(issuer, leaf, [1]) == [ItemUtilisation(certified=12_000, utilised=12_000)]
    assert registry.get_utilisation(issuer, leaf, [1])[0].remaining == 0
    # Zero quantities, item 0 and rejection code 0 mean nothing.
    with pytest.raises(InvalidQuantityError):
        registry.record_utilisation(ports[0], issuer, leaf, 2, 12_000, 0, declaration)
    with pytest.raises(InvalidQuantityError):
        registry.record_utilisation(ports[0], issuer, leaf, 2, 0, 1, declaration)
    with pytest.raises(InvalidItemError):
        registry.record_utilisation(ports[0], issuer, leaf, 0, 12_000, 1, declaration)
    with pytest.raises(InvalidRejectionCodeError):
        registry.record_rejection(ports[0], issuer, leaf, 0, declaration)


@ON_ANVIL
def test_arguments_that_do_not_fit_the_abi_are_refused_before_sending(w3: Web3, registry: Registry, actors: Actors) -> None:
    customs, issuer = _customs(w3, registry, actors), actors.issuer.address
    bad: list[Callable[[], Any]] = [
        lambda: registry.record_utilisation(customs, issuer, random_hash(), 1, 1000, -1, random_hash()),
        lambda: registry.record_utilisation(customs, issuer, random_hash(), 1, 2**128, 1, random_hash()),
        lambda: registry.record_utilisation(customs, issuer, random_hash(), 2**16, 1000, 1, random_hash()),
        lambda: registry.record_receipt(customs, issuer, b"\x01" * 31, random_hash()),
        lambda: registry.record_rejection(customs, issuer, random_hash(), QUANTITY_EXCEEDED, b"short"),
        lambda: registry.record_receipt(customs, "not an address", random_hash(), random_hash()),
        lambda: registry.get_utilisation(issuer, random_hash(), [-1]),
    ]
    for call in bad:
        with pytest.raises(errors.ConfigurationError):
            call()


# -- two ports, one block -------------------------------------------------------------------------------


def test_two_ports_racing_in_one_block_never_exceed_the_certified_quantity(tmp_path: Path) -> None:
    """Port NL and port BE each utilise 7,000 of an item certified 12,000; both transactions pass
    gas estimation (each alone fits) and land in the same block. The first in the block wins; the
    second reverts on chain and the client reports it as UtilisationExceededError with the numbers
    (decoded by replaying the call at that block)."""
    with customs_chain(tmp_path, chain_id=31339) as chain:
        registry, issuer = chain.registry, chain.chamber.address
        second_port = anvil_signer(4)
        registry.grant_customs(chain.authority, second_port.address, "BE")
        leaf = random_hash()
        node_rpc(chain.node, "evm_setAutomine", False)
        sent = threading.Barrier(3)
        outcomes: dict[str, TxResult | Exception] = {}
        hashes: dict[str, str] = {}

        def utilise(port: LocalSigner) -> None:
            def on_sent(tx_hash: str) -> None:
                hashes[port.address] = tx_hash
                sent.wait(timeout=30)

            try:
                outcomes[port.address] = registry.record_utilisation(
                    port, issuer, leaf, 1, 12_000, 7_000, random_hash(), on_sent=on_sent
                )
            except Exception as exc:  # noqa: BLE001 - the outcome is what the test asserts
                outcomes[port.address] = exc

        threads = [threading.Thread(target=utilise, args=(port,)) for port in (chain.customs, second_port)]
        for thread in threads:
            thread.start()
        sent.wait(timeout=30)  # both transactions are in the node's pool, neither mined
        node_rpc(chain.node, "evm_mine")
        for thread in threads:
            thread.join(timeout=60)

        won = [r for r in outcomes.values() if isinstance(r, TxResult)]
        lost = [r for r in outcomes.values() if not isinstance(r, TxResult)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert isinstance(lost[0], UtilisationExceededError), lost[0]
        assert (lost[0].certified, lost[0].utilised, lost[0].requested) == (12_000, 7_000, 7_000)
        receipts = [chain.w3.eth.get_transaction_receipt(h) for h in hashes.values()]  # type: ignore[arg-type]
        assert {r["blockNumber"] for r in receipts} == {won[0].block_number}  # one block
        assert sorted(r["status"] for r in receipts) == [0, 1]
        assert registry.get_utilisation(issuer, leaf, [1]) == [ItemUtilisation(12_000, 7_000)]
        utilised = registry.events(won[0].block_number, won[0].block_number, names=["CertificateUtilised"])
        assert [(e.quantity, e.utilised, e.certified) for e in utilised] == [(7_000, 7_000, 12_000)]


# -- the batched view --------------------------------------------------------------------------------


def test_get_utilisations_answers_many_certificates_in_one_call(anvil_node: Any) -> None:
    provider = CountingProvider(anvil_node.url)
    w3 = Web3(provider)
    from ecoo.deploy import deploy_registry
    from ecoo.signers import unlocked_signer

    funder = unlocked_signer(w3)
    authority, customs, issuer = (new_signer(w3, funder) for _ in range(3))
    registry = Registry(w3, deploy_registry(w3, funder, admin=funder.address, authority=authority.address)[0].address)
    registry.grant_customs(authority, customs.address, "NL")
    before_records = w3.eth.block_number
    leaves = [random_hash() for _ in range(30)]
    for i, leaf in enumerate(leaves[:10]):
        registry.record_utilisation(customs, issuer.address, leaf, 1 + i % 3, 1_000 * (i + 1), 10 * (i + 1), random_hash())
    queries = [UtilisationQuery(issuer.address, leaf, (1, 2, 3)) for leaf in leaves]
    provider.calls.clear()
    found = registry.get_utilisations(queries)
    assert provider.calls == {"eth_call": 1}
    assert len(found) == 30 and all(len(items) == 3 for items in found)
    for i in range(10):
        expected = [ItemUtilisation(0, 0)] * 3
        expected[i % 3] = ItemUtilisation(1_000 * (i + 1), 10 * (i + 1))
        assert found[i] == expected
    assert all(items == [ItemUtilisation(0, 0)] * 3 for items in found[10:])
    assert registry.get_utilisation(issuer.address, leaves[4], [2, 3, 1]) == [found[4][1], found[4][2], found[4][0]]
    assert registry.get_utilisations([]) == [] and registry.get_utilisation(issuer.address, leaves[0], []) == []
    # The view at an older block: before the records, nothing.
    assert registry.get_utilisations(queries[:1], block=before_records) == [[ItemUtilisation(0, 0)] * 3]


# -- events ----------------------------------------------------------------------------------------------


@ON_ANVIL
def test_customs_and_issuer_events_decode_and_filter_by_name(w3: Web3, registry: Registry, actors: Actors) -> None:
    customs = _customs(w3, registry, actors)
    issuer, leaf, declaration = actors.issuer.address, random_hash(), random_hash()
    start = w3.eth.block_number + 1
    registry.record_receipt(customs, issuer, leaf, declaration)
    registry.record_utilisation(customs, issuer, leaf, 2, 5_000, 1_500, declaration)
    registry.record_rejection(customs, issuer, leaf, QUANTITY_EXCEEDED, declaration)
    registry.suspend_issuer(actors.authority, actors.other.address)
    registry.reinstate_issuer(actors.authority, actors.other.address)
    registry.anchor(actors.issuer, random_hash())
    end = w3.eth.block_number
    events = registry.events(start, end)
    assert [e.name for e in events] == [
        "CertificateReceived",
        "CertificateUtilised",
        "CertificateRejected",
        "IssuerSuspended",
        "IssuerReinstated",
        "BatchAnchored",
    ]
    received, utilised, rejected, suspended, reinstated, _ = events
    hex_leaf, hex_declaration = "0x" + leaf.hex(), "0x" + declaration.hex()
    for record in (received, utilised, rejected):
        assert (record.issuer, record.subject, record.customs, record.declaration_hash) == (
            issuer,
            hex_leaf,
            customs.address,
            hex_declaration,
        )
    assert (utilised.item, utilised.quantity, utilised.utilised, utilised.certified) == (2, 1_500, 1_500, 5_000)
    assert received.item is None and rejected.code == QUANTITY_EXCEEDED and utilised.code is None
    for issuer_event in (suspended, reinstated):
        assert (issuer_event.issuer, issuer_event.subject) == (actors.other.address, actors.other.address.lower())
    only = registry.events(start, end, names=["CertificateRejected", "IssuerSuspended"])
    assert [e.name for e in only] == ["CertificateRejected", "IssuerSuspended"]
    assert read_events(w3, registry.address, start, end, names=[]) == []
    assert read_events(w3, registry.address, start, end, names=("BatchAnchored",))[0].name == "BatchAnchored"
    with pytest.raises(errors.ConfigurationError, match="CustomsGranted"):
        registry.events(start, end, names=["CustomsGranted"])


# -- the second chain ------------------------------------------------------------------------------------


def test_customs_chain_runs_another_chain_id_with_the_cast_in_place(tmp_path: Path) -> None:
    with customs_chain(tmp_path, chain_id=31338, chamber_country="FR", customs_country="DE") as chain:
        assert chain.w3.eth.chain_id == chain.chain_id == 31338
        assert chain.node.port is not None and chain.node.url.endswith(str(chain.node.port))
        # The well-known keys are the node's own accounts, in order.
        assert [str(a) for a in chain.w3.eth.accounts[: len(ANVIL_KEYS)]] == [anvil_signer(i).address for i in range(6)]
        assert chain.registry.get_issuer(chain.chamber.address).country == "FR"
        assert chain.registry.get_customs(chain.customs.address) == CustomsRecord("DE", True)
        assert chain.registry.is_authority(chain.authority.address) and chain.registry.is_admin(chain.admin.address)
        leaf = os.urandom(32)
        chain.registry.record_receipt(chain.customs, chain.chamber.address, leaf, os.urandom(32))
        assert [e.name for e in chain.registry.events(0, chain.w3.eth.block_number, names=["CertificateReceived"])] == [
            "CertificateReceived"
        ]
        node = chain.node
    assert not node.running
