//! A connect session: lets an end user create (or reconnect) a connection through the
//! Connect UI until it expires.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connect_sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub environment_id: i64,
    /// Keyed hash of the token (the token itself is never stored).
    pub token_hash: Vec<u8>,
    /// JSON of the session's settings (end user, allowed integrations, defaults, tags, …).
    #[sea_orm(column_type = "Text")]
    pub settings: String,
    /// For reconnect sessions: the integration key and connection id being reconnected.
    #[sea_orm(column_type = "Text", nullable)]
    pub reconnect_integration: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub reconnect_connection_id: Option<String>,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
