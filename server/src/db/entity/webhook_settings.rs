//! Where an environment's webhooks go and the key that signs them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub environment_id: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub primary_url: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub secondary_url: Option<String>,
    /// Sealed signing key, bound to the environment.
    pub signing_key: Vec<u8>,
    pub on_auth_creation: bool,
    pub on_auth_refresh_error: bool,
    pub updated_at: DateTimeUtc,
    /// Send `sync` webhooks after every successful run, not only when records changed.
    pub on_sync_completion_always: bool,
    /// Send a `sync` webhook (`success: false`) when a run fails.
    pub on_sync_error: bool,
    /// Sealed Slack incoming-webhook URL (alerts), bound to the environment.
    pub slack_url: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
