//! The ops CLI: `npx connect-dynamodb` and `python -m connect_dynamodb` run these commands.
//!
//! Every face hands its arguments to [`run`] with its process's standard output and error, so
//! the commands, their options, their output and their exit statuses are the same bytes from
//! Node and from Python. The commands are thin: each one is a call of the store
//! ([`SessionStore::create_table`], [`verify_table`](SessionStore::verify_table),
//! [`reap`](SessionStore::reap), [`end_user_sessions`](SessionStore::end_user_sessions),
//! [`reencrypt`](SessionStore::reencrypt)), except `stats`, one scan of the prefix, and `iac`,
//! which writes the table [`create_table`](SessionStore::create_table) makes as a CloudFormation
//! template or a Terraform resource without calling AWS.
//!
//! Exit statuses (see [`exit_code`]): 0 success; 1 the command could not run or write its
//! output (a face that cannot load the core exits 1 too); 2 a usage
//! error; 3 the table has problems (`verify`, `create-table`); 10 and up a store error, 10 plus
//! the kind's position in [`ErrorKind::ALL`] (`INVALID_CONFIG` 10 ... `UNREADABLE` 22), so a
//! status names one error code for good.

use std::fmt::Write as _;
use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value, json};

use crate::at_rest::{ENV_ENCRYPTION_KEYS, ENV_ID_HASH_KEY};
use crate::config::{
    Billing, Config, ConfigField, DEFAULT_HASH_KEY, DEFAULT_PREFIX, DEFAULT_TABLE, FirstUse,
};
use crate::error::{Error, ErrorKind};
use crate::expiry;
use crate::item::{self, ATTR_ENDED, ATTR_EXPIRES, ATTR_SESS, ATTR_USER, USER_INDEX};
use crate::store::{PageSink, Projection, SessionStore, stored_len};
use crate::table::USER_INDEX_PROJECTION;

/// The exit status of a command that did what it was asked.
pub const EXIT_OK: i32 = 0;
/// The exit status when the command could not run at all (a face could not load the core) or
/// could not write its output (a closed pipe, say).
pub const EXIT_FAILED: i32 = 1;
/// The exit status of a usage error: an unknown command or option, a missing argument.
pub const EXIT_USAGE: i32 = 2;
/// The exit status of `verify` and `create-table` when the table has problems.
pub const EXIT_PROBLEMS: i32 = 3;
/// The exit status of a store error of the first kind of [`ErrorKind::ALL`]; each further kind
/// adds one.
pub const EXIT_ERROR_BASE: i32 = 10;
/// How many scan pages pass between two progress lines by default.
pub const DEFAULT_PROGRESS_PAGES: u64 = 10;

/// The name the commands are known by, in their help and messages, from every face.
const PROGRAM: &str = "connect-dynamodb";

/// The exit status of a store error of `kind`: [`EXIT_ERROR_BASE`] plus its position in
/// [`ErrorKind::ALL`]. Stable: kinds are only ever appended.
pub fn exit_code(kind: ErrorKind) -> i32 {
    let position = ErrorKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(ErrorKind::ALL.len());
    EXIT_ERROR_BASE + position as i32
}

/// Runs the command `args` names (the arguments after the program's name) and returns the
/// exit status. The result goes to `out`; error messages and the progress of long scans to
/// `err`. Keys for `rotate-keys` and hashed ids come from the environment variables
/// `CONNECT_DYNAMODB_ENCRYPTION_KEYS` and `CONNECT_DYNAMODB_ID_HASH_KEY`.
pub async fn run(
    args: &[String],
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> i32 {
    run_with_env(args, &|name| std::env::var(name).ok(), out, err).await
}

/// [`run`] with `env` in place of the process environment (for tests).
#[doc(hidden)]
pub async fn run_with_env(
    args: &[String],
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> i32 {
    let invocation = match parse(args) {
        Ok(invocation) => invocation,
        Err(Usage(problem)) => {
            let _ = writeln!(
                err,
                "{PROGRAM}: {problem}\nRun `{PROGRAM} --help` for the commands and options."
            );
            let _ = err.flush();
            return EXIT_USAGE;
        }
    };
    let done = match invocation.command {
        Command::Help => Ok(Done {
            text: help(invocation.topic),
            json: None,
            status: EXIT_OK,
        }),
        _ if invocation.help => Ok(Done {
            text: help(Some(invocation.command)),
            json: None,
            status: EXIT_OK,
        }),
        _ => execute(&invocation, env, err).await,
    };
    match done {
        Ok(done) => {
            let written = match (&done.json, invocation.json) {
                (Some(json), true) => serde_json::to_string_pretty(json)
                    .map_err(std::io::Error::other)
                    .and_then(|text| writeln!(out, "{text}")),
                _ => out.write_all(done.text.as_bytes()),
            };
            match written.and_then(|()| out.flush()) {
                Ok(()) => done.status,
                Err(_) => EXIT_FAILED,
            }
        }
        Err(e) => {
            let _ = writeln!(err, "{PROGRAM}: {}", describe(&e));
            let _ = err.flush();
            exit_code(e.kind())
        }
    }
}

/// An error as the CLI prints it: the code, and the message naming the option as the command
/// line spells it.
fn describe(e: &Error) -> String {
    let flag = e.config_field().and_then(|field| match field {
        ConfigField::Table => Some("--table"),
        ConfigField::HashKey => Some("--hash-key"),
        ConfigField::Prefix => Some("--prefix"),
        ConfigField::Region => Some("--region"),
        ConfigField::Endpoint => Some("--endpoint"),
        ConfigField::UserField => Some("--user-field"),
        _ => None,
    });
    match (flag, e.config_problem()) {
        (Some(flag), Some(problem)) => format!("{}: invalid {flag}: {problem}", e.code()),
        _ => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Arguments

/// A command of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    CreateTable,
    Verify,
    Stats,
    Reap,
    EndUserSessions,
    RotateKeys,
    Iac,
    Help,
}

const COMMANDS: [(Command, &str); 8] = [
    (Command::CreateTable, "create-table"),
    (Command::Verify, "verify"),
    (Command::Stats, "stats"),
    (Command::Reap, "reap"),
    (Command::EndUserSessions, "end-user-sessions"),
    (Command::RotateKeys, "rotate-keys"),
    (Command::Iac, "iac"),
    (Command::Help, "help"),
];

impl Command {
    fn from_name(name: &str) -> Option<Command> {
        COMMANDS.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
    }

    fn name(self) -> &'static str {
        COMMANDS
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("help", |(_, n)| n)
    }
}

/// The formats of `iac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IacFormat {
    CloudFormation,
    Terraform,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invocation {
    command: Command,
    /// `help <command>`'s command.
    topic: Option<Command>,
    table: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
    prefix: Option<String>,
    hash_key: Option<String>,
    user_field: Option<String>,
    json: bool,
    help: bool,
    progress: u64,
    format: Option<IacFormat>,
    user: Option<String>,
    except: Option<String>,
}

/// A usage error, with what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Usage(String);

fn usage(problem: impl Into<String>) -> Usage {
    Usage(problem.into())
}

/// Parses the arguments: options anywhere (`--name value` or `--name=value`), `--` ends them.
fn parse(args: &[String]) -> Result<Invocation, Usage> {
    let mut positionals: Vec<&str> = Vec::new();
    let mut values: Vec<(&'static str, String)> = Vec::new();
    let (mut json, mut help) = (false, false);
    let mut rest = args.iter();
    let mut options_end = false;
    while let Some(arg) = rest.next() {
        if options_end || !arg.starts_with('-') || arg == "-" {
            positionals.push(arg);
            continue;
        }
        if arg == "--" {
            options_end = true;
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (arg.as_str(), None),
        };
        let flag = |set: &mut bool| match inline {
            Some(_) => Err(usage(format!("option `{name}` takes no value"))),
            None => {
                *set = true;
                Ok(())
            }
        };
        match name {
            "-h" | "--help" => flag(&mut help)?,
            "--json" => flag(&mut json)?,
            _ => {
                let Some(option) = VALUE_OPTIONS.iter().find(|o| **o == name) else {
                    return Err(usage(format!("unknown option `{name}`")));
                };
                let value = match inline {
                    Some(value) => value.to_owned(),
                    None => rest
                        .next()
                        .ok_or_else(|| usage(format!("option `{name}` needs a value")))?
                        .clone(),
                };
                if values.iter().any(|(o, _)| o == option) {
                    return Err(usage(format!("option `{name}` is given twice")));
                }
                values.push((option, value));
            }
        }
    }
    let take = |name: &str| {
        values
            .iter()
            .find(|(o, _)| *o == name)
            .map(|(_, v)| v.clone())
    };
    let mut positionals = positionals.into_iter();
    let command = match positionals.next() {
        Some(name) => Command::from_name(name).ok_or_else(|| {
            usage(format!(
                "unknown command `{name}`; the commands are {}",
                command_list()
            ))
        })?,
        None if help => Command::Help,
        None => return Err(usage("no command given")),
    };
    let mut invocation = Invocation {
        command,
        topic: None,
        table: take("--table"),
        region: take("--region"),
        endpoint: take("--endpoint"),
        prefix: take("--prefix"),
        hash_key: take("--hash-key"),
        user_field: take("--user-field"),
        json,
        help,
        progress: DEFAULT_PROGRESS_PAGES,
        format: None,
        user: None,
        except: None,
    };
    if let Some(pages) = take("--progress") {
        invocation.progress = pages.parse().map_err(|_| {
            usage(format!(
                "option `--progress` takes a whole number of pages, not `{pages}`"
            ))
        })?;
    }
    if let Some(format) = take("--format") {
        if command != Command::Iac {
            return Err(usage("option `--format` belongs to the command `iac`"));
        }
        invocation.format = Some(match format.as_str() {
            "cloudformation" => IacFormat::CloudFormation,
            "terraform" => IacFormat::Terraform,
            _ => {
                return Err(usage(format!(
                    "option `--format` is `cloudformation` or `terraform`, not `{format}`"
                )));
            }
        });
    }
    if let Some(except) = take("--except") {
        if command != Command::EndUserSessions {
            return Err(usage(
                "option `--except` belongs to the command `end-user-sessions`",
            ));
        }
        invocation.except = Some(except);
    }
    match command {
        Command::Help => {
            if let Some(topic) = positionals.next() {
                invocation.topic = Some(Command::from_name(topic).ok_or_else(|| {
                    usage(format!(
                        "unknown command `{topic}`; the commands are {}",
                        command_list()
                    ))
                })?);
            }
        }
        Command::EndUserSessions => invocation.user = positionals.next().map(str::to_owned),
        _ => {}
    }
    if let Some(extra) = positionals.next() {
        return Err(usage(format!(
            "unexpected argument `{extra}` after `{}`",
            command.name()
        )));
    }
    if !help {
        if command == Command::Iac && invocation.format.is_none() {
            return Err(usage(
                "the command `iac` needs `--format cloudformation` or `--format terraform`",
            ));
        }
        if command == Command::EndUserSessions && invocation.user.is_none() {
            return Err(usage("the command `end-user-sessions` needs the user's id"));
        }
    }
    Ok(invocation)
}

/// The options that take a value.
const VALUE_OPTIONS: [&str; 9] = [
    "--table",
    "--region",
    "--endpoint",
    "--prefix",
    "--hash-key",
    "--user-field",
    "--progress",
    "--format",
    "--except",
];

fn command_list() -> String {
    COMMANDS
        .iter()
        .map(|(_, n)| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Help

/// The help text of `command`, or of the CLI.
fn help(command: Option<Command>) -> String {
    match command {
        None | Some(Command::Help) => general_help(),
        Some(command) => {
            let (synopsis, text) = command_help(command);
            format!(
                "Usage: {PROGRAM} {synopsis} [options]\n\n{text}\n{}",
                options_help()
            )
        }
    }
}

fn general_help() -> String {
    let mut text = format!(
        "{PROGRAM}: operations on a connect-dynamodb sessions table\n\n\
         Usage: {PROGRAM} <command> [options]\n       \
         (from Python: python -m connect_dynamodb <command> [options])\n\n\
         Commands:\n"
    );
    for (command, _) in COMMANDS {
        let (synopsis, summary) = match command {
            Command::Help => ("help [<command>]", "this text, or a command's"),
            _ => (command_help(command).0, summary(command)),
        };
        if synopsis.len() <= 22 {
            let _ = writeln!(text, "  {synopsis:<22}{summary}");
        } else {
            let _ = writeln!(text, "  {synopsis}\n  {:<22}{summary}", "");
        }
    }
    text.push('\n');
    text.push_str(&options_help());
    text.push('\n');
    text.push_str(&exit_help());
    text
}

fn summary(command: Command) -> &'static str {
    match command {
        Command::CreateTable => "create the table unless it exists, then verify it",
        Command::Verify => "check the table: status, key, TTL, user index",
        Command::Stats => "count sessions, expired ones and tombstones; sizes; oldest, newest",
        Command::Reap => "delete the expired sessions of the prefix now",
        Command::EndUserSessions => "end every session of a user (needs --user-field)",
        Command::RotateKeys => "re-encrypt sessions under the first encryption key",
        Command::Iac => "print the table as a CloudFormation template or Terraform resource",
        Command::Help => "this text, or a command's",
    }
}

/// A command's synopsis (after the program's name) and description.
fn command_help(command: Command) -> (&'static str, String) {
    match command {
        Command::CreateTable => (
            "create-table",
            format!(
                "Creates the table unless it exists: a string hash key (--hash-key), on-demand\n\
                 billing, TTL on `{ATTR_EXPIRES}`, and with --user-field the global secondary index\n\
                 `{USER_INDEX}` on `{ATTR_USER}` (added to an existing table that lacks it). Waits until the\n\
                 table and the index are ACTIVE, then verifies the table as `verify` does: exit\n\
                 status 3 when it has problems. Needs DescribeTable, CreateTable,\n\
                 DescribeTimeToLive and UpdateTimeToLive (UpdateTable to add the index).\n"
            ),
        ),
        Command::Verify => (
            "verify",
            format!(
                "Checks the table: ACTIVE, a single string hash key named as --hash-key, TTL on\n\
                 `{ATTR_EXPIRES}`, and with --user-field an ACTIVE `{USER_INDEX}` that projects what\n\
                 listing a user's sessions reads. Prints each problem; exit status 3 when there\n\
                 is one. Needs DescribeTable and DescribeTimeToLive.\n"
            ),
        ),
        Command::Stats => (
            "stats",
            format!(
                "Scans the items of the prefix once and counts the live sessions, the expired\n\
                 ones (DynamoDB's TTL has not deleted them yet), the tombstones of destroyed\n\
                 sessions and other items (no session or no expiry: connect-dynamodb 3.x's\n\
                 ghosts); the sizes of the live sessions' `{ATTR_SESS}` as stored (encrypted or\n\
                 compressed when those are on) in buckets; and the oldest and newest live\n\
                 session, by creation time where items record it, else by expiry. Sessions are\n\
                 counted by their attributes, not decrypted. Costs a scan of the whole table.\n"
            ),
        ),
        Command::Reap => (
            "reap",
            "Deletes the expired items of the prefix now (sessions, and tombstones past their\n\
             lifetime), in one scan and batch deletes; DynamoDB's TTL does it on its own\n\
             within days. Needs Scan and BatchWriteItem.\n"
                .to_owned(),
        ),
        Command::EndUserSessions => (
            "end-user-sessions <user> [--except <sid>]",
            "Ends every live session of the user (\"log out everywhere\"), found through the\n\
             user index (--user-field must name the session field the user is in); with\n\
             --except, the session with that id is kept. Each session ended leaves a tombstone,\n\
             as a logout does. The index is eventually consistent: a session saved a moment\n\
             ago may survive. Prints how many were ended.\n"
                .to_owned(),
        ),
        Command::RotateKeys => (
            "rotate-keys",
            format!(
                "Re-encrypts every live session of the prefix that is not encrypted with the\n\
                 first key of {ENV_ENCRYPTION_KEYS} (base64 keys separated by\n\
                 commas; the first encrypts, all decrypt), so that an older key can then be\n\
                 removed. Sessions it cannot read are counted and left alone. Hashed ids need\n\
                 {ENV_ID_HASH_KEY} too. One scan and one conditional update per\n\
                 session rewritten.\n"
            ),
        ),
        Command::Iac => (
            "iac --format cloudformation|terraform",
            format!(
                "Prints the table `create-table` makes (hash key, on-demand billing, TTL on\n\
                 `{ATTR_EXPIRES}`, and with --user-field the index `{USER_INDEX}`) as a CloudFormation\n\
                 template (JSON) or a Terraform `aws_dynamodb_table` resource. Calls no AWS API;\n\
                 --json changes nothing (the template is the output).\n"
            ),
        ),
        Command::Help => (
            "help [<command>]",
            "Prints the help of a command.\n".to_owned(),
        ),
    }
}

fn options_help() -> String {
    format!(
        "Options:\n  \
         --table <name>       the table (default: {DEFAULT_TABLE})\n  \
         --region <region>    the AWS region (default: AWS_REGION or the AWS profile's)\n  \
         --endpoint <url>     the DynamoDB endpoint, e.g. http://127.0.0.1:8000 (DynamoDB Local)\n  \
         --prefix <prefix>    the prefix of the session keys (default: {DEFAULT_PREFIX})\n  \
         --hash-key <name>    the table's hash key (default: {DEFAULT_HASH_KEY})\n  \
         --user-field <path>  the session field naming the user (dotted path): the user index\n  \
         --json               print the result as JSON\n  \
         --progress <pages>   progress of scans to stderr every <pages> pages (default: {DEFAULT_PROGRESS_PAGES}; 0: none)\n  \
         -h, --help           this help\n\n\
         Credentials come from the AWS default chain (environment, profile, SSO, role);\n\
         encryption keys from {ENV_ENCRYPTION_KEYS}, the id hash key from\n\
         {ENV_ID_HASH_KEY}.\n"
    )
}

fn exit_help() -> String {
    let mut text = format!(
        "Exit status: {EXIT_OK} done; {EXIT_FAILED} the command could not run or write its output;\n\
         {EXIT_USAGE} a usage error; {EXIT_PROBLEMS} the table has problems (verify, create-table); a store error:\n"
    );
    let codes: Vec<String> = ErrorKind::ALL
        .iter()
        .map(|k| format!("{} {}", exit_code(*k), k.as_str()))
        .collect();
    let mut lines: Vec<String> = vec![String::new()];
    for code in codes {
        let line = lines.last_mut().expect("a line");
        if !line.is_empty() && line.len() + code.len() + 2 > 80 {
            line.push(',');
            lines.push(code);
        } else {
            if !line.is_empty() {
                line.push_str(", ");
            }
            line.push_str(&code);
        }
    }
    for line in lines {
        let _ = writeln!(text, "  {line}");
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Commands

/// What a command printed: its text, its JSON, and its exit status.
struct Done {
    text: String,
    json: Option<Value>,
    status: i32,
}

impl Done {
    fn ok(text: String, json: Value) -> Self {
        Done {
            text,
            json: Some(json),
            status: EXIT_OK,
        }
    }
}

fn config(
    invocation: &Invocation,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Config, Error> {
    // The commands are explicit about the table: none creates it on first use.
    let mut builder = Config::builder().first_use(FirstUse::Check);
    if let Some(table) = &invocation.table {
        builder = builder.table(table);
    }
    if let Some(region) = &invocation.region {
        builder = builder.region(region);
    }
    if let Some(endpoint) = &invocation.endpoint {
        builder = builder.endpoint(endpoint);
    }
    if let Some(prefix) = &invocation.prefix {
        builder = builder.prefix(prefix);
    }
    if let Some(hash_key) = &invocation.hash_key {
        builder = builder.hash_key(hash_key);
    }
    builder
        .user_field(invocation.user_field.clone())
        .build_with_env(env)
}

async fn execute(
    invocation: &Invocation,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    err: &mut (dyn Write + Send),
) -> Result<Done, Error> {
    let config = config(invocation, env)?;
    if let Some(format) = invocation.format {
        let template = match format {
            IacFormat::CloudFormation => cloudformation(&config),
            IacFormat::Terraform => terraform(&config),
        };
        return Ok(Done {
            text: template,
            json: None,
            status: EXIT_OK,
        });
    }
    let table = config.table().to_owned();
    let store = SessionStore::connect(config).await?;
    let every = invocation.progress;
    let name = invocation.command.name();
    match invocation.command {
        Command::CreateTable => {
            let setup = store.create_table().await?;
            let problems: Vec<String> = setup
                .report
                .problems
                .iter()
                .map(|p| p.to_string())
                .collect();
            let mut text = format!(
                "table {table}: {}\n",
                if setup.created { "created" } else { "exists" }
            );
            text.push_str(&problems_text(&problems));
            Ok(Done {
                text,
                status: if problems.is_empty() {
                    EXIT_OK
                } else {
                    EXIT_PROBLEMS
                },
                json: Some(
                    json!({ "table": table, "created": setup.created, "problems": problems }),
                ),
            })
        }
        Command::Verify => {
            let report = store.verify_table().await?;
            let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
            Ok(Done {
                text: format!("table {table}:\n{}", problems_text(&problems)),
                status: if problems.is_empty() {
                    EXIT_OK
                } else {
                    EXIT_PROBLEMS
                },
                json: Some(
                    json!({ "table": table, "ok": problems.is_empty(), "problems": problems }),
                ),
            })
        }
        Command::Stats => {
            let sinks: Vec<StatsSink> = with_progress(name, every, err, async {
                let spec = store.scan_spec(None, Projection::Sessions);
                store.scan(&spec).await
            })
            .await?;
            let mut stats = Stats::default();
            for sink in &sinks {
                stats.add(&sink.0);
            }
            Ok(stats.done(&table, store.config().prefix()))
        }
        Command::Reap => {
            let report = with_progress(name, every, err, store.reap()).await?;
            Ok(Done::ok(
                format!(
                    "table {table}: deleted {} expired items of {} scanned\n",
                    report.deleted, report.scanned
                ),
                json!({ "table": table, "scanned": report.scanned, "deleted": report.deleted }),
            ))
        }
        Command::EndUserSessions => {
            let user = invocation.user.as_deref().unwrap_or_default();
            let ended = store
                .end_user_sessions(user, invocation.except.as_deref())
                .await?;
            Ok(Done::ok(
                format!("table {table}: ended {ended} sessions of the user\n"),
                json!({ "table": table, "ended": ended }),
            ))
        }
        Command::RotateKeys => {
            let report = with_progress(name, every, err, store.reencrypt()).await?;
            let key = store
                .config()
                .encryption_key_ids()
                .into_iter()
                .next()
                .unwrap_or_default();
            Ok(Done::ok(
                format!(
                    "table {table}: rewrote {} sessions under key {key}; {} left as they were \
                     (unreadable); {} items scanned\n",
                    report.rewritten, report.unreadable, report.scanned
                ),
                json!({
                    "table": table,
                    "key": key,
                    "scanned": report.scanned,
                    "rewritten": report.rewritten,
                    "unreadable": report.unreadable,
                }),
            ))
        }
        Command::Iac | Command::Help => Err(Error::new(
            ErrorKind::Internal,
            "the command was not dispatched",
        )),
    }
}

fn problems_text(problems: &[String]) -> String {
    if problems.is_empty() {
        return "fit for sessions\n".to_owned();
    }
    let mut text = match problems.len() {
        1 => "1 problem:\n".to_owned(),
        count => format!("{count} problems:\n"),
    };
    for problem in problems {
        let _ = writeln!(text, "- {problem}");
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Progress of long scans

tokio::task_local! {
    static PROGRESS: Arc<Progress>;
}

#[derive(Default)]
struct Progress {
    pages: AtomicU64,
    items: AtomicU64,
    changed: tokio::sync::Notify,
}

/// Called by the store's scans after each page: counts it for the CLI's progress lines when a
/// CLI command is running in this task; nothing otherwise.
pub(crate) fn scanned_page(scanned: i32) {
    let _ = PROGRESS.try_with(|p| {
        p.pages.fetch_add(1, Ordering::Relaxed);
        p.items
            .fetch_add(u64::try_from(scanned).unwrap_or(0), Ordering::Relaxed);
        p.changed.notify_one();
    });
}

/// Runs `work`, writing a progress line to `err` every `every` scan pages (never when 0).
async fn with_progress<T>(
    command: &str,
    every: u64,
    err: &mut (dyn Write + Send),
    work: impl Future<Output = T>,
) -> T {
    let progress = Arc::new(Progress::default());
    let work = PROGRESS.scope(progress.clone(), work);
    let mut work = std::pin::pin!(work);
    let mut reported = 0;
    loop {
        tokio::select! {
            out = &mut work => {
                // The last pages may have come with the end of the scan.
                progress.report(command, every, &mut reported, err);
                return out;
            }
            () = progress.changed.notified() => progress.report(command, every, &mut reported, err),
        }
    }
}

impl Progress {
    /// Writes a progress line when `every` pages have passed since the last one (`reported`
    /// pages ago).
    fn report(&self, command: &str, every: u64, reported: &mut u64, err: &mut (dyn Write + Send)) {
        let pages = self.pages.load(Ordering::Relaxed);
        if every > 0 && pages / every > *reported / every {
            *reported = pages;
            let items = self.items.load(Ordering::Relaxed);
            let _ = writeln!(
                err,
                "{PROGRAM} {command}: {pages} pages, {items} items scanned"
            );
            let _ = err.flush();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Stats

/// The upper bounds (exclusive) of the size buckets of `stats`, in bytes; the last is open.
const SIZE_BUCKETS: [u64; 5] = [256, 1024, 4 * 1024, 16 * 1024, 64 * 1024];

#[derive(Debug, Default, Clone, PartialEq)]
struct Stats {
    items: u64,
    live: u64,
    expired: u64,
    tombstones: u64,
    other: u64,
    sizes: [u64; SIZE_BUCKETS.len() + 1],
    bytes: u64,
    largest: u64,
    /// The earliest and latest creation time of the live sessions that record one.
    created: Option<(f64, f64)>,
    /// The earliest and latest expiry of the live sessions.
    expires: Option<(f64, f64)>,
}

fn widen(range: Option<(f64, f64)>, value: f64) -> Option<(f64, f64)> {
    Some(match range {
        None => (value, value),
        Some((low, high)) => (low.min(value), high.max(value)),
    })
}

impl Stats {
    /// Counts one item of the prefix, at `now` (epoch seconds).
    fn count(&mut self, item: &std::collections::HashMap<String, AttributeValue>, now: f64) {
        self.items += 1;
        if item.contains_key(ATTR_ENDED) {
            self.tombstones += 1;
            return;
        }
        let (Some(sess), Some(expires)) = (item.get(ATTR_SESS), item::item_expires(item)) else {
            self.other += 1;
            return;
        };
        if expires <= now {
            self.expired += 1;
            return;
        }
        self.live += 1;
        let size = stored_len(sess) as u64;
        let bucket = SIZE_BUCKETS
            .iter()
            .position(|limit| size < *limit)
            .unwrap_or(SIZE_BUCKETS.len());
        self.sizes[bucket] += 1;
        self.bytes += size;
        self.largest = self.largest.max(size);
        if let Some(created) = item::created_of(item) {
            self.created = widen(self.created, created);
        }
        self.expires = widen(self.expires, expires);
    }

    /// Adds the counts of another segment.
    fn add(&mut self, other: &Stats) {
        self.items += other.items;
        self.live += other.live;
        self.expired += other.expired;
        self.tombstones += other.tombstones;
        self.other += other.other;
        for (mine, theirs) in self.sizes.iter_mut().zip(other.sizes) {
            *mine += theirs;
        }
        self.bytes += other.bytes;
        self.largest = self.largest.max(other.largest);
        for (mine, theirs) in [
            (&mut self.created, other.created),
            (&mut self.expires, other.expires),
        ] {
            if let Some((low, high)) = theirs {
                *mine = widen(widen(*mine, low), high);
            }
        }
    }

    fn done(&self, table: &str, prefix: &str) -> Done {
        let (range, by) = match (self.created, self.expires) {
            (Some(created), _) => (Some(created), "created"),
            (None, expires) => (expires, "expires"),
        };
        let mut text = format!(
            "table: {table}\nprefix: {prefix}\nitems: {}\nlive sessions: {}\n\
             expired sessions: {}\ntombstones: {}\nother items: {}\n\
             sizes of live sessions (bytes of `{ATTR_SESS}` as stored):\n",
            self.items, self.live, self.expired, self.tombstones, self.other
        );
        let mut buckets = Vec::new();
        for (index, count) in self.sizes.iter().enumerate() {
            let low = index.checked_sub(1).map_or(0, |i| SIZE_BUCKETS[i]);
            let high = SIZE_BUCKETS.get(index).copied();
            let label = match high {
                Some(high) if low == 0 => format!("under {}", size_label(high)),
                Some(high) => format!("{} to {}", size_label(low), size_label(high)),
                None => format!("{} and over", size_label(low)),
            };
            let _ = writeln!(text, "  {label}: {count}");
            buckets.push(json!({ "from": low, "to": high, "count": count }));
        }
        let _ = writeln!(text, "total bytes of live sessions: {}", self.bytes);
        let _ = writeln!(text, "largest live session: {} bytes", self.largest);
        let ends = |pick: fn((f64, f64)) -> f64| {
            range.map(|r| {
                let at = pick(r).floor() as i64;
                (at, expiry::iso8601(at))
            })
        };
        let (oldest, newest) = (ends(|r| r.0), ends(|r| r.1));
        for (name, end) in [("oldest", &oldest), ("newest", &newest)] {
            match end {
                Some((_, at)) => {
                    let _ = writeln!(text, "{name} live session: {at} (by {by})");
                }
                None => {
                    let _ = writeln!(text, "{name} live session: none");
                }
            }
        }
        let end_json = |end: &Option<(i64, String)>| match end {
            Some((epoch, at)) => json!({ "at": at, "epoch": epoch, "by": by }),
            None => Value::Null,
        };
        let json = json!({
            "table": table,
            "prefix": prefix,
            "items": self.items,
            "live": self.live,
            "expired": self.expired,
            "tombstones": self.tombstones,
            "other": self.other,
            "sizes": buckets,
            "bytes": self.bytes,
            "largest": self.largest,
            "oldest": end_json(&oldest),
            "newest": end_json(&newest),
        });
        Done::ok(text, json)
    }
}

fn size_label(bytes: u64) -> String {
    if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

#[derive(Default)]
struct StatsSink(Stats);

impl PageSink for StatsSink {
    async fn page(&mut self, store: &SessionStore, page: ScanOutput) -> crate::Result<()> {
        let now = store.now_secs();
        for item in page.items.unwrap_or_default() {
            self.0.count(&item, now);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Infrastructure as code

/// The attribute definitions, key and index of the table, as `create_table` makes them.
struct TableShape<'a> {
    table: &'a str,
    hash_key: &'a str,
    user_index: bool,
    provisioned: Option<(i64, i64)>,
}

impl<'a> TableShape<'a> {
    fn of(config: &'a Config) -> Self {
        TableShape {
            table: config.table(),
            hash_key: config.hash_key(),
            user_index: config.user_field().is_some(),
            provisioned: match config.billing() {
                Billing::OnDemand => None,
                Billing::Provisioned { read, write } => Some((read, write)),
            },
        }
    }

    fn attributes(&self) -> Vec<&'a str> {
        let mut attributes = vec![self.hash_key];
        if self.user_index {
            attributes.push(ATTR_USER);
        }
        attributes
    }

    fn billing_mode(&self) -> &'static str {
        match self.provisioned {
            None => "PAY_PER_REQUEST",
            Some(_) => "PROVISIONED",
        }
    }
}

/// The table as a CloudFormation template (JSON).
fn cloudformation(config: &Config) -> String {
    let shape = TableShape::of(config);
    let throughput = shape
        .provisioned
        .map(|(read, write)| json!({ "ReadCapacityUnits": read, "WriteCapacityUnits": write }));
    let mut properties = Map::new();
    properties.insert("TableName".into(), json!(shape.table));
    properties.insert("BillingMode".into(), json!(shape.billing_mode()));
    properties.insert(
        "AttributeDefinitions".into(),
        shape
            .attributes()
            .iter()
            .map(|a| json!({ "AttributeName": a, "AttributeType": "S" }))
            .collect(),
    );
    properties.insert(
        "KeySchema".into(),
        json!([{ "AttributeName": shape.hash_key, "KeyType": "HASH" }]),
    );
    if let Some(throughput) = &throughput {
        properties.insert("ProvisionedThroughput".into(), throughput.clone());
    }
    if shape.user_index {
        let mut index = Map::new();
        index.insert("IndexName".into(), json!(USER_INDEX));
        index.insert(
            "KeySchema".into(),
            json!([{ "AttributeName": ATTR_USER, "KeyType": "HASH" }]),
        );
        index.insert(
            "Projection".into(),
            json!({ "ProjectionType": "INCLUDE", "NonKeyAttributes": USER_INDEX_PROJECTION }),
        );
        if let Some(throughput) = throughput {
            index.insert("ProvisionedThroughput".into(), throughput);
        }
        properties.insert("GlobalSecondaryIndexes".into(), json!([index]));
    }
    properties.insert(
        "TimeToLiveSpecification".into(),
        json!({ "AttributeName": ATTR_EXPIRES, "Enabled": true }),
    );
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "The sessions table of connect-dynamodb",
        "Resources": {
            "SessionsTable": { "Type": "AWS::DynamoDB::Table", "Properties": properties }
        },
        "Outputs": {
            "TableName": { "Value": { "Ref": "SessionsTable" } },
            "TableArn": { "Value": { "Fn::GetAtt": ["SessionsTable", "Arn"] } }
        }
    });
    let mut text = serde_json::to_string_pretty(&template).unwrap_or_default();
    text.push('\n');
    text
}

/// `text` as an HCL string literal.
fn hcl_string(text: &str) -> String {
    let quoted = Value::String(text.to_owned()).to_string();
    quoted.replace("${", "$${").replace("%{", "%%{")
}

/// Lines `name = value` at `indent`, aligned as `terraform fmt` aligns them.
fn hcl_lines(text: &mut String, indent: &str, lines: &[(&str, String)]) {
    let width = lines.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, value) in lines {
        let _ = writeln!(text, "{indent}{name:<width$} = {value}");
    }
}

/// The table as a Terraform `aws_dynamodb_table` resource.
fn terraform(config: &Config) -> String {
    let shape = TableShape::of(config);
    let mut text = String::from("resource \"aws_dynamodb_table\" \"sessions\" {\n");
    let mut top = vec![
        ("name", hcl_string(shape.table)),
        ("billing_mode", hcl_string(shape.billing_mode())),
    ];
    if let Some((read, write)) = shape.provisioned {
        top.push(("read_capacity", read.to_string()));
        top.push(("write_capacity", write.to_string()));
    }
    top.push(("hash_key", hcl_string(shape.hash_key)));
    hcl_lines(&mut text, "  ", &top);
    for attribute in shape.attributes() {
        text.push_str("\n  attribute {\n");
        hcl_lines(
            &mut text,
            "    ",
            &[("name", hcl_string(attribute)), ("type", hcl_string("S"))],
        );
        text.push_str("  }\n");
    }
    text.push_str("\n  ttl {\n");
    hcl_lines(
        &mut text,
        "    ",
        &[
            ("attribute_name", hcl_string(ATTR_EXPIRES)),
            ("enabled", "true".to_owned()),
        ],
    );
    text.push_str("  }\n");
    if shape.user_index {
        let projected: Vec<String> = USER_INDEX_PROJECTION
            .iter()
            .map(|a| hcl_string(a))
            .collect();
        let mut index = vec![
            ("name", hcl_string(USER_INDEX)),
            ("hash_key", hcl_string(ATTR_USER)),
            ("projection_type", hcl_string("INCLUDE")),
            ("non_key_attributes", format!("[{}]", projected.join(", "))),
        ];
        if let Some((read, write)) = shape.provisioned {
            index.push(("read_capacity", read.to_string()));
            index.push(("write_capacity", write.to_string()));
        }
        text.push_str("\n  global_secondary_index {\n");
        hcl_lines(&mut text, "    ", &index);
        text.push_str("  }\n");
    }
    text.push_str("}\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn parsed(line: &str) -> Invocation {
        parse(&args(line)).expect(line)
    }

    fn usage_error(line: &str) -> String {
        parse(&args(line)).expect_err(line).0
    }

    /// Runs the CLI without a network: only commands that fail before any request, or need none.
    fn run_offline(line: &str) -> (i32, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("valid in this test");
        let status = runtime.block_on(run_with_env(&args(line), &|_| None, &mut out, &mut err));
        (
            status,
            String::from_utf8(out).expect("valid in this test"),
            String::from_utf8(err).expect("valid in this test"),
        )
    }

    #[test]
    fn options_go_anywhere_in_both_spellings() {
        let a = parsed("--table t stats --prefix=p: --json --endpoint http://x");
        assert_eq!(a.command, Command::Stats);
        assert_eq!(a.table.as_deref(), Some("t"));
        assert_eq!(a.prefix.as_deref(), Some("p:"));
        assert_eq!(a.endpoint.as_deref(), Some("http://x"));
        assert!(a.json);
        assert_eq!(a.progress, DEFAULT_PROGRESS_PAGES);
        let b = parsed("end-user-sessions --user-field userId ada --except=s1 --progress 0");
        assert_eq!(b.command, Command::EndUserSessions);
        assert_eq!(b.user.as_deref(), Some("ada"));
        assert_eq!(b.except.as_deref(), Some("s1"));
        assert_eq!(b.user_field.as_deref(), Some("userId"));
        assert_eq!(b.progress, 0);
        // `--` ends the options: a user id may start with a dash.
        assert_eq!(
            parsed("end-user-sessions -- -ada").user.as_deref(),
            Some("-ada")
        );
        // An empty value is a value (the configuration judges it).
        let empty =
            parse(&["stats".to_owned(), "--prefix=".to_owned()]).expect("valid in this test");
        assert_eq!(empty.prefix.as_deref(), Some(""));
        assert_eq!(
            parsed("iac --format terraform").format,
            Some(IacFormat::Terraform)
        );
        assert_eq!(
            parsed("iac --format=cloudformation").format,
            Some(IacFormat::CloudFormation)
        );
    }

    #[test]
    fn usage_errors_say_what_is_wrong() {
        assert_eq!(usage_error(""), "no command given");
        assert!(usage_error("drop-table").starts_with("unknown command `drop-table`"));
        assert_eq!(usage_error("stats --tabel x"), "unknown option `--tabel`");
        assert_eq!(
            usage_error("stats --table"),
            "option `--table` needs a value"
        );
        assert_eq!(
            usage_error("stats --table a --table b"),
            "option `--table` is given twice"
        );
        assert_eq!(
            usage_error("stats --json=yes"),
            "option `--json` takes no value"
        );
        assert_eq!(
            usage_error("stats --format terraform"),
            "option `--format` belongs to the command `iac`"
        );
        assert_eq!(
            usage_error("reap --except s1"),
            "option `--except` belongs to the command `end-user-sessions`"
        );
        assert!(usage_error("iac").contains("needs `--format cloudformation`"));
        assert!(usage_error("iac --format yaml").contains("not `yaml`"));
        assert!(usage_error("end-user-sessions").contains("needs the user's id"));
        assert_eq!(
            usage_error("verify extra"),
            "unexpected argument `extra` after `verify`"
        );
        assert_eq!(
            usage_error("end-user-sessions a b"),
            "unexpected argument `b` after `end-user-sessions`"
        );
        assert!(usage_error("stats --progress many").contains("not `many`"));
        assert!(usage_error("help nothing").starts_with("unknown command `nothing`"));
    }

    #[test]
    fn usage_errors_exit_2_on_stderr() {
        let (status, out, err) = run_offline("stats --bogus");
        assert_eq!(status, EXIT_USAGE);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "connect-dynamodb: unknown option `--bogus`\n\
             Run `connect-dynamodb --help` for the commands and options.\n"
        );
    }

    #[test]
    fn help_goes_to_stdout_with_status_0() {
        let general = help(None);
        for line in ["--help", "-h", "help"] {
            let (status, out, err) = run_offline(line);
            assert_eq!((status, err.as_str()), (EXIT_OK, ""), "{line}");
            assert_eq!(out, general, "{line}");
        }
        for (command, name) in COMMANDS {
            if command == Command::Help {
                continue;
            }
            assert!(general.contains(name), "{name} in the help");
            let text = help(Some(command));
            // A command's --help wins over its missing arguments.
            for line in [format!("{name} --help"), format!("help {name}")] {
                let (status, out, _) = run_offline(&line);
                assert_eq!(status, EXIT_OK, "{line}");
                assert_eq!(out, text, "{line}");
            }
            assert!(text.starts_with(&format!("Usage: connect-dynamodb {name}")));
            assert!(text.contains("--table <name>"));
        }
        // No line of the help is wider than a terminal.
        for text in COMMANDS.iter().map(|(c, _)| help(Some(*c))) {
            for line in text.lines() {
                assert!(line.chars().count() <= 100, "too wide: {line}");
            }
        }
    }

    #[test]
    fn exit_codes_are_stable_per_error_code() {
        assert_eq!(exit_code(ErrorKind::InvalidConfig), 10);
        assert_eq!(exit_code(ErrorKind::InvalidArgument), 11);
        assert_eq!(exit_code(ErrorKind::TableNotFound), 14);
        assert_eq!(exit_code(ErrorKind::Auth), 17);
        assert_eq!(exit_code(ErrorKind::Transport), 19);
        assert_eq!(exit_code(ErrorKind::Internal), 21);
        assert_eq!(exit_code(ErrorKind::Unreadable), 22);
        let codes: Vec<i32> = ErrorKind::ALL.iter().map(|k| exit_code(*k)).collect();
        let expected: Vec<i32> = (10..10 + ErrorKind::ALL.len() as i32).collect();
        assert_eq!(codes, expected);
        let text = exit_help();
        for kind in ErrorKind::ALL {
            assert!(text.contains(&format!("{} {}", exit_code(kind), kind.as_str())));
        }
    }

    #[test]
    fn config_errors_name_the_flag() {
        let (status, out, err) = run_offline("verify --table a/b");
        assert_eq!(status, exit_code(ErrorKind::InvalidConfig));
        assert_eq!(out, "");
        assert!(
            err.starts_with("connect-dynamodb: INVALID_CONFIG: invalid --table: "),
            "{err}"
        );
    }

    #[test]
    fn iac_needs_no_aws_and_follows_the_flags() {
        let (status, out, err) =
            run_offline("iac --format cloudformation --table web --hash-key sid --user-field uid");
        assert_eq!((status, err.as_str()), (EXIT_OK, ""));
        let template: Value = serde_json::from_str(&out).expect("valid in this test");
        let properties = &template["Resources"]["SessionsTable"]["Properties"];
        assert_eq!(properties["TableName"], "web");
        assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST");
        assert_eq!(
            properties["KeySchema"],
            json!([{ "AttributeName": "sid", "KeyType": "HASH" }])
        );
        assert_eq!(
            properties["AttributeDefinitions"],
            json!([
                { "AttributeName": "sid", "AttributeType": "S" },
                { "AttributeName": "user", "AttributeType": "S" }
            ])
        );
        assert_eq!(
            properties["TimeToLiveSpecification"],
            json!({ "AttributeName": "expires", "Enabled": true })
        );
        assert_eq!(
            properties["GlobalSecondaryIndexes"],
            json!([{
                "IndexName": "user-index",
                "KeySchema": [{ "AttributeName": "user", "KeyType": "HASH" }],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": ["expires", "created", "ended"]
                }
            }])
        );
        let (_, plain, _) = run_offline("iac --format cloudformation");
        let plain: Value = serde_json::from_str(&plain).expect("valid in this test");
        let properties = &plain["Resources"]["SessionsTable"]["Properties"];
        assert_eq!(properties["TableName"], DEFAULT_TABLE);
        assert!(properties.get("GlobalSecondaryIndexes").is_none());
    }

    #[test]
    fn terraform_is_formatted_as_terraform_fmt_would() {
        let (status, out, _) = run_offline("iac --format terraform --user-field userId");
        assert_eq!(status, EXIT_OK);
        assert_eq!(
            out,
            r#"resource "aws_dynamodb_table" "sessions" {
  name         = "sessions"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  attribute {
    name = "user"
    type = "S"
  }

  ttl {
    attribute_name = "expires"
    enabled        = true
  }

  global_secondary_index {
    name               = "user-index"
    hash_key           = "user"
    projection_type    = "INCLUDE"
    non_key_attributes = ["expires", "created", "ended"]
  }
}
"#
        );
        assert_eq!(hcl_string("a\"b${c}%{d}"), r#""a\"b$${c}%%{d}""#);
        // --json changes nothing for iac.
        assert_eq!(
            run_offline("iac --format terraform --user-field userId --json").1,
            out
        );
    }

    #[test]
    fn iac_with_provisioned_billing_carries_the_capacity() {
        let config = Config::builder()
            .billing(Billing::Provisioned { read: 3, write: 4 })
            .user_field(Some("u".into()))
            .build_with_env(|_| None)
            .expect("valid in this test");
        let template: Value =
            serde_json::from_str(&cloudformation(&config)).expect("valid in this test");
        let properties = &template["Resources"]["SessionsTable"]["Properties"];
        let throughput = json!({ "ReadCapacityUnits": 3, "WriteCapacityUnits": 4 });
        assert_eq!(properties["BillingMode"], "PROVISIONED");
        assert_eq!(properties["ProvisionedThroughput"], throughput);
        assert_eq!(
            properties["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"],
            throughput
        );
        let hcl = terraform(&config);
        assert!(
            hcl.contains("  read_capacity  = 3\n  write_capacity = 4\n"),
            "{hcl}"
        );
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> std::collections::HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn stats_classify_items_and_bucket_sizes() {
        let n = |v: &str| AttributeValue::N(v.to_owned());
        let s = |len: usize| AttributeValue::S("x".repeat(len));
        let now = 1_000.0;
        let mut a = Stats::default();
        a.count(&item(&[("expires", n("2000")), ("sess", s(10))]), now);
        a.count(
            &item(&[
                ("expires", n("3000")),
                ("sess", s(2000)),
                ("created", n("500")),
            ]),
            now,
        );
        a.count(&item(&[("expires", n("999")), ("sess", s(10))]), now);
        a.count(
            &item(&[("expires", n("2000")), ("sess", s(4)), ("ended", n("900"))]),
            now,
        );
        a.count(&item(&[("expires", n("2000"))]), now);
        let mut b = Stats::default();
        b.count(
            &item(&[
                ("expires", n("2500")),
                ("sess", AttributeValue::B(vec![0; 70_000].into())),
                ("created", n("700")),
            ]),
            now,
        );
        b.count(&item(&[("sess", s(1))]), now);
        a.add(&b);
        assert_eq!(
            (a.items, a.live, a.expired, a.tombstones, a.other),
            (7, 3, 1, 1, 2)
        );
        assert_eq!(a.sizes, [1, 0, 1, 0, 0, 1]);
        assert_eq!(a.bytes, 72_010);
        assert_eq!(a.largest, 70_000);
        assert_eq!(a.created, Some((500.0, 700.0)));
        assert_eq!(a.expires, Some((2000.0, 3000.0)));
        let done = a.done("t", "sess:");
        let json = done.json.expect("valid in this test");
        assert_eq!(
            json["oldest"],
            json!({ "at": expiry::iso8601(500), "epoch": 500, "by": "created" })
        );
        assert_eq!(json["newest"]["epoch"], 700);
        assert_eq!(
            json["sizes"][0],
            json!({ "from": 0, "to": 256, "count": 1 })
        );
        assert_eq!(
            json["sizes"][5],
            json!({ "from": 65536, "to": null, "count": 1 })
        );
        assert!(
            done.text
                .contains("  under 256 B: 1\n  256 B to 1 KiB: 0\n")
        );
        assert!(done.text.contains("  64 KiB and over: 1\n"));
        assert!(
            done.text
                .contains("oldest live session: 1970-01-01T00:08:20Z (by created)\n")
        );
        // Without creation times, by expiry; without live sessions, none.
        let mut c = Stats::default();
        c.count(&item(&[("expires", n("2000")), ("sess", s(1))]), now);
        assert_eq!(
            c.done("t", "p").json.expect("valid in this test")["oldest"]["by"],
            "expires"
        );
        let empty = Stats::default().done("t", "p");
        assert_eq!(
            empty.json.expect("valid in this test")["oldest"],
            Value::Null
        );
        assert!(empty.text.contains("oldest live session: none\n"));
    }
}
