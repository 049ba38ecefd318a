//! What a store remembers of the sessions it recently read or wrote, bounded: the stored expiry
//! (for touch throttling without a read), the creation time (so a save keeps it), with
//! versioned writes on, the versions and texts it loaded (the base of a three-way merge), and
//! the last large text of each session found to be JSON ([`KnownJson`]).

use std::collections::HashMap;
use std::sync::Arc;

/// Sessions remembered per generation; two generations are kept, so between this and twice
/// this many.
pub(crate) const MEMORY_SESSIONS: usize = 32 * 1024;
/// Bytes of loaded session text remembered per generation (versioned writes only): a
/// generation is retired when it holds this much, so at most twice this is held.
pub(crate) const MEMORY_BYTES: usize = 16 * 1024 * 1024;
/// Loads remembered per session: requests of one session running at once in this process
/// each loaded one of these. A request that runs while more than this many loads and saves
/// of its session happen in the same process no longer finds what it loaded: its save
/// replaces the session under `mine` and is refused under `error`.
pub(crate) const LOADS_PER_SESSION: usize = 16;

/// One load of a session: the version read and the text read, or the version and text this
/// process wrote (the base of the same request's next save).
#[derive(Clone)]
pub(crate) struct Load {
    pub(crate) version: u64,
    pub(crate) session: Arc<str>,
    /// For a save that merged: the saving request's own session, without the other requests'
    /// changes the merge added (what the request still holds, and saves again from).
    pub(crate) own: Option<Arc<str>>,
}

#[derive(Clone, Default)]
pub(crate) struct Seen {
    pub(crate) expires: f64,
    pub(crate) created: Option<f64>,
    pub(crate) loads: Vec<Load>,
}

/// What a remembered value counts against its memory's byte bound.
trait Weighed {
    fn bytes(&self) -> usize;
}

impl Weighed for Seen {
    fn bytes(&self) -> usize {
        self.loads
            .iter()
            .map(|l| l.session.len() + l.own.as_ref().map_or(0, |o| o.len()))
            .sum()
    }
}

impl Weighed for Arc<str> {
    fn bytes(&self) -> usize {
        self.len()
    }
}

/// Two generations of a map by table key: when its owner finds the current one full, it
/// becomes the previous one and the old previous one is dropped, so memory stays bounded and
/// recent sessions stay known. The owner decides when a generation is full;
/// `current_bytes` is what the current one holds.
struct Generations<V> {
    current: HashMap<String, V>,
    current_bytes: usize,
    previous: HashMap<String, V>,
}

impl<V> Default for Generations<V> {
    fn default() -> Self {
        Generations {
            current: HashMap::new(),
            current_bytes: 0,
            previous: HashMap::new(),
        }
    }
}

impl<V: Weighed> Generations<V> {
    fn get(&self, key: &str) -> Option<&V> {
        self.current.get(key).or_else(|| self.previous.get(key))
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.current
            .get_mut(key)
            .or_else(|| self.previous.get_mut(key))
    }

    fn take(&mut self, key: &str) -> Option<V> {
        if let Some(value) = self.current.remove(key) {
            self.current_bytes -= value.bytes();
            return Some(value);
        }
        self.previous.remove(key)
    }

    /// Inserts into the current generation (the key must not be held: [`take`](Self::take)
    /// it first).
    fn insert(&mut self, key: &str, value: V) {
        self.current_bytes += value.bytes();
        self.current.insert(key.to_owned(), value);
    }

    /// The current generation becomes the previous one.
    fn retire(&mut self) {
        self.previous = std::mem::take(&mut self.current);
        self.current_bytes = 0;
    }

    fn clear(&mut self) {
        self.current.clear();
        self.previous.clear();
        self.current_bytes = 0;
    }
}

/// Texts shorter than this are checked again on every read: the check of a few KB costs a few
/// microseconds, less than remembering them would be worth.
pub(crate) const KNOWN_JSON_MIN_BYTES: usize = 4 * 1024;
/// Bytes of known JSON text remembered per generation; two generations are kept. The keys
/// come on top: one per text, so at most one per [`KNOWN_JSON_MIN_BYTES`] of text.
pub(crate) const KNOWN_JSON_BYTES: usize = 8 * 1024 * 1024;

/// The last text of each session (of [`KNOWN_JSON_MIN_BYTES`] or more) that this process
/// found to be JSON text, by table key: the text it wrote, or read and checked. A read that
/// returns exactly that text again needs a comparison of bytes, not the check of the whole
/// text (a 50 KB session's check costs 50 to 100 µs). Two generations, as [`SessionMemory`]'s;
/// a generation is retired before a text would take it over [`KNOWN_JSON_BYTES`].
#[derive(Default)]
pub(crate) struct KnownJson {
    texts: Generations<Arc<str>>,
}

impl KnownJson {
    /// The text remembered for `key`.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<str>> {
        self.texts.get(key).cloned()
    }

    /// Remembers `text`, known to be JSON text, as the last text of `key` (a shorter text
    /// than [`KNOWN_JSON_MIN_BYTES`] forgets the key's).
    pub(crate) fn remember(&mut self, key: &str, text: &str) {
        if self
            .texts
            .current
            .get(key)
            .is_some_and(|known| **known == *text)
        {
            return;
        }
        self.forget(key);
        if text.len() < KNOWN_JSON_MIN_BYTES || text.len() > KNOWN_JSON_BYTES {
            return;
        }
        if self.texts.current_bytes + text.len() > KNOWN_JSON_BYTES {
            self.texts.retire();
        }
        self.texts.insert(key, Arc::from(text));
    }

    pub(crate) fn forget(&mut self, key: &str) {
        self.texts.take(key);
    }

    fn clear(&mut self) {
        self.texts.clear();
    }
}

/// What a store remembers of each session, in [`Generations`]: a generation is retired once it
/// holds [`MEMORY_SESSIONS`] sessions or [`MEMORY_BYTES`] of loaded text.
#[derive(Default)]
pub(crate) struct SessionMemory {
    seen: Generations<Seen>,
    /// The sessions' last texts known to be JSON.
    pub(crate) known_json: KnownJson,
}

impl SessionMemory {
    /// Records what a read or write of the session under table key `key` saw; `load`
    /// (versioned writes only) is added to the session's loads, replacing one of the same
    /// version, and the oldest beyond [`LOADS_PER_SESSION`] is dropped.
    pub(crate) fn saw(
        &mut self,
        key: &str,
        expires: f64,
        created: Option<f64>,
        load: Option<Load>,
    ) {
        let mut seen = self.take(key).unwrap_or_default();
        seen.expires = expires;
        seen.created = created.or(seen.created);
        if let Some(load) = load {
            seen.loads.retain(|l| l.version != load.version);
            seen.loads.push(load);
            if seen.loads.len() > LOADS_PER_SESSION {
                seen.loads.remove(0);
            }
        }
        self.put(key, seen);
    }

    /// Moves the stored expiry of a remembered session.
    pub(crate) fn set_expires(&mut self, key: &str, expires: f64) {
        if let Some(seen) = self.seen.get_mut(key) {
            seen.expires = expires;
        }
    }

    pub(crate) fn recall(&self, key: &str) -> Option<&Seen> {
        self.seen.get(key)
    }

    pub(crate) fn forget(&mut self, key: &str) {
        self.take(key);
        self.known_json.forget(key);
    }

    pub(crate) fn clear(&mut self) {
        self.seen.clear();
        self.known_json.clear();
    }

    fn take(&mut self, key: &str) -> Option<Seen> {
        self.seen.take(key)
    }

    fn put(&mut self, key: &str, seen: Seen) {
        if self.seen.current.len() >= MEMORY_SESSIONS || self.seen.current_bytes >= MEMORY_BYTES {
            self.seen.retire();
        }
        self.seen.insert(key, seen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(version: u64, text: &str) -> Option<Load> {
        Some(Load {
            version,
            session: Arc::from(text),
            own: None,
        })
    }

    #[test]
    fn memory_is_bounded_and_keeps_recent_sessions() {
        let mut memory = SessionMemory::default();
        for i in 0..(MEMORY_SESSIONS * 3) {
            memory.saw(&i.to_string(), i as f64, None, None);
        }
        assert!(memory.seen.current.len() + memory.seen.previous.len() <= MEMORY_SESSIONS * 2);
        let last = MEMORY_SESSIONS * 3 - 1;
        assert_eq!(
            memory.recall(&last.to_string()).map(|s| s.expires),
            Some(last as f64)
        );
        assert!(memory.recall("0").is_none());
        memory.saw("x", 1.0, Some(5.0), None);
        memory.saw("x", 2.0, None, None);
        let seen = memory.recall("x").expect("remembered");
        assert_eq!((seen.expires, seen.created), (2.0, Some(5.0)));
        memory.set_expires("x", 3.0);
        assert_eq!(memory.recall("x").map(|s| s.expires), Some(3.0));
        memory.forget("x");
        assert!(memory.recall("x").is_none());
    }

    #[test]
    fn known_json_keeps_the_last_large_text_of_each_session_bounded() {
        let mut known = KnownJson::default();
        let large = |n: usize| format!("[{}{n}]", "1,".repeat(KNOWN_JSON_MIN_BYTES / 2));
        known.remember("a", &large(1));
        assert_eq!(known.get("a").as_deref(), Some(large(1).as_str()));
        known.remember("a", &large(2));
        assert_eq!(known.get("a").as_deref(), Some(large(2).as_str()));
        // A short text is not remembered, and the key's earlier one is forgotten.
        known.remember("a", "{}");
        assert!(known.get("a").is_none());
        known.remember("b", &large(3));
        known.forget("b");
        assert!(known.get("b").is_none());
        // Bounded: two generations at most.
        let text = large(4);
        for i in 0..(3 * KNOWN_JSON_BYTES / text.len()) {
            known.remember(&i.to_string(), &text);
        }
        let held: usize = known
            .texts
            .current
            .values()
            .chain(known.texts.previous.values())
            .map(|t| t.len())
            .sum();
        assert!(held <= 2 * KNOWN_JSON_BYTES, "{held}");
        assert_eq!(
            known.texts.current_bytes,
            known.texts.current.values().map(|t| t.len()).sum::<usize>()
        );
        let last = (3 * KNOWN_JSON_BYTES / text.len() - 1).to_string();
        assert_eq!(known.get(&last).as_deref(), Some(text.as_str()));
        assert!(known.get("0").is_none());
    }

    #[test]
    fn loads_are_bounded_per_session_and_in_bytes() {
        let mut memory = SessionMemory::default();
        for v in 1..=LOADS_PER_SESSION as u64 {
            memory.saw("s", 0.0, None, load(v, "{}"));
        }
        memory.saw("s", 0.0, None, load(2, r#"{"a":1}"#));
        let top = LOADS_PER_SESSION as u64 + 2;
        for v in (LOADS_PER_SESSION as u64 + 1)..=top {
            memory.saw("s", 0.0, None, load(v, "{}"));
        }
        let seen = memory.recall("s").expect("s");
        let mut versions: Vec<u64> = seen.loads.iter().map(|l| l.version).collect();
        versions.sort_unstable();
        let expected: Vec<u64> = (1..=top).filter(|v| *v != 1 && *v != 3).collect();
        assert_eq!(versions.len(), LOADS_PER_SESSION);
        assert_eq!(versions, expected);
        let big = "x".repeat(MEMORY_BYTES / 3 + 1);
        for i in 0..7 {
            memory.saw(&format!("big{i}"), 0.0, None, load(1, &big));
        }
        assert!(memory.seen.current_bytes <= MEMORY_BYTES + big.len());
        let held: usize = memory
            .seen
            .current
            .values()
            .chain(memory.seen.previous.values())
            .map(Seen::bytes)
            .sum();
        assert!(held <= 2 * (MEMORY_BYTES + big.len()), "{held}");
    }
}
