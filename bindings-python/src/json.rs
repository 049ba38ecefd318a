//! A faster reading of a stored session's JSON text for the framework integrations
//! (`connect_dynamodb.contrib._stored_text.parse`): the members of a JSON object as Python
//! values, with where each value's text lies.
//!
//! It gives what `json.loads` gives, or declines (returns `None`) and leaves the text to
//! Python's own `json`. It reads ASCII text, which is what `json.dumps` writes by default (and
//! what the integrations store), and declines non-ASCII text, `NaN` and `Infinity`, an escaped
//! lone surrogate, nesting deeper than [`MAX_DEPTH`] and any text `json` would reject, so that
//! the values, their order, the errors and their messages stay `json`'s own.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// Deeper nesting goes to Python's `json`, whose recursion limit decides.
const MAX_DEPTH: usize = 200;

enum Stop {
    /// Not read here: Python's `json` reads the text.
    Decline,
    /// A Python error building a value (out of memory).
    Python(PyErr),
}

impl From<PyErr> for Stop {
    fn from(err: PyErr) -> Self {
        Stop::Python(err)
    }
}

type Read<T> = Result<T, Stop>;

/// The members of the JSON object `text` holds, as `(values, spans)`: two dicts by key, the
/// values as `json.loads(text)` gives them, and `(start, end)`, where each value's text lies
/// in `text`; `None` when the text is left to Python's `json` (see the module's docs).
///
/// `hook` and `hook_keys`: `json`'s `object_hook`, for a hook that changes only objects of one
/// key that `hook_keys` holds (Flask's tags) and is called for those alone, inside out as
/// `json` calls it. An error in the hook declines, so that `json` raises it.
#[pyfunction]
#[pyo3(name = "_json_members", signature = (text, hook = None, hook_keys = None))]
pub(crate) fn json_members<'py>(
    text: &Bound<'py, PyString>,
    hook: Option<Bound<'py, PyAny>>,
    hook_keys: Option<Bound<'py, PyAny>>,
) -> PyResult<Option<(Bound<'py, PyDict>, Bound<'py, PyDict>)>> {
    let py = text.py();
    // A subclass of str may answer `isascii` as it likes: only a str itself is read here.
    if !text.is_exact_instance_of::<PyString>()
        || !text
            .call_method0(pyo3::intern!(py, "isascii"))?
            .is_truthy()?
    {
        return Ok(None);
    }
    let text = text.to_cow()?;
    let mut reader = Reader {
        py,
        text: text.as_bytes(),
        chars: &text,
        at: 0,
        depth: 0,
        keys: HashMap::default(),
        hook: hook.zip(hook_keys),
    };
    match reader.members() {
        Ok(members) => Ok(Some(members)),
        Err(Stop::Decline) => Ok(None),
        Err(Stop::Python(err)) => Err(err),
    }
}

/// Keys kept for reuse: a session's keys are few, and a text of many distinct keys (which a
/// user may choose, in a dict the app stores) cannot make the lookups slow.
const MAX_KEYS: usize = 64;

/// FNV-1a, for the few keys [`MAX_KEYS`] allows.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

struct Reader<'py, 'a> {
    py: Python<'py>,
    /// ASCII, so that byte offsets are character offsets.
    text: &'a [u8],
    /// The same text, to take strings from without checking their UTF-8 again.
    chars: &'a str,
    at: usize,
    depth: usize,
    /// The first keys read, by their text: a key repeated (in every item of a list) is one
    /// string, hashed once, as `json` makes it.
    keys: HashMap<&'a [u8], Bound<'py, PyString>, BuildHasherDefault<Fnv>>,
    /// The object hook and the keys of the objects it is called for.
    hook: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
}

impl<'py, 'a> Reader<'py, 'a> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Read<()> {
        if self.peek() != Some(byte) {
            return Err(Stop::Decline);
        }
        self.at += 1;
        Ok(())
    }

    fn members(&mut self) -> Read<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
        let values = PyDict::new(self.py);
        let spans = PyDict::new(self.py);
        self.skip_whitespace();
        self.expect(b'{')?;
        self.items(b'}', |reader| {
            let key = reader.key_and_colon()?;
            let start = reader.at;
            let value = reader.value()?;
            let span = PyTuple::new(reader.py, [start, reader.at])?;
            values.set_item(&key, value)?;
            spans.set_item(key, span)?;
            Ok(())
        })?;
        self.skip_whitespace();
        if self.at != self.text.len() {
            return Err(Stop::Decline);
        }
        Ok((values, spans))
    }

    /// The items of an array or object up to `close` (after its opening bracket), each read by
    /// `item`, the commas and whitespace between them skipped.
    fn items(&mut self, close: u8, mut item: impl FnMut(&mut Self) -> Read<()>) -> Read<()> {
        self.skip_whitespace();
        if self.peek() == Some(close) {
            self.at += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => {
                    self.at += 1;
                    self.skip_whitespace();
                }
                Some(byte) if byte == close => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(Stop::Decline),
            }
        }
    }

    /// A member's key and the colon after it, with the whitespace around.
    fn key_and_colon(&mut self) -> Read<Bound<'py, PyString>> {
        let key = self.key()?;
        self.skip_whitespace();
        self.expect(b':')?;
        self.skip_whitespace();
        Ok(key)
    }

    fn value(&mut self) -> Read<Bound<'py, PyAny>> {
        match self.peek() {
            Some(b'"') => Ok(self.string()?.into_any()),
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b't') => self.word(b"true", PyBool::new(self.py, true).to_owned().into_any()),
            Some(b'f') => self.word(b"false", PyBool::new(self.py, false).to_owned().into_any()),
            Some(b'n') => self.word(b"null", self.py.None().into_bound(self.py)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(Stop::Decline),
        }
    }

    fn word(&mut self, word: &[u8], value: Bound<'py, PyAny>) -> Read<Bound<'py, PyAny>> {
        if !self.text[self.at..].starts_with(word) {
            return Err(Stop::Decline);
        }
        self.at += word.len();
        Ok(value)
    }

    fn nested(
        &mut self,
        read: fn(&mut Self) -> Read<Bound<'py, PyAny>>,
    ) -> Read<Bound<'py, PyAny>> {
        if self.depth >= MAX_DEPTH {
            return Err(Stop::Decline);
        }
        self.depth += 1;
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn object(&mut self) -> Read<Bound<'py, PyAny>> {
        let object = PyDict::new(self.py);
        self.at += 1;
        self.items(b'}', |reader| {
            let key = reader.key_and_colon()?;
            object.set_item(key, reader.value()?)?;
            Ok(())
        })?;
        if let Some((hook, keys)) = &self.hook
            && object.len() == 1
            && let Some((key, _)) = object.iter().next()
            && keys.contains(key)?
        {
            return hook.call1((object,)).map_err(|_| Stop::Decline);
        }
        Ok(object.into_any())
    }

    fn array(&mut self) -> Read<Bound<'py, PyAny>> {
        let array = PyList::empty(self.py);
        self.at += 1;
        self.items(b']', |reader| Ok(array.append(reader.value()?)?))?;
        Ok(array.into_any())
    }

    /// An object's key: a string, the same object for the same text.
    fn key(&mut self) -> Read<Bound<'py, PyString>> {
        let text: &'a [u8] = self.text;
        let start = self.at;
        // A key read before: found by its text up to the closing quote (an escape or a control
        // character ends the search, and the key is read as any string).
        if let Some(rest) = text.get(start + 1..).filter(|_| self.peek() == Some(b'"'))
            && let Some(len) = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            && rest[len] == b'"'
            && let Some(key) = self.keys.get(&text[start..start + len + 2])
        {
            self.at = start + len + 2;
            return Ok(key.clone());
        }
        let key = self.string()?;
        if self.keys.len() < MAX_KEYS {
            self.keys.insert(&text[start..self.at], key.clone());
        }
        Ok(key)
    }

    /// A string, from its opening quote.
    fn string(&mut self) -> Read<Bound<'py, PyString>> {
        self.expect(b'"')?;
        let start = self.at;
        loop {
            match self.peek() {
                Some(b'"') => {
                    let plain = &self.chars[start..self.at];
                    self.at += 1;
                    return Ok(PyString::new(self.py, plain));
                }
                Some(b'\\') => break,
                // A control character: `json` (strict) rejects it.
                Some(0..0x20) | None => return Err(Stop::Decline),
                Some(_) => self.at += 1,
            }
        }
        let mut decoded = self.chars[start..self.at].to_owned();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(PyString::new(self.py, &decoded));
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(Stop::Decline),
                    };
                    self.at += 1;
                    decoded.push(escaped);
                }
                Some(0..0x20) | None => return Err(Stop::Decline),
                Some(byte) => {
                    decoded.push(char::from(byte));
                    self.at += 1;
                }
            }
        }
    }

    /// The character of a `\uXXXX` escape (with the `u` at `self.at`; leaves `self.at` on the
    /// escape's last digit), a surrogate pair's two escapes making one character. A lone
    /// surrogate, which a Rust string cannot hold, is declined.
    fn unicode_escape(&mut self) -> Read<char> {
        let first = self.hex4(self.at + 1)?;
        self.at += 4;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.text.get(self.at + 1..self.at + 3) != Some(b"\\u") {
                    return Err(Stop::Decline);
                }
                let second = self.hex4(self.at + 3)?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(Stop::Decline);
                }
                self.at += 6;
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(Stop::Decline),
            code => code,
        };
        char::from_u32(code).ok_or(Stop::Decline)
    }

    fn hex4(&self, at: usize) -> Read<u32> {
        let digits = self.chars.get(at..at + 4).ok_or(Stop::Decline)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Stop::Decline);
        }
        u32::from_str_radix(digits, 16).map_err(|_| Stop::Decline)
    }

    /// A number as `json` reads one: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`, an int
    /// without a fraction or exponent, else a float.
    fn number(&mut self) -> Read<Bound<'py, PyAny>> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Stop::Decline), // -Infinity, or no digit
        }
        let mut float = false;
        if self.peek() == Some(b'.') && self.digit_at(self.at + 1) {
            self.at += 1;
            self.digits();
            float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            let sign = usize::from(matches!(self.text.get(self.at + 1), Some(b'-' | b'+')));
            if self.digit_at(self.at + 1 + sign) {
                self.at += 1 + sign;
                self.digits();
                float = true;
            }
        }
        let number = &self.chars[start..self.at];
        if float {
            // Rust's parse, like Python's float(), rounds correctly.
            let value: f64 = number.parse().map_err(|_| Stop::Decline)?;
            return Ok(PyFloat::new(self.py, value).into_any());
        }
        match number.parse::<i64>() {
            Ok(value) => Ok(PyInt::new(self.py, value).into_any()),
            // Python's int() takes any length (up to its limit on digits, whose error is
            // `json`'s to raise).
            Err(_) => self
                .py
                .get_type::<PyInt>()
                .call1((number,))
                .map_err(|_| Stop::Decline),
        }
    }

    fn digit_at(&self, at: usize) -> bool {
        self.text.get(at).is_some_and(u8::is_ascii_digit)
    }

    fn digits(&mut self) {
        while self.digit_at(self.at) {
            self.at += 1;
        }
    }
}
