"""The certificate protocol off chain: pinned known-answer vectors, hashing properties,
redaction, and EIP-712 checked by independent implementations."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from ecoo.documents import IssuedDocument, hex_bytes
from ecoo.merkle import MerkleTree, verify_proof
from ecoo.protocol import (
    CORE,
    SECP256K1_HALF_ORDER,
    SECP256K1_ORDER,
    ProtocolError,
    build_document,
    certificate_digest,
    compute_leaf,
    expand_redaction,
    prepare,
    recover_signer,
    redact,
    split_units,
    unit_digest,
)

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "protocol.json").read_text(encoding="utf-8"))
SAMPLES = sorted((Path(__file__).resolve().parents[1] / "vectors" / "samples").glob("*.json"))


def _b(hex_string: str) -> bytes:
    return hex_bytes(hex_string)


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["file"])
def test_known_answer_vectors(case: dict[str, Any]) -> None:
    certificate, salts = case["certificate"], {k: _b(v) for k, v in case["salts"].items()}
    units = split_units(certificate)
    assert sorted(units) == sorted(case["digests"])
    for name, value in units.items():
        assert "0x" + unit_digest(name, salts[name], value).hex() == case["digests"][name], name
    leaf = compute_leaf(certificate, salts)
    assert "0x" + leaf.hex() == case["leaf"]
    assert verify_proof(_b(VECTORS["root"]), leaf, [_b(n) for n in case["merklePath"]])
    digest = certificate_digest(VECTORS["chainId"], VECTORS["registry"], leaf, case["number"])
    assert "0x" + digest.hex() == case["eip712Digest"]
    assert recover_signer(digest, _b(case["signature"])) == VECTORS["signer"]


def test_vector_root_is_the_tree_of_the_vector_leaves() -> None:
    tree = MerkleTree.build([_b(c["leaf"]) for c in VECTORS["cases"]])
    assert "0x" + tree.root.hex() == VECTORS["root"]
    assert [["0x" + n.hex() for n in tree.proof(i)] for i in range(len(VECTORS["cases"]))] == [
        c["merklePath"] for c in VECTORS["cases"]
    ]


def _eip712_second_implementation(typed: dict[str, Any]) -> bytes:
    """EIP-712 encoding written from the specification, independent of ecoo.protocol."""

    def encode_type(name: str) -> bytes:
        fields = ",".join(f"{f['type']} {f['name']}" for f in typed["types"][name])
        return f"{name}({fields})".encode()

    def encode_value(kind: str, value: Any) -> bytes:
        if kind == "string":
            return keccak(value.encode())
        if kind == "bytes32":
            return bytes.fromhex(value[2:])
        return abi_encode([kind], [value])

    def hash_struct(name: str, data: dict[str, Any]) -> bytes:
        encoded = b"".join(encode_value(f["type"], data[f["name"]]) for f in typed["types"][name])
        return keccak(keccak(encode_type(name)) + encoded)

    return keccak(
        b"\x19\x01" + hash_struct("EIP712Domain", typed["domain"]) + hash_struct(typed["primaryType"], typed["message"])
    )


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["file"])
def test_eip712_by_independent_implementations(case: dict[str, Any]) -> None:
    typed = case["typedData"]
    assert "0x" + _eip712_second_implementation(typed).hex() == case["eip712Digest"]
    signable = encode_typed_data(full_message=typed)  # eth-account, a standard EIP-712 library
    assert Account.recover_message(signable, signature=_b(case["signature"])) == VECTORS["signer"]


def test_any_single_unit_digest_change_changes_the_leaf() -> None:
    certificate = json.loads(SAMPLES[0].read_text())
    prepared = prepare(certificate)
    for name in split_units(certificate):
        salts = dict(prepared.salts)
        salts[name] = bytes([salts[name][0] ^ 1]) + salts[name][1:]
        assert compute_leaf(certificate, salts) != prepared.leaf, name


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every scalar in a JSON value."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, (*prefix, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths(v, (*prefix, i))]
    return [prefix]


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        document = document[key]
    document[path[-1]] = value


SAMPLE_DATA = [json.loads(p.read_text()) for p in SAMPLES]
PREPARED = [prepare(c) for c in SAMPLE_DATA]


@settings(deadline=None)  # examples: the Hypothesis profile (tests/conftest.py)
@given(st.data())
def test_any_single_field_change_breaks_integrity(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(SAMPLE_DATA) - 1))
    prepared = PREPARED[index]
    path = data.draw(st.sampled_from(_paths(prepared.certificate)))
    altered = copy.deepcopy(prepared.certificate)
    old = path and altered
    for key in path:
        old = old[key]
    new = data.draw(
        st.one_of(st.text(max_size=20), st.integers(-(10**6), 10**12), st.booleans(), st.none()).filter(
            lambda v: v != old or type(v) is not type(old)
        )
    )
    _set(altered, path, new)
    assert compute_leaf(altered, prepared.salts) != prepared.leaf


@settings(max_examples=100, deadline=None)
@given(st.randoms(use_true_random=False))
def test_key_order_and_whitespace_never_change_the_leaf(rng: Any) -> None:
    prepared = PREPARED[1]

    def shuffle(value: Any) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            rng.shuffle(items)
            return {k: shuffle(v) for k, v in items}
        if isinstance(value, list):
            return [shuffle(v) for v in value]
        return value

    text = json.dumps(
        shuffle(prepared.certificate), indent=rng.choice([None, 1, 4]), separators=rng.choice([(",", ":"), (" , ", " : ")])
    )
    assert compute_leaf(json.loads(text), prepared.salts) == prepared.leaf


def _document(prepared: Any) -> dict[str, Any]:
    return build_document(
        prepared,
        chain_id=1,
        registry="0x" + "11" * 20,
        issuer="0x" + "22" * 20,
        root=prepared.leaf,
        merkle_path=[],
        signature=b"\x01" * 65,
    )


@pytest.mark.parametrize(
    "hide",
    [
        ["consignee"],
        ["fob-values", "invoices"],
        [
            "exporter",
            "importer",
            "producer",
            "transport",
            "third-party-invoicing",
            "back-to-back",
            "exporter-declaration",
            "remarks",
            "fob-values",
            "invoices",
        ],
        ["/items/0/fobValue"],
    ],
)
def test_redaction_keeps_the_leaf_and_names_what_is_withheld(hide: list[str]) -> None:
    prepared = PREPARED[1]
    redacted = IssuedDocument.from_json(redact(_document(prepared), hide))
    proof = redacted.proof
    assert compute_leaf(redacted.certificate, proof.salts, proof.withheld) == prepared.leaf
    assert sorted(proof.withheld) == sorted(expand_redaction(prepared.certificate, hide))
    for unit in proof.withheld:
        assert unit not in split_units(redacted.certificate)
    assert CORE not in proof.withheld
    # Redacting again is idempotent for what is already gone, and the original is untouched.
    assert "consignee" in prepared.certificate


def test_redaction_refuses_unknown_parts_and_the_core() -> None:
    document = _document(PREPARED[0])
    for bad in ["certificateNumber", "core", "/items/9/fobValue", "nonsense"]:
        with pytest.raises(ProtocolError, match="cannot hide"):
            redact(document, [bad])


def test_withheld_digest_cannot_replace_a_present_unit() -> None:
    prepared = PREPARED[0]
    salts = dict(prepared.salts)
    with pytest.raises(ProtocolError, match="both present and withheld"):
        compute_leaf(prepared.certificate, salts, {"/consignee": b"\0" * 32})
    del salts["/consignee"]
    with pytest.raises(ProtocolError, match="no salt"):
        compute_leaf(prepared.certificate, salts)
    with pytest.raises(ProtocolError, match="not in the certificate"):
        compute_leaf(prepared.certificate, {**prepared.salts, "/bogus": b"\0" * 32})


def test_bad_signatures_do_not_recover() -> None:
    digest = keccak(b"x")
    for bad in [b"", b"\0" * 64, b"\0" * 64 + b"\x1d", b"\0" * 65]:
        with pytest.raises(ProtocolError):
            recover_signer(digest, bad)


def malleate(signature: bytes) -> bytes:
    """The other valid signature of the same digest by the same key: (r, n - s), v flipped."""
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    return signature[:32] + (SECP256K1_ORDER - s).to_bytes(32, "big") + bytes([55 - v if v >= 27 else v ^ 1])


def test_high_s_signatures_are_refused() -> None:
    """Issue 9, finding 7b: a malleated (high-s) signature recovered to the signer, so ecoo said
    VALID where ethers and OpenZeppelin's ECDSA refuse it (EIP-2)."""
    case = VECTORS["cases"][0]
    digest, signature = _b(case["eip712Digest"]), _b(case["signature"])
    assert int.from_bytes(signature[32:64], "big") <= SECP256K1_HALF_ORDER
    high = malleate(signature)
    assert int.from_bytes(high[32:64], "big") > SECP256K1_HALF_ORDER
    # The malleated signature is a valid ECDSA signature of the same key (eth-keys recovers it)...
    assert Account._recover_hash(digest, signature=high) == VECTORS["signer"]
    # ...but not one ecoo accepts.
    with pytest.raises(ProtocolError, match=r"^signature s is in the upper half of the curve order.*EIP-2"):
        recover_signer(digest, high)
    assert recover_signer(digest, signature) == VECTORS["signer"]
