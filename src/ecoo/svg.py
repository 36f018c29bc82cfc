"""Small, safe SVG charts rendered on the server: a horizontal bar chart and a per-day series
(shared by the customs statistics and the chamber statistics pages).

No library: the two charts need rectangles, a polyline and text, and every label must be escaped
(they come from certificates, that is from anyone). Each chart is a self-contained inline ``<svg>``
with ``role="img"``, named by its ``<title>`` and described by its ``<desc>``; no script, no style element,
no external reference (presentation attributes only, which a ``style-src 'self'`` CSP allows). The
output is well-formed XML as well as HTML, so a test can parse it.

Labels are cleaned before they are escaped: control characters, lone surrogates and
non-characters (which XML forbids and UTF-8 cannot encode) become U+FFFD, and a long label is
shortened in the chart (the full text stays in the bar's tooltip and in the page's table).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

WIDTH = 360  # drawn at about its own size on a phone (the page caps it at 28rem on a wide screen)
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
TEXT_COLOUR = "#1b1b1b"
MUTED_COLOUR = "#595959"  # 7:1 on white
BAR_COLOUR = "#1f5f8b"
#: Series colours and dash patterns: the two lines differ in shape too, not in colour alone.
SERIES_STYLES = (("#1f5f8b", ""), ("#b34700", "6 4"))
LABEL_CHARS = 42
ROW_HEIGHT = 40

_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[int, ...]  # one per day


def clean(text: str) -> str:
    """``text`` without characters XML forbids (or UTF-8 cannot encode), each replaced by U+FFFD."""
    return _UNSAFE.sub("\ufffd", text)


def escape(text: str) -> str:
    """``text`` cleaned and escaped for SVG/HTML text and double- or single-quoted attributes."""
    return html.escape(clean(text), quote=True)


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bar_chart(chart_id: str, title: str, desc: str, bars: Sequence[Bar]) -> Markup:
    """Horizontal bars, one per key, each with its label above it and its value at its end."""
    _check_id(chart_id)
    peak = max((bar.value for bar in bars), default=0)
    span = WIDTH - 64  # room for the value after the longest bar
    height = max(len(bars), 1) * ROW_HEIGHT + 8
    parts = [_open(chart_id, title, desc, height)]
    if not bars:
        parts.append(_text(8, 24, "No data in this period.", MUTED_COLOUR))
    for index, bar in enumerate(bars):
        top = index * ROW_HEIGHT + 4
        length = 0.0 if peak <= 0 else max(span * bar.value / peak, 1.0 if bar.value > 0 else 0.0)
        parts.append(f"<g><title>{escape(bar.label)}: {bar.value}</title>")
        parts.append(_text(0, top + 14, shorten(bar.label), TEXT_COLOUR))
        parts.append(f'<rect x="0" y="{top + 20}" width="{length:.1f}" height="14" fill="{BAR_COLOUR}"/>')
        parts.append(_text(length + 6, top + 32, str(bar.value), TEXT_COLOUR))
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def day_series(chart_id: str, title: str, desc: str, days: Sequence[date], series: Sequence[Series]) -> Markup:
    """Lines of counts per day, on one axis from zero to a round maximum, with a legend."""
    _check_id(chart_id)
    for one in series:
        if len(one.values) != len(days):
            raise ValueError(f"series {one.name!r} has {len(one.values)} values for {len(days)} days")
    left, right, top, bottom, height = 40.0, 12.0, 34.0, 26.0, 230
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    ceiling = nice_ceiling(max((v for one in series for v in one.values), default=0))
    parts = [_open(chart_id, title, desc, height)]
    # legend
    for index, one in enumerate(series):
        colour, dash = SERIES_STYLES[index % len(SERIES_STYLES)]
        x = left + index * 150
        parts.append(_line(x, 12, x + 24, 12, colour, dash, width=3))
        parts.append(_text(x + 30, 16, one.name, TEXT_COLOUR))
    # axes: zero, the ceiling, and the first and last day
    bottom_y = top + plot_h
    parts.append(_line(left, bottom_y, left + plot_w, bottom_y, MUTED_COLOUR, "", width=1))
    parts.append(_line(left, top, left + plot_w, top, "#d0d0d0", "2 3", width=1))
    parts.append(_text(left - 6, bottom_y + 4, "0", MUTED_COLOUR, anchor="end"))
    parts.append(_text(left - 6, top + 4, str(ceiling), MUTED_COLOUR, anchor="end"))
    if days:
        parts.append(_text(left, height - 6, days[0].isoformat(), MUTED_COLOUR))
        if len(days) > 1:
            parts.append(_text(left + plot_w, height - 6, days[-1].isoformat(), MUTED_COLOUR, anchor="end"))
    step = plot_w / (len(days) - 1) if len(days) > 1 else 0.0

    def point(offset: int, value: int) -> tuple[float, float]:
        x = left + (offset * step if len(days) > 1 else plot_w / 2)
        return x, bottom_y - (plot_h * value / ceiling if ceiling else 0.0)

    for index, one in enumerate(series):
        colour, dash = SERIES_STYLES[index % len(SERIES_STYLES)]
        points = [point(offset, value) for offset, value in enumerate(one.values)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="2"{dashed}/>')
        if len(days) <= 62:  # markers while they stay apart; they also show a period of one day
            parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in points)
    parts.append("</svg>")
    return Markup("".join(parts))


def nice_ceiling(value: int) -> int:
    """The smallest whole 1, 2, 2.5, 5 or 10 times a power of ten that is at least ``value`` (1 for 0)."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    for factor in (1, 2, 2.5, 5):
        ceiling = factor * power
        if ceiling >= value and ceiling == int(ceiling):  # 2.5 only from 25 up: the axis stays whole
            return int(ceiling)
    return 10 * power


def _check_id(chart_id: str) -> None:
    # Ids are ours (never input), but they land in attributes unescaped by design: hold them to a form.
    if not _ID.fullmatch(chart_id):
        raise ValueError(f"chart id {chart_id!r} is not a plain identifier")


def _open(chart_id: str, title: str, desc: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet" role="img"'
        f' aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc" {FONT} font-size="14">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
    )


def _text(x: float, y: float, text: str, colour: str, *, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" fill="{colour}" text-anchor="{anchor}">{escape(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, dash: str, *, width: int) -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" stroke-width="{width}"{dashed}/>'
