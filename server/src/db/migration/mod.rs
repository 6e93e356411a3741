//! Portable migrations (one file each, schema builder only, so one migration serves SQLite
//! and PostgreSQL). Shipped migrations are never edited: add a new one.

// `async_trait` expands the trait with hidden lifetimes that an explicit `<'_>` would not match.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

mod m20261123_000001_create_environments;
mod m20261123_000002_create_integrations;
mod m20261123_000003_create_connections;
mod m20261123_000004_create_connect_sessions;
mod m20261123_000005_create_webhooks;
mod m20261123_000006_add_connection_auth_errors;
mod m20261123_000007_create_request_logs;
mod m20261129_000008_create_functions;
mod m20261129_000009_create_action_runs;
mod m20261129_000010_add_request_log_function;
mod m20261129_000011_create_syncs;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_environments::Migration),
            Box::new(m20261123_000002_create_integrations::Migration),
            Box::new(m20261123_000003_create_connections::Migration),
            Box::new(m20261123_000004_create_connect_sessions::Migration),
            Box::new(m20261123_000005_create_webhooks::Migration),
            Box::new(m20261123_000006_add_connection_auth_errors::Migration),
            Box::new(m20261123_000007_create_request_logs::Migration),
            Box::new(m20261129_000008_create_functions::Migration),
            Box::new(m20261129_000009_create_action_runs::Migration),
            Box::new(m20261129_000010_add_request_log_function::Migration),
            Box::new(m20261129_000011_create_syncs::Migration),
        ]
    }
}
