//! Per connection: the last successful and the last failed proxied call (deleted with the
//! connection, kept regardless of the log retention).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connection_activity")]
pub struct Model {
    /// `connections.id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub connection_row: i64,
    pub last_success_at_ms: Option<i64>,
    pub last_success_status: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_success_request_id: Option<String>,
    pub last_failure_at_ms: Option<i64>,
    pub last_failure_status: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_failure_request_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_failure_code: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::connection::Entity",
        from = "Column::ConnectionRow",
        to = "super::connection::Column::Id",
        on_delete = "Cascade"
    )]
    Connection,
}

impl ActiveModelBehavior for ActiveModel {}
