"""Validation of certificate-of-origin documents: the published JSON Schema plus the rules it cannot express.

:func:`validate_certificate` returns every issue it finds, as :class:`ValidationIssue` records
sorted by JSON Pointer, and never raises, whatever the input: wrong types at any level, a root
that is not an object, huge strings or integers, arbitrarily deep nesting, values that are not
JSON at all.

How hostile input is kept harmless: before the schema runs, the input is copied iteratively into
plain JSON types. Containers nested deeper than any certificate field (:data:`MAX_DEPTH`), values
that are not JSON and integers too long to print are replaced by an opaque stand-in, which fails
every type check and prints briefly; an array longer than :data:`MAX_ARRAY_CHECKED` is reported
as too long and only its first elements are checked. At most :data:`MAX_ISSUES` issues are
reported; a document with more ends with one ``issues.truncated`` issue at the root.

Issue codes are stable: ``schema.<keyword>`` for a structural error (``schema.required``,
``schema.type``, ``schema.unknown_member``, ``schema.max_length``...), and a domain code for a
field with a format or a rule (``hs.format``, ``country.unknown``, ``rvc.fob_missing``...);
``docs/fields.md`` lists them.

Where to change what:

* :mod:`~ecoo.validation.codes` — reference data: schemes, origin criteria, copy types, countries.
* :mod:`~ecoo.validation.rules` — the trade rules beyond the schema, each with its messages.
* :mod:`~ecoo.validation.messages` — shared wording: how values are shown, what each format expects.
* :mod:`~ecoo.validation.engine` — the schema validators (fast and full, built on first use) and
  the translation of schema errors into issues; :mod:`~ecoo.validation.fields` — the schema
  itself and the kind of value each field holds.
* :mod:`~ecoo.validation.cleaning` — hostile input made harmless; :mod:`~ecoo.validation.pointers`
  — issue paths; :mod:`~ecoo.validation.withheld` — withheld parts; :mod:`~ecoo.validation.certificate`
  — :func:`validate_certificate` putting it all together.
"""

from __future__ import annotations

from ..units import REDACTABLE_ITEM_FIELDS, REDACTABLE_TOP_LEVEL
from .certificate import MAX_ISSUES, ValidationIssue, validate_certificate
from .cleaning import MAX_ARRAY_CHECKED, MAX_DEPTH, parse_date
from .codes import COPY_TYPES, ISO_3166_ALPHA2, ORIGIN_CRITERIA, SCHEMES
from .engine import schema_accepts_fast
from .fields import SCHEMA, SCHEMA_ID

__all__ = [
    "COPY_TYPES",
    "ISO_3166_ALPHA2",
    "MAX_ARRAY_CHECKED",
    "MAX_DEPTH",
    "MAX_ISSUES",
    "ORIGIN_CRITERIA",
    "REDACTABLE_ITEM_FIELDS",
    "REDACTABLE_TOP_LEVEL",
    "SCHEMA",
    "SCHEMA_ID",
    "SCHEMES",
    "ValidationIssue",
    "parse_date",
    "schema_accepts_fast",
    "validate_certificate",
]
