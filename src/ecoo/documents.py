"""The issued certificate as typed records: :class:`IssuedDocument` and its :class:`Proof`.

An issued document is JSON (``{"ecoo": FORMAT, "certificate": {...}, "proof": {...}}``, see
``ecoo.protocol``). ``from_json`` reads one strictly — the shape, the integers, checksummed
addresses and every hex spelling (hashes, salts and the signature in lower-case hex only) — and
raises :class:`ProtocolError` with the message the verifier reports as its failed format check;
``to_json`` writes the JSON ecoo has always written (member order and lower-case hex included), so
a document ecoo issued survives the round trip byte for byte. Hashing, signing and redaction live
in ``ecoo.protocol``; this module only knows the shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from .errors import ProtocolError
from .hashing import is_checksummed

FORMAT = "ecoo/certificate-of-origin/v1"
PROOF_TYPE = "EcooRegistryProof/v1"
#: Levels of a Merkle path a proof may carry (2^64 leaves is more than any registry will hold).
MAX_PATH = 64
#: Salts (or withheld digests) a proof may carry: far above the units of any real certificate.
MAX_UNITS = 10_000

_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
_PROOF_MEMBERS = frozenset(
    ("type", "chainId", "registry", "issuer", "root", "leaf", "merklePath", "salts", "withheld", "signature", "typedData")
)


def hex_bytes(value: object, length: int | None = None, *, where: str = "value", what: str = "hex string") -> bytes:
    """The bytes a ``0x``-prefixed hex string spells (either case), exactly ``length`` of them when
    given. Anything else — another type, no prefix, an odd digit, whitespace, a wrong length —
    raises ProtocolError ``"<where>: expected a 0x-prefixed <length>-byte <what>"``."""
    if not isinstance(value, str) or not _HEX.fullmatch(value) or (length is not None and len(value) != 2 + 2 * length):
        size = f"{length}-byte " if length is not None else ""
        raise ProtocolError(f"{where}: expected a 0x-prefixed {size}{what}")
    return bytes.fromhex(value[2:])


def to_hex(value: bytes) -> str:
    """``0x`` and lower-case hex: how ecoo spells bytes in JSON."""
    return "0x" + value.hex()


@dataclass
class DocumentClaims:
    """What a document says about itself, filled in while :meth:`IssuedDocument.from_json` reads
    it, in reading order. After a ProtocolError it holds what was well formed before the error:
    a verifier reports that much (the number, chain, registry, issuer, root, leaf) with the
    failed check."""

    number: str | None = None
    chain_id: int | None = None
    registry: str | None = None
    issuer: str | None = None
    root: bytes | None = None
    leaf: bytes | None = None


@dataclass(frozen=True)
class Proof:
    """The proof block: where the certificate is anchored, how its leaf is made, who signed it.

    ``salts`` and ``withheld`` keep their JSON order; ``typed_data`` is the EIP-712 object as the
    document carries it (whether it matches is the verifier's question, not the reader's);
    ``extra`` holds members this version does not know, written back unchanged after the others.
    """

    chain_id: int
    registry: str  # EIP-55 checksummed
    issuer: str  # EIP-55 checksummed
    root: bytes
    leaf: bytes
    merkle_path: tuple[bytes, ...]
    salts: Mapping[str, bytes]
    withheld: Mapping[str, bytes]
    signature: bytes
    typed_data: dict[str, Any]
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: object, claims: DocumentClaims | None = None) -> Self:
        """Read a proof block (messages point into the issued document: ``/proof/...``)."""
        claims = claims if claims is not None else DocumentClaims()
        if not isinstance(obj, dict):
            raise ProtocolError("/proof: expected an object")
        if obj.get("type") != PROOF_TYPE:
            raise ProtocolError(f'/proof/type: expected "{PROOF_TYPE}"')
        chain_id = obj.get("chainId")
        if not isinstance(chain_id, int) or isinstance(chain_id, bool) or not 0 < chain_id < 2**63:
            raise ProtocolError("/proof/chainId: expected a positive integer")
        claims.chain_id = chain_id
        for name in ("registry", "issuer"):
            value = obj.get(name)
            if not isinstance(value, str) or not is_checksummed(value):
                raise ProtocolError(f"/proof/{name}: expected a checksummed 0x address")
        registry, issuer = str(obj["registry"]), str(obj["issuer"])
        claims.registry, claims.issuer = registry, issuer
        root = claims.root = _hash32(obj.get("root"), "/proof/root")
        leaf = claims.leaf = _hash32(obj.get("leaf"), "/proof/leaf")
        path = obj.get("merklePath")
        if not isinstance(path, list) or len(path) > MAX_PATH:
            raise ProtocolError(f"/proof/merklePath: expected a list of at most {MAX_PATH} hashes")
        merkle_path = tuple(_hash32(node, f"/proof/merklePath/{i}") for i, node in enumerate(path))
        salts, withheld = (_hash32_map(obj.get(name), name) for name in ("salts", "withheld"))
        signature = _lower_hex_bytes(obj.get("signature"), 65, where="/proof/signature", what="hex signature")
        typed_data = obj.get("typedData")
        if not isinstance(typed_data, dict):
            raise ProtocolError("/proof/typedData: expected the EIP-712 typed data object")
        return cls(
            chain_id=chain_id,
            registry=registry,
            issuer=issuer,
            root=root,
            leaf=leaf,
            merkle_path=merkle_path,
            salts=salts,
            withheld=withheld,
            signature=signature,
            typed_data=typed_data,
            extra={k: v for k, v in obj.items() if k not in _PROOF_MEMBERS},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "type": PROOF_TYPE,
            "chainId": self.chain_id,
            "registry": self.registry,
            "issuer": self.issuer,
            "root": to_hex(self.root),
            "leaf": to_hex(self.leaf),
            "merklePath": [to_hex(node) for node in self.merkle_path],
            "salts": {name: to_hex(salt) for name, salt in self.salts.items()},
            "withheld": {name: to_hex(digest) for name, digest in self.withheld.items()},
            "signature": to_hex(self.signature),
            "typedData": self.typed_data,
            **self.extra,
        }


@dataclass(frozen=True)
class IssuedDocument:
    """An issued certificate: the certificate data (the dict itself, not a copy) and its proof."""

    certificate: dict[str, Any]
    proof: Proof

    @property
    def number(self) -> str | None:
        number = self.certificate.get("certificateNumber")
        return number if isinstance(number, str) else None

    @classmethod
    def from_json(cls, obj: object, claims: DocumentClaims | None = None) -> Self:
        """Read an issued document; ``claims``, when given, records what was read (see
        :class:`DocumentClaims`). The certificate's own content is not checked here: that is
        ``ecoo.validation``'s schema and rules."""
        claims = claims if claims is not None else DocumentClaims()
        if not isinstance(obj, dict):
            raise ProtocolError(f"expected an issued certificate (a JSON object), got {type(obj).__name__}")
        if obj.get("ecoo") != FORMAT:
            raise ProtocolError(f'/ecoo: expected "{FORMAT}" (is this an issued ecoo certificate?)')
        extra = sorted(set(obj) - {"ecoo", "certificate", "proof"})
        if extra:
            raise ProtocolError(f"unexpected member(s) {', '.join(extra)} next to certificate and proof")
        certificate, proof = obj.get("certificate"), obj.get("proof")
        if not isinstance(certificate, dict):
            raise ProtocolError("/certificate: expected an object")
        if not isinstance(proof, dict):
            raise ProtocolError("/proof: expected an object")
        document_number = certificate.get("certificateNumber")
        claims.number = document_number if isinstance(document_number, str) else None
        return cls(certificate=certificate, proof=Proof.from_json(proof, claims))

    def to_json(self) -> dict[str, Any]:
        return {"ecoo": FORMAT, "certificate": self.certificate, "proof": self.proof.to_json()}


def _lower_hex_bytes(value: object, length: int, *, where: str, what: str = "hex string") -> bytes:
    """:func:`hex_bytes`, lower-case digits only: the one spelling ecoo writes and hashes (the leaf
    JSON spells digests so). Reading ``0xAB…`` as ``0xab…`` would give one proof many spellings, and
    an implementation that copies a withheld digest's text into the leaf JSON would then disagree
    with this one; so other spellings are refused, not normalised."""
    raw = hex_bytes(value, length, where=where, what=what)
    if isinstance(value, str) and value != value.lower():
        raise ProtocolError(f"{where}: expected lower-case hex digits (other spellings are refused, not normalised)")
    return raw


def _hash32(value: object, where: str) -> bytes:
    return _lower_hex_bytes(value, 32, where=where)


def _hash32_map(block: object, name: str) -> dict[str, bytes]:
    if not isinstance(block, dict) or len(block) > MAX_UNITS:
        raise ProtocolError(f"/proof/{name}: expected an object")
    return {key: _hash32(value, f"/proof/{name}/{key}") for key, value in block.items()}
