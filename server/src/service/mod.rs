//! Business operations, one module per resource. No web types here: handlers convert wire
//! types to the domain types below and map [`Error`] through `crate::error`.

pub mod action;
pub mod activity;
pub mod alert;
pub mod connect;
pub mod connection;
pub mod credentials;
pub mod dashboard;
pub mod environment;
pub mod forward;
pub mod function;
pub mod health;
pub mod integration;
pub mod integration_config;
pub mod provider;
pub mod queue;
pub mod records;
pub mod sync;
pub mod template;
pub mod webhook;

use std::{sync::Arc, time::Duration};

use crate::{crypto::Cipher, db, outbound};

/// One refused value: a zod-like issue code, a message and where the value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: &'static str,
    pub message: String,
    pub path: Vec<String>,
}

/// Everything a service operation needs, cheap to clone.
#[derive(Debug, Clone)]
pub struct Context {
    pub db: db::Db,
    pub cipher: Cipher,
    pub catalog: provider::Catalog,
    /// Public base URL of this server (logos, webhook URLs), without a trailing slash.
    pub public_url: String,
    /// Where the Connect UI is served (connect links point here), with a trailing slash.
    pub connect_url: String,
    /// The outbound HTTP client (with the outbound policy) every service sends through.
    pub http: outbound::Client,
    /// Timeouts and retry bounds of proxied calls.
    pub proxy: ProxySettings,
    /// Resolved proxy targets of this replica.
    pub targets: Arc<credentials::TargetCache>,
    /// Secret-key lookups of this replica.
    pub keys: Arc<environment::KeyCache>,
    /// Per-replica turns for read-modify-write updates.
    pub turns: Arc<Turns>,
    /// Webhook delivery settings and the worker's wake-up.
    pub webhooks: webhook::Shared,
    /// The call-history queue (request logs, connection activity).
    pub activity: Arc<activity::Activity>,
    /// The functions runtime (worker threads running deployed bundles).
    pub runtime: Arc<crate::runtime::Pool>,
    /// Wakes the async-action worker.
    pub actions: Arc<action::Queue>,
    /// Longest an action may run (Nango: 15 minutes).
    pub action_timeout: Duration,
    /// The sync scheduler's settings and wake-up.
    pub syncs: Arc<sync::Shared>,
    /// Counters and histograms of this replica (`/metrics`).
    pub metrics: Arc<crate::telemetry::Metrics>,
    /// Closed when the last clone of this context is dropped: the serving threads' runtimes
    /// drive the connections opened on them (database, outbound) until then.
    pub alive: Arc<tokio::sync::watch::Sender<()>>,
}

/// Proxy settings, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct ProxySettings {
    /// Longest wait for the upstream's response headers (504 after it).
    pub timeout: Duration,
    /// Longest total wait between retries of one request.
    pub max_retry_wait: Duration,
}

/// A fixed set of locks chosen by hashing a resource: read-modify-write updates of one
/// resource on this replica take turns instead of racing (and retrying); unrelated resources
/// rarely share a lock. Writers on other replicas are covered by optimistic concurrency.
#[derive(Debug)]
pub struct Turns([tokio::sync::Mutex<()>; 64]);

impl Default for Turns {
    fn default() -> Self {
        Self(std::array::from_fn(|_| tokio::sync::Mutex::new(())))
    }
}

impl Turns {
    /// Waits for the turn of `resource` on this replica; the turn ends when the guard drops.
    pub async fn take(&self, resource: impl std::hash::Hash) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let hash = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(resource);
        self.0[(hash % self.0.len() as u64) as usize].lock().await
    }
}

/// Semantic errors of the service layer; `crate::error` maps each to a status and code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A business rule refused the input (`invalid_body` with a message).
    #[error("{0}")]
    InvalidInput(String),
    /// One field was refused (`invalid_body` with one issue at `path`).
    #[error("{message}")]
    InvalidField { message: String, path: Vec<String> },
    /// A rule that is not about one value's format was broken at `path` (`invalid_body` with
    /// one `custom` issue, e.g. a named integration does not exist).
    #[error("{message}")]
    CustomIssue { message: String, path: Vec<String> },
    /// Several values were refused (`invalid_body` with one issue each).
    #[error("invalid fields")]
    Issues(Vec<Issue>),
    /// The provider's auth mode is not one this server implements (400
    /// `unsupported_auth_mode`).
    #[error("{0}")]
    UnsupportedAuthMode(String),
    /// The resource does not exist in this environment.
    #[error("{0}")]
    NotFound(String),
    /// The integration named by `provider_config_key` does not exist (Nango: 400
    /// `unknown_provider_config`).
    #[error("{0}")]
    UnknownIntegration(String),
    /// The connection does not exist: Nango answers 400 without a message on delete, 404 with
    /// one on metadata updates.
    #[error("unknown connection")]
    UnknownConnection(Option<String>),
    /// The provider's verification request refused the credential (`connection_test_failed`).
    #[error("credentials refused")]
    ConnectionTestFailed,
    /// A connect session may not use this integration (`integration_not_allowed`).
    #[error("integration not allowed")]
    IntegrationNotAllowed,
    /// The integration's provider does not take this kind of credential (`invalid_auth_mode`).
    #[error("invalid auth mode")]
    InvalidAuthMode,
    /// The integration named in a Connect UI submission does not exist (404
    /// `unknown_provider_config`, no message).
    #[error("unknown integration")]
    ConnectUnknownIntegration,
    /// The connection an action is triggered for does not exist (400 `unknown_connection`,
    /// "Failed to find connection").
    #[error("unknown connection")]
    ActionUnknownConnection,
    /// The integration's provider is not in the catalog (400 `unknown_provider`).
    #[error("unknown provider")]
    UnknownProvider,
    /// The function is disabled (404 `disabled_resource`).
    #[error("disabled")]
    DisabledResource,
    /// The proxy's integration does not exist (Nango: 404 `unknown_provider_config`).
    #[error("unknown integration")]
    ProxyUnknownIntegration,
    /// The proxy's connection does not exist (Nango: 400 `server_error`).
    #[error("unknown connection")]
    ProxyUnknownConnection,
    /// The proxied path climbs above the base URL's path with `..` segments.
    #[error("the path climbs above the base URL")]
    ProxyPathEscapes,
    /// A sync control call names a connection that does not exist (Nango: 404
    /// `unknown_connection`).
    #[error("unknown connection")]
    SyncUnknownConnection,
    /// No deployed sync matches (Nango: 400 `no_syncs_found`).
    #[error("no syncs found")]
    NoSyncsFound,
    /// The connection has no such sync (Nango: 400 `unknown_sync`).
    #[error("unknown sync")]
    UnknownSync,
    /// Neither the integration, the provider nor `Base-Url-Override` gives a base URL.
    #[error("no base URL")]
    ProxyNoBaseUrl,
    /// The outbound policy refused the destination.
    #[error("destination not allowed")]
    OutboundBlocked,
    /// The upstream did not answer in time.
    #[error("upstream timeout")]
    UpstreamTimeout,
    /// The upstream could not be reached.
    #[error("upstream unreachable")]
    UpstreamUnreachable,
    /// Anything unexpected; `message` is safe to show, `source` is only logged.
    #[error("{message}")]
    Internal {
        message: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Wraps an unexpected failure under an operation-level message.
    pub fn internal(message: &'static str) -> impl FnOnce(db::Error) -> Self {
        move |source| Self::Internal { message, source: Box::new(source) }
    }
}
