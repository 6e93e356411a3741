//! The one typed configuration, read once from the environment and validated at start-up.
//! Nango's self-hosting variable names are used wherever Nango has one.
//!
//! Every variable is a [`Var`] in [`VARIABLES`] (name, default, help line), and the loader
//! reads the environment only through [`Env`], which takes the value or the default, parses
//! and range-checks it, and names the variable in any error. So `nango-server help`
//! ([`help`]) lists what the loader reads, and a test holds the two together. No other
//! module reads the environment.

use std::{cell::RefCell, fmt, net::IpAddr, path::PathBuf, str::FromStr, time::Duration};

use base64::Engine as _;

use crate::crypto::EncryptionKey;

/// One environment variable the server reads.
#[derive(Debug)]
pub struct Var {
    pub name: &'static str,
    /// Used when the variable is unset or empty, and parsed and range-checked like a set
    /// value (so it is known to be valid). `None`: the setting is off, or derived from other
    /// variables as the help line says.
    pub default: Option<&'static str>,
    /// What the variable means, for `nango-server help`.
    pub help: &'static str,
    /// A secret: error messages never quote its value.
    pub secret: bool,
}

impl Var {
    const fn new(name: &'static str, help: &'static str) -> Self {
        Self { name, default: None, help, secret: false }
    }
    const fn default(mut self, value: &'static str) -> Self {
        self.default = Some(value);
        self
    }
    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
}

/// The variables, one constant each; the loader names them as `var::SERVER_PORT`.
mod var {
    use super::Var;

    pub const SERVER_PORT: Var = Var::new("SERVER_PORT", "TCP port to listen on").default("3003");
    pub const NANGO_SERVER_URL: Var = Var::new(
        "NANGO_SERVER_URL",
        "public base URL of this server, used in logo and webhook URLs (default http://localhost:<port>)",
    );
    pub const NANGO_PUBLIC_SERVER_URL: Var =
        Var::new("NANGO_PUBLIC_SERVER_URL", "overrides NANGO_SERVER_URL for public asset URLs, as in Nango");
    pub const NANGO_ENCRYPTION_KEY: Var = Var::new(
        "NANGO_ENCRYPTION_KEY",
        "base64 of 32 random bytes; seals secrets at rest and keys the secret-key hashes (generated into the data directory when unset with SQLite; required with PostgreSQL)",
    )
    .secret();
    pub const NANGO_ENCRYPTION_KEY_PREVIOUS: Var = Var::new(
        "NANGO_ENCRYPTION_KEY_PREVIOUS",
        "comma-separated older encryption keys (base64) that still open existing data during a key rotation; see docs/key-rotation.md",
    )
    .secret();
    pub const NANGO_SECRET_KEY_DEV: Var = Var::new(
        "NANGO_SECRET_KEY_DEV",
        "secret key (UUID v4) of the dev environment (generated on first start when unset)",
    )
    .secret();
    pub const NANGO_SECRET_KEY_PROD: Var = Var::new(
        "NANGO_SECRET_KEY_PROD",
        "secret key (UUID v4) of the prod environment (the environment exists only when set)",
    )
    .secret();
    pub const NANGO_DATABASE_URL: Var = Var::new(
        "NANGO_DATABASE_URL",
        "sqlite:<path> or postgres://user:pass@host:port/db (default: SQLite file in the data directory)",
    )
    .secret();
    pub const NANGO_DB_HOST: Var = Var::new("NANGO_DB_HOST", "PostgreSQL host, when NANGO_DATABASE_URL is unset");
    pub const NANGO_DB_PORT: Var = Var::new("NANGO_DB_PORT", "PostgreSQL port").default("5432");
    pub const NANGO_DB_USER: Var = Var::new("NANGO_DB_USER", "PostgreSQL user").default("nango");
    pub const NANGO_DB_PASSWORD: Var = Var::new("NANGO_DB_PASSWORD", "PostgreSQL password").default("nango").secret();
    pub const NANGO_DB_NAME: Var = Var::new("NANGO_DB_NAME", "PostgreSQL database").default("nango");
    pub const NANGO_DB_SSL: Var = Var::new("NANGO_DB_SSL", "true to require TLS to PostgreSQL").default("false");
    pub const NANGO_DB_POOL_MAX: Var = Var::new(
        "NANGO_DB_POOL_MAX",
        "maximum database connections of this replica (1 to 10000; on SQLite at most 4 are used)",
    )
    .default("10");
    pub const NANGO_OUTBOUND_URL_POLICY: Var = Var::new(
        "NANGO_OUTBOUND_URL_POLICY",
        "JSON policy for proxy destinations; {\"blockPrivateIps\":false} allows private addresses",
    )
    .default("{\"blockPrivateIps\":true}");
    pub const NANGO_PROXY_TIMEOUT: Var = Var::new(
        "NANGO_PROXY_TIMEOUT",
        "seconds the proxy waits for an upstream's response headers before answering 504 (1 to 86400)",
    )
    .default("60");
    pub const NANGO_PROXY_MAX_RETRY_WAIT: Var = Var::new(
        "NANGO_PROXY_MAX_RETRY_WAIT",
        "most seconds the proxy waits in total between retries of one request; 0 retries nothing (0 to 86400)",
    )
    .default("30");
    pub const NANGO_PROXY_CACHE_TTL_MS: Var = Var::new(
        "NANGO_PROXY_CACHE_TTL_MS",
        "milliseconds a replica reuses a connection's resolved proxy target without re-reading the database; bounds how stale other replicas can be after a change; 0 caches nothing",
    )
    .default("1000");
    pub const NANGO_PUBLIC_CONNECT_URL: Var = Var::new(
        "NANGO_PUBLIC_CONNECT_URL",
        "where connect links point: the Connect UI this server serves at /connect-ui/ (default <public server URL>/connect-ui/), or your own deployment of it",
    );
    pub const NANGO_WEBHOOK_URL_DEV: Var = Var::new(
        "NANGO_WEBHOOK_URL_DEV",
        "primary webhook URL of the dev environment (overrides the stored one at start)",
    );
    pub const NANGO_WEBHOOK_URL_PROD: Var =
        Var::new("NANGO_WEBHOOK_URL_PROD", "primary webhook URL of the prod environment");
    pub const NANGO_SLACK_WEBHOOK_URL_DEV: Var = Var::new(
        "NANGO_SLACK_WEBHOOK_URL_DEV",
        "Slack incoming-webhook URL for the dev environment's alerts (failed runs, auth errors)",
    );
    pub const NANGO_SLACK_WEBHOOK_URL_PROD: Var =
        Var::new("NANGO_SLACK_WEBHOOK_URL_PROD", "Slack incoming-webhook URL for the prod environment's alerts");
    pub const NANGO_WEBHOOK_SECONDARY_URL_DEV: Var =
        Var::new("NANGO_WEBHOOK_SECONDARY_URL_DEV", "secondary webhook URL of the dev environment");
    pub const NANGO_WEBHOOK_SECONDARY_URL_PROD: Var =
        Var::new("NANGO_WEBHOOK_SECONDARY_URL_PROD", "secondary webhook URL of the prod environment");
    pub const NANGO_WEBHOOK_SIGNING_KEY_DEV: Var = Var::new(
        "NANGO_WEBHOOK_SIGNING_KEY_DEV",
        "key that signs the dev environment's webhooks (default: generated, readable with GET /environment/webhook)",
    )
    .secret();
    pub const NANGO_WEBHOOK_SIGNING_KEY_PROD: Var =
        Var::new("NANGO_WEBHOOK_SIGNING_KEY_PROD", "key that signs the prod environment's webhooks").secret();
    pub const NANGO_WEBHOOK_TIMEOUT_MS: Var =
        Var::new("NANGO_WEBHOOK_TIMEOUT_MS", "milliseconds a webhook receiver may take to answer").default("20000");
    pub const NANGO_WEBHOOK_RETRY_DELAY_MS: Var = Var::new(
        "NANGO_WEBHOOK_RETRY_DELAY_MS",
        "milliseconds before retrying a failed webhook delivery, doubled for each further retry up to 10 minutes",
    )
    .default("3000");
    pub const NANGO_WEBHOOK_MAX_ATTEMPTS: Var =
        Var::new("NANGO_WEBHOOK_MAX_ATTEMPTS", "attempts before a webhook delivery is given up (1 to 100)")
            .default("8");
    pub const NANGO_WEBHOOK_POLL_MS: Var = Var::new(
        "NANGO_WEBHOOK_POLL_MS",
        "milliseconds between a replica's looks for due webhook deliveries besides its own (at least 10)",
    )
    .default("1000");
    pub const NANGO_LOG_RETENTION_HOURS: Var = Var::new(
        "NANGO_LOG_RETENTION_HOURS",
        "hours request logs are kept in the database for GET /logs; 0 keeps none (168 is one week)",
    )
    .default("168");
    pub const NANGO_MAX_CONNECTIONS: Var = Var::new(
        "NANGO_MAX_CONNECTIONS",
        "client connections open at once, 1 to 1000000; further ones wait in the backlog (default: the open-files limit minus 128)",
    );
    pub const NANGO_REQUEST_BODY_TIMEOUT: Var = Var::new(
        "NANGO_REQUEST_BODY_TIMEOUT",
        "seconds an API request's JSON body may take to arrive, 1 to 3600 (proxied bodies stream, bounded by NANGO_PROXY_TIMEOUT)",
    )
    .default("30");
    pub const NANGO_HEADER_READ_TIMEOUT: Var = Var::new(
        "NANGO_HEADER_READ_TIMEOUT",
        "seconds a client connection may go without sending a complete request header, 1 to 3600: counted from when it opens, or from the end of the previous response on a kept-alive connection (so it is also the keep-alive idle timeout)",
    )
    .default("30");
    pub const NANGO_LOG_QUEUE: Var = Var::new(
        "NANGO_LOG_QUEUE",
        "call records waiting to be written, 1 to 10000000; beyond, records are dropped, counted and marked in GET /logs",
    )
    .default("16384");
    pub const DEFAULT_RATE_LIMIT_PER_MIN: Var = Var::new(
        "DEFAULT_RATE_LIMIT_PER_MIN",
        "requests per minute and environment on each replica before 429 too_many_request",
    )
    .default("60000");
    pub const FLAG_API_RATE_LIMIT_ENABLED: Var =
        Var::new("FLAG_API_RATE_LIMIT_ENABLED", "false turns the rate limit off").default("true");
    pub const NANGO_METRICS_TOKEN: Var =
        Var::new("NANGO_METRICS_TOKEN", "when set, GET /metrics requires Authorization: Bearer <this token>").secret();
    pub const NANGO_SHUTDOWN_TIMEOUT_MS: Var = Var::new(
        "NANGO_SHUTDOWN_TIMEOUT_MS",
        "on SIGTERM, milliseconds in-flight requests and streams may take to finish before they are cut",
    )
    .default("30000");
    pub const OTEL_EXPORTER_OTLP_ENDPOINT: Var = Var::new(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTLP/HTTP base URL (e.g. http://collector:4318): exports traces and metrics; unset: no export",
    );
    pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Var = Var::new(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "full OTLP/HTTP URL for traces only (e.g. http://collector:4318/v1/traces)",
    );
    pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: Var =
        Var::new("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "full OTLP/HTTP URL for metrics only");
    pub const OTEL_EXPORTER_OTLP_PROTOCOL: Var =
        Var::new("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf or http/json; gRPC is not supported")
            .default("http/protobuf");
    pub const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: Var = Var::new(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "http/protobuf or http/json for traces only (default: OTEL_EXPORTER_OTLP_PROTOCOL)",
    );
    pub const OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: Var = Var::new(
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        "http/protobuf or http/json for metrics only (default: OTEL_EXPORTER_OTLP_PROTOCOL)",
    );
    /// Listed for operators; read by the exporter itself, not by the loader.
    pub const OTEL_EXPORTER_OTLP_HEADERS: Var = Var::new(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "headers sent with every export, e.g. x-api-key=abc (read by the exporter)",
    )
    .secret();
    pub const OTEL_SERVICE_NAME: Var =
        Var::new("OTEL_SERVICE_NAME", "service.name of exported telemetry").default("nango-server");
    pub const OTEL_SDK_DISABLED: Var =
        Var::new("OTEL_SDK_DISABLED", "true turns OpenTelemetry export off even when an endpoint is set")
            .default("false");
    pub const NANGO_SERVER_PUBLIC_BODY_LIMIT: Var =
        Var::new("NANGO_SERVER_PUBLIC_BODY_LIMIT", "largest accepted JSON request body, e.g. 75mb").default("75mb");
    pub const NANGO_METADATA_BODY_LIMIT: Var = Var::new(
        "NANGO_METADATA_BODY_LIMIT",
        "largest accepted body of a metadata write (parsed JSON costs many times its size in memory)",
    )
    .default("1mb");
    pub const NANGO_DATA_DIR: Var =
        Var::new("NANGO_DATA_DIR", "directory for the SQLite database and generated keys").default("nango-data");
    pub const NANGO_PROVIDERS_FILE: Var = Var::new(
        "NANGO_PROVIDERS_FILE",
        "extra provider catalog in providers.yaml format, merged over the built-in one",
    );
    pub const NANGO_LOG_FORMAT: Var = Var::new("NANGO_LOG_FORMAT", "text or json").default("text");
    pub const NANGO_BIND_ADDRESS: Var = Var::new("NANGO_BIND_ADDRESS", "address to listen on").default("0.0.0.0");
    pub const NANGO_WORKER_THREADS: Var =
        Var::new("NANGO_WORKER_THREADS", "threads serving requests, 1 to 1024 (default: one per CPU core)");
    pub const NANGO_FUNCTION_WORKERS: Var = Var::new(
        "NANGO_FUNCTION_WORKERS",
        "threads running functions, each one run at a time, 1 to 256 (default: one per CPU core, at least 2)",
    );
    pub const NANGO_FUNCTION_MEMORY_MB: Var = Var::new(
        "NANGO_FUNCTION_MEMORY_MB",
        "memory a function worker's JavaScript engine may allocate, in MiB (16 to 65536)",
    )
    .default("256");
    pub const NANGO_FUNCTION_MAX_OUTPUT_BYTES: Var = Var::new(
        "NANGO_FUNCTION_MAX_OUTPUT_BYTES",
        "largest action output, in bytes of JSON (1024 to 1073741824; Nango: 2 MB)",
    )
    .default("2097152");
    pub const NANGO_ACTION_TIMEOUT: Var =
        Var::new("NANGO_ACTION_TIMEOUT", "seconds an action may run, 1 to 86400 (Nango: 15 minutes)").default("900");
    pub const NANGO_SYNC_TIMEOUT: Var =
        Var::new("NANGO_SYNC_TIMEOUT", "seconds a sync run may take, 60 to 604800 (Nango: 24 hours)").default("86400");
    pub const NANGO_SYNC_LEASE: Var = Var::new(
        "NANGO_SYNC_LEASE",
        "seconds after which a sync run whose replica stopped renewing it is taken over, 5 to 3600",
    )
    .default("60");
    pub const NANGO_RECORD_VALIDATION: Var = Var::new(
        "NANGO_RECORD_VALIDATION",
        "what happens to a sync record that breaks its model's schema: reject or log, for every environment or per \
         environment (dev=log,prod=reject)",
    )
    .default("reject");
    pub const RUST_LOG: Var = Var::new("RUST_LOG", "log filter, e.g. info or nango_server=debug").default("info");
}

/// Every variable, in the order `nango-server help` lists them (and the README's table).
pub const VARIABLES: &[&Var] = &[
    &var::SERVER_PORT,
    &var::NANGO_SERVER_URL,
    &var::NANGO_PUBLIC_SERVER_URL,
    &var::NANGO_ENCRYPTION_KEY,
    &var::NANGO_ENCRYPTION_KEY_PREVIOUS,
    &var::NANGO_SECRET_KEY_DEV,
    &var::NANGO_SECRET_KEY_PROD,
    &var::NANGO_DATABASE_URL,
    &var::NANGO_DB_HOST,
    &var::NANGO_DB_PORT,
    &var::NANGO_DB_USER,
    &var::NANGO_DB_PASSWORD,
    &var::NANGO_DB_NAME,
    &var::NANGO_DB_SSL,
    &var::NANGO_DB_POOL_MAX,
    &var::NANGO_OUTBOUND_URL_POLICY,
    &var::NANGO_PROXY_TIMEOUT,
    &var::NANGO_PROXY_MAX_RETRY_WAIT,
    &var::NANGO_PROXY_CACHE_TTL_MS,
    &var::NANGO_PUBLIC_CONNECT_URL,
    &var::NANGO_WEBHOOK_URL_DEV,
    &var::NANGO_WEBHOOK_URL_PROD,
    &var::NANGO_SLACK_WEBHOOK_URL_DEV,
    &var::NANGO_SLACK_WEBHOOK_URL_PROD,
    &var::NANGO_WEBHOOK_SECONDARY_URL_DEV,
    &var::NANGO_WEBHOOK_SECONDARY_URL_PROD,
    &var::NANGO_WEBHOOK_SIGNING_KEY_DEV,
    &var::NANGO_WEBHOOK_SIGNING_KEY_PROD,
    &var::NANGO_WEBHOOK_TIMEOUT_MS,
    &var::NANGO_WEBHOOK_RETRY_DELAY_MS,
    &var::NANGO_WEBHOOK_MAX_ATTEMPTS,
    &var::NANGO_WEBHOOK_POLL_MS,
    &var::NANGO_LOG_RETENTION_HOURS,
    &var::NANGO_LOG_QUEUE,
    &var::NANGO_MAX_CONNECTIONS,
    &var::NANGO_REQUEST_BODY_TIMEOUT,
    &var::NANGO_HEADER_READ_TIMEOUT,
    &var::DEFAULT_RATE_LIMIT_PER_MIN,
    &var::FLAG_API_RATE_LIMIT_ENABLED,
    &var::NANGO_METRICS_TOKEN,
    &var::NANGO_SHUTDOWN_TIMEOUT_MS,
    &var::OTEL_EXPORTER_OTLP_ENDPOINT,
    &var::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    &var::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
    &var::OTEL_EXPORTER_OTLP_PROTOCOL,
    &var::OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    &var::OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    &var::OTEL_EXPORTER_OTLP_HEADERS,
    &var::OTEL_SERVICE_NAME,
    &var::OTEL_SDK_DISABLED,
    &var::NANGO_SERVER_PUBLIC_BODY_LIMIT,
    &var::NANGO_METADATA_BODY_LIMIT,
    &var::NANGO_DATA_DIR,
    &var::NANGO_PROVIDERS_FILE,
    &var::NANGO_LOG_FORMAT,
    &var::NANGO_BIND_ADDRESS,
    &var::NANGO_WORKER_THREADS,
    &var::NANGO_FUNCTION_WORKERS,
    &var::NANGO_FUNCTION_MEMORY_MB,
    &var::NANGO_FUNCTION_MAX_OUTPUT_BYTES,
    &var::NANGO_ACTION_TIMEOUT,
    &var::NANGO_SYNC_TIMEOUT,
    &var::NANGO_SYNC_LEASE,
    &var::NANGO_RECORD_VALIDATION,
    &var::RUST_LOG,
];

/// Variables listed for operators that another component reads (the OTLP exporter).
pub const READ_BY_THE_EXPORTER: &[&Var] = &[&var::OTEL_EXPORTER_OTLP_HEADERS];

/// The configuration part of `nango-server help`: one line per variable, with its default.
pub fn help() -> String {
    let width = VARIABLES.iter().map(|v| v.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for v in VARIABLES {
        let default = v.default.map(|d| format!(" (default {d})")).unwrap_or_default();
        out.push_str(&format!("  {:<width$}  {}{default}\n", v.name, v.help));
    }
    out
}

/// A value that must never be printed (keys, URLs with passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// The wrapped value, for the one place that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseConfig {
    /// The embedded default: a SQLite file in the data directory.
    DefaultSqlite,
    /// An explicit URL (`sqlite:` or `postgres:`).
    Url(Secret<String>),
}

/// Proxy destination policy (Nango's `NANGO_OUTBOUND_URL_POLICY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Refuse loopback, private, link-local and metadata addresses.
    pub block_private_ips: bool,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self { block_private_ips: true }
    }
}

pub use crate::telemetry::LogFormat;

/// The server's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind_address: IpAddr,
    pub port: u16,
    /// Public base URL without a trailing slash.
    pub public_url: String,
    /// Where connect links point, with a trailing slash.
    pub connect_url: String,
    pub encryption_key: Option<EncryptionKey>,
    /// Older keys that still open data sealed before a rotation.
    pub previous_encryption_keys: Vec<EncryptionKey>,
    pub secret_key_dev: Option<Secret<String>>,
    pub secret_key_prod: Option<Secret<String>>,
    pub database: DatabaseConfig,
    pub db_pool_max: u32,
    pub outbound_policy: OutboundPolicy,
    pub body_limit: usize,
    /// Largest accepted body of a metadata write (`NANGO_METADATA_BODY_LIMIT`).
    pub metadata_body_limit: usize,
    pub proxy_timeout: Duration,
    pub proxy_max_retry_wait: Duration,
    pub proxy_cache_ttl: Duration,
    /// Webhook settings of the `dev` and `prod` environments set by configuration.
    pub webhooks_dev: WebhookConfig,
    pub webhooks_prod: WebhookConfig,
    pub webhook_timeout: Duration,
    pub webhook_retry_delay: Duration,
    pub webhook_max_attempts: u32,
    pub webhook_poll: Duration,
    pub data_dir: PathBuf,
    pub providers_file: Option<PathBuf>,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// Runtime worker threads (`None`: one per core).
    pub worker_threads: Option<usize>,
    /// Function worker threads (`None`: one per core, at least 2).
    pub function_workers: Option<usize>,
    /// Memory limit of a function worker's engine, in bytes.
    pub function_memory: usize,
    /// Largest action output, in bytes of JSON.
    pub function_max_output: usize,
    /// Longest an action may run.
    pub action_timeout: Duration,
    /// Longest a sync run may take.
    pub sync_timeout: Duration,
    /// How long a sync run's lease lasts without renewal.
    pub sync_lease: Duration,
    /// What happens to records that break their model's schema, per environment name
    /// (`""`: every environment without its own entry).
    pub record_validation: Vec<(String, RecordValidation)>,
    /// How long request logs are kept (zero: not kept).
    pub log_retention: Duration,
    /// Call records waiting to be written before new ones are dropped.
    pub log_queue: usize,
    /// Client connections open at once (`None`: from the open-files limit).
    pub max_connections: Option<usize>,
    /// Longest an API request's body may take to arrive.
    pub request_body_timeout: Duration,
    /// Longest a client connection may wait without a complete request header (also the
    /// keep-alive idle timeout).
    pub header_read_timeout: Duration,
    /// Requests per minute and environment on this replica (`None`: no limit).
    pub rate_limit: Option<u32>,
    /// Bearer token required by `GET /metrics`, when set.
    pub metrics_token: Option<Secret<String>>,
    /// How long in-flight requests may take after a shutdown signal.
    pub shutdown_timeout: Duration,
    /// OpenTelemetry export (`None`: off).
    pub otel: Option<crate::telemetry::otel::OtelConfig>,
}

/// An environment's webhook settings from configuration (`None`: as stored).
#[derive(Debug, Clone, Default)]
pub struct WebhookConfig {
    pub primary_url: Option<String>,
    pub secondary_url: Option<String>,
    pub signing_key: Option<Secret<String>>,
    /// Slack incoming-webhook URL for alerts.
    pub slack_url: Option<Secret<String>>,
}

/// A configuration problem, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn err(variable: &'static Var, message: impl Into<String>) -> ConfigError {
    ConfigError { variable: variable.name, message: message.into() }
}

/// How the loader reads a variable: the set value (trimmed; empty counts as unset) or else
/// the default, parsed by `parse`, whose message is prefixed with the quoted value unless the
/// variable is secret. Remembers what was read, so a test can compare it with [`VARIABLES`].
struct Env<L> {
    lookup: L,
    read: RefCell<Vec<&'static str>>,
}

impl<L: Fn(&str) -> Option<String>> Env<L> {
    fn new(lookup: L) -> Self {
        Self { lookup, read: RefCell::new(Vec::new()) }
    }

    /// The parsed value or default; `None` when unset without a default.
    fn get<T>(
        &self,
        var: &'static Var,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.read.borrow_mut().push(var.name);
        let set = (self.lookup)(var.name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let Some(value) = set.or_else(|| var.default.map(str::to_owned)) else {
            return Ok(None);
        };
        parse(&value)
            .map(Some)
            .map_err(|problem| err(var, if var.secret { problem } else { format!("`{value}` {problem}") }))
    }

    /// The parsed value or default of a variable that has a default.
    fn value<T>(&self, var: &'static Var, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<T, ConfigError> {
        self.get(var, parse)?.ok_or_else(|| err(var, "has no default (a bug in config.rs)"))
    }
}

impl Config {
    /// Reads the process environment.
    #[allow(clippy::disallowed_methods)] // the one place that reads the environment
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (tests pass a map). Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::load(&Env::new(lookup))
    }

    /// Reads every variable exactly once and unconditionally (so what is read is what
    /// `help` lists). A variable that another one overrides or that only matters with another
    /// one (`NANGO_SERVER_URL` under `NANGO_PUBLIC_SERVER_URL`, the `NANGO_DB_*` parts, the
    /// OTLP settings when export is off) is checked only when it is used.
    fn load(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Self, ConfigError> {
        let port = env.value(&var::SERVER_PORT, whole(0u16, u16::MAX))?;
        let bind_address = env
            .value(&var::NANGO_BIND_ADDRESS, |v| v.parse::<IpAddr>().map_err(|_| "is not an IP address".to_owned()))?;
        let base_url = |v: &str| http_url(v).map(|_| v.trim_end_matches('/').to_owned());
        let server_url = env.get(&var::NANGO_SERVER_URL, base_url);
        let public_url = match env.get(&var::NANGO_PUBLIC_SERVER_URL, base_url)? {
            Some(url) => url,
            None => server_url?.unwrap_or_else(|| format!("http://localhost:{port}")),
        };

        let encryption_key = env.get(&var::NANGO_ENCRYPTION_KEY, parse_encryption_key)?;
        let previous_encryption_keys = env
            .get(&var::NANGO_ENCRYPTION_KEY_PREVIOUS, |v| {
                v.split(',').filter(|k| !k.trim().is_empty()).map(parse_encryption_key).collect::<Result<Vec<_>, _>>()
            })?
            .unwrap_or_default();
        if !previous_encryption_keys.is_empty() && encryption_key.is_none() {
            return Err(err(
                &var::NANGO_ENCRYPTION_KEY_PREVIOUS,
                "needs NANGO_ENCRYPTION_KEY (the new primary key) to be set too",
            ));
        }
        let secret_key_dev = env.get(&var::NANGO_SECRET_KEY_DEV, secret_key)?;
        let secret_key_prod = env.get(&var::NANGO_SECRET_KEY_PROD, secret_key)?;
        if secret_key_dev.is_some() && secret_key_dev == secret_key_prod {
            return Err(err(&var::NANGO_SECRET_KEY_PROD, "must differ from NANGO_SECRET_KEY_DEV"));
        }

        let database_url = env.get(&var::NANGO_DATABASE_URL, |v| {
            if v.starts_with("sqlite:") || v.starts_with("postgres://") || v.starts_with("postgresql://") {
                Ok(Secret::new(v.to_owned()))
            } else {
                Err("must start with sqlite:, postgres:// or postgresql://".to_owned())
            }
        })?;
        let db_host = env.get(&var::NANGO_DB_HOST, text)?;
        let db_port = env.value(&var::NANGO_DB_PORT, whole(0u16, u16::MAX));
        let enc = |v: &str| Ok(url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>());
        let db_user = env.value(&var::NANGO_DB_USER, enc)?;
        let db_password = env.value(&var::NANGO_DB_PASSWORD, enc)?;
        let db_name = env.value(&var::NANGO_DB_NAME, enc)?;
        let db_ssl = env.value(&var::NANGO_DB_SSL, boolean);
        let database = match (database_url, db_host) {
            (Some(url), _) => DatabaseConfig::Url(url),
            (None, None) => DatabaseConfig::DefaultSqlite,
            (None, Some(host)) => {
                let (port, sslmode) = (db_port?, if db_ssl? { "require" } else { "prefer" });
                DatabaseConfig::Url(Secret::new(format!(
                    "postgres://{db_user}:{db_password}@{host}:{port}/{db_name}?sslmode={sslmode}"
                )))
            }
        };
        let db_pool_max = env.value(&var::NANGO_DB_POOL_MAX, whole(1u32, 10_000))?;

        let outbound_policy = env.value(&var::NANGO_OUTBOUND_URL_POLICY, parse_outbound_policy)?;
        let proxy_timeout = env.value(&var::NANGO_PROXY_TIMEOUT, seconds(1, DAY_S))?;
        let proxy_max_retry_wait = env.value(&var::NANGO_PROXY_MAX_RETRY_WAIT, seconds(0, DAY_S))?;
        let proxy_cache_ttl = env.value(&var::NANGO_PROXY_CACHE_TTL_MS, millis(0, DAY_MS))?;
        let connect_url = env
            .get(&var::NANGO_PUBLIC_CONNECT_URL, |v| http_url(v).map(|_| format!("{}/", v.trim_end_matches('/'))))?
            .unwrap_or_else(|| format!("{public_url}/connect-ui/"));

        let webhook_url = |v: &str| http_url(v).map(|_| v.to_owned());
        let webhooks_dev = WebhookConfig {
            primary_url: env.get(&var::NANGO_WEBHOOK_URL_DEV, webhook_url)?,
            secondary_url: env.get(&var::NANGO_WEBHOOK_SECONDARY_URL_DEV, webhook_url)?,
            signing_key: env.get(&var::NANGO_WEBHOOK_SIGNING_KEY_DEV, text)?.map(Secret::new),
            slack_url: env.get(&var::NANGO_SLACK_WEBHOOK_URL_DEV, webhook_url)?.map(Secret::new),
        };
        let webhooks_prod = WebhookConfig {
            primary_url: env.get(&var::NANGO_WEBHOOK_URL_PROD, webhook_url)?,
            secondary_url: env.get(&var::NANGO_WEBHOOK_SECONDARY_URL_PROD, webhook_url)?,
            signing_key: env.get(&var::NANGO_WEBHOOK_SIGNING_KEY_PROD, text)?.map(Secret::new),
            slack_url: env.get(&var::NANGO_SLACK_WEBHOOK_URL_PROD, webhook_url)?.map(Secret::new),
        };
        let webhook_timeout = env.value(&var::NANGO_WEBHOOK_TIMEOUT_MS, millis(1, DAY_MS))?;
        let webhook_retry_delay = env.value(&var::NANGO_WEBHOOK_RETRY_DELAY_MS, millis(0, DAY_MS))?;
        let webhook_max_attempts = env.value(&var::NANGO_WEBHOOK_MAX_ATTEMPTS, whole(1u32, 100))?;
        let webhook_poll = env.value(&var::NANGO_WEBHOOK_POLL_MS, millis(10, DAY_MS))?;

        let log_retention_hours = env.value(&var::NANGO_LOG_RETENTION_HOURS, whole(0u64, 24 * 366 * 10))?;
        let log_queue = env.value(&var::NANGO_LOG_QUEUE, whole(1usize, 10_000_000))?;
        let max_connections = env.get(&var::NANGO_MAX_CONNECTIONS, whole(1usize, 1_000_000))?;
        let request_body_timeout = env.value(&var::NANGO_REQUEST_BODY_TIMEOUT, seconds(1, 3600))?;
        let header_read_timeout = env.value(&var::NANGO_HEADER_READ_TIMEOUT, seconds(1, 3600))?;
        let rate_limit = env.value(&var::DEFAULT_RATE_LIMIT_PER_MIN, whole(1u32, u32::MAX))?;
        let rate_limit_on = env.value(&var::FLAG_API_RATE_LIMIT_ENABLED, boolean)?;
        let metrics_token = env.get(&var::NANGO_METRICS_TOKEN, text)?.map(Secret::new);
        let shutdown_timeout = env.value(&var::NANGO_SHUTDOWN_TIMEOUT_MS, millis(0, DAY_MS))?;
        let otel = otel_config(env)?;

        let size = |v: &str| parse_size(v).ok_or_else(|| "is not a size such as 75mb, 512kb or 1048576".to_owned());
        let body_limit = env.value(&var::NANGO_SERVER_PUBLIC_BODY_LIMIT, size)?;
        let metadata_body_limit = env.value(&var::NANGO_METADATA_BODY_LIMIT, size)?;
        let data_dir = PathBuf::from(env.value(&var::NANGO_DATA_DIR, text)?);
        let providers_file = env.get(&var::NANGO_PROVIDERS_FILE, text)?.map(PathBuf::from);
        let log_format = env.value(&var::NANGO_LOG_FORMAT, |v| match v {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("is not text or json".to_owned()),
        })?;
        let worker_threads = env.get(&var::NANGO_WORKER_THREADS, whole(1usize, 1024))?;
        let function_workers = env.get(&var::NANGO_FUNCTION_WORKERS, whole(1usize, 256))?;
        let function_memory = env.value(&var::NANGO_FUNCTION_MEMORY_MB, whole(16usize, 65536))? << 20;
        let function_max_output = env.value(&var::NANGO_FUNCTION_MAX_OUTPUT_BYTES, whole(1024usize, 1 << 30))?;
        let action_timeout = env.value(&var::NANGO_ACTION_TIMEOUT, seconds(1, DAY_S))?;
        let sync_timeout = env.value(&var::NANGO_SYNC_TIMEOUT, seconds(60, 7 * DAY_S))?;
        let sync_lease = env.value(&var::NANGO_SYNC_LEASE, seconds(5, 3600))?;
        let record_validation = env.value(&var::NANGO_RECORD_VALIDATION, record_validation)?;
        let log_filter = env.value(&var::RUST_LOG, text)?;
        Ok(Self {
            bind_address,
            port,
            public_url,
            connect_url,
            encryption_key,
            previous_encryption_keys,
            secret_key_dev,
            secret_key_prod,
            database,
            db_pool_max,
            outbound_policy,
            body_limit,
            metadata_body_limit,
            proxy_timeout,
            proxy_max_retry_wait,
            proxy_cache_ttl,
            webhooks_dev,
            webhooks_prod,
            webhook_timeout,
            webhook_retry_delay,
            webhook_max_attempts,
            webhook_poll,
            data_dir,
            providers_file,
            log_format,
            log_filter,
            worker_threads,
            function_workers,
            function_memory,
            function_max_output,
            action_timeout,
            sync_timeout,
            sync_lease,
            record_validation,
            log_retention: Duration::from_secs(log_retention_hours * 3600),
            log_queue,
            max_connections,
            request_body_timeout,
            header_read_timeout,
            rate_limit: rate_limit_on.then_some(rate_limit),
            metrics_token,
            shutdown_timeout,
            otel,
        })
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(&self.database, DatabaseConfig::Url(url) if url.expose().starts_with("postgres"))
    }
}

/// Whether `s` is a UUID v4 (case-insensitive), the only secret-key format Nango accepts.
pub fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            14 => *c == b'4',
            19 => matches!(c.to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_hexdigit(),
        })
}

/// Export is on when an OTLP endpoint is set and `OTEL_SDK_DISABLED` is not `true`; the
/// exporter itself reads the endpoints, headers and timeouts. With export off the OTLP
/// settings are not checked: a shared environment may carry them for other services.
fn otel_config(
    env: &Env<impl Fn(&str) -> Option<String>>,
) -> Result<Option<crate::telemetry::otel::OtelConfig>, ConfigError> {
    // The OpenTelemetry specification's boolean: `true` in any case; anything else is false.
    let disabled = env.value(&var::OTEL_SDK_DISABLED, |v| Ok(v.eq_ignore_ascii_case("true")))?;
    let protocol = |v: &str| match v {
        "http/protobuf" | "http/json" => Ok(()),
        _ => Err("is not supported: use http/protobuf (the collector's port 4318) or http/json".to_owned()),
    };
    let protocols = [
        env.get(&var::OTEL_EXPORTER_OTLP_PROTOCOL, protocol),
        env.get(&var::OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, protocol),
        env.get(&var::OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, protocol),
    ];
    let endpoint = |v| env.get(v, http_url).map(|url| url.is_some());
    let base = endpoint(&var::OTEL_EXPORTER_OTLP_ENDPOINT);
    let traces = endpoint(&var::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
    let metrics = endpoint(&var::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT);
    let service_name = env.value(&var::OTEL_SERVICE_NAME, text);
    if disabled {
        return Ok(None);
    }
    for checked in protocols {
        checked?;
    }
    let base = base?;
    let (traces, metrics) = (traces? || base, metrics? || base);
    if !traces && !metrics {
        return Ok(None);
    }
    Ok(Some(crate::telemetry::otel::OtelConfig { traces, metrics, service_name: service_name? }))
}

const DAY_S: u64 = 24 * 3600;
const DAY_MS: u64 = DAY_S * 1000;

/// Any text.
pub use crate::model::sync::RecordValidation;

impl Config {
    /// The record validation of environment `name`.
    pub fn record_validation_for(&self, name: &str) -> RecordValidation {
        crate::model::sync::validation_for(&self.record_validation, name)
    }
}

/// `reject`, `log`, or `env=mode` pairs separated by commas (`dev=log,prod=reject`).
fn record_validation(v: &str) -> Result<Vec<(String, RecordValidation)>, String> {
    let mode = |m: &str| match m.trim() {
        "reject" => Ok(RecordValidation::Reject),
        "log" => Ok(RecordValidation::Log),
        other => Err(format!("`{other}` is neither reject nor log")),
    };
    v.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| match part.split_once('=') {
            Some((env, m)) if !env.trim().is_empty() => Ok((env.trim().to_owned(), mode(m)?)),
            Some(_) => Err("an environment name is missing before `=`".to_owned()),
            None => Ok((String::new(), mode(part)?)),
        })
        .collect()
}

fn text(v: &str) -> Result<String, String> {
    Ok(v.to_owned())
}

/// A whole number in `min..=max`.
fn whole<T: FromStr + PartialOrd + fmt::Display + Copy>(min: T, max: T) -> impl Fn(&str) -> Result<T, String> {
    move |v| {
        v.parse::<T>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| format!("is not a whole number from {min} to {max}"))
    }
}

/// Whole seconds in `min..=max`.
fn seconds(min: u64, max: u64) -> impl Fn(&str) -> Result<Duration, String> {
    move |v| whole(min, max)(v).map(Duration::from_secs).map_err(|e| format!("{e} (seconds)"))
}

/// Whole milliseconds in `min..=max`.
fn millis(min: u64, max: u64) -> impl Fn(&str) -> Result<Duration, String> {
    move |v| whole(min, max)(v).map(Duration::from_millis).map_err(|e| format!("{e} (milliseconds)"))
}

/// `true` or `false`, as Nango spells them.
fn boolean(v: &str) -> Result<bool, String> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("is not true or false".to_owned()),
    }
}

fn http_url(v: &str) -> Result<url::Url, String> {
    match url::Url::parse(v) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        Ok(_) => Err("is not an http:// or https:// URL".to_owned()),
        Err(e) => Err(format!("is not an http:// or https:// URL ({e})")),
    }
}

fn parse_encryption_key(v: &str) -> Result<EncryptionKey, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .map_err(|_| "is not valid base64 (generate a key with: openssl rand -base64 32)".to_owned())?;
    EncryptionKey::from_bytes(&bytes).map_err(|e| e.to_string())
}

fn secret_key(v: &str) -> Result<Secret<String>, String> {
    if is_uuid_v4(v) {
        Ok(Secret::new(v.to_owned()))
    } else {
        Err("must be a UUID v4 (e.g. from `uuidgen`), as Nango requires".to_owned())
    }
}

fn parse_outbound_policy(v: &str) -> Result<OutboundPolicy, String> {
    let value: serde_json::Value = serde_json::from_str(v).map_err(|e| format!("is not valid JSON: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err("is not a JSON object such as {\"blockPrivateIps\":false}".to_owned());
    };
    let mut policy = OutboundPolicy::default();
    for (key, value) in map {
        match (key.as_str(), value) {
            ("blockPrivateIps", serde_json::Value::Bool(b)) => policy.block_private_ips = b,
            ("blockPrivateIps", _) => return Err("has a blockPrivateIps that is not true or false".to_owned()),
            (other, _) => return Err(format!("has an unknown key `{other}` (known: blockPrivateIps)")),
        }
    }
    Ok(policy)
}

/// Parses `75mb`, `512kb`, `1gb`, `100b` or a plain byte count (1024-based, like Nango's
/// `bytes` parser).
fn parse_size(v: &str) -> Option<usize> {
    let lower = v.to_ascii_lowercase();
    let (number, unit) = match lower.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => lower.split_at(i),
        None => (lower.as_str(), "b"),
    };
    let number: f64 = number.trim().parse().ok()?;
    let factor = match unit.trim() {
        "b" => 1.0,
        "kb" => 1024.0,
        "mb" => 1024.0 * 1024.0,
        "gb" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * factor;
    (1.0..1e12).contains(&bytes).then_some(bytes as usize)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use super::*;

    const KEY_1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    const KEY_2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    const KEY_3: &str = "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";
    const DEV_KEY: &str = "3E66FFB3-7D9F-46C8-9959-F8871D40B087";

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| map.get(name).cloned()
    }

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(lookup(vars))
    }

    /// Asserts `a == b`, naming only the differences.
    fn assert_same(a: &BTreeSet<&str>, b: &BTreeSet<&str>, what: &str) {
        let (only_a, only_b): (Vec<_>, Vec<_>) = (a.difference(b).collect(), b.difference(a).collect());
        assert!(
            only_a.is_empty() && only_b.is_empty(),
            "{what}: {only_a:?} on the left only, {only_b:?} on the right only"
        );
    }

    fn db_url(c: &Config) -> &str {
        match &c.database {
            DatabaseConfig::Url(url) => url.expose(),
            DatabaseConfig::DefaultSqlite => "<default SQLite>",
        }
    }

    /// One variable's test: `bad` values are refused naming `var`; unset, `default` holds;
    /// set to `valid`, `applied` holds. `with` are other variables the case needs.
    struct Case {
        var: &'static str,
        with: &'static [(&'static str, &'static str)],
        bad: &'static [&'static str],
        valid: &'static str,
        default: fn(&Config) -> bool,
        applied: fn(&Config) -> bool,
    }

    const DB_HOST: &[(&str, &str)] = &[("NANGO_DB_HOST", "db.internal")];
    const OTLP: &[(&str, &str)] = &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")];
    const MS: fn(u64) -> Duration = Duration::from_millis;
    const S: fn(u64) -> Duration = Duration::from_secs;

    fn case(
        var: &'static str,
        with: &'static [(&'static str, &'static str)],
        bad: &'static [&'static str],
        valid: &'static str,
        default: fn(&Config) -> bool,
        applied: fn(&Config) -> bool,
    ) -> Case {
        Case { var, with, bad, valid, default, applied }
    }

    /// A case for every variable the loader reads (a test checks that none is missing).
    #[rustfmt::skip]
    fn cases() -> Vec<Case> {
        vec![
            case("SERVER_PORT", &[], &["70000", "-1", "http"], "8080", |c| c.port == 3003, |c| c.port == 8080),
            case("NANGO_SERVER_URL", &[], &["ftp://files.example.com", "nango.example.com"], "https://nango.example.com/",
                |c| c.public_url == "http://localhost:3003", |c| c.public_url == "https://nango.example.com"),
            case("NANGO_PUBLIC_SERVER_URL", &[("NANGO_SERVER_URL", "http://internal:3003")],
                &["ftp://files.example.com", "nango.example.com"], "https://nango.example.com",
                |c| c.public_url == "http://internal:3003", |c| c.public_url == "https://nango.example.com"),
            case("NANGO_ENCRYPTION_KEY", &[], &["c2hvcnQ=", "not base64!"], KEY_1,
                |c| c.encryption_key.is_none(), |c| c.encryption_key.is_some()),
            case("NANGO_ENCRYPTION_KEY_PREVIOUS", &[("NANGO_ENCRYPTION_KEY", KEY_1)], &["c2hvcnQ=", "AQEB,not base64!"],
                "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=, AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=",
                |c| c.previous_encryption_keys.is_empty(), |c| c.previous_encryption_keys.len() == 2),
            case("NANGO_SECRET_KEY_DEV", &[], &["not-a-uuid", "3e66ffb3-7d9f-16c8-9959-f8871d40b087"], DEV_KEY,
                |c| c.secret_key_dev.is_none(), |c| c.secret_key_dev.as_ref().is_some_and(|k| k.expose() == DEV_KEY)),
            case("NANGO_SECRET_KEY_PROD", &[("NANGO_SECRET_KEY_DEV", DEV_KEY)], &["not-a-uuid", DEV_KEY],
                "3e66ffb3-7d9f-46c8-a959-f8871d40b087",
                |c| c.secret_key_prod.is_none(), |c| c.secret_key_prod.is_some()),
            case("NANGO_DATABASE_URL", &[], &["mysql://db/nango", "nango.db"], "postgresql://u:p@db/nango",
                |c| c.database == DatabaseConfig::DefaultSqlite, |c| db_url(c) == "postgresql://u:p@db/nango"),
            case("NANGO_DB_HOST", &[], &[], "db.internal", |c| c.database == DatabaseConfig::DefaultSqlite,
                |c| db_url(c) == "postgres://nango:nango@db.internal:5432/nango?sslmode=prefer"),
            case("NANGO_DB_PORT", DB_HOST, &["port", "65536"], "6543",
                |c| db_url(c).contains(":5432/"), |c| db_url(c).contains(":6543/")),
            case("NANGO_DB_USER", DB_HOST, &[], "app",
                |c| db_url(c).starts_with("postgres://nango:"), |c| db_url(c).starts_with("postgres://app:")),
            case("NANGO_DB_PASSWORD", DB_HOST, &[], "p@ss:word",
                |c| db_url(c).contains(":nango@"), |c| db_url(c).contains(":p%40ss%3Aword@")),
            case("NANGO_DB_NAME", DB_HOST, &[], "crm",
                |c| db_url(c).contains("/nango?"), |c| db_url(c).contains("/crm?")),
            case("NANGO_DB_SSL", DB_HOST, &["yes", "TRUE"], "true",
                |c| db_url(c).ends_with("sslmode=prefer"), |c| db_url(c).ends_with("sslmode=require")),
            case("NANGO_DB_POOL_MAX", &[], &["0", "many", "10001"], "25", |c| c.db_pool_max == 10, |c| c.db_pool_max == 25),
            case("NANGO_OUTBOUND_URL_POLICY", &[],
                &["{\"blockPrivateIPs\":false}", "{\"blockPrivateIps\":\"no\"}", "[]", "{"], "{\"blockPrivateIps\":false}",
                |c| c.outbound_policy.block_private_ips, |c| !c.outbound_policy.block_private_ips),
            case("NANGO_PROXY_TIMEOUT", &[], &["0", "1.5", "86401"], "5",
                |c| c.proxy_timeout == S(60), |c| c.proxy_timeout == S(5)),
            case("NANGO_PROXY_MAX_RETRY_WAIT", &[], &["-1", "soon"], "0",
                |c| c.proxy_max_retry_wait == S(30), |c| c.proxy_max_retry_wait.is_zero()),
            case("NANGO_PROXY_CACHE_TTL_MS", &[], &["1s"], "0",
                |c| c.proxy_cache_ttl == MS(1000), |c| c.proxy_cache_ttl.is_zero()),
            case("NANGO_PUBLIC_CONNECT_URL", &[], &["connect.example.com", "ftp://connect.example.com"],
                "https://connect.example.com/ui",
                |c| c.connect_url == "http://localhost:3003/connect-ui/", |c| c.connect_url == "https://connect.example.com/ui/"),
            case("NANGO_WEBHOOK_URL_DEV", &[], &["ftp://hooks.example.com"], "https://hooks.example.com/a",
                |c| c.webhooks_dev.primary_url.is_none(), |c| c.webhooks_dev.primary_url.as_deref() == Some("https://hooks.example.com/a")),
            case("NANGO_WEBHOOK_URL_PROD", &[], &["hooks"], "https://hooks.example.com/b",
                |c| c.webhooks_prod.primary_url.is_none(), |c| c.webhooks_prod.primary_url.as_deref() == Some("https://hooks.example.com/b")),
            case("NANGO_SLACK_WEBHOOK_URL_DEV", &[], &["hooks.slack.com/x"], "https://hooks.slack.com/services/T/B/x",
                |c| c.webhooks_dev.slack_url.is_none(), |c| c.webhooks_dev.slack_url.is_some()),
            case("NANGO_SLACK_WEBHOOK_URL_PROD", &[], &["ftp://x"], "https://hooks.slack.com/services/T/B/y",
                |c| c.webhooks_prod.slack_url.is_none(), |c| c.webhooks_prod.slack_url.is_some()),
            case("NANGO_WEBHOOK_SECONDARY_URL_DEV", &[], &["ftp://hooks.example.com"], "https://hooks.example.com/c",
                |c| c.webhooks_dev.secondary_url.is_none(), |c| c.webhooks_dev.secondary_url.is_some()),
            case("NANGO_WEBHOOK_SECONDARY_URL_PROD", &[], &["ftp://hooks.example.com"], "https://hooks.example.com/d",
                |c| c.webhooks_prod.secondary_url.is_none(), |c| c.webhooks_prod.secondary_url.is_some()),
            case("NANGO_WEBHOOK_SIGNING_KEY_DEV", &[], &[], "whsec-dev",
                |c| c.webhooks_dev.signing_key.is_none(), |c| c.webhooks_dev.signing_key.as_ref().is_some_and(|k| k.expose() == "whsec-dev")),
            case("NANGO_WEBHOOK_SIGNING_KEY_PROD", &[], &[], "whsec-prod",
                |c| c.webhooks_prod.signing_key.is_none(), |c| c.webhooks_prod.signing_key.is_some()),
            case("NANGO_WEBHOOK_TIMEOUT_MS", &[], &["0", "20s"], "500",
                |c| c.webhook_timeout == MS(20_000), |c| c.webhook_timeout == MS(500)),
            case("NANGO_WEBHOOK_RETRY_DELAY_MS", &[], &["x", "-3"], "0",
                |c| c.webhook_retry_delay == MS(3000), |c| c.webhook_retry_delay.is_zero()),
            case("NANGO_WEBHOOK_MAX_ATTEMPTS", &[], &["0", "101"], "3",
                |c| c.webhook_max_attempts == 8, |c| c.webhook_max_attempts == 3),
            case("NANGO_WEBHOOK_POLL_MS", &[], &["0", "9"], "10",
                |c| c.webhook_poll == MS(1000), |c| c.webhook_poll == MS(10)),
            case("NANGO_MAX_CONNECTIONS", &[], &["0", "many"], "100",
                |c| c.max_connections.is_none(), |c| c.max_connections == Some(100)),
            case("NANGO_REQUEST_BODY_TIMEOUT", &[], &["0", "3601", "5s"], "5",
                |c| c.request_body_timeout == S(30), |c| c.request_body_timeout == S(5)),
            case("NANGO_HEADER_READ_TIMEOUT", &[], &["0", "3601", "5s"], "5",
                |c| c.header_read_timeout == S(30), |c| c.header_read_timeout == S(5)),
            case("NANGO_LOG_QUEUE", &[], &["0", "10000001", "lots"], "64",
                |c| c.log_queue == 16_384, |c| c.log_queue == 64),
            case("NANGO_LOG_RETENTION_HOURS", &[], &["87841", "a week"], "0",
                |c| c.log_retention == S(168 * 3600), |c| c.log_retention.is_zero()),
            case("DEFAULT_RATE_LIMIT_PER_MIN", &[], &["0", "4294967296"], "3",
                |c| c.rate_limit == Some(60_000), |c| c.rate_limit == Some(3)),
            case("FLAG_API_RATE_LIMIT_ENABLED", &[], &["no", "0"], "false",
                |c| c.rate_limit.is_some(), |c| c.rate_limit.is_none()),
            case("NANGO_METRICS_TOKEN", &[], &[], "scrape",
                |c| c.metrics_token.is_none(), |c| c.metrics_token.as_ref().is_some_and(|t| t.expose() == "scrape")),
            case("NANGO_SHUTDOWN_TIMEOUT_MS", &[], &["-5", "30s"], "0",
                |c| c.shutdown_timeout == MS(30_000), |c| c.shutdown_timeout.is_zero()),
            case("OTEL_EXPORTER_OTLP_ENDPOINT", &[], &["collector:4318", "grpc://collector:4317"], "http://collector:4318",
                |c| c.otel.is_none(), |c| c.otel.as_ref().is_some_and(|o| o.traces && o.metrics)),
            case("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &[], &["collector:4318"], "http://collector:4318/v1/traces",
                |c| c.otel.is_none(), |c| c.otel.as_ref().is_some_and(|o| o.traces && !o.metrics)),
            case("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &[], &["collector:4318"], "http://collector:4318/v1/metrics",
                |c| c.otel.is_none(), |c| c.otel.as_ref().is_some_and(|o| !o.traces && o.metrics)),
            case("OTEL_EXPORTER_OTLP_PROTOCOL", OTLP, &["grpc"], "http/json", |c| c.otel.is_some(), |c| c.otel.is_some()),
            case("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", OTLP, &["grpc"], "http/json", |c| c.otel.is_some(), |c| c.otel.is_some()),
            case("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", OTLP, &["grpc"], "http/json", |c| c.otel.is_some(), |c| c.otel.is_some()),
            case("OTEL_SERVICE_NAME", OTLP, &[], "crm-nango",
                |c| c.otel.as_ref().is_some_and(|o| o.service_name == "nango-server"),
                |c| c.otel.as_ref().is_some_and(|o| o.service_name == "crm-nango")),
            case("OTEL_SDK_DISABLED", OTLP, &[], "TRUE", |c| c.otel.is_some(), |c| c.otel.is_none()),
            case("NANGO_SERVER_PUBLIC_BODY_LIMIT", &[], &["lots", "0", "2tb"], "2mb",
                |c| c.body_limit == 75 * 1024 * 1024, |c| c.body_limit == 2 * 1024 * 1024),
            case("NANGO_METADATA_BODY_LIMIT", &[], &["lots", "0"], "5mb",
                |c| c.metadata_body_limit == 1024 * 1024, |c| c.metadata_body_limit == 5 * 1024 * 1024),
            case("NANGO_DATA_DIR", &[], &[], "/var/lib/nango",
                |c| c.data_dir == std::path::Path::new("nango-data"), |c| c.data_dir == std::path::Path::new("/var/lib/nango")),
            case("NANGO_PROVIDERS_FILE", &[], &[], "/etc/nango/providers.yaml",
                |c| c.providers_file.is_none(), |c| c.providers_file.is_some()),
            case("NANGO_LOG_FORMAT", &[], &["xml", "JSON"], "json",
                |c| c.log_format == LogFormat::Text, |c| c.log_format == LogFormat::Json),
            case("NANGO_BIND_ADDRESS", &[], &["localhost", "300.0.0.1"], "127.0.0.1",
                |c| c.bind_address == IpAddr::from([0, 0, 0, 0]), |c| c.bind_address == IpAddr::from([127, 0, 0, 1])),
            case("NANGO_WORKER_THREADS", &[], &["0", "1025", "all"], "2",
                |c| c.worker_threads.is_none(), |c| c.worker_threads == Some(2)),
            case("NANGO_FUNCTION_WORKERS", &[], &["0", "257", "many"], "3",
                |c| c.function_workers.is_none(), |c| c.function_workers == Some(3)),
            case("NANGO_FUNCTION_MEMORY_MB", &[], &["15", "65537", "lots"], "64",
                |c| c.function_memory == 256 << 20, |c| c.function_memory == 64 << 20),
            case("NANGO_FUNCTION_MAX_OUTPUT_BYTES", &[], &["1023", "2mb"], "4096",
                |c| c.function_max_output == 2 << 20, |c| c.function_max_output == 4096),
            case("NANGO_ACTION_TIMEOUT", &[], &["0", "86401", "15m"], "30",
                |c| c.action_timeout == S(900), |c| c.action_timeout == S(30)),
            case("NANGO_SYNC_TIMEOUT", &[], &["59", "604801", "1h"], "3600",
                |c| c.sync_timeout == S(86_400), |c| c.sync_timeout == S(3600)),
            case("NANGO_SYNC_LEASE", &[], &["4", "3601"], "10",
                |c| c.sync_lease == S(60), |c| c.sync_lease == S(10)),
            case("NANGO_RECORD_VALIDATION", &[], &["strict", "=log", "dev=maybe"], "prod=log,reject",
                |c| c.record_validation_for("dev") == RecordValidation::Reject,
                |c| c.record_validation_for("prod") == RecordValidation::Log
                    && c.record_validation_for("dev") == RecordValidation::Reject),
            case("RUST_LOG", &[], &[], "nango_server=debug",
                |c| c.log_filter == "info", |c| c.log_filter == "nango_server=debug"),
        ]
    }

    #[test]
    fn each_variable_has_its_default_accepts_a_valid_value_and_names_itself_when_refused() {
        for case in cases() {
            let Case { var, with, bad, valid, default, applied } = case;
            let c = config(with).unwrap_or_else(|e| panic!("{var}: the companions alone are refused: {e}"));
            assert!(default(&c), "{var}: unset, the default does not hold");
            let mut vars = with.to_vec();
            vars.push((var, valid));
            let c = config(&vars).unwrap_or_else(|e| panic!("{var}={valid} is refused: {e}"));
            assert!(applied(&c), "{var}={valid} is not applied");
            for value in bad {
                vars.pop();
                vars.push((var, value));
                let e = config(&vars).err().unwrap_or_else(|| panic!("{var}={value} is accepted"));
                assert_eq!(e.variable, var, "{var}={value} is reported as another variable: {e}");
                let secret = VARIABLES.iter().any(|v| v.name == var && v.secret);
                assert_eq!(e.message.contains(value), !secret, "{var}: the value is quoted unless secret: {e}");
            }
        }
    }

    #[test]
    fn every_variable_has_a_case_and_help_lists_exactly_what_the_loader_reads() {
        let names = |vars: &[&Var]| vars.iter().map(|v| v.name).collect::<BTreeSet<_>>();
        let exporter = names(READ_BY_THE_EXPORTER);
        let listed: BTreeSet<&str> = names(VARIABLES).difference(&exporter).copied().collect();
        assert_eq!(listed.len() + exporter.len(), VARIABLES.len(), "a variable is listed twice");
        let cased: BTreeSet<&str> = cases().iter().map(|c| c.var).collect();
        assert_same(&cased, &listed, "cases() and VARIABLES (less the exporter's) differ");
        // What the loader reads, unset and with every variable set: the same set, all listed.
        let all_set: Vec<(&str, &str)> =
            cases().iter().flat_map(|c| c.with.iter().copied().chain([(c.var, c.valid)])).collect();
        for vars in [&[][..], &all_set[..]] {
            let env = Env::new(lookup(vars));
            Config::load(&env).unwrap();
            let read = env.read.into_inner();
            assert_same(&read.iter().copied().collect(), &listed, "what the loader reads and VARIABLES differ");
            assert_eq!(read.len(), listed.len(), "a variable is read twice: {read:?}");
        }
        let help = help();
        for v in VARIABLES {
            let line = help.lines().find(|l| l.split_whitespace().next() == Some(v.name));
            let line = line.unwrap_or_else(|| panic!("help does not list {}", v.name));
            if let Some(default) = v.default {
                assert!(line.ends_with(&format!("(default {default})")), "{line}");
            }
        }
    }

    #[test]
    fn a_variable_that_is_not_used_is_not_checked() {
        // NANGO_SERVER_URL under NANGO_PUBLIC_SERVER_URL, database parts under a URL, OTLP
        // settings with export off: as before, only what takes effect must be valid.
        config(&[("NANGO_PUBLIC_SERVER_URL", "https://nango.example.com"), ("NANGO_SERVER_URL", "not a url")]).unwrap();
        config(&[("NANGO_DATABASE_URL", "sqlite::memory:"), ("NANGO_DB_HOST", "db"), ("NANGO_DB_SSL", "yes")]).unwrap();
        config(&[("NANGO_DB_PORT", "port")]).unwrap();
        config(&[("OTEL_SDK_DISABLED", "true"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap();
    }

    #[test]
    fn rules_across_variables_name_the_variable_to_change() {
        let e = config(&[("NANGO_ENCRYPTION_KEY_PREVIOUS", KEY_2)]).unwrap_err();
        assert_eq!(e.variable, "NANGO_ENCRYPTION_KEY_PREVIOUS");
        let e = config(&[("NANGO_SECRET_KEY_DEV", DEV_KEY), ("NANGO_SECRET_KEY_PROD", DEV_KEY)]).unwrap_err();
        assert_eq!(e.variable, "NANGO_SECRET_KEY_PROD");
        assert_eq!(
            config(&[("NANGO_ENCRYPTION_KEY", KEY_3), ("NANGO_ENCRYPTION_KEY_PREVIOUS", KEY_2)])
                .unwrap()
                .previous_encryption_keys
                .len(),
            1
        );
    }

    #[test]
    fn empty_and_padded_values_count_as_unset_and_trimmed() {
        let c = config(&[("SERVER_PORT", " "), ("NANGO_DB_POOL_MAX", " 12 ")]).unwrap();
        assert_eq!((c.port, c.db_pool_max), (3003, 12));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = config(&[
            ("NANGO_DB_HOST", "db.internal"),
            ("NANGO_DB_PASSWORD", "p@ss:word"),
            ("NANGO_SECRET_KEY_DEV", DEV_KEY),
            ("NANGO_ENCRYPTION_KEY", KEY_1),
            ("NANGO_METRICS_TOKEN", "scrape-token"),
            ("NANGO_WEBHOOK_SIGNING_KEY_DEV", "whsec-dev"),
        ])
        .unwrap();
        let debug = format!("{c:?}");
        for secret in ["p%40ss", "3E66FFB3", KEY_1, "scrape-token", "whsec-dev"] {
            assert!(!debug.contains(secret), "Debug prints {secret}");
        }
    }

    #[test]
    fn uuid_v4_format() {
        assert!(is_uuid_v4("3e66ffb3-7d9f-46c8-9959-f8871d40b087"));
        assert!(!is_uuid_v4("3e66ffb3-7d9f-16c8-9959-f8871d40b087"));
        assert!(!is_uuid_v4("3e66ffb3-7d9f-46c8-1959-f8871d40b087"));
        assert!(!is_uuid_v4("not-a-uuid"));
    }
}
