"""Off-chain pieces: revert decoding by selector, the Merkle mirror, settings, deployment records."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from ecoo import errors
from ecoo.artifacts import load_artifact
from ecoo.deploy import Deployment, load_deployment, save_deployment
from ecoo.merkle import MerkleTree, verify_proof
from ecoo.registry import RevertDecoder
from ecoo.settings import DEFAULT_RPC_URL, Settings

ABI = load_artifact("EcooRegistry")["abi"]


def _error_items() -> list[dict]:  # type: ignore[type-arg]
    return [item for item in ABI if item["type"] == "error"]


def test_every_contract_error_has_a_typed_exception_and_unique_selector() -> None:
    decoder = RevertDecoder(ABI)
    assert len(decoder.selectors) == len(_error_items())
    assert set(decoder.selectors.values()) == {item["name"] for item in _error_items()}


@pytest.mark.parametrize("item", _error_items(), ids=lambda item: item["name"])
def test_revert_data_decodes_by_selector(item: dict) -> None:  # type: ignore[type-arg]
    samples = {
        "address": "0x" + "ab" * 20,
        "bytes32": b"\x11" * 32,
        "uint8": 3,
        "string": "too long",
        "bytes2": b"DE",
        "uint16": 7,
        "uint128": 12_000,
    }
    types = [inp["type"] for inp in item["inputs"]]
    data = keccak(text=f"{item['name']}({','.join(types)})")[:4] + encode(types, [samples[t] for t in types])
    decoded = RevertDecoder(ABI).decode("0x" + data.hex())
    assert isinstance(decoded, errors.RegistryRevert) and decoded.solidity_name == item["name"]
    assert str(decoded)  # builds its own message from the values
    assert RevertDecoder(ABI).decode({"message": "hardhat", "data": "0x" + data.hex()}) is not None


@pytest.mark.parametrize("junk", [None, "", "0x", "0x1234", "nothex", b"\x00\x00\x00\x00", "0xd4b8c7bb00"])
def test_unknown_or_malformed_revert_data_is_not_guessed(junk: object) -> None:
    assert RevertDecoder(ABI).decode(junk) is None


@settings(max_examples=60, deadline=None)
@given(st.sets(st.binary(min_size=32, max_size=32), min_size=1, max_size=70))
def test_every_leaf_has_a_proof_to_the_root(leaves: set[bytes]) -> None:
    ordered = sorted(leaves)
    tree = MerkleTree.build(ordered)
    for index, leaf in enumerate(ordered):
        proof = tree.proof(index)
        assert verify_proof(tree.root, leaf, proof)
        assert len(proof) <= max(1, len(ordered) - 1).bit_length()


def test_merkle_tree_refuses_bad_leaves() -> None:
    with pytest.raises(ValueError, match="at least one"):
        MerkleTree.build([])
    with pytest.raises(ValueError, match="duplicate"):
        MerkleTree.build([b"\1" * 32, b"\1" * 32])
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleTree.build([b"short"])
    with pytest.raises(IndexError):
        MerkleTree.build([b"\1" * 32]).proof(1)


def test_settings_resolve_rpc_url(tmp_path: Path) -> None:
    settings_ = Settings.from_env({"ECOO_DATA_DIR": str(tmp_path)})
    assert settings_.resolve_rpc_url() == DEFAULT_RPC_URL
    settings_.node_file.write_text('{"url": "http://127.0.0.1:9999"}')
    assert settings_.resolve_rpc_url() == "http://127.0.0.1:9999"
    assert Settings.from_env({"ECOO_RPC_URL": "http://x:1"}).resolve_rpc_url() == "http://x:1"
    assert settings_.resolve_rpc_url("http://explicit:2") == "http://explicit:2"


def test_deployment_record_round_trip_and_corruption(tmp_path: Path) -> None:
    record = Deployment(
        contract="EcooRegistry",
        chain_id=5,
        address="0x" + "12" * 20,
        deploy_tx="0x" + "34" * 32,
        block=7,
        block_hash="0x" + "56" * 32,
        abi_hash="0xaa",
        bytecode_hash="0xbb",
        code_hash="0xcc",
        genesis_hash="0xdd",
        solc_version="0.8.30",
        admin="0x" + "01" * 20,
        authority="0x" + "02" * 20,
        deployed_at="2026-01-01T00:00:00+00:00",
    )
    path = save_deployment(tmp_path, record)
    assert path.name == "5.json" and '"chainId": 5' in path.read_text()
    assert load_deployment(tmp_path, 5) == record
    path.write_text("{not json")
    with pytest.raises(errors.ConfigurationError, match="not valid"):
        load_deployment(tmp_path, 5)
    assert load_deployment(tmp_path, 6) is None


def test_fast_signing_equals_eth_account() -> None:
    import os

    from eth_account import Account
    from eth_typing import Hash32

    from ecoo.signers import LocalSigner

    account = Account.create()
    signer = LocalSigner(account)
    for _ in range(50):
        digest = os.urandom(32)
        assert signer.sign_digest(digest) == bytes(account.unsafe_sign_hash(Hash32(digest)).signature)


def test_fast_keccak_equals_eth_utils() -> None:
    import os

    from eth_utils.crypto import keccak as reference

    from ecoo.hashing import keccak

    for size in (0, 1, 31, 32, 33, 135, 136, 137, 1000):
        data = os.urandom(size)
        assert keccak(data) == reference(data)


def test_hand_encoded_verification_abi_matches_the_artifact() -> None:
    from eth_utils.abi import get_abi_output_types
    from eth_utils.crypto import keccak

    from ecoo import registry as r

    by_name = {item["name"]: item for item in ABI if item["type"] == "function"}
    for name, selector, suffix in (
        ("verifyCertificate", r.VERIFY_CERTIFICATE_SELECTOR, ""),
        ("verifyCertificates", r.VERIFY_CERTIFICATES_SELECTOR, "[]"),
    ):
        item = by_name[name]
        assert get_abi_output_types(item) == [r.CERTIFICATE_STATE_TYPE + suffix]
        inputs = item["inputs"][0]
        components = ",".join(c["type"] for c in inputs["components"])
        assert f"({components}){suffix}" == r.CERTIFICATE_QUERY_TYPE + suffix
        assert keccak(text=f"{name}({r.CERTIFICATE_QUERY_TYPE}{suffix})")[:4] == selector
