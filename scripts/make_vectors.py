#!/usr/bin/env python3
"""Regenerate the pinned known-answer vectors of the certificate protocol:

- tests/vectors/protocol.json: the samples' unit digests, leaves, Merkle root and paths, EIP-712
  digests and signatures;
- tests/vectors/hashing-rules.json: one small vector for each hashing rule a second implementation
  would otherwise have to guess (README, "The issued certificate"), each with the wrong answers
  the likely guesses give.

Only run this on purpose, after a deliberate protocol change (and bump the protocol version):
the point of the vectors is that they do not change.

    python scripts/make_vectors.py
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from eth_utils.crypto import keccak

from ecoo.canonical import canonicalize
from ecoo.documents import to_hex
from ecoo.merkle import MerkleTree
from ecoo.protocol import (
    LEAF_DOMAIN,
    UNIT_DOMAIN,
    certificate_digest,
    compute_leaf,
    leaf_from_digests,
    split_units,
    typed_data,
    unit_digest,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "vectors" / "samples"
#: Anvil's and Hardhat's well-known test account #1 — a PUBLIC test key, never use it for value.
ANVIL_TEST_KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
CHAIN_ID = 31337
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # first contract Anvil's account #0 deploys


def fixed_salt(certificate_number: str, unit: str) -> bytes:
    return keccak(b"ecoo test salt\x00" + certificate_number.encode() + b"\x00" + unit.encode())


def hexify(value: object) -> object:
    if isinstance(value, bytes):
        return to_hex(value)
    if isinstance(value, dict):
        return {k: hexify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [hexify(v) for v in value]
    return value


def write_json(name: str, value: object) -> None:
    out = ROOT / "tests" / "vectors" / name
    out.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")


def null_member_vector() -> dict[str, object]:
    """A member whose value is null is a unit like any other: salted, hashed, in the leaf."""
    certificate = {
        "certificateNumber": "VEC-NULL-1",
        "importer": None,
        "items": [{"itemNumber": 1, "invoice": None}],
        "remarks": "Shipped in two lots",
    }
    units = split_units(certificate)
    salts = {name: bytes([i + 1]) * 32 for i, name in enumerate(sorted(units))}
    digests = {name: unit_digest(name, salts[name], value) for name, value in sorted(units.items())}
    without_nulls = {"certificateNumber": "VEC-NULL-1", "items": [{"itemNumber": 1}], "remarks": "Shipped in two lots"}
    kept_salts = {name: salts[name] for name in split_units(without_nulls)}
    return {
        "rule": "A member present with the value null is a unit: it has a salt and a digest of JCS(null), "
        "the four bytes 'null'. Only an absent member is not a unit.",
        "certificate": certificate,
        "salts": salts,
        "canonicalValues": {name: canonicalize(value).decode() for name, value in sorted(units.items())},
        "digests": digests,
        "leafJson": canonicalize({name: to_hex(d) for name, d in digests.items()}).decode(),
        "leaf": compute_leaf(certificate, salts),
        "notThis": {
            "nullMembersLeftOut": compute_leaf(without_nulls, kept_salts),
        },
    }


def lower_case_hex_vector() -> dict[str, object]:
    """The leaf JSON spells each digest as 0x and 64 lower-case hex digits."""
    digests = {"core": b"\xaa" * 32, "/remarks": b"\xbb" * 32}
    leaf_json = canonicalize({name: to_hex(d) for name, d in digests.items()})
    upper_json = canonicalize({name: "0x" + d.hex().upper() for name, d in digests.items()})
    return {
        "rule": "In the leaf JSON each digest is '0x' and 64 lower-case hex digits. An issued document spells "
        "every hash, salt and the signature the same way; a verifier refuses any other spelling.",
        "digests": digests,
        "leafJson": leaf_json.decode(),
        "leafPreimage": LEAF_DOMAIN + leaf_json,
        "leaf": leaf_from_digests(digests),
        "notThis": {"upperCaseDigits": keccak(LEAF_DOMAIN + upper_json)},
        "refusedSpellings": ["0x" + "AA" * 32, "0x" + "Aa" * 32, "0X" + "aa" * 32, "aa" * 32],
    }


def raw_salt_vector() -> dict[str, object]:
    """The salt enters the unit hash as its 32 raw bytes, not as text."""
    name, salt, value = "/remarks", bytes(range(32)), "Shipped in two lots"
    head = UNIT_DOMAIN + name.encode() + b"\x00"
    return {
        "rule": "The salt enters the unit hash as its 32 raw bytes, between the name's 0x00 and JCS(value).",
        "name": name,
        "salt": salt,
        "value": value,
        "preimage": head + salt + canonicalize(value),
        "digest": unit_digest(name, salt, value),
        "notThis": {
            "saltAsHexText": keccak(head + to_hex(salt).encode() + canonicalize(value)),
            "saltAsHexDigits": keccak(head + salt.hex().encode() + canonicalize(value)),
        },
    }


def merkle_order_vector() -> dict[str, object]:
    """Leaves keep issue order, pair left to right, each pair hashed sorted, an odd node promoted."""
    leaves = [bytes([b]) * 32 for b in (0xCC, 0xAA, 0xEE, 0xBB, 0xDD)]
    tree = MerkleTree.build(leaves)

    def root_of(nodes: list[bytes], pair: Callable[[bytes, bytes], bytes], odd: str) -> bytes:
        while len(nodes) > 1:
            if len(nodes) % 2 and odd == "duplicate":
                nodes = [*nodes, nodes[-1]]
            above = [pair(nodes[i], nodes[i + 1]) for i in range(0, len(nodes) - 1, 2)]
            nodes = above + ([nodes[-1]] if len(nodes) % 2 else [])
        return nodes[0]

    def sorted_pair(a: bytes, b: bytes) -> bytes:
        return keccak(min(a, b) + max(a, b))

    return {
        "rule": "The leaves of a batch keep issue order. Each level pairs its nodes left to right (first with "
        "second, third with fourth, ...), each pair hashed as keccak256(min ‖ max); a last node without a "
        "partner moves up unchanged. merklePath lists the siblings met from the leaf up.",
        "leaves": leaves,
        "levels": [list(level) for level in tree.levels],
        "root": tree.root,
        "merklePaths": [list(tree.proof(i)) for i in range(len(leaves))],
        "notThis": {
            "leavesSortedFirst": root_of(sorted(leaves), sorted_pair, "promote"),
            "oddNodeDuplicated": root_of(leaves, sorted_pair, "duplicate"),
            "pairsHashedInPlaceUnsorted": root_of(leaves, lambda a, b: keccak(a + b), "promote"),
        },
    }


def hashing_rule_vectors() -> dict[str, object]:
    return {
        "description": "ecoo certificate protocol v1: one known-answer vector for each hashing rule a second "
        "implementation would otherwise guess (README, 'The issued certificate'). 'notThis' holds the "
        "wrong answers that the likely misreadings give. Bytes are 0x-prefixed lower-case hex; JSON "
        "texts are the exact UTF-8 strings hashed.",
        "unitDomain": UNIT_DOMAIN,
        "leafDomain": LEAF_DOMAIN,
        "nullMembers": null_member_vector(),
        "lowerCaseHex": lower_case_hex_vector(),
        "rawSalt": raw_salt_vector(),
        "merkleOrder": merkle_order_vector(),
    }


def main() -> None:
    signer = Account.from_key(ANVIL_TEST_KEY_1)
    cases = []
    for path in sorted(SAMPLES.glob("*.json")):
        certificate = json.loads(path.read_text(encoding="utf-8"))
        number = certificate["certificateNumber"]
        salts = {name: fixed_salt(number, name) for name in split_units(certificate)}
        digests = {name: unit_digest(name, salts[name], value) for name, value in split_units(certificate).items()}
        leaf = compute_leaf(certificate, salts)
        cases.append(
            {"file": path.name, "certificate": certificate, "number": number, "salts": salts, "digests": digests, "leaf": leaf}
        )
    tree = MerkleTree.build([case["leaf"] for case in cases])
    for index, case in enumerate(cases):
        digest = certificate_digest(CHAIN_ID, REGISTRY, case["leaf"], case["number"])
        case["merklePath"] = tree.proof(index)
        case["eip712Digest"] = digest
        case["typedData"] = typed_data(CHAIN_ID, REGISTRY, case["leaf"], case["number"])
        case["signature"] = bytes(signer.unsafe_sign_hash(digest).signature)

    vectors = {
        "description": "ecoo certificate protocol v1 known-answer vectors (see README, 'The issued certificate'). "
        "Salts are fixed for reproducibility: keccak256('ecoo test salt' 0x00 number 0x00 unit). "
        "The signer is Anvil's PUBLIC test account #1.",
        "chainId": CHAIN_ID,
        "registry": REGISTRY,
        "signer": signer.address,
        "root": hexify(tree.root),
        "cases": [hexify({k: v for k, v in case.items() if k != "file"}) | {"file": case["file"]} for case in cases],
    }
    write_json("protocol.json", vectors)
    write_json("hashing-rules.json", hexify(hashing_rule_vectors()))


if __name__ == "__main__":
    main()
