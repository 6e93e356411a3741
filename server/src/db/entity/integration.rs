//! An integration: one configured use of a provider inside an environment.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub environment_id: i64,
    /// Nango's `unique_key` (a.k.a. provider config key); unique per environment.
    pub unique_key: String,
    pub provider: String,
    pub display_name: Option<String>,
    pub forward_webhooks: bool,
    /// Sealed JSON of the integration's settings (`integration_config` values, free-form
    /// `custom` values and developer-app credentials); see `repo::integration`.
    pub settings: Vec<u8>,
    /// Incremented by every update (optimistic concurrency, cache invalidation).
    pub revision: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::environment::Entity",
        from = "Column::EnvironmentId",
        to = "super::environment::Column::Id",
        on_delete = "Cascade"
    )]
    Environment,
}

impl Related<super::environment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Environment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
