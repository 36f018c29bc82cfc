"""Input hygiene: any Python value copied into plain JSON that the schema engine can safely look into.

Before the schema runs, the input is copied iteratively (no recursion) into plain JSON types.
Containers nested deeper than any certificate field (:data:`MAX_DEPTH`), values that are not JSON
and integers too long to print are replaced by an :class:`Opaque` stand-in, which fails every type
check and prints briefly; an array longer than :data:`MAX_ARRAY_CHECKED` is cut to its first
elements as a :class:`LongList` that remembers its real length.

Also here: the small readers the rules and the engine share (:func:`parse_date`, :func:`country`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any, Final

__all__ = [
    "COUNTRY_RE",
    "DATE_RE",
    "INT_LIMIT",
    "MAX_ARRAY_CHECKED",
    "MAX_DEPTH",
    "LongList",
    "Opaque",
    "country",
    "parse_date",
    "plain_json",
]

MAX_DEPTH: Final = 6
"""Containers nested deeper than this are never looked into (no certificate field is deeper than 4)."""

MAX_ARRAY_CHECKED: Final = 1000
"""Elements of an array checked at most (every array of the schema allows fewer)."""

INT_LIMIT: Final = 2**63
"""Integers at or beyond this magnitude are replaced by an :class:`Opaque` stand-in (no field allows them)."""

COUNTRY_RE: Final = re.compile(r"[A-Z]{2}")
"""The shape of a country code; whether it is assigned is :data:`~ecoo.validation.codes.ISO_3166_ALPHA2`'s to say."""
DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""The shape of a date; whether it is a real calendar date is :func:`parse_date`'s to say."""


class Opaque:
    """Stands in for a value the schema must not look into: too deep, not JSON, or an integer too long to print."""

    __slots__ = ("description", "kind")

    def __init__(self, kind: str, description: str) -> None:
        self.kind = kind
        self.description = description

    def __repr__(self) -> str:
        return f"<{self.description}>"


class LongList(list[Any]):
    """The first :data:`MAX_ARRAY_CHECKED` elements of a longer array, which remembers its real length."""

    __slots__ = ("original_length",)

    def __init__(self, elements: Iterable[Any], original_length: int) -> None:
        super().__init__(elements)
        self.original_length = original_length


def plain_json(value: object) -> object:
    """Copy ``value`` into plain JSON types, without recursion, replacing what must not be looked into."""
    holder: list[object] = [None]
    stack: list[tuple[object, Any, Any, int]] = [(value, holder, 0, 0)]
    while stack:
        source, target, key, depth = stack.pop()
        copy: object
        if source is None or type(source) in (str, bool, float):
            copy = source
        elif type(source) is int:
            in_range = -INT_LIMIT < source < INT_LIMIT
            sign = "a negative" if source < 0 else "an"
            copy = source if in_range else Opaque("integer", f"{sign} integer of about {_digits(source)} digits")
        elif isinstance(source, dict):
            if depth >= MAX_DEPTH:
                copy = Opaque("object", "an object nested too deep")
            else:
                members: dict[object, object] = {}
                for member, child in dict.items(source):
                    is_text = isinstance(member, str)
                    name: object = str.__str__(member) if is_text else Opaque("key", f"a {type(member).__name__} key")
                    members[name] = None
                    stack.append((child, members, name, depth + 1))
                copy = members
        elif isinstance(source, list):
            if depth >= MAX_DEPTH:
                copy = Opaque("array", "an array nested too deep")
            else:
                length = len(source)
                checked = min(length, MAX_ARRAY_CHECKED)
                elements = [None] * checked if length == checked else LongList([None] * checked, length)
                for index in range(checked):
                    stack.append((list.__getitem__(source, index), elements, index, depth + 1))
                copy = elements
        elif isinstance(source, str):
            copy = str.__str__(source)
        elif isinstance(source, int) and not isinstance(source, bool):
            copy = plain_json(int.__int__(source))
        elif isinstance(source, float):
            copy = float.__float__(source)
        else:
            copy = Opaque("other", f"a {type(source).__name__}, not a JSON value")
        target[key] = copy
    return holder[0]


def _digits(number: int) -> int:
    # Since Python 3.11 str() of an integer over 4300 digits raises ValueError; the bit length gives the size.
    return int(number.bit_length() * 0.30103) + 1


def parse_date(value: object) -> date | None:
    """A real calendar date written YYYY-MM-DD, else None."""
    if type(value) is not str or not DATE_RE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def country(value: object) -> str | None:
    """``value`` if it has the shape of a country code (two uppercase letters), else None."""
    return value if type(value) is str and COUNTRY_RE.fullmatch(value) else None
