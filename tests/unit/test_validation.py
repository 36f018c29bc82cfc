"""The certificate data model: the published schema, the rules beyond it, and hostile input.

Each rule is broken once in an otherwise valid sample and must yield exactly one issue, with the
exact path and code; malformed, huge, deep and random inputs must never make the validator raise.
"""

from __future__ import annotations

import copy
import enum
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ecoo import protocol
from ecoo.errors import ConfigurationError
from ecoo.examples import EXAMPLE_SCHEMES, example_certificate
from ecoo.validation import (
    ISO_3166_ALPHA2,
    MAX_ISSUES,
    ORIGIN_CRITERIA,
    REDACTABLE_ITEM_FIELDS,
    REDACTABLE_TOP_LEVEL,
    SCHEMA,
    SCHEMES,
    ValidationIssue,
    validate_certificate,
)

SAMPLES = Path(__file__).resolve().parents[1] / "vectors" / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*.json"))
DELETE = object()
FLOATS_MESSAGE = "decimals must be strings, never floats"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def rcep() -> dict[str, Any]:
    return sample("rcep-vn-jp")


def atiga() -> dict[str, Any]:
    return sample("atiga-back-to-back-sg-id")


def nonpref() -> dict[str, Any]:
    return sample("non-preferential-ae-de")


def set_at(document: Any, pointer: str, value: object) -> None:
    """Set (or with DELETE remove) the value at a JSON Pointer whose parent exists."""
    *parents, last = pointer.split("/")[1:]
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value


def changed(base: Callable[[], dict[str, Any]], *changes: tuple[str, object]) -> dict[str, Any]:
    document = base()
    for pointer, value in changes:
        set_at(document, pointer, value)
    return document


def found(issues: tuple[ValidationIssue, ...]) -> list[tuple[str, str]]:
    return [(issue.path, issue.code) for issue in issues]


def pointers(value: Any, prefix: str = "") -> list[str]:
    """Every JSON Pointer inside ``value`` (not the root)."""
    out: list[str] = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        pointer = f"{prefix}/{key}"
        out.append(pointer)
        out.extend(pointers(child, pointer))
    return out


def sort_key(path: str) -> list[tuple[int, int, str]]:
    parts = [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]
    return [(0, int(part), "") if re.fullmatch("0|[1-9][0-9]{0,17}", part) else (1, 0, part) for part in parts]


def assert_well_formed(issues: object) -> None:
    assert isinstance(issues, tuple)
    for issue in issues:
        assert isinstance(issue, ValidationIssue)
        assert issue.path == "" or issue.path.startswith("/")
        assert issue.code and issue.message
    keys = [(sort_key(issue.path), issue.code) for issue in issues if issue.code != "issues.truncated"]
    assert keys == sorted(keys)


def deep_list(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


def deep_dict(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        child: dict[str, Any] = {}
        node["a"] = child
        node = child
    return root


# --- The samples and the examples ----------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.stem)
def test_samples_are_valid_as_given(path: Path) -> None:
    assert validate_certificate(json.loads(path.read_text(encoding="utf-8"))) == ()


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.stem)
def test_samples_pass_the_published_schema_with_a_stock_validator(path: Path) -> None:
    # Consumers that only have the schema (no ecoo) accept what ecoo accepts.
    assert list(Draft202012Validator(SCHEMA).iter_errors(json.loads(path.read_text(encoding="utf-8")))) == []


def test_there_are_three_samples() -> None:
    assert len(SAMPLE_FILES) == 3


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_has_a_valid_example(scheme: str) -> None:
    example = example_certificate(scheme)
    assert example["scheme"] == scheme
    assert validate_certificate(example) == ()


def test_examples_are_fresh_copies() -> None:
    first = example_certificate("ATIGA")
    first["items"][0]["hsCode"] = "000000"
    assert example_certificate("ATIGA")["items"][0]["hsCode"] != "000000"
    assert example_certificate()["scheme"] == "RCEP"
    assert set(EXAMPLE_SCHEMES) == set(SCHEMES)


def test_unknown_example_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="NON_PREFERENTIAL"):
        example_certificate("FORM_E")
    with pytest.raises(ValueError):
        example_certificate("rcep")


# --- The schema itself ---------------------------------------------------------------------------


def schema_nodes(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        out.append((path, node))
        for key, child in node.items():
            if key not in ("enum", "const", "required"):
                out.extend(schema_nodes(child, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            out.extend(schema_nodes(child, f"{path}/{index}"))
    return out


def test_schema_is_draft_2020_12_with_a_stable_id() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == "https://ecoo.dev/schema/certificate-of-origin/v1.json"


def test_every_object_is_closed_and_every_member_described() -> None:
    for path, node in schema_nodes(SCHEMA):
        if "properties" in node:
            assert node.get("additionalProperties") is False, path
            for member, child in node["properties"].items():
                assert child.get("description"), f"{path}/properties/{member}"


def test_every_string_array_and_integer_is_bounded() -> None:
    for path, node in schema_nodes(SCHEMA):
        types = node.get("type", [])
        types = [types] if isinstance(types, str) else types
        if ("string" in types or "pattern" in node) and not path.endswith("/if"):
            # A string is bounded where it is defined: by maxLength, an enum, or the referenced definition.
            assert "maxLength" in node or "enum" in node or "$ref" in node, path
        if "array" in types:
            assert "maxItems" in node, path
        if "integer" in types:
            assert "maximum" in node, path


def test_limits_asked_for_hostile_input() -> None:
    props = SCHEMA["properties"]
    item = SCHEMA["$defs"]["item"]["properties"]
    assert props["items"]["maxItems"] == 999
    assert props["transport"]["properties"]["transitCountries"]["maxItems"] == 20
    assert props["remarks"]["maxLength"] == 4000
    assert item["description"]["maxLength"] == 2000
    assert SCHEMA["$defs"]["partyFields"]["properties"]["name"]["maxLength"] == 512
    assert SCHEMA["$defs"]["partyFields"]["properties"]["address"]["maxLength"] == 512


def schema_fields(node: dict[str, Any], path: str = "") -> list[str]:
    """Every member's JSON Pointer in the schema, ``*`` for array elements, following ``$ref``."""
    out: list[str] = []
    if "$ref" in node:
        out.extend(schema_fields(SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]], path))
    for member, child in node.get("properties", {}).items():
        out.append(f"{path}/{member}")
        out.extend(schema_fields(child, f"{path}/{member}"))
    if isinstance(node.get("items"), dict):
        out.extend(schema_fields(node["items"], f"{path}/*"))
    return out


def test_docs_map_every_field() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "fields.md").read_text(encoding="utf-8")
    fields = schema_fields(SCHEMA)
    assert len(fields) > 100
    missing = [field for field in fields if f"`{field}`" not in docs]
    assert missing == []


def test_redactable_parts_agree_with_the_protocol() -> None:
    assert REDACTABLE_TOP_LEVEL == protocol.REDACTABLE_TOP_LEVEL
    assert REDACTABLE_ITEM_FIELDS == protocol.REDACTABLE_ITEM_FIELDS == ("fobValue", "invoice")
    for member in REDACTABLE_TOP_LEVEL:
        assert member in SCHEMA["properties"]
    for member in REDACTABLE_ITEM_FIELDS:
        assert member in SCHEMA["$defs"]["item"]["properties"]


def test_country_list_is_the_officially_assigned_iso_3166_1_set() -> None:
    assert len(ISO_3166_ALPHA2) == 249
    assert {"SG", "VN", "JP", "AE", "DE", "GB", "CW", "SS", "BQ", "AQ", "AX"} <= ISO_3166_ALPHA2
    assert not {"UK", "XK", "EU", "AN", "YU", "ZZ", "QQ"} & ISO_3166_ALPHA2


def test_origin_criteria_table() -> None:
    assert set(ORIGIN_CRITERIA) == set(SCHEMES)
    assert ORIGIN_CRITERIA["ATIGA"] == ("WO", "RVC", "CC", "CTH", "CTSH", "SP", "PC")
    assert ORIGIN_CRITERIA["RCEP"] == ("WO", "PE", "CTC", "RVC", "CR")
    assert ORIGIN_CRITERIA["GSP_A"] == ("P", "W", "F", "Y", "Pk")
    assert ORIGIN_CRITERIA["CPTPP"] == ("WO", "PE", "PSR")
    assert ORIGIN_CRITERIA["NON_PREFERENTIAL"] == ORIGIN_CRITERIA["EUR1"] == ()
    codes = SCHEMA["$defs"]["item"]["properties"]["originCriterion"]["properties"]["code"]["enum"]
    assert set(codes) == {code for table in ORIGIN_CRITERIA.values() for code in table}


# --- Each rule broken once: exactly one issue, exact path and code ---------------------------------

Base = Callable[[], dict[str, Any]]
Change = tuple[str, object]


def gsp() -> dict[str, Any]:
    return example_certificate("GSP_A")


def cptpp() -> dict[str, Any]:
    return example_certificate("CPTPP")


def eur1() -> dict[str, Any]:
    return example_certificate("EUR1")


def at(name: str, base: Base, pointer: str, value: object, code: str) -> Any:
    """A case whose single change is reported at the pointer it changed."""
    return pytest.param(base, [(pointer, value)], pointer, code, id=name)


def case(name: str, base: Base, changes: list[Change], path: str, code: str) -> Any:
    return pytest.param(base, changes, path, code, id=name)


ORIGINAL_REF = {"certificateNumber": "VN-RCEP-2026-778800", "issueDate": "2026-11-01"}
LATER_ORIGINAL = {"certificateNumber": "VN-RCEP-2026-778800", "issueDate": "2026-12-01"}
CASES = [
    # structure
    at("required member", rcep, "/certificateNumber", DELETE, "schema.required"),
    at("required in item", rcep, "/items/1/quantity", DELETE, "schema.required"),
    at("required in party", rcep, "/exporter/address", DELETE, "schema.required"),
    at("unknown top-level member", rcep, "/colour", "red", "schema.unknown_member"),
    at("unknown item member", rcep, "/items/0/hscode", "620520", "schema.unknown_member"),
    at("unknown nested member", atiga, "/flags/urgent", True, "schema.unknown_member"),
    at("wrong type", rcep, "/issuer/name", 7, "schema.type"),
    at("null where not nullable", rcep, "/exporter", None, "schema.type"),
    at("float item number", rcep, "/items/0/itemNumber", 1.0, "schema.type"),
    at("boolean item number", rcep, "/items/0/itemNumber", True, "schema.type"),
    at("string flag", atiga, "/flags/cumulation", "yes", "schema.type"),
    at("unknown scheme", nonpref, "/scheme", "FORM_E", "schema.enum"),
    at("unknown copy type", rcep, "/copyType", "COPY", "schema.enum"),
    at("unknown transport mode", rcep, "/transport/mode", "SHIP", "schema.enum"),
    at("consignee string", rcep, "/consignee", "TO ORDER", "schema.const"),
    at("producer string", rcep, "/producer", "ON REQUEST", "schema.const"),
    at("no items", rcep, "/items", [], "schema.min_items"),
    at("21 transit countries", rcep, "/transport/transitCountries", ["SG"] * 21, "schema.max_items"),
    at("description too long", rcep, "/items/0/description", "x" * 2001, "schema.max_length"),
    at("remarks too long", rcep, "/remarks", "x" * 4001, "schema.max_length"),
    at("name too long", rcep, "/consignee/name", "x" * 513, "schema.max_length"),
    at("empty officer", rcep, "/certification/officer", "", "schema.min_length"),
    at("no packages", rcep, "/items/0/packageCount", 0, "schema.minimum"),
    at("too many packages", rcep, "/items/0/packageCount", 10**8, "schema.maximum"),
    at("identifier scheme", rcep, "/exporter/identifier/scheme", "tax id", "schema.pattern"),
    # formats
    at("HS too short", rcep, "/items/0/hsCode", "6205", "hs.format"),
    at("HS with a letter", rcep, "/items/0/hsCode", "62052O", "hs.format"),
    at("HS with a dot", rcep, "/items/0/hsCode", "6205.20", "hs.format"),
    at("HS with a newline", rcep, "/items/0/hsCode", "620520\n", "hs.format"),
    at("HS as a number", rcep, "/items/0/hsCode", 620520, "schema.type"),
    at("national code too short", rcep, "/items/0/nationalTariffCode", "62052", "hs.national_format"),
    at("national code too long", rcep, "/items/0/nationalTariffCode", "6205200000000", "hs.national_format"),
    at("national code of another subheading", rcep, "/items/0/nationalTariffCode", "61052010", "hs.national_mismatch"),
    at("lowercase country", rcep, "/importCountry", "jp", "country.format"),
    at("three-letter country", rcep, "/consignee/country", "JPN", "country.format"),
    at("unassigned country", rcep, "/importCountry", "XX", "country.unknown"),
    at("UK is not GB", rcep, "/consignee/country", "UK", "country.unknown"),
    at("unknown origin country", rcep, "/items/1/originCountry", "ZZ", "country.unknown"),
    case(
        "unknown transit country",
        rcep,
        [("/transport/transitCountries", ["SG", "QQ"])],
        "/transport/transitCountries/1",
        "country.unknown",
    ),
    at("unknown invoicing country", atiga, "/thirdPartyInvoicing/invoicingParty/country", "XK", "country.unknown"),
    at("LOCODE with a 1", rcep, "/transport/portOfLoading", "VNSG1", "locode.format"),
    at("LOCODE lowercase", rcep, "/transport/portOfDischarge", "jposa", "locode.format"),
    at("LOCODE of no country", rcep, "/transport/portOfLoading", "XXSGN", "locode.country_unknown"),
    at("unit lowercase", rcep, "/items/0/quantity/unit", "pce", "unit.format"),
    at("unit too long", rcep, "/items/0/grossWeight/unit", "KGMS", "unit.format"),
    at("package code of 3", rcep, "/items/0/packageType", "CTN", "package.format"),
    at("currency lowercase", rcep, "/items/0/fobValue/currency", "usd", "currency.format"),
    at("currency symbol", rcep, "/items/0/fobValue/currency", "US$", "currency.format"),
    at("decimal with a comma", rcep, "/items/0/fobValue/amount", "52,800.00", "decimal.format"),
    at("negative decimal", rcep, "/items/0/quantity/value", "-5", "decimal.format"),
    at("decimal exponent", rcep, "/items/0/quantity/value", "1e3", "decimal.format"),
    at("decimal leading zero", rcep, "/items/0/quantity/value", "01", "decimal.format"),
    at("decimal newline", rcep, "/items/0/quantity/value", "12\n", "decimal.format"),
    at("float weight", nonpref, "/items/0/grossWeight/value", 8450.5, "decimal.not_string"),
    at("integer amount", nonpref, "/items/0/fobValue/amount", 96000, "decimal.not_string"),
    at("float percentage", rcep, "/items/1/originCriterion/rvcPercent", 46.0, "decimal.not_string"),
    at("month 13", rcep, "/issueDate", "2026-13-20", "date.invalid"),
    at("30 February", rcep, "/transport/departureDate", "2026-02-30", "date.invalid"),
    at("day-first date", rcep, "/items/0/invoice/date", "18/11/2026", "date.format"),
    at("date with a time", rcep, "/exporterDeclaration/date", "2026-11-19T10:00:00", "date.format"),
    at("unpadded date", rcep, "/validUntil", "2027-1-2", "date.format"),
    at("number with a space", rcep, "/certificateNumber", "VN RCEP 1", "certificate_number.format"),
    at("empty number", rcep, "/certificateNumber", "", "certificate_number.format"),
    at("signing address", rcep, "/issuer/signingAddress", "0x1234", "address.format"),
    case(
        "leaf uppercase",
        rcep,
        [("/replaces", {"certificateNumber": "VN-RCEP-2026-778811", "reason": "HS code corrected", "leaf": "0x" + "AB" * 32})],
        "/replaces/leaf",
        "leaf.format",
    ),
    # rules
    at("validity ends on issue", rcep, "/validUntil", "2026-11-20", "validity.not_after_issue"),
    at("validity before issue", rcep, "/validUntil", "2025-11-20", "validity.not_after_issue"),
    at("certified before declared", rcep, "/certification/date", "2026-11-18", "certification.before_declaration"),
    at("duplicate item number", rcep, "/items/1/itemNumber", 1, "items.duplicate_number"),
    at("gap in item numbers", rcep, "/items/1/itemNumber", 3, "items.numbering"),
    at("RCEP has no CTH", rcep, "/items/0/originCriterion/code", "CTH", "origin.criterion_not_allowed"),
    case(
        "ATIGA has no CTC",
        atiga,
        [("/items/0/originCriterion", {"code": "CTC"})],
        "/items/0/originCriterion/code",
        "origin.criterion_not_allowed",
    ),
    at("GSP Form A has no WO", gsp, "/items/0/originCriterion/code", "WO", "origin.criterion_not_allowed"),
    at("Pk is case-sensitive", gsp, "/items/0/originCriterion/code", "PK", "origin.criterion_not_allowed"),
    at("CPTPP has no CTC", cptpp, "/items/1/originCriterion/code", "CTC", "origin.criterion_not_allowed"),
    at("non-preferential with a criterion", nonpref, "/items/1/originCriterion", {"code": "WO"}, "origin.criterion_not_allowed"),
    at("EUR.1 with a criterion", eur1, "/items/0/originCriterion", {"code": "P"}, "origin.criterion_not_allowed"),
    at("preferential criterion null", rcep, "/items/0/originCriterion", None, "origin.criterion_missing"),
    at("preferential criterion absent", atiga, "/items/0/originCriterion", DELETE, "origin.criterion_missing"),
    at("RVC without a percentage", rcep, "/items/1/originCriterion/rvcPercent", DELETE, "rvc.percent_missing"),
    at("RVC of 0 %", rcep, "/items/1/originCriterion/rvcPercent", "0", "rvc.percent_range"),
    at("RVC over 100 %", atiga, "/items/0/originCriterion/rvcPercent", "100.5", "rvc.percent_range"),
    at("RVC without FOB", rcep, "/items/1/fobValue", DELETE, "rvc.fob_missing"),
    at("RVC with FOB null", atiga, "/items/0/fobValue", None, "rvc.fob_missing"),
    at("percentage without RVC", rcep, "/items/0/originCriterion/rvcPercent", "40", "rvc.percent_unexpected"),
    at("exported from another country than the issuer's", rcep, "/exportCountry", "TH", "issuer.country_mismatch"),
    at("imported into the export country", nonpref, "/importCountry", "AE", "countries.same"),
    at("back-to-back from the same country", atiga, "/backToBack/originalIssuingCountry", "SG", "back_to_back.same_country"),
    at("back-to-back original issued later", atiga, "/backToBack/originalIssueDate", "2026-11-25", "back_to_back.date_order"),
    case("duplicate without its original", rcep, [("/copyType", "DUPLICATE")], "/copyOf", "copy.original_missing"),
    case(
        "certified true copy, copyOf absent",
        nonpref,
        [("/copyType", "CERTIFIED_TRUE_COPY"), ("/copyOf", DELETE)],
        "/copyOf",
        "copy.original_missing",
    ),
    at("original that names an original", rcep, "/copyOf", ORIGINAL_REF, "copy.unexpected"),
    case(
        "copy older than its original",
        rcep,
        [("/copyType", "DUPLICATE"), ("/copyOf", LATER_ORIGINAL)],
        "/copyOf/issueDate",
        "copy.date_order",
    ),
    case(
        "replaces itself",
        rcep,
        [("/replaces", {"certificateNumber": "VN-RCEP-2026-778812", "reason": "typo"})],
        "/replaces/certificateNumber",
        "replaces.self",
    ),
    case(
        "replacement without a reason",
        rcep,
        [("/replaces", {"certificateNumber": "VN-RCEP-2026-778811"})],
        "/replaces/reason",
        "schema.required",
    ),
]


@pytest.mark.parametrize(("base", "changes", "path", "code"), CASES)
def test_each_rule_broken_once_gives_exactly_one_issue(base: Base, changes: list[Change], path: str, code: str) -> None:
    issues = validate_certificate(changed(base, *changes))
    assert found(issues) == [(path, code)], [issue.message for issue in issues]
    assert issues[0].message.startswith(("expected", FLOATS_MESSAGE))


def test_every_domain_code_has_a_case() -> None:
    codes = {case.values[3] for case in CASES}
    assert {
        "hs.format",
        "hs.national_format",
        "hs.national_mismatch",
        "country.format",
        "country.unknown",
        "locode.format",
        "locode.country_unknown",
        "unit.format",
        "package.format",
        "currency.format",
        "decimal.format",
        "decimal.not_string",
        "date.format",
        "date.invalid",
        "leaf.format",
        "certificate_number.format",
        "address.format",
        "validity.not_after_issue",
        "certification.before_declaration",
        "items.duplicate_number",
        "items.numbering",
        "origin.criterion_not_allowed",
        "origin.criterion_missing",
        "rvc.percent_missing",
        "rvc.percent_range",
        "rvc.fob_missing",
        "rvc.percent_unexpected",
        "issuer.country_mismatch",
        "countries.same",
        "back_to_back.same_country",
        "back_to_back.date_order",
        "copy.original_missing",
        "copy.unexpected",
        "copy.date_order",
        "replaces.self",
    } <= codes


def test_messages_say_what_was_expected_and_what_was_found() -> None:
    (issue,) = validate_certificate(changed(rcep, ("/items/0/hsCode", "6205")))
    assert issue == ValidationIssue("/items/0/hsCode", "hs.format", "expected a 6-digit HS subheading, got '6205'")
    (issue,) = validate_certificate(changed(rcep, ("/items/0/originCriterion/code", "CTH")))
    assert issue.message == "expected one of WO, PE, CTC, RVC, CR for RCEP, got 'CTH'"
    (issue,) = validate_certificate(changed(rcep, ("/items/0/hscode", "620520")))
    assert "did you mean 'hsCode'" in issue.message
    (issue,) = validate_certificate(changed(nonpref, ("/items/0/quantity/value", 1200.0)))
    assert issue.message.startswith(FLOATS_MESSAGE) and "1200.0" in issue.message


@pytest.mark.parametrize(
    "build",
    [
        lambda: changed(rcep, ("/consignee", "TO_ORDER")),
        lambda: changed(rcep, ("/producer", "AVAILABLE_ON_REQUEST")),
        lambda: changed(rcep, ("/producer", None), ("/importer", None), ("/transport", None), ("/remarks", None)),
        lambda: changed(rcep, ("/producer", DELETE), ("/flags", DELETE), ("/copyOf", DELETE), ("/validUntil", None)),
        lambda: changed(rcep, ("/items/1/originCriterion/rvcPercent", "100")),
        lambda: changed(rcep, ("/items/1/originCriterion/rvcPercent", "0.000001")),
        lambda: changed(rcep, ("/items/0/nationalTariffCode", "620520900000")),
        lambda: changed(rcep, ("/items/0/quantity/unit", "C62")),
        lambda: changed(rcep, ("/certification/date", "2026-11-19")),
        lambda: changed(
            rcep,
            ("/copyType", "DUPLICATE"),
            ("/copyOf", {"certificateNumber": "VN-RCEP-2026-778800", "issueDate": "2026-11-20", "leaf": "0x" + "ab" * 32}),
        ),
        lambda: changed(
            rcep, ("/replaces", {"certificateNumber": "VN-RCEP-2026-778811", "reason": "HS code corrected", "leaf": None})
        ),
        lambda: changed(rcep, ("/issuer/signingAddress", "0x52908400098527886E0F7030069857D2E4169EE7")),
        lambda: changed(rcep, ("/transport/transitCountries", ["SG"] * 20)),
        lambda: changed(rcep, ("/items/0/description", "x" * 2000)),
        lambda: changed(nonpref, ("/items/0/originCriterion", DELETE)),
        lambda: changed(rcep, ("/issueDate", "2028-02-29"), ("/validUntil", "2029-02-28"), ("/certification/date", "2028-02-29")),
    ],
    ids=[
        "to order",
        "producer on request",
        "nullables null",
        "optionals absent",
        "RVC 100 %",
        "RVC tiny",
        "national code of 12",
        "unit C62",
        "certified on declaration day",
        "duplicate with original",
        "replacement",
        "checksummed signing address",
        "20 transit countries",
        "description of 2000",
        "non-preferential criterion absent",
        "leap day",
    ],
)
def test_valid_variants(build: Callable[[], dict[str, Any]]) -> None:
    assert validate_certificate(build()) == ()


def test_ten_errors_give_ten_issues_sorted_by_path() -> None:
    document = changed(
        rcep,
        ("/certificateNumber", "VN RCEP"),
        ("/importCountry", "XX"),
        ("/validUntil", "2026-02-30"),
        ("/issuer/name", None),
        ("/transport/portOfLoading", "VNSG1"),
        ("/items/0/hsCode", "6205"),
        ("/items/0/quantity/value", 4800.0),
        ("/items/1/fobValue", DELETE),
        ("/items/1/itemNumber", 1),
        ("/certification/date", "2026-11-18"),
    )
    assert found(validate_certificate(document)) == [
        ("/certificateNumber", "certificate_number.format"),
        ("/certification/date", "certification.before_declaration"),
        ("/importCountry", "country.unknown"),
        ("/issuer/name", "schema.type"),
        ("/items/0/hsCode", "hs.format"),
        ("/items/0/quantity/value", "decimal.not_string"),
        ("/items/1/fobValue", "rvc.fob_missing"),
        ("/items/1/itemNumber", "items.duplicate_number"),
        ("/transport/portOfLoading", "locode.format"),
        ("/validUntil", "date.invalid"),
    ]


def test_array_indices_sort_numerically() -> None:
    document = rcep()
    document["items"] = [dict(copy.deepcopy(document["items"][0]), itemNumber=n + 1) for n in range(12)]
    document["items"][10]["hsCode"] = "1"
    document["items"][2]["hsCode"] = "2"
    assert found(validate_certificate(document)) == [("/items/2/hsCode", "hs.format"), ("/items/10/hsCode", "hs.format")]


def test_json_pointer_escapes_member_names() -> None:
    document = rcep()
    document["a/b~c"] = 1
    assert found(validate_certificate(document)) == [("/a~1b~0c", "schema.unknown_member")]


def test_issue_as_json() -> None:
    (issue,) = validate_certificate(changed(rcep, ("/items/0/hsCode", "6205")))
    message = "expected a 6-digit HS subheading, got '6205'"
    assert issue.to_json() == {"path": "/items/0/hsCode", "code": "hs.format", "message": message}
    assert json.loads(json.dumps(issue.to_json())) == issue.to_json()


def test_validators_are_built_on_first_use_not_at_import() -> None:
    # Importing ecoo.validation compiles nothing; a valid certificate needs only the fast validator,
    # so jsonschema is loaded only once a document fails the fast check.
    script = """
import sys
import ecoo.validation as validation
from ecoo.examples import example_certificate
loaded = lambda: [name for name in ("fastjsonschema", "jsonschema") if name in sys.modules]
print(loaded())
assert validation.validate_certificate(example_certificate("RCEP")) == ()
print(loaded())
assert validation.validate_certificate({})
print(loaded())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split("\n")[:3] == ["[]", "['fastjsonschema']", "['fastjsonschema', 'jsonschema']"]


# --- Wrong types, wrong roots, hostile sizes -------------------------------------------------------

ALWAYS_INVALID: list[object] = [[[["x"]]], {"unexpected": 1}, 12.5]


@pytest.mark.parametrize("name", ["rcep-vn-jp", "atiga-back-to-back-sg-id", "non-preferential-ae-de"])
@pytest.mark.parametrize("bad", ALWAYS_INVALID, ids=["nested list", "object", "float"])
def test_wrong_type_at_every_position_is_reported_there(name: str, bad: object) -> None:
    for pointer in pointers(sample(name)):
        document = sample(name)
        set_at(document, pointer, copy.deepcopy(bad))
        issues = validate_certificate(document)
        assert_well_formed(issues)
        assert any(issue.path == pointer or issue.path.startswith(pointer + "/") for issue in issues), (pointer, found(issues))


@pytest.mark.parametrize("root", [None, [], ["x"], "certificate", "", 0, -1, 1.5, math.nan, True, False], ids=repr)
def test_non_object_root(root: object) -> None:
    assert found(validate_certificate(root)) == [("", "schema.type")]


def test_list_of_certificates_is_not_a_certificate() -> None:
    (issue,) = validate_certificate([rcep()])
    assert issue == ValidationIssue("", "schema.type", "expected object, got array")


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_nesting_does_not_crash(depth: int) -> None:
    assert found(validate_certificate(deep_list(depth))) == [("", "schema.type")]
    assert found(validate_certificate(changed(rcep, ("/remarks", deep_list(depth))))) == [("/remarks", "schema.type")]
    assert found(validate_certificate(changed(rcep, ("/exporter", deep_dict(depth))))) == [
        ("/exporter/a", "schema.unknown_member"),
        ("/exporter/address", "schema.required"),
        ("/exporter/country", "schema.required"),
        ("/exporter/name", "schema.required"),
    ]
    assert found(validate_certificate(changed(rcep, ("/items/0/quantity/value", deep_list(depth))))) == [
        ("/items/0/quantity/value", "schema.type")
    ]
    unknown = changed(rcep, ("/extra", deep_dict(depth)))
    assert found(validate_certificate(unknown)) == [("/extra", "schema.unknown_member")]


def test_five_megabyte_strings_do_not_crash() -> None:
    huge = "A" * (5 * 1024 * 1024)
    issues = validate_certificate(
        changed(rcep, ("/items/0/description", huge), ("/items/1/hsCode", huge), ("/certificateNumber", huge))
    )
    assert found(issues) == [
        ("/certificateNumber", "certificate_number.format"),
        ("/items/0/description", "schema.max_length"),
        ("/items/1/hsCode", "hs.format"),
    ]
    assert all(len(issue.message) < 300 for issue in issues)
    assert found(validate_certificate(huge)) == [("", "schema.type")]
    (issue,) = validate_certificate(changed(rcep, (f"/{huge}", 1)))
    assert issue.code == "schema.unknown_member" and len(issue.message) < 300
    (issue,) = validate_certificate(rcep(), withheld=frozenset({huge}))
    assert issue.code == "withheld.not_redactable" and len(issue.message) < 1000


def test_huge_integers_do_not_crash() -> None:
    issues = validate_certificate(changed(rcep, ("/items/0/packageCount", 10**5000), ("/issuer/name", -(10**5000))))
    assert found(issues) == [("/issuer/name", "schema.type"), ("/items/0/packageCount", "schema.maximum")]
    assert "digits" in issues[1].message
    (issue,) = validate_certificate(changed(rcep, ("/items/0/itemNumber", -(10**5000))))
    assert (issue.path, issue.code) == ("/items/0/itemNumber", "schema.minimum")


def test_long_arrays_are_reported_without_checking_every_element() -> None:
    item = rcep()["items"][0]
    issues = validate_certificate(changed(rcep, ("/items", [item] * 50_000)))
    assert ("/items", "schema.max_items") in found(issues)
    assert "got 50000" in dict((i.code, i.message) for i in issues)["schema.max_items"]
    assert_well_formed(issues)


def test_issue_count_is_capped() -> None:
    document = rcep()
    document.update({f"extra{n}": n for n in range(MAX_ISSUES + 50)})
    issues = validate_certificate(document)
    assert issues[0].code == "issues.truncated"
    assert len(issues) == MAX_ISSUES + 1
    assert_well_formed(issues)


class Color(enum.StrEnum):
    SEA = "SEA"


class Level(enum.IntEnum):
    ONE = 1


class Hostile:
    def __repr__(self) -> str:
        raise RuntimeError("repr")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    __hash__ = object.__hash__


class LoudDict(dict[str, Any]):
    def items(self) -> Any:
        raise RuntimeError("items")


@pytest.mark.parametrize(
    "value",
    [
        (1, 2),
        {"SG"},
        b"SG",
        bytearray(b"x"),
        object(),
        Hostile(),
        math.inf,
        -math.inf,
        math.nan,
        10**400,
        Color.SEA,
        Level.ONE,
        LoudDict(a=1),
        {1: "x"},
        {None: 1},
        {(1, 2): 1},
    ],
    ids=lambda v: type(v).__name__,
)
def test_values_that_are_not_json_do_not_crash(value: object) -> None:
    for pointer in ["/transport/mode", "/items/0/itemNumber", "/exporter", "/items/0/quantity/value", "/remarks", "/items"]:
        issues = validate_certificate(changed(rcep, (pointer, value)))
        assert_well_formed(issues)
    assert_well_formed(validate_certificate(value))


def test_string_and_int_subclasses_count_as_their_json_values() -> None:
    assert validate_certificate(changed(rcep, ("/transport/mode", Color.SEA), ("/items/0/itemNumber", Level.ONE))) == ()


# --- Withheld parts ----------------------------------------------------------------------------------


def test_withheld_required_parts_are_not_missing() -> None:
    document = changed(rcep, ("/exporter", DELETE), ("/consignee", DELETE))
    assert found(validate_certificate(document)) == [("/consignee", "schema.required"), ("/exporter", "schema.required")]
    assert validate_certificate(document, withheld=frozenset({"/exporter", "/consignee"})) == ()


def test_withheld_fob_value_skips_the_rvc_rule_for_that_item_only() -> None:
    document = changed(rcep, ("/items/1/fobValue", DELETE))
    assert found(validate_certificate(document)) == [("/items/1/fobValue", "rvc.fob_missing")]
    assert validate_certificate(document, withheld=frozenset({"/items/1/fobValue"})) == ()
    assert found(validate_certificate(document, withheld=frozenset({"/items/0/fobValue"}))) == [
        ("/items/0/fobValue", "withheld.present"),
        ("/items/1/fobValue", "rvc.fob_missing"),
    ]


def test_everything_redactable_withheld_at_once() -> None:
    for name in ["rcep-vn-jp", "atiga-back-to-back-sg-id", "non-preferential-ae-de"]:
        document = sample(name)
        withheld = {f"/{member}" for member in REDACTABLE_TOP_LEVEL}
        for member in REDACTABLE_TOP_LEVEL:
            document.pop(member, None)
        for index, item in enumerate(document["items"]):
            for member in REDACTABLE_ITEM_FIELDS:
                item.pop(member)
                withheld.add(f"/items/{index}/{member}")
        assert validate_certificate(document, withheld=frozenset(withheld)) == (), name


def test_withheld_declaration_skips_the_date_order_rule() -> None:
    document = changed(rcep, ("/exporterDeclaration", DELETE), ("/certification/date", "2026-11-01"))
    assert validate_certificate(document, withheld=frozenset({"/exporterDeclaration"})) == ()


@pytest.mark.parametrize(
    ("withheld", "path", "code"),
    [
        ("/remarks", "/remarks", "withheld.present"),
        ("/items/0/invoice", "/items/0/invoice", "withheld.present"),
        ("/issuer", "/issuer", "withheld.not_redactable"),
        ("/items/0/hsCode", "/items/0/hsCode", "withheld.not_redactable"),
        ("/items/2/invoice", "/items/2/invoice", "withheld.not_redactable"),
        ("/items/01/invoice", "/items/01/invoice", "withheld.not_redactable"),
        ("exporter", "", "withheld.not_redactable"),
        ("", "", "withheld.not_redactable"),
    ],
)
def test_withheld_pointers_must_name_absent_redactable_parts(withheld: str, path: str, code: str) -> None:
    issues = validate_certificate(rcep(), withheld=frozenset({withheld}))
    assert found(issues) == [(path, code)]
    assert issues[0].message.startswith("expected")


def test_withheld_entries_that_are_not_strings() -> None:
    issues = validate_certificate(rcep(), withheld=frozenset({1, None}))  # type: ignore[arg-type]
    assert found(issues) == [("", "withheld.not_redactable")] * 2


def test_withheld_on_a_non_object_root_reports_the_root_only() -> None:
    assert found(validate_certificate([], withheld=frozenset({"/exporter", "/x"}))) == [("", "schema.type")]


# --- Random input never makes the validator raise ----------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
SAMPLE_POINTERS = {name: pointers(sample(name)) for name in ["rcep-vn-jp", "atiga-back-to-back-sg-id", "non-preferential-ae-de"]}


@settings(deadline=None)  # examples: the Hypothesis profile (tests/conftest.py)
@given(json_values)
def test_random_json_never_raises(value: object) -> None:
    assert_well_formed(validate_certificate(value))


@settings(deadline=None)  # examples: the Hypothesis profile (tests/conftest.py)
@given(st.sampled_from(sorted(SAMPLE_POINTERS)), st.data())
def test_random_changes_to_a_sample_never_raise(name: str, data: st.DataObject) -> None:
    document = sample(name)
    for pointer in data.draw(st.lists(st.sampled_from(SAMPLE_POINTERS[name]), min_size=1, max_size=4)):
        try:
            set_at(document, pointer, data.draw(json_values | st.sampled_from([DELETE, "", "XX", "RVC", "2026-02-29", "0"])))
        except (KeyError, IndexError, TypeError, ValueError):
            pass  # an earlier change removed or replaced the parent
    withheld = data.draw(st.frozensets(st.sampled_from(["/exporter", "/items/0/fobValue", "/items/1/invoice", "/x"]) | st.text()))
    assert_well_formed(validate_certificate(document, withheld=withheld))
