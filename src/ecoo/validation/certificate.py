"""The entry point: :func:`validate_certificate` runs the schema, the rules and the withheld checks.

It returns every issue as a :class:`ValidationIssue`, sorted by JSON Pointer, at most
:data:`MAX_ISSUES` of them, and never raises, whatever the input (see :mod:`ecoo.validation`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from .cleaning import plain_json
from .engine import schema_accepts_fast, schema_issues
from .pointers import Issue, pointer, sort_key
from .rules import rule_issues
from .withheld import withheld_issues, withheld_pointers

__all__ = ["MAX_ISSUES", "ValidationIssue", "validate_certificate"]

MAX_ISSUES: Final = 10_000
"""Issues reported at most for one document."""


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found in a certificate."""

    path: str
    """JSON Pointer to the offending value, e.g. ``/items/1/hsCode`` (``""`` for the document root)."""
    code: str
    """Stable machine code, e.g. ``schema.required``, ``hs.format``, ``rvc.fob_missing``."""
    message: str
    """What was expected and what was found."""

    def to_json(self) -> dict[str, str]:
        """The issue as reports and API responses write it: ``{"path": ..., "code": ..., "message": ...}``."""
        return {"path": self.path, "code": self.code, "message": self.message}


def validate_certificate(data: object, *, withheld: frozenset[str] = frozenset()) -> tuple[ValidationIssue, ...]:
    """Check a certificate against the schema and the domain rules; return every issue, sorted by path.

    ``withheld`` names the parts an exporter removed before handing the document on, as JSON
    Pointers from the fixed redactable list: ``/<member>`` for each of ``REDACTABLE_TOP_LEVEL``
    and ``/items/<i>/<member>`` for each of ``REDACTABLE_ITEM_FIELDS``. A withheld part must be
    absent; it is then not reported as missing, and rules that need it are skipped for it.
    An empty tuple means the certificate is valid.
    """
    document = plain_json(data)
    issues: dict[Issue, None] = {}
    truncated = False
    pointers = withheld_pointers(withheld)
    fast = not pointers and schema_accepts_fast(document)
    sources: tuple[Iterator[Issue], ...] = (
        iter(()) if fast else schema_issues(document, pointers),
        rule_issues(document, pointers),
        withheld_issues(document, withheld),
    )
    for source in sources:
        for issue in source:
            # A value breaking both a field's pattern and its length yields the same format issue twice.
            issues[issue] = None
            if len(issues) >= MAX_ISSUES:
                truncated = True
                break
        if truncated:
            break
    ordered = sorted(issues, key=lambda issue: (sort_key(issue[0]), issue[1], issue[2]))
    result = [ValidationIssue(pointer(path), code, message) for path, code, message in ordered]
    if truncated:
        message = f"expected at most {MAX_ISSUES} issues, found more; the rest are not reported"
        result.insert(0, ValidationIssue("", "issues.truncated", message))
    return tuple(result)
