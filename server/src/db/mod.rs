//! Persistence: sea-orm entities, migrations and the repositories that are the only code
//! allowed to issue queries. Nothing here knows about HTTP.

pub mod entity;
pub mod migration;
pub mod repo;

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, SqlErr};
use sea_orm_migration::MigratorTrait;

pub use sea_orm::DatabaseConnection as Db;

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The row would break a uniqueness rule (for example a duplicate integration key).
    #[error("unique constraint violated")]
    Conflict(#[source] DbErr),
    /// Any other database failure.
    #[error("database error")]
    Db(#[from] DbErr),
    /// A sealed column could not be opened or sealed.
    #[error("sealed column")]
    Crypto(#[from] crate::crypto::Error),
    /// A stored JSON column could not be decoded.
    #[error("stored JSON column is invalid")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// Classifies a `DbErr` so that unique violations become [`Error::Conflict`] on both backends.
    pub fn classify(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(err),
            _ => Self::Db(err),
        }
    }
}

/// Opens the pool for `url` (`sqlite:` or `postgres:`). SQLite gets a small pool (at most 4:
/// one writer at a time anyway, and each connection is a thread with its own page cache,
/// about 1.5 MB of memory under load) and WAL so readers do not queue behind a writer;
/// sea-orm would otherwise cap it at one connection.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    let is_sqlite = url.starts_with("sqlite:");
    opts.max_connections(if is_sqlite { max_connections.min(4) } else { max_connections })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if is_sqlite {
        // WAL lets readers proceed during a write; writers wait (busy timeout) instead of failing
        // with SQLITE_BUSY. sqlx enables foreign keys on every connection by default.
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal).busy_timeout(Duration::from_secs(10))
        });
    }
    Database::connect(opts).await
}

/// Applies every pending migration. Refuses a database migrated by a newer version of the
/// server (a migration this binary does not know), so an old replica cannot corrupt it.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), MigrateError> {
    check_known_migrations(db).await?;
    migration::Migrator::up(db, None).await?;
    Ok(())
}

/// Fails when the database has migrations applied that this binary does not know.
pub async fn check_known_migrations(db: &DatabaseConnection) -> Result<(), MigrateError> {
    use sea_orm::EntityTrait;
    use sea_orm_migration::{SchemaManager, seaql_migrations};
    if !SchemaManager::new(db).has_table("seaql_migrations").await? {
        return Ok(()); // a fresh database
    }
    let known: Vec<String> = migration::Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    for applied in seaql_migrations::Entity::find().all(db).await? {
        if !known.contains(&applied.version) {
            return Err(MigrateError::Unknown(applied.version));
        }
    }
    Ok(())
}

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The database was migrated by a newer server.
    #[error(
        "the database has migration `{0}` applied, which this server version does not know; \
         run a newer nango-server against this database"
    )]
    Unknown(String),
    /// A migration failed.
    #[error("migration failed")]
    Db(#[from] DbErr),
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// `(open, idle)` connections of the pool.
pub fn pool_stats(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    }
}

/// The database's name in OpenTelemetry's vocabulary (`db.system.name`).
pub fn system_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "postgresql",
        sea_orm::DbBackend::Sqlite => "sqlite",
        _ => "other_sql",
    }
}

/// A client span around one database call (exported only when tracing export is on).
pub fn span(db: &DatabaseConnection, operation: &'static str) -> tracing::Span {
    tracing::info_span!(
        "db",
        otel.name = operation,
        otel.kind = "client",
        db.system.name = system_name(db),
        db.operation.name = operation
    )
}

// Row ids go into queries as their integer (`Column::EnvironmentId.eq(env)`); entities keep
// `i64` columns, and repositories wrap what they read.
impl From<crate::model::id::EnvironmentId> for sea_orm::Value {
    fn from(id: crate::model::id::EnvironmentId) -> Self {
        id.0.into()
    }
}

impl From<crate::model::id::IntegrationId> for sea_orm::Value {
    fn from(id: crate::model::id::IntegrationId) -> Self {
        id.0.into()
    }
}
