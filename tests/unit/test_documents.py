"""The issued document as typed records: from_json reads exactly what the verifier accepts (with
its messages), to_json writes the JSON ecoo has always written, and hex spellings are strict."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ecoo.documents import FORMAT, PROOF_TYPE, DocumentClaims, IssuedDocument, Proof, ProtocolError, hex_bytes
from ecoo.protocol import Prepared, build_document, redact
from ecoo.verify import CheckStatus, Verifier

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "protocol.json").read_text(encoding="utf-8"))
CASES = VECTORS["cases"]


def _b(hex_string: str) -> bytes:
    return bytes.fromhex(hex_string[2:])


def _document(case: dict[str, Any]) -> dict[str, Any]:
    """The issued document of a vector case, as build_document writes it."""
    prepared = Prepared(copy.deepcopy(case["certificate"]), {k: _b(v) for k, v in case["salts"].items()}, _b(case["leaf"]))
    return build_document(
        prepared,
        chain_id=VECTORS["chainId"],
        registry=VECTORS["registry"],
        issuer=VECTORS["signer"],
        root=_b(VECTORS["root"]),
        merkle_path=[_b(node) for node in case["merklePath"]],
        signature=_b(case["signature"]),
    )


def _as_written_before_the_records(case: dict[str, Any]) -> dict[str, Any]:
    """The document literal build_document wrote before the records existed (pins member order)."""
    return {
        "ecoo": "ecoo/certificate-of-origin/v1",
        "certificate": case["certificate"],
        "proof": {
            "type": "EcooRegistryProof/v1",
            "chainId": VECTORS["chainId"],
            "registry": VECTORS["registry"],
            "issuer": VECTORS["signer"],
            "root": VECTORS["root"],
            "leaf": case["leaf"],
            "merklePath": case["merklePath"],
            "salts": dict(sorted(case["salts"].items())),
            "withheld": {},
            "signature": case["signature"],
            "typedData": case["typedData"],
        },
    }


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["file"])
def test_build_document_writes_the_same_bytes_as_before(case: dict[str, Any]) -> None:
    assert _dump(_document(case)) == _dump(_as_written_before_the_records(case))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["file"])
def test_round_trip_is_byte_identical_and_typed(case: dict[str, Any]) -> None:
    document = _document(case)
    issued = IssuedDocument.from_json(document)
    assert _dump(issued.to_json()) == _dump(document)
    assert IssuedDocument.from_json(issued.to_json()) == issued
    proof = issued.proof
    assert (proof.chain_id, proof.registry, proof.issuer) == (VECTORS["chainId"], VECTORS["registry"], VECTORS["signer"])
    assert (proof.root, proof.leaf, proof.signature) == (_b(VECTORS["root"]), _b(case["leaf"]), _b(case["signature"]))
    assert proof.merkle_path == tuple(_b(node) for node in case["merklePath"])
    assert proof.salts == {k: _b(v) for k, v in case["salts"].items()} and proof.withheld == {}
    assert issued.number == case["number"]
    report = Verifier.offline("no chain in this test").verify(document)
    assert [c.status for c in report.checks[:3]] == [CheckStatus.PASSED] * 3, report.to_json()


def test_round_trip_of_a_redacted_document() -> None:
    redacted = redact(_document(CASES[0]), ["consignee", "fob-values"])
    issued = IssuedDocument.from_json(redacted)
    assert _dump(issued.to_json()) == _dump(redacted)
    assert sorted(issued.proof.withheld) == ["/consignee", "/items/0/fobValue"]
    assert all(len(digest) == 32 for digest in issued.proof.withheld.values())


def test_unknown_proof_members_are_kept() -> None:
    # Upper-case hex is refused, not normalised: tests/unit/test_hashing_rules.py.
    document = _document(CASES[0])
    document["proof"]["anchorTx"] = {"hash": "0x01"}
    written = IssuedDocument.from_json(document).to_json()
    assert written["proof"]["anchorTx"] == {"hash": "0x01"}


def test_records_compare_by_value() -> None:
    first, second = (IssuedDocument.from_json(_document(CASES[0])) for _ in range(2))
    assert first == second and first.proof is not second.proof
    assert isinstance(first.proof, Proof) and Proof.from_json(_document(CASES[0])["proof"]) == first.proof


# -- hex spellings -------------------------------------------------------------------------------

HASH = "ab" * 32


@pytest.mark.parametrize(
    "value",
    [
        "0x" + HASH.upper(),
        "0x" + "aB" * 32,
    ],
)
def test_hex_bytes_reads_either_case(value: str) -> None:
    assert hex_bytes(value, 32) == bytes.fromhex(HASH)


@pytest.mark.parametrize(
    "value",
    [
        HASH,  # no prefix
        "0X" + HASH,  # upper-case prefix
        "0x" + HASH[:-1],  # odd number of digits
        "0x" + HASH[:-2],  # 31 bytes
        "0x" + HASH + "ab",  # 33 bytes
        "0x" + HASH + "\n",  # trailing newline (re's $ would have let it through)
        " 0x" + HASH,
        "0x" + HASH[:30] + " " + HASH[32:],  # bytes.fromhex would skip the space
        "0x" + HASH[:-1] + "g",
        "0x" + "٠" * 64,  # Unicode digits are not hex digits
        None,
        32,
        b"\xab" * 32,
        ["0x" + HASH],
    ],
)
def test_hex_bytes_rejects_bad_spellings(value: object) -> None:
    with pytest.raises(ProtocolError, match=r"^/proof/root: expected a 0x-prefixed 32-byte hex string$"):
        hex_bytes(value, 32, where="/proof/root")


def test_hex_bytes_without_a_length() -> None:
    assert hex_bytes("0x") == b""
    assert hex_bytes("0x00ff") == b"\x00\xff"
    with pytest.raises(ProtocolError, match=r"^value: expected a 0x-prefixed hex string$"):
        hex_bytes("0x0")


# -- rejection, with the verifier's messages ------------------------------------------------------


def _mutated(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = _document(CASES[0])
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


_DELETE = object()
REJECTED: list[tuple[tuple[Any, ...], Any, str]] = [
    (("ecoo",), "ecoo/other", f'/ecoo: expected "{FORMAT}" (is this an issued ecoo certificate?)'),
    (("extra",), 1, "unexpected member(s) extra next to certificate and proof"),
    (("certificate",), [], "/certificate: expected an object"),
    (("proof",), _DELETE, "/proof: expected an object"),
    (("proof", "type"), "other", f'/proof/type: expected "{PROOF_TYPE}"'),
    (("proof", "chainId"), True, "/proof/chainId: expected a positive integer"),
    (("proof", "chainId"), 0, "/proof/chainId: expected a positive integer"),
    (("proof", "registry"), VECTORS["registry"].lower(), "/proof/registry: expected a checksummed 0x address"),
    (("proof", "issuer"), None, "/proof/issuer: expected a checksummed 0x address"),
    (("proof", "root"), HASH, "/proof/root: expected a 0x-prefixed 32-byte hex string"),
    (("proof", "leaf"), "0x" + HASH + "\n", "/proof/leaf: expected a 0x-prefixed 32-byte hex string"),
    (("proof", "merklePath"), {}, "/proof/merklePath: expected a list of at most 64 hashes"),
    (("proof", "merklePath"), ["0x" + HASH] * 65, "/proof/merklePath: expected a list of at most 64 hashes"),
    (("proof", "merklePath"), ["0x" + HASH, "0x12"], "/proof/merklePath/1: expected a 0x-prefixed 32-byte hex string"),
    (("proof", "salts"), [], "/proof/salts: expected an object"),
    (("proof", "salts", "core"), "0x" + HASH[:-2], "/proof/salts/core: expected a 0x-prefixed 32-byte hex string"),
    (("proof", "withheld"), _DELETE, "/proof/withheld: expected an object"),
    (("proof", "withheld", "/remarks"), 5, "/proof/withheld//remarks: expected a 0x-prefixed 32-byte hex string"),
    (("proof", "signature"), "0x" + "ab" * 64, "/proof/signature: expected a 0x-prefixed 65-byte hex signature"),
    (("proof", "typedData"), "{}", "/proof/typedData: expected the EIP-712 typed data object"),
]


@pytest.mark.parametrize(("path", "value", "message"), REJECTED, ids=lambda v: "/".join(v) if isinstance(v, tuple) else None)
def test_from_json_rejects_with_the_verifiers_message(path: tuple[Any, ...], value: Any, message: str) -> None:
    document = _mutated(path, value)
    with pytest.raises(ProtocolError) as raised:
        IssuedDocument.from_json(document)
    assert str(raised.value) == message
    report = Verifier.offline("no chain in this test").verify(document)
    assert (report.failed_check, report.check("format").message) == ("format", message)


@pytest.mark.parametrize("value", [None, 5, "text", [], ["ecoo"]])
def test_from_json_rejects_what_is_not_an_object(value: Any) -> None:
    with pytest.raises(ProtocolError, match=r"^expected an issued certificate \(a JSON object\), got "):
        IssuedDocument.from_json(value)
    with pytest.raises(ProtocolError, match=r"^/proof: expected an object$"):
        Proof.from_json(value)


def test_claims_keep_what_was_read_before_the_error() -> None:
    claims = DocumentClaims()
    with pytest.raises(ProtocolError, match="/proof/leaf"):
        IssuedDocument.from_json(_mutated(("proof", "leaf"), "0x"), claims)
    assert claims == DocumentClaims(
        number=CASES[0]["number"],
        chain_id=VECTORS["chainId"],
        registry=VECTORS["registry"],
        issuer=VECTORS["signer"],
        root=_b(VECTORS["root"]),
        leaf=None,
    )
    report = Verifier.offline("no chain in this test").verify(_mutated(("proof", "leaf"), "0x"))
    assert (report.certificate_number, report.root, report.leaf) == (CASES[0]["number"], VECTORS["root"], None)


def test_redact_refuses_a_malformed_document() -> None:
    with pytest.raises(ProtocolError, match=r"^/proof/salts/core: "):
        redact(_mutated(("proof", "salts", "core"), "0x00"), ["consignee"])
