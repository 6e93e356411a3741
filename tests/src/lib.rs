#![allow(clippy::disallowed_methods)] // the harness reads TEST_DATABASE_URL and KEEP_TEST_DB

//! Test harness: starts the real server in-process on an ephemeral port, on a fresh SQLite
//! file (or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set), and hands out the
//! SDK client and a raw HTTP client. No sleeps: the listener is bound before the server task
//! starts, so the first request simply waits in the accept queue.

pub mod browser;
pub mod receiver;
pub mod upstream;

use std::{collections::HashMap, sync::Once};

use base64::Engine as _;
use nango_sdk::Nango;
use nango_server::{AppState, Config};
use sea_orm::{ConnectionTrait, Database};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

/// A running server and clients for it. Stops (and drops its PostgreSQL database) on drop.
pub struct TestServer {
    pub base_url: String,
    /// SDK client with the dev environment's key.
    pub sdk: Nango,
    /// Plain client (no default headers) for wire-level checks.
    pub http: reqwest::Client,
    pub dev_key: String,
    pub prod_key: String,
    pub state: AppState,
    pub data_dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    pg: Option<PgDatabase>,
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if std::env::var("KEEP_TEST_DB").is_ok_and(|v| v == "1") {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any runtime guarantee: use a private one on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(db) = Database::connect(&admin_url).await {
                    let _ = db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

static NOTICE: Once = Once::new();

/// The PostgreSQL server URL for tests, if any.
pub fn test_database_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|v| !v.is_empty())
}

/// Installs the process-wide TLS provider (ring), as `main` does.
pub fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn random_key() -> String {
    let bytes: Vec<u8> =
        uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn create_pg_database(url: &str) -> (String, PgDatabase) {
    let name = format!("nango_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(url).await.expect("connect to TEST_DATABASE_URL");
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
    let mut parsed = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    parsed.set_path(&format!("/{name}"));
    (parsed.to_string(), PgDatabase { admin_url: url.to_owned(), name })
}

/// A database that outlives servers (for restart and key-rotation tests): a SQLite file, or a
/// fresh PostgreSQL database when `TEST_DATABASE_URL` is set (dropped on drop).
pub struct TestDatabase {
    pub url: String,
    _dir: TempDir,
    _pg: Option<PgDatabase>,
}

impl TestDatabase {
    /// Creates an empty database.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match test_database_url() {
            Some(url) => {
                let (url, pg) = create_pg_database(&url).await;
                Self { url, _dir: dir, _pg: Some(pg) }
            }
            None => Self {
                url: format!("sqlite://{}?mode=rwc", dir.path().join("shared.db").display()),
                _dir: dir,
                _pg: None,
            },
        }
    }
}

/// One stored value: `table.column` and its bytes (see [`TestServer::stored_values`]).
#[derive(Debug)]
pub struct StoredValue {
    pub column: String,
    pub bytes: Vec<u8>,
}

/// Whether `haystack` holds any 16 consecutive characters of `secret` (ASCII case ignored;
/// the whole secret when shorter), or, for a UUID, its 16 bytes in binary: so a secret that
/// is stored truncated, re-cased or as a UUID column is still found.
pub fn holds_part_of(haystack: &[u8], secret: &str) -> bool {
    let haystack_lower = haystack.to_ascii_lowercase();
    let secret_lower = secret.to_ascii_lowercase();
    let window = secret_lower.len().min(16);
    let found = |hay: &[u8], needle: &[u8]| !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle);
    secret_lower.as_bytes().windows(window).any(|part| found(&haystack_lower, part))
        || uuid::Uuid::parse_str(secret).is_ok_and(|u| found(haystack, u.as_bytes()))
}

/// The SQLite database file of a server started with the default configuration, with its
/// write-ahead log when there is one. Panics when the database file itself is missing, so a
/// moved file cannot make a check pass on nothing.
pub fn sqlite_files(data_dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for (name, required) in [("nango.db", true), ("nango.db-wal", false)] {
        let path = data_dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => files.push((name.to_owned(), bytes)),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("cannot read {}: {e}", path.display()),
        }
    }
    let schema = |bytes: &[u8]| bytes.windows(12).any(|w| w == b"CREATE TABLE");
    assert!(files.iter().any(|(_, bytes)| schema(bytes)), "no schema in the SQLite files: not the database");
    files
}

/// A random encryption key, base64 (as `NANGO_ENCRYPTION_KEY` takes it).
pub fn new_encryption_key() -> String {
    random_key()
}

impl TestServer {
    /// Starts a server with the default test configuration.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts a server; `vars` override the test configuration (same names as the real
    /// environment variables).
    pub async fn start_with(vars: &[(&str, &str)]) -> Self {
        init_crypto();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let dev_key = uuid::Uuid::new_v4().to_string();
        let prod_key = uuid::Uuid::new_v4().to_string();
        let mut env: HashMap<String, String> = HashMap::from([
            ("NANGO_DATA_DIR".to_owned(), data_dir.path().display().to_string()),
            ("NANGO_SERVER_URL".to_owned(), base_url.clone()),
            ("NANGO_SECRET_KEY_DEV".to_owned(), dev_key.clone()),
            ("NANGO_SECRET_KEY_PROD".to_owned(), prod_key.clone()),
            ("NANGO_ENCRYPTION_KEY".to_owned(), random_key()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ]);
        let pg = match test_database_url() {
            Some(url) => {
                let (db_url, pg) = create_pg_database(&url).await;
                env.insert("NANGO_DATABASE_URL".to_owned(), db_url);
                Some(pg)
            }
            None => {
                NOTICE.call_once(|| {
                    eprintln!("TEST_DATABASE_URL is not set: tests run on SQLite only (PostgreSQL skipped)")
                });
                None
            }
        };
        for (k, v) in vars {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        // Overridden keys are the ones the clients must use.
        let dev_key = env.get("NANGO_SECRET_KEY_DEV").cloned().unwrap_or(dev_key);
        let prod_key = env.get("NANGO_SECRET_KEY_PROD").cloned().unwrap_or(prod_key);
        let config = Config::from_lookup(|name| env.get(name).cloned()).expect("valid test configuration");
        let state = nango_server::prepare(config).await.expect("server prepares");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(nango_server::run(state.clone(), listener, async move {
            let _ = rx.await;
        }));
        let sdk = Nango::new(&base_url, &dev_key).expect("sdk client");
        Self {
            base_url,
            sdk,
            http: reqwest::Client::new(),
            dev_key,
            prod_key,
            state,
            data_dir,
            shutdown: Some(tx),
            task: Some(task),
            pg,
        }
    }

    /// Whether this server runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// An SDK client with another key (e.g. the prod environment's).
    pub fn sdk_with_key(&self, key: &str) -> Nango {
        Nango::new(&self.base_url, key).expect("sdk client")
    }

    /// `base_url + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request with the dev key.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(&self.dev_key)
    }

    /// Sends `req` and returns the status and the JSON body (Null when the body is not JSON).
    pub async fn send(req: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    /// Every non-null value in every column of every table of the server's database, read
    /// through SQL: it sees what SQLite still holds in its write-ahead log, and works the same
    /// on PostgreSQL. For tests that a secret is never stored in the clear.
    pub async fn stored_values(&self) -> Vec<StoredValue> {
        let db = &self.state.ctx.db;
        let backend = db.get_database_backend();
        let query = |sql: String| db.query_all_raw(sea_orm::Statement::from_string(backend, sql));
        let columns: Vec<(String, String, bool)> = if self.is_postgres() {
            let rows = query(
                "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS d \
                 FROM information_schema.columns WHERE table_schema = current_schema()"
                    .to_owned(),
            )
            .await
            .expect("list columns");
            rows.iter()
                .map(|r| {
                    let d: String = r.try_get("", "d").unwrap();
                    (r.try_get("", "t").unwrap(), r.try_get("", "c").unwrap(), d == "bytea")
                })
                .collect()
        } else {
            let rows = query(
                "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table'"
                    .to_owned(),
            )
            .await
            .expect("list columns");
            rows.iter().map(|r| (r.try_get("", "t").unwrap(), r.try_get("", "c").unwrap(), false)).collect()
        };
        assert!(!columns.is_empty(), "no table found");
        let mut values = Vec::new();
        for (table, column, binary) in columns {
            // Text (and numbers, JSON, …) as its UTF-8 bytes, binary columns as they are.
            let expr = match (self.is_postgres(), binary) {
                (true, true) => format!("\"{column}\""),
                (true, false) => format!("convert_to(\"{column}\"::text, 'UTF8')"),
                (false, _) => format!("CAST(\"{column}\" AS BLOB)"),
            };
            let rows = query(format!("SELECT {expr} AS v FROM \"{table}\""))
                .await
                .unwrap_or_else(|e| panic!("read {table}.{column}: {e}"));
            for row in rows {
                let bytes: Option<Vec<u8>> =
                    row.try_get("", "v").unwrap_or_else(|e| panic!("read {table}.{column} as bytes: {e}"));
                if let Some(bytes) = bytes {
                    values.push(StoredValue { column: format!("{table}.{column}"), bytes });
                }
            }
        }
        values
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
