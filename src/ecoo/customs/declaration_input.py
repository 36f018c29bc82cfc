"""Reading a customs declaration: every member checked for type, size and shape before anything
uses it. Every input is hostile: JSON comes through the project's one bounded reader
(:func:`ecoo.files.parse_json`), PDFs through the existing reader (:mod:`ecoo.pdf.reader`); a
problem is a :class:`DeclarationInputError` naming the member (``/lines/0/quantity: ...``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..errors import InputError, PdfError
from ..errors.base import DeclarationInputError
from ..files import MAX_FILE_BYTES, parse_json
from ..utilisation import to_units

__all__ = [
    "MAX_CERTIFICATES",
    "MAX_LINES",
    "Declaration",
    "DeclarationLine",
    "Party",
    "read_certificate_file",
    "read_declaration",
]

#: Certificates one declaration may present (a consignment rarely has more than a few dozen).
MAX_CERTIFICATES = 100
#: Lines one declaration may have (a certificate has at most 999 items).
MAX_LINES = 999
MAX_LINE_NUMBER = 99_999
MAX_ITEM = 999  # the certificate's schema: items are numbered 1 to 999
MAX_NAME = 512
MAX_IDENTIFIER = 64

_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9./_-]{0,127}", re.ASCII)
_LOCODE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_HS_CODE = re.compile(r"[0-9]{6,12}", re.ASCII)  # a subheading, or a national tariff line that starts with one
_UNIT = re.compile(r"[A-Z0-9]{2,3}", re.ASCII)
_SCHEME = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}", re.ASCII)
_PREFERENCE = re.compile(r"[A-Z0-9_]{1,32}", re.ASCII)
_LEAF = re.compile(r"0x[0-9a-fA-F]{64}", re.ASCII)
# Control characters, and line and paragraph separators: never part of a name a page shows on one line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_TOP = frozenset({"reference", "importer", "portOfEntry", "date", "lines", "certificates"})
_TOP_REQUIRED = ("reference", "importer", "portOfEntry", "date", "lines")
_PARTY = frozenset({"name", "identifier"})
_IDENTIFIER = frozenset({"scheme", "value"})
_LINE = frozenset({"line", "certificate", "item", "hsCode", "quantity", "unit", "preference"})
_LINE_REQUIRED = ("line", "certificate", "item", "hsCode", "quantity", "unit")


@dataclass(frozen=True)
class Party:
    """The importer as declared: a name and, when stated, an identifier (scheme, value)."""

    name: str
    identifier: tuple[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        identifier = {"scheme": self.identifier[0], "value": self.identifier[1]} if self.identifier else None
        return {"name": self.name, "identifier": identifier}


@dataclass(frozen=True)
class DeclarationLine:
    """One line: which certificate (an index into those presented, or a lower-case 0x leaf), which
    item of it, and what is declared; ``units`` is ``quantity`` in the registry's thousandths."""

    line: int
    certificate: int | str
    item: int
    hs_code: str
    quantity: str
    units: int
    unit: str
    preference: str | None = None


@dataclass(frozen=True)
class Declaration:
    reference: str
    importer: Party
    port_of_entry: str
    date: date
    lines: tuple[DeclarationLine, ...]


# -- reading -------------------------------------------------------------------------------------


def read_declaration(value: Any, files: Sequence[tuple[str, bytes]] = ()) -> tuple[Declaration, list[Any]]:
    """The declaration in ``value`` (parsed JSON) and the certificates it presents: those of its
    ``certificates`` member, then those of ``files`` (name, bytes: JSON or an ecoo PDF), in order;
    a line's certificate index counts in that order."""
    obj = _object(value, "", _TOP, _TOP_REQUIRED)
    inline = obj.get("certificates", [])
    if not isinstance(inline, list):
        raise DeclarationInputError("/certificates", "expected a list of issued certificates")
    if len(inline) + len(files) > MAX_CERTIFICATES:
        raise DeclarationInputError("/certificates", f"at most {MAX_CERTIFICATES} certificates per declaration")
    certificates = list(inline) + [read_certificate_file(name, data, index) for index, (name, data) in enumerate(files)]
    if not certificates:
        raise DeclarationInputError("/certificates", "present at least one certificate (JSON or an ecoo PDF)")
    lines = obj["lines"]
    if not isinstance(lines, list) or not 1 <= len(lines) <= MAX_LINES:
        raise DeclarationInputError("/lines", f"expected a list of 1 to {MAX_LINES} lines")
    parsed = tuple(_line(line, f"/lines/{i}", len(certificates)) for i, line in enumerate(lines))
    seen: set[int] = set()
    for i, line in enumerate(parsed):
        if line.line in seen:
            raise DeclarationInputError(f"/lines/{i}/line", f"line number {line.line} is used twice")
        seen.add(line.line)
    declaration = Declaration(
        reference=_string(
            obj["reference"], "/reference", _REFERENCE, "1 to 128 letters, digits and . / _ - (e.g. DE-IMP-2026-000123)"
        ),
        importer=_party(obj["importer"], "/importer"),
        port_of_entry=_string(obj["portOfEntry"], "/portOfEntry", _LOCODE, "a UN/LOCODE such as DEHAM"),
        date=_date(obj["date"], "/date"),
        lines=parsed,
    )
    return declaration, certificates


def read_certificate_file(name: str, data: bytes, index: int = 0) -> Any:
    """A presented file as an issued document: an ecoo PDF (its embedded document) or JSON."""
    where = f"/files/{index}"
    shown = _CONTROL.sub("", name)[:80] or "(unnamed)"
    if len(data) > MAX_FILE_BYTES:
        raise DeclarationInputError(where, f"{shown} is over the {MAX_FILE_BYTES // (1024 * 1024)} MB limit for one file")
    if b"%PDF-" in data[:1024]:
        from ..pdf.reader import extract_document  # pypdf only, loaded when a PDF comes

        try:
            return extract_document(data)
        except PdfError as exc:
            raise DeclarationInputError(where, f"{shown}: {exc}") from None
    try:
        return parse_json(data, shown)
    except InputError as exc:
        raise DeclarationInputError(where, f"{exc} (expected an issued certificate's JSON or an ecoo PDF)") from None


def _object(value: Any, where: str, allowed: frozenset[str], required: Sequence[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DeclarationInputError(where or "/", "expected an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise DeclarationInputError(f"{where}/{_CONTROL.sub('', unknown[0])[:40]}", "unknown member")
    missing = [name for name in required if name not in value]
    if missing:
        raise DeclarationInputError(f"{where}/{missing[0]}", "required")
    return value


def _string(value: Any, where: str, pattern: re.Pattern[str], expected: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise DeclarationInputError(where, f"expected {expected}")
    return value


def _text(value: Any, where: str, limit: int) -> str:
    """Free text on one line: 1 to ``limit`` characters, no control characters, not blank."""
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise DeclarationInputError(where, f"expected text of 1 to {limit} characters")
    if _CONTROL.search(value):
        raise DeclarationInputError(where, "control characters are not allowed")
    return value


def _integer(value: Any, where: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DeclarationInputError(where, f"expected an integer from {low} to {high}")
    return value


def _date(value: Any, where: str) -> date:
    text = _string(value, where, _DATE, "a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DeclarationInputError(where, f"{text} is not a calendar date") from None


def _party(value: Any, where: str) -> Party:
    obj = _object(value, where, _PARTY, ("name",))
    name = _text(obj["name"], f"{where}/name", MAX_NAME)
    raw = obj.get("identifier")
    if raw is None:
        return Party(name)
    identifier = _object(raw, f"{where}/identifier", _IDENTIFIER, ("scheme", "value"))
    scheme = _string(identifier["scheme"], f"{where}/identifier/scheme", _SCHEME, "a scheme such as EORI, TIN or UEN")
    return Party(name, (scheme, _text(identifier["value"], f"{where}/identifier/value", MAX_IDENTIFIER)))


def _line(value: Any, where: str, certificates: int) -> DeclarationLine:
    obj = _object(value, where, _LINE, _LINE_REQUIRED)
    reference = obj["certificate"]
    certificate: int | str
    if isinstance(reference, str) and _LEAF.fullmatch(reference):
        certificate = reference.lower()
    elif isinstance(reference, int) and not isinstance(reference, bool):
        certificate = _integer(reference, f"{where}/certificate", 0, certificates - 1)
    else:
        raise DeclarationInputError(f"{where}/certificate", "expected a certificate's leaf (0x and 64 hex digits) or its index")
    quantity = obj["quantity"]
    if not isinstance(quantity, str) or len(quantity) > 40:
        raise DeclarationInputError(f"{where}/quantity", 'expected a decimal string such as "2000" or "1250.5"')
    try:
        units = to_units(quantity)
    except InputError as exc:
        raise DeclarationInputError(f"{where}/quantity", str(exc)) from None
    if units == 0:
        raise DeclarationInputError(f"{where}/quantity", "must be more than 0")
    preference = obj.get("preference")
    if preference is not None:
        preference = _string(preference, f"{where}/preference", _PREFERENCE, "a scheme such as RCEP, or null")
    return DeclarationLine(
        line=_integer(obj["line"], f"{where}/line", 1, MAX_LINE_NUMBER),
        certificate=certificate,
        item=_integer(obj["item"], f"{where}/item", 1, MAX_ITEM),
        hs_code=_string(obj["hsCode"], f"{where}/hsCode", _HS_CODE, "6 to 12 digits (the HS subheading first)"),
        quantity=quantity,
        units=units,
        unit=_string(obj["unit"], f"{where}/unit", _UNIT, "a UNECE Recommendation 20 unit such as PCE or KGM"),
        preference=preference,
    )
