//! One API call or proxied call, kept for the configured retention. Never holds credentials,
//! secret keys, session tokens, query strings or bodies.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "request_logs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub environment_id: i64,
    #[sea_orm(column_type = "Text")]
    pub request_id: String,
    /// When the call finished, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// `api` or `proxy`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub operation: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub method: String,
    /// The request's path, without its query string.
    #[sea_orm(column_type = "Text")]
    pub path: String,
    /// The status this server answered.
    pub status: i32,
    pub duration_ms: f64,
    #[sea_orm(column_type = "Text", nullable)]
    pub integration: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub connection_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub upstream_host: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub upstream_path: Option<String>,
    pub upstream_status: Option<i32>,
    pub attempts: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error_code: Option<String>,
    /// JSON of `model::activity::FunctionCall` (calls that ran a function).
    #[sea_orm(column_type = "Text", nullable)]
    pub function: Option<String>,
    /// JSON of `model::activity::Dropped` on a marker row: call records of this environment
    /// the writer could not keep (queue full), how many and when.
    #[sea_orm(column_type = "Text", nullable)]
    pub dropped: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
