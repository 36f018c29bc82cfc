"""The single-window check, pure and fast: reading a hostile declaration, and deciding each line
with its coded reasons (no chain, no database: the reports and the registry's quantities are given)."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from pypdf import PdfWriter

from ecoo.customs.declaration_input import MAX_CERTIFICATES, Declaration, read_certificate_file, read_declaration
from ecoo.customs.declarations import (
    LineDecision,
    Presented,
    certified_units,
    check_lines,
    items_to_read,
    outcome,
    present,
    utilisation_summary,
)
from ecoo.errors.base import DeclarationInputError
from ecoo.pdf import render_pdf
from ecoo.protocol import build_document, prepare
from ecoo.verdicts import Check, CheckStatus, Verdict, VerificationReport
from tests.support.samples import sample

LEAF = "0x" + "ab" * 32
OTHER_LEAF = "0x" + "cd" * 32
ISSUER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
# rcep-vn-jp: import into JP; item 1 is 4800 PCE under 620520, item 2 900 PCE under 620233; the
# importer is Kansai Apparel Trading (JCN 1120001123456).
IMPORTER = {"name": "Kansai Apparel Trading Co., Ltd.", "identifier": {"scheme": "JCN", "value": "1120001123456"}}


@dataclass(frozen=True)
class Used:
    certified: int
    utilised: int


def _declaration(*lines: dict[str, Any], **top: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "reference": "JP-IMP-2026-000123",
        "importer": copy.deepcopy(IMPORTER),
        "portOfEntry": "JPOSA",
        "date": sample()["issueDate"],
        "certificates": [{}],
        "lines": list(lines) or [_line()],
    }
    value.update(top)
    return value


def _line(**changes: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"line": 1, "certificate": 0, "item": 1, "hsCode": "620520", "quantity": "2000", "unit": "PCE"}
    line.update(changes)
    return line


def _report(verdict: Verdict = Verdict.VALID, leaf: str | None = LEAF, message: str = "") -> VerificationReport:
    checks = (Check("status", CheckStatus.FAILED, message),) if message else ()
    return VerificationReport(
        verdict, checks, certificate_number="VN-RCEP-1", issuer=ISSUER, chain_id=31337, registry=REGISTRY, leaf=leaf
    )


def _presented(certificate: dict[str, Any] | None = None, report: VerificationReport | None = None, index: int = 0) -> Presented:
    return Presented(index, sample() if certificate is None else certificate, report or _report())


def _decide(
    *lines: dict[str, Any],
    certificates: list[Presented] | None = None,
    usage: dict[tuple[str, int], Used] | None = None,
    country: str = "JP",
    **top: Any,
) -> list[LineDecision]:
    presented = certificates or [_presented()]
    declaration, _ = read_declaration(_declaration(*lines, certificates=[{}] * len(presented), **top))
    return check_lines(declaration, presented, usage or {}, country)


def _codes(decision: LineDecision) -> list[str]:
    return [reason.code.code for reason in decision.reasons]


# -- reading ---------------------------------------------------------------------------------------


def test_a_well_formed_declaration_is_read() -> None:
    declaration, certificates = read_declaration(
        _declaration(_line(), _line(line=2, certificate=LEAF.upper().replace("0X", "0x"), quantity="12.5", preference="RCEP"))
    )
    assert isinstance(declaration, Declaration) and certificates == [{}]
    assert declaration.reference == "JP-IMP-2026-000123" and declaration.port_of_entry == "JPOSA"
    assert declaration.importer.identifier == ("JCN", "1120001123456")
    first, second = declaration.lines
    assert (first.certificate, first.units) == (0, 2_000_000)
    assert (second.certificate, second.units, second.preference) == (LEAF, 12_500, "RCEP")


def _set(path: str, value: Any) -> dict[str, Any]:
    """A declaration with the member at ``path`` (a/b/0) set, or removed when ``value`` is REMOVE."""
    declaration = _declaration()
    *parents, last = path.split("/")
    target: Any = declaration
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is REMOVE:
        del target[last]
    else:
        target[int(last) if isinstance(target, list) else last] = value
    return declaration


REMOVE = object()
LONG = "x" * 600


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("reference", REMOVE, "/reference"),
        ("reference", "", "/reference"),
        ("reference", "R" * 129, "/reference"),
        ("reference", "DE-IMP\n1", "/reference"),
        ("reference", 123, "/reference"),
        ("importer", "ACME", "/importer"),
        ("importer/name", "   ", "/importer/name"),
        ("importer/name", LONG, "/importer/name"),
        ("importer/name", "ACME\u2028Ltd", "/importer/name"),
        ("importer/name", "ACME\x00", "/importer/name"),
        ("importer/nickname", "x", "/importer/nickname"),
        ("importer/identifier", "JCN", "/importer/identifier"),
        ("importer/identifier/scheme", "jcn", "/importer/identifier/scheme"),
        ("importer/identifier/value", "v" * 65, "/importer/identifier/value"),
        ("portOfEntry", "Hamburg", "/portOfEntry"),
        ("portOfEntry", REMOVE, "/portOfEntry"),
        ("date", "2026-02-30", "/date"),
        ("date", "01.12.2026", "/date"),
        ("date", 20261201, "/date"),
        ("extra", True, "/extra"),
        ("certificates", {}, "/certificates"),
        ("certificates", [], "/certificates"),
        ("certificates", [{}] * (MAX_CERTIFICATES + 1), "/certificates"),
        ("lines", [], "/lines"),
        ("lines", [_line(line=n) for n in range(1, 1001)], "/lines"),
        ("lines/0", "line 1", "/lines/0"),
        ("lines/0/line", 0, "/lines/0/line"),
        ("lines/0/line", "1", "/lines/0/line"),
        ("lines/0/item", 0, "/lines/0/item"),
        ("lines/0/item", 1000, "/lines/0/item"),
        ("lines/0/item", True, "/lines/0/item"),
        ("lines/0/item", 1.0, "/lines/0/item"),
        ("lines/0/certificate", 1, "/lines/0/certificate"),
        ("lines/0/certificate", -1, "/lines/0/certificate"),
        ("lines/0/certificate", True, "/lines/0/certificate"),
        ("lines/0/certificate", "0x1234", "/lines/0/certificate"),
        ("lines/0/certificate", LEAF + "00", "/lines/0/certificate"),
        ("lines/0/certificate", None, "/lines/0/certificate"),
        ("lines/0/quantity", 2000, "/lines/0/quantity"),
        ("lines/0/quantity", "0", "/lines/0/quantity"),
        ("lines/0/quantity", "0.000", "/lines/0/quantity"),
        ("lines/0/quantity", "-1", "/lines/0/quantity"),
        ("lines/0/quantity", "1e3", "/lines/0/quantity"),
        ("lines/0/quantity", "1,000", "/lines/0/quantity"),
        ("lines/0/quantity", "1.2345", "/lines/0/quantity"),
        ("lines/0/quantity", "9" * 40, "/lines/0/quantity"),
        ("lines/0/quantity", "1" * 41, "/lines/0/quantity"),
        ("lines/0/hsCode", "6205", "/lines/0/hsCode"),
        ("lines/0/hsCode", "6205.20", "/lines/0/hsCode"),
        ("lines/0/hsCode", "6" * 13, "/lines/0/hsCode"),
        ("lines/0/unit", "pce", "/lines/0/unit"),
        ("lines/0/unit", "PIECES", "/lines/0/unit"),
        ("lines/0/preference", "rcep", "/lines/0/preference"),
        ("lines/0/preference", 1, "/lines/0/preference"),
        ("lines/0/colour", "red", "/lines/0/colour"),
        ("lines/0/unit", REMOVE, "/lines/0/unit"),
    ],
)
def test_a_hostile_declaration_is_refused_naming_the_member(path: str, value: Any, field: str) -> None:
    with pytest.raises(DeclarationInputError) as refused:
        read_declaration(_set(path, value))
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")
    assert len(str(refused.value)) < 300  # one line, never the hostile value itself in full


def test_the_top_level_must_be_an_object() -> None:
    for value in ([], "declaration", None, 1):
        with pytest.raises(DeclarationInputError, match="^/: expected an object"):
            read_declaration(value)


def test_a_line_number_may_be_used_once() -> None:
    with pytest.raises(DeclarationInputError, match="^/lines/1/line: line number 1 is used twice"):
        read_declaration(_declaration(_line(), _line()))


def test_files_add_certificates_after_the_inline_ones() -> None:
    document = _issued(sample())
    files = [("a.json", json.dumps(document).encode()), ("b.json", b"\xef\xbb\xbf" + json.dumps(document).encode())]
    declaration, certificates = read_declaration(_declaration(_line(certificate=2)), files)
    assert certificates == [{}, document, document] and declaration.lines[0].certificate == 2


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"{", "not valid JSON"),
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b"[" * 100 + b"]" * 100, "nested deeper"),
        (b"\xff\xfe", "not UTF-8"),
        (b"%PDF-1.7\n garbage", "not a readable PDF"),
    ],
)
def test_a_hostile_file_is_refused_naming_it(data: bytes, problem: str) -> None:
    with pytest.raises(DeclarationInputError, match=f"^/files/3: .*{problem}"):
        read_certificate_file("evil\n.json", data, 3)


def test_an_ecoo_pdf_gives_its_embedded_document() -> None:
    document = _issued(sample())
    assert read_certificate_file("co.pdf", render_pdf(document, "https://verify.example/c/1")) == document
    writer, plain = PdfWriter(), io.BytesIO()
    writer.add_blank_page(100, 100)
    writer.write(plain)
    with pytest.raises(DeclarationInputError, match="no ecoo-certificate.json attachment"):
        read_certificate_file("plain.pdf", plain.getvalue())


def _issued(certificate: dict[str, Any]) -> dict[str, Any]:
    prepared = prepare(certificate)
    return build_document(
        prepared, chain_id=31337, registry=REGISTRY, issuer=ISSUER, root=prepared.leaf, merkle_path=[], signature=b"\x01" * 65
    )


def test_one_certificate_presented_twice_is_refused() -> None:
    with pytest.raises(DeclarationInputError, match="^/certificates/1: the same certificate as /certificates/0"):
        present([{}, {}], [_report(), _report()])
    presented = present([{"certificate": sample()}, "junk"], [_report(), _report(Verdict.INVALID, leaf=None)])
    assert presented[0].certificate == sample() and presented[1].certificate is None


# -- deciding --------------------------------------------------------------------------------------


def test_a_line_within_the_certificate_is_accepted() -> None:
    (decision,) = _decide(_line(hsCode="6205200010", preference="RCEP"))
    assert decision.accepted and decision.certified == 4_800_000


@pytest.mark.parametrize(
    ("verdict", "message", "expected"),
    [
        (Verdict.REVOKED, "revoked by the issuer: Fraud", "is REVOKED: revoked by the issuer: Fraud"),
        (Verdict.NOT_ANCHORED, "", "is NOT_ANCHORED"),
        (Verdict.UNAVAILABLE, "", "could not be verified now"),
    ],
)
def test_a_certificate_that_is_not_valid_rejects_its_lines(verdict: Verdict, message: str, expected: str) -> None:
    (decision,) = _decide(certificates=[_presented(report=_report(verdict, message=message))])
    assert _codes(decision) == ["certificate_not_valid"] and expected in decision.reasons[0].message


def test_a_document_that_is_not_a_certificate_rejects_its_lines() -> None:
    (decision,) = _decide(certificates=[Presented(0, None, _report(Verdict.INVALID, leaf=None, message="expected an object"))])
    assert _codes(decision) == ["certificate_not_valid"]


def test_another_administrations_certificate_is_rejected() -> None:
    (decision,) = _decide(country="DE")
    assert _codes(decision) == ["wrong_import_country"] and "import into JP, not DE" in decision.reasons[0].message


def test_the_hs_subheading_must_match() -> None:
    (decision,) = _decide(_line(hsCode="6205300010"))
    assert _codes(decision) == ["hs_mismatch"] and "620520" in decision.reasons[0].message


def test_the_unit_must_match_and_then_the_quantity_is_not_compared() -> None:
    (decision,) = _decide(_line(unit="KGM", quantity="999999"))
    assert _codes(decision) == ["unit_mismatch"]


def test_no_such_item() -> None:
    (decision,) = _decide(_line(item=3))
    assert _codes(decision) == ["no_such_item"] and decision.certified is None


def test_a_leaf_that_was_not_presented() -> None:
    (decision,) = _decide(_line(certificate=OTHER_LEAF))
    assert _codes(decision) == ["certificate_not_presented"] and decision.certificate is None


def test_a_line_may_name_its_certificate_by_leaf() -> None:
    second = _presented(report=_report(leaf=OTHER_LEAF), index=1)
    first, other = _decide(_line(certificate=OTHER_LEAF), _line(line=2), certificates=[_presented(), second])
    assert first.certificate is second and other.certificate is not None and other.certificate.index == 0


@pytest.mark.parametrize(
    ("declared", "valid_until", "accepted"),
    [
        (-1, "2027-11-20", False),
        (0, "2027-11-20", True),
        (365, "2027-11-20", True),
        (366, "2027-11-20", False),
        (3650, None, True),
    ],
)
def test_the_declaration_date_must_fall_within_validity(declared: int, valid_until: str | None, accepted: bool) -> None:
    from datetime import date, timedelta

    certificate = sample()
    certificate["issueDate"], certificate["validUntil"] = "2026-11-20", valid_until
    on = (date(2026, 11, 20) + timedelta(days=declared)).isoformat()
    (decision,) = _decide(certificates=[_presented(certificate)], date=on)
    assert decision.accepted is accepted and (accepted or _codes(decision) == ["outside_validity"])


@pytest.mark.parametrize(
    ("declared", "accepted"),
    [
        (IMPORTER, True),
        ({"name": "Someone Else KK", "identifier": {"scheme": "JCN", "value": "1120 0011 23456"}}, True),  # identifiers decide
        ({"name": "Kansai Apparel Trading Co., Ltd.", "identifier": {"scheme": "JCN", "value": "9999999999999"}}, False),
        ({"name": "KANSAI  APPAREL TRADING CO LTD"}, True),  # no identifier: normalised names
        ({"name": "Ｋａｎｓａｉ Apparel Trading Co., Ltd."}, True),  # full-width letters (NFKC)
        ({"name": "Osaka Apparel Trading Co., Ltd."}, False),
    ],
)
def test_the_importer_must_be_the_certificates(declared: dict[str, Any], accepted: bool) -> None:
    (decision,) = _decide(importer=declared)
    assert decision.accepted is accepted and (accepted or _codes(decision) == ["importer_mismatch"])


def test_the_consignee_is_the_importer_when_the_importer_is_null() -> None:
    certificate = sample()
    certificate["importer"] = None  # the consignee (Kansai Apparel, no identifier) imports
    assert _decide(certificates=[_presented(certificate)])[0].accepted
    (decision,) = _decide(certificates=[_presented(certificate)], importer={"name": "Other Importer"})
    assert _codes(decision) == ["importer_mismatch"]


@pytest.mark.parametrize("change", ["withheld", "to_order"])
def test_an_importer_the_certificate_does_not_disclose_is_not_compared(change: str) -> None:
    certificate = sample()
    if change == "withheld":
        del certificate["importer"]
    else:
        certificate["importer"], certificate["consignee"] = None, "TO_ORDER"
    assert _decide(certificates=[_presented(certificate)], importer={"name": "Anyone At All"})[0].accepted


def test_lines_on_one_item_add_up_and_rejected_lines_take_nothing() -> None:
    decisions = _decide(
        _line(line=1, quantity="2000"),
        _line(line=2, quantity="2000", hsCode="999999"),  # rejected for its code: takes nothing
        _line(line=3, quantity="2800"),  # 2000 + 2800 = 4800: exactly what is certified
        _line(line=4, quantity="0.001"),
        _line(line=5, item=2, hsCode="620233", quantity="900"),  # another item counts apart
    )
    assert [d.accepted for d in decisions] == [True, False, True, False, True]
    assert _codes(decisions[1]) == ["hs_mismatch"]
    assert _codes(decisions[3]) == ["quantity_exceeded"]
    assert "fully" not in decisions[3].reasons[0].message and "4800 on earlier lines" in decisions[3].reasons[0].message
    assert outcome(decisions) == "partly_accepted"


def test_what_the_registry_says_is_utilised_counts() -> None:
    usage = {(LEAF, 1): Used(4_800_000, 4_000_000)}
    over, within = _decide(_line(quantity="800.001"), _line(line=2, quantity="800"), usage=usage)
    assert _codes(over) == ["quantity_exceeded"] and "800 remain unutilised" in over.reasons[0].message
    assert within.accepted


def test_a_fully_utilised_certificate_rejects_a_further_declaration() -> None:
    (decision,) = _decide(_line(quantity="1"), usage={(LEAF, 1): Used(4_800_000, 4_800_000)})
    assert _codes(decision) == ["quantity_exceeded"] and "fully utilised (4800 of 4800 PCE)" in decision.reasons[0].message
    assert outcome([decision]) == "rejected"


@pytest.mark.parametrize("on_chain", [3_000_000, 1_000_000, 9_600_000])
def test_another_certified_quantity_on_chain_rejects_the_line_naming_both(on_chain: int) -> None:
    """The registry refuses a utilisation stating another certified quantity than its first
    record fixed: the line is rejected before anything is sent, even when it would fit both."""
    (decision,) = _decide(_line(quantity="500"), usage={(LEAF, 1): Used(on_chain, 0)})
    assert _codes(decision) == ["certified_quantity_mismatch"]
    message = decision.reasons[0].message
    assert "4800 PCE on the certificate" in message and f"holds {on_chain // 1000} PCE" in message
    assert outcome([decision]) == "rejected"


def test_the_same_certified_quantity_on_chain_is_no_mismatch() -> None:
    (decision,) = _decide(_line(quantity="500"), usage={(LEAF, 1): Used(4_800_000, 100_000)})
    assert decision.accepted


@pytest.mark.parametrize(
    ("certified", "declared", "accepted"),
    [("1250.5", "1250.500", True), ("1250.5", "1250.501", False), ("10.123456", "10.123", True), ("10.123456", "10.124", False)],
)
def test_decimal_quantities(certified: str, declared: str, accepted: bool) -> None:
    certificate = sample()
    certificate["items"][0]["quantity"]["value"] = certified
    (decision,) = _decide(_line(quantity=declared), certificates=[_presented(certificate)])
    assert decision.accepted is accepted


def test_certified_units_round_down_to_thousandths() -> None:
    assert certified_units({"quantity": {"value": "10.123999", "unit": "KGM"}}) == 10_123
    assert certified_units({"quantity": {"value": "4800", "unit": "PCE"}}) == 4_800_000
    assert certified_units({"quantity": "lots"}) is None
    assert certified_units({"quantity": {"value": "-1"}}) is None


def test_several_reasons_are_all_given() -> None:
    certificate = sample()
    certificate["importCountry"] = "KR"
    (decision,) = _decide(
        _line(hsCode="010101", quantity="5000"),
        certificates=[_presented(certificate)],
        importer={"name": "Other"},
        date="2020-01-01",
    )
    assert _codes(decision) == [
        "wrong_import_country",
        "outside_validity",
        "importer_mismatch",
        "hs_mismatch",
        "quantity_exceeded",
    ]


def test_the_outcome() -> None:
    assert outcome(_decide()) == "accepted"
    assert outcome(_decide(_line(item=9))) == "rejected"


def test_only_valid_certificates_and_declared_items_are_read_from_the_chain() -> None:
    presented = [_presented(), _presented(report=_report(Verdict.REVOKED, leaf=OTHER_LEAF), index=1)]
    declaration, _ = read_declaration(
        _declaration(
            _line(item=2), _line(line=2, item=1), _line(line=3, item=2), _line(line=4, certificate=1), certificates=[{}, {}]
        )
    )
    assert items_to_read(declaration, presented) == {0: (1, 2)}


def test_the_utilisation_summary_adds_this_declarations_accepted_lines() -> None:
    presented = [_presented()]
    usage = {(LEAF, 1): Used(4_800_000, 1_000_500)}
    declaration, _ = read_declaration(
        _declaration(_line(), _line(line=2, quantity="5000"), _line(line=3, item=2, hsCode="620233", quantity="1"))
    )
    decisions = check_lines(declaration, presented, usage, "JP")
    assert utilisation_summary(presented[0], decisions, usage) == [
        {"item": 1, "certified": "4800", "utilised": "3000.5", "remaining": "1799.5", "unit": "PCE"},
        {"item": 2, "certified": "900", "utilised": "1", "remaining": "899", "unit": "PCE"},
    ]
