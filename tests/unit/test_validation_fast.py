"""The fast validator (fastjsonschema) may only accept what the full validator (jsonschema)
accepts: a differential test over mutated certificates."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ecoo.validation import validate_certificate
from ecoo.validation.cleaning import plain_json
from ecoo.validation.engine import schema_accepts_fast, schema_issues

SAMPLES = [json.loads(p.read_text()) for p in sorted((Path(__file__).resolve().parents[1] / "vectors" / "samples").glob("*.json"))]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*prefix, index))
    return out


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "620520\n",
            "2026-02-30",
            "2026-13-01",
            "VN",
            "XX",
            "vn",
            "",
            " ",
            "1.5",
            "-1",
            "CTC",
            "RVC",
            "PCE",
            "ct",
            "0x" + "ab" * 32,
            "ORIGINAL",
            "TO_ORDER",
        ]
    ),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _slow_schema_issues(document: Any) -> list[Any]:
    return list(schema_issues(plain_json(document), frozenset()))


@settings(deadline=None)  # examples: the Hypothesis profile (tests/conftest.py)
@given(st.data())
def test_fast_validator_never_accepts_what_the_full_one_rejects(data: st.DataObject) -> None:
    document = copy.deepcopy(data.draw(st.sampled_from(SAMPLES)))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(document)))
        if not path:
            continue
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["set", "delete", "add"]))
        if action == "set":
            parent[path[-1]] = data.draw(values)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(min_size=1, max_size=6))] = data.draw(values)
    if schema_accepts_fast(plain_json(document)):
        assert _slow_schema_issues(document) == [], document


def test_fast_path_is_used_for_valid_certificates() -> None:
    for sample in SAMPLES:
        assert schema_accepts_fast(plain_json(sample))
        assert validate_certificate(sample) == ()
