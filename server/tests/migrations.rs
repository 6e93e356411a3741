//! Migrations are tested like code: up from empty, down to empty and up again, the schema they
//! produce matches the entities, and a database migrated by a newer server is refused. On
//! SQLite always; on PostgreSQL too when `TEST_DATABASE_URL` is set.

#![allow(clippy::disallowed_methods)] // reads TEST_DATABASE_URL

use nango_server::db::{
    self,
    entity::{
        action_run, connect_session, connection, environment, function, integration, vault, webhook_outbox,
        webhook_settings,
    },
    migration::Migrator,
};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, DatabaseBackend, EntityTrait, Iterable, Statement};
use sea_orm_migration::MigratorTrait;

/// Runs `check` on a fresh SQLite database, then on a fresh PostgreSQL database if configured.
async fn on_each_backend<F, Fut>(check: F)
where
    F: Fn(db::Db) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()), 4).await.unwrap();
    check(sqlite).await;
    match std::env::var("TEST_DATABASE_URL").ok().filter(|v| !v.is_empty()) {
        None => eprintln!("TEST_DATABASE_URL is not set: PostgreSQL migration checks skipped"),
        Some(url) => {
            let name = format!("nango_mig_{}", uuid_like());
            let admin = Database::connect(&url).await.unwrap();
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
            let mut parsed = url::Url::parse(&url).unwrap();
            parsed.set_path(&format!("/{name}"));
            let pg = db::connect(parsed.as_str(), 4).await.unwrap();
            check(pg.clone()).await;
            drop(pg);
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
        }
    }
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{nanos:x}{}", std::process::id())
}

async fn columns(db: &db::Db, table: &str) -> Vec<(String, bool)> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Sqlite => {
            format!("SELECT name, \"notnull\" = 0 AS nullable FROM pragma_table_info('{table}') ORDER BY cid")
        }
        _ => format!(
            "SELECT column_name AS name, is_nullable = 'YES' AS nullable FROM information_schema.columns \
             WHERE table_name = '{table}' AND table_schema = current_schema() ORDER BY ordinal_position"
        ),
    };
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await.unwrap();
    rows.iter()
        .map(|r| (r.try_get::<String>("", "name").unwrap(), r.try_get::<bool>("", "nullable").unwrap()))
        .collect()
}

fn entity_columns<E: EntityTrait>() -> Vec<(String, bool)> {
    E::Column::iter().map(|c| (sea_orm::IdenStatic::as_str(&c).to_owned(), c.def().is_null())).collect()
}

#[tokio::test]
async fn migrations_match_the_entities_go_down_and_up_again_and_refuse_unknown_versions() {
    on_each_backend(|db| async move {
        db::migrate(&db).await.expect("up from empty");
        db::migrate(&db).await.expect("up again is a no-op");
        assert_eq!(columns(&db, "environments").await, entity_columns::<environment::Entity>());
        assert_eq!(columns(&db, "integrations").await, entity_columns::<integration::Entity>());
        assert_eq!(columns(&db, "connections").await, entity_columns::<connection::Entity>());
        assert_eq!(columns(&db, "vault").await, entity_columns::<vault::Entity>());
        assert_eq!(columns(&db, "connect_sessions").await, entity_columns::<connect_session::Entity>());
        assert_eq!(columns(&db, "webhook_settings").await, entity_columns::<webhook_settings::Entity>());
        assert_eq!(columns(&db, "webhook_outbox").await, entity_columns::<webhook_outbox::Entity>());
        assert_eq!(columns(&db, "functions").await, entity_columns::<function::Entity>());
        assert_eq!(columns(&db, "action_runs").await, entity_columns::<action_run::Entity>());

        Migrator::down(&db, None).await.expect("down to empty");
        assert!(columns(&db, "integrations").await.is_empty());
        db::migrate(&db).await.expect("up after down");
        assert_eq!(columns(&db, "integrations").await, entity_columns::<integration::Entity>());

        // A migration this binary does not know (applied by a newer server) is refused.
        db.execute_unprepared(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000000_from_the_future', 0)",
        )
        .await
        .unwrap();
        let err = db::migrate(&db).await.unwrap_err();
        assert!(err.to_string().contains("m20991231_000000_from_the_future"), "{err}");
    })
    .await;
}
