"""The one bounded JSON reader (ecoo.files.parse_json) that every input goes through: CLI files,
API bodies, page uploads and pasted text, a PDF's embedded document. Hostile input is one
InputError line, never a crash; honest JSON reads as before."""

from __future__ import annotations

import pytest

from ecoo.errors import InputError
from ecoo.files import MAX_DEPTH, nesting_depth_exceeds, parse_json


def _nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


def _objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _refused(text: str | bytes) -> str:
    with pytest.raises(InputError) as info:
        parse_json(text, "input.json")
    message = str(info.value)
    assert message.startswith("input.json: ") and "\n" not in message
    return message


@pytest.mark.parametrize("make", [_nested, _objects], ids=["arrays", "objects"])
def test_depth_64_is_read_and_65_is_refused(make: object) -> None:
    assert MAX_DEPTH == 64
    assert parse_json(make(64), "input.json") is not None  # type: ignore[operator]
    assert "nested deeper than 64 levels" in _refused(make(65))  # type: ignore[operator]


def test_depth_is_refused_before_the_parser_recurses() -> None:
    # 70,000 levels overflow the C stack once web3 has raised the recursion limit; refused unparsed.
    assert "nested deeper than 64" in _refused(_nested(70_000))
    assert "nested deeper than 64" in _refused(b"[" * 70_000)  # unclosed, as a truncated upload
    assert "nested deeper than 64" in _refused('{"a":' * 70_000)


def test_brackets_inside_strings_are_not_counted() -> None:
    deep_text = "[" * 1000 + "{" * 1000
    assert parse_json(f'{{"a": "{deep_text}"}}', "input.json") == {"a": deep_text}
    assert not nesting_depth_exceeds(f'["{deep_text}"]')


def test_escaped_quotes_do_not_end_a_string() -> None:
    text = '["\\"[[[[", "\\\\", "]]]]\\"]"]'
    assert parse_json(text, "input.json") == ['"[[[[', "\\", ']]]]"]']
    assert not nesting_depth_exceeds('["\\"' + "[" * 100 + '"]')
    # An escaped backslash before the closing quote ends the string: the brackets after it count.
    assert nesting_depth_exceeds('["\\\\"' + "," + "[" * 100)


def test_unterminated_strings_and_trailing_backslashes_are_scanned_in_linear_time() -> None:
    assert not nesting_depth_exceeds('["' + '\\"' * 200_000)
    assert not nesting_depth_exceeds('["abc\\')
    assert "not valid JSON" in _refused('["' + '\\"' * 200_000)


@pytest.mark.slow
def test_ten_megabytes_complete() -> None:
    """No timing assert: the scan is linear, so these finish (a few seconds in all when written)."""
    size = 10 * 1024 * 1024
    assert not nesting_depth_exceeds("[]" * (size // 2))
    assert not nesting_depth_exceeds('"' + '\\"' * (size // 2 - 1) + '"')
    many = "[" + ",".join(['{"k": "v\\"[{"}'] * (size // 16)) + "]"
    assert len(parse_json(many, "input.json")) == size // 16
    assert "over the 10 MB limit" in _refused(" " * (size + 1))


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('"\\ud800"', "(the top level)"),
        ('{"a": ["ok", "x\\udfffy"]}', "/a/1"),
        ('{"a": {"b\\ud800": 1}}', "a key in /a"),
        ('{"a/b": {"c~d": "\\udc00"}}', "/a~1b/c~0d"),
        ('["\\ude00\\ud83d"]', "/0"),  # a low surrogate before a high one is no pair
    ],
)
def test_lone_surrogates_are_refused_with_where(text: str, where: str) -> None:
    message = _refused(text)
    assert "lone UTF-16 surrogate" in message and message.split(" at ", 1)[1].startswith(where)


def test_surrogate_pairs_are_one_character() -> None:
    assert parse_json('["\\ud83d\\udea2"]', "input.json") == ["\U0001f6a2"]


def test_integers_are_bounded() -> None:
    assert parse_json("[" + "9" * 1000 + ", -" + "9" * 1000 + "]", "input.json") == [10**1000 - 1, -(10**1000 - 1)]
    assert "1001 digits (at most 1000)" in _refused("[" + "9" * 1001 + "]")
    assert "1001 digits" in _refused("[-" + "9" * 1001 + "]")
    assert "not acceptable JSON: an integer of 5000 digits" in _refused("9" * 5000)
    assert "1000000 digits" in _refused("[" + "1" * 1_000_000 + "]")  # never converted
    assert "too large" in _refused("[1e400]")
    assert parse_json("[1e300, -0.5, 0]", "input.json") == [1e300, -0.5, 0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"a": NaN}', "NaN is not valid JSON"),
        (b"[Infinity]", "Infinity is not valid JSON"),
        (b"\xff\xfe[\x001\x00]\x00", "not UTF-8 text"),  # UTF-16: RFC 8259 says UTF-8
        (b'["\xed\xa0\x80"]', "not UTF-8 text"),  # a surrogate encoded in UTF-8 bytes
        (b"{", "not valid JSON (line 1, column 2"),
    ],
)
def test_strictness(text: bytes, message: str) -> None:
    assert message in _refused(text)


def test_a_utf8_bom_is_tolerated() -> None:
    assert parse_json(b"\xef\xbb\xbf[1]", "input.json") == [1]


def test_a_limit_of_its_own() -> None:
    assert parse_json(b"[1]", "input.json", limit=3) == [1]
    with pytest.raises(InputError, match="over the"):
        parse_json(b"[1] ", "input.json", limit=3)


@pytest.mark.parametrize(
    ("text", "deeper"),
    [
        ("[" * 65, True),  # unclosed
        ("[" + "[" * 64 + "]" * 64, True),  # the outer one unclosed
        ("[" * 64 + "]" * 64 + "]" * 10, False),  # stray closers
        ("]" + "[" * 65, False),  # the parser stops at the first ']'
        ("[" * 64 + "]" * 64 + "[" * 65, True),
        ("{" * 40 + "[" * 25 + "}" * 65, True),  # mismatched kinds still nest
        ('[{"a": [], "b": {}}, [[], [[]]]]', False),
    ],
)
def test_depth_of_unbalanced_and_mixed_text(text: str, deeper: bool) -> None:
    assert nesting_depth_exceeds(text) is deeper
