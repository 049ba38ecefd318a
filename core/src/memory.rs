//! What a store remembers of the sessions it recently read or wrote, bounded: the stored expiry
//! (for touch throttling without a read), the creation time (so a save keeps it), and, with
//! versioned writes on, the versions and texts it loaded (the base of a three-way merge).

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

impl Seen {
    fn bytes(&self) -> usize {
        self.loads
            .iter()
            .map(|l| l.session.len() + l.own.as_ref().map_or(0, |o| o.len()))
            .sum()
    }
}

/// Two generations of bounded maps: when the current one is full it becomes the previous one
/// and the old previous one is dropped, so memory stays bounded and recent sessions stay known.
#[derive(Default)]
pub(crate) struct SessionMemory {
    current: HashMap<String, Seen>,
    current_bytes: usize,
    previous: HashMap<String, Seen>,
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
        if let Some(seen) = self
            .current
            .get_mut(key)
            .or_else(|| self.previous.get_mut(key))
        {
            seen.expires = expires;
        }
    }

    pub(crate) fn recall(&self, key: &str) -> Option<&Seen> {
        self.current.get(key).or_else(|| self.previous.get(key))
    }

    pub(crate) fn forget(&mut self, key: &str) {
        self.take(key);
    }

    pub(crate) fn clear(&mut self) {
        self.current.clear();
        self.previous.clear();
        self.current_bytes = 0;
    }

    fn take(&mut self, key: &str) -> Option<Seen> {
        if let Some(seen) = self.current.remove(key) {
            self.current_bytes -= seen.bytes();
            return Some(seen);
        }
        self.previous.remove(key)
    }

    fn put(&mut self, key: &str, seen: Seen) {
        if self.current.len() >= MEMORY_SESSIONS || self.current_bytes >= MEMORY_BYTES {
            self.previous = std::mem::take(&mut self.current);
            self.current_bytes = 0;
        }
        self.current_bytes += seen.bytes();
        self.current.insert(key.to_owned(), seen);
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
        assert!(memory.current.len() + memory.previous.len() <= MEMORY_SESSIONS * 2);
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
        assert!(memory.current_bytes <= MEMORY_BYTES + big.len());
        let held: usize = memory
            .current
            .values()
            .chain(memory.previous.values())
            .map(Seen::bytes)
            .sum();
        assert!(held <= 2 * (MEMORY_BYTES + big.len()), "{held}");
    }
}
