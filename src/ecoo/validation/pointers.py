"""Where an issue is: paths into a document, as tuples while checking and JSON Pointers when reported.

A path is a tuple of segments (member names, array indices, or an :class:`~.cleaning.Opaque` key);
an issue found while checking is the triple ``(path, code, message)`` (:data:`Issue`), turned into a
:class:`~ecoo.validation.ValidationIssue` with a JSON Pointer (RFC 6901) at the very end.
"""

from __future__ import annotations

import re
from typing import Any, Final, TypeAlias

from .cleaning import Opaque

__all__ = ["Issue", "Path", "Segment", "member", "pointer", "segments", "sort_key", "values_at"]

Segment: TypeAlias = str | int | Opaque
Path: TypeAlias = tuple[Segment, ...]
Issue: TypeAlias = tuple[Path, str, str]
"""One issue while checking: path, stable code, message."""

_POINTER_RE: Final = re.compile(r"(/([^~/]|~[01])*)*")
_INDEX_RE: Final = re.compile(r"0|[1-9][0-9]{0,17}")


def pointer(path: Path) -> str:
    """The JSON Pointer of ``path`` (``""`` for the root)."""
    return "".join("/" + str(segment).replace("~", "~0").replace("/", "~1") for segment in path)


def segments(text: str) -> Path:
    """The segments of a JSON Pointer (array indices as integers), or the root for what is not one."""
    if len(text) > 256 or not _POINTER_RE.fullmatch(text):
        return ()
    parts = (part.replace("~1", "/").replace("~0", "~") for part in text.split("/")[1:])
    return tuple(int(part) if _INDEX_RE.fullmatch(part) else part for part in parts)


def sort_key(path: Path) -> tuple[tuple[int, int, str], ...]:
    """The order issues are reported in."""
    # Segment by segment; a segment that reads as an array index sorts numerically (/items/2 before
    # /items/10), whether it is one or a member name, so the order follows from the pointers alone.
    key: list[tuple[int, int, str]] = []
    for segment in path:
        text = str(segment)
        if type(segment) is int:
            key.append((0, segment, ""))
        elif _INDEX_RE.fullmatch(text):
            key.append((0, int(text), ""))
        else:
            key.append((1, 0, text))
    return tuple(key)


def values_at(document: object, template: tuple[str, ...]) -> list[tuple[Path, object]]:
    """Every value at a path template (``*`` for any array index) with its path; missing parts yield nothing."""
    frontier: list[tuple[Path, object]] = [((), document)]
    for segment in template:
        following: list[tuple[Path, object]] = []
        for path, node in frontier:
            if segment == "*" and isinstance(node, list):
                following.extend(((*path, index), child) for index, child in enumerate(node))
            elif isinstance(node, dict) and segment in node:
                following.append(((*path, segment), node[segment]))
        frontier = following
    return frontier


def member(document: dict[str, Any], outer: str, inner: str) -> object:
    """``document[outer][inner]``, or None when either is missing or ``outer`` is not an object."""
    container = document.get(outer)
    return container.get(inner) if isinstance(container, dict) else None
