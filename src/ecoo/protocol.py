"""The issued certificate: disclosure units, salted digests, the leaf, redaction and EIP-712.

Construction (version 1), precise enough to re-implement (see README, "The issued certificate"):

1. The certificate splits into *units*. Each redactable part is a unit named by its JSON Pointer:
   the top-level members in ``REDACTABLE_TOP_LEVEL`` that the certificate has, and for every item
   ``i`` the members ``/items/<i>/fobValue`` and ``/items/<i>/invoice`` it has (a member whose
   value is null counts: it is a unit). The unit named ``core`` is the rest: the certificate with
   every redactable unit removed.
2. Each unit gets a fresh 32-byte random salt and a digest
   ``keccak256("ecoo/unit/v1" 0x00 name 0x00 salt JCS(value))`` (JCS = RFC 8785, strings UTF-8;
   the salt as its 32 raw bytes).
3. ``leaf = keccak256("ecoo/leaf/v1" 0x00 JCS({name: "0x" + hex(digest), ...}))`` over all units,
   the hex in lower case (the only spelling a document may carry, see ``ecoo.documents``).
4. The issuer signs the EIP-712 message ``Certificate(bytes32 leaf,string number)`` in the domain
   ``{name: "ecoo", version: "1", chainId, verifyingContract: registry}``.

Redacting a unit removes its value from the certificate and its salt from the proof and records
its digest under ``proof.withheld``: the leaf, and so the anchored root and the signature, still
verify, and the verifier names the withheld units.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from eth_keys.datatypes import Signature

from .canonical import canonicalize
from .documents import FORMAT as FORMAT  # re-exported: defined with the records they name
from .documents import PROOF_TYPE as PROOF_TYPE
from .documents import IssuedDocument, Proof, hex_bytes
from .errors import ProtocolError
from .hashing import checksum_address as to_checksum_address
from .hashing import keccak
from .units import CORE as CORE
from .units import REDACTABLE_ITEM_FIELDS as REDACTABLE_ITEM_FIELDS
from .units import REDACTABLE_TOP_LEVEL as REDACTABLE_TOP_LEVEL
from .units import REDACTION_GROUPS as REDACTION_GROUPS

UNIT_DOMAIN = b"ecoo/unit/v1\x00"
LEAF_DOMAIN = b"ecoo/leaf/v1\x00"

EIP712_NAME = "ecoo"
EIP712_VERSION = "1"
EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Certificate": [{"name": "leaf", "type": "bytes32"}, {"name": "number", "type": "string"}],
}
# keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
# keccak256("Certificate(bytes32 leaf,string number)"), as in EcooRegistry._CERTIFICATE_TYPEHASH
_CERTIFICATE_TYPEHASH = keccak(b"Certificate(bytes32 leaf,string number)")
#: The order n of secp256k1, and n // 2: the largest ``s`` a signature may have (EIP-2).
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_ORDER = SECP256K1_ORDER // 2


# -- units, digests, leaf ----------------------------------------------------------------------


def _item_units(certificate: Mapping[str, Any]) -> Iterable[tuple[str, int, str]]:
    items = certificate.get("items")
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                for field in REDACTABLE_ITEM_FIELDS:
                    if field in item:
                        yield f"/items/{index}/{field}", index, field


def split_units(certificate: Mapping[str, Any]) -> dict[str, Any]:
    """The certificate's units by name: ``core`` plus every redactable part it has."""
    units: dict[str, Any] = {}
    core = dict(certificate)
    for key in REDACTABLE_TOP_LEVEL:
        if key in core:
            units["/" + key] = core.pop(key)
    items = core.get("items")
    if isinstance(items, list):
        core["items"] = [dict(item) if isinstance(item, dict) else item for item in items]
        for name, index, field in _item_units(certificate):
            units[name] = core["items"][index].pop(field)
    units[CORE] = core
    return units


def unit_digest(name: str, salt: bytes, value: Any) -> bytes:
    """``keccak256("ecoo/unit/v1" 0x00 name 0x00 salt JCS(value))``."""
    if len(salt) != 32:
        raise ProtocolError(f"salt of unit {name!r} must be 32 bytes")
    return keccak(UNIT_DOMAIN + name.encode("utf-8") + b"\x00" + salt + canonicalize(value))


def leaf_from_digests(digests: Mapping[str, bytes]) -> bytes:
    """``keccak256("ecoo/leaf/v1" 0x00 JCS({name: "0x…digest"}))``, the digests in lower-case hex."""
    if CORE not in digests:
        raise ProtocolError("the core unit is missing")
    return keccak(LEAF_DOMAIN + canonicalize({name: "0x" + d.hex() for name, d in digests.items()}))


def new_salts(certificate: Mapping[str, Any]) -> dict[str, bytes]:
    return {name: secrets.token_bytes(32) for name in split_units(certificate)}


def compute_leaf(
    certificate: Mapping[str, Any], salts: Mapping[str, bytes], withheld: Mapping[str, bytes] | None = None
) -> bytes:
    """The leaf of a (possibly redacted) certificate. Raises ProtocolError when the salts and
    withheld digests do not account for exactly the units present."""
    units = split_units(certificate)
    withheld = withheld or {}
    missing = sorted(set(units) - set(salts))
    extra = sorted(set(salts) - set(units))
    if missing:
        raise ProtocolError(f"no salt for unit(s) {', '.join(missing)}")
    if extra:
        raise ProtocolError(f"salt(s) for unit(s) not in the certificate: {', '.join(extra)}")
    overlap = sorted(set(withheld) & set(units))
    if overlap:
        raise ProtocolError(f"unit(s) both present and withheld: {', '.join(overlap)}")
    if CORE in withheld:
        raise ProtocolError("the core of a certificate cannot be withheld")
    digests = {name: unit_digest(name, salts[name], value) for name, value in units.items()}
    digests.update(withheld)
    return leaf_from_digests(digests)


# -- redaction ---------------------------------------------------------------------------------


def expand_redaction(certificate: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """Unit names for ``--hide`` names (group names from REDACTION_GROUPS or unit pointers)."""
    present = set(split_units(certificate)) - {CORE}
    units: list[str] = []
    for name in names:
        pattern = REDACTION_GROUPS.get(name, name)
        if "*" in pattern:
            head, _, tail = pattern.partition("*")
            matched = sorted(u for u in present if u.startswith(head) and u.endswith(tail))
        elif pattern in present:
            matched = [pattern]
        else:
            known = ", ".join(sorted(REDACTION_GROUPS))
            raise ProtocolError(f"cannot hide {name!r}: not a redactable part of this certificate (groups: {known})")
        units.extend(u for u in matched if u not in units)
    return units


def redact(document: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """A copy of an issued ``document`` with the given parts withheld. The result still verifies.
    Raises ProtocolError when ``document`` is not a well-formed issued document."""
    issued = IssuedDocument.from_json(copy.deepcopy(dict(document)))  # a private copy: changed below
    certificate, salts, withheld = issued.certificate, dict(issued.proof.salts), dict(issued.proof.withheld)
    units = split_units(certificate)
    for unit in expand_redaction(certificate, names):
        if unit not in salts:
            raise ProtocolError(f"no salt for unit {unit}")
        withheld[unit] = unit_digest(unit, salts.pop(unit), units[unit])
        if unit.startswith("/items/"):
            _, _, index, field = unit.split("/")
            del certificate["items"][int(index)][field]
        else:
            del certificate[unit[1:]]
    proof = replace(issued.proof, salts=salts, withheld=dict(sorted(withheld.items())))
    return IssuedDocument(certificate, proof).to_json()


# -- EIP-712 -----------------------------------------------------------------------------------


def typed_data(chain_id: int, registry: str, leaf: bytes, number: str) -> dict[str, Any]:
    """The complete EIP-712 typed data a chamber signs for one certificate."""
    return {
        "types": copy.deepcopy(EIP712_TYPES),
        "primaryType": "Certificate",
        "domain": {
            "name": EIP712_NAME,
            "version": EIP712_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(registry),
        },
        "message": {"leaf": "0x" + leaf.hex(), "number": number},
    }


def domain_separator(chain_id: int, registry: str) -> bytes:
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(EIP712_NAME.encode())
        + keccak(EIP712_VERSION.encode())
        + chain_id.to_bytes(32, "big")
        + bytes(12)
        + hex_bytes(to_checksum_address(registry), 20)
    )


def certificate_digest(chain_id: int, registry: str, leaf: bytes, number: str) -> bytes:
    """EIP-712 digest of ``Certificate(leaf, number)``: what ``EcooRegistry.hashCertificate`` returns."""
    struct_hash = keccak(_CERTIFICATE_TYPEHASH + leaf + keccak(number.encode("utf-8")))
    return keccak(b"\x19\x01" + domain_separator(chain_id, registry) + struct_hash)


def recover_signer(digest: bytes, signature: bytes) -> str:
    """The address that made a 65-byte (r, s, v) signature over ``digest``; raises ProtocolError.

    Only low-s signatures (EIP-2: ``s <= n/2``) are accepted. For every signature (r, s) the
    signature (r, n - s) with the other v recovers to the same key; ethers, OpenZeppelin's ECDSA
    and eth-account's signing all insist on the low one, so accepting both would let a copy with a
    re-encoded signature verify here and fail everywhere else."""
    if len(signature) != 65:
        raise ProtocolError("a signature is 65 bytes (r, s, v)")
    if int.from_bytes(signature[32:64], "big") > SECP256K1_HALF_ORDER:
        raise ProtocolError(
            "signature s is in the upper half of the curve order: a malleated signature (EIP-2 allows low s only)"
        )
    v = signature[64]
    if v >= 27:
        v -= 27
    if v not in (0, 1):
        raise ProtocolError(f"signature v must be 27 or 28, got {signature[64]}")
    try:
        sig = Signature(signature_bytes=signature[:64] + bytes([v]))
        return str(sig.recover_public_key_from_msg_hash(digest).to_checksum_address())
    except Exception as exc:  # noqa: BLE001 - eth-keys raises several types for bad signatures
        raise ProtocolError(f"signature does not recover: {exc}") from None


@dataclass(frozen=True)
class Prepared:
    """A certificate ready to be batched: its salts and leaf."""

    certificate: dict[str, Any]
    salts: dict[str, bytes]
    leaf: bytes


def prepare(certificate: Mapping[str, Any]) -> Prepared:
    """Salt a certificate and compute its leaf (the certificate is copied, never modified)."""
    # A private copy (a JSON round trip is several times faster than deepcopy for plain JSON).
    data = json.loads(json.dumps(dict(certificate), ensure_ascii=False))
    salts = new_salts(data)
    return Prepared(certificate=data, salts=salts, leaf=compute_leaf(data, salts))


def build_document(
    prepared: Prepared,
    *,
    chain_id: int,
    registry: str,
    issuer: str,
    root: bytes,
    merkle_path: Iterable[bytes],
    signature: bytes,
) -> dict[str, Any]:
    """The self-contained issued certificate: the data plus its proof block (the JSON of an
    :class:`~ecoo.documents.IssuedDocument`)."""
    number = str(prepared.certificate["certificateNumber"])
    proof = Proof(
        chain_id=chain_id,
        registry=to_checksum_address(registry),
        issuer=to_checksum_address(issuer),
        root=root,
        leaf=prepared.leaf,
        merkle_path=tuple(merkle_path),
        salts=dict(sorted(prepared.salts.items())),
        withheld={},
        signature=signature,
        typed_data=typed_data(chain_id, registry, prepared.leaf, number),
    )
    return IssuedDocument(prepared.certificate, proof).to_json()
