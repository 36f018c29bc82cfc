"""The printable certificate: the embedded document round-trips, the page shows what it must,
the QR code decodes to the verification URL, and anything that is not an ecoo PDF is refused."""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
import segno
import zxingcpp
from pypdf import PdfReader, PdfWriter

from ecoo.certificate_view import GOODS_COLUMNS, certificate_form
from ecoo.errors import EcooError
from ecoo.pdf import ATTACHMENT_NAME, WITHHELD, PdfError, extract_document, render_pdf
from ecoo.protocol import REDACTION_GROUPS, build_document, prepare, redact
from ecoo.validation import validate_certificate

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "vectors" / "samples").glob("*.json"))
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ISSUER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
MM = 72 / 25.4  # PDF points per millimetre


def _sample(name: str = "rcep-vn-jp") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "samples" / f"{name}.json").read_text("utf-8"))
    return data


def _issue(certificate: dict[str, Any]) -> dict[str, Any]:
    assert validate_certificate(certificate) == ()  # render what an issuer could really issue
    prepared = prepare(certificate)
    return build_document(
        prepared,
        chain_id=31337,
        registry=REGISTRY,
        issuer=ISSUER,
        root=prepared.leaf,
        merkle_path=[],
        signature=b"\x01" * 65,
    )


def _url(document: dict[str, Any]) -> str:
    return "https://verify.ecoo.example/c/" + str(document["proof"]["leaf"])


def _pages(pdf: bytes) -> list[str]:
    """The text of each page, whitespace collapsed (table cells wrap words onto new lines)."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def _many_items(count: int) -> dict[str, Any]:
    certificate = _sample()
    template = certificate["items"][0]
    certificate["items"] = []
    for index in range(count):
        item = copy.deepcopy(template)
        item["itemNumber"] = index + 1
        item["hsCode"] = f"{610000 + index * 7:06d}"
        item["description"] = f"Garment line {index + 1}" + (", cotton, woven, long sleeve" * 4 if index % 9 == 0 else "")
        certificate["items"].append(item)
    return certificate


# -- the embedded document -----------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_embedded_document_round_trips(sample: Path) -> None:
    document = _issue(json.loads(sample.read_text("utf-8")))
    pdf = render_pdf(document, _url(document))

    assert pdf.startswith(b"%PDF-")
    assert extract_document(pdf) == document
    reader = PdfReader(io.BytesIO(pdf))
    (attachment,) = reader.attachment_list
    assert attachment.name == ATTACHMENT_NAME
    assert attachment.subtype == "/application/json"
    assert attachment.content == json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    box = reader.pages[0].mediabox  # A4 portrait
    assert (round(float(box.width) / MM), round(float(box.height) / MM)) == (210, 297)


def test_same_document_gives_the_same_bytes() -> None:
    document = _issue(_sample())
    assert render_pdf(document, _url(document)) == render_pdf(document, _url(document))


# -- what the page shows -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "scheme"),
    [("rcep-vn-jp", "RCEP"), ("atiga-back-to-back-sg-id", "Form D (ATIGA)"), ("non-preferential-ae-de", "Non-preferential")],
)
def test_page_shows_the_certificate(sample: str, scheme: str) -> None:
    certificate = _sample(sample)
    document = _issue(certificate)
    url = _url(document)
    (text,) = _pages(render_pdf(document, url))

    for expected in (
        "CERTIFICATE OF ORIGIN",
        scheme,
        "ORIGINAL",
        certificate["certificateNumber"],
        certificate["exporter"]["name"],
        certificate["issuer"]["name"],
        certificate["issuer"]["accreditationCode"],
        certificate["exporterDeclaration"]["signatory"],
        certificate["certification"]["officer"],
        certificate["transport"]["transportDocumentNumber"],
        *(item["hsCode"] for item in certificate["items"]),
        *(item["invoice"]["number"] for item in certificate["items"]),
        f"Electronic certificate of origin — verify at {url}. Registry {REGISTRY} on chain 31337, leaf {document['proof']['leaf']}",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    for number in range(1, 9):  # the eight numbered boxes of the form
        assert re.search(rf"(^| ){number} [A-Z]", text), number


def test_back_to_back_and_third_party_invoicing() -> None:
    (text,) = _pages(render_pdf(document := _issue(_sample("atiga-back-to-back-sg-id")), _url(document)))
    assert "based on original certificate No. MY-ATIGA-D-2026-118803 issued 2026-10-30 in MY (Malaysia)" in text
    assert "Yes, invoiced by Lion City Distribution Pte Ltd, SG (Singapore)" in text
    assert "RVC 52 %" in text
    assert "88,250.00 USD" in text
    assert "☑ Cumulation" in text


def test_special_values() -> None:
    certificate = _sample()
    certificate.update(
        consignee="TO_ORDER",
        producer="AVAILABLE_ON_REQUEST",
        importer=None,
        transport=None,
        copyType="CERTIFIED_TRUE_COPY",
        copyOf={"certificateNumber": "VN-RCEP-2026-778800", "issueDate": "2026-11-20", "leaf": None},
        replaces={"certificateNumber": "VN-RCEP-2026-778700", "reason": "Consignee address corrected"},
        remarks=None,
    )
    certificate["items"][0].update(fobValue=None, invoice=None, packageCount=None, packageType=None, grossWeight=None)
    (text,) = _pages(render_pdf(document := _issue(certificate), _url(document)))

    for expected in (
        "CERTIFIED TRUE COPY",
        "2 Consignee: name, address, country TO ORDER",
        "Producer Available on request",
        "Importer not stated",
        "3 Means of transport and route not stated",
        "Copy of original No. VN-RCEP-2026-778800 of 2026-11-20",
        "Replaces No. VN-RCEP-2026-778700: Consignee address corrected",
        "Remarks none",
        "bulk",
    ):
        assert expected in text, expected
    assert WITHHELD not in text


def test_withheld_parts_print_as_withheld() -> None:
    document = _issue(_sample())
    redacted = redact(document, list(REDACTION_GROUPS))
    withheld = redacted["proof"]["withheld"]
    assert len(withheld) == 13  # 9 top-level parts + FOB value and invoice of both items

    pdf = render_pdf(redacted, _url(redacted))
    (text,) = _pages(pdf)
    assert text.count(WITHHELD) == len(withheld)
    for hidden in ("Saigon Garment Export JSC", "Kansai Apparel", "ONE HARMONY", "52,800.00", "SGE-26-0912", "Nguyen Thi Lan"):
        assert hidden not in text
    assert "VN-RCEP-2026-778812" in text and "620520" in text
    assert extract_document(pdf) == redacted


def test_items_flow_onto_further_pages() -> None:
    certificate = _many_items(60)
    document = _issue(certificate)
    url = _url(document)
    pages = _pages(render_pdf(document, url))

    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert f"Electronic certificate of origin — verify at {url}." in text
    for text in pages[1:]:
        assert f"CERTIFICATE OF ORIGIN No. {certificate['certificateNumber']}" in text  # running header
    item_pages = [text for text in pages if "Garment line" in text]
    assert len(item_pages) >= 2
    for text in item_pages:  # column headings repeat on every page of the table
        assert "Description of goods" in text and "Goods (60 items)" in text
    everything = " ".join(pages)
    for item in certificate["items"]:
        assert everything.count(item["hsCode"]) == 1, item["hsCode"]
    assert "8 Certification" in pages[-1]


def test_unicode_names(caplog: pytest.LogCaptureFixture) -> None:
    certificate = _sample()
    certificate["exporter"]["name"] = "Công ty Cổ phần Dệt may Việt Thắng"
    certificate["exporter"]["address"] = "Đường Nguyễn Văn Lượng, Quận Gò Vấp, Thành phố Hồ Chí Minh"
    certificate["consignee"]["name"] = "Şişecam Dış Ticaret A.Ş., İstanbul"
    certificate["consignee"]["country"] = "JP"
    certificate["importer"]["name"] = "Müller & Söhne Außenhandel GmbH, Straße 5"
    certificate["producer"]["name"] = "บริษัท สยามสิ่งทอ จำกัด"
    document = _issue(certificate)

    with caplog.at_level(logging.WARNING, logger="fpdf"):
        pdf = render_pdf(document, _url(document))
    assert not [r for r in caplog.records if "missing" in r.getMessage()]  # every glyph came from a bundled font
    (text,) = _pages(pdf)
    for name in (
        "Công ty Cổ phần Dệt may Việt Thắng",
        "Đường Nguyễn Văn Lượng, Quận Gò Vấp, Thành phố Hồ Chí Minh",
        "Şişecam Dış Ticaret A.Ş., İstanbul",
        "Müller & Söhne Außenhandel GmbH, Straße 5",
    ):
        assert name in text
    fonts = cast(Any, PdfReader(io.BytesIO(pdf)).pages[0])["/Resources"]["/Font"]
    base_fonts = {str(font.get_object()["/BaseFont"]) for font in fonts.values()}
    assert any("NotoSansThai" in name for name in base_fonts), base_fonts
    assert extract_document(pdf) == document


def test_text_that_looks_like_the_page_count_alias_prints_verbatim() -> None:
    certificate = _sample()
    certificate["remarks"] = "Shipment {nb} of 3; control\x07character"
    (text,) = _pages(render_pdf(document := _issue(certificate), _url(document)))
    assert "Shipment {nb} of 3; control\ufffdcharacter" in text


def test_longest_fields_render() -> None:
    """Every field at its schema limit: rows taller than a page continue, nothing raises."""
    certificate = _sample("atiga-back-to-back-sg-id")
    words = ("Wxyz Mmmm " * 500)[:4000]
    for key in ("exporter", "consignee", "producer"):
        certificate[key].update(name=words[:512], address=words[:512], identifier={"scheme": "A" * 32, "value": "9" * 64})
    certificate["importer"] = copy.deepcopy(certificate["consignee"])
    certificate["issuer"].update(name=words[:512], accreditationCode="X" * 64)
    certificate["issuePlace"] = words[:256]
    certificate["transport"].update(vesselOrFlight=words[:128], transitCountries=["MY"] * 20)
    certificate["thirdPartyInvoicing"]["invoicingParty"] = {"name": words[:512], "address": words[:512], "country": "SG"}
    certificate["remarks"] = words
    certificate["replaces"] = {"certificateNumber": "R" * 64, "reason": words[:1000]}
    certificate["exporterDeclaration"].update(place=words[:256], signatory=words[:512])
    certificate["certification"].update(place=words[:256], officer=words[:512])
    certificate["items"][0].update(description=words[:2000], marksAndNumbers=words[:512], packageCount=99_999_999)
    document = _issue(certificate)

    pdf = render_pdf(document, _url(document) + "?lang=en&" + "q" * 150)
    pages = _pages(pdf)
    assert len(pages) >= 4
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert extract_document(pdf) == document


# -- the QR code ---------------------------------------------------------------------------------


def test_qr_code_decodes_to_the_verify_url() -> None:
    document = _issue(_sample())
    url = _url(document)
    page = PdfReader(io.BytesIO(render_pdf(document, url))).pages[0]
    (image,) = page.images
    picture = image.image
    assert picture is not None

    # An independent decoder (ZXing) reads the printed code back.
    assert [result.text for result in zxingcpp.read_barcodes(picture)] == [url]

    # Module by module it is segno's symbol for the URL, quiet zone included.
    qr = segno.make_qr(url, error="m")
    matrix = [list(row) for row in qr.matrix_iter(border=4)]
    modules = len(matrix)
    assert picture.width == picture.height and picture.width % modules == 0
    scale = picture.width // modules
    grey = picture.convert("L")
    drawn = [
        [int(cast(int, grey.getpixel((x * scale + scale // 2, y * scale + scale // 2))) < 128) for x in range(modules)]
        for y in range(modules)
    ]
    assert drawn == [[int(bool(v)) for v in row] for row in matrix]

    # Printed at least 30 mm wide (the symbol, without its quiet zone).
    placed = re.search(rb"([\d.]+) 0 0 ([\d.]+) [\d.]+ [\d.]+ cm /I\d+ Do", page.get_contents().get_data())  # type: ignore[union-attr]
    assert placed is not None
    side_mm = float(placed.group(1)) / MM * (modules - 8) / modules
    assert side_mm >= 30, side_mm


# -- refusing what is not an ecoo PDF ------------------------------------------------------------


def _pdf_with_attachment(content: bytes | None, name: str = ATTACHMENT_NAME) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    if content is not None:
        writer.add_attachment(name, content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _encrypted() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(_pdf_with_attachment(b"{}")))
    writer.encrypt("owner-and-user", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _truncated() -> bytes:
    document = _issue(_sample())
    pdf = render_pdf(document, _url(document))
    return pdf[: len(pdf) // 3]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: b"", "not a PDF"),
        (lambda: b"GIF89a garbage \x00\xff" * 100, "not a PDF"),
        (lambda: b"%PDF-1.7\n\x00\xff garbage, no objects, no trailer" * 50, "not a readable PDF|no ecoo-certificate.json"),
        (_truncated, "not a readable PDF|no ecoo-certificate.json"),
        (lambda: _pdf_with_attachment(None), "no ecoo-certificate.json attachment"),
        (lambda: _pdf_with_attachment(b'{"ecoo": 1}', name="other.json"), "no ecoo-certificate.json attachment"),
        (lambda: _pdf_with_attachment(b"this is not JSON"), "not valid JSON"),
        (lambda: _pdf_with_attachment(b"\xff\xfe not utf-8"), "not UTF-8|not valid JSON"),
        (lambda: _pdf_with_attachment(b'{"a": 1, "a": 2}'), "duplicate key 'a'"),
        (lambda: _pdf_with_attachment(b'{"a": NaN}'), "NaN is not valid JSON"),
        (lambda: _pdf_with_attachment(b"[1, 2]"), "not a JSON object"),
        (_encrypted, "encrypted"),
        (lambda: b"%PDF-1.7\n" + b"0" * (12 * 1024 * 1024), "12.6 MB is over the 10 MB limit"),
    ],
    ids=[
        "empty",
        "garbage",
        "pdf-header-garbage",
        "truncated",
        "no-attachment",
        "other-attachment",
        "not-json",
        "not-utf8",
        "duplicate-keys",
        "nan",
        "not-an-object",
        "encrypted",
        "12-mb",
    ],
)
def test_extract_document_refuses(make: Any, message: str) -> None:
    with pytest.raises(PdfError, match=message) as caught:
        extract_document(make())
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, EcooError) and isinstance(caught.value, ValueError)


def test_extract_document_refuses_text() -> None:
    with pytest.raises(PdfError, match="expected the bytes of a PDF file, got str"):
        extract_document("%PDF-1.7")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("document", "url", "message"),
    [
        ({"certificate": {}}, "https://x.example/", "not an issued ecoo document"),
        ("issued", "https://x.example/", "not an issued ecoo document"),
        (None, "", "verification URL is required"),
        (None, "https://x.example/" + "a" * 400, "at most 300"),
    ],
)
def test_render_pdf_refuses(document: Any, url: str, message: str) -> None:
    if document is None:
        document = _issue(_sample())
    with pytest.raises(PdfError, match=message):
        render_pdf(document if isinstance(document, dict) else {"certificate": document, "proof": {}}, url)


# -- reading never loads the layout ----------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "import ecoo.pdf.reader",
        "from ecoo.pdf import PdfError, extract_document",
        "import ecoo.certificate_view",
    ],
)
def test_reading_a_pdf_does_not_import_the_layout_library(statement: str) -> None:
    # Verifying a PDF (the public API, the verification page) must not pay for fpdf2.
    code = f"import sys\n{statement}\nassert 'fpdf' not in sys.modules, sorted(m for m in sys.modules if 'fpdf' in m)"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def test_pdf_prints_the_boxes_and_labels_of_the_shared_form_view() -> None:
    # The verification page shows the same view (tests/service/test_pages.py): both say the same.
    document = _issue(_sample("atiga-back-to-back-sg-id"))
    form = certificate_form(document["certificate"], (), document["proof"]["issuer"])
    assert form is not None
    (text,) = _pages(render_pdf(document, _url(document)))
    assert [box.number for box in form.boxes] == [1, 2, 3, 4, 6, 7, 8]
    for expected in (
        form.goods_heading,
        *(heading for heading, _ in GOODS_COLUMNS),
        *(box.heading for box in form.boxes),
        *(line.label for box in form.boxes for line in box.lines if line.label),
    ):
        assert " ".join(expected.split()) in text, expected
