"""A session's stored JSON text, decoded once and written back in part (for the framework
integrations).

A session is a JSON object. Decoding it, :func:`parse` also notes where the text of each of
its values lies, and :class:`StoredText` keeps a ``marshal`` print of each value as loaded:
bytes that give the value back exactly, its types included (for the values of a JSON document,
marshal copies every type exactly). On save, a value whose print is unchanged is the value that
was loaded, untouched (in place changes of nested lists and dicts included), so

- a session whose every value is unchanged needs no encoding to know it, and
- the text of a changed session keeps the stored text of each unchanged value and encodes only
  the others.

Kept text is the text as stored: when the stored text was written as the integration writes it
(the same encoder and settings), the result is what encoding the whole session gives.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Callable, Container, Iterator, Mapping
from json.decoder import scanstring
from typing import Any

from connect_dynamodb._native import _json_members

__all__ = ["Scanner", "StoredText", "members", "parse", "parse_natively", "print_of"]

#: ``json``'s scanner: ``scan(text, index)`` gives the value at ``index`` and the index after it.
Scanner = Callable[[str, int], "tuple[Any, int]"]

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def members(text: str, scan: Scanner) -> Iterator[tuple[str, Any, int, int]]:
    """The members of the JSON object ``text`` holds, one by one: each key, its value (decoded by
    ``scan``, a scanner of ``json.scanner.make_scanner``) and where the value's text starts and
    ends in ``text``. Yields nothing when ``text`` does not begin with an object; raises
    ``ValueError`` when it is not the text of one (once the members before are taken)."""
    match = _WHITESPACE.match
    pos = match(text).end()
    if text[pos : pos + 1] != "{":
        return
    pos = match(text, pos + 1).end()
    if text[pos : pos + 1] == "}":
        pos += 1
    else:
        while True:
            if text[pos : pos + 1] != '"':
                raise ValueError(f"a key expected at {pos}")
            key, pos = scanstring(text, pos + 1)
            pos = match(text, pos).end()
            if text[pos : pos + 1] != ":":
                raise ValueError(f"':' expected at {pos}")
            start = match(text, pos + 1).end()
            try:
                value, pos = scan(text, start)
            except StopIteration as err:
                raise ValueError(f"a value expected at {start}") from err
            yield key, value, start, pos
            pos = match(text, pos).end()
            if text[pos : pos + 1] == ",":
                pos = match(text, pos + 1).end()
            elif text[pos : pos + 1] == "}":
                pos += 1
                break
            else:
                raise ValueError(f"',' or '}}' expected at {pos}")
    if match(text, pos).end() != len(text):
        raise ValueError(f"extra data at {pos}")


def parse_natively(
    text: str,
    tags: tuple[Callable[[dict[str, Any]], Any], Container[str]] | None = None,
) -> tuple[dict[str, Any], dict[str, tuple[int, int]]] | None:
    """What :func:`parse` gives, read by the native reader (a 50 KB session in two thirds of the
    time), or None when it leaves the text to ``json`` (then :func:`parse` reads it, and raises
    where ``json`` would). ``tags``: an object hook that changes only the objects of one key in
    the given keys (Flask's tags), called for those objects alone, and those keys."""
    hook, keys = tags if tags is not None else (None, None)
    return _json_members(text, hook, keys)


def parse(
    text: str, scan: Scanner, *, native: bool = False
) -> tuple[dict[str, Any], dict[str, tuple[int, int]]] | None:
    """What ``json.loads(text)`` gives for the text of a JSON object (its values decoded by
    ``scan``; the object itself is not passed to an ``object_hook``), and where the text of each
    of its values lies in ``text``; None when ``text`` holds no object. Raises ``ValueError`` when
    ``text`` begins with an object but is not the text of one.

    ``native``: ``scan`` is ``json``'s own scanner, without hooks, so :func:`parse_natively`
    may read the text first."""
    if native:
        parsed = parse_natively(text)
        if parsed is not None:
            return parsed
    pos = _WHITESPACE.match(text).end()
    if text[pos : pos + 1] != "{":
        return None
    data: dict[str, Any] = {}
    spans: dict[str, tuple[int, int]] = {}
    for key, value, start, end in members(text, scan):
        data[key] = value
        spans[key] = (start, end)
    return data, spans


def print_of(value: Any) -> bytes | None:
    """``marshal``'s bytes of ``value``, or None when marshal cannot copy it (a type of its own,
    such as a Markup, UUID or datetime; a very deep value)."""
    try:
        return marshal.dumps(value)
    except (ValueError, TypeError):
        return None


class StoredText:
    """A session's stored text as loaded: the text, where each value's text lies in it, and the
    print of each value as loaded (None where marshal cannot copy it)."""

    __slots__ = ("prints", "scan", "spans", "text")

    def __init__(
        self,
        text: str,
        data: Mapping[str, Any],
        spans: dict[str, tuple[int, int]],
        scan: Scanner,
    ) -> None:
        self.text = text
        self.spans = spans
        self.scan = scan
        self.prints = {key: print_of(value) for key, value in data.items()}

    def unchanged(self, data: Mapping[str, Any]) -> set[str]:
        """The keys of ``data`` whose values are exactly the values as loaded."""
        prints = self.prints
        same = set()
        for key, value in data.items():
            printed = prints.get(key)
            if printed is not None and print_of(value) == printed:
                same.add(key)
        return same

    def all_unchanged(self, data: Mapping[str, Any], same: set[str]) -> bool:
        """Whether ``data`` is the session as loaded, keys in the same order (``same`` is
        :meth:`unchanged`'s answer)."""
        return len(same) == len(data) == len(self.prints) and list(data) == list(self.prints)

    def loaded(self, key: str) -> Any:
        """The value of ``key`` as loaded."""
        printed = self.prints[key]
        if printed is not None:
            return marshal.loads(printed)
        return self.scan(self.text, self.spans[key][0])[0]

    def spliced(
        self,
        data: Mapping[str, Any],
        same: set[str],
        keys: list[Any],
        encode_key: Callable[[str], str],
        encode_value: Callable[[Any], str],
    ) -> str | None:
        """The compact JSON text of ``data`` with its ``keys`` in that order: the stored text for
        the keys in ``same``, ``encode_value`` for the others. None when a key is not a
        string."""
        if not all(type(key) is str for key in keys):
            return None
        text, spans = self.text, self.spans
        parts = []
        for key in keys:
            if key in same:
                start, end = spans[key]
                value = text[start:end]
            else:
                value = encode_value(data[key])
            parts.append(f"{encode_key(key)}:{value}")
        return "{" + ",".join(parts) + "}"
