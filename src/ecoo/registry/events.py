"""The registry's events as Python records, read with ``eth_getLogs`` over a block range.

The service's chain follower builds its view of anchors and statuses from these and nothing else.
Only the events that change a certificate or a key are decoded; the authority's other events
(accreditation, issuer suspension) are read from the registry's views when a verifier needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak
from web3 import Web3

from ..hashing import checksum_address

#: Event name → its signature, as IEcooRegistry declares it.
SIGNATURES = {
    "BatchAnchored": "BatchAnchored(address,bytes32)",
    "CertificateRevoked": "CertificateRevoked(address,bytes32,uint8,address)",
    "CertificateSuperseded": "CertificateSuperseded(address,bytes32,bytes32,address)",
    "CertificateSuspended": "CertificateSuspended(address,bytes32,address)",
    "CertificateSuspensionLifted": "CertificateSuspensionLifted(address,bytes32,address)",
    "IssuerKeyRotated": "IssuerKeyRotated(address,address)",
}
TOPICS = {"0x" + keccak(text=signature).hex(): name for name, signature in SIGNATURES.items()}


@dataclass(frozen=True)
class RegistryEvent:
    """One registry event. ``subject`` is the anchored root, the certificate's leaf, or (for a key
    rotation) the new key's address; ``issuer`` is the issuer the event is about (the old key for
    a rotation)."""

    name: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    issuer: str
    subject: str
    successor: str | None = None  # CertificateSuperseded: the replacement's leaf
    reason: int | None = None  # CertificateRevoked: a RevocationReason


def _hex(value: Any) -> str:
    return Web3.to_hex(value).lower() if not isinstance(value, str) else value.lower()


def _topic_address(topic: Any) -> str:
    return checksum_address("0x" + _hex(topic)[-40:])


def decode_log(log: Any) -> RegistryEvent | None:
    """The event of a raw log, or None for an event the follower does not need."""
    topics = [_hex(topic) for topic in log["topics"]]
    name = TOPICS.get(topics[0]) if topics else None
    if name is None:
        return None
    data = bytes.fromhex(_hex(log["data"]).removeprefix("0x"))
    common: dict[str, Any] = {
        "name": name,
        "block_number": int(log["blockNumber"]),
        "block_hash": _hex(log["blockHash"]),
        "tx_hash": _hex(log["transactionHash"]),
        "log_index": int(log["logIndex"]),
    }
    if name == "IssuerKeyRotated":
        return RegistryEvent(**common, issuer=_topic_address(topics[1]), subject=_topic_address(topics[2]).lower())
    issuer, subject = _topic_address(topics[1]), topics[2]
    if name == "CertificateRevoked":
        reason, _by = abi_decode(["uint8", "address"], data)
        return RegistryEvent(**common, issuer=issuer, subject=subject, reason=int(reason))
    if name == "CertificateSuperseded":
        return RegistryEvent(**common, issuer=issuer, subject=subject, successor=topics[3])
    return RegistryEvent(**common, issuer=issuer, subject=subject)


def read_events(w3: Web3, registry: str, from_block: int, to_block: int) -> list[RegistryEvent]:
    """The registry's events in blocks ``from_block..to_block``, in chain order."""
    logs = w3.eth.get_logs(
        {"address": registry, "fromBlock": from_block, "toBlock": to_block, "topics": [list(TOPICS)]}  # type: ignore[typeddict-item]
    )
    events = [event for event in (decode_log(log) for log in logs) if event is not None]
    return sorted(events, key=lambda e: (e.block_number, e.log_index))
