//! Sessions at rest: encryption with rotating keys, session ids hashed at rest, compression.
//! Each is opt-in; with all of them off the item is exactly what connect-dynamodb 3.x writes.
//!
//! # The `sess` attribute
//!
//! Format 0 is connect-dynamodb's: `sess` is a string, the session's JSON text. Format 1 is a
//! binary `sess`, written only when compression or encryption is on:
//!
//! ```text
//! byte 0      format version: 1
//! byte 1      flags: 0x01 compressed (raw DEFLATE, RFC 1951), 0x02 encrypted; other bits 0
//! encrypted:  bytes 2..6 key id, 6..18 nonce, then AES-256-GCM ciphertext and 16-byte tag
//!             of the payload, with associated data = bytes 0..6 followed by the item's
//!             table key (the hash key's value: prefix + session id, or its hash)
//! otherwise:  bytes 2.. the payload
//! payload     the session's JSON text in UTF-8, DEFLATE-compressed when flag 0x01 is set
//! ```
//!
//! A key id is the first four bytes of SHA-256("connect-dynamodb key id" || key): not
//! secret, and it tells which of the configured keys encrypted an item. The associated data
//! binds a ciphertext to its table key: copied onto another session id, it does not decrypt.
//!
//! # Hashed ids
//!
//! With an id hash key, the table key of session `sid` is the prefix followed by
//! base64url(HMAC-SHA-256(id hash key, sid)) without padding (43 characters), and the `user`
//! attribute of the user index holds base64url(HMAC-SHA-256(id hash key, "user:" || user)).
//!
//! # What a reader does with what it cannot read
//!
//! - Encrypted under a key id this store was not given, or in a format newer than 1: the
//!   `UNREADABLE` error. Nothing is changed, and once the key (or the newer package) is
//!   there, the session reads again. Read as "not found", a missing key would end every
//!   session and let the next save overwrite them.
//! - Encrypted under a known key but failing to decrypt (damaged, tampered with, or moved to
//!   another id), or failing to decompress or to parse: "not found", with a warning log line,
//!   as connect-dynamodb has always read a damaged item. An error here would refuse every
//!   request carrying that cookie until it expires; "not found" starts a fresh session.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac};

use crate::error::{Error, ErrorKind, Result};

/// The format version of a binary `sess`.
pub const FORMAT_VERSION: u8 = 1;
/// The flag of a compressed payload.
pub const FLAG_COMPRESSED: u8 = 0x01;
/// The flag of an encrypted payload.
pub const FLAG_ENCRYPTED: u8 = 0x02;
/// The length of an encryption key: AES-256 takes 32 bytes.
pub const ENCRYPTION_KEY_BYTES: usize = 32;
/// The shortest id hash key: 32 bytes, HMAC-SHA-256's output length.
pub const MIN_ID_HASH_KEY_BYTES: usize = 32;
/// The longest id hash key (HMAC hashes longer keys first, which adds nothing).
pub const MAX_ID_HASH_KEY_BYTES: usize = 64;
/// The most encryption keys a store takes: the one that encrypts and those being rotated out.
pub const MAX_ENCRYPTION_KEYS: usize = 16;
/// The length of a key id.
pub const KEY_ID_BYTES: usize = 4;
/// The length of a nonce.
pub const NONCE_BYTES: usize = 12;
/// The length of the authentication tag.
pub const TAG_BYTES: usize = 16;
/// The bytes encryption adds to a payload: header, key id, nonce and tag.
pub const ENCRYPTION_OVERHEAD: usize = 2 + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES;
/// The largest session text a store compresses, and the most a stored one may inflate to:
/// 16 MiB. A damaged or hostile item cannot make a reader allocate more.
pub const MAX_SESSION_BYTES: usize = 16 * 1024 * 1024;
/// The environment variable holding the encryption keys when the options give none: base64
/// keys separated by commas, the first one encrypting.
pub const ENV_ENCRYPTION_KEYS: &str = "CONNECT_DYNAMODB_ENCRYPTION_KEYS";
/// The environment variable holding the id hash key when the options give none, in base64.
pub const ENV_ID_HASH_KEY: &str = "CONNECT_DYNAMODB_ID_HASH_KEY";

/// DEFLATE level: 6, zlib's default. On session JSON it stores about a fifth of level 1's
/// size at about twice its CPU, still well under a millisecond for 50 KB (`make bench`).
const COMPRESSION_LEVEL: u8 = 6;
/// Why a plain-text `sess` is damaged (connect-dynamodb skips these quietly).
pub(crate) const NOT_JSON_TEXT: &str = "the session text is not JSON";
const KEY_ID_CONTEXT: &[u8] = b"connect-dynamodb key id";
const HEADER_BYTES: usize = 2;
/// The length of a hashed id: 32 bytes of HMAC-SHA-256 in unpadded base64url.
const HASHED_ID_CHARS: usize = 43;

/// Key material as a face receives it: bytes, or text in base64 (standard or URL-safe, with
/// or without padding). Never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The key's bytes.
    Bytes(Vec<u8>),
    /// The key in base64.
    Base64(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(** redacted **)")
    }
}

impl Secret {
    /// The key's bytes; the error says what is wrong without showing any of it.
    pub(crate) fn bytes(&self) -> std::result::Result<Vec<u8>, &'static str> {
        match self {
            Secret::Bytes(b) => Ok(b.clone()),
            Secret::Base64(text) => decode_base64(text.trim()).ok_or("is not valid base64"),
        }
    }
}

/// Decodes standard or URL-safe base64, padded or not.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut standard: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    if text.is_empty() {
        return None;
    }
    aws_smithy_types::base64::decode(&standard).ok()
}

/// base64url without padding.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// One encryption key and its id.
#[derive(Clone)]
struct SealingKey {
    id: [u8; KEY_ID_BYTES],
    key: Arc<LessSafeKey>,
}

/// The id of an encryption key, as items record it.
pub(crate) fn key_id(key: &[u8]) -> [u8; KEY_ID_BYTES] {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(KEY_ID_CONTEXT);
    context.update(key);
    let digest = context.finish();
    let mut id = [0; KEY_ID_BYTES];
    id.copy_from_slice(&digest.as_ref()[..KEY_ID_BYTES]);
    id
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a store does to sessions at rest: its encryption keys, its id hash key and its
/// compression threshold, validated by `ConfigBuilder::build`.
#[derive(Clone, Default)]
pub(crate) struct AtRest {
    keys: Vec<SealingKey>,
    id_hasher: Option<hmac::Key>,
    compress_above: Option<usize>,
    /// The keys only decrypt: sessions are written unencrypted (the first step of turning
    /// encryption on across processes that deploy one after another).
    decrypt_only: bool,
}

impl std::fmt::Debug for AtRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key ids are not secret (a hash of the key); the keys never show.
        f.debug_struct("AtRest")
            .field(
                "encryption_key_ids",
                &self.keys.iter().map(|k| hex(&k.id)).collect::<Vec<_>>(),
            )
            .field("hashed_ids", &self.id_hasher.is_some())
            .field("compress_threshold", &self.compress_above)
            .field("decrypt_only", &self.decrypt_only)
            .finish()
    }
}

/// What a stored `sess` decodes to.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// The session's JSON text.
    Session(String),
    /// Not a session this store can read: damaged, tampered with, moved to another id, not
    /// JSON. Counts as "not found".
    Damaged(&'static str),
}

impl AtRest {
    /// Checked settings: `keys` 32 bytes each (the first encrypts), `id_hash_key` 32 to 64
    /// bytes, `compress_above` a session length in bytes, `decrypt_only` the keys only
    /// decrypting. The error is the problem's text, with 0 or 1 for the keys, 2 for the id hash
    /// key, 3 for the threshold and 4 for `decrypt_only`, for the caller to attach to the field
    /// it came from.
    pub(crate) fn new(
        keys: &[Vec<u8>],
        id_hash_key: Option<&[u8]>,
        compress_above: Option<usize>,
        decrypt_only: bool,
    ) -> std::result::Result<AtRest, (usize, String)> {
        if decrypt_only && keys.is_empty() {
            return Err((
                4,
                "is set, but there are no encryption keys to decrypt with".to_owned(),
            ));
        }
        if keys.len() > MAX_ENCRYPTION_KEYS {
            return Err((
                0,
                format!("takes at most {MAX_ENCRYPTION_KEYS} keys, the first one encrypting"),
            ));
        }
        let mut sealing: Vec<SealingKey> = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let unbound = UnboundKey::new(&AES_256_GCM, key)
                .ok()
                .filter(|_| key.len() == ENCRYPTION_KEY_BYTES)
                .ok_or_else(|| {
                    (
                        1,
                        format!(
                            "key {} is {} bytes long; AES-256-GCM takes keys of exactly {ENCRYPTION_KEY_BYTES} bytes",
                            index + 1,
                            key.len()
                        ),
                    )
                })?;
            let id = key_id(key);
            if sealing.iter().any(|k| k.id == id) {
                return Err((
                    1,
                    format!(
                        "key {} is given twice (or shares its id with another)",
                        index + 1
                    ),
                ));
            }
            sealing.push(SealingKey {
                id,
                key: Arc::new(LessSafeKey::new(unbound)),
            });
        }
        let id_hasher = match id_hash_key {
            None => None,
            Some(key) => {
                if !(MIN_ID_HASH_KEY_BYTES..=MAX_ID_HASH_KEY_BYTES).contains(&key.len()) {
                    return Err((
                        2,
                        format!(
                            "is {} bytes long; it must be {MIN_ID_HASH_KEY_BYTES} to {MAX_ID_HASH_KEY_BYTES} bytes",
                            key.len()
                        ),
                    ));
                }
                Some(hmac::Key::new(hmac::HMAC_SHA256, key))
            }
        };
        if compress_above.is_some_and(|n| n > MAX_SESSION_BYTES) {
            return Err((
                3,
                format!("must be a session length from 0 to {MAX_SESSION_BYTES} bytes"),
            ));
        }
        Ok(AtRest {
            keys: sealing,
            id_hasher,
            compress_above,
            decrypt_only,
        })
    }

    /// Whether sessions are written encrypted.
    pub(crate) fn encrypts(&self) -> bool {
        !self.keys.is_empty() && !self.decrypt_only
    }

    /// Whether the keys only decrypt.
    pub(crate) fn decrypt_only(&self) -> bool {
        self.decrypt_only
    }

    /// Whether session ids are hashed at rest.
    pub(crate) fn hashes_ids(&self) -> bool {
        self.id_hasher.is_some()
    }

    /// The compression threshold, when compression is on.
    pub(crate) fn compress_threshold(&self) -> Option<usize> {
        self.compress_above
    }

    /// The key ids, the encrypting one first, as hex.
    pub(crate) fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| hex(&k.id)).collect()
    }

    /// The part of the table key after the prefix: the session id, or its keyed hash.
    pub(crate) fn stored_id(&self, sid: &str) -> String {
        match &self.id_hasher {
            None => sid.to_owned(),
            Some(key) => base64url(hmac::sign(key, sid.as_bytes()).as_ref()),
        }
    }

    /// Whether `id`, the part of a table key after the prefix, can be one this store wrote:
    /// with hashed ids, a hash (43 characters of base64url); otherwise any id. Listings leave
    /// out the others, which `get` cannot find.
    pub(crate) fn could_be_stored_id(&self, id: &str) -> bool {
        self.id_hasher.is_none()
            || id.len() == HASHED_ID_CHARS
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// The value of the `user` attribute for `user`: the user id, or its keyed hash.
    pub(crate) fn stored_user(&self, user: String) -> String {
        match &self.id_hasher {
            None => user,
            Some(key) => {
                let mut context = hmac::Context::with_key(key);
                context.update(b"user:");
                context.update(user.as_bytes());
                base64url(context.sign().as_ref())
            }
        }
    }

    /// The most bytes the `sess` of `session` takes, when that is known before encoding (no
    /// compression of a session this long).
    pub(crate) fn stored_len_bound(&self, session: &str) -> Option<usize> {
        if self.compresses(session) {
            return None;
        }
        Some(if self.encrypts() {
            session.len() + ENCRYPTION_OVERHEAD
        } else {
            session.len()
        })
    }

    fn compresses(&self, session: &str) -> bool {
        self.compress_above.is_some_and(|n| session.len() > n)
    }

    /// The `sess` attribute of `session` under `table_key`, with a random nonce.
    pub(crate) fn encode(&self, table_key: &str, session: &str) -> Result<AttributeValue> {
        let mut nonce = [0; NONCE_BYTES];
        if self.encrypts() {
            SystemRandom::new().fill(&mut nonce).map_err(|_| {
                Error::new(
                    ErrorKind::Internal,
                    "the system's random number generator failed",
                )
            })?;
        }
        self.encode_with_nonce(table_key, session, nonce)
    }

    /// [`encode`](Self::encode) with the nonce given: for the shared test vectors only. A
    /// nonce must never be used twice with one key.
    #[doc(hidden)]
    pub(crate) fn encode_with_nonce(
        &self,
        table_key: &str,
        session: &str,
        nonce: [u8; NONCE_BYTES],
    ) -> Result<AttributeValue> {
        let mut flags = 0;
        let mut payload = None;
        if self.compresses(session) {
            if session.len() > MAX_SESSION_BYTES {
                return Err(Error::new(
                    ErrorKind::ItemTooLarge,
                    format!("the session is over {MAX_SESSION_BYTES} bytes"),
                ));
            }
            let compressed =
                miniz_oxide::deflate::compress_to_vec(session.as_bytes(), COMPRESSION_LEVEL);
            // Kept only when it saves something (random data does not compress).
            if compressed.len() < session.len() {
                flags |= FLAG_COMPRESSED;
                payload = Some(compressed);
            }
        }
        let Some(key) = self.keys.first().filter(|_| !self.decrypt_only) else {
            return Ok(match payload {
                None => AttributeValue::S(session.to_owned()),
                Some(compressed) => {
                    let mut out = Vec::with_capacity(HEADER_BYTES + compressed.len());
                    out.extend_from_slice(&[FORMAT_VERSION, flags]);
                    out.extend_from_slice(&compressed);
                    AttributeValue::B(out.into())
                }
            });
        };
        flags |= FLAG_ENCRYPTED;
        let payload: &[u8] = payload.as_deref().unwrap_or(session.as_bytes());
        let mut out = Vec::with_capacity(ENCRYPTION_OVERHEAD + payload.len());
        out.extend_from_slice(&[FORMAT_VERSION, flags]);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(payload);
        let mut body = out.split_off(start);
        key.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(
                    &out[..HEADER_BYTES + KEY_ID_BYTES],
                    table_key,
                )),
                &mut body,
            )
            .map_err(|_| Error::new(ErrorKind::Internal, "encryption failed"))?;
        out.extend_from_slice(&body);
        Ok(AttributeValue::B(out.into()))
    }

    /// [`Self::decode_known`] without a known text.
    #[cfg(test)]
    pub(crate) fn decode(&self, table_key: &str, value: AttributeValue) -> Result<Decoded> {
        self.decode_known(table_key, value, None)
    }

    /// Decodes a stored `sess` of the item under `table_key`. `Err(UNREADABLE)` for a key this
    /// store was not given or a newer format; [`Decoded::Damaged`] for anything else it
    /// cannot read. `known`: a text known to be JSON text (the session's last, see
    /// `memory::KnownJson`); a decoded text equal to it is not checked again.
    pub(crate) fn decode_known(
        &self,
        table_key: &str,
        value: AttributeValue,
        known: Option<&str>,
    ) -> Result<Decoded> {
        let is_json = |text: &str| known == Some(text) || crate::item::is_json(text);
        let bytes = match value {
            AttributeValue::S(text) => {
                return Ok(if is_json(&text) {
                    Decoded::Session(text)
                } else {
                    Decoded::Damaged(NOT_JSON_TEXT)
                });
            }
            AttributeValue::B(blob) => blob.into_inner(),
            _ => {
                return Ok(Decoded::Damaged(
                    "the session is neither a string nor binary",
                ));
            }
        };
        if bytes.len() < HEADER_BYTES {
            return Ok(Decoded::Damaged("the binary session has no header"));
        }
        let (version, flags) = (bytes[0], bytes[1]);
        if version == 0 {
            return Ok(Decoded::Damaged("the binary session has no format version"));
        }
        if version != FORMAT_VERSION || flags & !(FLAG_COMPRESSED | FLAG_ENCRYPTED) != 0 {
            return Err(Error::new(
                ErrorKind::Unreadable,
                format!(
                    "a stored session is in item format {version} (flags {flags:#04x}), which \
                     this version of connect-dynamodb does not read: upgrade it"
                ),
            ));
        }
        let payload = if flags & FLAG_ENCRYPTED != 0 {
            if bytes.len() < ENCRYPTION_OVERHEAD {
                return Ok(Decoded::Damaged("the encrypted session is truncated"));
            }
            let id = &bytes[HEADER_BYTES..HEADER_BYTES + KEY_ID_BYTES];
            let Some(key) = self.keys.iter().find(|k| k.id == id) else {
                return Err(Error::new(
                    ErrorKind::Unreadable,
                    format!(
                        "a stored session is encrypted with key id {}, which is not among this \
                         store's encryption keys ({}): add that key back",
                        hex(id),
                        if self.keys.is_empty() {
                            "none are set".to_owned()
                        } else {
                            self.key_ids().join(", ")
                        }
                    ),
                ));
            };
            let header_end = HEADER_BYTES + KEY_ID_BYTES;
            let mut nonce = [0; NONCE_BYTES];
            nonce.copy_from_slice(&bytes[header_end..header_end + NONCE_BYTES]);
            let mut body = bytes[header_end + NONCE_BYTES..].to_vec();
            let aad = associated_data(&bytes[..header_end], table_key);
            match key.key.open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            ) {
                Ok(plain) => {
                    let len = plain.len();
                    body.truncate(len);
                    body
                }
                Err(_) => {
                    return Ok(Decoded::Damaged(
                        "the encrypted session does not decrypt under its key: damaged, \
                         tampered with, or moved from another session id",
                    ));
                }
            }
        } else {
            bytes[HEADER_BYTES..].to_vec()
        };
        let text = if flags & FLAG_COMPRESSED != 0 {
            match miniz_oxide::inflate::decompress_to_vec_with_limit(&payload, MAX_SESSION_BYTES) {
                Ok(text) => text,
                Err(_) => {
                    return Ok(Decoded::Damaged(
                        "the compressed session does not inflate (or inflates past 16 MiB)",
                    ));
                }
            }
        } else {
            payload
        };
        match String::from_utf8(text) {
            Ok(text) if is_json(&text) => Ok(Decoded::Session(text)),
            _ => Ok(Decoded::Damaged("the decoded session is not JSON text")),
        }
    }

    /// Whether the stored `sess` of a live session should be rewritten by a re-encryption
    /// pass: encryption is on and it is not encrypted with the first key.
    pub(crate) fn needs_reencryption(&self, value: &AttributeValue) -> bool {
        let Some(primary) = self.keys.first().filter(|_| !self.decrypt_only) else {
            return false;
        };
        match value {
            AttributeValue::S(_) => true,
            AttributeValue::B(blob) => {
                let bytes = blob.as_ref();
                bytes.len() < HEADER_BYTES + KEY_ID_BYTES
                    || bytes[1] & FLAG_ENCRYPTED == 0
                    || bytes[HEADER_BYTES..HEADER_BYTES + KEY_ID_BYTES] != primary.id
            }
            _ => false,
        }
    }
}

fn associated_data(header: &[u8], table_key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + table_key.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(table_key.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_1: [u8; 32] = [1; 32];
    const KEY_2: [u8; 32] = [2; 32];

    fn store(keys: &[[u8; 32]], hash: bool, compress: Option<usize>) -> AtRest {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
        AtRest::new(&keys, hash.then_some(&[7u8; 32][..]), compress, false).expect("valid")
    }

    fn session(text: Decoded) -> String {
        match text {
            Decoded::Session(s) => s,
            Decoded::Damaged(why) => panic!("damaged: {why}"),
        }
    }

    #[test]
    fn off_is_connect_dynamodb_text() {
        let plain = store(&[], false, None);
        let value = plain.encode("sess:a", r#"{"a":1}"#).expect("encodes");
        assert_eq!(value, AttributeValue::S(r#"{"a":1}"#.to_owned()));
        assert_eq!(plain.stored_id("abc"), "abc");
        assert_eq!(plain.stored_user("42".to_owned()), "42");
    }

    #[test]
    fn encrypts_and_decrypts_under_the_same_key_only() {
        let sealed = store(&[KEY_1], false, None);
        let text = r#"{"user":"ada","cart":[1,2,3]}"#;
        let value = sealed.encode("sess:a", text).expect("encodes");
        let AttributeValue::B(blob) = &value else {
            panic!("binary")
        };
        assert_eq!(blob.as_ref().len(), text.len() + ENCRYPTION_OVERHEAD);
        assert!(!blob.as_ref().windows(5).any(|w| w == b"\"ada\""));
        assert_eq!(
            session(sealed.decode("sess:a", value.clone()).expect("reads")),
            text
        );
        // Another table key: the associated data differs.
        assert!(matches!(
            sealed.decode("sess:b", value.clone()).expect("reads"),
            Decoded::Damaged(_)
        ));
        // A flipped bit anywhere after the header.
        let mut bytes = blob.as_ref().to_vec();
        for at in [HEADER_BYTES + KEY_ID_BYTES, bytes.len() - 1, 20] {
            bytes[at] ^= 0x40;
            let flipped = AttributeValue::B(bytes.clone().into());
            assert!(matches!(
                sealed.decode("sess:a", flipped).expect("reads"),
                Decoded::Damaged(_)
            ));
            bytes[at] ^= 0x40;
        }
        // Rotated: a store whose second key is KEY_1 still reads it; one without KEY_1 says so.
        let rotated = store(&[KEY_2, KEY_1], false, None);
        assert_eq!(
            session(rotated.decode("sess:a", value.clone()).expect("reads")),
            text
        );
        assert!(rotated.needs_reencryption(&value));
        assert!(!sealed.needs_reencryption(&value));
        let other = store(&[KEY_2], false, None);
        let err = other
            .decode("sess:a", value.clone())
            .expect_err("unknown key");
        assert_eq!(err.kind(), ErrorKind::Unreadable);
        assert!(err.to_string().contains(&hex(&key_id(&KEY_1))), "{err}");
        let none = store(&[], false, None);
        assert_eq!(
            none.decode("sess:a", value).expect_err("no keys").kind(),
            ErrorKind::Unreadable
        );
    }

    #[test]
    fn decrypt_only_keys_read_but_do_not_write_ciphertext() {
        let sealed = store(&[KEY_1], false, None);
        let value = sealed.encode("k", r#"{"a":1}"#).expect("encodes");
        let reader = AtRest::new(&[KEY_1.to_vec()], None, None, true).expect("valid decrypt-only");
        assert!(!reader.encrypts() && reader.decrypt_only());
        assert_eq!(
            session(reader.decode("k", value.clone()).expect("reads")),
            r#"{"a":1}"#
        );
        assert_eq!(
            reader.encode("k", r#"{"a":2}"#).expect("encodes"),
            AttributeValue::S(r#"{"a":2}"#.to_owned())
        );
        assert!(!reader.needs_reencryption(&value));
        assert_eq!(
            AtRest::new(&[], None, None, true).expect_err("no keys").0,
            4
        );
    }

    #[test]
    fn nonces_are_random() {
        let sealed = store(&[KEY_1], false, None);
        let a = sealed.encode("sess:a", "{}").expect("encodes");
        let b = sealed.encode("sess:a", "{}").expect("encodes");
        assert_ne!(a, b);
    }

    #[test]
    fn a_known_text_is_not_checked_again_and_any_other_is() {
        let big = format!(
            r#"{{"items":[{}]}}"#,
            vec![r#"{"sku":"A-1","qty":1}"#; 500].join(",")
        );
        // Not JSON, at the same length.
        let damaged = big.replacen(':', " ", 1);
        for at_rest in [
            store(&[], false, None),
            store(&[], false, Some(100)),
            store(&[[9; 32]], false, Some(100)),
        ] {
            let value = at_rest.encode("k", &big).expect("encodes");
            let read = at_rest.decode_known("k", value, Some(&big)).expect("reads");
            assert_eq!(session(read), big);
            let value = at_rest.encode("k", &damaged).expect("encodes");
            let read = at_rest.decode_known("k", value, Some(&big)).expect("reads");
            assert!(matches!(read, Decoded::Damaged(_)));
        }
    }

    #[test]
    fn compresses_above_the_threshold_only_and_reads_both_forms() {
        let squeeze = store(&[], false, Some(100));
        let small = r#"{"a":1}"#;
        assert_eq!(
            squeeze.encode("k", small).expect("encodes"),
            AttributeValue::S(small.to_owned())
        );
        let big = format!(
            r#"{{"items":[{}]}}"#,
            vec![r#"{"sku":"A-1","qty":1}"#; 500].join(",")
        );
        let value = squeeze.encode("k", &big).expect("encodes");
        let AttributeValue::B(blob) = &value else {
            panic!("binary")
        };
        assert_eq!(&blob.as_ref()[..2], &[FORMAT_VERSION, FLAG_COMPRESSED]);
        assert!(blob.as_ref().len() * 10 < big.len());
        // Any store reads it, compression on or off.
        assert_eq!(
            session(store(&[], false, None).decode("k", value).expect("reads")),
            big
        );
        // Compressed and encrypted.
        let both = store(&[KEY_1], false, Some(100));
        let value = both.encode("k", &big).expect("encodes");
        let AttributeValue::B(blob) = &value else {
            panic!("binary")
        };
        assert_eq!(blob.as_ref()[1], FLAG_COMPRESSED | FLAG_ENCRYPTED);
        assert_eq!(session(both.decode("k", value).expect("reads")), big);
        // Incompressible text is stored as it is.
        let noise: String = (0..400u32)
            .map(|i| char::from(b'a' + (i.wrapping_mul(2_654_435_761) >> 27) as u8 % 26))
            .collect();
        let noise = format!("\"{noise}\"");
        let value = squeeze.encode("k", &noise).expect("encodes");
        assert!(
            matches!(&value, AttributeValue::S(_))
                || matches!(&value, AttributeValue::B(b) if b.as_ref().len() < noise.len())
        );
    }

    #[test]
    fn hostile_binary_values_are_damaged_or_unreadable_never_a_panic() {
        let both = store(&[KEY_1], true, Some(0));
        for bytes in [
            vec![],
            vec![1],
            vec![0, 0, b'{', b'}'],
            vec![1, FLAG_ENCRYPTED, 0, 0],
            vec![1, FLAG_COMPRESSED, 0xff, 0xff, 0xff],
            vec![1, 0, 0xff, 0xfe],
            vec![1, 0, b'{'],
        ] {
            let value = AttributeValue::B(bytes.into());
            assert!(matches!(
                both.decode("k", value).expect("reads"),
                Decoded::Damaged(_)
            ));
        }
        for bytes in [vec![2, 0, b'{', b'}'], vec![1, 0x80, b'{', b'}']] {
            let value = AttributeValue::B(bytes.into());
            assert_eq!(
                both.decode("k", value).expect_err("newer").kind(),
                ErrorKind::Unreadable
            );
        }
        // A deflate bomb past the limit.
        let huge = vec![b' '; MAX_SESSION_BYTES + 10];
        let mut bomb = vec![1, FLAG_COMPRESSED];
        bomb.extend(miniz_oxide::deflate::compress_to_vec(&huge, 6));
        assert!(matches!(
            both.decode("k", AttributeValue::B(bomb.into()))
                .expect("reads"),
            Decoded::Damaged(_)
        ));
    }

    #[test]
    fn hashes_ids_and_users_with_the_key() {
        let hashed = store(&[], true, None);
        let id = hashed.stored_id("abc");
        assert_eq!(id.len(), 43);
        assert_ne!(id, "abc");
        assert_eq!(id, hashed.stored_id("abc"));
        assert_ne!(id, hashed.stored_id("abd"));
        assert_ne!(hashed.stored_user("abc".to_owned()), id);
        let other = AtRest::new(&[], Some(&[8u8; 32][..]), None, false).expect("valid");
        assert_ne!(other.stored_id("abc"), id);
    }

    #[test]
    fn checks_keys_and_never_shows_them() {
        let short = AtRest::new(&[vec![0; 16]], None, None, false).expect_err("short");
        assert!(short.1.contains("16 bytes"), "{}", short.1);
        let twice =
            AtRest::new(&[KEY_1.to_vec(), KEY_1.to_vec()], None, None, false).expect_err("twice");
        assert!(twice.1.contains("twice"));
        assert!(AtRest::new(&[], Some(&[0; 31][..]), None, false).is_err());
        assert!(AtRest::new(&[], Some(&[0; 65][..]), None, false).is_err());
        assert!(AtRest::new(&[], None, Some(MAX_SESSION_BYTES + 1), false).is_err());
        let shown = format!("{:?}", store(&[KEY_1], true, Some(10)));
        assert!(shown.contains(&hex(&key_id(&KEY_1))));
        assert!(!shown.contains("1, 1, 1"));
        assert_eq!(
            format!("{:?}", Secret::Base64("c2VjcmV0".to_owned())),
            "Secret(** redacted **)"
        );
    }

    #[test]
    fn reads_base64_in_both_alphabets() {
        let key: Vec<u8> = (0..32u8)
            .map(|b| b.wrapping_mul(37).wrapping_add(250))
            .collect();
        let standard = aws_smithy_types::base64::encode(&key);
        let url = base64url(&key);
        for text in [
            standard.clone(),
            standard.trim_end_matches('=').to_owned(),
            url,
        ] {
            assert_eq!(Secret::Base64(text).bytes().expect("decodes"), key);
        }
        assert!(Secret::Base64("not base64!".to_owned()).bytes().is_err());
        assert!(Secret::Base64(String::new()).bytes().is_err());
    }

    /// The at-rest vectors of `tests/vectors/stored-items.json` are exactly what this module
    /// writes: each `built` recipe, encoded here, gives the vector's `sess` byte for byte.
    #[test]
    fn shared_vectors_are_built_as_documented() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/stored-items.json"
        ))
        .expect("vector file");
        let file: serde_json::Value = serde_json::from_str(&text).expect("vector JSON");
        let key_of = |name: &str| {
            let text = file["at_rest"]["keys"][name].as_str().expect("key");
            Secret::Base64(text.to_owned()).bytes().expect("base64")
        };
        let hashing = AtRest::new(&[], Some(&key_of("H")), None, false).expect("valid");
        let items = file["items"].as_array().expect("items");
        let sess_of = |name: &str| -> Vec<u8> {
            let vector = items.iter().find(|v| v["name"] == name).expect("vector");
            let text = vector["attributes"]["sess"]["B"]
                .as_str()
                .expect("binary sess");
            aws_smithy_types::base64::decode(text).expect("base64")
        };
        let mut wrong = Vec::new();
        let mut checked = 0;
        for vector in items {
            let Some(built) = vector.get("built") else {
                continue;
            };
            let name = vector["name"].as_str().expect("name");
            let table_key = vector["key"]
                .as_str()
                .map_or_else(|| format!("sess:{name}"), str::to_owned);
            if vector["config"] == "at-rest-hashed" {
                assert_eq!(
                    table_key,
                    format!("sess:{}", hashing.stored_id(name)),
                    "{name}"
                );
            }
            let expected: Vec<u8> = if let Some(from) = built["copy_of"].as_str() {
                let mut bytes = sess_of(from);
                if let Some(byte) = built["flip_byte"]
                    .as_u64()
                    .and_then(|at| bytes.get_mut(at as usize))
                {
                    *byte ^= 0x01;
                }
                bytes
            } else if built["literal"] == true {
                sess_of(name)
            } else {
                let keys: Vec<Vec<u8>> = built["key"].as_str().map(key_of).into_iter().collect();
                let compress = (built["compress"] == true).then_some(0);
                let store = AtRest::new(&keys, None, compress, false).expect("valid");
                let mut nonce = [0; NONCE_BYTES];
                if let Some(hex_nonce) = built["nonce"].as_str() {
                    for (at, byte) in nonce.iter_mut().enumerate() {
                        *byte =
                            u8::from_str_radix(&hex_nonce[2 * at..2 * at + 2], 16).expect("hex");
                    }
                }
                let session = built["session"].as_str().expect("session");
                match store
                    .encode_with_nonce(&table_key, session, nonce)
                    .expect("encodes")
                {
                    AttributeValue::B(blob) => blob.into_inner(),
                    other => panic!("{name}: not binary: {other:?}"),
                }
            };
            let stored = vector["attributes"]["sess"]["B"]
                .as_str()
                .unwrap_or_default();
            let expected = aws_smithy_types::base64::encode(&expected);
            if stored != expected {
                wrong.push(format!("{name} {expected}"));
            }
            checked += 1;
        }
        assert!(checked >= 10, "{checked} built vectors");
        assert!(
            wrong.is_empty(),
            "vectors not as built:\n{}",
            wrong.join("\n")
        );
    }
}
