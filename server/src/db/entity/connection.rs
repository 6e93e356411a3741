//! A connection: one customer's credentials for one integration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub environment_id: i64,
    pub integration_id: i64,
    #[sea_orm(column_type = "Text")]
    pub connection_id: String,
    /// Sealed JSON of the credentials, bound to (environment, integration id, connection id).
    pub credentials: Vec<u8>,
    /// JSON object.
    #[sea_orm(column_type = "Text")]
    pub connection_config: String,
    /// JSON object, or NULL when never set.
    #[sea_orm(column_type = "Text", nullable)]
    pub metadata: Option<String>,
    /// JSON object of string values (keys lower-cased).
    #[sea_orm(column_type = "Text")]
    pub tags: String,
    /// JSON of the end user.
    #[sea_orm(column_type = "Text", nullable)]
    pub end_user: Option<String>,
    pub end_user_id: Option<String>,
    pub end_user_organization_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub webhook_url_override: Option<String>,
    pub last_fetched_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the upstream last refused the credential (NULL: no active auth error).
    pub auth_error_at: Option<DateTimeUtc>,
    /// Request id of the proxied call that saw the refusal.
    #[sea_orm(column_type = "Text", nullable)]
    pub auth_error_log_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::integration::Entity",
        from = "Column::IntegrationId",
        to = "super::integration::Column::Id",
        on_delete = "Cascade"
    )]
    Integration,
}

impl Related<super::integration::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Integration.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
