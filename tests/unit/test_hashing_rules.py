"""The four hashing rules a second implementation had to guess (README, "The issued certificate"):
null members are units, digests are lower-case hex (other spellings refused), a salt is hashed as
its 32 raw bytes, and a batch's leaves keep issue order, pair left to right, an odd node promoted.

Each rule has a known-answer vector in tests/vectors/hashing-rules.json, checked three ways: the
generator (scripts/make_vectors.py) still writes the file byte for byte; ecoo's code gives the
stored answers; and a recomputation in this file, written from the README's words with its own
keccak (pycryptodome) and its own canonical JSON, gives them too. So the README's description is
what is tested, not only the code. Each vector also stores the answers the likely misreadings give
(``notThis``); they are recomputed here and must differ from the right one.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from Crypto.Hash import keccak as pycryptodome_keccak

from ecoo.canonical import canonicalize
from ecoo.documents import IssuedDocument, ProtocolError
from ecoo.merkle import MerkleTree, verify_proof
from ecoo.protocol import Prepared, build_document, compute_leaf, leaf_from_digests, redact, split_units, unit_digest
from ecoo.verify import CheckStatus, Verdict, Verifier

ROOT = Path(__file__).resolve().parents[2]
RULES = json.loads((ROOT / "tests" / "vectors" / "hashing-rules.json").read_text(encoding="utf-8"))
PROTOCOL = json.loads((ROOT / "tests" / "vectors" / "protocol.json").read_text(encoding="utf-8"))


def _b(hex_string: str) -> bytes:
    return bytes.fromhex(hex_string.removeprefix("0x"))


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


# -- the README's words, implemented again -----------------------------------------------------

# README, step 1: the redactable members, top level and per item.
README_TOP_LEVEL = (
    "exporter",
    "consignee",
    "importer",
    "producer",
    "transport",
    "thirdPartyInvoicing",
    "backToBack",
    "exporterDeclaration",
    "remarks",
)
README_ITEM_MEMBERS = ("fobValue", "invoice")


def keccak256(data: bytes) -> bytes:
    return bytes(pycryptodome_keccak.new(digest_bits=256, data=data).digest())


def jcs(value: Any) -> bytes:
    """RFC 8785 for the vectors' values (ASCII keys, strings, small integers, null): keys sorted,
    no whitespace, UTF-8. Code-point order is UTF-16 order for these keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def readme_units(certificate: dict[str, Any]) -> dict[str, Any]:
    """Step 1, and the rule "a member is a unit when it is present, whatever its value, null too"."""
    core = copy.deepcopy(certificate)
    units: dict[str, Any] = {}
    for member in README_TOP_LEVEL:
        if member in core:  # present: null counts
            units["/" + member] = core.pop(member)
    for i, item in enumerate(core.get("items", [])):
        for member in README_ITEM_MEMBERS:
            if member in item:
                units[f"/items/{i}/{member}"] = item.pop(member)
    units["core"] = core
    return units


def readme_unit_digest(name: str, salt: bytes, value: Any) -> bytes:
    """Step 2: keccak256("ecoo/unit/v1" ‖ 0x00 ‖ name ‖ 0x00 ‖ salt ‖ JCS(value)), the salt as its 32 raw bytes."""
    assert len(salt) == 32
    return keccak256(b"ecoo/unit/v1" + b"\x00" + name.encode("utf-8") + b"\x00" + salt + jcs(value))


def readme_leaf_json(digests: dict[str, bytes]) -> bytes:
    """Step 3's JSON: each digest as "0x" and 64 lower-case hex digits."""
    return jcs({name: "0x" + digest.hex().lower() for name, digest in digests.items()})


def readme_leaf(digests: dict[str, bytes]) -> bytes:
    return keccak256(b"ecoo/leaf/v1" + b"\x00" + readme_leaf_json(digests))


def readme_pair(a: bytes, b: bytes) -> bytes:
    """Step 4: the two nodes of a pair hashed smaller first."""
    return keccak256(min(a, b) + max(a, b))


def readme_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Step 4: leaves in issue order; each level pairs first with second, third with fourth, …;
    a last node without a partner moves up unchanged."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [readme_pair(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def readme_path(levels: list[list[bytes]], index: int) -> list[bytes]:
    """merklePath: the sibling met on each level from the leaf up (none where the node was promoted)."""
    path = []
    for level in levels[:-1]:
        if index ^ 1 < len(level):
            path.append(level[index ^ 1])
        index //= 2
    return path


# -- the vectors file is what the generator writes ---------------------------------------------


def test_the_generator_writes_the_stored_vectors() -> None:
    spec = importlib.util.spec_from_file_location("make_vectors", ROOT / "scripts" / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    make_vectors = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_vectors)
    assert make_vectors.hexify(make_vectors.hashing_rule_vectors()) == RULES
    assert (_b(RULES["unitDomain"]), _b(RULES["leafDomain"])) == (b"ecoo/unit/v1\x00", b"ecoo/leaf/v1\x00")


# -- 1. a member whose value is null is a unit ----------------------------------------------------

NULLS = RULES["nullMembers"]


def test_null_members_by_the_code() -> None:
    certificate, salts = NULLS["certificate"], {name: _b(s) for name, s in NULLS["salts"].items()}
    units = split_units(certificate)
    assert sorted(units) == sorted(NULLS["digests"]) == ["/importer", "/items/0/invoice", "/remarks", "core"]
    assert {name: canonicalize(value).decode() for name, value in units.items()} == NULLS["canonicalValues"]
    digests = {name: unit_digest(name, salts[name], value) for name, value in units.items()}
    assert {name: _hex(d) for name, d in digests.items()} == NULLS["digests"]
    assert canonicalize({name: _hex(d) for name, d in digests.items()}).decode() == NULLS["leafJson"]
    assert _hex(compute_leaf(certificate, salts)) == _hex(leaf_from_digests(digests)) == NULLS["leaf"]


def test_null_members_by_the_readme() -> None:
    certificate, salts = NULLS["certificate"], {name: _b(s) for name, s in NULLS["salts"].items()}
    units = readme_units(certificate)
    assert {name: jcs(value).decode() for name, value in units.items()} == NULLS["canonicalValues"]
    assert jcs(None) == b"null"
    digests = {name: readme_unit_digest(name, salts[name], value) for name, value in units.items()}
    assert {name: _hex(d) for name, d in digests.items()} == NULLS["digests"]
    assert readme_leaf_json(digests).decode() == NULLS["leafJson"]
    assert _hex(readme_leaf(digests)) == NULLS["leaf"]
    # The misreading: null taken for absent, so those members have no unit.
    present = {name: d for name, d in digests.items() if units[name] is not None}
    assert _hex(readme_leaf(present)) == NULLS["notThis"]["nullMembersLeftOut"] != NULLS["leaf"]


# -- 2. digests are lower-case hex, and the verifier refuses other spellings -----------------------

LOWER = RULES["lowerCaseHex"]


def test_lower_case_hex_in_the_leaf_json() -> None:
    digests = {name: _b(d) for name, d in LOWER["digests"].items()}
    assert _hex(leaf_from_digests(digests)) == LOWER["leaf"]  # the code
    assert readme_leaf_json(digests).decode() == LOWER["leafJson"]  # the README
    assert _hex(b"ecoo/leaf/v1\x00" + readme_leaf_json(digests)) == LOWER["leafPreimage"]
    assert _hex(readme_leaf(digests)) == LOWER["leaf"]
    upper = jcs({name: "0x" + digest.hex().upper() for name, digest in digests.items()})
    assert _hex(keccak256(b"ecoo/leaf/v1\x00" + upper)) == LOWER["notThis"]["upperCaseDigits"] != LOWER["leaf"]


def _issued_document() -> dict[str, Any]:
    """The first protocol vector as an issued document (all of it lower-case, as ecoo writes it)."""
    case = PROTOCOL["cases"][0]
    prepared = Prepared(copy.deepcopy(case["certificate"]), {k: _b(v) for k, v in case["salts"].items()}, _b(case["leaf"]))
    return build_document(
        prepared,
        chain_id=PROTOCOL["chainId"],
        registry=PROTOCOL["registry"],
        issuer=PROTOCOL["signer"],
        root=_b(PROTOCOL["root"]),
        merkle_path=[_b(node) for node in case["merklePath"]],
        signature=_b(case["signature"]),
    )


def _respelled(document: dict[str, Any], where: str, spell: Any) -> dict[str, Any]:
    """A copy of ``document`` with the hex string at JSON pointer ``where`` replaced by ``spell(it)``."""
    document = copy.deepcopy(document)
    *parents, last = where.split("/")[1:]
    target: Any = document
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    key: Any = int(last) if isinstance(target, list) else last.replace("~1", "/")
    target[key] = spell(target[key])
    return document


# Every hex member of the proof that ecoo reads as bytes (the withheld digest on a redacted copy).
HEX_MEMBERS = [
    "/proof/root",
    "/proof/leaf",
    "/proof/merklePath/0",
    "/proof/salts/core",
    "/proof/salts/~1items~10~1invoice",
    "/proof/withheld/~1consignee",
    "/proof/signature",
]
CASE_SPELLINGS = {
    "upper case": lambda h: "0x" + h[2:].upper(),
    "mixed case": lambda h: "0x" + "".join(c.upper() if i % 2 else c for i, c in enumerate(h[2:])),
}


def _document_with(where: str) -> dict[str, Any]:
    document = _issued_document()
    return redact(document, ["consignee"]) if where.startswith("/proof/withheld") else document


@pytest.mark.parametrize("where", HEX_MEMBERS)
def test_lower_case_documents_verify(where: str) -> None:
    """The baseline of the next test: the same document in ecoo's spelling passes the offline checks."""
    report = Verifier.offline("no chain in this test").verify(_document_with(where))
    assert [c.status for c in report.checks[:3]] == [CheckStatus.PASSED] * 3, report.to_json()


@pytest.mark.parametrize("spelling", sorted(CASE_SPELLINGS))
@pytest.mark.parametrize("where", HEX_MEMBERS)
def test_other_spellings_fail_the_format_check(where: str, spelling: str) -> None:
    """Regression: these read as the same bytes and verified (format, integrity and signature
    passed, so VALID on a chain). Now the format check fails: INVALID."""
    document = _respelled(_document_with(where), where, CASE_SPELLINGS[spelling])
    message = f"{where.replace('~1', '/')}: expected lower-case hex digits (other spellings are refused, not normalised)"
    with pytest.raises(ProtocolError) as raised:
        IssuedDocument.from_json(document)
    assert str(raised.value) == message
    report = Verifier.offline("no chain in this test").verify(document)
    assert (report.verdict, report.failed_check, report.check("format").message) == (Verdict.INVALID, "format", message)


@pytest.mark.parametrize("spelling", LOWER["refusedSpellings"])
@pytest.mark.parametrize("where", ["/proof/root", "/proof/merklePath/0", "/proof/salts/core", "/proof/withheld/~1consignee"])
def test_the_vectors_refused_spellings_are_refused(where: str, spelling: str) -> None:
    document = _respelled(_document_with(where), where, lambda _: spelling)
    report = Verifier.offline("no chain in this test").verify(document)
    assert (report.verdict, report.failed_check) == (Verdict.INVALID, "format")
    assert report.check("format").message.startswith(where.replace("~1", "/") + ": expected ")


# -- 3. a salt enters the hash as its 32 raw bytes ------------------------------------------------

SALT = RULES["rawSalt"]


def test_raw_salt() -> None:
    name, salt, value = SALT["name"], _b(SALT["salt"]), SALT["value"]
    assert _hex(unit_digest(name, salt, value)) == SALT["digest"]  # the code
    head = b"ecoo/unit/v1" + b"\x00" + name.encode("utf-8") + b"\x00"
    assert _hex(head + salt + jcs(value)) == SALT["preimage"]  # the README, byte for byte
    assert len(_b(SALT["preimage"])) == len(head) + 32 + len(jcs(value))
    assert _hex(readme_unit_digest(name, salt, value)) == SALT["digest"]
    # The misreadings: the salt as its JSON text, with or without the prefix.
    wrong = SALT["notThis"]
    assert _hex(keccak256(head + SALT["salt"].encode() + jcs(value))) == wrong["saltAsHexText"] != SALT["digest"]
    assert _hex(keccak256(head + SALT["salt"][2:].encode() + jcs(value))) == wrong["saltAsHexDigits"] != SALT["digest"]


# -- 4. leaves keep issue order, pair left to right, an odd node promoted ---------------------------

MERKLE = RULES["merkleOrder"]


def test_merkle_order_by_the_code() -> None:
    leaves = [_b(leaf) for leaf in MERKLE["leaves"]]
    tree = MerkleTree.build(leaves)
    assert tree.leaves == tuple(leaves)  # issue order, not sorted
    assert [[_hex(node) for node in level] for level in tree.levels] == MERKLE["levels"]
    assert _hex(tree.root) == MERKLE["root"]
    for index, path in enumerate(MERKLE["merklePaths"]):
        assert [_hex(node) for node in tree.proof(index)] == path
        assert verify_proof(tree.root, leaves[index], [_b(node) for node in path])


def test_merkle_order_by_the_readme() -> None:
    leaves = [_b(leaf) for leaf in MERKLE["leaves"]]
    levels = readme_levels(leaves)
    assert [[_hex(node) for node in level] for level in levels] == MERKLE["levels"]
    assert _hex(levels[-1][0]) == MERKLE["root"]
    assert [[_hex(n) for n in readme_path(levels, i)] for i in range(len(leaves))] == MERKLE["merklePaths"]
    # The last leaf is promoted twice, so its path has one sibling, the root's other half.
    assert levels[1][-1] == levels[2][-1] == leaves[-1] and len(MERKLE["merklePaths"][-1]) == 1


def _root_misread(leaves: list[bytes], *, pair: Any = readme_pair, duplicate_odd: bool = False) -> bytes:
    nodes = list(leaves)
    while len(nodes) > 1:
        if len(nodes) % 2 and duplicate_odd:
            nodes.append(nodes[-1])
        above = [pair(nodes[i], nodes[i + 1]) for i in range(0, len(nodes) - 1, 2)]
        nodes = above + ([nodes[-1]] if len(nodes) % 2 else [])
    return nodes[0]


def test_merkle_misreadings_give_other_roots() -> None:
    leaves = [_b(leaf) for leaf in MERKLE["leaves"]]
    wrong = MERKLE["notThis"]
    assert _hex(_root_misread(sorted(leaves))) == wrong["leavesSortedFirst"]
    assert _hex(_root_misread(leaves, duplicate_odd=True)) == wrong["oddNodeDuplicated"]
    assert _hex(_root_misread(leaves, pair=lambda a, b: keccak256(a + b))) == wrong["pairsHashedInPlaceUnsorted"]
    assert MERKLE["root"] not in wrong.values() and len(set(wrong.values())) == len(wrong)


# -- the README states each rule with its vector -------------------------------------------------


def test_the_readme_states_each_vector() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "tests/vectors/hashing-rules.json" in readme
    for answer in (NULLS["leaf"], LOWER["leaf"], SALT["digest"], MERKLE["root"]):
        assert answer in readme
