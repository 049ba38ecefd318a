//! [`SessionStore`]: the session operations over one DynamoDB table.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, PutRequest, ReturnValuesOnConditionCheckFailure, TableStatus,
    WriteRequest,
};
use aws_smithy_http_client::tls;
use futures_util::future::try_join_all;

use crate::config::{Config, ConfigField, FirstUse, MAX_KEY_BYTES, MAX_SAVE_ATTEMPTS, MergePolicy};
use crate::error::{Error, ErrorKind, Result};
use crate::expiry;
use crate::item::{
    self, ATTR_CREATED, ATTR_ENDED, ATTR_EXPIRES, ATTR_SESS, ATTR_TYPE, ATTR_USER, ATTR_VERSION,
    Condition, ItemAttribute, MAX_USER_BYTES, MAX_VERSION, SessionRecord, Stored, TOMBSTONE_SESS,
    TYPE_VALUE, USER_INDEX,
};
use crate::memory::{Load, SessionMemory};
use crate::merge;

/// How often `clear` and the reaper retry unprocessed batch deletes before giving up.
const MAX_BATCH_RETRIES: u32 = 10;
/// DynamoDB's limit of requests in one BatchWriteItem.
const BATCH_WRITE_LIMIT: usize = 25;

/// When a write may happen, for [`SessionStore::set_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteCondition {
    /// Always write (what express-session's `set` wants).
    #[default]
    Always,
    /// Only when no live session has this id; otherwise `CONFLICT` (Django's `must_create`).
    IfAbsent,
    /// Only when a live session has this id; otherwise `CONFLICT` (Django's update of a
    /// session that must still exist).
    IfPresent,
}

/// How [`SessionStore::set_with`] writes: its condition, and extra attributes stored beside the
/// session (connect-dynamodb's `specialKeys`, e.g. a user id to find a user's sessions by).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetOptions {
    /// When the write may happen.
    pub condition: WriteCondition,
    /// Attributes written beside the session. Their names must differ from the hash key,
    /// `expires`, `type` and `sess`.
    pub attributes: Vec<(String, ItemAttribute)>,
    /// With versioned writes on (`merge`): the [`version`](SessionRecord::version) of the
    /// session this request loaded. The save is conditional on it; when another request saved
    /// in between, the store merges this request's changes (against what it loaded) onto the
    /// stored session. `None` for a session the request did not load (a new one): it replaces
    /// what is stored.
    pub loaded: Option<u64>,
}

impl From<WriteCondition> for SetOptions {
    fn from(condition: WriteCondition) -> Self {
        SetOptions {
            condition,
            ..SetOptions::default()
        }
    }
}

impl SetOptions {
    /// A plain save of a session loaded at `version` (what [`SessionStore::get`] returned in
    /// [`SessionRecord::version`]); `None` as if not loaded.
    pub fn loaded(version: Option<u64>) -> Self {
        SetOptions {
            loaded: version,
            ..SetOptions::default()
        }
    }
}

/// What a [`SessionStore::touch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TouchOutcome {
    /// The stored expiry was moved.
    Updated,
    /// The stored expiry is close enough to the new one: nothing was written.
    Throttled,
    /// No live session has this id (destroyed or expired): nothing was written.
    NotFound,
}

/// What a [`SessionStore::touch`] did, and the expiry it left stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touched {
    /// What the touch did.
    pub outcome: TouchOutcome,
    /// The session's stored expiry after the touch: the new one when it was
    /// [`Updated`](TouchOutcome::Updated), the one already stored when it was
    /// [`Throttled`](TouchOutcome::Throttled), `None` when [`NotFound`](TouchOutcome::NotFound).
    pub expires_at: Option<SystemTime>,
}

/// The result of one reaper pass (or of `clear`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReapReport {
    /// Items DynamoDB scanned.
    pub scanned: u64,
    /// Items deleted.
    pub deleted: u64,
}

/// A session store on one DynamoDB table.
///
/// Cheap to clone (an `Arc` inside); clones share the client and the touch-throttle memory.
/// Every method is async and needs a Tokio runtime, which the caller owns.
#[derive(Clone)]
pub struct SessionStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: Config,
    /// Shared with the stores [`SessionStore::on_own_connections`] makes from this one.
    memory: Arc<Mutex<SessionMemory>>,
    reaping: Arc<tokio::sync::Mutex<()>>,
    /// Set once the first-use table check ([`FirstUse`]) has passed.
    table_ready: Arc<tokio::sync::OnceCell<()>>,
    /// The credentials `client` signs with, when this store built it ([`SessionStore::connect`]).
    credentials: Option<SharedCredentialsProvider>,
    /// `credentials` looked up on the runtime of this store's connections, for the stores
    /// [`SessionStore::on_own_connections`] makes: one provider for them all, so that they
    /// share one slot of the SDK's identity cache (one lookup per expiry, not one per thread).
    credentials_at_home: std::sync::OnceLock<SharedCredentialsProvider>,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The HTTPS client of every DynamoDB client the core builds: hyper 1 and rustls on ring, with
/// a connection pool of its own.
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Builds the DynamoDB client a [`Config`] describes: one rustls HTTPS client, the configured
/// timeouts and retries, and static credentials or the default AWS provider chain.
pub async fn build_client(config: &Config) -> Result<Client> {
    Ok(build_client_and_credentials(config).await?.0)
}

/// [`build_client`], and the credentials provider the client signs with.
async fn build_client_and_credentials(
    config: &Config,
) -> Result<(Client, Option<SharedCredentialsProvider>)> {
    let http_client = https_client();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(config.connect_timeout)
        .operation_attempt_timeout(config.attempt_timeout)
        .operation_timeout(config.operation_timeout)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts))
        // The attempt and operation timeouts bound every request already; the stalled-stream
        // monitor would add a timer and a throughput check to each of them.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    if let Some(region) = &config.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &config.endpoint {
        loader = loader.endpoint_url(endpoint.clone());
    }
    if let Some(c) = &config.credentials {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            c.access_key_id.clone(),
            c.secret_access_key.clone(),
            c.session_token.clone(),
            None,
            "connect-dynamodb",
        ));
    }
    if let Some(provider) = &config.credentials_provider {
        loader = loader.credentials_provider(provider.clone());
    }
    let mut sdk_config = loader.load().await;
    if sdk_config.region().is_none() {
        if config.endpoint.is_none() {
            return Err(Error::invalid_config(
                ConfigField::Region,
                "no region is set and none was found in AWS_REGION or the AWS profile",
            ));
        }
        // A custom endpoint (DynamoDB Local) needs some signing region, not a real one.
        sdk_config = sdk_config
            .into_builder()
            .region(aws_config::Region::from_static("us-east-1"))
            .build();
    }
    Ok((Client::new(&sdk_config), sdk_config.credentials_provider()))
}

/// A credentials provider whose lookups run on a given runtime (see
/// [`SessionStore::on_own_connections`]).
#[derive(Debug)]
struct CredentialsOn {
    provider: aws_credential_types::provider::SharedCredentialsProvider,
    runtime: tokio::runtime::Handle,
}

impl ProvideCredentials for CredentialsOn {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let provider = self.provider.clone();
        let lookup = self
            .runtime
            .spawn(async move { provider.provide_credentials().await });
        provider::future::ProvideCredentials::new(async move {
            lookup.await.unwrap_or_else(|_| {
                Err(provider::error::CredentialsError::provider_error(
                    "the credentials lookup ended without an answer (it panicked, or its runtime \
                     shut down)",
                ))
            })
        })
    }

    fn fallback_on_interrupt(&self) -> Option<aws_credential_types::Credentials> {
        self.provider.fallback_on_interrupt()
    }
}

impl SessionStore {
    /// Builds the client from `config` (see [`build_client`]) and a store over it. Makes no
    /// request to DynamoDB.
    pub async fn connect(config: Config) -> Result<Self> {
        let (client, credentials) = build_client_and_credentials(&config).await?;
        Ok(Self::new(client, config, credentials))
    }

    /// A store over a DynamoDB client the caller built. The client's own region, endpoint,
    /// credentials, timeouts and retries apply; those in `config` are not used.
    pub fn with_client(client: Client, config: Config) -> Self {
        Self::new(client, config, None)
    }

    /// A store over `client`, which signs with `credentials` when the core built it.
    fn new(client: Client, config: Config, credentials: Option<SharedCredentialsProvider>) -> Self {
        SessionStore {
            inner: Arc::new(Inner {
                client,
                config,
                memory: Arc::new(Mutex::new(SessionMemory::default())),
                reaping: Arc::new(tokio::sync::Mutex::new(())),
                table_ready: Arc::new(tokio::sync::OnceCell::new()),
                credentials,
                credentials_at_home: std::sync::OnceLock::new(),
            }),
        }
    }

    /// This store with a connection pool of its own, for use on another Tokio runtime than
    /// the one this store's connections belong to (`home`): typically a current-thread runtime
    /// that the calling thread drives, which sends a call and waits for its answer without
    /// waking another thread. The configuration, the memory of recent sessions, the first-use
    /// check and the reaping turn stay shared with this store.
    ///
    /// A pooled connection belongs to the runtime that opened it (its socket is registered with
    /// that runtime's reactor and its connection task runs there), so a connection opened on a
    /// runtime that nobody drives at the moment would stall whoever borrowed it: hence a pool
    /// per runtime. The credential providers (IMDS, ECS, SSO, STS) send their requests through
    /// this store's own pool, so the new client looks its credentials up on `home`.
    ///
    /// `None` for a store over a client the caller built ([`with_client`](Self::with_client)):
    /// its credential provider is not known, so it cannot be moved to `home`.
    pub fn on_own_connections(&self, home: tokio::runtime::Handle) -> Option<Self> {
        let credentials = self.inner.credentials.as_ref()?;
        let at_home = self
            .inner
            .credentials_at_home
            .get_or_init(|| {
                SharedCredentialsProvider::new(CredentialsOn {
                    provider: credentials.clone(),
                    runtime: home,
                })
            })
            .clone();
        let mut conf = self
            .inner
            .client
            .config()
            .to_builder()
            .http_client(https_client());
        conf.set_credentials_provider(Some(at_home.clone()));
        Some(SessionStore {
            inner: Arc::new(Inner {
                client: Client::from_conf(conf.build()),
                config: self.inner.config.clone(),
                memory: Arc::clone(&self.inner.memory),
                reaping: Arc::clone(&self.inner.reaping),
                table_ready: Arc::clone(&self.inner.table_ready),
                credentials: Some(at_home),
                credentials_at_home: std::sync::OnceLock::new(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The DynamoDB client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Does what the configured [`FirstUse`] asks about the table, once per store: before the
    /// first session call, every session call runs this; later it costs an atomic load. A
    /// failed check is not remembered: the next session call checks again.
    pub async fn ensure_table(&self) -> Result<()> {
        if let Some(()) = self.inner.table_ready.get() {
            return Ok(());
        }
        let first_use = self.inner.config.first_use;
        self.inner
            .table_ready
            .get_or_try_init(|| async move {
                match first_use {
                    FirstUse::Nothing => Ok(()),
                    FirstUse::Check => self.check_table().await,
                    FirstUse::Create => match self.check_table().await {
                        Err(e) if e.kind() == ErrorKind::TableNotFound => {
                            self.create_table_on_first_use().await
                        }
                        checked => checked,
                    },
                }
            })
            .await
            .map(|_| ())
    }

    /// The first-use check of [`FirstUse::Check`], on its own: DescribeTable, `TABLE_NOT_FOUND`
    /// when the table is missing. A table still being created (by another process, say) is
    /// waited for until it is ACTIVE, within `create_wait`. DynamoDB's refusal of the
    /// DescribeTable permission (`AccessDeniedException`) counts as "the table exists": a role
    /// without DescribeTable is not stopped here, and the session call itself says what is
    /// wrong, if anything is. Any other failure (credentials missing or expired, a timeout) is
    /// returned. (The Node face's `describeSessionsTable` is this call.)
    pub async fn check_table(&self) -> Result<()> {
        match self.table_status().await {
            Ok(Some(TableStatus::Creating)) => self.wait_until_active().await,
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(Error::new(
                ErrorKind::TableNotFound,
                "the table does not exist",
            )),
            Err(e) if e.is_access_denied() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The session `sid`, or `None` when there is none, it has expired (however late
    /// DynamoDB's TTL deletes it), it was destroyed (a tombstone), it is older than the
    /// absolute timeout, or its item is a ghost or unreadable.
    pub async fn get(&self, sid: &str) -> Result<Option<SessionRecord>> {
        let key = self.key(sid)?;
        self.ensure_table().await?;
        let stored = self
            .read_item(&key, self.inner.config.consistent_read)
            .await?;
        let merging = self.inner.config.merge.is_some();
        Ok(match self.remember_read(&key, stored) {
            Stored::Live {
                mut record,
                version,
                ..
            } => {
                record.version = merging.then_some(version);
                Some(record)
            }
            _ => None,
        })
    }

    /// Reads the item under `key` with the attributes the store decides on.
    async fn read_item(&self, key: &str, consistent: bool) -> Result<Stored> {
        let c = &self.inner.config;
        let out = self
            .inner
            .client
            .get_item()
            .table_name(&c.table)
            .key(&c.hash_key, AttributeValue::S(key.to_owned()))
            .consistent_read(consistent)
            .projection_expression("#e, #s, #ended, #v, #c")
            .expression_attribute_names("#e", ATTR_EXPIRES)
            .expression_attribute_names("#s", ATTR_SESS)
            .expression_attribute_names("#ended", ATTR_ENDED)
            .expression_attribute_names("#v", ATTR_VERSION)
            .expression_attribute_names("#c", ATTR_CREATED)
            .send()
            .await
            .map_err(|e| Error::from_sdk("GetItem", e))?;
        let now = self.now_secs();
        let known = self.memory().known_json.get(key);
        item::read_known(
            out.item,
            now,
            c.oldest_created(now),
            key,
            &c.at_rest,
            known.as_deref(),
        )
    }

    /// Remembers what a read of the session under `key` found (forgets it when there is no
    /// live session).
    fn remember_read(&self, key: &str, stored: Stored) -> Stored {
        let mut memory = self.memory();
        match &stored {
            Stored::Live {
                record,
                version,
                created,
            } => {
                let load = self.inner.config.merge.is_some().then(|| Load {
                    version: *version,
                    session: Arc::from(record.session.as_str()),
                    own: None,
                });
                memory.saw(key, expiry::epoch_secs(record.expires_at), *created, load);
                memory.known_json.remember(key, &record.session);
            }
            _ => memory.forget(key),
        }
        stored
    }

    /// Stores `session` (JSON text) under `sid` until `expires_at`, or for the configured
    /// default lifetime when `None`. Replaces whatever was stored, except a tombstone: a
    /// session destroyed moments ago stays destroyed, and the save is
    /// [`SetOutcome::Ended`]. With versioned writes on, a concurrent change is merged.
    pub async fn set(
        &self,
        sid: &str,
        session: &str,
        expires_at: Option<SystemTime>,
    ) -> Result<SetOutcome> {
        self.set_with(sid, session, expires_at, WriteCondition::Always)
            .await
    }

    /// [`set`](Self::set) with a condition and extra attributes (`SetOptions`, or just a
    /// [`WriteCondition`]). A failed condition is a `CONFLICT` error and leaves the stored item
    /// as it was; a tombstone fails [`WriteCondition::IfPresent`] and
    /// [`WriteCondition::IfAbsent`] too.
    ///
    /// One conditional PutItem. Only when the condition meets a change this process did not
    /// see (another request's versioned save, a creation time it did not know) does it read the
    /// item and write again, at most [`MAX_SAVE_ATTEMPTS`](crate::MAX_SAVE_ATTEMPTS) times.
    pub async fn set_with(
        &self,
        sid: &str,
        session: &str,
        expires_at: Option<SystemTime>,
        options: impl Into<SetOptions>,
    ) -> Result<SetOutcome> {
        Ok(self.save(sid, session, expires_at, options).await?.outcome)
    }

    /// [`set_with`](Self::set_with), also reporting the version written (versioned writes
    /// on): a request that saves twice hands that to its second save as
    /// [`SetOptions::loaded`], so the second save does not merge against the first.
    pub async fn save(
        &self,
        sid: &str,
        session: &str,
        expires_at: Option<SystemTime>,
        options: impl Into<SetOptions>,
    ) -> Result<Saved> {
        let SetOptions {
            condition,
            attributes,
            loaded,
        } = options.into();
        let key = self.key(sid)?;
        if loaded.is_some_and(|v| v > MAX_VERSION) {
            return Err(Error::invalid_argument(format!(
                "a loaded version is at most {MAX_VERSION}: pass back what `get` returned"
            )));
        }
        let c = &self.inner.config;
        item::check_session(
            &c.hash_key,
            &key,
            session,
            &attributes,
            &item::own_attributes(c),
            &c.at_rest,
        )?;
        let now = self.now_secs();
        let (_, wanted_expires) = expiry::encode(self.expiry_or_default(expires_at))?;
        self.ensure_table().await?;

        let mut plan = self.plan_save(&key, session, loaded, now)?;
        for attempt in 0..MAX_SAVE_ATTEMPTS {
            if attempt > 1 {
                // Many saves of one session at once: spread the retries out.
                tokio::time::sleep(backoff(attempt - 1)).await;
            }
            let Some(expires) = plan.expires(wanted_expires, now, c) else {
                // Older than the absolute timeout: the session has ended.
                self.memory().forget(&key);
                return self.ended(condition).map(Saved::from);
            };
            let refused = match self
                .put_session(&key, &plan, expires, condition, now, &attributes)
                .await?
            {
                None => {
                    // A merge wrote another text than the request's.
                    let merged = plan.session != session;
                    // What this save wrote is the base of the request's next save.
                    let load = plan.version.map(|(_, next)| Load {
                        version: next,
                        session: Arc::from(plan.session.as_str()),
                        own: merged.then(|| Arc::from(session)),
                    });
                    let mut memory = self.memory();
                    memory.saw(&key, expires, plan.created, load);
                    // The text checked above, unless a merge made another.
                    if merged {
                        memory.known_json.forget(&key);
                    } else {
                        memory.known_json.remember(&key, session);
                    }
                    drop(memory);
                    return Ok(Saved {
                        outcome: SetOutcome::Written,
                        version: plan.version.map(|(_, next)| next),
                    });
                }
                Some(refused) => refused,
            };
            // Something this process did not know is stored. DynamoDB returns the item that
            // failed the condition; only a missing item (which only an update-only save or
            // an expected version fails on) is read again, to be sure.
            let current = match refused {
                Some(item) => {
                    let now = self.now_secs();
                    item::read(Some(item), now, c.oldest_created(now), &key, &c.at_rest)?
                }
                None => self.read_item(&key, true).await?,
            };
            match (&current, condition) {
                (Stored::Tombstone, _) => {
                    self.memory().forget(&key);
                    return self.ended(condition).map(Saved::from);
                }
                (Stored::Live { .. }, WriteCondition::IfAbsent) => {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        "a live session with this id already exists",
                    ));
                }
                (Stored::Absent { .. }, WriteCondition::IfPresent) => {
                    self.memory().forget(&key);
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        "the session no longer exists",
                    ));
                }
                _ => {}
            }
            plan.rebase(current, c, &key, !attributes.is_empty())?;
        }
        Err(Error::new(
            ErrorKind::Conflict,
            format!("the session kept changing under {MAX_SAVE_ATTEMPTS} attempts to save it"),
        ))
    }

    /// What a save meeting an ended session (a tombstone, or past the absolute timeout)
    /// returns: a quiet no-op, or `CONFLICT` for a conditional write.
    fn ended(&self, condition: WriteCondition) -> Result<SetOutcome> {
        match condition {
            WriteCondition::Always => Ok(SetOutcome::Ended),
            WriteCondition::IfAbsent => Err(Error::new(
                ErrorKind::Conflict,
                "a session with this id ended moments ago",
            )),
            WriteCondition::IfPresent => Err(Error::new(
                ErrorKind::Conflict,
                "the session no longer exists",
            )),
        }
    }

    /// The first attempt of a save, from what this process remembers of the session under
    /// `key` and the version the request `loaded`.
    fn plan_save(
        &self,
        key: &str,
        session: &str,
        loaded: Option<u64>,
        now: f64,
    ) -> Result<SavePlan> {
        let c = &self.inner.config;
        let memory = self.memory();
        let seen = memory.recall(key);
        let created = c
            .records_creation()
            .then(|| seen.and_then(|s| s.created).unwrap_or(now.floor()));
        let loads = seen.map_or(&[][..], |s| &s.loads[..]);
        let newest = loads.iter().map(|l| l.version).max().unwrap_or(0);
        let mut session = session.to_owned();
        let (base, version) = match (c.merge, loaded) {
            (None, _) => (None, None),
            // Loaded at `v`: expect `v`, and merge from what was loaded when it is remembered.
            (Some(policy), Some(v)) => {
                let base = match loads.iter().find(|l| l.version == v) {
                    None => Base::Forgotten,
                    Some(load) => {
                        // `v` is this request's own earlier save, which merged other requests'
                        // changes into what it wrote: the request's session still lacks them,
                        // so bring them in before anything is written.
                        if let Some(own) = &load.own {
                            session = merge::merge(
                                own,
                                &session,
                                &load.session,
                                policy,
                                &c.merge_always_mine,
                            )?;
                        }
                        Base::Loaded(load.session.clone())
                    }
                };
                (Some(base), Some((v, newest.max(v).saturating_add(1))))
            }
            // Not loaded by the request (a new session): replaces what is stored. Expect the
            // newest version this process knows of (none: no item); anything else fails the
            // condition and is replaced, with the next version.
            (Some(_), None) => (None, Some((newest, newest.saturating_add(1)))),
        };
        Ok(SavePlan {
            session,
            created,
            version,
            base,
            merge: c.merge,
        })
    }

    /// One PutItem of a save, with its conditions: no live tombstone, the caller's
    /// [`WriteCondition`], the version the plan expects, and the creation time it keeps.
    /// `None` when it was written; `Some` when the condition refused it, with the stored item
    /// DynamoDB returned (none when there is no item).
    async fn put_session(
        &self,
        key: &str,
        plan: &SavePlan,
        expires: f64,
        condition: WriteCondition,
        now: f64,
        attributes: &[(String, ItemAttribute)],
    ) -> Result<Option<Option<HashMap<String, AttributeValue>>>> {
        let c = &self.inner.config;
        let sess = c.at_rest.encode(key, &plan.session)?;
        item::check_size(
            &c.hash_key,
            key,
            stored_len(&sess),
            &item::own_attributes(c),
            item::attributes_bytes(attributes),
        )?;
        let mut request = self
            .inner
            .client
            .put_item()
            .table_name(&c.table)
            .item(&c.hash_key, AttributeValue::S(key.to_owned()))
            .item(
                ATTR_EXPIRES,
                AttributeValue::N((expires as i64).to_string()),
            )
            .item(ATTR_TYPE, AttributeValue::S(TYPE_VALUE.to_owned()))
            .item(ATTR_SESS, sess);
        for (name, value) in attributes {
            request = request.item(name, value.clone().into());
        }
        let mut guard = item::live_tombstone(now).negated();
        match condition {
            WriteCondition::Always => {}
            // A missing, expired, ghost or damaged item counts as absent.
            WriteCondition::IfAbsent => {
                guard = guard.and(item::live_session(now, c.oldest_created(now)).negated());
            }
            WriteCondition::IfPresent => {
                guard = guard.and(item::live_session(now, c.oldest_created(now)));
            }
        }
        if let Some(created) = plan.created {
            request = request.item(
                ATTR_CREATED,
                AttributeValue::N((created as i64).to_string()),
            );
            guard = guard.and(item::created_at_or_unknown(created));
        }
        if let Some((expected, next)) = plan.version {
            request = request.item(ATTR_VERSION, AttributeValue::N(next.to_string()));
            guard = guard.and(item::has_version(expected));
        }
        if let Some(field) = &c.user_field
            && let Some(user) = item::user_of(&plan.session, field)
        {
            request = request.item(ATTR_USER, AttributeValue::S(c.at_rest.stored_user(user)));
        }
        let Condition {
            expression,
            names,
            values,
        } = guard;
        let result = request
            .condition_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(e) => {
                if let Some(PutItemError::ConditionalCheckFailedException(refused)) =
                    e.as_service_error()
                {
                    return Ok(Some(refused.item.clone()));
                }
                Err(Error::from_sdk("PutItem", e))
            }
        }
    }

    /// What [`touch`](Self::touch) would do without sending anything, decided at once and
    /// without a runtime: `Some` when the touch is throttled (this store last saw the
    /// session's stored expiry within the touch throttle of the new one), `None` when it needs
    /// a request. For faces whose callers pay for every hand-off to the runtime (a read-only
    /// express view touches on every request): they ask this first.
    pub fn touch_if_throttled(
        &self,
        sid: &str,
        expires_at: Option<SystemTime>,
    ) -> Result<Option<Touched>> {
        Ok(match self.plan_touch(sid, expires_at)? {
            TouchPlan::Throttled(touched) => Some(touched),
            TouchPlan::Write { .. } => None,
        })
    }

    /// The first, synchronous part of a touch: the key and the expiry to write, or the
    /// throttled outcome.
    fn plan_touch(&self, sid: &str, expires_at: Option<SystemTime>) -> Result<TouchPlan> {
        let key = self.key(sid)?;
        let c = &self.inner.config;
        let now = self.now_secs();
        let (_, mut new_secs) = expiry::encode(self.expiry_or_default(expires_at))?;
        let remembered = self.memory().recall(&key).map(|s| (s.expires, s.created));
        if let Some((_, Some(created))) = remembered
            && let Some(limit) = c.absolute_timeout
        {
            new_secs = new_secs.min((created + limit.as_secs_f64()).ceil());
        }
        if let Some((stored, _)) = remembered {
            let threshold = c
                .touch_after
                .as_secs_f64()
                .min(((new_secs - now) / 10.0).max(0.0));
            if stored > now && (new_secs - stored).abs() < threshold {
                return Ok(TouchPlan::Throttled(Touched {
                    outcome: TouchOutcome::Throttled,
                    expires_at: Some(expiry::at_epoch_secs(stored)),
                }));
            }
        }
        Ok(TouchPlan::Write { key, new_secs })
    }

    /// Moves the expiry of a live session to `expires_at` (or now plus the default lifetime),
    /// without touching its data.
    ///
    /// Never re-creates a destroyed or expired session, nor one past the absolute timeout:
    /// that case is [`TouchOutcome::NotFound`]. When this store last saw the session's stored
    /// expiry (through `get`, `set` or `touch`) and the new one moves it by less than the touch
    /// throttle, nothing is sent at all. With an absolute timeout, the expiry never passes
    /// the session's creation plus the timeout. Returns what it did and the expiry it left
    /// stored.
    pub async fn touch(&self, sid: &str, expires_at: Option<SystemTime>) -> Result<Touched> {
        let (key, new_secs) = match self.plan_touch(sid, expires_at)? {
            TouchPlan::Throttled(touched) => return Ok(touched),
            TouchPlan::Write { key, new_secs } => (key, new_secs),
        };
        let c = &self.inner.config;
        let now = self.now_secs();
        self.ensure_table().await?;
        // Only a live session is touched: never a tombstone, an expired, ghost or damaged one.
        let Condition {
            expression,
            names,
            mut values,
        } = item::live_session(now, c.oldest_created(now));
        values.insert(
            ":new_expires".to_owned(),
            AttributeValue::N((new_secs as i64).to_string()),
        );
        let result = self
            .inner
            .client
            .update_item()
            .table_name(&c.table)
            .key(&c.hash_key, AttributeValue::S(key.clone()))
            .update_expression("SET #e = :new_expires")
            .condition_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => {
                self.memory().set_expires(&key, new_secs);
                Ok(Touched {
                    outcome: TouchOutcome::Updated,
                    expires_at: Some(expiry::at_epoch_secs(new_secs)),
                })
            }
            Err(e) => {
                let err = Error::from_sdk("UpdateItem", e);
                if err.is_condition_failed() {
                    self.memory().forget(&key);
                    Ok(Touched {
                        outcome: TouchOutcome::NotFound,
                        expires_at: None,
                    })
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Ends the session `sid`; ending a missing session is not an error. One write: a
    /// tombstone that lives for the configured `tombstone_lifetime`, so that a request that
    /// loaded the session before and saves it afterwards writes nothing; with tombstones off,
    /// a DeleteItem.
    pub async fn destroy(&self, sid: &str) -> Result<()> {
        let key = self.key(sid)?;
        self.ensure_table().await?;
        let c = &self.inner.config;
        self.memory().forget(&key);
        match self.end_request(AttributeValue::S(key))? {
            EndRequest::Delete(key) => self
                .inner
                .client
                .delete_item()
                .table_name(&c.table)
                .key(&c.hash_key, key)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::from_sdk("DeleteItem", e)),
            EndRequest::Tombstone(item) => self
                .inner
                .client
                .put_item()
                .table_name(&c.table)
                .set_item(Some(item))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::from_sdk("PutItem", e)),
        }
    }

    /// How the session under `key` is ended: a tombstone item, or a delete.
    fn end_request(&self, key: AttributeValue) -> Result<EndRequest> {
        let c = &self.inner.config;
        if c.tombstone_lifetime.is_zero() {
            return Ok(EndRequest::Delete(key));
        }
        let now = c.now();
        let ends =
            expiry::stored_secs(now + c.tombstone_lifetime).unwrap_or(expiry::MAX_EXPIRES_SECS);
        Ok(EndRequest::Tombstone(HashMap::from([
            (c.hash_key.clone(), key),
            (ATTR_EXPIRES.to_owned(), AttributeValue::N(ends.to_string())),
            (
                ATTR_TYPE.to_owned(),
                AttributeValue::S(TYPE_VALUE.to_owned()),
            ),
            (
                ATTR_SESS.to_owned(),
                AttributeValue::S(TOMBSTONE_SESS.to_owned()),
            ),
            (
                ATTR_ENDED.to_owned(),
                AttributeValue::N(expiry::whole_secs(now).to_string()),
            ),
        ])))
    }

    /// The live sessions of `user` (the value of the configured `user_field`), from the
    /// `user-index` global secondary index: one Query (and one per further page), never a
    /// scan. The index is eventually consistent: a session saved a moment ago may be missing,
    /// and one ended a moment ago may still be listed. `INVALID_CONFIG` on `user_field` when
    /// it is not set.
    pub async fn user_sessions(&self, user: &str) -> Result<Vec<UserSession>> {
        let c = &self.inner.config;
        if c.user_field.is_none() {
            return Err(Error::invalid_config(
                ConfigField::UserField,
                "is not set, so the store keeps no index of users' sessions",
            ));
        }
        if user.is_empty() || user.len() > MAX_USER_BYTES {
            return Err(Error::invalid_argument(format!(
                "the user id must be 1 to {MAX_USER_BYTES} bytes long"
            )));
        }
        self.ensure_table().await?;
        let now = self.now_secs();
        let Condition {
            expression: live,
            mut names,
            mut values,
        } = item::live_index_entry(now, c.oldest_created(now));
        let mut filter = live;
        names.insert("#k".to_owned(), c.hash_key.clone());
        names.insert("#u".to_owned(), ATTR_USER.to_owned());
        names.insert("#c".to_owned(), ATTR_CREATED.to_owned());
        values.insert(
            ":user".to_owned(),
            AttributeValue::S(c.at_rest.stored_user(user.to_owned())),
        );
        if !c.prefix.is_empty() {
            filter = format!("{filter} AND begins_with(#k, :prefix)");
            values.insert(":prefix".to_owned(), AttributeValue::S(c.prefix.clone()));
        }
        let mut sessions = Vec::new();
        let mut start_key = None;
        loop {
            let page = self
                .inner
                .client
                .query()
                .table_name(&c.table)
                .index_name(USER_INDEX)
                .key_condition_expression("#u = :user")
                .filter_expression(&filter)
                .projection_expression("#k, #e, #c")
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start_key)
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    let err = Error::from_sdk("Query", e);
                    return Err(if self.user_index_missing().await {
                        Error::new(
                            ErrorKind::TableNotFound,
                            "the table has no `user-index` for `user_field`: `create_table` adds it",
                        )
                        .with_source(err)
                    } else {
                        err
                    });
                }
            };
            start_key = page.last_evaluated_key.filter(|k| !k.is_empty());
            for mut entry in page.items.unwrap_or_default() {
                let Some(id) = take_sid(&mut entry, &c.hash_key, &c.prefix) else {
                    continue;
                };
                let Some(expires) = item::item_expires(&entry) else {
                    continue;
                };
                sessions.push(UserSession {
                    id,
                    expires_at: expiry::at_epoch_secs(expires),
                    created_at: item::created_of(&entry).map(expiry::at_epoch_secs),
                });
            }
            if start_key.is_none() {
                return Ok(sessions);
            }
        }
    }

    /// Ends every live session of `user` but `except` (the caller's current session, say):
    /// "log out everywhere". Lists them with [`user_sessions`](Self::user_sessions) and ends
    /// them as [`destroy`](Self::destroy) does (a tombstone each), in BatchWriteItem requests
    /// of 25. Returns how many it ended. The index is eventually consistent: a session saved
    /// a moment before this call may not be listed yet, and survives it.
    ///
    /// `INVALID_ARGUMENT` for an empty `except`: no session has that id, so it would keep
    /// none while the caller meant to keep one.
    pub async fn end_user_sessions(&self, user: &str, except: Option<&str>) -> Result<u64> {
        if except.is_some_and(str::is_empty) {
            return Err(Error::invalid_argument(
                "the session to keep must be a session id, not empty",
            ));
        }
        let keep = except.map(|sid| self.key(sid)).transpose()?;
        let sessions = self.user_sessions(user).await?;
        let mut requests = Vec::new();
        {
            let mut memory = self.memory();
            for session in sessions {
                // The listed id is what the key holds after the prefix: with hashed ids, the
                // hash, which is not hashed again.
                let key = format!("{}{}", self.inner.config.prefix, session.id);
                if keep.as_deref() == Some(key.as_str()) {
                    continue;
                }
                memory.forget(&key);
                requests.push(
                    self.end_request(AttributeValue::S(key))?
                        .into_write_request(&self.inner.config)?,
                );
            }
        }
        self.batch_write(requests).await
    }

    /// The ids of all live sessions of this store's prefix, in no particular order: exactly
    /// the sessions `get` returns.
    pub async fn ids(&self) -> Result<Vec<String>> {
        let spec = self.live_scan();
        let sinks: Vec<IdsSink> = self.scan(&spec).await?;
        Ok(sinks.into_iter().flat_map(|s| s.0).collect())
    }

    /// All live sessions of this store's prefix with their ids, in no particular order.
    /// Items whose session text is not valid JSON are left out, as `get` leaves them out.
    pub async fn all(&self) -> Result<Vec<(String, SessionRecord)>> {
        let spec = self.live_scan();
        let sinks: Vec<AllSink> = self.scan(&spec).await?;
        Ok(sinks.into_iter().flat_map(|s| s.0).collect())
    }

    /// The number of live sessions of this store's prefix: the length of [`ids`](Self::ids).
    pub async fn length(&self) -> Result<u64> {
        let spec = self.live_scan();
        let sinks: Vec<CountSink> = self.scan(&spec).await?;
        Ok(sinks.iter().map(|s| s.0).sum())
    }

    /// Deletes every item of this store's prefix, live, expired or ghost; items of other
    /// prefixes in the same table are left alone.
    pub async fn clear(&self) -> Result<ReapReport> {
        let spec = self.scan_spec(None, Projection::Key);
        let sinks: Vec<DeleteSink> = self.scan(&spec).await?;
        self.memory().clear();
        Ok(total(&sinks))
    }

    /// One reaper pass: deletes every expired session of this store's prefix. Waits for a pass
    /// already running in this store (or a clone of it) to end first.
    pub async fn reap(&self) -> Result<ReapReport> {
        let _pass = self.inner.reaping.lock().await;
        self.reap_pass().await
    }

    /// A reaper pass unless one is already running, for the background reaper.
    pub(crate) async fn reap_if_idle(&self) -> Option<Result<ReapReport>> {
        let _pass = self.inner.reaping.try_lock().ok()?;
        Some(self.reap_pass().await)
    }

    /// Rewrites every live session of this store's prefix that is not encrypted with the
    /// first encryption key (written before encryption was turned on, or under a key being
    /// rotated out), so the old key can then be removed. Sessions in use are re-encrypted by
    /// their next save anyway; this pass is for idle ones, which `touch` does not rewrite.
    ///
    /// One scan of the table, and one conditional UpdateItem per session rewritten: a session
    /// saved by a request between the scan and its rewrite is left as that request wrote it
    /// (under the first key). Sessions it cannot read (a key the store lacks, damaged) are
    /// counted and left alone. The reaper does not do this: it reads only keys. `INVALID_CONFIG`
    /// on `encryption_keys` without keys.
    pub async fn reencrypt(&self) -> Result<Reencrypted> {
        let at_rest = &self.inner.config.at_rest;
        if at_rest.decrypt_only() {
            return Err(Error::invalid_config(
                ConfigField::DecryptOnly,
                "is set: the keys only decrypt, so there is no key to re-encrypt sessions with",
            ));
        }
        if !at_rest.encrypts() {
            return Err(Error::invalid_config(
                ConfigField::EncryptionKeys,
                "is empty: there is no key to re-encrypt sessions with",
            ));
        }
        let spec = self.live_scan();
        let sinks: Vec<ReencryptSink> = self.scan(&spec).await?;
        Ok(sinks
            .iter()
            .fold(Reencrypted::default(), |acc, s| Reencrypted {
                scanned: acc.scanned + s.0.scanned,
                rewritten: acc.rewritten + s.0.rewritten,
                unreadable: acc.unreadable + s.0.unreadable,
            }))
    }

    /// Rewrites one scanned item under the first key when it needs it: whether it did.
    async fn reencrypt_item(
        &self,
        mut item: HashMap<String, AttributeValue>,
        report: &mut Reencrypted,
    ) -> Result<()> {
        let c = &self.inner.config;
        let Some(AttributeValue::S(key)) = item.remove(&c.hash_key) else {
            return Ok(());
        };
        let Some(old) = item
            .get(ATTR_SESS)
            .filter(|s| c.at_rest.needs_reencryption(s))
        else {
            return Ok(());
        };
        let old = old.clone();
        let now = self.now_secs();
        let session = match item::read(Some(item), now, c.oldest_created(now), &key, &c.at_rest) {
            Ok(Stored::Live { record, .. }) => record.session,
            Ok(_) => {
                report.unreadable += 1;
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::Unreadable => {
                report.unreadable += 1;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let new = c.at_rest.encode(&key, &session)?;
        let own = item::own_attributes(c);
        if item::check_size(&c.hash_key, &key, stored_len(&new), &own, 0).is_err() {
            // Within 32 bytes of DynamoDB's limit unencrypted: it stays as it is.
            tracing::warn!(
                table = %c.table,
                "connect-dynamodb left a session unencrypted: encrypted it would not fit DynamoDB's item limit"
            );
            report.unreadable += 1;
            return Ok(());
        }
        let result = self
            .inner
            .client
            .update_item()
            .table_name(&c.table)
            .key(&c.hash_key, AttributeValue::S(key))
            .update_expression("SET #s = :new")
            .condition_expression("#s = :old AND attribute_not_exists(#ended)")
            .expression_attribute_names("#s", ATTR_SESS)
            .expression_attribute_names("#ended", ATTR_ENDED)
            .expression_attribute_values(":new", new)
            .expression_attribute_values(":old", old)
            .send()
            .await;
        match result {
            Ok(_) => report.rewritten += 1,
            Err(e) => {
                let err = Error::from_sdk("UpdateItem", e);
                // Saved, destroyed or expired meanwhile: whatever a request wrote is under
                // the first key already.
                if !err.is_condition_failed() {
                    return Err(err);
                }
            }
        }
        Ok(())
    }

    /// Deletes with BatchWriteItem, which takes no condition: a session saved again under the
    /// same id between a page's scan and its delete is deleted too. express-session never
    /// reuses the id of an expired session, so only a request that loaded the session before
    /// it expired and saves it afterwards can meet this.
    async fn reap_pass(&self) -> Result<ReapReport> {
        let spec = self.scan_spec(Some(item::expired(self.now_secs())), Projection::Key);
        let sinks: Vec<DeleteSink> = self.scan(&spec).await?;
        let report = total(&sinks);
        tracing::debug!(
            table = %self.inner.config.table,
            scanned = report.scanned,
            deleted = report.deleted,
            "connect-dynamodb reaper pass"
        );
        Ok(report)
    }

    /// The full key of `sid`, checked against DynamoDB's key limits.
    pub(crate) fn key(&self, sid: &str) -> Result<String> {
        if sid.is_empty() {
            return Err(Error::invalid_argument("the session id is empty"));
        }
        let prefix = &self.inner.config.prefix;
        if prefix.len() + sid.len() > MAX_KEY_BYTES {
            return Err(Error::invalid_argument(format!(
                "the session id is {} bytes long; with the prefix the key may be at most {MAX_KEY_BYTES} bytes",
                sid.len()
            )));
        }
        let mut key = prefix.clone();
        key.push_str(&self.inner.config.at_rest.stored_id(sid));
        Ok(key)
    }

    fn expiry_or_default(&self, expires_at: Option<SystemTime>) -> SystemTime {
        self.inner.config.expiry_or_default(expires_at)
    }

    /// Now on the store's clock, in epoch seconds.
    pub(crate) fn now_secs(&self) -> f64 {
        expiry::epoch_secs(self.inner.config.now())
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, SessionMemory> {
        // The memory holds plain numbers: a panic elsewhere cannot leave it inconsistent.
        self.inner
            .memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A scan for live sessions. DynamoDB filters out other prefixes, expired items and ghosts;
    /// the session text is fetched too, since only valid JSON counts as a session. (A scan
    /// costs the same read capacity whatever it projects.)
    fn live_scan(&self) -> ScanSpec {
        let now = self.now_secs();
        self.scan_spec(
            Some(item::live_session(
                now,
                self.inner.config.oldest_created(now),
            )),
            Projection::Sessions,
        )
    }

    /// A scan of this store's prefix, narrowed by `condition`.
    pub(crate) fn scan_spec(
        &self,
        condition: Option<Condition>,
        projection: Projection,
    ) -> ScanSpec {
        let c = &self.inner.config;
        let mut names = HashMap::from([("#k".to_owned(), c.hash_key.clone())]);
        let mut values = HashMap::new();
        let mut filters = Vec::new();
        if !c.prefix.is_empty() {
            filters.push("begins_with(#k, :prefix)".to_owned());
            values.insert(":prefix".to_owned(), AttributeValue::S(c.prefix.clone()));
        }
        if let Some(condition) = condition {
            filters.push(condition.expression);
            names.extend(condition.names);
            values.extend(condition.values);
        }
        let projection_expression = match projection {
            Projection::Key => "#k",
            Projection::Sessions => {
                names.insert("#e".to_owned(), ATTR_EXPIRES.to_owned());
                names.insert("#s".to_owned(), ATTR_SESS.to_owned());
                names.insert("#ended".to_owned(), ATTR_ENDED.to_owned());
                names.insert("#c".to_owned(), ATTR_CREATED.to_owned());
                "#k, #e, #s, #ended, #c"
            }
        };
        ScanSpec {
            filter: (!filters.is_empty()).then(|| filters.join(" AND ")),
            names,
            values,
            projection: projection_expression.to_owned(),
        }
    }

    /// Runs a parallel scan with one sink per segment, following every page of each segment.
    pub(crate) async fn scan<S: PageSink>(&self, spec: &ScanSpec) -> Result<Vec<S>> {
        self.ensure_table().await?;
        let segments = self.inner.config.scan_segments;
        try_join_all((0..segments).map(|segment| async move {
            let mut sink = S::default();
            let mut start_key = None;
            loop {
                let page = self.scan_page(spec, segment, segments, start_key).await?;
                crate::cli::scanned_page(page.scanned_count);
                start_key = page.last_evaluated_key.clone().filter(|k| !k.is_empty());
                sink.page(self, page).await?;
                if start_key.is_none() {
                    return Ok(sink);
                }
            }
        }))
        .await
    }

    async fn scan_page(
        &self,
        spec: &ScanSpec,
        segment: u32,
        segments: u32,
        start_key: Option<HashMap<String, AttributeValue>>,
    ) -> Result<ScanOutput> {
        let c = &self.inner.config;
        let mut request = self
            .inner
            .client
            .scan()
            .table_name(&c.table)
            .set_filter_expression(spec.filter.clone())
            .projection_expression(&spec.projection)
            .set_expression_attribute_names(Some(spec.names.clone()))
            .set_expression_attribute_values((!spec.values.is_empty()).then(|| spec.values.clone()))
            .set_exclusive_start_key(start_key)
            .consistent_read(c.consistent_read);
        if segments > 1 {
            request = request
                .segment(segment as i32)
                .total_segments(segments as i32);
        }
        request.send().await.map_err(|e| Error::from_sdk("Scan", e))
    }

    /// Deletes every item whose key begins with `prefix` (not this store's session prefix) and
    /// that `condition` holds for, in one parallel scan and BatchWriteItem requests of 25: the
    /// key-value mode's bulk deletes ([`crate::kv`]).
    pub(crate) async fn delete_where(
        &self,
        prefix: &str,
        condition: Condition,
    ) -> Result<ReapReport> {
        let Condition {
            expression,
            mut names,
            mut values,
        } = condition;
        names.insert("#k".to_owned(), self.inner.config.hash_key.clone());
        values.insert(
            ":key_prefix".to_owned(),
            AttributeValue::S(prefix.to_owned()),
        );
        let spec = ScanSpec {
            filter: Some(format!("begins_with(#k, :key_prefix) AND {expression}")),
            names,
            values,
            projection: "#k".to_owned(),
        };
        let sinks: Vec<DeleteSink> = self.scan(&spec).await?;
        Ok(total(&sinks))
    }

    /// Deletes `keys` (full keys) with BatchWriteItem.
    async fn batch_delete(&self, keys: Vec<AttributeValue>) -> Result<u64> {
        let requests = keys
            .into_iter()
            .map(|key| EndRequest::Delete(key).into_write_request(&self.inner.config))
            .collect::<Result<_>>()?;
        self.batch_write(requests).await
    }

    /// Sends `requests` with BatchWriteItem, 25 at a time, retrying unprocessed items with
    /// exponential backoff. Returns how many were processed.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<u64> {
        let c = &self.inner.config;
        let mut deleted = 0;
        for chunk in requests.chunks(BATCH_WRITE_LIMIT) {
            let mut pending: Vec<WriteRequest> = chunk.to_vec();
            let mut retries = 0;
            loop {
                let sent = pending.len() as u64;
                let out = self
                    .inner
                    .client
                    .batch_write_item()
                    .request_items(&c.table, pending)
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk("BatchWriteItem", e))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut items| items.remove(&c.table))
                    .unwrap_or_default();
                deleted += sent.saturating_sub(pending.len() as u64);
                if pending.is_empty() {
                    break;
                }
                retries += 1;
                if retries > MAX_BATCH_RETRIES {
                    return Err(Error::new(
                        ErrorKind::Throttled,
                        format!(
                            "BatchWriteItem left {} writes unprocessed after {MAX_BATCH_RETRIES} retries",
                            pending.len()
                        ),
                    ));
                }
                tokio::time::sleep(backoff(retries)).await;
            }
        }
        Ok(deleted)
    }
}

/// What a [`SessionStore::set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
    /// The session was written.
    Written,
    /// The session has ended (destroyed moments ago: a tombstone; or past the absolute
    /// timeout), so nothing was written. A quiet no-op: a request that loaded the session
    /// before it ended does not bring it back.
    Ended,
}

/// What a [`SessionStore::reencrypt`] pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reencrypted {
    /// Items DynamoDB scanned.
    pub scanned: u64,
    /// Live sessions rewritten under the first encryption key.
    pub rewritten: u64,
    /// Live sessions left as they were: they cannot be read (encrypted with a key this store
    /// lacks, in a newer format, damaged), or, encrypted, would no longer fit DynamoDB's item
    /// limit.
    pub unreadable: u64,
}

/// One of a user's sessions, as [`SessionStore::user_sessions`] lists it.
#[derive(Clone, PartialEq, Eq)]
pub struct UserSession {
    /// The session id (without the prefix).
    pub id: String,
    /// When the session expires.
    pub expires_at: SystemTime,
    /// When the session was created, when the item records it.
    pub created_at: Option<SystemTime>,
}

impl std::fmt::Debug for UserSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A session id is a bearer credential: never shown.
        f.debug_struct("UserSession")
            .field("id", &"** redacted **")
            .field("expires_at", &self.expires_at)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// How a session is ended: a tombstone, or (tombstones off) a delete.
enum EndRequest {
    Delete(AttributeValue),
    Tombstone(HashMap<String, AttributeValue>),
}

impl EndRequest {
    fn into_write_request(self, config: &Config) -> Result<WriteRequest> {
        let built = match self {
            EndRequest::Delete(key) => DeleteRequest::builder()
                .key(&config.hash_key, key)
                .build()
                .map(|d| WriteRequest::builder().delete_request(d).build()),
            EndRequest::Tombstone(item) => PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|p| WriteRequest::builder().put_request(p).build()),
        };
        built.map_err(|e| {
            Error::new(ErrorKind::Internal, "could not build a write request").with_source(e)
        })
    }
}

/// What a touch does: nothing (throttled), or write `new_secs` under `key`.
enum TouchPlan {
    Throttled(Touched),
    Write { key: String, new_secs: f64 },
}

/// What a [`SessionStore::save`] did, and the version it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    /// Whether it was written.
    pub outcome: SetOutcome,
    /// With versioned writes on and the session written, the version written: the request's
    /// [`SetOptions::loaded`] for a further save of the same session.
    pub version: Option<u64>,
}

impl From<SetOutcome> for Saved {
    fn from(outcome: SetOutcome) -> Self {
        Saved {
            outcome,
            version: None,
        }
    }
}

/// What a save merges from when another request saved in between.
enum Base {
    /// The text the request loaded.
    Loaded(Arc<str>),
    /// The request loaded a version this process no longer remembers.
    Forgotten,
}

/// A save in progress: what it writes and what it expects to find.
struct SavePlan {
    /// The session text to write (merged with a concurrent change, after a conflict).
    session: String,
    /// The creation time to write and expect, when items record it.
    created: Option<f64>,
    /// The version expected stored and the version to write (versioned writes only).
    version: Option<(u64, u64)>,
    /// What the written session started from (versioned writes of a loaded session only).
    base: Option<Base>,
    merge: Option<MergePolicy>,
}

impl SavePlan {
    /// The expiry to write: `wanted`, capped at the absolute timeout; `None` when that has
    /// passed.
    fn expires(&self, wanted: f64, now: f64, config: &Config) -> Option<f64> {
        match (self.created, config.absolute_timeout) {
            (Some(created), Some(limit)) => {
                let limit = (created + limit.as_secs_f64()).ceil();
                (limit > now).then_some(wanted.min(limit))
            }
            _ => Some(wanted),
        }
    }

    /// Takes in what is stored now, after a write's condition failed on it: its creation
    /// time and version, and, for a loaded session, its session merged with this one.
    /// `attributes`: the save writes extra attributes beside the session.
    fn rebase(
        &mut self,
        current: Stored,
        config: &Config,
        key: &str,
        attributes: bool,
    ) -> Result<()> {
        let (version, created, session) = match current {
            Stored::Live {
                record,
                version,
                created,
            } => (version, created, Some(record.session)),
            Stored::Absent { version, created } => (version, created, None),
            Stored::Tombstone => return Ok(()),
        };
        if self.created.is_some() && created.is_some() {
            self.created = created;
        }
        let Some((_, next)) = self.version else {
            return Ok(());
        };
        if let (Some(base), Some(policy), Some(theirs)) = (&self.base, self.merge, &session) {
            match base {
                Base::Loaded(base) => {
                    if attributes {
                        // The caller derived them from its own session, not the merged one.
                        return Err(Error::new(
                            ErrorKind::Conflict,
                            "the session changed since it was loaded, and a merged session \
                             would not match the extra attributes given with it",
                        ));
                    }
                    self.session = merge::merge(
                        base,
                        &self.session,
                        theirs,
                        policy,
                        &config.merge_always_mine,
                    )?;
                    item::check_session(
                        &config.hash_key,
                        key,
                        &self.session,
                        &[],
                        &item::own_attributes(config),
                        &config.at_rest,
                    )?;
                }
                // Without what was loaded nothing can be merged: "mine" writes this request's
                // session whole (as without `merge`), "error" refuses.
                Base::Forgotten if policy == MergePolicy::Error => {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        "the session changed since it was loaded, and this process no longer \
                         remembers what it loaded",
                    ));
                }
                Base::Forgotten => tracing::warn!(
                    table = %config.table,
                    "connect-dynamodb wrote a session whole over a concurrent change: it no \
                     longer remembered what the saving request loaded (merge policy `mine`)"
                ),
            }
            // A further attempt merges from what is stored now.
            self.base = Some(Base::Loaded(Arc::from(theirs.as_str())));
        }
        self.version = Some((version, next.max(version.saturating_add(1))));
        Ok(())
    }
}

/// Exponential backoff with full jitter: a random delay up to 50 ms * 2^(retry-1), capped at 5 s.
pub(crate) fn backoff(retry: u32) -> Duration {
    let cap_ms = (50u64 << retry.saturating_sub(1).min(16)).min(5_000);
    Duration::from_millis(1 + random_u64() % cap_ms)
}

pub(crate) fn random_u64() -> u64 {
    RandomState::new().hash_one(std::time::Instant::now())
}

/// The bytes a `sess` value takes in an item.
pub(crate) fn stored_len(sess: &AttributeValue) -> usize {
    match sess {
        AttributeValue::S(text) => text.len(),
        AttributeValue::B(blob) => blob.as_ref().len(),
        _ => 0,
    }
}

fn total(sinks: &[DeleteSink]) -> ReapReport {
    sinks
        .iter()
        .fold(ReapReport::default(), |acc, s| ReapReport {
            scanned: acc.scanned + s.scanned,
            deleted: acc.deleted + s.deleted,
        })
}

pub(crate) enum Projection {
    /// The key alone, for deletes.
    Key,
    /// Key, expiry and session text.
    Sessions,
}

pub(crate) struct ScanSpec {
    filter: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    projection: String,
}

/// What one scan segment does with its pages.
pub(crate) trait PageSink: Default + Send {
    fn page(
        &mut self,
        store: &SessionStore,
        page: ScanOutput,
    ) -> impl Future<Output = Result<()>> + Send;
}

#[derive(Default)]
struct IdsSink(Vec<String>);

impl PageSink for IdsSink {
    async fn page(&mut self, store: &SessionStore, page: ScanOutput) -> Result<()> {
        self.0
            .extend(live_sessions(store, page)?.into_iter().map(|(sid, _)| sid));
        Ok(())
    }
}

#[derive(Default)]
struct AllSink(Vec<(String, SessionRecord)>);

impl PageSink for AllSink {
    async fn page(&mut self, store: &SessionStore, page: ScanOutput) -> Result<()> {
        self.0.extend(live_sessions(store, page)?);
        Ok(())
    }
}

#[derive(Default)]
struct CountSink(u64);

impl PageSink for CountSink {
    async fn page(&mut self, store: &SessionStore, page: ScanOutput) -> Result<()> {
        self.0 += live_sessions(store, page)?.len() as u64;
        Ok(())
    }
}

/// The sessions of a live scan's page that `get` would return, with their ids (with hashed
/// ids, the hashes). A session encrypted with a key the store lacks (which `get` refuses with
/// `UNREADABLE`) is left out, with a warning log line.
fn live_sessions(store: &SessionStore, page: ScanOutput) -> Result<Vec<(String, SessionRecord)>> {
    let c = &store.inner.config;
    let now = store.now_secs();
    let oldest = c.oldest_created(now);
    let mut sessions = Vec::new();
    for mut item in page.items.unwrap_or_default() {
        let Some(sid) = take_sid(&mut item, &c.hash_key, &c.prefix) else {
            continue;
        };
        if !c.at_rest.could_be_stored_id(&sid) {
            // With hashed ids on, an item written before: `get` does not find it either.
            continue;
        }
        let key = format!("{}{sid}", c.prefix);
        match item::decode(item, now, oldest, &key, &c.at_rest) {
            Ok(Some(record)) => sessions.push((sid, record)),
            Ok(None) => {}
            // One session a listing cannot read does not hide all the others; `get` of that
            // session says why.
            Err(e) if e.kind() == ErrorKind::Unreadable => tracing::warn!(
                table = %c.table,
                "connect-dynamodb left out of a listing a session it cannot read: {e}"
            ),
            Err(e) => return Err(e),
        }
    }
    Ok(sessions)
}

#[derive(Default)]
struct ReencryptSink(Reencrypted);

impl PageSink for ReencryptSink {
    async fn page(&mut self, store: &SessionStore, page: ScanOutput) -> Result<()> {
        self.0.scanned += page.scanned_count.max(0) as u64;
        for item in page.items.unwrap_or_default() {
            store.reencrypt_item(item, &mut self.0).await?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct DeleteSink {
    scanned: u64,
    deleted: u64,
}

impl PageSink for DeleteSink {
    async fn page(&mut self, store: &SessionStore, page: ScanOutput) -> Result<()> {
        let hash_key = &store.inner.config.hash_key;
        self.scanned += page.scanned_count.max(0) as u64;
        let keys: Vec<AttributeValue> = page
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|mut item| item.remove(hash_key))
            .collect();
        self.deleted += store.batch_delete(keys).await?;
        Ok(())
    }
}

fn take_sid(
    item: &mut HashMap<String, AttributeValue>,
    hash_key: &str,
    prefix: &str,
) -> Option<String> {
    match item.remove(hash_key) {
        Some(AttributeValue::S(mut key)) if key.starts_with(prefix) => {
            key.drain(..prefix.len());
            Some(key)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for retry in 1..40 {
            let delay = backoff(retry);
            assert!(delay >= Duration::from_millis(1));
            assert!(delay <= Duration::from_millis(5_000));
        }
        assert!(backoff(1) <= Duration::from_millis(50));
    }

    #[test]
    fn take_sid_strips_only_this_prefix() {
        let mut item = HashMap::from([("id".to_owned(), AttributeValue::S("sess:abc".into()))]);
        assert_eq!(take_sid(&mut item, "id", "sess:"), Some("abc".to_owned()));
        let mut other = HashMap::from([("id".to_owned(), AttributeValue::S("other:abc".into()))]);
        assert_eq!(take_sid(&mut other, "id", "sess:"), None);
    }
}
