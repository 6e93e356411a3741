//! A problem a Slack alert was sent for and that has not recovered yet: one per (connection,
//! subject), so a problem that lasts is announced once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub environment_id: i64,
    pub connection_row: i64,
    /// `sync:<name>`, `action:<name>` or `auth`.
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    /// Milliseconds since the epoch.
    pub opened_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
