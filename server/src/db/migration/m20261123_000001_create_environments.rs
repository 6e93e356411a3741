//! Creates `environments`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Environments::Table)
                    .col(big_pk_auto(Environments::Id))
                    .col(string_uniq(Environments::Uuid))
                    .col(string_uniq(Environments::Name))
                    .col(blob(Environments::SecretKeyHash).unique_key())
                    .col(timestamp_with_time_zone(Environments::CreatedAt))
                    .col(timestamp_with_time_zone(Environments::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Environments::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub(super) enum Environments {
    Table,
    Id,
    Uuid,
    Name,
    SecretKeyHash,
    CreatedAt,
    UpdatedAt,
}
