"""What the registry stores and answers, as Python values: the status enums of
``IEcooRegistry`` and immutable records for issuers, transactions and certificate queries."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ..hashing import checksum_address


class IssuerStatus(IntEnum):
    NONE = 0
    ACCREDITED = 1
    SUSPENDED = 2
    RETIRED = 3


class CertificateStatus(IntEnum):
    ACTIVE = 0
    SUSPENDED = 1
    REVOKED = 2


class RevocationReason(IntEnum):
    NONE = 0
    FRAUD = 1  # REVOKED_FRAUD
    ERROR = 2  # REVOKED_ERROR
    CANCELLED = 3
    SUPERSEDED = 4


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
    contract_address: str | None = None  # set for a contract creation


@dataclass(frozen=True)
class Issuer:
    address: str
    status: IssuerStatus
    country: str
    accredited_at: int
    successor: str | None
    predecessor: str | None
    metadata_hash: str
    name: str
    accreditation_code: str


@dataclass(frozen=True)
class AccreditationPeriod:
    from_block: int
    from_time: int
    until_block: int | None
    until_time: int | None


@dataclass(frozen=True)
class CertificateQuery:
    """One certificate to look up: claimed issuer, anchored root, leaf, proof from leaf to root."""

    issuer: str
    root: bytes
    leaf: bytes
    proof: tuple[bytes, ...] = ()

    def as_abi(self) -> tuple[str, bytes, bytes, list[bytes]]:
        return (checksum_address(self.issuer), self.root, self.leaf, list(self.proof))


@dataclass(frozen=True)
class CertificateState:
    """The registry's answer for one certificate (see ``CertificateState`` in contracts/EcooRegistryTypes.sol)."""

    proof_valid: bool
    anchored: bool
    anchored_at: int
    anchored_block: int
    issuer_status: IssuerStatus
    accredited_at_anchor: bool
    issuer_country: str
    issuer_name: str
    issuer_accreditation_code: str
    current_key: str
    current_key_status: IssuerStatus
    status: CertificateStatus
    reason: RevocationReason
    status_changed_at: int
    status_changed_by: str | None
    successor: bytes | None
    chain_time: int
    chain_block: int

    @property
    def issuer_trusted(self) -> bool:
        """Anchored while the key was accredited, and the issuer (its newest key) is in good standing."""
        return (
            self.anchored
            and self.accredited_at_anchor
            and self.issuer_status in (IssuerStatus.ACCREDITED, IssuerStatus.RETIRED)
            and self.current_key_status is IssuerStatus.ACCREDITED
        )


@dataclass(frozen=True)
class CustomsRecord:
    """A customs key as the registry knows it: its administration's country and whether it holds
    the customs role now (a revoked key keeps its country; an unknown key has country "")."""

    country: str
    active: bool


@dataclass(frozen=True)
class ItemUtilisation:
    """What customs recorded against one item of a certificate, in thousandths of the item's unit
    (``ecoo.utilisation``). ``certified`` is 0 until the first utilisation fixes it."""

    certified: int
    utilised: int

    @property
    def remaining(self) -> int:
        return self.certified - self.utilised


@dataclass(frozen=True)
class UtilisationQuery:
    """Items of one certificate (issuer = the key that anchored it, leaf) to look up."""

    issuer: str
    leaf: bytes
    items: tuple[int, ...]

    def as_abi(self) -> tuple[str, bytes, list[int]]:
        return (checksum_address(self.issuer), self.leaf, list(self.items))
