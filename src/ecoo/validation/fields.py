"""The published schema, loaded once, and what each field of it holds.

:data:`KIND_BY_TEMPLATE` maps a field's path template (``*`` for array indices) to the ``$defs``
entry it references (``countryCode``, ``date``, ``decimal``...): the schema translation uses it to
word a field's errors, the rules to find every field of a kind. It is derived from the schema so
that the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeAlias

from ..schema import load_schema

__all__ = ["KIND_BY_TEMPLATE", "SCHEMA", "SCHEMA_ID", "TEMPLATES_BY_KIND", "Template"]

Template: TypeAlias = tuple[str, ...]
"""A field's path with ``*`` for any array index, e.g. ``("items", "*", "hsCode")``."""

SCHEMA: Final[dict[str, Any]] = load_schema()
"""The certificate-of-origin JSON Schema (read-only by convention: the validators are built from it on first use)."""

SCHEMA_ID: Final[str] = SCHEMA["$id"]


def _field_kinds(schema: Mapping[str, Any]) -> dict[Template, str]:
    """Map each field's path template (``*`` for array indices) to the ``$defs`` entry it references.

    ``dateFields`` and the like (a definition whose type the referencing property states) count as
    ``date``.
    """
    defs = schema["$defs"]
    kinds: dict[Template, str] = {}
    stack: list[tuple[Mapping[str, Any], Template]] = [(schema, ())]
    while stack:
        node, template = stack.pop()
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            kinds.setdefault(template, name.removesuffix("Fields"))
            stack.append((defs[name], template))
        for member, child in node.get("properties", {}).items():
            stack.append((child, (*template, member)))
        if isinstance(node.get("items"), Mapping):
            stack.append((node["items"], (*template, "*")))
    return kinds


KIND_BY_TEMPLATE: Final[Mapping[Template, str]] = _field_kinds(SCHEMA)
"""The kind of value (the ``$defs`` entry) at each field's path template."""

TEMPLATES_BY_KIND: Final[Mapping[str, tuple[Template, ...]]] = {
    kind: tuple(sorted(t for t, k in KIND_BY_TEMPLATE.items() if k == kind)) for kind in set(KIND_BY_TEMPLATE.values())
}
"""The path templates of every field of a kind, sorted."""
