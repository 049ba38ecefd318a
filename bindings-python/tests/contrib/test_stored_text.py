"""The reading of a stored session's text (``connect_dynamodb.contrib._stored_text.parse``): the
native reader gives exactly what Python's ``json`` gives, values, types, key order and spans, and
leaves to ``json`` every text it does not read, so the errors stay ``json``'s."""

from __future__ import annotations

import json
import random
from json.scanner import make_scanner
from typing import Any

import pytest
from connect_dynamodb._native import _json_members
from connect_dynamodb.contrib._stored_text import parse

SCAN = make_scanner(json.JSONDecoder())


def _typed(value: Any) -> Any:
    """``value`` with the type of every part spelled out and the order of every dict kept (floats
    by ``repr``, so -0.0 and 0.0 differ)."""
    if isinstance(value, dict):
        return ("dict", [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, repr(value))


def _read(text: str, native: bool) -> Any:
    """``parse``'s result with its types, or the error it raised."""
    try:
        parsed = parse(text, SCAN, native=native)
    except Exception as err:  # the error itself is compared
        return ("raised", type(err).__name__, str(err))
    if parsed is None:
        return None
    data, spans = parsed
    return _typed(data), list(spans.items())


def _random_value(rnd: random.Random, depth: int = 0) -> Any:
    leaves = [
        lambda: rnd.choice(["", "s", 'q"uote', "back\\slash", "/", "\b\f\n\r\t", "\x00\x1f"]),
        lambda: rnd.choice(["\u00e9", "\u2028", "\U0001f600", "mixed \u00e9 \U0001f600 x"]),
        lambda: rnd.randrange(-(10**3), 10**3),
        lambda: rnd.choice([0, -1, 2**53 + 1, -(2**63), 2**63, 10**30, -(10**40)]),
        lambda: rnd.choice([0.0, -0.0, 0.1, 1e-7, 1e22, 1.5e300, 5e-324, 2.2250738585072014e-308]),
        lambda: rnd.uniform(-1e6, 1e6),
        lambda: rnd.choice([True, False, None]),
    ]
    if depth > 5 or rnd.random() < 0.45:
        return rnd.choice(leaves)()
    n = rnd.randrange(5)
    if rnd.random() < 0.5:
        return [_random_value(rnd, depth + 1) for _ in range(n)]
    keys = ["a", "b", "", " t", "k\u00e9", "\n", "same", "same"]
    return {rnd.choice(keys): _random_value(rnd, depth + 1) for _ in range(n)}


def _texts(rnd: random.Random, data: dict[str, Any]) -> list[str]:
    """``data`` as different writers write it: compact, spaced, indented, not ASCII."""
    return [
        json.dumps(data, separators=(",", ":")),
        json.dumps(data),
        json.dumps(data, indent=rnd.choice([1, "\t", "\r\n"])),
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
    ]


def test_the_native_reader_gives_what_json_gives() -> None:
    rnd = random.Random(7)
    read_natively = ascii_texts = 0
    for _ in range(2000):
        data = {rnd.choice(["a", "b", "c", "d", "e"]): _random_value(rnd) for _ in range(6)}
        for text in _texts(rnd, data):
            assert _read(text, native=True) == _read(text, native=False), text
            read_natively += _json_members(text) is not None
            ascii_texts += text.isascii()
    # Every ASCII text is read natively (json.dumps' default is ASCII).
    assert read_natively == ascii_texts >= 3 * 2000


@pytest.mark.parametrize(
    "text",
    [
        '{"a": "\u00e9"}',  # not ASCII
        '{"a": NaN}',
        '{"a": [Infinity, -Infinity]}',
        '{"a": "\\ud800"}',  # a lone surrogate, escaped
        '{"a": "\\udc00x"}',
        '{"a": "\\ud800\\u0041"}',
        '{"a": "\\uzzzz"}',
        '{"a": "\\x"}',
        '{"a": "tab\tinside"}',  # a control character
        '{"a": 1,}',
        '{"a" 1}',
        '{"a": 1} x',
        '{"a": 01}',
        '{"a": 1.}',
        '{"a": -}',
        '{"a": .5}',
        '{"a": 1e}',
        '{"a": tru}',
        '{"a": [1 2]}',
        '{"a": {"b" 1}}',
        '{"a": "unterminated}',
        '{"a": ' + "[" * 300 + "]" * 300 + "}",  # deeper than the native reader goes
        '{"a": ' + "7" * 5000 + "}",  # more digits than Python's int() takes
        '{"a": 1',
        "{",
        "",
        "[1, 2]",
        "null",
    ],
)
def test_what_the_native_reader_declines_json_reads(text: str) -> None:
    assert _json_members(text) is None
    assert _read(text, native=True) == _read(text, native=False)


def test_a_subclass_of_str_is_left_to_json() -> None:
    class Claims(str):
        __slots__ = ()

        def isascii(self) -> bool:
            return True

    text = Claims('{"a":"\\n\u00e9","\u00e9":1}')
    assert _json_members(text) is None
    assert _read(text, native=True) == _read(text, native=False)
    assert _read(text, native=True)[0] == _typed({"a": "\n\u00e9", "\u00e9": 1})


def test_a_text_of_many_distinct_keys_is_read_as_json_reads_it() -> None:
    inner = {f"k{i}": i for i in range(300)}
    text = json.dumps({"a": inner, "b": [inner, {"k299": "last"}], "k0": 0})
    parsed = _json_members(text)
    assert parsed is not None
    assert _typed(parsed[0]) == _typed(json.loads(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a":1,"a":[2],"b":3}', {"a": [2], "b": 3}),
        ('  {\n "x" : -0 , "y":-0.0,"z":1E+2}\r\n', {"x": 0, "y": -0.0, "z": 100.0}),
        ('{"s":"\\ud83d\\ude00 \\u00e9 \\/ \\u0000"}', {"s": "\U0001f600 \u00e9 / \x00"}),
        (
            '{"big":123456789012345678901234567890,"e":1e400}',
            {"big": 123456789012345678901234567890, "e": float("inf")},
        ),
    ],
)
def test_the_native_reader_reads_what_json_allows(text: str, expected: dict[str, Any]) -> None:
    parsed = _json_members(text)
    assert parsed is not None
    data, spans = parsed
    assert _typed(data) == _typed(expected) == _typed(json.loads(text))
    for key, (start, end) in spans.items():
        assert json.loads(text[start:end]) == json.loads(text)[key]
