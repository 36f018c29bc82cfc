"""The registry's events as Python records, read with ``eth_getLogs`` over a block range.

The service's chain follower builds its view of anchors and statuses from these and nothing else.
Decoded are the events that change a certificate or a key, an issuer's suspension and
reinstatement, and the customs records (receipt, utilisation, rejection); the authority's other
events (accreditation, the customs role) are read from the registry's views when needed. A reader
that wants only some of them names them (``names``): the node then filters by topic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak
from web3 import Web3

from ..errors import ConfigurationError
from ..hashing import checksum_address

#: Event name → its signature, as IEcooRegistry declares it.
SIGNATURES = {
    "BatchAnchored": "BatchAnchored(address,bytes32)",
    "CertificateRevoked": "CertificateRevoked(address,bytes32,uint8,address)",
    "CertificateSuperseded": "CertificateSuperseded(address,bytes32,bytes32,address)",
    "CertificateSuspended": "CertificateSuspended(address,bytes32,address)",
    "CertificateSuspensionLifted": "CertificateSuspensionLifted(address,bytes32,address)",
    "IssuerKeyRotated": "IssuerKeyRotated(address,address)",
    "IssuerSuspended": "IssuerSuspended(address,address)",
    "IssuerReinstated": "IssuerReinstated(address,address)",
    "CertificateReceived": "CertificateReceived(address,bytes32,address,bytes32)",
    "CertificateUtilised": "CertificateUtilised(address,bytes32,address,uint16,uint128,uint128,uint128,bytes32)",
    "CertificateRejected": "CertificateRejected(address,bytes32,address,uint16,bytes32)",
}
TOPICS = {"0x" + keccak(text=signature).hex(): name for name, signature in SIGNATURES.items()}
#: Event name → its topic 0.
TOPIC_OF = {name: topic for topic, name in TOPICS.items()}
#: The customs records: issuer = topic 1, subject = the leaf, customs = topic 3.
CUSTOMS_RECORDS = ("CertificateReceived", "CertificateUtilised", "CertificateRejected")


@dataclass(frozen=True)
class RegistryEvent:
    """One registry event. ``subject`` is the anchored root, the certificate's leaf, the new key's
    address (a key rotation) or the issuer's own address, lower-case (an issuer's suspension or
    reinstatement); ``issuer`` is the issuer the event is about (the old key for a rotation).
    Customs records fill ``customs`` and ``declaration_hash``, and the fields of their kind
    (quantities in thousandths of the item's unit; ``utilised`` is the item's total after this record)."""

    name: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    issuer: str
    subject: str
    successor: str | None = None  # CertificateSuperseded: the replacement's leaf
    reason: int | None = None  # CertificateRevoked: a RevocationReason
    customs: str | None = None  # customs records: the customs key that recorded it
    item: int | None = None  # CertificateUtilised: the item number (from 1)
    quantity: int | None = None  # CertificateUtilised: the quantity this record utilised
    utilised: int | None = None  # CertificateUtilised: the item's cumulative utilisation after it
    certified: int | None = None  # CertificateUtilised: the item's certified quantity
    code: int | None = None  # CertificateRejected: the rejection code (ecoo.utilisation.RejectionCode)
    declaration_hash: str | None = None  # customs records: salted hash of the declaration, 0x-hex


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
    if name in ("IssuerSuspended", "IssuerReinstated"):
        issuer = _topic_address(topics[1])
        return RegistryEvent(**common, issuer=issuer, subject=issuer.lower())
    issuer, subject = _topic_address(topics[1]), topics[2]
    if name in CUSTOMS_RECORDS:
        return _customs_record(common, issuer, subject, _topic_address(topics[3]), data)
    if name == "CertificateRevoked":
        reason, _by = abi_decode(["uint8", "address"], data)
        return RegistryEvent(**common, issuer=issuer, subject=subject, reason=int(reason))
    if name == "CertificateSuperseded":
        return RegistryEvent(**common, issuer=issuer, subject=subject, successor=topics[3])
    return RegistryEvent(**common, issuer=issuer, subject=subject)


def _customs_record(common: dict[str, Any], issuer: str, leaf: str, customs: str, data: bytes) -> RegistryEvent:
    record = {**common, "issuer": issuer, "subject": leaf, "customs": customs}
    if common["name"] == "CertificateUtilised":
        item, quantity, utilised, certified, declaration = abi_decode(
            ["uint16", "uint128", "uint128", "uint128", "bytes32"], data
        )
        return RegistryEvent(
            **record,
            item=int(item),
            quantity=int(quantity),
            utilised=int(utilised),
            certified=int(certified),
            declaration_hash=_hex(declaration),
        )
    if common["name"] == "CertificateRejected":
        code, declaration = abi_decode(["uint16", "bytes32"], data)
        return RegistryEvent(**record, code=int(code), declaration_hash=_hex(declaration))
    (declaration,) = abi_decode(["bytes32"], data)
    return RegistryEvent(**record, declaration_hash=_hex(declaration))


def topics_of(names: Iterable[str] | None) -> list[str]:
    """The topics 0 of the events called ``names`` (all decoded events for None)."""
    if names is None:
        return list(TOPICS)
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in TOPIC_OF]
    if unknown:
        raise ConfigurationError(f"unknown registry event(s) {', '.join(unknown)}; known: {', '.join(SIGNATURES)}")
    return [TOPIC_OF[name] for name in wanted]


def read_events(
    w3: Web3, registry: str, from_block: int, to_block: int, names: Iterable[str] | None = None
) -> list[RegistryEvent]:
    """The registry's events in blocks ``from_block..to_block``, in chain order: all the decoded
    ones, or those called ``names`` (ConfigurationError for a name not decoded here)."""
    topics = topics_of(names)
    if not topics:
        return []
    logs = w3.eth.get_logs(
        {"address": registry, "fromBlock": from_block, "toBlock": to_block, "topics": [topics]}  # type: ignore[typeddict-item]
    )
    events = [event for event in (decode_log(log) for log in logs) if event is not None]
    return sorted(events, key=lambda e: (e.block_number, e.log_index))
