"""The printed goods table reads like a person would set it: no code, figure or mark split across
lines, thousands separators in quantities and values, names beside codes, and the same numbered
boxes as the verification page. Checked on the text pypdf extracts from the generated PDF, line by
line: a token split by a line break is on no single line."""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from ecoo.certificate_view import GOODS_COLUMNS, certificate_form
from ecoo.code_names import COUNTRY_NAMES, PACKAGE_TYPES, PORT_NAMES, place_name
from ecoo.examples import EXAMPLE_SCHEMES, example_certificate
from ecoo.pdf import render_pdf
from ecoo.pdf.fitting import fit_columns, max_content, min_content, wrap
from ecoo.protocol import build_document, prepare
from ecoo.validation import validate_certificate
from ecoo.validation.codes import ISO_3166_ALPHA2

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "vectors" / "samples").glob("*.json"))
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ISSUER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
NBSP = "\u00a0"


def _issue(certificate: dict[str, Any]) -> dict[str, Any]:
    assert validate_certificate(certificate) == ()  # print what an issuer could really issue
    prepared = prepare(certificate)
    return build_document(
        prepared, chain_id=31337, registry=REGISTRY, issuer=ISSUER, root=prepared.leaf, merkle_path=[], signature=b"\x01" * 65
    )


def _lines(certificate: dict[str, Any]) -> list[str]:
    """Every line of text of the printed PDF, no-break spaces read as spaces."""
    document = _issue(certificate)
    pdf = render_pdf(document, "https://verify.ecoo.example/v/" + str(document["proof"]["leaf"]))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return [" ".join(line.replace(NBSP, " ").split()) for line in text.splitlines()]


def _on_one_line(lines: list[str], text: str) -> bool:
    return any(text in line for line in lines)


def _certificates() -> list[tuple[str, dict[str, Any]]]:
    examples = [(f"example-{scheme}", example_certificate(scheme, issued_on=date(2026, 11, 16))) for scheme in EXAMPLE_SCHEMES]
    return [*examples, *((path.stem, json.loads(path.read_text("utf-8"))) for path in SAMPLES)]


@pytest.mark.parametrize(("name", "certificate"), _certificates(), ids=[name for name, _ in _certificates()])
def test_no_value_of_the_goods_table_is_split_across_lines(name: str, certificate: dict[str, Any]) -> None:
    lines = _lines(certificate)
    form = certificate_form(certificate)
    assert form is not None and form.goods
    for row in form.goods:
        for column, cell in zip(GOODS_COLUMNS, row, strict=True):
            for line in cell.text.split("\n"):
                # A figure and its unit ("126,000.00 USD"), a criterion and its share ("RVC 43.5 %") are
                # joined by a no-break space: each whole is one token; so is a code, a mark, a number.
                for token in line.split(" "):
                    assert _on_one_line(lines, token.replace(NBSP, " ")), f"{name}: {column[0]} {token!r} is split"


def test_figures_carry_thousands_separators_and_codes_their_names() -> None:
    lines = _lines(example_certificate("RCEP", issued_on=date(2026, 11, 12)))
    for expected in (
        "126,000.00 USD",  # the issue's "126000.00/USD"
        "14,280.00 USD",
        "12,000 SET",
        "18,400 KGM",
        "8,640 KGM",
        "8.4 TNE",  # a figure under a thousand is left alone
        "(87083029)",  # the issue's "8708302/9"
        "43.5 %",  # the issue's "RVC 43.5/%"
        "HBM/PUS/41-48",  # the issue's "HBM/PUS/41-4/8"
        "40 PX",  # the name beside it may go to the next line of the narrow column
        "(pallet)",
        "(Thailand)",
        "THLCH (Laem Chabang, Thailand)",
        "KRPUS (Busan, South Korea)",
        "TH (Thailand) → KR (South Korea)",
        "Country: KR (South Korea)",
    ):
        assert _on_one_line(lines, expected), expected
    everything = " ".join(lines)
    assert "126000.00" not in everything and "12000 SET" not in everything


def test_a_place_not_listed_is_named_by_its_country() -> None:
    certificate = example_certificate("RCEP", issued_on=date(2026, 11, 12))
    certificate["transport"]["portOfLoading"] = "THSRI"  # Sriracha: a real UN/LOCODE this list does not name
    assert place_name("THSRI") == "Thailand"
    assert _on_one_line(_lines(certificate), "THSRI (Thailand)")


def test_crowded_tokens_shrink_the_type_before_any_token_breaks() -> None:
    """Wide figures, long marks and long invoice numbers in every item: each still prints whole."""
    certificate = example_certificate("RCEP", issued_on=date(2026, 11, 12))
    item = certificate["items"][0]
    item.update(
        marksAndNumbers="HBM/PUS/KR-BUSAN/1-40",
        quantity={"value": "98765432.125", "unit": "KGM"},
        grossWeight={"value": "98765432", "unit": "KGM"},
        fobValue={"amount": "987654321.99", "currency": "USD"},
        invoice={"number": "SAP-EXPORT-2026-0001140", "date": "2026-11-10"},
    )
    certificate["items"] = [copy.deepcopy(item) | {"itemNumber": n} for n in range(1, 4)]
    lines = _lines(certificate)
    for token in ("HBM/PUS/KR-BUSAN/1-40", "98,765,432.125 KGM", "98,765,432 KGM", "987,654,321.99 USD", "SAP-EXPORT-2026-0001140"):
        assert _on_one_line(lines, token), token


def test_the_pdf_numbers_its_boxes_as_the_verification_page_does() -> None:
    # The page renders the same view (tests/service/test_pages.py, tests/browser/test_pages_phone.py).
    certificate = example_certificate("ATIGA", issued_on=date(2026, 11, 9))
    form = certificate_form(certificate)
    assert form is not None
    everything = "\n".join(_lines(certificate))
    headings = [*(box.heading for box in form.boxes), form.goods_heading]
    assert sorted(int(h.split()[0]) for h in headings) == list(range(1, 9))
    for heading in headings:
        assert everything.count(" ".join(heading.split())) == 1, heading
    # No other numbered heading: a box is never numbered differently from the form.
    numbered = re.compile(r"^([1-8]) ([A-Z][a-z]+)", re.MULTILINE)
    assert set(numbered.findall(everything)) == {m.groups() for h in headings if (m := numbered.match(" ".join(h.split())))}


# -- the line breaker and the column sizer, on a fixed-width measure ----------------------------------


def _width(text: str) -> float:
    return float(len(text))  # one unit per character


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("Brake pads for passenger cars", 12, ["Brake pads", "for", "passenger", "cars"]),
        ("870830 (87083029)", 10, ["870830", "(87083029)"]),
        (f"126,000.00{NBSP}USD", 14, [f"126,000.00{NBSP}USD"]),  # the no-break space holds
        ("HBM/PUS/41-48", 13, ["HBM/PUS/41-48"]),
        ("HBM/PUS/41-48", 9, ["HBM/PUS/", "41-48"]),  # too wide alone: after its own separators
        ("HBM/PUS/41-48", 4, ["HBM/", "PUS/", "41-", "48"]),
        (f"987,654.00{NBSP}USD", 12, [f"987,654.00{NBSP}", "USD"]),  # before the unit, never at a comma
        ("0x8799Ce6C", 4, ["0x87", "99Ce", "6C"]),  # no separator at all: the last resort
        ("SAP-EX-26-1140\n2026-11-10", 20, ["SAP-EX-26-1140", "2026-11-10"]),
    ],
)
def test_wrap_breaks_at_spaces_and_inside_a_token_only_when_it_cannot_fit(text: str, width: float, lines: list[str]) -> None:
    assert wrap(text, width, _width) == lines
    assert all(_width(line) <= width for line in lines)


def test_fit_columns_gives_every_column_its_widest_token_and_shares_the_rest() -> None:
    texts = ["1", "HBM/PUS/41-48", "Technically specified natural rubber (STR 20), in bales", f"14,280.00{NBSP}USD"]
    minimum = [min_content(t, _width) for t in texts]
    preferred = [max_content(t, _width) for t in texts]
    widths = fit_columns(minimum, preferred, 60)
    assert sum(widths) == pytest.approx(60)
    assert all(w >= m for w, m in zip(widths, minimum, strict=True))
    assert widths[2] == max(widths)  # the long description takes most of the room left
    roomy = fit_columns(minimum, preferred, 200)  # everything fits unbroken: each at least its whole text
    assert all(w >= p for w, p in zip(roomy, preferred, strict=True)) and sum(roomy) == pytest.approx(200)
    cramped = fit_columns([30.0, 30.0], [40.0, 40.0], 40)  # minimums over the total: scaled down together
    assert cramped == [20.0, 20.0]


# -- the code lists ---------------------------------------------------------------------------------


def test_every_assigned_country_code_has_a_name() -> None:
    assert set(COUNTRY_NAMES) == ISO_3166_ALPHA2


def test_listed_places_and_packages_are_well_formed_codes() -> None:
    assert all(re.fullmatch(r"[A-Z]{2}[A-Z2-9]{3}", code) and code[:2] in ISO_3166_ALPHA2 for code in PORT_NAMES)
    assert all(re.fullmatch(r"[0-9A-Z]{2}", code) for code in PACKAGE_TYPES)
    used = {
        item.get("packageType")
        for _, certificate in _certificates()
        for item in certificate["items"]
        if item.get("packageType") is not None
    }
    assert used <= set(PACKAGE_TYPES), used - set(PACKAGE_TYPES)
