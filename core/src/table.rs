//! Creating the sessions table, and verifying an existing one.
//!
//! A store makes no request until it is used. Its first session call then does what
//! [`FirstUse`](crate::FirstUse) asks: by default a DescribeTable and, when the table is missing,
//! [`SessionStore::create_table`]'s CreateTable and TTL calls; `FirstUse::Nothing` makes none of
//! them. `verify_table` needs only DescribeTable and DescribeTimeToLive.

use std::fmt;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    ProvisionedThroughput, ScalarAttributeType, TableDescription, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};

use crate::config::Billing;
use crate::error::{Error, ErrorKind, Result};
use crate::item::{ATTR_CREATED, ATTR_ENDED, ATTR_EXPIRES, ATTR_USER, USER_INDEX};
use crate::store::{SessionStore, backoff};

/// The attributes the `user-index` projects besides the keys: what listing a user's sessions
/// reads (the expiry, the creation time and the tombstone mark), never the session data.
pub(crate) const USER_INDEX_PROJECTION: [&str; 3] = [ATTR_EXPIRES, ATTR_CREATED, ATTR_ENDED];

/// What is wrong with a table, as found by [`SessionStore::verify_table`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableProblem {
    /// The table is not ACTIVE (it is being created, updated or deleted).
    NotActive {
        /// The table's status, e.g. `CREATING`.
        status: String,
    },
    /// The key schema is not a single string hash key of the configured name.
    KeySchema {
        /// The expected schema, e.g. `HASH id (S)`.
        expected: String,
        /// The table's schema, in the same form.
        found: String,
    },
    /// TTL is off, so DynamoDB never deletes expired sessions (the store still never returns
    /// them).
    TtlDisabled,
    /// `user_field` is set but the table has no `user-index` global secondary index (or it is
    /// not ACTIVE yet), so a user's sessions cannot be listed.
    UserIndexMissing,
    /// The `user-index` index exists with another key than a string hash key `user`.
    UserIndexKeySchema {
        /// The key schema found.
        found: String,
    },
    /// The `user-index` index does not project attributes `user_sessions` reads.
    UserIndexProjection {
        /// The attributes it leaves out.
        missing: Vec<String>,
    },
    /// TTL is on for another attribute than `expires`.
    TtlOnOtherAttribute {
        /// The attribute TTL is enabled on.
        attribute: String,
    },
}

impl fmt::Display for TableProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableProblem::NotActive { status } => write!(f, "the table is {status}, not ACTIVE"),
            TableProblem::KeySchema { expected, found } => {
                write!(f, "the key schema is `{found}`, expected `{expected}`")
            }
            TableProblem::TtlDisabled => write!(
                f,
                "TTL is not enabled: enable it on `{ATTR_EXPIRES}` so DynamoDB deletes expired sessions"
            ),
            TableProblem::UserIndexMissing => write!(
                f,
                "the global secondary index `{USER_INDEX}` on `{ATTR_USER}` is missing or not \
                 ACTIVE: `create_table` adds it"
            ),
            TableProblem::UserIndexKeySchema { found } => write!(
                f,
                "the index `{USER_INDEX}` has the key schema `{found}`, expected `HASH {ATTR_USER} (S)`"
            ),
            TableProblem::UserIndexProjection { missing } => write!(
                f,
                "the index `{USER_INDEX}` does not project `{}`, which listing a user's sessions \
                 reads",
                missing.join("`, `")
            ),
            TableProblem::TtlOnOtherAttribute { attribute } => write!(
                f,
                "TTL is enabled on `{attribute}`; sessions keep their expiry in `{ATTR_EXPIRES}`"
            ),
        }
    }
}

/// The findings of [`SessionStore::verify_table`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableReport {
    /// Everything found wrong; empty when the table is fit for sessions.
    pub problems: Vec<TableProblem>,
}

impl TableReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The outcome of [`SessionStore::create_table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSetup {
    /// Whether this call created the table (exactly one of many concurrent callers does).
    pub created: bool,
    /// The table as verified after setup.
    pub report: TableReport,
}

impl SessionStore {
    /// Checks the configured table: ACTIVE, a single string hash key of the configured name,
    /// TTL on `expires`, and, with `user_field` set, an ACTIVE `user-index` keyed on `user`. A
    /// missing table is a `TABLE_NOT_FOUND` error.
    pub async fn verify_table(&self) -> Result<TableReport> {
        let table = self.describe_table().await?;
        let mut problems = Vec::new();
        let status = table.table_status().cloned();
        if status != Some(TableStatus::Active) {
            problems.push(TableProblem::NotActive {
                status: status.map_or_else(|| "UNKNOWN".to_owned(), |s| s.as_str().to_owned()),
            });
        }
        let expected = format!("HASH {} (S)", self.config().hash_key());
        let found = describe_key_schema(&table);
        if found != expected {
            problems.push(TableProblem::KeySchema { expected, found });
        }
        if self.config().user_field().is_some() {
            match user_index_schema(&table) {
                None => problems.push(TableProblem::UserIndexMissing),
                Some((schema, _)) if schema != format!("HASH {ATTR_USER} (S)") => {
                    problems.push(TableProblem::UserIndexKeySchema { found: schema });
                }
                Some((_, active)) if !active => problems.push(TableProblem::UserIndexMissing),
                Some(_) => {
                    let missing = user_index_unprojected(&table);
                    if !missing.is_empty() {
                        problems.push(TableProblem::UserIndexProjection { missing });
                    }
                }
            }
        }
        match self.ttl_attribute().await? {
            None => problems.push(TableProblem::TtlDisabled),
            Some(attribute) if attribute != ATTR_EXPIRES => {
                problems.push(TableProblem::TtlOnOtherAttribute { attribute });
            }
            Some(_) => {}
        }
        Ok(TableReport { problems })
    }

    /// Whether the configured table exists. Needs only DescribeTable.
    pub async fn table_exists(&self) -> Result<bool> {
        Ok(self.table_status().await?.is_some())
    }

    /// The status of the configured table, `None` when it does not exist.
    pub(crate) async fn table_status(&self) -> Result<Option<TableStatus>> {
        match self.describe_table().await {
            Ok(table) => Ok(Some(
                table.table_status().cloned().unwrap_or(TableStatus::Active),
            )),
            Err(e) if e.kind() == ErrorKind::TableNotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// [`create_table`](Self::create_table) for a store's first use: once the table is ACTIVE
    /// the sessions work, so a failure to enable TTL (a role without UpdateTimeToLive, say) is
    /// logged rather than failing the session call; `create_table` and `verify_table` report it.
    pub(crate) async fn create_table_on_first_use(&self) -> Result<()> {
        if !self.table_exists().await? {
            self.send_create_table().await?;
        }
        self.wait_until_active().await?;
        self.ensure_user_index().await?;
        if let Err(err) = self.enable_ttl().await {
            tracing::warn!(
                table = %self.config().table(),
                error = %err,
                "connect-dynamodb could not enable TTL on the sessions table it created; expired \
                 sessions are still never returned, but DynamoDB will not delete them"
            );
        }
        Ok(())
    }

    /// Creates the configured table unless it exists (billing as configured: on-demand by
    /// default), waits until it is ACTIVE, adds the `user-index` GSI when `user_field` is set
    /// and waits for it, enables TTL on `expires` where TTL is off, and verifies it.
    ///
    /// Safe to call from many processes at once: exactly one creates the table, the others
    /// wait for it. Needs DescribeTable, CreateTable, DescribeTimeToLive and UpdateTimeToLive
    /// (and UpdateTable to add the index to an existing table).
    pub async fn create_table(&self) -> Result<TableSetup> {
        let created = !self.table_exists().await? && self.send_create_table().await?;
        self.wait_until_active().await?;
        self.ensure_user_index().await?;
        self.enable_ttl().await?;
        let report = self.verify_table().await?;
        Ok(TableSetup { created, report })
    }

    /// Sends CreateTable; `false` when another caller's CreateTable won.
    async fn send_create_table(&self) -> Result<bool> {
        let c = self.config();
        let key = KeySchemaElement::builder()
            .attribute_name(c.hash_key())
            .key_type(KeyType::Hash)
            .build()
            .map_err(build_error)?;
        let definition = AttributeDefinition::builder()
            .attribute_name(c.hash_key())
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build_error)?;
        let mut request = self
            .client()
            .create_table()
            .table_name(c.table())
            .key_schema(key)
            .attribute_definitions(definition);
        if c.user_field().is_some() {
            request = request
                .attribute_definitions(user_definition()?)
                .global_secondary_indexes(self.user_index()?);
        }
        request = match c.billing() {
            Billing::OnDemand => request.billing_mode(BillingMode::PayPerRequest),
            Billing::Provisioned { read, write } => request
                .billing_mode(BillingMode::Provisioned)
                .provisioned_throughput(throughput(read, write)?),
        };
        match request.send().await {
            Ok(_) => {
                tracing::info!(table = %c.table(), "connect-dynamodb created the sessions table");
                Ok(true)
            }
            Err(e) => {
                let err = Error::from_sdk("CreateTable", e);
                // ResourceInUseException: someone else created it first.
                if err.kind() == ErrorKind::Conflict {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
    }

    pub(crate) async fn wait_until_active(&self) -> Result<()> {
        let deadline = Instant::now() + self.config().create_wait;
        let mut polls = 0;
        loop {
            match self.describe_table().await {
                Ok(t) if t.table_status() == Some(&TableStatus::Active) => return Ok(()),
                // Right after CreateTable a table may not be visible yet.
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::TableNotFound => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the table did not become ACTIVE within {} s",
                        self.config().create_wait.as_secs()
                    ),
                ));
            }
            polls += 1;
            tokio::time::sleep(backoff(polls).max(Duration::from_millis(200))).await;
        }
    }

    /// With `user_field` set, adds the `user-index` global secondary index to a table that lacks
    /// it (UpdateTable), and waits until the index is ACTIVE (DynamoDB fills it from the
    /// existing items first), within `create_wait`.
    /// Whether the table is known to lack the `user-index` (false when DescribeTable fails).
    pub(crate) async fn user_index_missing(&self) -> bool {
        matches!(self.describe_table().await, Ok(table) if user_index_schema(&table).is_none())
    }

    pub(crate) async fn ensure_user_index(&self) -> Result<()> {
        if self.config().user_field().is_none() {
            return Ok(());
        }
        if user_index_schema(&self.describe_table().await?).is_none() {
            let create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(USER_INDEX)
                .key_schema(user_key()?)
                .projection(user_projection())
                .set_provisioned_throughput(match self.config().billing() {
                    Billing::OnDemand => None,
                    Billing::Provisioned { read, write } => Some(throughput(read, write)?),
                })
                .build()
                .map_err(build_error)?;
            let result = self
                .client()
                .update_table()
                .table_name(self.config().table())
                .attribute_definitions(user_definition()?)
                .global_secondary_index_updates(
                    GlobalSecondaryIndexUpdate::builder().create(create).build(),
                )
                .send()
                .await;
            if let Err(e) = result {
                let err = Error::from_sdk("UpdateTable", e);
                // Another process is adding it at the same time.
                if user_index_schema(&self.describe_table().await?).is_none() {
                    return Err(err);
                }
            }
        }
        let deadline = Instant::now() + self.config().create_wait;
        let mut polls = 0;
        loop {
            if let Some((_, true)) = user_index_schema(&self.describe_table().await?) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the index `{USER_INDEX}` did not become ACTIVE within {} s",
                        self.config().create_wait.as_secs()
                    ),
                ));
            }
            polls += 1;
            tokio::time::sleep(backoff(polls).max(Duration::from_millis(200))).await;
        }
    }

    /// The `user-index` of a new table.
    fn user_index(&self) -> Result<GlobalSecondaryIndex> {
        let mut index = GlobalSecondaryIndex::builder()
            .index_name(USER_INDEX)
            .key_schema(user_key()?)
            .projection(user_projection());
        if let Billing::Provisioned { read, write } = self.config().billing() {
            index = index.provisioned_throughput(throughput(read, write)?);
        }
        index.build().map_err(build_error)
    }

    /// Turns TTL on for `expires` when TTL is off; leaves TTL on another attribute alone (the
    /// verification reports it).
    async fn enable_ttl(&self) -> Result<()> {
        if self.ttl_attribute().await?.is_some() {
            return Ok(());
        }
        let spec = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(ATTR_EXPIRES)
            .build()
            .map_err(build_error)?;
        let result = self
            .client()
            .update_time_to_live()
            .table_name(self.config().table())
            .time_to_live_specification(spec)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = Error::from_sdk("UpdateTimeToLive", e);
                // A concurrent caller enabled it first: DynamoDB refuses a second change.
                if self.ttl_attribute().await?.is_some() {
                    Ok(())
                } else {
                    Err(err)
                }
            }
        }
    }

    /// The attribute TTL is enabled (or being enabled) on, if any.
    async fn ttl_attribute(&self) -> Result<Option<String>> {
        let out = self
            .client()
            .describe_time_to_live()
            .table_name(self.config().table())
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeTimeToLive", e))?;
        Ok(out
            .time_to_live_description
            .and_then(|d| match d.time_to_live_status {
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling) => d.attribute_name,
                _ => None,
            }))
    }

    async fn describe_table(&self) -> Result<TableDescription> {
        let out = self
            .client()
            .describe_table()
            .table_name(self.config().table())
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeTable", e))?;
        out.table
            .ok_or_else(|| Error::new(ErrorKind::Service, "DescribeTable returned no table"))
    }
}

fn describe_key_schema(table: &TableDescription) -> String {
    describe_keys(table, table.key_schema())
}

/// A key schema as `HASH id (S)`, with each attribute's type from the table's definitions.
fn describe_keys(table: &TableDescription, keys: &[KeySchemaElement]) -> String {
    keys.iter()
        .map(|k| {
            let name = k.attribute_name();
            let kind = table
                .attribute_definitions()
                .iter()
                .find(|d| d.attribute_name() == name)
                .map_or("?", |d| d.attribute_type().as_str());
            format!("{} {name} ({kind})", k.key_type().as_str())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The key schema of the table's `user-index` (as [`describe_key_schema`] writes it) and
/// whether the index is ACTIVE; `None` without the index.
fn user_index_schema(table: &TableDescription) -> Option<(String, bool)> {
    let index = table
        .global_secondary_indexes()
        .iter()
        .find(|i| i.index_name() == Some(USER_INDEX))?;
    let schema = describe_keys(table, index.key_schema());
    // DynamoDB Local leaves the status out of an index it created with the table.
    let active = index
        .index_status()
        .is_none_or(|s| *s == IndexStatus::Active);
    Some((schema, active))
}

fn user_definition() -> Result<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(ATTR_USER)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(build_error)
}

fn user_key() -> Result<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(ATTR_USER)
        .key_type(KeyType::Hash)
        .build()
        .map_err(build_error)
}

/// The index holds what listing a user's sessions reads: the key (always projected), the
/// expiry, the creation time and the tombstone mark; never the session data.
/// The attributes `user_sessions` reads that the table's `user-index` does not project.
fn user_index_unprojected(table: &TableDescription) -> Vec<String> {
    let Some(projection) = table
        .global_secondary_indexes()
        .iter()
        .find(|i| i.index_name() == Some(USER_INDEX))
        .and_then(|i| i.projection())
    else {
        return Vec::new();
    };
    match projection.projection_type() {
        Some(ProjectionType::All) => Vec::new(),
        _ => USER_INDEX_PROJECTION
            .into_iter()
            .filter(|a| !projection.non_key_attributes().iter().any(|n| n == a))
            .map(str::to_owned)
            .collect(),
    }
}

fn user_projection() -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::Include)
        .set_non_key_attributes(Some(
            USER_INDEX_PROJECTION
                .iter()
                .map(|a| (*a).to_owned())
                .collect(),
        ))
        .build()
}

fn throughput(read: i64, write: i64) -> Result<ProvisionedThroughput> {
    ProvisionedThroughput::builder()
        .read_capacity_units(read)
        .write_capacity_units(write)
        .build()
        .map_err(build_error)
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::new(ErrorKind::Internal, "could not build a DynamoDB request").with_source(e)
}
