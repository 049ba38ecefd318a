//! The three-way merge of versioned writes (`merge`): what a save applies when another request
//! saved the same session after this one loaded it.
//!
//! The merge works at the top level of the session object. `base` is the session this request
//! loaded, `mine` what it saves, `theirs` what is stored now:
//!
//! - a key this request changed (added, set to another value, removed) against `base` is
//!   applied onto `theirs`;
//! - a key it did not change keeps `theirs`'s value, so another request's change survives;
//! - a key both changed, to different values, is decided by the [`MergePolicy`]: `Mine` takes
//!   this request's value, `Error` fails with `CONFLICT` naming the key.
//!
//! A session that is not a JSON object on any side is merged as one value by the same rules.

use serde_json::{Map, Value};

use crate::config::MergePolicy;
use crate::error::{Error, ErrorKind, Result};

/// The session to write: `mine`'s changes against `base` applied onto `theirs`. A key in
/// `always_mine` that both changed takes `mine`'s value whatever the policy (a framework's own
/// bookkeeping, such as express-session's `cookie`, which every save changes).
pub(crate) fn merge(
    base: &str,
    mine: &str,
    theirs: &str,
    policy: MergePolicy,
    always_mine: &[String],
) -> Result<String> {
    let parse = |text: &str| -> Result<Value> {
        serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::Serialization,
                "a session to merge is not valid JSON",
            )
            .with_source(e)
        })
    };
    let (base, mine_value, theirs_value) = (parse(base)?, parse(mine)?, parse(theirs)?);
    let merged = match (base, mine_value, theirs_value) {
        (Value::Object(base), Value::Object(mine), Value::Object(theirs)) => {
            Value::Object(merge_objects(&base, mine, theirs, policy, always_mine)?)
        }
        (base, mine, theirs) => merge_value(None, &base, mine, theirs, policy)?,
    };
    Ok(merged.to_string())
}

fn merge_objects(
    base: &Map<String, Value>,
    mine: Map<String, Value>,
    mut theirs: Map<String, Value>,
    policy: MergePolicy,
    always_mine: &[String],
) -> Result<Map<String, Value>> {
    let policy_for = |key: &str| {
        if always_mine.iter().any(|k| k == key) {
            MergePolicy::Mine
        } else {
            policy
        }
    };
    // Keys this request removed: in `base`, not in `mine`.
    for key in base.keys().filter(|k| !mine.contains_key(*k)) {
        let theirs_changed = theirs.get(key) != base.get(key);
        if theirs_changed && theirs.contains_key(key) {
            decide(key, policy_for(key))?;
        }
        theirs.remove(key);
    }
    for (key, value) in mine {
        if base.get(&key) == Some(&value) {
            continue;
        }
        match theirs.get(&key) {
            Some(current) if current == &value => {}
            current if current != base.get(&key) => {
                decide(&key, policy_for(&key))?;
                theirs.insert(key, value);
            }
            _ => {
                theirs.insert(key, value);
            }
        }
    }
    Ok(theirs)
}

fn merge_value(
    key: Option<&str>,
    base: &Value,
    mine: Value,
    theirs: Value,
    policy: MergePolicy,
) -> Result<Value> {
    if &mine == base || mine == theirs {
        return Ok(theirs);
    }
    if &theirs != base {
        decide(key.unwrap_or("(the whole session)"), policy)?;
    }
    Ok(mine)
}

/// A key both requests changed: fine under `Mine`, `CONFLICT` under `Error`.
fn decide(key: &str, policy: MergePolicy) -> Result<()> {
    match policy {
        MergePolicy::Mine => Ok(()),
        MergePolicy::Error => Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "another request changed the session key `{}` after this one loaded the session",
                printable(key)
            ),
        )),
    }
}

/// A session key as an error message shows it: at most 64 characters, control characters
/// escaped.
fn printable(key: &str) -> String {
    let mut shown: String = key.chars().take(64).flat_map(char::escape_debug).collect();
    if key.chars().count() > 64 {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value {
        serde_json::from_str(text).expect("test JSON")
    }

    fn merge(base: &str, mine: &str, theirs: &str, policy: MergePolicy) -> Result<String> {
        super::merge(base, mine, theirs, policy, &[])
    }

    fn merged(base: &str, mine: &str, theirs: &str, policy: MergePolicy) -> Result<Value> {
        merge(base, mine, theirs, policy).map(|t| json(&t))
    }

    #[test]
    fn always_mine_keys_never_conflict() {
        let base = r#"{"cookie":{"expires":1},"n":1}"#;
        let mine = r#"{"cookie":{"expires":2},"n":1,"cart":[1]}"#;
        let theirs = r#"{"cookie":{"expires":3},"n":1,"flash":"x"}"#;
        let always = ["cookie".to_owned()];
        let text = super::merge(base, mine, theirs, MergePolicy::Error, &always).expect("merged");
        assert_eq!(
            json(&text),
            json(r#"{"cookie":{"expires":2},"n":1,"flash":"x","cart":[1]}"#)
        );
        assert!(super::merge(base, mine, theirs, MergePolicy::Error, &[]).is_err());
    }

    #[test]
    fn changes_to_different_keys_both_survive() {
        let base = r#"{"cart":[],"n":1}"#;
        let mine = r#"{"cart":[1],"n":1}"#;
        let theirs = r#"{"cart":[],"n":1,"flash":"saved"}"#;
        for policy in MergePolicy::ALL {
            assert_eq!(
                merged(base, mine, theirs, policy).expect("no conflict"),
                json(r#"{"cart":[1],"n":1,"flash":"saved"}"#)
            );
        }
    }

    #[test]
    fn a_removal_is_a_change() {
        let merged = merged(
            r#"{"a":1,"b":2}"#,
            r#"{"b":2}"#,
            r#"{"a":1,"b":3}"#,
            MergePolicy::Error,
        )
        .expect("a and b are changed by one side each");
        assert_eq!(merged, json(r#"{"b":3}"#));
        // Both removed the same key, or both set it alike: no conflict.
        assert_eq!(
            merge(r#"{"a":1}"#, "{}", "{}", MergePolicy::Error).expect("same"),
            "{}"
        );
        assert_eq!(
            merge(r#"{"a":1}"#, r#"{"a":2}"#, r#"{"a":2}"#, MergePolicy::Error).expect("same"),
            r#"{"a":2}"#
        );
    }

    #[test]
    fn a_key_both_changed_follows_the_policy() {
        let (base, mine, theirs) = (r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#);
        assert_eq!(
            merged(base, mine, theirs, MergePolicy::Mine).expect("mine wins"),
            json(r#"{"n":2}"#)
        );
        let err = merge(base, mine, theirs, MergePolicy::Error).expect_err("conflict");
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert!(err.message().contains("`n`"), "{}", err.message());
        // I removed it, they changed it.
        let err = merge(r#"{"n":1}"#, "{}", r#"{"n":3}"#, MergePolicy::Error).expect_err("both");
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }

    #[test]
    fn a_session_that_is_not_an_object_is_one_value() {
        assert_eq!(
            merge("1", "1", "2", MergePolicy::Error).expect("mine unchanged"),
            "2"
        );
        assert_eq!(
            merge("1", "3", "1", MergePolicy::Error).expect("theirs unchanged"),
            "3"
        );
        assert!(merge("1", "3", "2", MergePolicy::Error).is_err());
        assert_eq!(merge("1", "3", "2", MergePolicy::Mine).expect("mine"), "3");
    }

    #[test]
    fn key_order_is_kept_and_keys_are_printable() {
        let text = merge(
            r#"{"z":1,"a":1}"#,
            r#"{"z":2,"a":1}"#,
            r#"{"z":1,"a":1,"m":0}"#,
            MergePolicy::Mine,
        )
        .expect("merge");
        assert_eq!(text, r#"{"z":2,"a":1,"m":0}"#);
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable(&"k".repeat(70)).chars().count(), 65);
    }
}
