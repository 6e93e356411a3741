//! The one typed configuration, read once from the environment and validated at start-up.
//! Nango's self-hosting variable names are used wherever Nango has one; every variable is
//! listed in [`VARIABLES`] (and in the README). No other module reads the environment.

use std::{fmt, net::IpAddr, path::PathBuf};

use base64::Engine as _;

use crate::crypto::EncryptionKey;

/// Every variable the server reads: `(name, meaning)`.
pub const VARIABLES: &[(&str, &str)] = &[
    ("SERVER_PORT", "TCP port to listen on (default 3003)"),
    (
        "NANGO_SERVER_URL",
        "public base URL of this server, used in logo and webhook URLs (default http://localhost:<port>)",
    ),
    ("NANGO_PUBLIC_SERVER_URL", "overrides NANGO_SERVER_URL for public asset URLs, as in Nango"),
    (
        "NANGO_ENCRYPTION_KEY",
        "base64 of 32 random bytes; seals secrets at rest and keys the secret-key hashes (generated into the data directory when unset with SQLite; required with PostgreSQL)",
    ),
    (
        "NANGO_ENCRYPTION_KEY_PREVIOUS",
        "comma-separated older encryption keys (base64) that still open existing data during a key rotation; see docs/key-rotation.md",
    ),
    ("NANGO_SECRET_KEY_DEV", "secret key (UUID v4) of the dev environment (generated on first start when unset)"),
    ("NANGO_SECRET_KEY_PROD", "secret key (UUID v4) of the prod environment (the environment exists only when set)"),
    (
        "NANGO_DATABASE_URL",
        "sqlite:<path> or postgres://user:pass@host:port/db (default: SQLite file in the data directory)",
    ),
    ("NANGO_DB_HOST", "PostgreSQL host, when NANGO_DATABASE_URL is unset"),
    ("NANGO_DB_PORT", "PostgreSQL port (default 5432)"),
    ("NANGO_DB_USER", "PostgreSQL user (default nango)"),
    ("NANGO_DB_PASSWORD", "PostgreSQL password (default nango)"),
    ("NANGO_DB_NAME", "PostgreSQL database (default nango)"),
    ("NANGO_DB_SSL", "true to require TLS to PostgreSQL (default false)"),
    ("NANGO_DB_POOL_MAX", "maximum database connections of this replica (default 10)"),
    (
        "NANGO_OUTBOUND_URL_POLICY",
        "JSON policy for proxy destinations, e.g. {\"blockPrivateIps\":false} (default blocks private addresses)",
    ),
    (
        "NANGO_PROXY_TIMEOUT",
        "seconds the proxy waits for an upstream's response headers before answering 504 (default 60)",
    ),
    ("NANGO_PROXY_MAX_RETRY_WAIT", "most seconds the proxy waits in total between retries of one request (default 30)"),
    (
        "NANGO_PROXY_CACHE_TTL_MS",
        "milliseconds a replica reuses a connection's resolved proxy target without re-reading the database; bounds how stale other replicas can be after a change (default 1000)",
    ),
    (
        "NANGO_PUBLIC_CONNECT_URL",
        "where connect links point: the Connect UI this server serves at /connect-ui/ (default <public server URL>/connect-ui/), or your own deployment of it",
    ),
    ("NANGO_WEBHOOK_URL_DEV", "primary webhook URL of the dev environment (overrides the stored one at start)"),
    ("NANGO_WEBHOOK_URL_PROD", "primary webhook URL of the prod environment"),
    ("NANGO_WEBHOOK_SECONDARY_URL_DEV", "secondary webhook URL of the dev environment"),
    ("NANGO_WEBHOOK_SECONDARY_URL_PROD", "secondary webhook URL of the prod environment"),
    (
        "NANGO_WEBHOOK_SIGNING_KEY_DEV",
        "key that signs the dev environment's webhooks (default: generated, readable with GET /environment/webhook)",
    ),
    ("NANGO_WEBHOOK_SIGNING_KEY_PROD", "key that signs the prod environment's webhooks"),
    ("NANGO_WEBHOOK_TIMEOUT_MS", "how long a webhook receiver may take to answer (default 20000)"),
    (
        "NANGO_WEBHOOK_RETRY_DELAY_MS",
        "wait before retrying a failed webhook delivery, doubled for each further retry up to 10 minutes (default 3000)",
    ),
    ("NANGO_WEBHOOK_MAX_ATTEMPTS", "attempts before a webhook delivery is given up (default 8)"),
    ("NANGO_WEBHOOK_POLL_MS", "how often a replica looks for due webhook deliveries besides its own (default 1000)"),
    (
        "NANGO_LOG_RETENTION_HOURS",
        "hours request logs are kept in the database for GET /logs; 0 keeps none (default 168, one week)",
    ),
    (
        "DEFAULT_RATE_LIMIT_PER_MIN",
        "requests per minute and environment on each replica before 429 too_many_request (default 60000)",
    ),
    ("FLAG_API_RATE_LIMIT_ENABLED", "false turns the rate limit off (default true)"),
    ("NANGO_METRICS_TOKEN", "when set, GET /metrics requires Authorization: Bearer <this token>"),
    (
        "NANGO_SHUTDOWN_TIMEOUT_MS",
        "on SIGTERM, how long in-flight requests and streams may take to finish before they are cut (default 30000)",
    ),
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTLP/HTTP base URL (e.g. http://collector:4318): exports traces and metrics; unset: no export",
    ),
    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "full OTLP/HTTP URL for traces only (e.g. http://collector:4318/v1/traces)"),
    ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "full OTLP/HTTP URL for metrics only"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf (default) or http/json; gRPC is not supported"),
    ("OTEL_EXPORTER_OTLP_HEADERS", "headers sent with every export, e.g. x-api-key=abc (read by the exporter)"),
    ("OTEL_SERVICE_NAME", "service.name of exported telemetry (default nango-server)"),
    ("OTEL_SDK_DISABLED", "true turns OpenTelemetry export off even when an endpoint is set"),
    ("NANGO_SERVER_PUBLIC_BODY_LIMIT", "largest accepted JSON request body, e.g. 75mb (default 75mb)"),
    ("NANGO_DATA_DIR", "directory for the SQLite database and generated keys (default ./nango-data)"),
    ("NANGO_PROVIDERS_FILE", "extra provider catalog in providers.yaml format, merged over the built-in one"),
    ("NANGO_LOG_FORMAT", "text (default) or json"),
    ("NANGO_BIND_ADDRESS", "address to listen on (default 0.0.0.0)"),
    ("NANGO_WORKER_THREADS", "threads serving requests (default: one per CPU core)"),
    ("RUST_LOG", "log filter, e.g. info or nango_server=debug (default info)"),
];

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
    pub proxy_timeout: std::time::Duration,
    pub proxy_max_retry_wait: std::time::Duration,
    pub proxy_cache_ttl: std::time::Duration,
    /// Webhook settings of the `dev` and `prod` environments set by configuration.
    pub webhooks_dev: WebhookConfig,
    pub webhooks_prod: WebhookConfig,
    pub webhook_timeout: std::time::Duration,
    pub webhook_retry_delay: std::time::Duration,
    pub webhook_max_attempts: u32,
    pub webhook_poll: std::time::Duration,
    pub data_dir: PathBuf,
    pub providers_file: Option<PathBuf>,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// Runtime worker threads (`None`: one per core).
    pub worker_threads: Option<usize>,
    /// How long request logs are kept (zero: not kept).
    pub log_retention: std::time::Duration,
    /// Requests per minute and environment on this replica (`None`: no limit).
    pub rate_limit: Option<u32>,
    /// Bearer token required by `GET /metrics`, when set.
    pub metrics_token: Option<Secret<String>>,
    /// How long in-flight requests may take after a shutdown signal.
    pub shutdown_timeout: std::time::Duration,
    /// OpenTelemetry export (`None`: off).
    pub otel: Option<crate::telemetry::otel::OtelConfig>,
}

/// An environment's webhook settings from configuration (`None`: as stored).
#[derive(Debug, Clone, Default)]
pub struct WebhookConfig {
    pub primary_url: Option<String>,
    pub secondary_url: Option<String>,
    pub signing_key: Option<Secret<String>>,
}

/// A configuration problem, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn err(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable, message: message.into() }
}

impl Config {
    /// Reads the process environment.
    #[allow(clippy::disallowed_methods)] // the one place that reads the environment
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (tests pass a map). Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let port = match get("SERVER_PORT") {
            None => 3003,
            Some(v) => {
                v.parse::<u16>().map_err(|_| err("SERVER_PORT", format!("`{v}` is not a TCP port (0-65535)")))?
            }
        };
        let bind_address = match get("NANGO_BIND_ADDRESS") {
            None => IpAddr::from([0, 0, 0, 0]),
            Some(v) => v.parse().map_err(|_| err("NANGO_BIND_ADDRESS", format!("`{v}` is not an IP address")))?,
        };
        let public_url = match get("NANGO_PUBLIC_SERVER_URL")
            .map(|v| ("NANGO_PUBLIC_SERVER_URL", v))
            .or_else(|| get("NANGO_SERVER_URL").map(|v| ("NANGO_SERVER_URL", v)))
        {
            None => format!("http://localhost:{port}"),
            Some((name, v)) => {
                let url = url::Url::parse(&v).map_err(|e| {
                    err(
                        if name == "NANGO_SERVER_URL" { "NANGO_SERVER_URL" } else { "NANGO_PUBLIC_SERVER_URL" },
                        format!("`{v}` is not a URL: {e}"),
                    )
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(err("NANGO_SERVER_URL", "must be an http:// or https:// URL"));
                }
                v.trim_end_matches('/').to_owned()
            }
        };
        let parse_key = |name: &'static str, v: &str| -> Result<EncryptionKey, ConfigError> {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .map_err(|_| err(name, "is not valid base64 (generate a key with: openssl rand -base64 32)"))?;
            EncryptionKey::from_bytes(&bytes).map_err(|e| err(name, e.to_string()))
        };
        let encryption_key = get("NANGO_ENCRYPTION_KEY").map(|v| parse_key("NANGO_ENCRYPTION_KEY", &v)).transpose()?;
        let previous_encryption_keys = get("NANGO_ENCRYPTION_KEY_PREVIOUS")
            .map(|v| {
                v.split(',')
                    .filter(|k| !k.trim().is_empty())
                    .map(|k| parse_key("NANGO_ENCRYPTION_KEY_PREVIOUS", k))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        if !previous_encryption_keys.is_empty() && encryption_key.is_none() {
            return Err(err(
                "NANGO_ENCRYPTION_KEY_PREVIOUS",
                "needs NANGO_ENCRYPTION_KEY (the new primary key) to be set too",
            ));
        }
        let secret_key = |name: &'static str| -> Result<Option<Secret<String>>, ConfigError> {
            get(name)
                .map(|v| {
                    if is_uuid_v4(&v) {
                        Ok(Secret::new(v))
                    } else {
                        Err(err(name, "must be a UUID v4 (e.g. from `uuidgen`), as Nango requires"))
                    }
                })
                .transpose()
        };
        let secret_key_dev = secret_key("NANGO_SECRET_KEY_DEV")?;
        let secret_key_prod = secret_key("NANGO_SECRET_KEY_PROD")?;
        if secret_key_dev.is_some() && secret_key_dev == secret_key_prod {
            return Err(err("NANGO_SECRET_KEY_PROD", "must differ from NANGO_SECRET_KEY_DEV"));
        }

        let database = match get("NANGO_DATABASE_URL") {
            Some(url) => {
                if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err(err("NANGO_DATABASE_URL", "must start with sqlite:, postgres:// or postgresql://"));
                }
                DatabaseConfig::Url(Secret::new(url))
            }
            None => match get("NANGO_DB_HOST") {
                None => DatabaseConfig::DefaultSqlite,
                Some(host) => {
                    let port = match get("NANGO_DB_PORT") {
                        None => 5432,
                        Some(v) => {
                            v.parse::<u16>().map_err(|_| err("NANGO_DB_PORT", format!("`{v}` is not a port")))?
                        }
                    };
                    let enc = |s: String| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                    let user = enc(get("NANGO_DB_USER").unwrap_or_else(|| "nango".to_owned()));
                    let password = enc(get("NANGO_DB_PASSWORD").unwrap_or_else(|| "nango".to_owned()));
                    let name = enc(get("NANGO_DB_NAME").unwrap_or_else(|| "nango".to_owned()));
                    let ssl = match get("NANGO_DB_SSL").as_deref() {
                        None | Some("false") => false,
                        Some("true") => true,
                        Some(v) => return Err(err("NANGO_DB_SSL", format!("`{v}` is not true or false"))),
                    };
                    let sslmode = if ssl { "require" } else { "prefer" };
                    DatabaseConfig::Url(Secret::new(format!(
                        "postgres://{user}:{password}@{host}:{port}/{name}?sslmode={sslmode}"
                    )))
                }
            },
        };
        let db_pool_max = match get("NANGO_DB_POOL_MAX") {
            None => 10,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(err("SERVER_PORT", format!("`{v}` is not a positive number"))),
            },
        };
        let outbound_policy = match get("NANGO_OUTBOUND_URL_POLICY") {
            None => OutboundPolicy::default(),
            Some(v) => parse_outbound_policy(&v).map_err(|m| err("NANGO_OUTBOUND_URL_POLICY", m))?,
        };
        let body_limit = match get("NANGO_SERVER_PUBLIC_BODY_LIMIT") {
            None => 75 * 1024 * 1024,
            Some(v) => parse_size(&v).ok_or_else(|| {
                err("NANGO_SERVER_PUBLIC_BODY_LIMIT", format!("`{v}` is not a size such as 75mb, 512kb or 1048576"))
            })?,
        };
        let seconds = |name: &'static str, default: u64, unit_ms: bool| -> Result<std::time::Duration, ConfigError> {
            match get(name) {
                None => Ok(if unit_ms {
                    std::time::Duration::from_millis(default)
                } else {
                    std::time::Duration::from_secs(default)
                }),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if unit_ms => Ok(std::time::Duration::from_millis(n)),
                    Ok(n) if n > 0 => Ok(std::time::Duration::from_secs(n)),
                    _ => Err(err(name, format!("`{v}` is not a positive whole number"))),
                },
            }
        };
        let proxy_timeout = seconds("NANGO_PROXY_TIMEOUT", 60, false)?;
        let proxy_max_retry_wait = seconds("NANGO_PROXY_MAX_RETRY_WAIT", 30, false)?;
        let proxy_cache_ttl = seconds("NANGO_PROXY_CACHE_TTL_MS", 1000, true)?;
        let webhook_timeout = seconds("NANGO_WEBHOOK_TIMEOUT_MS", 20_000, true)?;
        let webhook_retry_delay = seconds("NANGO_WEBHOOK_RETRY_DELAY_MS", 3000, true)?;
        let webhook_poll = seconds("NANGO_WEBHOOK_POLL_MS", 1000, true)?.max(std::time::Duration::from_millis(10));
        let webhook_max_attempts = match get("NANGO_WEBHOOK_MAX_ATTEMPTS") {
            None => 8,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => return Err(err("NANGO_WEBHOOK_MAX_ATTEMPTS", format!("`{v}` is not a number from 1 to 100"))),
            },
        };
        let webhook_url = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match get(name) {
                None => Ok(None),
                Some(v) if v.is_empty() => Ok(Some(v)),
                Some(v) => match url::Url::parse(&v) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(Some(v)),
                    _ => Err(err(name, format!("`{v}` is not an http:// or https:// URL"))),
                },
            }
        };
        let webhooks_dev = WebhookConfig {
            primary_url: webhook_url("NANGO_WEBHOOK_URL_DEV")?,
            secondary_url: webhook_url("NANGO_WEBHOOK_SECONDARY_URL_DEV")?,
            signing_key: get("NANGO_WEBHOOK_SIGNING_KEY_DEV").filter(|k| !k.is_empty()).map(Secret::new),
        };
        let webhooks_prod = WebhookConfig {
            primary_url: webhook_url("NANGO_WEBHOOK_URL_PROD")?,
            secondary_url: webhook_url("NANGO_WEBHOOK_SECONDARY_URL_PROD")?,
            signing_key: get("NANGO_WEBHOOK_SIGNING_KEY_PROD").filter(|k| !k.is_empty()).map(Secret::new),
        };
        let connect_url = match get("NANGO_PUBLIC_CONNECT_URL") {
            None => format!("{public_url}/connect-ui/"),
            Some(v) => {
                let url = url::Url::parse(&v)
                    .map_err(|e| err("NANGO_PUBLIC_CONNECT_URL", format!("`{v}` is not a URL: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(err("NANGO_PUBLIC_CONNECT_URL", "must be an http:// or https:// URL"));
                }
                format!("{}/", v.trim_end_matches('/'))
            }
        };
        let worker_threads = match get("NANGO_WORKER_THREADS") {
            None => None,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=1024).contains(&n) => Some(n),
                _ => return Err(err("NANGO_WORKER_THREADS", format!("`{v}` is not a number of threads (1 to 1024)"))),
            },
        };
        let log_retention = match get("NANGO_LOG_RETENTION_HOURS") {
            None => std::time::Duration::from_secs(168 * 3600),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n <= 24 * 366 * 10 => std::time::Duration::from_secs(n * 3600),
                _ => return Err(err("NANGO_LOG_RETENTION_HOURS", format!("`{v}` is not a number of hours"))),
            },
        };
        let rate_limit_on = match get("FLAG_API_RATE_LIMIT_ENABLED").as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(v) => return Err(err("FLAG_API_RATE_LIMIT_ENABLED", format!("`{v}` is not true or false"))),
        };
        let rate_limit = match get("DEFAULT_RATE_LIMIT_PER_MIN") {
            None => 60_000,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(err("DEFAULT_RATE_LIMIT_PER_MIN", format!("`{v}` is not a positive number"))),
            },
        };
        let shutdown_timeout = seconds("NANGO_SHUTDOWN_TIMEOUT_MS", 30_000, true)?;
        let otel = otel_config(&get)?;
        let log_format = match get("NANGO_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(v) => return Err(err("NANGO_LOG_FORMAT", format!("`{v}` is not text or json"))),
        };
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
            proxy_timeout,
            proxy_max_retry_wait,
            proxy_cache_ttl,
            webhooks_dev,
            webhooks_prod,
            webhook_timeout,
            webhook_retry_delay,
            webhook_max_attempts,
            webhook_poll,
            data_dir: PathBuf::from(get("NANGO_DATA_DIR").unwrap_or_else(|| "nango-data".to_owned())),
            providers_file: get("NANGO_PROVIDERS_FILE").map(PathBuf::from),
            log_format,
            log_filter: get("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
            worker_threads,
            log_retention,
            rate_limit: rate_limit_on.then_some(rate_limit),
            metrics_token: get("NANGO_METRICS_TOKEN").map(Secret::new),
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

/// Export is on when an OTLP endpoint is set (and `OTEL_SDK_DISABLED` is not `true`); the
/// exporter itself reads the endpoints, headers and timeouts.
fn otel_config(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<crate::telemetry::otel::OtelConfig>, ConfigError> {
    if get("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    for name in
        ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"]
    {
        if let Some(v) = get(name).filter(|v| !matches!(v.as_str(), "http/protobuf" | "http/json")) {
            return Err(ConfigError {
                variable: name,
                message: format!("`{v}` is not supported: use http/protobuf (the collector's port 4318) or http/json"),
            });
        }
    }
    let endpoint = |name: &'static str| -> Result<bool, ConfigError> {
        match get(name) {
            None => Ok(false),
            Some(v) => match url::Url::parse(&v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(true),
                _ => Err(err(name, format!("`{v}` is not an http:// or https:// URL"))),
            },
        }
    };
    let base = endpoint("OTEL_EXPORTER_OTLP_ENDPOINT")?;
    let traces = endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")? || base;
    let metrics = endpoint("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")? || base;
    if !traces && !metrics {
        return Ok(None);
    }
    let service_name = get("OTEL_SERVICE_NAME").unwrap_or_else(|| "nango-server".to_owned());
    Ok(Some(crate::telemetry::otel::OtelConfig { traces, metrics, service_name }))
}

fn parse_outbound_policy(v: &str) -> Result<OutboundPolicy, String> {
    let value: serde_json::Value = serde_json::from_str(v).map_err(|e| format!("is not valid JSON: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err("must be a JSON object such as {\"blockPrivateIps\":false}".to_owned());
    };
    let mut policy = OutboundPolicy::default();
    for (key, value) in map {
        match (key.as_str(), value) {
            ("blockPrivateIps", serde_json::Value::Bool(b)) => policy.block_private_ips = b,
            ("blockPrivateIps", _) => return Err("blockPrivateIps must be true or false".to_owned()),
            (other, _) => return Err(format!("unknown key `{other}` (known: blockPrivateIps)")),
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
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, 3003);
        assert_eq!(c.public_url, "http://localhost:3003");
        assert_eq!(c.connect_url, "http://localhost:3003/connect-ui/");
        assert_eq!(c.database, DatabaseConfig::DefaultSqlite);
        assert!(c.outbound_policy.block_private_ips);
        assert_eq!(c.body_limit, 75 * 1024 * 1024);
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (name, value) in [
            ("SERVER_PORT", "70000"),
            ("NANGO_ENCRYPTION_KEY", "c2hvcnQ="),
            ("NANGO_ENCRYPTION_KEY", "not base64!"),
            (
                "NANGO_ENCRYPTION_KEY_PREVIOUS",
                "comma-separated older encryption keys (base64) that still open existing data during a key rotation; see docs/key-rotation.md",
            ),
            ("NANGO_SECRET_KEY_DEV", "not-a-uuid"),
            ("NANGO_DATABASE_URL", "mysql://x"),
            ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIPs\":false}"),
            ("NANGO_SERVER_PUBLIC_BODY_LIMIT", "lots"),
            ("NANGO_LOG_FORMAT", "xml"),
            ("NANGO_DB_SSL", "yes"),
            ("NANGO_ENCRYPTION_KEY_PREVIOUS", "c2hvcnQ="),
        ] {
            let mut vars = vec![(name, value)];
            if name == "NANGO_DB_SSL" {
                vars.push(("NANGO_DB_HOST", "db"));
            }
            let e = config(&vars).unwrap_err();
            assert_eq!(e.variable, name, "{e}");
        }
    }

    #[test]
    fn parses_nango_style_values() {
        let c = config(&[
            ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}"),
            ("NANGO_SERVER_PUBLIC_BODY_LIMIT", "2mb"),
            ("NANGO_DB_HOST", "db.internal"),
            ("NANGO_DB_PASSWORD", "p@ss:word"),
            ("NANGO_SERVER_URL", "https://nango.example.com/"),
            ("NANGO_SECRET_KEY_DEV", "3E66FFB3-7D9F-46C8-9959-F8871D40B087"),
        ])
        .unwrap();
        assert!(!c.outbound_policy.block_private_ips);
        assert_eq!(c.body_limit, 2 * 1024 * 1024);
        assert_eq!(c.public_url, "https://nango.example.com");
        let DatabaseConfig::Url(url) = &c.database else { panic!("expected a URL") };
        assert_eq!(url.expose(), "postgres://nango:p%40ss%3Aword@db.internal:5432/nango?sslmode=prefer");
        assert!(!format!("{c:?}").contains("p%40ss"), "Debug must not print the database password");
        assert!(!format!("{c:?}").contains("3E66FFB3"), "Debug must not print secret keys");
    }

    #[test]
    fn uuid_v4_format() {
        assert!(is_uuid_v4("3e66ffb3-7d9f-46c8-9959-f8871d40b087"));
        assert!(!is_uuid_v4("3e66ffb3-7d9f-16c8-9959-f8871d40b087"));
        assert!(!is_uuid_v4("3e66ffb3-7d9f-46c8-1959-f8871d40b087"));
        assert!(!is_uuid_v4("not-a-uuid"));
    }
}
