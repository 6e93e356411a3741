//! The schedule of one deployed sync for one connection, and its state between runs. Times
//! are milliseconds since the epoch.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_schedules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub environment_id: i64,
    pub integration_id: i64,
    /// `connections.id`: deleting the connection deletes its schedules.
    pub connection_row: i64,
    #[sea_orm(column_type = "Text")]
    pub sync_name: String,
    /// `STARTED` or `PAUSED`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    /// The connection's own frequency (`PUT /sync/update-connection-frequency`); `None`: the
    /// sync's.
    #[sea_orm(column_type = "Text", nullable)]
    pub frequency: Option<String>,
    /// When the next scheduled run is due (`None` while paused).
    pub next_run_at: Option<i64>,
    /// A run asked for by `POST /sync/trigger`, pending: `run`, `full` or `full_clear`.
    #[sea_orm(column_type = "Text", nullable)]
    pub trigger: Option<String>,
    /// Counts claims: a replica takes the row with a conditional update on it, so of two
    /// replicas that read the same row only one wins.
    pub claims: i64,
    /// Set while a replica runs the sync: it holds the row until then (renewed by its
    /// heartbeat); an expired lease is taken over.
    pub lease_until: Option<i64>,
    pub run_started_at: Option<i64>,
    /// Start of the last successful run (`nango.lastSyncDate`); `None`: the next run is initial.
    pub last_sync_date: Option<i64>,
    /// JSON object (`nango.saveCheckpoint`).
    #[sea_orm(column_type = "Text", nullable)]
    pub checkpoint: Option<String>,
    /// `SUCCESS` or `ERROR`.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_status: Option<String>,
    /// `INITIAL` or `INCREMENTAL`.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_type: Option<String>,
    pub last_finished_at: Option<i64>,
    /// JSON `{Model: {added, updated, deleted}}` of the last run.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_result: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
