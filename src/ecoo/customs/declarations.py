"""The single-window check: each line of a customs declaration matched to a certificate presented
with it and decided, with the coded reasons of :class:`ecoo.utilisation.RejectionCode`.

Pure: no database, no chain, no Flask. The caller reads the declaration
(:mod:`ecoo.customs.declaration_input`), verifies the certificates (their reports) and reads from
each registry how much of every declared item is already utilised; this module turns the
declaration, the reports and those quantities into one decision per line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from ..errors import InputError
from ..errors.base import DeclarationInputError
from ..utilisation import RejectionCode, from_units, to_units
from ..verdicts import Verdict, VerificationReport
from .declaration_input import Declaration, DeclarationLine, Party

__all__ = [
    "LineDecision",
    "Presented",
    "Reason",
    "Usage",
    "certified_units",
    "check_lines",
    "items_to_read",
    "outcome",
    "present",
    "utilisation_summary",
]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)

# -- the certificates presented ------------------------------------------------------------------


@dataclass(frozen=True)
class Presented:
    """A certificate presented with the declaration, and its verification report."""

    index: int
    certificate: Mapping[str, Any] | None  # the certificate's data, when the document holds an object
    report: VerificationReport

    @property
    def leaf(self) -> str | None:
        return self.report.leaf

    @property
    def valid(self) -> bool:
        return self.report.verdict is Verdict.VALID and self.certificate is not None

    def item(self, number: int) -> Mapping[str, Any] | None:
        items = self.certificate.get("items") if self.certificate is not None else None
        if not isinstance(items, list):
            return None
        return next((i for i in items if isinstance(i, dict) and i.get("itemNumber") == number), None)


def present(documents: Sequence[Any], reports: Sequence[VerificationReport]) -> list[Presented]:
    """The documents with their reports; one certificate presented twice is refused."""
    presented: list[Presented] = []
    seen: dict[str, int] = {}
    for index, (document, report) in enumerate(zip(documents, reports, strict=True)):
        if report.leaf is not None:
            if report.leaf in seen:
                raise DeclarationInputError(
                    f"/certificates/{index}", f"the same certificate as /certificates/{seen[report.leaf]}"
                )
            seen[report.leaf] = index
        certificate = document.get("certificate") if isinstance(document, dict) else None
        presented.append(Presented(index, certificate if isinstance(certificate, dict) else None, report))
    return presented


# -- deciding ------------------------------------------------------------------------------------


class Usage(Protocol):
    """What a registry says of one item (``ecoo.registry.types.ItemUtilisation``): the certified
    quantity the first record fixed (0: none yet) and the quantity utilised, in thousandths."""

    @property
    def certified(self) -> int: ...

    @property
    def utilised(self) -> int: ...


@dataclass(frozen=True)
class Reason:
    code: RejectionCode
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code.code, "message": self.message}


@dataclass(frozen=True)
class LineDecision:
    """A line's decision: accepted when there is no reason to reject it. ``certified`` is the
    item's certified quantity in thousandths (what a utilisation record states), when known."""

    line: DeclarationLine
    certificate: Presented | None
    reasons: tuple[Reason, ...]
    certified: int | None = None

    @property
    def accepted(self) -> bool:
        return not self.reasons


def certified_units(item: Mapping[str, Any]) -> int | None:
    """An item's certified quantity in the registry's thousandths, or None when it has none.

    The certificate allows six decimal places, the registry three: the quantity is rounded down,
    so that customs never allow more than the certificate certifies (every customs administration
    rounds the same way, so the first record fixes the same certified quantity for all)."""
    quantity = item.get("quantity")
    value = quantity.get("value") if isinstance(quantity, dict) else None
    if not isinstance(value, str):
        return None
    whole, _, part = value.partition(".")
    try:
        return to_units(f"{whole}.{part[:3]}" if part else whole)
    except InputError:
        return None


def items_to_read(declaration: Declaration, presented: Sequence[Presented]) -> dict[int, tuple[int, ...]]:
    """For each VALID certificate a line names (by index), the item numbers whose utilisation to read."""
    wanted: dict[int, set[int]] = {}
    for line in declaration.lines:
        found = _find(line, presented)
        if found is not None and found.valid:
            wanted.setdefault(found.index, set()).add(line.item)
    return {index: tuple(sorted(items)) for index, items in wanted.items()}


def check_lines(
    declaration: Declaration,
    presented: Sequence[Presented],
    usage: Mapping[tuple[str, int], Usage],
    country: str,
) -> list[LineDecision]:
    """Each line decided, in order. ``usage`` holds, by (leaf, item), what the registry says has
    been utilised; quantities of several lines on one item add up (accepted lines only)."""
    taken: dict[tuple[str, int], int] = {}  # thousandths accepted on earlier lines of this declaration
    decisions: list[LineDecision] = []
    for line in declaration.lines:
        found = _find(line, presented)
        if found is None:
            reason = Reason(RejectionCode.CERTIFICATE_NOT_PRESENTED, f"no certificate with leaf {line.certificate} was presented")
            decisions.append(LineDecision(line, None, (reason,)))
            continue
        if not found.valid:
            decisions.append(LineDecision(line, found, (_not_valid(found.report),)))
            continue
        certificate = found.certificate or {}
        reasons = _certificate_reasons(declaration, certificate, country)
        item = found.item(line.item)
        if item is None:
            number = certificate.get("certificateNumber")
            reasons.append(Reason(RejectionCode.NO_SUCH_ITEM, f"certificate {number} has no item {line.item}"))
            decisions.append(LineDecision(line, found, tuple(reasons)))
            continue
        reasons += _item_reasons(line, item)
        certified = certified_units(item)
        key = (str(found.leaf), line.item)
        known = usage.get(key)
        if certified is not None and known is not None and known.certified and known.certified != certified:
            # The registry's figure came from an earlier record: the registry refuses any record
            # stating another, so the line cannot be recorded as utilised (which figure is right
            # is for the certificate's issuer to settle).
            reasons.append(_mismatch_reason(item, certified, known.certified))
        elif certified is not None and not any(r.code is RejectionCode.UNIT_MISMATCH for r in reasons):
            exceeded = _quantity_reason(line, item, certified, known, taken.get(key, 0))
            if exceeded is not None:
                reasons.append(exceeded)
        if not reasons:
            taken[key] = taken.get(key, 0) + line.units
        decisions.append(LineDecision(line, found, tuple(reasons), certified))
    return decisions


def outcome(decisions: Sequence[LineDecision]) -> str:
    """accepted (every line), rejected (none) or partly_accepted."""
    accepted = sum(decision.accepted for decision in decisions)
    if accepted == len(decisions):
        return "accepted"
    return "rejected" if accepted == 0 else "partly_accepted"


def utilisation_summary(
    found: Presented, decisions: Sequence[LineDecision], usage: Mapping[tuple[str, int], Usage]
) -> list[dict[str, Any]]:
    """The declared items of one certificate: certified, utilised (the registry's before this
    declaration plus this declaration's accepted lines), remaining and unit, as decimal strings."""
    summary: list[dict[str, Any]] = []
    for number in sorted({d.line.item for d in decisions if d.certificate is found and d.certified is not None}):
        item = found.item(number) or {}
        certified = certified_units(item) or 0
        known = usage.get((str(found.leaf), number))
        here = sum(d.line.units for d in decisions if d.certificate is found and d.line.item == number and d.accepted)
        utilised = (known.utilised if known is not None else 0) + here
        summary.append(
            {
                "item": number,
                "certified": from_units(certified),
                "utilised": from_units(utilised),
                "remaining": from_units(max(certified - utilised, 0)),
                "unit": item.get("quantity", {}).get("unit"),
            }
        )
    return summary


def _find(line: DeclarationLine, presented: Sequence[Presented]) -> Presented | None:
    if isinstance(line.certificate, int):
        return presented[line.certificate] if line.certificate < len(presented) else None
    return next((p for p in presented if p.leaf == line.certificate), None)


def _not_valid(report: VerificationReport) -> Reason:
    number = report.certificate_number or "(unnamed)"
    failed = next((c.message for c in report.checks if c.name == report.failed_check), "")
    if report.verdict is Verdict.UNAVAILABLE:
        message = f"certificate {number} could not be verified now: its chain did not answer; declare the line again later"
    else:
        message = f"certificate {number} is {report.verdict.value}" + (f": {failed}" if failed else "")
    return Reason(RejectionCode.CERTIFICATE_NOT_VALID, message)


def _certificate_reasons(declaration: Declaration, certificate: Mapping[str, Any], country: str) -> list[Reason]:
    """What rejects every line of a certificate: country, dates, importer."""
    reasons: list[Reason] = []
    number = certificate.get("certificateNumber")
    imported = certificate.get("importCountry")
    if imported != country:
        reasons.append(
            Reason(RejectionCode.WRONG_IMPORT_COUNTRY, f"certificate {number} is for import into {imported}, not {country}")
        )
    issued, until = _as_date(certificate.get("issueDate")), _as_date(certificate.get("validUntil"))
    if issued is not None and declaration.date < issued:
        reasons.append(
            Reason(
                RejectionCode.OUTSIDE_VALIDITY,
                f"the declaration's date {declaration.date} is before certificate {number} was issued ({issued})",
            )
        )
    elif until is not None and declaration.date > until:
        reasons.append(
            Reason(
                RejectionCode.OUTSIDE_VALIDITY,
                f"the declaration's date {declaration.date} is after certificate {number}'s last day of validity ({until})",
            )
        )
    disclosed = _certificate_importer(certificate)
    if disclosed is not None and not _same_party(declaration.importer, disclosed):
        reasons.append(
            Reason(
                RejectionCode.IMPORTER_MISMATCH,
                f"the importer {declaration.importer.name!r} is not the one certificate {number} names ({disclosed.get('name')!r})",
            )
        )
    return reasons


def _item_reasons(line: DeclarationLine, item: Mapping[str, Any]) -> list[Reason]:
    reasons: list[Reason] = []
    hs = item.get("hsCode")
    if line.hs_code[:6] != hs:
        reasons.append(
            Reason(
                RejectionCode.HS_MISMATCH, f"item {line.item} is certified under HS {hs}; the line declares {line.hs_code[:6]}"
            )
        )
    quantity = item.get("quantity")
    unit = quantity.get("unit") if isinstance(quantity, dict) else None
    if line.unit != unit:
        reasons.append(
            Reason(RejectionCode.UNIT_MISMATCH, f"item {line.item} is certified in {unit}; the line declares {line.unit}")
        )
    return reasons


def _mismatch_reason(item: Mapping[str, Any], certified: int, recorded: int) -> Reason:
    unit = item.get("quantity", {}).get("unit")
    return Reason(
        RejectionCode.CERTIFIED_QUANTITY_MISMATCH,
        f"item {item.get('itemNumber')} is certified {from_units(certified)} {unit} on the certificate, but the registry "
        f"holds {from_units(recorded)} {unit} as its certified quantity (from an earlier record)",
    )


def _quantity_reason(
    line: DeclarationLine, item: Mapping[str, Any], certified: int, known: Usage | None, taken: int
) -> Reason | None:
    ceiling = certified  # a registry holding another certified quantity was refused before this
    utilised = known.utilised if known is not None else 0
    remaining = max(ceiling - utilised - taken, 0)
    if line.units <= remaining:
        return None
    unit = item.get("quantity", {}).get("unit")
    if ceiling - utilised <= 0:
        message = f"item {line.item} is fully utilised ({from_units(utilised)} of {from_units(ceiling)} {unit})"
    else:
        earlier = f", {from_units(taken)} on earlier lines of this declaration" if taken else ""
        message = (
            f"line {line.line} declares {line.quantity} {unit} of item {line.item}; {from_units(remaining)} remain unutilised "
            f"({from_units(ceiling)} certified, {from_units(utilised)} utilised before{earlier})"
        )
    return Reason(RejectionCode.QUANTITY_EXCEEDED, message)


def _as_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and _DATE.fullmatch(value) else None
    except ValueError:
        return None


def _certificate_importer(certificate: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The importer the certificate discloses: its importer, or its consignee when the importer is
    stated as null (the same party); None when withheld, consigned to order or not stated."""
    if "importer" not in certificate:  # withheld from this copy
        return None
    importer = certificate["importer"]
    if isinstance(importer, dict):
        return importer
    consignee = certificate.get("consignee")
    return consignee if importer is None and isinstance(consignee, dict) else None


def _same_party(declared: Party, stated: Mapping[str, Any]) -> bool:
    """Identifiers when both have one (scheme and value, spacing and case aside), else names."""
    identifier = stated.get("identifier")
    if declared.identifier is not None and isinstance(identifier, dict):
        scheme, value = declared.identifier
        return (_compact(scheme), _compact(value)) == (_compact(identifier.get("scheme")), _compact(identifier.get("value")))
    return _normalised_name(declared.name) == _normalised_name(stated.get("name"))


def _compact(value: Any) -> str:
    return re.sub(r"[\s.-]", "", str(value)).upper()


def _normalised_name(value: Any) -> str:
    """A name compared loosely: Unicode-compatible form, case folded, punctuation and spacing aside
    ("ACME Trading GmbH" = "Acme  Trading, GmbH")."""
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())
