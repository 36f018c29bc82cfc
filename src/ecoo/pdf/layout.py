"""Printing a certificate: an A4 PDF laid out like the ICC certificate-of-origin form.

The PDF carries the issued JSON document as an embedded file (``ecoo-certificate.json``,
``application/json``), byte for byte ``json.dumps(document, ensure_ascii=False, indent=2)``, so the
PDF alone is enough to verify (:mod:`ecoo.pdf.reader` gets it back). The printed page is a
rendering for people, never the thing that is verified; a QR code to the verification page says so.

What each box says comes from :func:`ecoo.certificate_view.certificate_form`, the same view the
verification page shows; this module only places it. Text is set in the bundled DejaVu Sans
Condensed, with Noto Sans Thai for Thai script (see ``fonts/README.md``).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, cast

import segno
from fpdf import FPDF, FontFace
from fpdf.enums import Align, MethodReturnValue, TableBordersLayout, VAlign, WrapMode, XPos, YPos
from fpdf.fonts import TTFFont

from ..certificate_view import GOODS_COLUMNS, NO_ITEMS, Box, CertificateForm, Line, certificate_form
from .fitting import fit_columns, max_content, min_content, min_piece, wrap
from .reader import ATTACHMENT_NAME, PdfError

__all__ = ["MAX_VERIFY_URL", "render_pdf"]

#: Verification links are about 100 characters; 300 keeps the QR code and the footer readable.
MAX_VERIFY_URL = 300

# Geometry in millimetres (A4 portrait).
_PAGE_W = 210.0
_MARGIN = 10.0
_WIDTH = _PAGE_W - 2 * _MARGIN
_LEFT_W = 112.0
_FOOTER_Y = -17.0
_BREAK_MARGIN = 20.0
_PAD = 1.6
_QR_SIDE = 42.0  # the image, quiet zone included: the symbol itself is >= 30 mm for any version
_QR_SCALE = 8  # pixels per module: crisp at any zoom even where a viewer smooths images

_TABLE_LINE = 3.1
_CELL_PAD = 0.9
_CELL_RULE = 0.25  # fpdf2 takes the border's width from a table cell's text width too
_GOODS_SIZES = (7.0, 6.5, 6.0, 5.5)  # the goods table's type: smaller only when its tokens do not fit
_HEADING_SIZE = 6.3
# A column's width less its text's: the padding, the border, and a hair for rounding in fpdf2.
_GUTTER = 2 * _CELL_PAD + _CELL_RULE + 0.15
_MAX_ROW_LINES = 60  # 60 table lines (~190 mm) always fit below the headings of a fresh page

_BLACK = (0, 0, 0)
_GREY = (95, 95, 95)
_RULE = (150, 150, 150)
_SHADE = (232, 232, 232)

# The total-page-count placeholder. Private-use characters never reach the page from the data
# (``_clean`` replaces them), so a certificate that mentions "{nb}" is printed as written.
_PAGES_ALIAS = "\ue000\ue000\ue000"
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ue000-\uf8ff]")


def render_pdf(document: Mapping[str, Any], verify_url: str) -> bytes:
    """The printable PDF of an issued ``document``, with a QR code to ``verify_url``.

    Raises :class:`PdfError` when ``document`` is not an issued certificate or ``verify_url``
    cannot go into a QR code.
    """
    certificate, proof = document.get("certificate"), document.get("proof")
    if not isinstance(certificate, Mapping) or not isinstance(proof, Mapping):
        raise PdfError("not an issued ecoo document: expected 'certificate' and 'proof' objects")
    if not isinstance(verify_url, str) or not verify_url.strip():
        raise PdfError("a verification URL is required for the QR code")
    if len(verify_url) > MAX_VERIFY_URL:
        raise PdfError(f"the verification URL is {len(verify_url)} characters; at most {MAX_VERIFY_URL} fit a QR code")
    try:
        payload = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise PdfError(f"the document is not JSON: {exc}") from None

    # The pointers of the withheld parts: the keys of proof.withheld (pointer -> digest).
    withheld = proof.get("withheld")
    form = certificate_form(certificate, withheld if isinstance(withheld, Mapping | list) else (), proof.get("issuer"))
    assert form is not None  # certificate is a mapping
    pdf = _CertificatePdf(certificate, proof, form, verify_url)
    pdf.draw()
    pdf.embed_file(
        bytes=payload,
        basename=ATTACHMENT_NAME,
        mime_type="application/json",
        modification_date=pdf.creation_date,
        desc="The issued certificate of origin (ecoo/certificate-of-origin/v1): verify this file, not the print",
        compress=True,
    )
    return bytes(pdf.output())


#: A table cell: its text and whether it is muted (grey: withheld or absent).
_Cell = tuple[str, bool]


def _clean(value: object) -> str:
    """Printable text: control and private-use characters become U+FFFD, tabs spaces."""
    return _UNPRINTABLE.sub("\ufffd", str(value).replace("\t", " ").replace("\r\n", "\n"))


def _str(value: object, absent: str = "—") -> str:
    return absent if value is None or value == "" else _clean(value)


class _CertificatePdf(FPDF):
    def __init__(self, certificate: Mapping[str, Any], proof: Mapping[str, Any], form: CertificateForm, verify_url: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.proof = proof
        self.verify_url = verify_url
        self.form = form
        self.number = _clean(form.number)
        self.scheme = _clean(form.scheme)
        self.copy_type = _clean(form.copy_type)

        self._add_fonts("DejaVu", "DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf")
        main_font = self.fonts.get("dejavu")
        covered = main_font.cmap if isinstance(main_font, TTFFont) else {}
        text = json.dumps(certificate, ensure_ascii=False) + verify_url
        # Fallback fonts make fpdf2 look at every character (about 30 % slower): only when needed.
        if any(ord(c) not in covered for c in set(text)):
            self._add_fonts("NotoThai", "NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf")
            self.set_fallback_fonts(["NotoThai"])

        self.set_margins(_MARGIN, 15.0, _MARGIN)
        self.set_auto_page_break(True, margin=_BREAK_MARGIN)
        self.alias_nb_pages(_PAGES_ALIAS)
        self.c_margin = 0.6
        # A fixed creation date (the issue date) makes the same document give the same bytes.
        self.set_creation_date(_issue_datetime(certificate.get("issueDate")))
        self.set_title(f"Certificate of origin {self.number}")
        issuer = certificate.get("issuer")
        if isinstance(issuer, Mapping):
            self.set_author(_str(issuer.get("name")))
        self.set_subject(f"{self.scheme} certificate of origin, {self.copy_type.lower()}")
        self.set_creator("ecoo")
        self.set_lang("en")

    def _add_fonts(self, family: str, regular: str, bold: str) -> None:
        fonts = resources.files("ecoo").joinpath("fonts")
        for style, name in (("", regular), ("B", bold)):
            with resources.as_file(fonts.joinpath(name)) as path:
                self.add_font(family, style, path)

    # -- page furniture ------------------------------------------------------------------------

    def header(self) -> None:
        if self.page_no() == 1:
            return  # page 1 carries the full title block instead
        self.set_xy(_MARGIN, 7)
        left, right = f"CERTIFICATE OF ORIGIN  No. {self.number}", f"{self.scheme}  ·  {self.copy_type}  ·  continued"
        self._font(7, bold=True)
        left_w = self.get_string_width(left) + 2 * self.c_margin
        self._font(7, muted=True)
        room = _WIDTH - left_w - self.get_string_width(right) - 2 * self.c_margin
        self._font(7, bold=True)
        # A 64-character number leaves no room for the rest, which the first page says anyway.
        self.multi_cell(_WIDTH if room < 0 else left_w, 4, left, align=Align.L, new_x=XPos.RIGHT, new_y=YPos.TOP)
        if room >= 0:
            self._font(7, muted=True)
            self.cell(_WIDTH - left_w, 4, right, align=Align.R)
        self._rule(max(11.5, self.get_y() + 4.5))
        self.set_y(15)

    def footer(self) -> None:
        self.set_y(_FOOTER_Y)
        self._rule(self.get_y())
        self.set_y(self.get_y() + 1)
        chain = _str(self.proof.get("chainId"))
        text = (
            f"Electronic certificate of origin — verify at {_clean(self.verify_url)}. "
            f"Registry {_str(self.proof.get('registry'))} on chain {chain}, leaf {_str(self.proof.get('leaf'))}"
        )
        self._font(6.3, muted=True)
        self.multi_cell(_WIDTH - 20, 2.8, text, align=Align.L, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self._font(7, bold=True)
        self.cell(20, 2.8, f"Page {self.page_no()} of {_PAGES_ALIAS}", align=Align.R)

    # -- helpers ---------------------------------------------------------------------------------

    def _font(self, size: float, *, bold: bool = False, muted: bool = False) -> None:
        self.set_font("DejaVu", "B" if bold else "", size)
        self.set_text_color(*(_GREY if muted else _BLACK))

    def _rule(self, y: float) -> None:
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(_MARGIN, y, _MARGIN + _WIDTH, y)
        self.set_draw_color(*_BLACK)

    def _text_height(self, w: float, text: str, size: float, bold: bool) -> float:
        self._font(size, bold=bold)
        return self._dry_height(w, _line_height(size), text)

    def _dry_height(self, w: float, line_h: float, text: str, wrapmode: WrapMode = WrapMode.WORD) -> float:
        """Height ``multi_cell`` would take with the current font, without drawing."""
        height = self.multi_cell(w, line_h, text, dry_run=True, output=MethodReturnValue.HEIGHT, align=Align.L, wrapmode=wrapmode)
        return float(cast(float, height))

    def _wrapped(self, text: str, width: float, size: float) -> str:
        """``text`` in lines that fit a table column ``width`` wide at ``size`` points (see fitting.py)."""
        self._font(size)
        return "\n".join(wrap(text, width - _GUTTER, self.get_string_width))

    def _paragraph(self, x: float, y: float, w: float, line: Line, *, draw: bool) -> float:
        """Height of one line of a box at (x, y), its label in a column of its own; drawn when ``draw``."""
        label_w = 25.0 if line.label else 0.0
        size = 7.0 if line.small else 8.0
        text, label = _clean(line.text), _clean(line.label)
        h = self._text_height(w - label_w, text, size, line.bold)
        if label:
            h = max(h, self._text_height(label_w, label, 6.5, False))
        if draw:
            if label:
                self.set_xy(x, y + 0.3)
                self._font(6.5, muted=True)
                self.multi_cell(label_w, _line_height(6.5), label, align=Align.L)
            self.set_xy(x + label_w, y)
            self._font(size, bold=line.bold, muted=line.muted)
            self.multi_cell(w - label_w, _line_height(size), text, align=Align.L)
        return h

    def _box(self, x: float, y: float, w: float, box: Box, *, height: float = 0.0, draw: bool = True) -> float:
        """A numbered form box; returns its height (at least ``height``)."""
        inner = w - 2 * _PAD
        cursor = y + _PAD
        if draw:
            self.set_xy(x + _PAD - self.c_margin, cursor)
            self._font(6.5, bold=True, muted=True)
            self.multi_cell(inner, 3, box.heading, align=Align.L)
        cursor += 3.6
        for paragraph in box.lines:
            cursor += self._paragraph(x + _PAD - self.c_margin, cursor, inner + 2 * self.c_margin, paragraph, draw=draw) + 0.4
        total = max(cursor - y + _PAD - 0.4, height)
        if draw:
            self.set_draw_color(*_BLACK)
            self.set_line_width(0.25)
            self.rect(x, y, w, total)
        return total

    # -- the form --------------------------------------------------------------------------------

    def draw(self) -> None:
        self.add_page()
        self._title_block()
        self._top_grid()
        self._goods()
        self._table_box(self.form.particulars)
        self._signatures()

    def _title_block(self) -> None:
        self.set_xy(_MARGIN, 9)
        self._font(17, bold=True)
        self.cell(120, 8, "CERTIFICATE OF ORIGIN", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._font(9.5, bold=True)
        self.multi_cell(125, 4.2, _clean(self.form.scheme_title), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._font(6.5, muted=True)
        self.cell(
            125, 3.5, "Electronic certificate of origin (ecoo/certificate-of-origin/v1), registry-anchored and issuer-signed"
        )
        bottom = self.get_y() + 3.5

        badge_x, badge_w = _MARGIN + _WIDTH - 62, 62.0
        self.set_line_width(0.6)
        self.set_xy(badge_x, 9)
        self._font(12, bold=True)
        self.cell(badge_w, 8, self.copy_type, border=1, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_line_width(0.25)
        self._font(6.5, muted=True)
        self.cell(badge_w, 4.5, "Certificate No.", align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self._font(10, bold=True)
        self.multi_cell(badge_w, 4.5, self.number, align=Align.R)
        self.set_y(max(bottom, self.get_y()) + 2)

    def _top_grid(self) -> None:
        """Boxes 1-3 on the left, box 4 and the QR code on the right, bottoms aligned."""
        top = self.get_y()
        right_x, right_w = _MARGIN + _LEFT_W, _WIDTH - _LEFT_W
        left, official = self.form.top_left, self.form.official
        left_heights = [self._box(_MARGIN, 0, _LEFT_W, box, draw=False) for box in left]
        official_h = self._box(right_x, 0, right_w, official, draw=False)
        qr_h = self._qr_panel(right_x, 0, right_w, draw=False)
        total = max(sum(left_heights), official_h + qr_h)
        if top + total > self.h - _BREAK_MARGIN:
            # Only near the field limits (512-character names, a 1000-character reason...):
            # boxes that cannot sit side by side on one page flow down the page instead.
            for box in [*left, official]:
                self._table_box(box)
            full_qr_h = self._qr_panel(_MARGIN, 0, _WIDTH, draw=False)
            if self.will_page_break(full_qr_h):
                self.add_page()
            self._qr_panel(_MARGIN, self.get_y(), _WIDTH, draw=True)
            self.set_xy(_MARGIN, self.get_y() + 3)
            return
        left_heights[-1] += total - sum(left_heights)
        self.set_auto_page_break(False)  # measured above: the grid fits
        y = top
        for box, height in zip(left, left_heights, strict=True):
            y += self._box(_MARGIN, y, _LEFT_W, box, height=height)
        self._box(right_x, top, right_w, official, height=total - qr_h)
        self._qr_panel(right_x, top + total - qr_h, right_w, draw=True, height=qr_h)
        self.set_auto_page_break(True, margin=_BREAK_MARGIN)
        self.set_xy(_MARGIN, top + total + 3)

    def _qr_panel(self, x: float, y: float, w: float, *, draw: bool, height: float = 0.0) -> float:
        caption = "Scan to verify the status of this certificate on the registry:"
        url = _clean(self.verify_url)
        cap_h = self._text_height(w - 2 * _PAD, caption, 6.5, False)
        self._font(6.5, bold=True)
        url_h = self._dry_height(w - 2 * _PAD, 2.9, url, WrapMode.CHAR)
        total = max(_PAD + _QR_SIDE + 0.5 + cap_h + url_h + _PAD, height)
        if not draw:
            return total
        self.set_line_width(0.25)
        self.rect(x, y, w, total)
        link = self.verify_url if self.verify_url.startswith(("https://", "http://")) else ""
        self.image(_qr_png(self.verify_url), x=x + (w - _QR_SIDE) / 2, y=y + _PAD, w=_QR_SIDE, h=_QR_SIDE, link=link)
        self.set_xy(x + _PAD, y + _PAD + _QR_SIDE + 0.5)
        self._font(6.5, muted=True)
        self.multi_cell(w - 2 * _PAD, _line_height(6.5), caption, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self._font(6.5, bold=True)
        self.multi_cell(w - 2 * _PAD, 2.9, url, align=Align.C, wrapmode=WrapMode.CHAR, link=link)
        return total

    def _goods(self) -> None:
        headings = tuple(heading for heading, _ in GOODS_COLUMNS)
        aligns = tuple(align for _, align in GOODS_COLUMNS)
        texts = [[_clean(cell.text) for cell in item] for item in self.form.goods]
        size, widths = self._goods_columns(headings, texts)
        # The lines are decided here (at spaces, or inside a token only if it alone is too wide) and
        # handed to fpdf2 ready-made, so that it never breaks a code or a figure where room runs out.
        rows: list[list[_Cell]] = [
            [(self._wrapped(text, width, size), cell.muted) for text, cell, width in zip(line, item, widths, strict=True)]
            for line, item in zip(texts, self.form.goods, strict=True)
        ]
        if self.will_page_break(30):
            self.add_page()
        self.set_draw_color(*_BLACK)
        self.set_line_width(0.25)
        with self.table(
            width=_WIDTH,
            col_widths=widths,
            text_align=aligns,
            v_align=VAlign.T,
            line_height=_TABLE_LINE,
            padding=(0.8, _CELL_PAD),
            headings_style=FontFace(family="DejaVu", emphasis="BOLD", size_pt=_HEADING_SIZE, fill_color=_SHADE),
            num_heading_rows=2,  # the box title and the column headings, repeated on every page
            repeat_headings=1,
            borders_layout=TableBordersLayout.ALL,
        ) as table:
            title_style = FontFace(color=_GREY, fill_color=(255, 255, 255))
            table.row().cell(self.form.goods_heading, align=Align.L, colspan=len(headings), style=title_style)
            table.row(headings)
            for cells in rows:
                for part in self._split_tall(cells):
                    row = table.row()
                    for text, muted in part:
                        if muted:  # "withheld by the holder" reads better flush left, even among figures
                            row.cell(text, align=Align.L, style=FontFace(color=_GREY, size_pt=size))
                        else:
                            row.cell(text, style=FontFace(size_pt=size))
        if not rows:
            self._font(7, muted=True)
            self.cell(_WIDTH, 5, NO_ITEMS, border=1, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)

    def _goods_columns(self, headings: Sequence[str], texts: Sequence[Sequence[str]]) -> tuple[float, list[float]]:
        """The goods table's type size and column widths: the largest size at which every column
        holds its widest token (a heading's word, a code, a figure with its unit) unbroken."""
        self._font(_HEADING_SIZE, bold=True)
        heading_min = [min_content(heading, self.get_string_width) + _GUTTER for heading in headings]
        for size in _GOODS_SIZES:
            self._font(size)
            columns = list(zip(*texts, strict=True)) if texts else [()] * len(headings)
            minimum = [
                max([low, *(min_content(text, self.get_string_width) + _GUTTER for text in column)])
                for low, column in zip(heading_min, columns, strict=True)
            ]
            if sum(minimum) <= _WIDTH:
                break
        preferred = [
            max([low, *(max_content(text, self.get_string_width) + _GUTTER for text in column)])
            for low, column in zip(minimum, columns, strict=True)
        ]
        floor = [
            max([low, *(min_piece(text, self.get_string_width) + _GUTTER for text in column)])
            for low, column in zip(heading_min, columns, strict=True)
        ]
        return size, fit_columns(minimum, preferred, _WIDTH, floor)

    def _split_tall(self, cells: Sequence[_Cell]) -> list[list[_Cell]]:
        """One table row of wrapped cells, or several when a cell has more lines than fit a page.

        fpdf2 never breaks a row across pages and refuses one taller than a page; a 2000-character
        description or 4000 characters of remarks can be, so such a row continues in further rows.
        """
        wrapped = [text.split("\n") for text, _ in cells]
        parts = max(-(-len(lines) // _MAX_ROW_LINES) for lines in wrapped)
        if parts <= 1:
            return [list(cells)]
        return [
            [
                ("\n".join(lines[k * _MAX_ROW_LINES : (k + 1) * _MAX_ROW_LINES]), muted)
                for lines, (_, muted) in zip(wrapped, cells, strict=True)
            ]
            for k in range(parts)
        ]

    def _table_box(self, box: Box) -> None:
        """A full-width box of label / value rows as a table, so that it may run onto the next page."""
        if self.will_page_break(25):
            self.add_page()
        self.set_draw_color(*_BLACK)
        self.set_line_width(0.25)
        widths = (34, _WIDTH - 34)
        self._font(7.5)
        with self.table(
            width=_WIDTH,
            col_widths=widths,
            text_align=("L", "L"),
            v_align=VAlign.T,
            line_height=3.4,
            padding=(0.9, _CELL_PAD),
            first_row_as_headings=True,
            headings_style=FontFace(family="DejaVu", emphasis="BOLD", size_pt=6.5, color=_GREY),
            repeat_headings=1,
        ) as table:
            table.row().cell(box.heading, align=Align.L, colspan=2)
            for line in box.lines:
                label, value = self._wrapped(_clean(line.label), widths[0], 6.5), self._wrapped(_clean(line.text), widths[1], 7.5)
                for (label_part, _), (text, muted) in self._split_tall([(label, True), (value, line.muted)]):
                    row = table.row()
                    row.cell(label_part, style=FontFace(size_pt=6.5, color=_GREY))
                    row.cell(text, style=FontFace(color=_GREY) if muted else None)
        self.ln(3)

    def _signatures(self) -> None:
        """Boxes 7 and 8 side by side, kept together on one page."""
        half = _WIDTH / 2
        declaration, certification = self.form.declaration, self.form.certification
        height = max(
            self._box(_MARGIN, 0, half, declaration, draw=False),
            self._box(_MARGIN + half, 0, half, certification, draw=False),
        )
        if self.will_page_break(height):
            self.add_page()
        top = self.get_y()
        self.set_auto_page_break(False)
        self._box(_MARGIN, top, half, declaration, height=height)
        self._box(_MARGIN + half, top, half, certification, height=height)
        self.set_auto_page_break(True, margin=_BREAK_MARGIN)
        self.set_xy(_MARGIN, top + height)


# -- small pure helpers --------------------------------------------------------------------------


def _line_height(size_pt: float) -> float:
    return round(size_pt * 0.3528 * 1.22, 2)


def _issue_datetime(value: object) -> datetime:
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        day = date(2000, 1, 1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _qr_png(url: str) -> io.BytesIO:
    """The QR code as a PNG, quiet zone included, ``_QR_SCALE`` pixels per module."""
    try:
        qr = segno.make_qr(url, error="m")
    except segno.DataOverflowError:
        raise PdfError("the verification URL is too long for a QR code") from None
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=_QR_SCALE, border=4)
    buffer.seek(0)
    return buffer
