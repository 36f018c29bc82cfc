"""The certificate of origin as the paper form shows it: numbered boxes of labelled lines.

One mapping from a certificate's JSON to what a person reads, used by both the verification page
(``service/templates/result.html``) and the printed PDF (:mod:`ecoo.pdf.layout`), so that box
numbers, labels and values agree wherever a certificate is shown. The numbering follows the ICC
certificate-of-origin form: 1 exporter, 2 consignee, 3 transport, 4 for official use, 5 goods,
6 importer, producer and other particulars, 7 the exporter's declaration, 8 the certification.

Pure data, no Flask and no layout library: the service imports it without loading fpdf. It
accepts any JSON value, because the page also shows documents that did not verify (forgeries
included): every value goes through :func:`display_text`, which never raises and cuts overlong
text. A withheld part (in ``proof.withheld`` and absent) reads "withheld by the holder", or "not
published on this page" on the service's public view; a part the certificate lacks is never called
withheld. Codes carry their names (:mod:`ecoo.code_names`), figures their thousands separators.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .code_names import country_name, package_name, place_name
from .verdicts import group_digits

__all__ = ["COPY_TITLES", "GOODS_COLUMNS", "NOT_PUBLISHED", "SCHEME_TITLES", "WITHHELD"]
__all__ += ["Box", "CertificateForm", "Cell", "Line", "certificate_form", "display_text"]

WITHHELD = "withheld by the holder"
#: What a part reads as on the service's public view (``/v/<leaf>``), which publishes the core only.
NOT_PUBLISHED = "not published on this page"
NOT_STATED = "not stated"
NO_ITEMS = "no items"
ABSENT = "—"
#: Longest text shown for one value; the schema allows 4000 characters, a forgery may hold megabytes.
MAX_FIELD_CHARS = 4000

#: Scheme code -> (short name, the agreement in full or "").
SCHEME_TITLES: Mapping[str, tuple[str, str]] = {
    "NON_PREFERENTIAL": ("Non-preferential", ""),
    "RCEP": ("RCEP", "Regional Comprehensive Economic Partnership"),
    "ATIGA": ("Form D (ATIGA)", "ASEAN Trade in Goods Agreement"),
    "EUR1": ("EUR.1", "movement certificate"),
    "GSP_A": ("Form A (GSP)", "Generalised System of Preferences"),
    "CPTPP": ("CPTPP", "Comprehensive and Progressive Agreement for Trans-Pacific Partnership"),
}
COPY_TITLES: Mapping[str, str] = {
    "ORIGINAL": "ORIGINAL",
    "DUPLICATE": "DUPLICATE",
    "CERTIFIED_TRUE_COPY": "CERTIFIED TRUE COPY",
}
TRANSPORT_MODES: Mapping[str, str] = {
    "SEA": "Sea",
    "AIR": "Air",
    "ROAD": "Road",
    "RAIL": "Rail",
    "INLAND_WATERWAY": "Inland waterway",
    "POST": "Post",
    "MULTIMODAL": "Multimodal",
    "FIXED_INSTALLATION": "Fixed installation",
}
FLAGS: tuple[tuple[str, str], ...] = (
    ("issuedRetroactively", "Issued retroactively"),
    ("exhibition", "Exhibition"),
    ("cumulation", "Cumulation"),
    ("deMinimis", "De minimis"),
)
#: Box 5's columns: heading and alignment (L, C, R), in the order of :attr:`CertificateForm.goods` cells.
GOODS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Item", "C"),
    ("Marks and numbers", "L"),
    ("Number and kind of packages", "L"),
    ("Description of goods", "L"),
    ("HS code", "L"),
    ("Origin", "C"),
    ("Origin criterion", "L"),
    ("Quantity", "R"),
    ("Gross weight", "R"),
    ("FOB value", "R"),
    ("Invoice no. and date", "L"),
)
DECLARATION_TEXT = (
    "The undersigned hereby declares that the above details and statements are correct, that all the goods "
    "were produced in the country(ies) shown in box 5 and, for a preferential certificate, that they comply "
    "with the origin requirements of the agreement named above."
)
CERTIFICATION_TEXT = (
    "It is hereby certified, on the basis of control carried out, that the declaration by the exporter is "
    "correct and that the goods described above originate in the country(ies) shown in box 5."
)
_NBSP = "\u00a0"


@dataclass(frozen=True)
class Line:
    """One line of a box: an optional label, then the text (which may hold line breaks)."""

    text: str
    label: str = ""
    bold: bool = False
    muted: bool = False  # withheld, absent or explanatory: printed grey
    small: bool = False  # the form's own wording and tick boxes, in smaller type


@dataclass(frozen=True)
class Box:
    """A numbered box of the form."""

    number: int
    title: str
    lines: tuple[Line, ...]

    @property
    def heading(self) -> str:
        return f"{self.number}  {self.title}"

    @property
    def withheld(self) -> bool:
        return any(line.text in (WITHHELD, NOT_PUBLISHED) and line.muted for line in self.lines)


@dataclass(frozen=True)
class Cell:
    """One cell of the goods table."""

    text: str
    muted: bool = False
    withheld: bool = False


@dataclass(frozen=True)
class CertificateForm:
    """A certificate laid out as the form: its title, then boxes 1 to 8."""

    number: str
    scheme: str  # the scheme's short name ("Form D (ATIGA)")
    scheme_title: str  # with the agreement in full, when it has one
    copy_type: str  # ORIGINAL, DUPLICATE, CERTIFIED TRUE COPY
    exporter: Box  # 1
    consignee: Box  # 2
    transport: Box  # 3
    official: Box  # 4
    goods: tuple[tuple[Cell, ...], ...]  # 5: one row of len(GOODS_COLUMNS) cells per item
    particulars: Box  # 6
    declaration: Box  # 7
    certification: Box  # 8

    @property
    def goods_heading(self) -> str:
        count = len(self.goods)
        return f"5  Goods ({count} item{'s' if count != 1 else ''})"

    @property
    def top_left(self) -> tuple[Box, Box, Box]:
        return self.exporter, self.consignee, self.transport

    @property
    def boxes(self) -> tuple[Box, ...]:
        """Boxes 1-4 and 6-8, in order (box 5 is the goods table)."""
        return (*self.top_left, self.official, self.particulars, self.declaration, self.certification)


def display_text(value: Any) -> str:
    """Any JSON value as display text ("" for null): never raises, never overlong."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | float):
        text = str(value) if not isinstance(value, int) or abs(value) < 10**100 else "(a number too long to show)"
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_FIELD_CHARS else text[:MAX_FIELD_CHARS] + "…"


def _shown(value: Any, absent: str = ABSENT) -> str:
    return display_text(value) or absent


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def certificate_form(
    certificate: Any, withheld: Iterable[str] = (), signer: Any = None, *, withheld_text: str = WITHHELD
) -> CertificateForm | None:
    """``certificate`` as the form's boxes, or None when it is not a JSON object.

    ``withheld`` are the JSON pointers of the parts the holder withheld (the keys of
    ``proof.withheld``); ``signer`` is the issuer key that signed it (``proof.issuer``);
    ``withheld_text`` what a withheld part reads as (:data:`NOT_PUBLISHED` on the public view).
    """
    if not isinstance(certificate, Mapping):
        return None
    view = _FormBuilder(certificate, frozenset(str(p) for p in withheld), withheld_text)
    scheme = certificate.get("scheme")
    short, agreement = SCHEME_TITLES.get(str(scheme), (_shown(scheme), ""))
    copy_type = certificate.get("copyType")
    return CertificateForm(
        number=_shown(certificate.get("certificateNumber")),
        scheme=short,
        scheme_title=f"{short} — {agreement}" if agreement else short,
        copy_type=COPY_TITLES.get(str(copy_type), _shown(copy_type)),
        exporter=Box(1, "Exporter (consignor): name, address, country", view.exporter()),
        consignee=Box(2, "Consignee: name, address, country", view.consignee()),
        transport=Box(3, "Means of transport and route", view.transport()),
        official=Box(4, "For official use", view.official()),
        goods=view.goods(),
        particulars=Box(6, "Importer, producer and other particulars", view.particulars()),
        declaration=Box(7, "Declaration by the exporter", view.declaration()),
        certification=Box(8, "Certification", view.certification(signer)),
    )


class _FormBuilder:
    def __init__(self, certificate: Mapping[str, Any], withheld: frozenset[str], withheld_text: str = WITHHELD) -> None:
        self.cert = certificate
        self.withheld = withheld
        self.hidden = withheld_text

    def _is_withheld(self, key: str) -> bool:
        """A top-level part is withheld when it is missing and the proof lists it as withheld."""
        return key not in self.cert and f"/{key}" in self.withheld

    # -- boxes 1 to 3 ------------------------------------------------------------------------------

    def _missing(self, key: str) -> tuple[Line, ...]:
        return (Line(self.hidden if self._is_withheld(key) else NOT_STATED, muted=True),)

    def exporter(self) -> tuple[Line, ...]:
        if "exporter" not in self.cert:
            return self._missing("exporter")
        return _party_lines(self.cert["exporter"])

    def consignee(self) -> tuple[Line, ...]:
        if "consignee" not in self.cert:
            return self._missing("consignee")
        consignee = self.cert["consignee"]
        if consignee == "TO_ORDER":
            return (
                Line("TO ORDER", bold=True),
                Line("Consigned to the order of the holder of the transport document", muted=True),
            )
        return _party_lines(consignee)

    def transport(self) -> tuple[Line, ...]:
        if self._is_withheld("transport"):
            return (Line(self.hidden, muted=True),)
        transport = self.cert.get("transport")
        if not isinstance(transport, Mapping):
            return (Line(NOT_STATED, muted=True),)
        transit = transport.get("transitCountries")
        via = ", ".join(_country(c) for c in transit) if isinstance(transit, list) and transit else "none"
        mode = transport.get("mode")
        return (
            Line(TRANSPORT_MODES.get(str(mode), _shown(mode)), label="Mode"),
            Line(_shown(transport.get("vesselOrFlight")), label="Vessel / flight"),
            Line(_shown(transport.get("departureDate")), label="Departure date"),
            Line(_coded(transport.get("portOfLoading"), place_name), label="Port of loading"),
            Line(_coded(transport.get("portOfDischarge"), place_name), label="Port of discharge"),
            Line(via, label="Transit countries"),
            Line(_shown(transport.get("transportDocumentNumber")), label="Transport document"),
        )

    # -- box 4 -------------------------------------------------------------------------------------

    def official(self) -> tuple[Line, ...]:
        cert = self.cert
        issued = _shown(cert.get("issueDate"))
        if cert.get("issuePlace"):
            issued += f", {display_text(cert['issuePlace'])}"
        lines = [
            Line(_shown(cert.get("certificateNumber")), label="Certificate No.", bold=True),
            Line(issued, label="Issued"),
            Line(_shown(cert.get("validUntil"), absent="no end date"), label="Valid until"),
        ]
        issuer = cert.get("issuer")
        if isinstance(issuer, Mapping):
            lines += [
                Line(_shown(issuer.get("name")), label="Issuing body", bold=True),
                Line(
                    f"{_country(issuer.get('country'))}, accreditation {_shown(issuer.get('accreditationCode'))}",
                    label="Country, accred.",
                ),
            ]
        lines.append(Line(f"{_country(cert.get('exportCountry'))} → {_country(cert.get('importCountry'))}", label="Export → import"))
        copy_of = cert.get("copyOf")
        if isinstance(copy_of, Mapping):
            lines.append(
                Line(
                    f"No. {_shown(copy_of.get('certificateNumber'))} of {_shown(copy_of.get('issueDate'))}",
                    label="Copy of original",
                )
            )
        replaces = cert.get("replaces")
        if isinstance(replaces, Mapping):
            lines.append(
                Line(f"No. {_shown(replaces.get('certificateNumber'))}: {_shown(replaces.get('reason'))}", label="Replaces")
            )
        flags = cert.get("flags")
        if isinstance(flags, Mapping):
            # No-break spaces keep each tick box with its name when the line wraps.
            marks = "   ".join(("☑" if flags.get(key) is True else "☐") + _NBSP + name.replace(" ", _NBSP) for key, name in FLAGS)
            lines.append(Line(marks, label="Indications", small=True))
        return tuple(lines)

    # -- box 5 -------------------------------------------------------------------------------------

    def goods(self) -> tuple[tuple[Cell, ...], ...]:
        items = self.cert.get("items")
        return tuple(self._item(i, item) for i, item in enumerate(items)) if isinstance(items, list) else ()

    def _item(self, index: int, item: Any) -> tuple[Cell, ...]:
        if not isinstance(item, Mapping):
            return (Cell(_shown(item), muted=True),) + (Cell(""),) * (len(GOODS_COLUMNS) - 1)
        count, kind = item.get("packageCount"), item.get("packageType")
        packages = " ".join(f(v) for f, v in ((_figure, count), (_package, kind)) if v is not None) or "bulk"
        national = item.get("nationalTariffCode")
        hs = _shown(item.get("hsCode")) + (f" ({display_text(national)})" if national else "")
        criterion = item.get("originCriterion")
        if isinstance(criterion, Mapping):
            origin_criterion = _shown(criterion.get("code"))
            if criterion.get("rvcPercent") is not None:
                origin_criterion += f" {display_text(criterion['rvcPercent'])}{_NBSP}%"
        else:
            origin_criterion = _shown(criterion)
        cells = [
            Cell(display_text(item.get("itemNumber")) or str(index + 1)),
            Cell(_shown(item.get("marksAndNumbers"))),
            Cell(packages),
            Cell(_shown(item.get("description"))),
            Cell(hs),
            Cell(_country(item.get("originCountry"))),
            Cell(origin_criterion),
            Cell(_measure(item.get("quantity"), "value", "unit")),
            Cell(_measure(item.get("grossWeight"), "value", "unit")),
        ]
        if "fobValue" not in item and f"/items/{index}/fobValue" in self.withheld:
            cells.append(Cell(self.hidden, muted=True, withheld=True))
        else:
            cells.append(Cell(_measure(item.get("fobValue"), "amount", "currency")))
        invoice = item.get("invoice")
        if "invoice" not in item and f"/items/{index}/invoice" in self.withheld:
            cells.append(Cell(self.hidden, muted=True, withheld=True))
        elif isinstance(invoice, Mapping):
            cells.append(Cell(f"{_shown(invoice.get('number'))}\n{_shown(invoice.get('date'))}"))
        else:
            cells.append(Cell(ABSENT))
        return tuple(cells)

    # -- box 6 -------------------------------------------------------------------------------------

    def particulars(self) -> tuple[Line, ...]:
        return (
            self._party_line("Importer", "importer"),
            Line("Available on request", label="Producer")
            if self.cert.get("producer") == "AVAILABLE_ON_REQUEST"
            else self._party_line("Producer", "producer"),
            self._third_party(),
            self._back_to_back(),
            self._top_level("Remarks", "remarks", absent="none"),
        )

    def _top_level(self, label: str, key: str, absent: str) -> Line:
        if self._is_withheld(key):
            return Line(self.hidden, label=label, muted=True)
        text = display_text(self.cert.get(key))
        return Line(text, label=label) if text else Line(absent, label=label, muted=True)

    def _party_line(self, label: str, key: str) -> Line:
        if self._is_withheld(key):
            return Line(self.hidden, label=label, muted=True)
        party = self.cert.get(key)
        if party is None:
            return Line(NOT_STATED, label=label, muted=True)
        return Line("\n".join(line.text for line in _party_lines(party)), label=label)

    def _third_party(self) -> Line:
        label = "Third-party invoicing"
        if self._is_withheld("thirdPartyInvoicing"):
            return Line(self.hidden, label=label, muted=True)
        invoicing = self.cert.get("thirdPartyInvoicing")
        if not isinstance(invoicing, Mapping):
            return Line("No", label=label)
        party = invoicing.get("invoicingParty")
        if not isinstance(party, Mapping):
            return Line("Yes", label=label)
        parts = [_shown(party.get("name")), display_text(party.get("address")), _country(party.get("country"))]
        return Line("Yes, invoiced by " + ", ".join(p for p in parts if p), label=label)

    def _back_to_back(self) -> Line:
        label = "Back-to-back certificate"
        if self._is_withheld("backToBack"):
            return Line(self.hidden, label=label, muted=True)
        b2b = self.cert.get("backToBack")
        if not isinstance(b2b, Mapping):
            return Line("No", label=label)
        return Line(
            f"Yes, based on original certificate No. {_shown(b2b.get('originalCertificateNumber'))} "
            f"issued {_shown(b2b.get('originalIssueDate'))} in {_country(b2b.get('originalIssuingCountry'))}",
            label=label,
        )

    # -- boxes 7 and 8 -----------------------------------------------------------------------------

    def declaration(self) -> tuple[Line, ...]:
        wording = Line(DECLARATION_TEXT, small=True)
        if self._is_withheld("exporterDeclaration"):
            return wording, Line(self.hidden, muted=True)
        declaration = self.cert.get("exporterDeclaration")
        if not isinstance(declaration, Mapping):
            return wording, Line("no declaration recorded", muted=True)
        return (
            wording,
            Line(_place_date(declaration), label="Place and date"),
            Line(_shown(declaration.get("signatory")), label="Signatory", bold=True),
        )

    def certification(self, signer: Any) -> tuple[Line, ...]:
        lines = [Line(CERTIFICATION_TEXT, small=True)]
        certification = self.cert.get("certification")
        if isinstance(certification, Mapping):
            lines += [
                Line(_place_date(certification), label="Place and date"),
                Line(_shown(certification.get("officer")), label="Certifying officer", bold=True),
            ]
        issuer = self.cert.get("issuer")
        if isinstance(issuer, Mapping):
            lines.append(Line(_shown(issuer.get("name")), label="For"))
        lines.append(
            Line(
                f"Signed electronically (EIP-712) by issuer key {_shown(signer)}. "
                "No stamp or handwritten signature: check the QR code.",
                label="Signature",
                small=True,
            )
        )
        return tuple(lines)


def _party_lines(party: Any) -> tuple[Line, ...]:
    if not isinstance(party, Mapping):
        return (Line(_shown(party)),)
    details = f"Country: {_country(party.get('country'))}"
    identifier = party.get("identifier")
    if isinstance(identifier, Mapping):
        details += f"   {_shown(identifier.get('scheme'))}: {_shown(identifier.get('value'))}"
    lines = (Line(_shown(party.get("name")), bold=True), Line(display_text(party.get("address"))), Line(details))
    return tuple(line for line in lines if line.text)


def _measure(value: Any, amount_key: str, unit_key: str) -> str:
    """ "126,000.00 USD": the figure grouped, joined to its unit by a no-break space."""
    if not isinstance(value, Mapping):
        return ABSENT
    unit = display_text(value.get(unit_key))
    return _figure(value.get(amount_key)) + (_NBSP + unit if unit else "")


_DECIMAL = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?")


def _figure(value: Any) -> str:
    """A decimal number (a JSON number or the schema's decimal string) with thousands separators."""
    text = _shown(value)
    if isinstance(value, bool) or not _DECIMAL.fullmatch(text):
        return text
    return ("-" if text.startswith("-") else "") + group_digits(text.lstrip("-"))


def _coded(code: Any, name_of: Callable[[object], str | None]) -> str:
    """A code with its name: "THLCH (Laem Chabang, Thailand)"; the code alone when no list knows it."""
    name = name_of(code)
    return f"{_shown(code)} ({name})" if name else _shown(code)


def _country(code: Any) -> str:
    return _coded(code, country_name)


def _package(code: Any) -> str:
    return _coded(code, package_name)


def _place_date(signed: Mapping[str, Any]) -> str:
    place = display_text(signed.get("place"))
    return f"{place}, {_shown(signed.get('date'))}" if place else _shown(signed.get("date"))
