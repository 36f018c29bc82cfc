"""The outcome of verifying an issued certificate: the verdict, the eight checks, the utilisation
customs recorded against it, and the report.

The vocabulary shared by everything that shows a verification (the CLI, the API, the pages and
the PDF) apart from the checks that produce it (``ecoo.verify``). Importing it loads no chain
client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only a type here: the report holds what the registry answered
    from .registry import CertificateState

CHECKS = ("format", "integrity", "signature", "registry", "anchored", "issuer", "status", "validity")


class Verdict(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"  # format, integrity, signature or registry check failed
    NOT_ANCHORED = "NOT_ANCHORED"
    UNTRUSTED_ISSUER = "UNTRUSTED_ISSUER"
    REVOKED = "REVOKED"
    CANCELLED = "CANCELLED"
    SUPERSEDED = "SUPERSEDED"
    SUSPENDED = "SUSPENDED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    UNAVAILABLE = "UNAVAILABLE"  # the chain could not be asked: no verdict about the certificate


class CheckStatus(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    UNAVAILABLE = "UNAVAILABLE"


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    message: str


def group_digits(quantity: str) -> str:
    """A decimal quantity with thousands separators: "12000" → "12,000", "1250.5" → "1,250.5"."""
    whole, dot, part = quantity.partition(".")
    return f"{int(whole):,}{dot}{part}"


@dataclass(frozen=True)
class ItemUsage:
    """What customs utilised of one item, as the registry records it: decimal quantities in the
    item's unit (the certificate's ``quantity.unit``)."""

    item: int
    certified: str
    utilised: str
    remaining: str
    unit: str | None

    @property
    def text(self) -> str:
        """E.g. "item 1: 8,000 of 12,000 SET utilised"."""
        unit = f" {self.unit}" if self.unit else ""
        return f"item {self.item}: {group_digits(self.utilised)} of {group_digits(self.certified)}{unit} utilised"

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "certified": self.certified,
            "utilised": self.utilised,
            "remaining": self.remaining,
            "unit": self.unit,
        }


def certificate_items(certificate: dict[str, Any]) -> list[tuple[int, str | None]]:
    """(number, unit of quantity) of each item a certificate lists that the registry can name (1-65535)."""
    found: list[tuple[int, str | None]] = []
    for item in certificate.get("items") or []:
        number = item.get("itemNumber") if isinstance(item, dict) else None
        if isinstance(number, int) and not isinstance(number, bool) and 0 < number < 2**16:
            quantity = item.get("quantity")
            unit = quantity.get("unit") if isinstance(quantity, dict) else None
            found.append((number, unit if isinstance(unit, str) else None))
    return found


def item_usages(items: list[tuple[int, str | None]], recorded: list[tuple[int, int]]) -> tuple[tuple[ItemUsage, ...], bool]:
    """The items with a utilisation record, from the registry's (certified, utilised) of each item
    in ``items`` (thousandths; certified 0: never recorded), and whether every item is used up."""
    from .utilisation import from_units

    usages = tuple(
        ItemUsage(number, from_units(certified), from_units(utilised), from_units(max(certified - utilised, 0)), unit)
        for (number, unit), (certified, utilised) in zip(items, recorded, strict=True)
        if certified
    )
    fully = bool(items) and len(usages) == len(items) and all(c <= u for c, u in recorded)
    return usages, fully


@dataclass(frozen=True)
class VerificationReport:
    """Immutable result of verifying one document."""

    verdict: Verdict
    checks: tuple[Check, ...]
    certificate_number: str | None = None
    issuer: str | None = None
    chain_id: int | None = None
    registry: str | None = None
    root: str | None = None
    leaf: str | None = None
    withheld: tuple[str, ...] = ()
    format_issues: tuple[Any, ...] = ()
    state: CertificateState | None = None
    # Utilisation customs recorded, per item with a record (() when none is): None when the
    # registry was not asked (an earlier check decided) or could not say (``utilisation_unknown``).
    utilisation: tuple[ItemUsage, ...] | None = None
    fully_utilised: bool | None = None  # every item utilised to its certified quantity; not a verdict
    utilisation_unknown: str | None = None

    @property
    def utilisation_lines(self) -> list[str]:
        """What to print about utilisation (nothing when the registry was not asked)."""
        if self.utilisation_unknown is not None:
            return [f"unknown: {self.utilisation_unknown}"]
        if self.utilisation is None:
            return []
        if not self.utilisation:
            return ["no utilisation recorded"]
        lines = [usage.text for usage in self.utilisation]
        if self.fully_utilised:
            lines.append("fully utilised: authentic, but it covers no more goods")
        return lines

    @property
    def failed_check(self) -> str | None:
        return next((c.name for c in self.checks if c.status is CheckStatus.FAILED), None)

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        state = self.state
        registry_view: dict[str, Any] | None = None
        if state is not None:
            registry_view = {
                "anchored": state.anchored,
                "anchoredAt": iso_time(state.anchored_at) if state.anchored else None,
                "anchoredBlock": state.anchored_block or None,
                "issuerName": state.issuer_name,
                "issuerCountry": state.issuer_country,
                "issuerAccreditationCode": state.issuer_accreditation_code,
                "issuerStatus": state.issuer_status.name,
                "accreditedAtAnchor": state.accredited_at_anchor,
                "currentIssuerKey": state.current_key,
                "currentIssuerKeyStatus": state.current_key_status.name,
                "status": state.status.name,
                "reason": state.reason.name,
                "statusChangedAt": iso_time(state.status_changed_at) if state.status_changed_at else None,
                "statusChangedBy": state.status_changed_by,
                "successor": "0x" + state.successor.hex() if state.successor else None,
                "chainTime": iso_time(state.chain_time),
                "chainBlock": state.chain_block,
            }
        return {
            "verdict": self.verdict.value,
            "failedCheck": self.failed_check,
            "checks": [{"name": c.name, "status": c.status.value, "message": c.message} for c in self.checks],
            "certificateNumber": self.certificate_number,
            "issuer": self.issuer,
            "chainId": self.chain_id,
            "registry": self.registry,
            "root": self.root,
            "leaf": self.leaf,
            "withheld": list(self.withheld),
            "formatIssues": [i.to_json() for i in self.format_issues],
            "registryView": registry_view,
            "utilisation": [u.to_json() for u in self.utilisation] if self.utilisation is not None else None,
            "fullyUtilised": self.fully_utilised,
            "utilisationUnknown": self.utilisation_unknown,
        }


def iso_time(timestamp: float) -> str:
    """UTC, ISO 8601, seconds: how ecoo writes times in reports and API responses."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
