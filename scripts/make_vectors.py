#!/usr/bin/env python3
"""Regenerate tests/vectors/protocol.json, the pinned known-answer vectors of the certificate
protocol (unit digests, leaf, Merkle root and paths, EIP-712 digest, signature).

Only run this on purpose, after a deliberate protocol change (and bump the protocol version):
the point of the vectors is that they do not change.

    python scripts/make_vectors.py
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_utils.crypto import keccak

from ecoo.documents import to_hex
from ecoo.merkle import MerkleTree
from ecoo.protocol import certificate_digest, compute_leaf, split_units, typed_data, unit_digest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "vectors" / "samples"
#: Anvil's and Hardhat's well-known test account #1 — a PUBLIC test key, never use it for value.
ANVIL_TEST_KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
CHAIN_ID = 31337
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # first contract Anvil's account #0 deploys


def fixed_salt(certificate_number: str, unit: str) -> bytes:
    return keccak(b"ecoo test salt\x00" + certificate_number.encode() + b"\x00" + unit.encode())


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

    def hexify(value: object) -> object:
        if isinstance(value, bytes):
            return to_hex(value)
        if isinstance(value, dict):
            return {k: hexify(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [hexify(v) for v in value]
        return value

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
    out = ROOT / "tests" / "vectors" / "protocol.json"
    out.write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
