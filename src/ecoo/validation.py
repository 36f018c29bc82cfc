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
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, TypeAlias

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from .protocol import REDACTABLE_ITEM_FIELDS, REDACTABLE_TOP_LEVEL
from .schema import load_schema

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
    "validate_certificate",
]

SCHEMA: Final[dict[str, Any]] = load_schema()
"""The certificate-of-origin JSON Schema (read-only by convention: the validator is built from it once)."""

SCHEMA_ID: Final[str] = SCHEMA["$id"]

SCHEMES: Final[tuple[str, ...]] = ("NON_PREFERENTIAL", "RCEP", "ATIGA", "EUR1", "GSP_A", "CPTPP")

ORIGIN_CRITERIA: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        # Non-preferential certificates state origin only, never a criterion.
        "NON_PREFERENTIAL": (),
        "RCEP": ("WO", "PE", "CTC", "RVC", "CR"),
        "ATIGA": ("WO", "RVC", "CC", "CTH", "CTSH", "SP", "PC"),
        # The EUR.1 movement certificate has no origin-criterion box (origin is shown in box 4).
        "EUR1": (),
        "GSP_A": ("P", "W", "F", "Y", "Pk"),
        # CPTPP Annex 3-B element 7 names the Article 3.2 criterion: (a) wholly obtained, (b) produced
        # entirely from originating materials, (c) product-specific rule; ecoo writes them WO, PE, PSR.
        "CPTPP": ("WO", "PE", "PSR"),
    }
)
"""The origin-criterion codes legal per scheme; an empty tuple means the scheme carries no criterion."""

COPY_TYPES: Final[tuple[str, ...]] = ("ORIGINAL", "DUPLICATE", "CERTIFIED_TRUE_COPY")

# The redactable units are defined by the protocol (they decide the leaf); re-exported here.
# REDACTABLE_TOP_LEVEL: top-level members an exporter may withhold (``/exporter``...);
# REDACTABLE_ITEM_FIELDS: members of each item (``/items/<i>/fobValue``...).

# The officially assigned ISO 3166-1 alpha-2 codes (249; Debian iso-codes 4.15). User-assigned codes
# such as XK are not accepted: customs systems do not agree on them.
ISO_3166_ALPHA2: Final[frozenset[str]] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF
    CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH
    GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG
    NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN
    SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT
    ZA ZM ZW
    """.split()
)

MAX_DEPTH: Final = 6
"""Containers nested deeper than this are never looked into (no certificate field is deeper than 4)."""

MAX_ARRAY_CHECKED: Final = 1000
"""Elements of an array checked at most (every array of the schema allows fewer)."""

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


# --- Building blocks compiled once at import --------------------------------------------------------

_COUNTRY_RE: Final = re.compile(r"[A-Z]{2}")
_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DECIMAL_RE: Final = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?")
_LOCODE_RE: Final = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")
_HS_RE: Final = re.compile(r"[0-9]{6}")
_NATIONAL_TARIFF_RE: Final = re.compile(r"[0-9]{6,12}")
_WITHHELD_TOP_RE: Final = re.compile("/(" + "|".join(REDACTABLE_TOP_LEVEL) + ")")
_WITHHELD_ITEM_RE: Final = re.compile(r"/items/(0|[1-9][0-9]{0,5})/(" + "|".join(REDACTABLE_ITEM_FIELDS) + ")")
_POINTER_RE: Final = re.compile(r"(/([^~/]|~[01])*)*")
_INDEX_RE: Final = re.compile(r"0|[1-9][0-9]{0,17}")
_ALL_CRITERIA: Final[tuple[str, ...]] = tuple(dict.fromkeys(code for codes in ORIGIN_CRITERIA.values() for code in codes))
_COPIES: Final = frozenset({"DUPLICATE", "CERTIFIED_TRUE_COPY"})
_INT_LIMIT: Final = 2**63
_SHOW_CHARS: Final = 40


class _Opaque:
    """Stands in for a value the schema must not look into: too deep, not JSON, or an integer too long to print."""

    __slots__ = ("description", "kind")

    def __init__(self, kind: str, description: str) -> None:
        self.kind = kind
        self.description = description

    def __repr__(self) -> str:
        return f"<{self.description}>"


_Segment: TypeAlias = str | int | _Opaque
_Path: TypeAlias = tuple[_Segment, ...]
_Issue: TypeAlias = tuple[_Path, str, str]


class _LongList(list[Any]):
    """The first :data:`MAX_ARRAY_CHECKED` elements of a longer array, which remembers its real length."""

    __slots__ = ("original_length",)

    def __init__(self, elements: Iterable[Any], original_length: int) -> None:
        super().__init__(elements)
        self.original_length = original_length


def _is_strict_integer(_checker: object, instance: object) -> bool:
    # JSON Schema counts 1.0 as an integer; a certificate's counts and numbers are written as integers.
    return type(instance) is int


def _is_calendar_date(instance: object) -> bool:
    # Strings of the wrong shape are the pattern's to report; this only rejects 2026-02-30 and the like.
    if type(instance) is not str or not _DATE_RE.fullmatch(instance):
        return True
    return parse_date(instance) is not None


def _compile_ecma_pattern(pattern: str) -> re.Pattern[str]:
    # ECMA-262 "$" (what JSON Schema patterns mean) matches only at the very end; Python's "$" also
    # matches before a final newline, which would let "620520\n" through. Every schema pattern is
    # anchored with a final "$".
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


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


_PATTERNS: Final = _collect_patterns(SCHEMA, {})


def _pattern_keyword(
    validator: Validator, pattern: str, instance: object, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if type(instance) is str:
        compiled = _PATTERNS.get(pattern) or _compile_ecma_pattern(pattern)
        if compiled.search(instance) is None:
            yield ValidationError(f"does not match {pattern}")


def _build_validator() -> Validator:
    type_checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_strict_integer)
    format_checker = FormatChecker(formats=())
    format_checker.checks("date")(_is_calendar_date)
    # jsonschema's extend() is untyped; this names its result for mypy.
    extend: Callable[..., type[Validator]] = validators.extend
    validator_class = extend(Draft202012Validator, validators={"pattern": _pattern_keyword}, type_checker=type_checker)
    return validator_class(_inline_refs(SCHEMA), format_checker=format_checker)


_ANNOTATIONS: Final = frozenset({"description", "$comment"})


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


_VALIDATOR: Final = _build_validator()


def _ecma_patterns(node: Any) -> Any:
    """The schema with every pattern's final ``$`` made ECMA-262's (``\\Z``), for a Python regex engine."""
    if isinstance(node, list):
        return [_ecma_patterns(child) for child in node]
    if not isinstance(node, dict):
        return node
    out = {key: _ecma_patterns(child) for key, child in node.items()}
    pattern = out.get("pattern")
    if isinstance(pattern, str) and pattern.endswith("$") and not pattern.endswith("\\$"):
        out["pattern"] = pattern[:-1] + r"\Z"
    return out


def _build_fast_check() -> Callable[[Any], Any] | None:
    """A code-generated validator (fastjsonschema) for the common case, a valid certificate: about
    fifteen times faster than jsonschema. It only ever *accepts*: whatever it rejects, and any
    document with a float or a withheld part, goes to the full validator, which reports every
    issue. Its schema is the ref-free equivalent (draft-07 engines ignore ``$ref`` siblings), with
    ECMA-262 pattern ends and the same calendar-date check; the schema has no "number" type, so
    "no float anywhere" stands in for jsonschema's strict integers (tests compare both engines)."""
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - the full validator alone is correct, only slower
        return None
    fast_schema = _ecma_patterns(_inline_refs(SCHEMA))
    fast_schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    fast_schema.pop("$id", None)
    check: Callable[[Any], Any] = fastjsonschema.compile(fast_schema, formats={"date": _is_calendar_date})
    return check


_FAST_CHECK: Final = _build_fast_check()


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


def schema_accepts_fast(document: object) -> bool:
    """True when the fast validator accepts ``document`` (a plain-JSON copy); False means "ask the full one"."""
    if _FAST_CHECK is None or _has_float(document):
        return False
    try:
        _FAST_CHECK(document)
    except Exception:  # noqa: BLE001 - JsonSchemaException, or anything unexpected: the full validator decides
        return False
    return True


def _field_kinds(schema: Mapping[str, Any]) -> dict[tuple[str, ...], str]:
    """Map each field's path template (``*`` for array indices) to the ``$defs`` entry it references.

    ``dateFields`` and the like (a definition whose type the referencing property states) count as
    ``date``. Derived from the schema so that the two cannot drift apart.
    """
    defs = schema["$defs"]
    kinds: dict[tuple[str, ...], str] = {}
    stack: list[tuple[Mapping[str, Any], tuple[str, ...]]] = [(schema, ())]
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


_KIND_BY_TEMPLATE: Final = _field_kinds(SCHEMA)
_TEMPLATES_BY_KIND: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    kind: tuple(sorted(t for t, k in _KIND_BY_TEMPLATE.items() if k == kind)) for kind in set(_KIND_BY_TEMPLATE.values())
}
_CRITERION_CODE_TEMPLATE: Final = ("items", "*", "originCriterion", "code")

# Fields with a format: (issue code, what is expected). The schema's pattern, minLength and
# maxLength errors on such a field are reported under this one code.
_FORMATS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "certificateNumber": ("certificate_number.format", "a certificate number of 1 to 64 letters, digits and . / _ -"),
        "countryCode": ("country.format", "an ISO 3166-1 alpha-2 country code (two uppercase letters)"),
        "currencyCode": ("currency.format", "an ISO 4217 currency code (three uppercase letters)"),
        "date": ("date.format", "a date YYYY-MM-DD"),
        "decimal": ("decimal.format", 'a decimal string such as "1200" or "8450.5" (no sign or exponent, at most 6 decimals)'),
        "ethereumAddress": ("address.format", "an Ethereum address (0x and 40 hexadecimal digits)"),
        "hsSubheading": ("hs.format", "a 6-digit HS subheading"),
        "leafHash": ("leaf.format", "a registry leaf (0x and 64 lowercase hexadecimal digits)"),
        "locode": ("locode.format", "a UN/LOCODE (country code and 3 characters A-Z or 2-9)"),
        "nationalTariffCode": ("hs.national_format", "a national tariff code of 6 to 12 digits"),
        "packageTypeCode": ("package.format", "a UNECE Rec. 21 package type code (2 uppercase letters or digits)"),
        "unitCode": ("unit.format", "a UNECE Rec. 20 unit code (2 or 3 uppercase letters or digits)"),
    }
)
_FORMAT_KEYWORDS: Final = frozenset({"pattern", "minLength", "maxLength"})


# --- Public entry point ---------------------------------------------------------------------------------


def validate_certificate(data: object, *, withheld: frozenset[str] = frozenset()) -> tuple[ValidationIssue, ...]:
    """Check a certificate against the schema and the domain rules; return every issue, sorted by path.

    ``withheld`` names the parts an exporter removed before handing the document on, as JSON
    Pointers from the fixed redactable list: ``/<member>`` for each of :data:`REDACTABLE_TOP_LEVEL`
    and ``/items/<i>/<member>`` for each of :data:`REDACTABLE_ITEM_FIELDS`. A withheld part must be
    absent; it is then not reported as missing, and rules that need it are skipped for it.
    An empty tuple means the certificate is valid.
    """
    document = _plain_json(data)
    issues: dict[_Issue, None] = {}
    truncated = False
    withheld_pointers = _withheld_pointers(withheld)
    fast = not withheld_pointers and schema_accepts_fast(document)
    sources: tuple[Iterator[_Issue], ...] = (
        iter(()) if fast else _schema_issues(document, withheld_pointers),
        _rule_issues(document, withheld_pointers),
        _withheld_issues(document, withheld),
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
    ordered = sorted(issues, key=lambda issue: (_sort_key(issue[0]), issue[1], issue[2]))
    result = [ValidationIssue(_pointer(path), code, message) for path, code, message in ordered]
    if truncated:
        message = f"expected at most {MAX_ISSUES} issues, found more; the rest are not reported"
        result.insert(0, ValidationIssue("", "issues.truncated", message))
    return tuple(result)


# --- Input hygiene --------------------------------------------------------------------------------------


def _plain_json(value: object) -> object:
    """Copy ``value`` into plain JSON types, without recursion, replacing what must not be looked into."""
    holder: list[object] = [None]
    stack: list[tuple[object, Any, Any, int]] = [(value, holder, 0, 0)]
    while stack:
        source, target, key, depth = stack.pop()
        copy: object
        if source is None or type(source) in (str, bool, float):
            copy = source
        elif type(source) is int:
            in_range = -_INT_LIMIT < source < _INT_LIMIT
            sign = "a negative" if source < 0 else "an"
            copy = source if in_range else _Opaque("integer", f"{sign} integer of about {_digits(source)} digits")
        elif isinstance(source, dict):
            if depth >= MAX_DEPTH:
                copy = _Opaque("object", "an object nested too deep")
            else:
                members: dict[object, object] = {}
                for member, child in dict.items(source):
                    is_text = isinstance(member, str)
                    name: object = str.__str__(member) if is_text else _Opaque("key", f"a {type(member).__name__} key")
                    members[name] = None
                    stack.append((child, members, name, depth + 1))
                copy = members
        elif isinstance(source, list):
            if depth >= MAX_DEPTH:
                copy = _Opaque("array", "an array nested too deep")
            else:
                length = len(source)
                checked = min(length, MAX_ARRAY_CHECKED)
                elements = [None] * checked if length == checked else _LongList([None] * checked, length)
                for index in range(checked):
                    stack.append((list.__getitem__(source, index), elements, index, depth + 1))
                copy = elements
        elif isinstance(source, str):
            copy = str.__str__(source)
        elif isinstance(source, int) and not isinstance(source, bool):
            copy = _plain_json(int.__int__(source))
        elif isinstance(source, float):
            copy = float.__float__(source)
        else:
            copy = _Opaque("other", f"a {type(source).__name__}, not a JSON value")
        target[key] = copy
    return holder[0]


def _digits(number: int) -> int:
    # Since Python 3.11 str() of an integer over 4300 digits raises ValueError; the bit length gives the size.
    return int(number.bit_length() * 0.30103) + 1


# --- Schema errors to issues ----------------------------------------------------------------------------


def _schema_issues(document: object, withheld: frozenset[str]) -> Iterator[_Issue]:
    instance: Any = document
    for error in _VALIDATOR.iter_errors(instance):
        yield from _from_schema_error(error, withheld)


def _from_schema_error(error: ValidationError, withheld: frozenset[str]) -> Iterator[_Issue]:
    path: _Path = tuple(error.absolute_path)
    keyword = str(error.validator)
    expected: Any = error.validator_value
    instance: Any = error.instance
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    template = tuple("*" if type(segment) is int else str(segment) for segment in path)
    kind = _KIND_BY_TEMPLATE.get(template)

    if keyword == "required":
        for member in expected:
            member_path = (*path, member)
            if member not in instance and _pointer(member_path) not in withheld:
                yield member_path, "schema.required", f"expected member {member!r}, found none"
    elif keyword == "additionalProperties":
        allowed = schema.get("properties", {})
        for member in instance:
            if member not in allowed:
                yield (*path, member), "schema.unknown_member", _unknown_member_message(member, allowed)
    elif keyword == "type":
        yield _type_issue(path, kind, expected, instance, schema)
    elif kind is not None and kind in _FORMATS and keyword in _FORMAT_KEYWORDS:
        code, expectation = _FORMATS[kind]
        yield path, code, f"expected {expectation}, got {_show(instance)}"
    elif keyword == "format":
        yield path, "date.invalid", f"expected a real calendar date, got {_show(instance)}"
    elif keyword == "enum":
        if template != _CRITERION_CODE_TEMPLATE:  # the origin-criterion rule names the codes of the scheme
            yield path, "schema.enum", f"expected one of {', '.join(map(str, expected))}, got {_show(instance)}"
    elif keyword == "const":
        yield path, "schema.const", f"expected {_show(expected)}, got {_show(instance)}"
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
        length = instance.original_length if isinstance(instance, _LongList) else len(instance)
        yield path, code, f"expected {bound} {expected} items, got {length}"
    elif keyword == "pattern":
        yield path, "schema.pattern", f"expected a string matching {expected}, got {_show(instance)}"
    else:  # pragma: no cover - every keyword of the schema is handled above
        yield path, f"schema.{_snake(keyword)}", str(error.message)[:300]


def _type_issue(path: _Path, kind: str | None, expected: Any, instance: Any, schema: Mapping[str, Any]) -> _Issue:
    types = [expected] if isinstance(expected, str) else list(expected)
    if kind == "decimal" and type(instance) in (int, float):
        message = f'decimals must be strings, never floats: expected a decimal string such as "12.5", got the number {instance!r}'
        return path, "decimal.not_string", message
    if isinstance(instance, _Opaque) and instance.kind == "integer" and "integer" in types:
        if instance.description.startswith("a negative"):
            return (
                path,
                "schema.minimum",
                f"expected an integer >= {schema.get('minimum', -_INT_LIMIT)}, got {instance.description}",
            )
        return path, "schema.maximum", f"expected an integer <= {schema.get('maximum', _INT_LIMIT)}, got {instance.description}"
    return path, "schema.type", f"expected {' or '.join(types)}, got {_describe(instance)}"


def _unknown_member_message(member: object, allowed: Mapping[str, Any]) -> str:
    message = f"expected only the members the schema defines, got unknown member {_show(member)}"
    if isinstance(member, str) and len(member) <= 64:
        close = difflib.get_close_matches(member, list(allowed), n=1, cutoff=0.75)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    return message


# --- Rules beyond the schema ----------------------------------------------------------------------------


def _rule_issues(document: object, withheld: frozenset[str]) -> Iterator[_Issue]:
    if not isinstance(document, dict):
        return
    yield from _country_issues(document)
    yield from _date_order_issues(document)
    yield from _party_country_issues(document)
    yield from _copy_issues(document)
    items = document.get("items")
    if isinstance(items, list):
        yield from _item_numbering_issues(items)
        scheme = document.get("scheme")
        allowed = ORIGIN_CRITERIA.get(scheme) if type(scheme) is str else None
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield from _item_issues(index, item, scheme if allowed is not None else None, allowed, withheld)


def _country_issues(document: dict[str, Any]) -> Iterator[_Issue]:
    for template in _TEMPLATES_BY_KIND.get("countryCode", ()):
        for path, value in _values_at(document, template):
            if type(value) is str and _COUNTRY_RE.fullmatch(value) and value not in ISO_3166_ALPHA2:
                yield path, "country.unknown", f"expected an officially assigned ISO 3166-1 alpha-2 country code, got {value!r}"
    for template in _TEMPLATES_BY_KIND.get("locode", ()):
        for path, value in _values_at(document, template):
            if type(value) is str and _LOCODE_RE.fullmatch(value) and value[:2] not in ISO_3166_ALPHA2:
                message = f"expected a UN/LOCODE starting with an assigned country code, got {value!r}"
                yield path, "locode.country_unknown", message


def _date_order_issues(document: dict[str, Any]) -> Iterator[_Issue]:
    issued = parse_date(document.get("issueDate"))
    valid_until = parse_date(document.get("validUntil"))
    if issued and valid_until and valid_until <= issued:
        yield ("validUntil",), "validity.not_after_issue", f"expected a date after the issue date {issued}, got {valid_until}"

    declared = parse_date(_member(document, "exporterDeclaration", "date"))
    certified = parse_date(_member(document, "certification", "date"))
    if declared and certified and certified < declared:
        yield (
            ("certification", "date"),
            "certification.before_declaration",
            f"expected a certification date on or after the exporter's declaration of {declared}, got {certified}",
        )

    original = parse_date(_member(document, "backToBack", "originalIssueDate"))
    if issued and original and original > issued:
        yield (
            ("backToBack", "originalIssueDate"),
            "back_to_back.date_order",
            f"expected the original certificate to be issued on or before this one ({issued}), got {original}",
        )


def _party_country_issues(document: dict[str, Any]) -> Iterator[_Issue]:
    export_country = _country(document.get("exportCountry"))
    issuer_country = _country(_member(document, "issuer", "country"))
    if export_country and issuer_country and export_country != issuer_country:
        # A chamber or authority certifies the origin of goods exported from its own country.
        yield (
            ("exportCountry",),
            "issuer.country_mismatch",
            f"expected the issuer's country {issuer_country!r} (certificates are issued in the country of export), "
            f"got {export_country!r}",
        )
    import_country = _country(document.get("importCountry"))
    if export_country and import_country == export_country:
        message = f"expected an import country other than the export country, got {import_country!r}"
        yield ("importCountry",), "countries.same", message
    original_country = _country(_member(document, "backToBack", "originalIssuingCountry"))
    if export_country and original_country == export_country:
        yield (
            ("backToBack", "originalIssuingCountry"),
            "back_to_back.same_country",
            f"expected the original certificate to come from another country than the export country, got {original_country!r}",
        )


def _copy_issues(document: dict[str, Any]) -> Iterator[_Issue]:
    copy_type = document.get("copyType")
    copy_of = document.get("copyOf")
    if copy_type == "ORIGINAL" and copy_of is not None:
        yield ("copyOf",), "copy.unexpected", f"expected copyOf null for an ORIGINAL, got {_describe(copy_of)}"
    elif type(copy_type) is str and copy_type in _COPIES and copy_of is None:
        yield ("copyOf",), "copy.original_missing", f"expected the original certificate (copyOf) for a {copy_type}, found none"
    issued = parse_date(document.get("issueDate"))
    original_issued = parse_date(_member(document, "copyOf", "issueDate"))
    if issued and original_issued and original_issued > issued:
        yield (
            ("copyOf", "issueDate"),
            "copy.date_order",
            f"expected the original to be issued on or before its copy ({issued}), got {original_issued}",
        )
    number = document.get("certificateNumber")
    replaced = _member(document, "replaces", "certificateNumber")
    if type(number) is str and replaced == number:
        message = f"expected the number of another certificate, got this one's {number!r}"
        yield ("replaces", "certificateNumber"), "replaces.self", message


def _item_numbering_issues(items: list[Any]) -> Iterator[_Issue]:
    first_index: dict[int, int] = {}
    for index, item in enumerate(items):
        number = item.get("itemNumber") if isinstance(item, dict) else None
        if type(number) is not int or not 1 <= number <= 999:
            continue  # the schema reports it
        path = ("items", index, "itemNumber")
        if number in first_index:
            message = f"expected a unique item number, got {number}, already used at /items/{first_index[number]}"
            yield path, "items.duplicate_number", message
            continue
        first_index[number] = index
        if number != index + 1:
            message = f"expected item number {index + 1} (items are numbered 1 to N in document order), got {number}"
            yield path, "items.numbering", message


def _item_issues(
    index: int, item: dict[str, Any], scheme: str | None, allowed: tuple[str, ...] | None, withheld: frozenset[str]
) -> Iterator[_Issue]:
    base: _Path = ("items", index)
    hs_code, national = item.get("hsCode"), item.get("nationalTariffCode")
    if type(hs_code) is str and type(national) is str and _HS_RE.fullmatch(hs_code) and _NATIONAL_TARIFF_RE.fullmatch(national):
        if not national.startswith(hs_code):
            message = f"expected a national tariff code starting with {hs_code}, got {national!r}"
            yield (*base, "nationalTariffCode"), "hs.national_mismatch", message

    criterion = item.get("originCriterion")
    if allowed is not None and not allowed:
        if criterion is not None:
            yield (
                (*base, "originCriterion"),
                "origin.criterion_not_allowed",
                (f"expected no origin criterion (null) for a {scheme} certificate, got {_describe_criterion(criterion)}"),
            )
        return
    if allowed is not None and criterion is None:
        message = f"expected an origin criterion for {scheme} ({', '.join(allowed)}), found none"
        yield (*base, "originCriterion"), "origin.criterion_missing", message
        return
    if not isinstance(criterion, dict):
        return
    code = criterion.get("code")
    if type(code) is not str:
        return  # the schema reports it
    legal = allowed if allowed is not None else _ALL_CRITERIA
    if code not in legal:
        for_scheme = f" for {scheme}" if scheme else ""
        message = f"expected one of {', '.join(legal)}{for_scheme}, got {_show(code)}"
        yield (*base, "originCriterion", "code"), "origin.criterion_not_allowed", message
        return

    percent = criterion.get("rvcPercent")
    percent_path = (*base, "originCriterion", "rvcPercent")
    if code != "RVC":
        if percent is not None:
            message = f"expected no rvcPercent for criterion {code} (only RVC states one), got {_show(percent)}"
            yield percent_path, "rvc.percent_unexpected", message
        return
    if percent is None:
        yield percent_path, "rvc.percent_missing", "expected the regional value content in percent for criterion RVC, found none"
    elif type(percent) is str and _DECIMAL_RE.fullmatch(percent) and not 0 < Decimal(percent) <= 100:
        yield percent_path, "rvc.percent_range", f"expected a percentage above 0 and at most 100, got {percent!r}"
    fob_path = (*base, "fobValue")
    if item.get("fobValue") is None and _pointer(fob_path) not in withheld:
        yield fob_path, "rvc.fob_missing", "expected the item's FOB value, which criterion RVC needs, found none"


# --- Withheld parts -------------------------------------------------------------------------------------


def _withheld_pointers(withheld: object) -> frozenset[str]:
    if isinstance(withheld, (frozenset, set, list, tuple)):
        return frozenset(pointer for pointer in withheld if type(pointer) is str)
    return frozenset()


def _withheld_issues(document: object, withheld: object) -> Iterator[_Issue]:
    if not isinstance(document, dict):
        return  # the root type error says it all
    entries = list(withheld) if isinstance(withheld, (frozenset, set, list, tuple)) else [withheld]
    items = document.get("items")
    redactable = ", ".join([f"/{m}" for m in REDACTABLE_TOP_LEVEL] + [f"/items/<i>/{m}" for m in REDACTABLE_ITEM_FIELDS])
    for pointer in entries:
        if type(pointer) is not str:
            yield (), "withheld.not_redactable", f"expected a JSON Pointer string, got {_describe(pointer)}"
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
            message = f"expected a redactable part ({redactable}), got {_show(pointer)}"
            yield _segments(pointer), "withheld.not_redactable", message


# --- Small helpers --------------------------------------------------------------------------------------


def _values_at(document: object, template: tuple[str, ...]) -> list[tuple[_Path, object]]:
    frontier: list[tuple[_Path, object]] = [((), document)]
    for segment in template:
        following: list[tuple[_Path, object]] = []
        for path, node in frontier:
            if segment == "*" and isinstance(node, list):
                following.extend(((*path, index), child) for index, child in enumerate(node))
            elif isinstance(node, dict) and segment in node:
                following.append(((*path, segment), node[segment]))
        frontier = following
    return frontier


def _member(document: dict[str, Any], outer: str, inner: str) -> object:
    container = document.get(outer)
    return container.get(inner) if isinstance(container, dict) else None


def parse_date(value: object) -> date | None:
    """A real calendar date written YYYY-MM-DD, else None."""
    if type(value) is not str or not _DATE_RE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _country(value: object) -> str | None:
    return value if type(value) is str and _COUNTRY_RE.fullmatch(value) else None


def _segments(pointer: str) -> _Path:
    """The segments of a JSON Pointer (array indices as integers), or the root for what is not one."""
    if len(pointer) > 256 or not _POINTER_RE.fullmatch(pointer):
        return ()
    segments = (part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:])
    return tuple(int(part) if _INDEX_RE.fullmatch(part) else part for part in segments)


def _pointer(path: _Path) -> str:
    return "".join("/" + str(segment).replace("~", "~0").replace("/", "~1") for segment in path)


def _sort_key(path: _Path) -> tuple[tuple[int, int, str], ...]:
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


def _snake(keyword: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", keyword).lower()


def _json_type(value: object) -> str:
    if isinstance(value, _Opaque):
        return value.description
    if value is None:
        return "null"
    if type(value) is bool:
        return "boolean"
    if type(value) is int:
        return "integer"
    if type(value) is float:
        return "number"
    if type(value) is str:
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(value: object) -> str:
    """A short, safe rendering of a value for a message."""
    if type(value) is str:
        if len(value) <= _SHOW_CHARS:
            return repr(value)
        return f"{value[:_SHOW_CHARS]!r}... ({len(value)} characters)"
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) in (int, float):
        return repr(value)
    return _json_type(value)


def _describe(value: object) -> str:
    kind = _json_type(value)
    if type(value) in (str, int, float):
        return f"{kind} {_show(value)}"
    return kind


def _describe_criterion(criterion: object) -> str:
    if isinstance(criterion, dict) and type(criterion.get("code")) is str:
        return f"criterion {_show(criterion['code'])}"
    return _describe(criterion)
