//! The native half of `DynamoDBStore`: the core's `SessionStore`, each call a promise.

use std::future::Future;
use std::sync::{Mutex, PoisonError};

use connect_dynamodb_core::{
    ErrorKind, ItemAttribute, ReapReport, ReaperHandle, Saved, SessionStore, SetOptions,
    SetOutcome, TouchOutcome, WriteCondition, expiry,
};
use napi::bindgen_prelude::{Buffer, PromiseRaw, ToNapiValue};
use napi::{Env, Result};
use napi_derive::napi;

use crate::error::Failure;

/// Runs `work` on the addon's runtime as a promise that resolves to `convert`'s value or
/// rejects with the failure as a JavaScript error (see [`Failure`]).
pub fn promise<'env, T, V>(
    env: &'env Env,
    work: impl Future<Output = std::result::Result<T, Failure>> + Send + 'static,
    convert: impl FnOnce(T) -> V + 'static,
) -> Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
{
    env.spawn_future_with_callback(async move { Ok(work.await) }, move |env, result| {
        result.map(convert).map_err(|f| f.into_js(env))
    })
}

/// A stored session.
#[napi(object)]
pub struct NativeRecord {
    /// The session JSON text.
    pub session: String,
    /// When it expires, in epoch milliseconds.
    pub expires_ms: f64,
    /// With `merge` on, the version read (0 for an item written by connect-dynamodb 3.x): the
    /// request's load token, handed back to `set` as `loaded`. Absent with `merge` off.
    pub version: Option<f64>,
}

/// What a `set` did.
#[napi(object)]
pub struct NativeSaved {
    /// `written`, or `ended` when the session has ended (destroyed moments ago, or past the
    /// absolute timeout) and nothing was written.
    #[napi(ts_type = "'written' | 'ended'")]
    pub outcome: String,
    /// With `merge` on and the session written, the version written: the `loaded` of the
    /// request's next save of this session.
    pub version: Option<f64>,
}

/// A stored session with its id.
#[napi(object)]
pub struct NativeEntry {
    pub id: String,
    pub session: String,
    pub expires_ms: f64,
}

/// An attribute written beside the session (connect-dynamodb's `specialKeys`).
#[napi(object)]
pub struct NativeAttribute {
    pub name: String,
    /// `S`, `N` or `B`.
    pub kind: String,
    /// The value as text, for `S` and `N`.
    pub text: Option<String>,
    /// The value as bytes, for `B`.
    pub bytes: Option<Buffer>,
}

/// What a touch did, and the expiry it left stored.
#[napi(object)]
pub struct NativeTouch {
    /// `updated`, `throttled` or `notFound`.
    pub outcome: String,
    /// The stored expiry after the touch, in whole epoch seconds (rounded up, as the store
    /// writes them and the C face reports them); absent when `notFound`.
    pub expires: Option<f64>,
}

/// One of a user's sessions.
#[napi(object)]
pub struct NativeUserSession {
    pub id: String,
    /// When it expires, in epoch milliseconds.
    pub expires_ms: f64,
    /// When it was created, in epoch milliseconds; absent when the item does not record it.
    pub created_ms: Option<f64>,
}

/// What a reaper pass or `clear` did.
#[napi(object)]
pub struct NativeReport {
    pub scanned: f64,
    pub deleted: f64,
}

/// What `reencrypt` did.
#[napi(object)]
pub struct NativeReencrypted {
    /// Items scanned.
    pub scanned: f64,
    /// Live sessions rewritten under the first encryption key.
    pub rewritten: f64,
    /// Live sessions left as they were because they cannot be read (a key the store lacks, a
    /// newer format, damaged).
    pub unreadable: f64,
}

/// What `createTable` did and found.
#[napi(object)]
pub struct NativeTableSetup {
    pub created: bool,
    pub problems: Vec<String>,
}

/// The native half of `DynamoDBStore`.
#[napi]
pub struct NativeStore {
    store: SessionStore,
    reaper: Mutex<Option<ReaperHandle>>,
}

impl NativeStore {
    pub fn new(store: SessionStore) -> Self {
        NativeStore {
            store,
            reaper: Mutex::new(None),
        }
    }
}

#[napi]
impl NativeStore {
    /// The session, or `null` when missing or expired.
    #[napi(ts_return_type = "Promise<NativeRecord | null>")]
    pub fn get<'env>(
        &self,
        env: &'env Env,
        sid: String,
    ) -> Result<PromiseRaw<'env, Option<NativeRecord>>> {
        let store = self.store.clone();
        promise(env, async move { Ok(store.get(&sid).await?) }, |record| {
            record.map(|r| NativeRecord {
                session: r.session,
                expires_ms: expiry::epoch_millis(r.expires_at),
                version: r.version.map(|v| v as f64),
            })
        })
    }

    /// Stores the session JSON until `expiresMs` (or the default lifetime). `condition` is
    /// `always` (default), `ifAbsent` or `ifPresent`. `loaded` is the `version` the request's
    /// `get` returned (absent for a session the request did not load). Resolves to what it did
    /// and the version written.
    #[napi(ts_return_type = "Promise<NativeSaved>")]
    #[allow(clippy::too_many_arguments)]
    pub fn set<'env>(
        &self,
        env: &'env Env,
        sid: String,
        session: String,
        expires_ms: Option<f64>,
        attributes: Option<Vec<NativeAttribute>>,
        condition: Option<String>,
        loaded: Option<f64>,
    ) -> Result<PromiseRaw<'env, NativeSaved>> {
        let store = self.store.clone();
        // Buffers stay on this thread: the attributes are converted before the work moves.
        let attributes = attributes
            .unwrap_or_default()
            .into_iter()
            .map(item_attribute)
            .collect::<std::result::Result<Vec<_>, _>>();
        let work = async move {
            let expires_at = expires_ms.map(expiry::from_epoch_millis).transpose()?;
            let condition = match condition.as_deref() {
                None | Some("always") => WriteCondition::Always,
                Some("ifAbsent") => WriteCondition::IfAbsent,
                Some("ifPresent") => WriteCondition::IfPresent,
                Some(_) => {
                    return Err(Failure::new(
                        ErrorKind::InvalidArgument,
                        "unknown write condition",
                    ));
                }
            };
            let options = SetOptions {
                condition,
                attributes: attributes?,
                loaded: loaded.map(version).transpose()?,
            };
            Ok(store.save(&sid, &session, expires_at, options).await?)
        };
        promise(env, work, |saved: Saved| NativeSaved {
            outcome: match saved.outcome {
                SetOutcome::Written => "written",
                SetOutcome::Ended => "ended",
            }
            .to_owned(),
            version: saved.version.map(|v| v as f64),
        })
    }

    /// Moves the expiry of a live session, unless the move is within the touch throttle.
    #[napi(ts_return_type = "Promise<NativeTouch>")]
    pub fn touch<'env>(
        &self,
        env: &'env Env,
        sid: String,
        expires_ms: Option<f64>,
    ) -> Result<PromiseRaw<'env, NativeTouch>> {
        let store = self.store.clone();
        let work = async move {
            let expires_at = expires_ms.map(expiry::from_epoch_millis).transpose()?;
            Ok(store.touch(&sid, expires_at).await?)
        };
        promise(env, work, |touched| NativeTouch {
            outcome: match touched.outcome {
                TouchOutcome::Updated => "updated",
                TouchOutcome::Throttled => "throttled",
                TouchOutcome::NotFound => "notFound",
            }
            .to_owned(),
            expires: touched.expires_at.map(|at| expiry::whole_secs(at) as f64),
        })
    }

    /// What `touch` would do, decided at once on the calling thread: the throttled outcome
    /// when nothing needs to be written, `null` when the touch needs a request (then call
    /// `touch`). Saves a read-only view the round trip to the runtime.
    #[napi]
    pub fn touch_if_throttled(
        &self,
        env: Env,
        sid: String,
        expires_ms: Option<f64>,
    ) -> Result<Option<NativeTouch>> {
        let decided = expires_ms
            .map(expiry::from_epoch_millis)
            .transpose()
            .and_then(|expires_at| self.store.touch_if_throttled(&sid, expires_at));
        let touched = decided.map_err(|e| Failure::from(e).into_js(&env))?;
        Ok(touched.map(|touched| NativeTouch {
            outcome: "throttled".to_owned(),
            expires: touched.expires_at.map(|at| expiry::whole_secs(at) as f64),
        }))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn destroy<'env>(&self, env: &'env Env, sid: String) -> Result<PromiseRaw<'env, ()>> {
        let store = self.store.clone();
        promise(env, async move { Ok(store.destroy(&sid).await?) }, |()| ())
    }

    /// The live sessions of `user`, from the user index.
    #[napi(ts_return_type = "Promise<Array<NativeUserSession>>")]
    pub fn user_sessions<'env>(
        &self,
        env: &'env Env,
        user: String,
    ) -> Result<PromiseRaw<'env, Vec<NativeUserSession>>> {
        let store = self.store.clone();
        promise(
            env,
            async move { Ok(store.user_sessions(&user).await?) },
            |sessions| {
                sessions
                    .into_iter()
                    .map(|s| NativeUserSession {
                        id: s.id,
                        expires_ms: expiry::epoch_millis(s.expires_at),
                        created_ms: s.created_at.map(expiry::epoch_millis),
                    })
                    .collect()
            },
        )
    }

    /// Ends every live session of `user` but `except`; resolves to how many it ended.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn end_user_sessions<'env>(
        &self,
        env: &'env Env,
        user: String,
        except: Option<String>,
    ) -> Result<PromiseRaw<'env, f64>> {
        let store = self.store.clone();
        let work = async move { Ok(store.end_user_sessions(&user, except.as_deref()).await?) };
        promise(env, work, |n| n as f64)
    }

    #[napi(ts_return_type = "Promise<Array<string>>")]
    pub fn ids<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<String>>> {
        let store = self.store.clone();
        promise(env, async move { Ok(store.ids().await?) }, |ids| ids)
    }

    #[napi(ts_return_type = "Promise<Array<NativeEntry>>")]
    pub fn all<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<NativeEntry>>> {
        let store = self.store.clone();
        promise(env, async move { Ok(store.all().await?) }, |all| {
            all.into_iter()
                .map(|(id, r)| NativeEntry {
                    id,
                    session: r.session,
                    expires_ms: expiry::epoch_millis(r.expires_at),
                })
                .collect()
        })
    }

    #[napi(ts_return_type = "Promise<number>")]
    pub fn length<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, f64>> {
        let store = self.store.clone();
        promise(env, async move { Ok(store.length().await?) }, |n| n as f64)
    }

    #[napi(ts_return_type = "Promise<NativeReport>")]
    pub fn clear<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, NativeReport>> {
        let store = self.store.clone();
        promise(env, async move { Ok(store.clear().await?) }, report)
    }

    #[napi(ts_return_type = "Promise<NativeReport>")]
    pub fn reap<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, NativeReport>> {
        let store = self.store.clone();
        promise(env, async move { Ok(store.reap().await?) }, report)
    }

    /// Rewrites every live session not encrypted with the first encryption key;
    /// `INVALID_CONFIG` (`encryptionKeys`) without keys.
    #[napi(ts_return_type = "Promise<NativeReencrypted>")]
    pub fn reencrypt<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, NativeReencrypted>> {
        let store = self.store.clone();
        promise(env, async move { Ok(store.reencrypt().await?) }, |r| {
            NativeReencrypted {
                scanned: r.scanned as f64,
                rewritten: r.rewritten as f64,
                unreadable: r.unreadable as f64,
            }
        })
    }

    /// Creates the table unless it exists, waits for it, enables TTL, and verifies it.
    #[napi(ts_return_type = "Promise<NativeTableSetup>")]
    pub fn create_table<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, NativeTableSetup>> {
        let store = self.store.clone();
        promise(
            env,
            async move { Ok(store.create_table().await?) },
            |setup| NativeTableSetup {
                created: setup.created,
                problems: problems(&setup.report),
            },
        )
    }

    /// Resolves when the table exists (a table being created is waited for) or DynamoDB denied
    /// the DescribeTable permission (`AccessDeniedException`); `TABLE_NOT_FOUND` when it is
    /// missing.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn check_table<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let store = self.store.clone();
        promise(env, async move { Ok(store.check_table().await?) }, |()| ())
    }

    /// Whether the table exists (DescribeTable only).
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn table_exists<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, bool>> {
        let store = self.store.clone();
        promise(env, async move { Ok(store.table_exists().await?) }, |e| e)
    }

    /// What is wrong with the table; `TABLE_NOT_FOUND` when it is missing.
    #[napi(ts_return_type = "Promise<Array<string>>")]
    pub fn verify_table<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<String>>> {
        let store = self.store.clone();
        promise(env, async move { Ok(store.verify_table().await?) }, |r| {
            problems(&r)
        })
    }

    /// Starts the background reaper at the configured interval (replacing a running one);
    /// does nothing when no interval is configured.
    #[napi]
    pub fn start_reaper(&self, env: Env) -> Result<()> {
        let Some(interval) = self.store.config().reap_interval() else {
            return Ok(());
        };
        let handle = napi::bindgen_prelude::within_runtime_if_available(|| {
            self.store.start_reaper(interval)
        })
        .map_err(|e| Failure::from(e).into_js(&env))?;
        *self.reaper.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
        Ok(())
    }

    /// Stops the background reaper, if one runs.
    #[napi]
    pub fn stop_reaper(&self) {
        // Dropping the handle aborts the reaper task.
        let handle = self
            .reaper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(handle);
    }
}

/// A load token as the core takes it: a version `get` returned, a whole number JavaScript
/// holds exactly.
fn version(v: f64) -> std::result::Result<u64, Failure> {
    // The core's bound is 2^53 - 1, which an f64 holds exactly.
    if v.fract() == 0.0 && (0.0..=connect_dynamodb_core::MAX_VERSION as f64).contains(&v) {
        Ok(v as u64)
    } else {
        Err(Failure::new(
            ErrorKind::InvalidArgument,
            "the load token must be a version `get` returned",
        ))
    }
}

fn item_attribute(a: NativeAttribute) -> std::result::Result<(String, ItemAttribute), Failure> {
    let value = match (a.kind.as_str(), a.text, a.bytes) {
        ("S", Some(text), _) => ItemAttribute::S(text),
        ("N", Some(text), _) => ItemAttribute::N(text),
        ("B", _, Some(bytes)) => ItemAttribute::B(bytes.to_vec()),
        _ => {
            return Err(Failure::new(
                ErrorKind::InvalidArgument,
                "a special key's value does not match its type",
            ));
        }
    };
    Ok((a.name, value))
}

fn report(r: ReapReport) -> NativeReport {
    NativeReport {
        scanned: r.scanned as f64,
        deleted: r.deleted as f64,
    }
}

fn problems(report: &connect_dynamodb_core::TableReport) -> Vec<String> {
    report.problems.iter().map(ToString::to_string).collect()
}
