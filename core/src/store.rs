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
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, TableStatus, WriteRequest};
use aws_smithy_http_client::tls;
use futures_util::future::try_join_all;

use crate::config::{Config, ConfigField, FirstUse, MAX_KEY_BYTES};
use crate::error::{Error, ErrorKind, Result};
use crate::expiry;
use crate::item::{
    self, ATTR_EXPIRES, ATTR_SESS, ATTR_TYPE, Condition, ItemAttribute, SessionRecord, TYPE_VALUE,
};

/// How many sessions' stored expiries a store remembers for touch throttling, per generation
/// (two generations are kept, so between this and twice this many).
const EXPIRY_MEMORY: usize = 32 * 1024;
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
}

impl From<WriteCondition> for SetOptions {
    fn from(condition: WriteCondition) -> Self {
        SetOptions {
            condition,
            attributes: Vec::new(),
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
    expiries: Mutex<ExpiryMemory>,
    reaping: tokio::sync::Mutex<()>,
    /// Set once the first-use table check ([`FirstUse`]) has passed.
    table_ready: tokio::sync::OnceCell<()>,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Builds the DynamoDB client a [`Config`] describes: one rustls HTTPS client, the configured
/// timeouts and retries, and static credentials or the default AWS provider chain.
pub async fn build_client(config: &Config) -> Result<Client> {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
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
    Ok(Client::new(&sdk_config))
}

impl SessionStore {
    /// Builds the client from `config` (see [`build_client`]) and a store over it. Makes no
    /// request to DynamoDB.
    pub async fn connect(config: Config) -> Result<Self> {
        let client = build_client(&config).await?;
        Ok(Self::with_client(client, config))
    }

    /// A store over a DynamoDB client the caller built. The client's own region, endpoint,
    /// credentials, timeouts and retries apply; those in `config` are not used.
    pub fn with_client(client: Client, config: Config) -> Self {
        SessionStore {
            inner: Arc::new(Inner {
                client,
                config,
                expiries: Mutex::new(ExpiryMemory::default()),
                reaping: tokio::sync::Mutex::new(()),
                table_ready: tokio::sync::OnceCell::new(),
            }),
        }
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
    /// DynamoDB's TTL deletes it), or its item is a ghost or unreadable.
    pub async fn get(&self, sid: &str) -> Result<Option<SessionRecord>> {
        let key = self.key(sid)?;
        self.ensure_table().await?;
        let c = &self.inner.config;
        let out = self
            .inner
            .client
            .get_item()
            .table_name(&c.table)
            .key(&c.hash_key, AttributeValue::S(key))
            .consistent_read(c.consistent_read)
            .projection_expression("#e, #s")
            .expression_attribute_names("#e", ATTR_EXPIRES)
            .expression_attribute_names("#s", ATTR_SESS)
            .send()
            .await
            .map_err(|e| Error::from_sdk("GetItem", e))?;
        let record = out.item.and_then(|i| item::decode(i, self.now_secs()));
        let mut memory = self.expiries();
        match &record {
            Some(r) => memory.remember(sid, expiry::epoch_secs(r.expires_at)),
            None => memory.forget(sid),
        }
        Ok(record)
    }

    /// Stores `session` (JSON text) under `sid` until `expires_at`, or for the configured
    /// default lifetime when `None`. Replaces whatever was stored.
    pub async fn set(
        &self,
        sid: &str,
        session: &str,
        expires_at: Option<SystemTime>,
    ) -> Result<()> {
        self.set_with(sid, session, expires_at, WriteCondition::Always)
            .await
    }

    /// [`set`](Self::set) with a condition and extra attributes (`SetOptions`, or just a
    /// [`WriteCondition`]). A failed condition is a `CONFLICT` error and leaves the stored item
    /// as it was.
    pub async fn set_with(
        &self,
        sid: &str,
        session: &str,
        expires_at: Option<SystemTime>,
        options: impl Into<SetOptions>,
    ) -> Result<()> {
        let SetOptions {
            condition,
            attributes,
        } = options.into();
        let key = self.key(sid)?;
        let c = &self.inner.config;
        item::check_session(&c.hash_key, &key, session, &attributes)?;
        let now = self.now_secs();
        let (expires, expires_secs) = expiry::encode(self.expiry_or_default(expires_at))?;
        self.ensure_table().await?;
        let mut request = self
            .inner
            .client
            .put_item()
            .table_name(&c.table)
            .item(&c.hash_key, AttributeValue::S(key))
            .item(ATTR_EXPIRES, AttributeValue::N(expires))
            .item(ATTR_TYPE, AttributeValue::S(TYPE_VALUE.to_owned()))
            .item(ATTR_SESS, AttributeValue::S(session.to_owned()));
        for (name, value) in attributes {
            request = request.item(name, value.into());
        }
        let guard = match condition {
            WriteCondition::Always => None,
            // A missing, expired, ghost or damaged item counts as absent.
            WriteCondition::IfAbsent => Some(item::live_session(now).negated()),
            WriteCondition::IfPresent => Some(item::live_session(now)),
        };
        if let Some(Condition {
            expression,
            names,
            values,
        }) = guard
        {
            request = request
                .condition_expression(expression)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values));
        }
        match request.send().await {
            Ok(_) => {
                self.expiries().remember(sid, expires_secs);
                Ok(())
            }
            Err(e) => {
                let err = Error::from_sdk("PutItem", e);
                if err.is_condition_failed() {
                    let message = match condition {
                        WriteCondition::IfAbsent => "a live session with this id already exists",
                        _ => "the session no longer exists",
                    };
                    return Err(Error::new(ErrorKind::Conflict, message).with_source(err));
                }
                Err(err)
            }
        }
    }

    /// Moves the expiry of a live session to `expires_at` (or now plus the default lifetime),
    /// without touching its data.
    ///
    /// Never re-creates a destroyed or expired session: that case is [`TouchOutcome::NotFound`].
    /// When this store last saw the session's stored expiry (through `get`, `set` or `touch`)
    /// and the new one moves it by less than the touch throttle, nothing is sent at all.
    /// Returns what it did and the expiry it left stored.
    pub async fn touch(&self, sid: &str, expires_at: Option<SystemTime>) -> Result<Touched> {
        let key = self.key(sid)?;
        let c = &self.inner.config;
        let now = self.now_secs();
        let (expires, new_secs) = expiry::encode(self.expiry_or_default(expires_at))?;
        if let Some(stored) = self.expiries().recall(sid) {
            let threshold = c
                .touch_after
                .as_secs_f64()
                .min(((new_secs - now) / 10.0).max(0.0));
            if stored > now && (new_secs - stored).abs() < threshold {
                return Ok(Touched {
                    outcome: TouchOutcome::Throttled,
                    expires_at: Some(expiry::at_epoch_secs(stored)),
                });
            }
        }
        self.ensure_table().await?;
        // Only a live session is touched: never a destroyed, expired, ghost or damaged one.
        let Condition {
            expression,
            names,
            mut values,
        } = item::live_session(now);
        values.insert(":new_expires".to_owned(), AttributeValue::N(expires));
        let result = self
            .inner
            .client
            .update_item()
            .table_name(&c.table)
            .key(&c.hash_key, AttributeValue::S(key))
            .update_expression("SET #e = :new_expires")
            .condition_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => {
                self.expiries().remember(sid, new_secs);
                Ok(Touched {
                    outcome: TouchOutcome::Updated,
                    expires_at: Some(expiry::at_epoch_secs(new_secs)),
                })
            }
            Err(e) => {
                let err = Error::from_sdk("UpdateItem", e);
                if err.is_condition_failed() {
                    self.expiries().forget(sid);
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

    /// Deletes the session `sid`; deleting a missing session is not an error.
    pub async fn destroy(&self, sid: &str) -> Result<()> {
        let key = self.key(sid)?;
        self.ensure_table().await?;
        let c = &self.inner.config;
        self.expiries().forget(sid);
        self.inner
            .client
            .delete_item()
            .table_name(&c.table)
            .key(&c.hash_key, AttributeValue::S(key))
            .send()
            .await
            .map_err(|e| Error::from_sdk("DeleteItem", e))?;
        Ok(())
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
        self.expiries().clear();
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
        let mut key = String::with_capacity(prefix.len() + sid.len());
        key.push_str(prefix);
        key.push_str(sid);
        Ok(key)
    }

    fn expiry_or_default(&self, expires_at: Option<SystemTime>) -> SystemTime {
        self.inner.config.expiry_or_default(expires_at)
    }

    /// Now on the store's clock, in epoch seconds.
    pub(crate) fn now_secs(&self) -> f64 {
        expiry::epoch_secs(self.inner.config.now())
    }

    fn expiries(&self) -> std::sync::MutexGuard<'_, ExpiryMemory> {
        // The memory holds plain numbers: a panic elsewhere cannot leave it inconsistent.
        self.inner
            .expiries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A scan for live sessions. DynamoDB filters out other prefixes, expired items and ghosts;
    /// the session text is fetched too, since only valid JSON counts as a session. (A scan
    /// costs the same read capacity whatever it projects.)
    fn live_scan(&self) -> ScanSpec {
        self.scan_spec(
            Some(item::live_session(self.now_secs())),
            Projection::Sessions,
        )
    }

    /// A scan of this store's prefix, narrowed by `condition`.
    fn scan_spec(&self, condition: Option<Condition>, projection: Projection) -> ScanSpec {
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
                "#k, #e, #s"
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
    async fn scan<S: PageSink>(&self, spec: &ScanSpec) -> Result<Vec<S>> {
        self.ensure_table().await?;
        let segments = self.inner.config.scan_segments;
        try_join_all((0..segments).map(|segment| async move {
            let mut sink = S::default();
            let mut start_key = None;
            loop {
                let page = self.scan_page(spec, segment, segments, start_key).await?;
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

    /// Deletes `keys` (full keys) with BatchWriteItem, retrying unprocessed items with
    /// exponential backoff.
    async fn batch_delete(&self, keys: Vec<AttributeValue>) -> Result<u64> {
        let c = &self.inner.config;
        let mut deleted = 0;
        for chunk in keys.chunks(BATCH_WRITE_LIMIT) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder()
                        .key(&c.hash_key, key.clone())
                        .build()
                        .map_err(|e| {
                            Error::new(ErrorKind::Internal, "could not build a delete request")
                                .with_source(e)
                        })?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<_>>()?;
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
                            "BatchWriteItem left {} deletes unprocessed after {MAX_BATCH_RETRIES} retries",
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

/// Exponential backoff with full jitter: a random delay up to 50 ms * 2^(retry-1), capped at 5 s.
pub(crate) fn backoff(retry: u32) -> Duration {
    let cap_ms = (50u64 << retry.saturating_sub(1).min(16)).min(5_000);
    Duration::from_millis(1 + random_u64() % cap_ms)
}

pub(crate) fn random_u64() -> u64 {
    RandomState::new().hash_one(std::time::Instant::now())
}

fn total(sinks: &[DeleteSink]) -> ReapReport {
    sinks
        .iter()
        .fold(ReapReport::default(), |acc, s| ReapReport {
            scanned: acc.scanned + s.scanned,
            deleted: acc.deleted + s.deleted,
        })
}

enum Projection {
    /// The key alone, for deletes.
    Key,
    /// Key, expiry and session text.
    Sessions,
}

struct ScanSpec {
    filter: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    projection: String,
}

/// What one scan segment does with its pages.
trait PageSink: Default + Send {
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
            .extend(live_sessions(store, page).map(|(sid, _)| sid));
        Ok(())
    }
}

#[derive(Default)]
struct AllSink(Vec<(String, SessionRecord)>);

impl PageSink for AllSink {
    async fn page(&mut self, store: &SessionStore, page: ScanOutput) -> Result<()> {
        self.0.extend(live_sessions(store, page));
        Ok(())
    }
}

#[derive(Default)]
struct CountSink(u64);

impl PageSink for CountSink {
    async fn page(&mut self, store: &SessionStore, page: ScanOutput) -> Result<()> {
        self.0 += live_sessions(store, page).count() as u64;
        Ok(())
    }
}

/// The sessions of a live scan's page that `get` would return, with their ids.
fn live_sessions(
    store: &SessionStore,
    page: ScanOutput,
) -> impl Iterator<Item = (String, SessionRecord)> + '_ {
    let c = &store.inner.config;
    let now = store.now_secs();
    page.items
        .unwrap_or_default()
        .into_iter()
        .filter_map(move |mut item| {
            let sid = take_sid(&mut item, &c.hash_key, &c.prefix)?;
            Some((sid, item::decode(item, now)?))
        })
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

/// The stored expiries of recently seen sessions, for touch throttling without a read.
///
/// Two generations of bounded maps: when the current one is full it becomes the previous one
/// and the old previous one is dropped, so memory stays bounded and recent sessions stay known.
#[derive(Default)]
struct ExpiryMemory {
    current: HashMap<String, f64>,
    previous: HashMap<String, f64>,
}

impl ExpiryMemory {
    fn remember(&mut self, sid: &str, expires: f64) {
        if let Some(slot) = self.current.get_mut(sid) {
            *slot = expires;
            return;
        }
        self.previous.remove(sid);
        if self.current.len() >= EXPIRY_MEMORY {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(sid.to_owned(), expires);
    }

    fn recall(&self, sid: &str) -> Option<f64> {
        self.current
            .get(sid)
            .or_else(|| self.previous.get(sid))
            .copied()
    }

    fn forget(&mut self, sid: &str) {
        self.current.remove(sid);
        self.previous.remove(sid);
    }

    fn clear(&mut self) {
        self.current.clear();
        self.previous.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_memory_is_bounded_and_keeps_recent_sessions() {
        let mut memory = ExpiryMemory::default();
        for i in 0..(EXPIRY_MEMORY * 3) {
            memory.remember(&i.to_string(), i as f64);
        }
        assert!(memory.current.len() + memory.previous.len() <= EXPIRY_MEMORY * 2);
        let last = EXPIRY_MEMORY * 3 - 1;
        assert_eq!(memory.recall(&last.to_string()), Some(last as f64));
        assert_eq!(memory.recall("0"), None);
        memory.remember("x", 1.0);
        memory.remember("x", 2.0);
        assert_eq!(memory.recall("x"), Some(2.0));
        memory.forget("x");
        assert_eq!(memory.recall("x"), None);
    }

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
