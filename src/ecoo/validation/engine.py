"""The schema engine: the published JSON Schema checked by two validators, and its errors turned into issues.

* The **fast path** (:func:`schema_accepts_fast`) is a code-generated validator (fastjsonschema)
  for the common case, a valid certificate: about fifteen times faster than jsonschema. It only
  ever *accepts*: whatever it rejects, and any document with a float or a withheld part, goes to
  the full validator.
* The **full path** (:func:`schema_issues`) is jsonschema, which reports every error; each error is
  translated into issues with stable codes (``schema.<keyword>``, or the format code of the field).

Both validators are built on first use, not at import: importing :mod:`ecoo.validation` costs
neither the compilation nor the jsonschema import, and a process that only ever sees valid
certificates never builds the full validator. :func:`build_validators` builds both up front, for a
server that prefers to pay before its first request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from .cleaning import DATE_RE, INT_LIMIT, LongList, Opaque, parse_date
from .fields import KIND_BY_TEMPLATE, SCHEMA
from .messages import FORMATS, describe, show, unknown_member_message
from .pointers import Issue, Path, pointer

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

__all__ = ["build_validators", "schema_accepts_fast", "schema_issues"]

_FORMAT_KEYWORDS: Final = frozenset({"pattern", "minLength", "maxLength"})
_CRITERION_CODE_TEMPLATE: Final = ("items", "*", "originCriterion", "code")
_ANNOTATIONS: Final = frozenset({"description", "$comment"})


def build_validators() -> None:
    """Build the fast and the full validator now rather than on first use (each is built once per process)."""
    _fast_check()
    _full_validator()


# --- Fast path ------------------------------------------------------------------------------------------


def schema_accepts_fast(document: object) -> bool:
    """True when the fast validator accepts ``document`` (a plain-JSON copy); False means "ask the full one"."""
    check = _fast_check()
    if check is None or _has_float(document):
        return False
    try:
        check(document)
    except Exception:  # noqa: BLE001 - JsonSchemaException, or anything unexpected: the full validator decides
        return False
    return True


@functools.cache
def _fast_check() -> Callable[[Any], Any] | None:
    """The fastjsonschema validator, or None without fastjsonschema.

    Its schema is the ref-free equivalent (draft-07 engines ignore ``$ref`` siblings), with ECMA-262
    pattern ends and the same calendar-date check; the schema has no "number" type, so "no float
    anywhere" stands in for jsonschema's strict integers (tests compare both engines).
    """
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - the full validator alone is correct, only slower
        return None
    fast_schema = _ecma_patterns(_inline_refs(SCHEMA))
    fast_schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    fast_schema.pop("$id", None)
    check: Callable[[Any], Any] = fastjsonschema.compile(fast_schema, formats={"date": _is_calendar_date})
    return check


def _has_float(value: object) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if type(node) is float:
            return True
        if type(node) is dict:
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _ecma_patterns(node: Any) -> Any:
    """The schema with every pattern's final ``$`` made ECMA-262's (``\\Z``), for a Python regex engine."""
    if isinstance(node, list):
        return [_ecma_patterns(child) for child in node]
    if not isinstance(node, dict):
        return node
    out = {key: _ecma_patterns(child) for key, child in node.items()}
    pattern = out.get("pattern")
    if isinstance(pattern, str):
        out["pattern"] = _ecma_end(pattern)
    return out


# --- Full path ------------------------------------------------------------------------------------------


def schema_issues(document: object, withheld: frozenset[str]) -> Iterator[Issue]:
    """Every schema error of ``document`` (a plain-JSON copy) as issues; a withheld member is not reported missing."""
    instance: Any = document
    for error in _full_validator().iter_errors(instance):
        yield from _from_schema_error(error, withheld)


@functools.cache
def _full_validator() -> Validator:
    """jsonschema's draft 2020-12 validator with strict integers, ECMA-262 patterns and real calendar dates."""
    from jsonschema import Draft202012Validator, FormatChecker, validators
    from jsonschema.exceptions import ValidationError

    patterns = _collect_patterns(SCHEMA, {})

    def pattern_keyword(
        validator: Validator, pattern: str, instance: object, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if type(instance) is str:
            compiled = patterns.get(pattern) or _compile_ecma_pattern(pattern)
            if compiled.search(instance) is None:
                yield ValidationError(f"does not match {pattern}")

    type_checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_strict_integer)
    format_checker = FormatChecker(formats=())
    format_checker.checks("date")(_is_calendar_date)
    # jsonschema's extend() is untyped; this names its result for mypy.
    extend: Callable[..., type[Validator]] = validators.extend
    validator_class = extend(Draft202012Validator, validators={"pattern": pattern_keyword}, type_checker=type_checker)
    return validator_class(_inline_refs(SCHEMA), format_checker=format_checker)


def _is_strict_integer(_checker: object, instance: object) -> bool:
    # JSON Schema counts 1.0 as an integer; a certificate's counts and numbers are written as integers.
    return type(instance) is int


def _is_calendar_date(instance: object) -> bool:
    # Strings of the wrong shape are the pattern's to report; this only rejects 2026-02-30 and the like.
    if type(instance) is not str or not DATE_RE.fullmatch(instance):
        return True
    return parse_date(instance) is not None


def _ecma_end(pattern: str) -> str:
    # ECMA-262 "$" (what JSON Schema patterns mean) matches only at the very end; Python's "$" also
    # matches before a final newline, which would let "620520\n" through. Every schema pattern is
    # anchored with a final "$".
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + r"\Z"
    return pattern


def _compile_ecma_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(_ecma_end(pattern))


def _collect_patterns(node: object, into: dict[str, re.Pattern[str]]) -> dict[str, re.Pattern[str]]:
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            into[pattern] = _compile_ecma_pattern(pattern)
        for child in node.values():
            _collect_patterns(child, into)
    elif isinstance(node, list):
        for child in node:
            _collect_patterns(child, into)
    return into


def _inline_refs(schema: Mapping[str, Any]) -> dict[str, Any]:
    """An equivalent schema with every local ``$ref`` replaced by the definition it names.

    Resolving references costs jsonschema about 40 % of a validation; the published schema keeps
    its ``$defs``. A reference's siblings may only add annotations or constraints the definition
    leaves out (the type of a ``...Fields`` definition), so merging them changes no meaning.
    """
    defs: Mapping[str, Any] = schema["$defs"]

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(child) for child in node]
        if not isinstance(node, dict):
            return node
        out = {key: inline(child) for key, child in node.items() if key not in ("$defs", "$ref")}
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = inline(defs[ref.removeprefix("#/$defs/")])
            clashes = (target.keys() & out.keys()) - _ANNOTATIONS
            if clashes:
                raise ValueError(f"$ref {ref} and its siblings both set {sorted(clashes)}")
            out = {**target, **out}
        return out

    inlined: dict[str, Any] = inline(schema)
    return inlined


# --- Schema errors to issues ----------------------------------------------------------------------------


def _from_schema_error(error: ValidationError, withheld: frozenset[str]) -> Iterator[Issue]:
    path: Path = tuple(error.absolute_path)
    keyword = str(error.validator)
    expected: Any = error.validator_value
    instance: Any = error.instance
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    template = tuple("*" if type(segment) is int else str(segment) for segment in path)
    kind = KIND_BY_TEMPLATE.get(template)

    if keyword == "required":
        for member in expected:
            member_path = (*path, member)
            if member not in instance and pointer(member_path) not in withheld:
                yield member_path, "schema.required", f"expected member {member!r}, found none"
    elif keyword == "additionalProperties":
        allowed = schema.get("properties", {})
        for member in instance:
            if member not in allowed:
                yield (*path, member), "schema.unknown_member", unknown_member_message(member, allowed)
    elif keyword == "type":
        yield _type_issue(path, kind, expected, instance, schema)
    elif kind is not None and kind in FORMATS and keyword in _FORMAT_KEYWORDS:
        code, expectation = FORMATS[kind]
        yield path, code, f"expected {expectation}, got {show(instance)}"
    elif keyword == "format":
        yield path, "date.invalid", f"expected a real calendar date, got {show(instance)}"
    elif keyword == "enum":
        if template != _CRITERION_CODE_TEMPLATE:  # the origin-criterion rule names the codes of the scheme
            yield path, "schema.enum", f"expected one of {', '.join(map(str, expected))}, got {show(instance)}"
    elif keyword == "const":
        yield path, "schema.const", f"expected {show(expected)}, got {show(instance)}"
    elif keyword in ("minimum", "maximum"):
        if type(instance) is int:  # a non-integer is the type check's to report
            bound = ">=" if keyword == "minimum" else "<="
            yield path, f"schema.{keyword}", f"expected an integer {bound} {expected}, got {instance}"
    elif keyword in ("minLength", "maxLength"):
        bound = "at least" if keyword == "minLength" else "at most"
        code = "schema.min_length" if keyword == "minLength" else "schema.max_length"
        yield path, code, f"expected {bound} {expected} characters, got {len(instance)}"
    elif keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        code = "schema.min_items" if keyword == "minItems" else "schema.max_items"
        length = instance.original_length if isinstance(instance, LongList) else len(instance)
        yield path, code, f"expected {bound} {expected} items, got {length}"
    elif keyword == "pattern":
        yield path, "schema.pattern", f"expected a string matching {expected}, got {show(instance)}"
    else:  # pragma: no cover - every keyword of the schema is handled above
        yield path, f"schema.{_snake(keyword)}", str(error.message)[:300]


def _type_issue(path: Path, kind: str | None, expected: Any, instance: Any, schema: Mapping[str, Any]) -> Issue:
    types = [expected] if isinstance(expected, str) else list(expected)
    if kind == "decimal" and type(instance) in (int, float):
        message = f'decimals must be strings, never floats: expected a decimal string such as "12.5", got the number {instance!r}'
        return path, "decimal.not_string", message
    if isinstance(instance, Opaque) and instance.kind == "integer" and "integer" in types:
        if instance.description.startswith("a negative"):
            return (
                path,
                "schema.minimum",
                f"expected an integer >= {schema.get('minimum', -INT_LIMIT)}, got {instance.description}",
            )
        return path, "schema.maximum", f"expected an integer <= {schema.get('maximum', INT_LIMIT)}, got {instance.description}"
    return path, "schema.type", f"expected {' or '.join(types)}, got {describe(instance)}"


def _snake(keyword: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", keyword).lower()
