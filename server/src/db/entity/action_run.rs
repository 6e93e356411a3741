//! An asynchronous action run: queued, running (leased), or finished with its outcome.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "action_runs")]
pub struct Model {
    /// A UUID (the `id` of `GET /action/{id}`).
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub id: String,
    pub environment_id: i64,
    #[sea_orm(column_type = "Text")]
    pub provider_config_key: String,
    #[sea_orm(column_type = "Text")]
    pub connection_id: String,
    #[sea_orm(column_type = "Text")]
    pub action_name: String,
    /// JSON of the input.
    #[sea_orm(column_type = "Text")]
    pub input: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub attempts: i32,
    pub max_retries: i32,
    /// A replica running it holds it until then.
    pub lease_until: Option<DateTimeUtc>,
    /// JSON of `model::function::RunOutcome` once finished.
    #[sea_orm(column_type = "Text", nullable)]
    pub outcome: Option<String>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
