"""The trade rules: what a certificate must satisfy beyond what its JSON Schema can express.

This is the module trade experts edit. Each rule is one function that reads the document (a
plain-JSON copy, possibly of the wrong shape anywhere: the schema reports shapes, a rule skips what
it cannot read) and yields issues ``(path, code, message)``; the message says "expected ..., got
...". :data:`DOCUMENT_RULES` and :data:`ITEM_RULES` list them in the order they run.

To add a rule: write the function next to its kind, add it to the list, give it a new stable code,
list the code in ``docs/fields.md`` and break the rule once in ``tests/unit/test_validation.py``.
The code lists the rules read (countries, schemes, origin criteria) are in :mod:`ecoo.validation.codes`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Final, NamedTuple

from .cleaning import COUNTRY_RE, country, parse_date
from .codes import ALL_CRITERIA, ISO_3166_ALPHA2, ORIGIN_CRITERIA
from .fields import TEMPLATES_BY_KIND
from .messages import describe, describe_criterion, show
from .pointers import Issue, Path, member, pointer, values_at

__all__ = ["DOCUMENT_RULES", "ITEM_RULES", "Item", "rule_issues"]

_DECIMAL_RE: Final = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?")
_LOCODE_RE: Final = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")
_HS_RE: Final = re.compile(r"[0-9]{6}")
_NATIONAL_TARIFF_RE: Final = re.compile(r"[0-9]{6,12}")
_COPIES: Final = frozenset({"DUPLICATE", "CERTIFIED_TRUE_COPY"})


def rule_issues(document: object, withheld: frozenset[str]) -> Iterator[Issue]:
    """Every issue the trade rules find in ``document``; ``withheld`` names the parts an exporter removed."""
    if not isinstance(document, dict):
        return
    for rule in DOCUMENT_RULES:
        yield from rule(document)
    items = document.get("items")
    if isinstance(items, list):
        scheme = document.get("scheme")
        allowed = ORIGIN_CRITERIA.get(scheme) if type(scheme) is str else None
        for index, fields in enumerate(items):
            if isinstance(fields, dict):
                item = Item(index, fields, scheme if allowed is not None else None, allowed, withheld)
                for item_rule in ITEM_RULES:
                    yield from item_rule(item)


# --- Rules on the whole certificate ---------------------------------------------------------------------


def countries_are_assigned(document: dict[str, Any]) -> Iterator[Issue]:
    """Every country code, and the country part of every UN/LOCODE, is an officially assigned ISO 3166-1 code."""
    for template in TEMPLATES_BY_KIND.get("countryCode", ()):
        for path, value in values_at(document, template):
            if type(value) is str and COUNTRY_RE.fullmatch(value) and value not in ISO_3166_ALPHA2:
                yield path, "country.unknown", f"expected an officially assigned ISO 3166-1 alpha-2 country code, got {value!r}"
    for template in TEMPLATES_BY_KIND.get("locode", ()):
        for path, value in values_at(document, template):
            if type(value) is str and _LOCODE_RE.fullmatch(value) and value[:2] not in ISO_3166_ALPHA2:
                message = f"expected a UN/LOCODE starting with an assigned country code, got {value!r}"
                yield path, "locode.country_unknown", message


def dates_in_order(document: dict[str, Any]) -> Iterator[Issue]:
    """Valid until after issue; certified on or after the exporter's declaration; a back-to-back original issued first."""
    issued = parse_date(document.get("issueDate"))
    valid_until = parse_date(document.get("validUntil"))
    if issued and valid_until and valid_until <= issued:
        yield ("validUntil",), "validity.not_after_issue", f"expected a date after the issue date {issued}, got {valid_until}"

    declared = parse_date(member(document, "exporterDeclaration", "date"))
    certified = parse_date(member(document, "certification", "date"))
    if declared and certified and certified < declared:
        yield (
            ("certification", "date"),
            "certification.before_declaration",
            f"expected a certification date on or after the exporter's declaration of {declared}, got {certified}",
        )

    original = parse_date(member(document, "backToBack", "originalIssueDate"))
    if issued and original and original > issued:
        yield (
            ("backToBack", "originalIssueDate"),
            "back_to_back.date_order",
            f"expected the original certificate to be issued on or before this one ({issued}), got {original}",
        )


def countries_agree(document: dict[str, Any]) -> Iterator[Issue]:
    """Issued in the country of export; imported elsewhere; a back-to-back original from another country."""
    export_country = country(document.get("exportCountry"))
    issuer_country = country(member(document, "issuer", "country"))
    if export_country and issuer_country and export_country != issuer_country:
        # A chamber or authority certifies the origin of goods exported from its own country.
        yield (
            ("exportCountry",),
            "issuer.country_mismatch",
            f"expected the issuer's country {issuer_country!r} (certificates are issued in the country of export), "
            f"got {export_country!r}",
        )
    import_country = country(document.get("importCountry"))
    if export_country and import_country == export_country:
        message = f"expected an import country other than the export country, got {import_country!r}"
        yield ("importCountry",), "countries.same", message
    original_country = country(member(document, "backToBack", "originalIssuingCountry"))
    if export_country and original_country == export_country:
        yield (
            ("backToBack", "originalIssuingCountry"),
            "back_to_back.same_country",
            f"expected the original certificate to come from another country than the export country, got {original_country!r}",
        )


def copies_name_their_original(document: dict[str, Any]) -> Iterator[Issue]:
    """A copy names its original (issued no later), an original names none; a replacement replaces another number."""
    copy_type = document.get("copyType")
    copy_of = document.get("copyOf")
    if copy_type == "ORIGINAL" and copy_of is not None:
        yield ("copyOf",), "copy.unexpected", f"expected copyOf null for an ORIGINAL, got {describe(copy_of)}"
    elif type(copy_type) is str and copy_type in _COPIES and copy_of is None:
        yield ("copyOf",), "copy.original_missing", f"expected the original certificate (copyOf) for a {copy_type}, found none"
    issued = parse_date(document.get("issueDate"))
    original_issued = parse_date(member(document, "copyOf", "issueDate"))
    if issued and original_issued and original_issued > issued:
        yield (
            ("copyOf", "issueDate"),
            "copy.date_order",
            f"expected the original to be issued on or before its copy ({issued}), got {original_issued}",
        )
    number = document.get("certificateNumber")
    replaced = member(document, "replaces", "certificateNumber")
    if type(number) is str and replaced == number:
        message = f"expected the number of another certificate, got this one's {number!r}"
        yield ("replaces", "certificateNumber"), "replaces.self", message


def items_numbered_in_order(document: dict[str, Any]) -> Iterator[Issue]:
    """Items are numbered 1 to N in document order, each number once."""
    items = document.get("items")
    if not isinstance(items, list):
        return
    first_index: dict[int, int] = {}
    for index, item in enumerate(items):
        number = item.get("itemNumber") if isinstance(item, dict) else None
        if type(number) is not int or not 1 <= number <= 999:
            continue  # the schema reports it
        path = ("items", index, "itemNumber")
        if number in first_index:
            message = f"expected a unique item number, got {number}, already used at /items/{first_index[number]}"
            yield path, "items.duplicate_number", message
            continue
        first_index[number] = index
        if number != index + 1:
            message = f"expected item number {index + 1} (items are numbered 1 to N in document order), got {number}"
            yield path, "items.numbering", message


DOCUMENT_RULES: Final[tuple[Callable[[dict[str, Any]], Iterator[Issue]], ...]] = (
    countries_are_assigned,
    dates_in_order,
    countries_agree,
    copies_name_their_original,
    items_numbered_in_order,
)
"""The rules on the whole certificate, in the order they run (:data:`ITEM_RULES` follow, item by item)."""


# --- Rules on each item ---------------------------------------------------------------------------------


class Item(NamedTuple):
    """One item of the certificate, with what its rules need to know about the certificate.

    (A named tuple rather than a frozen dataclass: one is built per item and validation, and a
    tuple is built in half the time.)
    """

    position: int
    """Position in ``items`` (0-based)."""
    fields: dict[str, Any]
    """The item's members."""
    scheme: str | None
    """The certificate's scheme when it is a known one, else None."""
    allowed: tuple[str, ...] | None
    """The origin-criterion codes of that scheme (empty: it carries none), None for an unknown scheme."""
    withheld: frozenset[str]
    """The JSON Pointers of the parts the exporter withheld."""

    @property
    def path(self) -> Path:
        return ("items", self.position)


def tariff_code_extends_hs(item: Item) -> Iterator[Issue]:
    """A national tariff code starts with the item's 6-digit HS subheading."""
    hs_code, national = item.fields.get("hsCode"), item.fields.get("nationalTariffCode")
    if type(hs_code) is str and type(national) is str and _HS_RE.fullmatch(hs_code) and _NATIONAL_TARIFF_RE.fullmatch(national):
        if not national.startswith(hs_code):
            message = f"expected a national tariff code starting with {hs_code}, got {national!r}"
            yield (*item.path, "nationalTariffCode"), "hs.national_mismatch", message


def origin_criterion_fits_scheme(item: Item) -> Iterator[Issue]:
    """The scheme's criterion codes only (none for a scheme without); RVC states its percentage and the FOB value."""
    base, scheme, allowed = item.path, item.scheme, item.allowed
    criterion = item.fields.get("originCriterion")
    if allowed is not None and not allowed:
        if criterion is not None:
            yield (
                (*base, "originCriterion"),
                "origin.criterion_not_allowed",
                (f"expected no origin criterion (null) for a {scheme} certificate, got {describe_criterion(criterion)}"),
            )
        return
    if allowed is not None and criterion is None:
        message = f"expected an origin criterion for {scheme} ({', '.join(allowed)}), found none"
        yield (*base, "originCriterion"), "origin.criterion_missing", message
        return
    if not isinstance(criterion, dict):
        return
    code = criterion.get("code")
    if type(code) is not str:
        return  # the schema reports it
    legal = allowed if allowed is not None else ALL_CRITERIA
    if code not in legal:
        for_scheme = f" for {scheme}" if scheme else ""
        message = f"expected one of {', '.join(legal)}{for_scheme}, got {show(code)}"
        yield (*base, "originCriterion", "code"), "origin.criterion_not_allowed", message
        return

    percent = criterion.get("rvcPercent")
    percent_path = (*base, "originCriterion", "rvcPercent")
    if code != "RVC":
        if percent is not None:
            message = f"expected no rvcPercent for criterion {code} (only RVC states one), got {show(percent)}"
            yield percent_path, "rvc.percent_unexpected", message
        return
    if percent is None:
        yield percent_path, "rvc.percent_missing", "expected the regional value content in percent for criterion RVC, found none"
    elif type(percent) is str and _DECIMAL_RE.fullmatch(percent) and not 0 < Decimal(percent) <= 100:
        yield percent_path, "rvc.percent_range", f"expected a percentage above 0 and at most 100, got {percent!r}"
    fob_path = (*base, "fobValue")
    if item.fields.get("fobValue") is None and pointer(fob_path) not in item.withheld:
        yield fob_path, "rvc.fob_missing", "expected the item's FOB value, which criterion RVC needs, found none"


ITEM_RULES: Final[tuple[Callable[[Item], Iterator[Issue]], ...]] = (
    tariff_code_extends_hs,
    origin_criterion_fits_scheme,
)
"""The rules on each item, in the order they run."""
