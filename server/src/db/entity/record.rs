//! A record a sync stored: one per connection, model and external id. Times are
//! milliseconds since the epoch; `GET /records` pages by `(updated_at, id)`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `connections.id`: deleting the connection deletes its records.
    pub connection_row: i64,
    #[sea_orm(column_type = "Text")]
    pub model: String,
    /// `String(record.id)`.
    #[sea_orm(column_type = "Text")]
    pub external_id: String,
    /// The record's JSON, as the function gave it.
    #[sea_orm(column_type = "Text")]
    pub data: String,
    /// MD5 (hex) of `data`: a save changes the record only when it changes.
    #[sea_orm(column_type = "Text")]
    pub data_hash: String,
    /// First seen (reset when a deleted record comes back).
    pub created_at: i64,
    /// Last changed (`_nango_metadata.last_modified_at`).
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    /// The run (schedule claim) that last saved it, for deletion tracking.
    pub seen_run: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
