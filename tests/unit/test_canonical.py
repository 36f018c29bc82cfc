"""RFC 8785 canonical JSON: the RFC's own examples, and agreement with an independent
implementation (the `rfc8785` package) on arbitrary JSON values."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ecoo.canonical import CanonicalizationError, canonicalize

RFC_EXAMPLE_IN = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC_EXAMPLE_OUT = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'

RFC_SORTING_IN = r"""{
  "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"
}"""


def test_rfc8785_section_3_2_4_example() -> None:
    assert canonicalize(json.loads(RFC_EXAMPLE_IN)).decode() == RFC_EXAMPLE_OUT


def test_rfc8785_sorting_by_utf16_code_units() -> None:
    keys = list(json.loads(canonicalize(json.loads(RFC_SORTING_IN))))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_key_order_and_whitespace_never_matter() -> None:
    a = json.loads('{"b": [1, {"y": "2", "x": null}], "a": true}')
    b = json.loads('{ "a" :true,"b":[ 1 , { "x":null , "y":"2" } ] }')
    assert canonicalize(a) == canonicalize(b) == b'{"a":true,"b":[1,{"x":null,"y":"2"}]}'


@pytest.mark.parametrize(
    "bad",
    [float("nan"), float("inf"), 2**53 + 1, {1: "x"}, "\ud800", {"k": object()}, b"bytes"],
    ids=["nan", "inf", "big-int", "int-key", "lone-surrogate", "object", "bytes"],
)
def test_values_without_a_canonical_form_are_refused(bad: object) -> None:
    with pytest.raises(CanonicalizationError):
        canonicalize(bad)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    value: object = "x"
    for _ in range(200):
        value = [value]
    with pytest.raises(CanonicalizationError, match="nesting"):
        canonicalize(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=30,
)


@settings(deadline=None)  # examples: the Hypothesis profile (tests/conftest.py)
@given(json_values)
def test_agrees_with_an_independent_implementation(value: object) -> None:
    try:
        expected = rfc8785.dumps(value)
    except Exception:  # noqa: BLE001 - e.g. lone surrogates: then ours must refuse too
        with pytest.raises(CanonicalizationError):
            canonicalize(value)
        return
    assert canonicalize(value) == expected
