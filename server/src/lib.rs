//! Nango-compatible API server.
//!
//! [`prepare`] turns a [`Config`] into an [`AppState`] (data directory, keys, database,
//! migrations, catalog, environments); [`app`] builds the HTTP endpoint; [`run`] serves it on
//! an already-bound listener until a shutdown future resolves. `main.rs` only wires these.

pub mod api;
pub mod backoff;
pub mod chain;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod model;
pub mod outbound;
pub mod ratelimit;
pub mod request_id;
pub mod runtime;
pub mod service;
pub mod telemetry;

use std::{future::Future, path::Path, sync::Arc, time::Duration};

use base64::Engine as _;
use poem::{
    EndpointExt, IntoResponse, Route, get, handler,
    middleware::{CatchPanic, Cors},
};

pub use config::Config;
use config::DatabaseConfig;
use crypto::{Cipher, EncryptionKey};
use error::{ApiError, Code};
use service::{Context, environment::Provisioned, provider::Catalog};

/// Shared state of a running server, reachable from handlers as `Data<&AppState>`.
#[derive(Debug, Clone)]
pub struct AppState {
    pub ctx: Context,
    pub config: Arc<Config>,
    /// The API rate limit of this replica.
    pub limiter: Arc<ratelimit::Limiter>,
}

/// Why the server could not start. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot use the data directory {path}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Key(String),
    #[error("cannot connect to the database")]
    Connect(#[source] sea_orm::DbErr),
    #[error("cannot migrate the database")]
    Migrate(#[from] db::MigrateError),
    #[error("cannot load the provider catalog")]
    Catalog(#[from] service::provider::CatalogError),
    #[error("cannot provision the environments")]
    Environments(#[source] service::Error),
}

const ENCRYPTION_KEY_FILE: &str = "encryption.key";

/// Path of the file holding the generated secret key of environment `env`.
pub fn secret_key_file(data_dir: &Path, env: &str) -> std::path::PathBuf {
    data_dir.join(format!("secret-key-{env}"))
}

/// Creates the data directory readable only by its owner (0700 on Unix) when it is missing.
fn ensure_data_dir(dir: &Path) -> Result<(), StartupError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| StartupError::DataDir { path: dir.display().to_string(), source })
}

/// Creates the SQLite file empty and readable only by its owner (0600 on Unix) when it is
/// missing, so the database, its WAL and shared-memory files (SQLite gives them the
/// database's mode) never exist world-readable.
fn ensure_private_file(path: &Path) -> Result<(), StartupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(|_| ()).map_err(|source| StartupError::DataDir { path: path.display().to_string(), source })
}

/// Writes a file readable only by its owner (0600 on Unix), refusing to overwrite.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// The configured encryption key, or the one generated into the data directory on first
/// start (embedded SQLite only: several replicas on PostgreSQL must share one key).
fn encryption_key(config: &Config) -> Result<EncryptionKey, StartupError> {
    if let Some(key) = &config.encryption_key {
        return Ok(key.clone());
    }
    if config.is_postgres() {
        return Err(StartupError::Key(
            "NANGO_ENCRYPTION_KEY is required with PostgreSQL (all replicas must share it); \
             generate one with: openssl rand -base64 32"
                .to_owned(),
        ));
    }
    ensure_data_dir(&config.data_dir)?;
    let path = config.data_dir.join(ENCRYPTION_KEY_FILE);
    let io = |source| StartupError::DataDir { path: path.display().to_string(), source };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| StartupError::Key(format!("{} is not valid base64", path.display())))?;
            EncryptionKey::from_bytes(&bytes).map_err(|e| StartupError::Key(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = EncryptionKey::generate();
            write_private(&path, &base64::engine::general_purpose::STANDARD.encode(key.expose_bytes())).map_err(io)?;
            tracing::warn!(
                path = %path.display(),
                "generated an encryption key for secrets at rest; set NANGO_ENCRYPTION_KEY in production and keep it safe"
            );
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

fn database_url(config: &Config) -> Result<String, StartupError> {
    match &config.database {
        DatabaseConfig::Url(url) => Ok(url.expose().clone()),
        DatabaseConfig::DefaultSqlite => {
            ensure_data_dir(&config.data_dir)?;
            let file = config.data_dir.join("nango.db");
            ensure_private_file(&file)?;
            Ok(format!("sqlite://{}?mode=rwc", file.display()))
        }
    }
}

/// Opens the database without migrating (for the `migrate` subcommand).
pub async fn connect(config: &Config) -> Result<db::Db, StartupError> {
    db::connect(&database_url(config)?, config.db_pool_max).await.map_err(StartupError::Connect)
}

/// Prepares everything the server needs, migrating the database first.
pub async fn prepare(config: Config) -> Result<AppState, StartupError> {
    let cipher = Cipher::new(encryption_key(&config)?, config.previous_encryption_keys.clone());
    let catalog = Catalog::load(config.providers_file.as_deref())?;
    let db = connect(&config).await?;
    db::migrate(&db).await?;
    db::repo::vault::check(&db, &cipher).await.map_err(|e| StartupError::Key(e.to_string()))?;
    let http = outbound::Client::new(config.outbound_policy, Duration::from_secs(10).min(config.proxy_timeout))
        .map_err(|e| StartupError::Key(format!("cannot build the outbound HTTP client: {e}")))?;
    let ctx = Context {
        db,
        cipher,
        catalog,
        public_url: config.public_url.clone(),
        connect_url: config.connect_url.clone(),
        http,
        proxy: service::ProxySettings { timeout: config.proxy_timeout, max_retry_wait: config.proxy_max_retry_wait },
        targets: Arc::new(service::credentials::TargetCache::new(config.proxy_cache_ttl)),
        keys: Arc::new(service::environment::KeyCache::new(config.proxy_cache_ttl)),
        turns: Arc::default(),
        webhooks: Arc::new(service::webhook::Webhooks::new(service::webhook::DeliverySettings {
            retry_delay: config.webhook_retry_delay,
            max_attempts: config.webhook_max_attempts,
            timeout: config.webhook_timeout,
        })),
        activity: Arc::new(service::activity::Activity::new(config.log_retention, config.log_queue)),
        runtime: Arc::new(start_runtime(&config)?),
        action_timeout: config.action_timeout,
        actions: Arc::default(),
        syncs: Arc::new(service::sync::Shared::new(service::sync::Settings {
            timeout: config.sync_timeout,
            lease: config.sync_lease,
            validation: config.record_validation.clone(),
        })),
        metrics: Arc::default(),
        alive: Arc::new(tokio::sync::watch::Sender::new(())),
    };
    provision_environments(&ctx, &config).await?;
    // Schedules missing for a (sync, connection) pair (a crash between writes of an older
    // version) are created; those of removed syncs go.
    db::repo::sync::reconcile(&ctx.db, None, None, chrono::Utc::now().timestamp_millis())
        .await
        .map_err(|e| StartupError::Key(format!("cannot reconcile the sync schedules: {e}")))?;
    let limiter = Arc::new(ratelimit::Limiter::new(config.rate_limit));
    Ok(AppState { ctx, config: Arc::new(config), limiter })
}

/// The functions runtime's worker threads; host calls run on this (the server's) runtime.
fn start_runtime(config: &Config) -> Result<runtime::Pool, StartupError> {
    let mut settings = runtime::Settings::defaults();
    if let Some(n) = config.function_workers {
        settings.workers = n;
    }
    settings.memory_limit = config.function_memory;
    settings.max_output = config.function_max_output;
    runtime::Pool::start(settings, tokio::runtime::Handle::current())
        .map_err(|source| StartupError::DataDir { path: "function worker threads".to_owned(), source })
}

async fn provision_environments(ctx: &Context, config: &Config) -> Result<(), StartupError> {
    for (name, key, create) in
        [("dev", config.secret_key_dev.as_ref(), true), ("prod", config.secret_key_prod.as_ref(), false)]
    {
        let outcome = service::environment::ensure(ctx, name, key.map(|k| k.expose().as_str()), create)
            .await
            .map_err(StartupError::Environments)?;
        let webhooks = if name == "dev" { &config.webhooks_dev } else { &config.webhooks_prod };
        if let Some(env) = service::environment::find(ctx, name).await.map_err(StartupError::Environments)? {
            service::webhook::configure(
                ctx,
                &env,
                webhooks.primary_url.as_deref(),
                webhooks.secondary_url.as_deref(),
                webhooks.signing_key.as_ref().map(|k| k.expose().as_str()),
                webhooks.slack_url.as_ref().map(|k| k.expose().as_str()),
            )
            .await
            .map_err(StartupError::Environments)?;
        }
        if let Some(Provisioned::Generated { secret }) = outcome {
            ensure_data_dir(&config.data_dir)?;
            let path = secret_key_file(&config.data_dir, name);
            // A file left by an earlier database is stale: replace it.
            let _ = std::fs::remove_file(&path);
            write_private(&path, &format!("{secret}\n"))
                .map_err(|source| StartupError::DataDir { path: path.display().to_string(), source })?;
            tracing::warn!(
                environment = name,
                "generated the secret key of the `{name}` environment; read it with: cat {}",
                path.display()
            );
        }
    }
    Ok(())
}

/// Re-seals every stored secret under the primary key and re-hashes the environments' secret
/// keys that this process knows (configured, or generated into `data_dir`).
pub async fn rotate_keys(state: &AppState, data_dir: &Path) -> Result<db::repo::vault::RotationReport, StartupError> {
    let report = db::repo::vault::rotate(&state.ctx.db, &state.ctx.cipher)
        .await
        .map_err(|e| StartupError::Key(format!("key rotation failed: {}", error::ErrorChain(&e))))?;
    for env in ["dev", "prod"] {
        if let Ok(text) = std::fs::read_to_string(secret_key_file(data_dir, env)) {
            let exists = db::repo::environment::find_by_name(&state.ctx.db, env).await.ok().flatten().is_some();
            if exists && config::is_uuid_v4(text.trim()) {
                service::environment::ensure(&state.ctx, env, Some(text.trim()), false)
                    .await
                    .map_err(StartupError::Environments)?;
            }
        }
    }
    let pending = db::repo::vault::pending(&state.ctx.db, &state.ctx.cipher)
        .await
        .map_err(|e| StartupError::Key(format!("cannot verify the rotation: {}", error::ErrorChain(&e))))?;
    if pending > 0 {
        return Err(StartupError::Key(format!(
            "{pending} values are still sealed with an older key (written concurrently?); run rotate-key again"
        )));
    }
    Ok(report)
}

/// A neutral logo for every provider (the catalog ships no images; clients only need the URL
/// to resolve).
#[handler]
fn logo() -> impl IntoResponse {
    const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="#64748b"/><path d="M20 24h24M20 32h24M20 40h16" stroke="#fff" stroke-width="4" stroke-linecap="round"/></svg>"##;
    SVG.with_content_type("image/svg+xml").with_header("cache-control", "public, max-age=86400")
}

/// The Connect UI: one self-contained page (no external assets), embedded in the binary.
/// Framing is allowed (apps embed it), scripts and styles only inline, requests only to this
/// server.
#[handler]
fn connect_ui() -> impl IntoResponse {
    const PAGE: &str = include_str!("api/connect_ui.html");
    const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors *";
    PAGE.with_content_type("text/html; charset=utf-8")
        .with_header("content-security-policy", CSP)
        .with_header("cache-control", "no-store")
        .with_header("referrer-policy", "no-referrer")
}

/// The OpenAPI document as served: rendered on first use, not at start (rendering passes
/// through about 2.5 MB of transient JSON values, which would otherwise stay in the start-up
/// thread's heap in every replica), then shared, not copied per request.
#[derive(Clone, Default)]
struct Document(Arc<std::sync::OnceLock<bytes::Bytes>>);

impl Document {
    fn bytes(&self) -> bytes::Bytes {
        self.0.get_or_init(|| bytes::Bytes::from(api::spec_json().into_bytes().into_boxed_slice())).clone()
    }
}

/// The API reference page (Redoc, from poem-openapi), showing the document `/openapi.json`
/// serves. Built for each request and dropped after: the page is over 2 MB (Redoc's script
/// and the document inline), rarely viewed, and not worth keeping in every replica's memory.
async fn reference(document: Document) -> poem::Response {
    // One page at a time: a build holds a few MB for a few ms, and this route takes no key
    // (so no rate limit); concurrent viewers wait their turn instead of multiplying that.
    static BUILDING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    let _permit = BUILDING.acquire().await;
    let api = api::openapi_service();
    let served = document.bytes();
    // poem-openapi inlines its own rendering of the document; show the served one instead
    // (with its examples, enums and nullable references).
    let page = api.redoc_html().replacen(&api.spec(), &String::from_utf8_lossy(&served), 1);
    page.with_content_type("text/html; charset=utf-8").with_header("cache-control", "no-cache").into_response()
}

/// The HTTP application: the documented API, the document itself (`/openapi.json`), the API
/// reference page (`/docs`), `/health`, under the request guard.
pub fn app(state: AppState) -> impl poem::Endpoint {
    let api = api::openapi_service();
    let document = Document::default();
    let (page_document, slash_document) = (document.clone(), document.clone());
    let guard = api::guard::Guard {
        body_limit: state.config.body_limit,
        metadata_body_limit: state.config.metadata_body_limit,
        body_timeout: state.config.request_body_timeout,
        activity: state.ctx.activity.clone(),
        metrics: state.ctx.metrics.clone(),
    };
    Route::new()
        .at("/health", get(api::ops::health))
        .at("/ready", get(api::ops::ready))
        .at("/metrics", get(api::ops::metrics))
        .at(
            "/openapi.json",
            get(poem::endpoint::make_sync(move |_| {
                poem::Body::from_bytes(document.bytes()).with_content_type("application/json")
            })),
        )
        .at("/docs", get(poem::endpoint::make(move |_| reference(page_document.clone()))))
        .at("/docs/", get(poem::endpoint::make(move |_| reference(slash_document.clone()))))
        .at("/images/template-logos/:name", get(logo))
        .at("/connect-ui", get(connect_ui))
        .at("/connect-ui/", get(connect_ui))
        .nest("/dashboard", api::dashboard::routes())
        .at("/proxy", api::proxy::handler)
        .at("/proxy/*anyPath", api::proxy::handler)
        .nest("/", api)
        .with(CatchPanic::new().with_handler(|_| ApiError::code(Code::ServerError).into_response()))
        .data(state)
        .with(guard)
        .with(
            Cors::new()
                .max_age(600)
                .allow_headers([
                    "Authorization",
                    "Content-Type",
                    "Accept",
                    "Origin",
                    "X-Requested-With",
                    "Provider-Config-Key",
                    "Connection-Id",
                ])
                .expose_headers(["Authorization", "Etag", "Content-Type", "Content-Length", "X-Nango-Signature"]),
        )
}

/// Serves `state` on `listener` until `shutdown` resolves: then stops accepting, lets
/// in-flight requests and streams finish for up to `NANGO_SHUTDOWN_TIMEOUT_MS`, and only then
/// stops the background workers, so the webhook deliveries and call records of the last
/// requests are sent or stored (a delivery in progress is finished, never cut; undelivered
/// ones stay queued for the next start).
pub async fn run(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let (stop_workers, workers_stop) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let webhooks = tokio::spawn(service::webhook::run_worker(
        state.ctx.clone(),
        state.config.webhook_poll,
        stopped(workers_stop.clone()),
    ));
    let actions = tokio::spawn(service::action::run_worker(
        state.ctx.clone(),
        state.config.webhook_poll,
        stopped(workers_stop.clone()),
    ));
    let syncs = tokio::spawn(service::sync::run_worker(
        state.ctx.clone(),
        state.config.webhook_poll,
        stopped(workers_stop.clone()),
    ));
    let activity = tokio::spawn(service::activity::run_writer(state.ctx.clone(), stopped(workers_stop)));
    let drain = state.config.shutdown_timeout;
    let served = api::serve::serve(state, listener, shutdown, drain).await;
    let _ = stop_workers.send(true);
    let _ = actions.await;
    let _ = syncs.await;
    let _ = webhooks.await;
    let _ = activity.await;
    served
}
