"""The Flask session's stored text: Flask's tagged JSON, the same text and the same Python values
as Flask's own ``TaggedJSONSerializer`` gives, for every tagged type, with the app's JSON
settings, and with tags an app registers itself."""

from __future__ import annotations

import json
import random
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import pytest
from connect_dynamodb.contrib.flask import DynamoDBSessionInterface
from flask import Flask, jsonify, session
from flask.json.provider import DefaultJSONProvider
from flask.json.tag import JSONTag, TaggedJSONSerializer
from markupsafe import Markup

SECRET = "flask-test-secret"

WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
ID = UUID("12345678-1234-5678-1234-567812345678")

# One value of every type a tag takes, and the dicts whose only key is a tag's (" di").
TAGGED: dict[str, Any] = {
    "tuple": (1, "two", (3,)),
    "empty tuple": (),
    "bytes": b"\x00\xffbytes",
    "markup": Markup("<b>bold</b>"),
    "uuid": ID,
    "datetime": WHEN,
    "tag key": {" t": [1, 2]},
    "tag key twice": {" di": {" b": "x"}},
    "nested": {"list": [(1, b"x"), {"when": WHEN}, [Markup("<i>")]], "n": 1},
    "plain": {"a": [1, 2.5, None, True, "é\u2028"], " lead": " space"},
}


def _typed(value: Any) -> Any:
    """``value`` with the type of every part spelled out, to compare values with their types."""
    if isinstance(value, dict):
        return (type(value).__name__, sorted((k, _typed(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_typed(v) for v in value])
    return (type(value).__name__, repr(value))


def _interface() -> DynamoDBSessionInterface:
    return DynamoDBSessionInterface(object())  # type: ignore[arg-type]  # no store is used


def _random_session(rnd: random.Random) -> dict[str, Any]:
    keys = ["a", "b", " t", " di", " b", " m", " u", " d", "x__", " t__", "é", " other"]
    leaves = [
        lambda: rnd.choice(["s", " lead", "é\u2028", '"q"', "\\u0020", '" t"', '{" t":1}']),
        lambda: rnd.randrange(-5, 10**20),
        lambda: rnd.random(),
        lambda: rnd.choice([True, False, None, 1.0, float("inf")]),
        lambda: b"\x00\xffbytes",
        lambda: Markup("<b>x</b>"),
        lambda: UUID(int=rnd.getrandbits(128)),
        lambda: WHEN,
        lambda: (1, "x"),
        lambda: (),
    ]

    def value(depth: int) -> Any:
        if depth > 4 or rnd.random() < 0.4:
            return rnd.choice(leaves)()
        kind, n = rnd.randrange(4), rnd.randrange(4)
        if kind == 0:
            return {rnd.choice(keys): value(depth + 1) for _ in range(n)}
        if kind == 1:
            return [value(depth + 1) for _ in range(n)]
        if kind == 2:
            return tuple(value(depth + 1) for _ in range(n))
        return {rnd.choice(keys): value(depth + 1)}

    data = {rnd.choice(keys): value(0) for _ in range(rnd.randrange(5))}
    if rnd.random() < 0.4:  # plain JSON only, as most sessions are
        data = json.loads(json.dumps(data, default=str))
    return data


@pytest.mark.parametrize(
    "settings",
    [{}, {"sort_keys": False}, {"ensure_ascii": False}],
    ids=["default", "unsorted", "non-ascii"],
)
def test_the_text_and_the_values_are_flasks_own(settings: dict[str, Any]) -> None:
    app = Flask(__name__)
    for name, value in settings.items():
        setattr(app.json, name, value)
    interface = _interface()
    flask_serializer = TaggedJSONSerializer()
    rnd = random.Random(14)
    with app.app_context():
        for data in [TAGGED, {}, {" t": 1}, *(_random_session(rnd) for _ in range(3000))]:
            text = flask_serializer.dumps(data)
            assert interface._dump_data(data, app) == text
            loaded = interface._load_data(text, app)
            assert loaded is not None
            assert _typed(loaded[0]) == _typed(flask_serializer.loads(text))
            # As a request opens it: the native reader, or json's scanner when it declines.
            opened = interface._open_stored("sid", text)
            if opened is not None:  # None: a tagged value as the whole session
                assert _typed(dict(opened)) == _typed(loaded[0])


def test_a_tagged_session_is_read_by_the_native_reader_with_flasks_values() -> None:
    from connect_dynamodb._native import _json_members
    from connect_dynamodb.contrib.flask import _TAG_KEYS, _untag

    text = TaggedJSONSerializer().dumps(TAGGED)
    parsed = _json_members(text, _untag, _TAG_KEYS)
    assert parsed is not None
    assert _typed(parsed[0]) == _typed(TaggedJSONSerializer().loads(text))
    # A tag whose value Flask cannot read is left to json, which raises as Flask would.
    assert _json_members('{"a":{" b":"not base64!"}}', _untag, _TAG_KEYS) is None


def test_tags_are_found_wherever_json_lets_them_be_written() -> None:
    """A text without a tag is read without Flask's tag hook; so a tag must be found wherever
    JSON lets a writer put it: after whitespace, with its key's space escaped."""
    app = Flask(__name__)
    interface = _interface()
    texts = [
        '{"a": { " t": [1, 2]}}',
        '{"a":{\n\t" t":[1]}, "b": [{\r" d": "Mon, 06 May 2024 07:08:09 GMT"}]}',
        '{"a":{"\\u0020t":[1]},"b":{"\\u0020b":"eA=="}}',
        '{"a":{"\\u0020di":{" t__":[1]}}}',
        # A tag's text inside a string, and a key with a leading space that is not a tag's.
        '{"s":"{\\" t\\":[1]}","k":{" lead":1},"l":[{" t":[2]}]}',
        '{"a":[{"x":1},{"y":[2]}],"s":"{ \\"x\\"}"}',  # no tag
    ]
    with app.app_context():
        for text in texts:
            expected = _typed(TaggedJSONSerializer().loads(text))
            loaded = interface._load_data(text, app)
            assert loaded is not None
            assert _typed(loaded[0]) == expected, text
            opened = interface._open_stored("sid", text)
            if opened is not None:  # None: read as above, by _load_data
                assert _typed(dict(opened)) == expected, text
        assert interface._open_stored("sid", texts[0]) is not None


def test_a_json_provider_of_another_kind_is_used_as_it_is() -> None:
    class Provider(DefaultJSONProvider):
        def dumps(self, obj: Any, **kwargs: Any) -> str:
            return json.dumps(obj, indent=1, sort_keys=True)

    app = Flask(__name__)
    app.json = Provider(app)
    interface = _interface()
    with app.app_context():
        text = interface._dump_data({"b": (1,), "a": 2}, app)
        assert text == '{\n "a": 2,\n "b": {\n  " t": [\n   1\n  ]\n }\n}'
        loaded = interface._load_data(text, app)
        assert loaded is not None and loaded[0] == {"a": 2, "b": (1,)}


def _app(store: Any) -> tuple[Flask, DynamoDBSessionInterface]:
    app = Flask(__name__)
    app.secret_key = SECRET
    interface = DynamoDBSessionInterface(store)
    app.session_interface = interface
    return app, interface


def test_every_tagged_type_survives_the_round_trip_through_dynamodb(make_store: Any) -> None:
    store = make_store()
    app, _ = _app(store)
    seen: list[dict[str, Any]] = []

    @app.post("/put")
    def put() -> Any:
        session.update(TAGGED)
        return jsonify(sid=session.sid)

    @app.get("/look")
    def look() -> Any:
        seen.append(dict(session))
        return "ok"

    client = app.test_client()
    sid = client.post("/put").json["sid"]
    with app.app_context():
        assert store.get(sid).data == TaggedJSONSerializer().dumps(TAGGED)
    client.get("/look")
    assert _typed(seen[0]) == _typed(TAGGED)
    assert type(seen[0]["markup"]) is Markup and seen[0]["datetime"] == WHEN


def test_in_place_changes_inside_tagged_sessions_are_written(make_store: Any) -> None:
    store = make_store()
    app, _ = _app(store)

    @app.post("/put")
    def put() -> Any:
        session.update({"markup": Markup("<b>"), "when": WHEN, "pair": (1, [2]), "items": []})
        return jsonify(sid=session.sid)

    @app.post("/append")
    def append() -> Any:
        session["items"].append(b"x")  # no assignment
        session["pair"][1].append(3)  # inside a tuple
        return "ok"

    @app.get("/read")
    def read() -> Any:
        return jsonify(items=[i.hex() for i in session["items"]], pair=session["pair"])

    client = app.test_client()
    sid = client.post("/put").json["sid"]
    client.post("/append")
    assert client.get("/read").json == {"items": ["78"], "pair": [1, [2, 3]]}
    assert '"items":[{" b":"eA=="}]' in store.get(sid).data


def test_a_change_rewrites_the_text_flask_would_write_and_reading_writes_nothing(
    make_store: Any, proxy: Any
) -> None:
    store = make_store(endpoint=proxy.url, first_use="nothing")
    app, _ = _app(store)

    @app.post("/put")
    def put() -> Any:
        session.update(TAGGED)
        session["n"] = 1
        return jsonify(sid=session.sid)

    @app.post("/change")
    def change() -> Any:
        session["n"] += 1
        session["nested"]["list"].append((2, b"y"))  # in place, inside a tagged value
        return "ok"

    @app.post("/same")
    def same() -> Any:
        session["n"] = session["n"]  # assigned, unchanged
        session["markup"] = Markup("<b>bold</b>")  # an equal Markup, made anew
        return "ok"

    @app.get("/look")
    def look() -> Any:
        return jsonify(n=session["n"])

    client = app.test_client()
    sid = client.post("/put").json["sid"]
    proxy.reset()
    for _ in range(3):
        assert client.get("/look").json == {"n": 1}
    client.post("/same")
    assert proxy.snapshot() == {"GetItem": 4}

    client.post("/change")
    expected = dict(TAGGED, n=2)
    expected["nested"] = {"list": [*TAGGED["nested"]["list"], (2, b"y")], "n": 1}
    with app.app_context():
        assert store.get(sid).data == TaggedJSONSerializer().dumps(expected)


class TagOrderedDict(JSONTag):
    """Flask's documented example of an app's own tag."""

    __slots__ = ("serializer",)
    key = " od"

    def check(self, value: Any) -> bool:
        return isinstance(value, OrderedDict)

    def to_json(self, value: Any) -> Any:
        return [[k, self.serializer.tag(v)] for k, v in value.items()]

    def to_python(self, value: Any) -> Any:
        return OrderedDict(value)


def test_tags_the_app_registers_are_used(make_store: Any) -> None:
    store = make_store()
    app, interface = _app(store)
    interface.serializer.register(TagOrderedDict, index=0)
    seen: list[Any] = []

    @app.post("/put")
    def put() -> Any:
        session["od"] = OrderedDict([("b", 1), ("a", (2,))])
        session["when"] = WHEN
        return jsonify(sid=session.sid)

    @app.get("/look")
    def look() -> Any:
        seen.append(session["od"])
        return "ok"

    client = app.test_client()
    sid = client.post("/put").json["sid"]
    assert json.loads(store.get(sid).data)["od"] == {" od": [["b", 1], ["a", {" t": [2]}]]}
    client.get("/look")
    assert type(seen[0]) is OrderedDict and list(seen[0].items()) == [("b", 1), ("a", (2,))]


def test_a_serializer_of_its_own_is_used(make_store: Any) -> None:
    class Upper(TaggedJSONSerializer):
        def dumps(self, value: Any) -> str:
            return super().dumps({k.upper(): v for k, v in value.items()})

    store = make_store()
    app, interface = _app(store)
    interface.serializer = Upper()

    @app.post("/put")
    def put() -> Any:
        session["user"] = "alice"
        return jsonify(sid=session.sid)

    sid = app.test_client().post("/put").json["sid"]
    assert json.loads(store.get(sid).data) == {"USER": "alice"}
