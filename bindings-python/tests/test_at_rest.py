"""Sessions at rest through the Python stores: ``encryption_keys`` (bytes or base64 text),
``id_hash_key`` and ``compress_threshold``, their fallback on the environment, configuration
errors that never show a key, ``reencrypt`` across a key rotation, and ``UnreadableError`` for a
session encrypted with a key the store lacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pickle
import secrets
from collections.abc import Callable
from typing import Any

import connect_dynamodb
import pytest
from connect_dynamodb import (
    DEFAULTS,
    AsyncSessionStore,
    ConfigError,
    ReencryptReport,
    SessionStore,
    SessionStoreError,
    UnreadableError,
)

ENV_KEYS = "CONNECT_DYNAMODB_ENCRYPTION_KEYS"
ENV_HASH = "CONNECT_DYNAMODB_ID_HASH_KEY"

K1 = secrets.token_bytes(32)
K2 = secrets.token_bytes(32)
H = secrets.token_bytes(48)
SID = "an-at-rest-session-id"
TEXT = json.dumps({"user": "ada-lovelace", "cart": [f"item-{i}" for i in range(40)]})


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def b64url(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def spellings(key: bytes) -> list[str]:
    """The ways a key could leak into a text: its base64 forms, hex, and Python's bytes repr."""
    return [b64(key), b64url(key), key.hex(), repr(key)[2:-1][:24]]


def assert_no_key(text: str, *keys: bytes) -> None:
    for key in keys:
        for spelling in spellings(key):
            assert spelling not in text


def raw_item(dynamodb: Any, table: str, key: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=table, Key={"id": {"S": key}}, ConsistentRead=True
    ).get("Item")
    return item


def hashed_key(sid: str, key: bytes = H) -> str:
    """The table key the format gives a hashed session id (core/src/at_rest.rs, tests/README.md)."""
    return "sess:" + b64url(hmac.new(key, sid.encode(), hashlib.sha256).digest())


# Options -------------------------------------------------------------------------------------


def test_all_three_options_together(
    store_factory: Callable[..., SessionStore], dynamodb: Any
) -> None:
    store = store_factory(
        encryption_keys=[K1, b64(K2)], id_hash_key=b64url(H), compress_threshold=64
    )
    assert store.hashes_ids is True
    assert store.compress_threshold == 64
    assert len(store.encryption_key_ids) == 2
    assert all(len(i) == 8 for i in store.encryption_key_ids)
    assert store.set(SID, TEXT) == "written"
    got = store.get(SID)
    assert got is not None and got.data == TEXT

    assert raw_item(dynamodb, store.table, "sess:" + SID) is None
    item = raw_item(dynamodb, store.table, hashed_key(SID))
    assert item is not None
    sess = item["sess"]["B"]
    assert b"ada-lovelace" not in sess and b"item-1" not in sess
    assert sess[:2] == bytes([1, 0x03])  # format 1, compressed and encrypted
    assert len(sess) < len(TEXT)  # compressed before it was encrypted
    # Listings give the hashes, never the ids (a table dump cannot give cookies).
    assert store.ids() == [hashed_key(SID)[len("sess:") :]]
    assert store.length() == 1
    store.destroy(SID)
    assert store.get(SID) is None


def test_each_option_on_its_own(store_factory: Callable[..., SessionStore], dynamodb: Any) -> None:
    encrypted = store_factory(encryption_keys=[b64url(K1)], id_hash_key=False)
    encrypted.set("enc", TEXT)
    sess = raw_item(dynamodb, encrypted.table, "sess:enc")["sess"]  # type: ignore[index]
    assert sess["B"][:2] == bytes([1, 0x02]) and b"ada" not in sess["B"]

    compressed = store_factory(encryption_keys=[], id_hash_key=False, compress_threshold=0)
    compressed.set("zip", TEXT)
    sess = raw_item(dynamodb, compressed.table, "sess:zip")["sess"]  # type: ignore[index]
    assert sess["B"][:2] == bytes([1, 0x01])
    assert compressed.get("zip").data == TEXT  # type: ignore[union-attr]

    hashed = store_factory(encryption_keys=[], id_hash_key=bytearray(H))
    hashed.set("hid", TEXT)
    item = raw_item(dynamodb, hashed.table, hashed_key("hid"))
    assert item is not None and item["sess"] == {"S": TEXT}
    assert hashed.get("hid").data == TEXT  # type: ignore[union-attr]

    plain = store_factory(encryption_keys=[], id_hash_key=False, compress_threshold=None)
    plain.set("txt", TEXT)
    assert raw_item(dynamodb, plain.table, "sess:txt")["sess"] == {"S": TEXT}  # type: ignore[index]
    assert plain.encryption_key_ids == [] and plain.hashes_ids is False
    assert plain.compress_threshold is None


def test_defaults_and_options_list_the_new_options() -> None:
    for name in ("encryption_keys", "id_hash_key", "compress_threshold"):
        assert name in connect_dynamodb.OPTIONS
        assert DEFAULTS[name] is None  # keys: from the environment, else off; no compression
    assert DEFAULTS["decrypt_only"] is False


async def test_the_async_store_takes_the_options(
    async_store_factory: Callable[..., AsyncSessionStore], dynamodb: Any
) -> None:
    store = async_store_factory(encryption_keys=(K1,), id_hash_key=H, compress_threshold=10)
    await store.set(SID, TEXT)
    assert (await store.get(SID)).data == TEXT  # type: ignore[union-attr]
    item = raw_item(dynamodb, store.table, hashed_key(SID))
    assert item is not None and b"ada" not in item["sess"]["B"]
    assert store.encryption_key_ids and store.hashes_ids and store.compress_threshold == 10


# No key in any output ------------------------------------------------------------------------


def test_no_repr_shows_a_key(endpoint: str) -> None:
    options: dict[str, Any] = {
        "encryption_keys": [K1, b64(K2)],
        "id_hash_key": H,
        "compress_threshold": 100,
    }
    for cls in (SessionStore, AsyncSessionStore):
        store = cls(endpoint=endpoint, **options)
        try:
            shown = repr(store)
            assert_no_key(shown, K1, K2, H)
            assert_no_key(str(DEFAULTS), K1, K2, H)
            # The key ids show which keys a store has, without the keys.
            for key_id in store.encryption_key_ids:
                assert key_id in shown
            assert "hashes_ids=True" in shown and "compress_threshold=100" in shown
        finally:
            store.close()


# The environment -----------------------------------------------------------------------------


def test_without_the_option_the_keys_come_from_the_environment(
    store_factory: Callable[..., SessionStore], dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_KEYS, f"{b64(K1)}, {b64url(K2)}")
    monkeypatch.setenv(ENV_HASH, b64(H))
    from_env = store_factory()
    assert len(from_env.encryption_key_ids) == 2 and from_env.hashes_ids
    from_env.set(SID, TEXT)
    item = raw_item(dynamodb, from_env.table, hashed_key(SID))
    assert item is not None and item["sess"]["B"][:2] == bytes([1, 0x02])
    assert b"ada" not in item["sess"]["B"]
    # The same keys given as options read it.
    given = store_factory(encryption_keys=[K2, K1], id_hash_key=H)
    assert given.get(SID).data == TEXT  # type: ignore[union-attr]
    assert given.encryption_key_ids == from_env.encryption_key_ids[::-1]

    # An empty list and False turn them off, whatever the environment says.
    off = store_factory(encryption_keys=[], id_hash_key=False)
    assert off.encryption_key_ids == [] and not off.hashes_ids
    off.set("plain", TEXT)
    assert raw_item(dynamodb, off.table, "sess:plain")["sess"] == {"S": TEXT}  # type: ignore[index]
    with pytest.raises(UnreadableError):
        # The session from_env wrote, under its hashed key: encrypted with keys `off` lacks.
        store_factory(encryption_keys=[], id_hash_key=H).get(SID)


def test_a_bad_key_in_the_environment_names_the_option_and_the_variable(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = secrets.token_bytes(20)
    monkeypatch.setenv(ENV_KEYS, b64(short))
    with pytest.raises(ConfigError, match=r"^invalid option `encryption_keys`: ") as e:
        SessionStore(endpoint=endpoint)
    assert_no_key(str(e.value) + repr(e.value), short)
    monkeypatch.setenv(ENV_KEYS, f"{b64(K1)},{b64(K2)}***")
    with pytest.raises(ConfigError, match=f"^invalid option `encryption_keys`: .*{ENV_KEYS}") as e:
        SessionStore(endpoint=endpoint)
    assert_no_key(str(e.value) + repr(e.value), K1, K2)
    # An option wins over the environment, so the bad variable is not read.
    SessionStore(endpoint=endpoint, encryption_keys=[K1]).close()
    monkeypatch.delenv(ENV_KEYS)
    monkeypatch.setenv(ENV_HASH, "not base64 at all!")
    with pytest.raises(ConfigError, match=f"^invalid option `id_hash_key`: .*{ENV_HASH}"):
        SessionStore(endpoint=endpoint)
    SessionStore(endpoint=endpoint, id_hash_key=False).close()


# Bad options ---------------------------------------------------------------------------------

SHORT = secrets.token_bytes(31)
LONG_HASH_KEY = secrets.token_bytes(65)


@pytest.mark.parametrize(
    ("options", "field", "secrets_"),
    [
        ({"encryption_keys": [SHORT]}, "encryption_keys", [SHORT]),
        ({"encryption_keys": [b64(SHORT)]}, "encryption_keys", [SHORT]),
        ({"encryption_keys": [K1, b64(K1)]}, "encryption_keys", [K1]),
        ({"encryption_keys": [K2, "!" + b64(K1)]}, "encryption_keys", [K1, K2]),
        ({"encryption_keys": [""]}, "encryption_keys", []),
        ({"encryption_keys": [secrets.token_bytes(32) for _ in range(17)]}, "encryption_keys", []),
        ({"id_hash_key": SHORT}, "id_hash_key", [SHORT]),
        ({"id_hash_key": b64(LONG_HASH_KEY)}, "id_hash_key", [LONG_HASH_KEY]),
        ({"id_hash_key": "%%%" + b64(H)}, "id_hash_key", [H]),
        ({"compress_threshold": -1}, "compress_threshold", []),
        ({"compress_threshold": 16 * 1024 * 1024 + 1}, "compress_threshold", []),
        ({"compress_threshold": 2**70}, "compress_threshold", []),
    ],
)
def test_bad_keys_are_config_errors_without_key_material(
    endpoint: str, options: dict[str, Any], field: str, secrets_: list[bytes]
) -> None:
    for cls in (SessionStore, AsyncSessionStore):
        with pytest.raises(ConfigError, match=f"^invalid option `{field}`: ") as caught:
            cls(endpoint=endpoint, **options)
        err = caught.value
        assert err.code == "INVALID_CONFIG"
        assert_no_key(str(err) + repr(err) + repr(err.args), *secrets_)
        assert_no_key(repr(pickle.loads(pickle.dumps(err))), *secrets_)


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"encryption_keys": K1}, "encryption_keys"),  # one key, not a list of them
        ({"encryption_keys": b64(K1)}, "encryption_keys"),
        ({"encryption_keys": [1234]}, "encryption_keys"),
        ({"id_hash_key": True}, "id_hash_key"),
        ({"id_hash_key": [H]}, "id_hash_key"),
        ({"compress_threshold": "64"}, "compress_threshold"),
        ({"compress_threshold": True}, "compress_threshold"),
        ({"compress_threshold": 1.5}, "compress_threshold"),
    ],
)
def test_keys_of_the_wrong_type_are_type_errors(
    endpoint: str, options: dict[str, Any], option: str
) -> None:
    with pytest.raises(TypeError, match=f"^`{option}` must be ") as caught:
        SessionStore(endpoint=endpoint, **options)
    assert_no_key(str(caught.value), K1, H)


# Rotation and unreadable sessions ------------------------------------------------------------


def test_reencrypt_moves_every_session_to_the_new_key(
    store_factory: Callable[..., SessionStore], dynamodb: Any
) -> None:
    sids = [f"rotate-{i}" for i in range(12)]
    old = store_factory(encryption_keys=[K1], id_hash_key=False)
    for sid in sids:
        old.set(sid, json.dumps({"sid": sid}))
    # A session stored before encryption was on is encrypted too.
    store_factory(encryption_keys=[], id_hash_key=False).set("plain", '{"sid": "plain"}')
    new_only = store_factory(encryption_keys=[K2], id_hash_key=False)
    with pytest.raises(UnreadableError) as caught:
        new_only.get(sids[0])
    assert caught.value.code == "UNREADABLE" and not caught.value.retryable
    assert isinstance(caught.value, SessionStoreError)
    assert_no_key(str(caught.value), K1, K2)
    assert sorted(new_only.ids()) == ["plain"]  # listings skip what they cannot read

    rotating = store_factory(encryption_keys=[K2, K1], id_hash_key=False)
    report = rotating.reencrypt()
    assert isinstance(report, ReencryptReport)
    assert (report.rewritten, report.unreadable) == (len(sids) + 1, 0)
    assert report.scanned >= len(sids) + 1
    assert report == ReencryptReport(report.scanned, len(sids) + 1, 0)
    assert repr(report) == f"ReencryptReport(scanned={report.scanned}, rewritten=13, unreadable=0)"
    assert pickle.loads(pickle.dumps(report)) == report
    again = rotating.reencrypt()
    assert (again.rewritten, again.unreadable) == (0, 0)

    for sid in [*sids, "plain"]:
        assert json.loads(new_only.get(sid).data) == {"sid": sid}  # type: ignore[union-attr]
    with pytest.raises(UnreadableError):
        old.get(sids[0])
    # A store lacking the key counts what it cannot read and leaves it alone.
    lacking = store_factory(encryption_keys=[K1], id_hash_key=False).reencrypt()
    assert (lacking.rewritten, lacking.unreadable) == (0, len(sids) + 1)
    assert json.loads(new_only.get(sids[0]).data) == {"sid": sids[0]}  # type: ignore[union-attr]


async def test_reencrypt_on_the_async_store(
    async_store_factory: Callable[..., AsyncSessionStore],
) -> None:
    old = async_store_factory(encryption_keys=[K1], id_hash_key=H)
    await old.set(SID, TEXT)
    new_only = async_store_factory(encryption_keys=[b64(K2)], id_hash_key=H)
    with pytest.raises(UnreadableError):
        await new_only.get(SID)
    report = await async_store_factory(encryption_keys=[K2, K1], id_hash_key=H).reencrypt()
    assert (report.rewritten, report.unreadable) == (1, 0)
    assert (await new_only.get(SID)).data == TEXT  # type: ignore[union-attr]


def test_reencrypt_without_keys_is_a_config_error(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory(encryption_keys=[], id_hash_key=False)
    with pytest.raises(ConfigError, match=r"^invalid option `encryption_keys`: "):
        store.reencrypt()


def test_decrypt_only_turns_encryption_on_in_two_deploys(
    store_factory: Callable[..., SessionStore], dynamodb: Any
) -> None:
    before = store_factory(encryption_keys=[], id_hash_key=False)
    before.set("a", TEXT)
    # Deploy 1: every process gets the key, to decrypt only; what they write stays text.
    reading = store_factory(encryption_keys=[K1], id_hash_key=False, decrypt_only=True)
    reading.set("b", TEXT)
    assert raw_item(dynamodb, reading.table, "sess:b")["sess"] == {"S": TEXT}  # type: ignore[index]
    assert before.get("b") is not None
    with pytest.raises(ConfigError, match=r"^invalid option `decrypt_only`: "):
        reading.reencrypt()
    # Deploy 2: encrypt; the processes of deploy 1 read what it writes.
    writing = store_factory(encryption_keys=[K1], id_hash_key=False)
    writing.set("c", TEXT)
    assert "B" in raw_item(dynamodb, writing.table, "sess:c")["sess"]  # type: ignore[index]
    for sid in ("a", "b", "c"):
        assert reading.get(sid) is not None and writing.get(sid) is not None
    with pytest.raises(ConfigError, match=r"^invalid option `decrypt_only`: "):
        store_factory(encryption_keys=[], decrypt_only=True)
