//! A deployed function (action or sync) of an integration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "functions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub environment_id: i64,
    pub integration_id: i64,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// `action`, `sync` or `on-event`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub version: String,
    /// The compiled CommonJS bundle.
    #[sea_orm(column_type = "Text")]
    pub code: String,
    /// The TypeScript source as deployed.
    #[sea_orm(column_type = "Text")]
    pub source: String,
    /// SHA-256 (hex) of bundle and source: a deploy bumps the version only when it changes.
    #[sea_orm(column_type = "Text")]
    pub code_hash: String,
    /// JSON of `model::function::FunctionConfig`.
    #[sea_orm(column_type = "Text")]
    pub config: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub sdk_version: Option<String>,
    pub enabled: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
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
