"""The withheld parts: what an exporter removed from a certificate before handing it on.

A withheld part is named by a JSON Pointer from the fixed redactable list the protocol defines
(:data:`~ecoo.protocol.REDACTABLE_TOP_LEVEL`, :data:`~ecoo.protocol.REDACTABLE_ITEM_FIELDS`): it must
be absent from the document, and is then not reported missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from ..units import REDACTABLE_ITEM_FIELDS, REDACTABLE_TOP_LEVEL
from .messages import describe, show
from .pointers import Issue, segments

__all__ = ["withheld_issues", "withheld_pointers"]

_WITHHELD_TOP_RE: Final = re.compile("/(" + "|".join(REDACTABLE_TOP_LEVEL) + ")")
_WITHHELD_ITEM_RE: Final = re.compile(r"/items/(0|[1-9][0-9]{0,5})/(" + "|".join(REDACTABLE_ITEM_FIELDS) + ")")


def withheld_pointers(withheld: object) -> frozenset[str]:
    """The string entries of a withheld list, whatever its container (anything else counts as none)."""
    if isinstance(withheld, (frozenset, set, list, tuple)):
        return frozenset(pointer for pointer in withheld if type(pointer) is str)
    return frozenset()


def withheld_issues(document: object, withheld: object) -> Iterator[Issue]:
    """Each withheld entry that is not a redactable part of this document, or that the document still holds."""
    if not isinstance(document, dict):
        return  # the root type error says it all
    entries = list(withheld) if isinstance(withheld, (frozenset, set, list, tuple)) else [withheld]
    items = document.get("items")
    redactable = ", ".join([f"/{m}" for m in REDACTABLE_TOP_LEVEL] + [f"/items/<i>/{m}" for m in REDACTABLE_ITEM_FIELDS])
    for pointer in entries:
        if type(pointer) is not str:
            yield (), "withheld.not_redactable", f"expected a JSON Pointer string, got {describe(pointer)}"
            continue
        top = _WITHHELD_TOP_RE.fullmatch(pointer)
        item = _WITHHELD_ITEM_RE.fullmatch(pointer)
        present = f"expected {pointer} to be absent because it is withheld, found it in the document" if top or item else ""
        if top:
            if top.group(1) in document:
                yield (top.group(1),), "withheld.present", present
        elif item:
            index, member = int(item.group(1)), item.group(2)
            count = len(items) if isinstance(items, list) else 0
            if index >= count:
                message = f"expected a withheld pointer to name an item of the document ({count} items), got {pointer!r}"
                yield ("items", index, member), "withheld.not_redactable", message
            elif isinstance(items, list) and isinstance(items[index], dict) and member in items[index]:
                yield ("items", index, member), "withheld.present", present
        else:
            message = f"expected a redactable part ({redactable}), got {show(pointer)}"
            yield segments(pointer), "withheld.not_redactable", message
