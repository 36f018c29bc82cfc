"""The publisher's signature of a trust list: EIP-712 over the list's RFC 8785 form.

The publisher signs ``TrustList(uint256 sequence,bytes32 listHash)`` in the domain
``{name: "ecoo trust list", version: "1"}`` (no chain and no contract: a list spans chains), where
``listHash = keccak256(JCS(list without its "signature" member))``. Any wallet that speaks
``eth_signTypedData_v4`` can sign :func:`list_typed_data`; :func:`list_digest` is its digest.
Signatures are checked with :func:`ecoo.protocol.recover_signer` (65 bytes, low s only), as a
certificate's are.

The publisher's address is configured out of band (``--publisher`` / ``ECOO_TRUST_LIST_PUBLISHER``).
With one configured, an unsigned, altered or otherwise signed list is refused; without one, an
unsigned list is accepted and reported as such, and a signed one is still checked (a signature
that does not hold means the list was altered: refused).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..canonical import canonicalize
from ..errors import ConfigurationError, ProtocolError, TrustListRefusedError
from ..hashing import checksum_address, is_checksummed, keccak
from ..protocol import recover_signer
from ..signers import LocalSigner
from .document import TrustList

__all__ = [
    "SignatureCheck",
    "check_signature",
    "list_digest",
    "list_hash",
    "list_typed_data",
    "require_publisher",
    "sign_trust_list",
]

DOMAIN_NAME = "ecoo trust list"
DOMAIN_VERSION = "1"
TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}],
    "TrustList": [{"name": "sequence", "type": "uint256"}, {"name": "listHash", "type": "bytes32"}],
}
# keccak256("EIP712Domain(string name,string version)")
DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version)")
# keccak256("TrustList(uint256 sequence,bytes32 listHash)")
TRUST_LIST_TYPEHASH = keccak(b"TrustList(uint256 sequence,bytes32 listHash)")
DOMAIN_SEPARATOR = keccak(DOMAIN_TYPEHASH + keccak(DOMAIN_NAME.encode()) + keccak(DOMAIN_VERSION.encode()))


def list_hash(trust_list: TrustList) -> bytes:
    """keccak256 of the RFC 8785 form of the list without its signature."""
    return keccak(canonicalize(trust_list.unsigned_json()))


def list_digest(trust_list: TrustList) -> bytes:
    """The EIP-712 digest the publisher signs."""
    struct_hash = keccak(TRUST_LIST_TYPEHASH + trust_list.sequence.to_bytes(32, "big") + list_hash(trust_list))
    return keccak(b"\x19\x01" + DOMAIN_SEPARATOR + struct_hash)


def list_typed_data(trust_list: TrustList) -> dict[str, Any]:
    """The complete EIP-712 typed data of :func:`list_digest` (for ``eth_signTypedData_v4``)."""
    return {
        "types": {name: [dict(f) for f in fields] for name, fields in TYPES.items()},
        "primaryType": "TrustList",
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION},
        "message": {"sequence": trust_list.sequence, "listHash": "0x" + list_hash(trust_list).hex()},
    }


def sign_trust_list(trust_list: TrustList, signer: LocalSigner) -> TrustList:
    """``trust_list`` with the publisher's signature (any earlier signature is replaced)."""
    signature = signer.sign_digest(list_digest(trust_list))
    signed = replace(trust_list, signature={"publisher": signer.address, "value": "0x" + signature.hex()})
    check = check_signature(signed)
    if not check.valid:  # never hand out a signature this module would refuse
        raise ConfigurationError(f"the signature just made does not verify ({check.message}); nothing was written")
    return signed


@dataclass(frozen=True)
class SignatureCheck:
    """What the signature of a list says. ``valid`` is False only for a signature that is present
    and does not hold (altered list, bad signature, wrong publisher claimed)."""

    signed: bool
    valid: bool
    publisher: str | None  # who signed (recovered), when the signature holds
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"signed": self.signed, "valid": self.valid, "publisher": self.publisher, "message": self.message}


def check_signature(trust_list: TrustList) -> SignatureCheck:
    """Check the list's own signature (whoever it claims signed it)."""
    block = trust_list.signature
    if block is None:
        return SignatureCheck(False, True, None, "unsigned")
    claimed = checksum_address(block["publisher"])
    try:
        signer = recover_signer(list_digest(trust_list), bytes.fromhex(block["value"][2:]))
    except ProtocolError as exc:
        return SignatureCheck(True, False, None, f"the signature does not hold: {exc}")
    if signer != claimed:
        return SignatureCheck(
            True,
            False,
            None,
            f"the signature does not match the list: it recovers to {signer}, not to {claimed} "
            "(the list was altered after signing, or signed by someone else)",
        )
    return SignatureCheck(True, True, signer, f"signed by {signer}")


def parse_publisher(value: str) -> str:
    """A configured publisher address: 0x and 40 hex digits; mixed case must be a valid EIP-55 checksum."""
    text = value.strip()
    if len(text) != 42 or not text.startswith("0x") or any(c not in "0123456789abcdefABCDEF" for c in text[2:]):
        raise ConfigurationError(f"publisher {value!r} is not an address (0x and 40 hex digits)")
    if text[2:] != text[2:].lower() and text[2:] != text[2:].upper() and not is_checksummed(text):
        raise ConfigurationError(f"publisher {value!r} has a wrong EIP-55 checksum: a mistyped address?")
    return checksum_address(text)


def require_publisher(trust_list: TrustList, source: str, publisher: str | None) -> SignatureCheck:
    """The list's signature check, or TrustListRefusedError when the list must be refused: a
    signature that does not hold (always), or, with ``publisher`` configured, no signature or one
    by someone else."""
    check = check_signature(trust_list)
    if not check.valid:
        raise TrustListRefusedError(f"trust list {source} refused: {check.message}")
    if publisher is None:
        return check
    expected = parse_publisher(publisher)
    if not check.signed:
        raise TrustListRefusedError(
            f"trust list {source} refused: it is unsigned, and publisher {expected} is configured; "
            "ask the publisher for the signed list (`ecoo trust-list sign`)"
        )
    if check.publisher != expected:
        raise TrustListRefusedError(
            f"trust list {source} refused: signed by {check.publisher}, not by the configured publisher {expected}"
        )
    return replace(check, message=f"{check.message} (the configured publisher)")
