"""Fitting text into table columns the way a reader expects: break lines at spaces only, size the
columns so that the widest unbreakable token of each fits, and only when even that is impossible
break a token, first after one of its own separators ("HBM/PUS/" + "41-48"), last between characters.

fpdf2 breaks a word that does not fit its cell wherever the width runs out ("8708302" + "9",
"126000.00" + "USD"); this module decides the lines itself, and the layout hands fpdf2 lines that
fit. A no-break space (U+00A0) is not a break: the certificate view joins a figure to its unit and
a percentage to its sign with one (only a column too narrow for the whole breaks there). Pure functions of a ``measure`` (the width of a string in the
current font), so that they are tested without a PDF.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = ["fit_columns", "max_content", "min_content", "min_piece", "wrap"]

Measure = Callable[[str], float]

# Inside a token too wide for its column: break after a separator, never before one; a figure's
# thousands separators are no such place ("987," + "654"), but the no-break space before its unit is.
_SEPARATED = re.compile("[^/\\-;:\u00a0]*[/\\-;:\u00a0]+|[^/\\-;:\u00a0]+")


def _words(text: str) -> list[str]:
    return [word for line in text.split("\n") for word in line.split(" ") if word]


def min_content(text: str, measure: Measure) -> float:
    """The width of the widest token of ``text``: the narrowest column it fits unbroken."""
    return max((measure(word) for word in _words(text)), default=0.0)


def min_piece(text: str, measure: Measure) -> float:
    """The width of the widest piece of ``text`` when its tokens may break after their separators:
    the narrowest column it fits without a break between two characters of a code or a figure."""
    return max((measure(piece) for word in _words(text) for piece in _SEPARATED.findall(word)), default=0.0)


def max_content(text: str, measure: Measure) -> float:
    """The width of ``text`` with no line broken but its own."""
    return max((measure(line) for line in text.split("\n")), default=0.0)


def _pieces(word: str, width: float, measure: Measure) -> list[str]:
    """A token wider than ``width`` in pieces that fit: joined after separators where possible."""
    pieces: list[str] = []
    for part in _SEPARATED.findall(word):
        if pieces and measure(pieces[-1] + part) <= width:
            pieces[-1] += part
        elif measure(part) <= width:
            pieces.append(part)
        else:  # no separator helps: between characters, the last resort
            for char in part:
                if pieces and measure(pieces[-1] + char) <= width:
                    pieces[-1] += char
                else:
                    pieces.append(char)
    return pieces


def wrap(text: str, width: float, measure: Measure) -> list[str]:
    """``text`` broken into lines no wider than ``width``: at spaces, and inside a token only when
    the token alone is wider than ``width``. Line breaks of ``text`` are kept."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if measure(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            if measure(word) <= width:
                line = word
            else:
                *whole, line = _pieces(word, width, measure)
                lines.extend(whole)
        lines.append(line)
    return lines


def fit_columns(
    minimum: Sequence[float], preferred: Sequence[float], total: float, floor: Sequence[float] | None = None
) -> list[float]:
    """Column widths that add up to ``total``, as a browser sizes an automatic table: each column
    gets at least its ``minimum`` (its widest token) and the room left over goes to the columns in
    proportion to how much more they would use (``preferred``, their unbroken text). When the
    minimums alone exceed ``total``, each column keeps at least its ``floor`` (its widest piece
    between separators) and gives up room in proportion to how far it can; below the floors, all
    are scaled down together (tokens then break between characters)."""
    low = sum(minimum)
    if low > total:
        if floor is not None and sum(floor) <= total:
            return fit_columns(floor, minimum, total)
        return [total * m / low for m in minimum] if low else [total / len(minimum)] * len(minimum)
    wants = [max(p - m, 0.0) for m, p in zip(minimum, preferred, strict=True)]
    room = total - low
    if sum(wants) <= room:
        # Everything fits unbroken: the rest goes in proportion to the preferred widths.
        spare = room - sum(wants)
        high = sum(max(p, m) for m, p in zip(minimum, preferred, strict=True)) or 1.0
        return [max(p, m) + spare * max(p, m) / high for m, p in zip(minimum, preferred, strict=True)]
    return [m + room * w / sum(wants) for m, w in zip(minimum, wants, strict=True)]
