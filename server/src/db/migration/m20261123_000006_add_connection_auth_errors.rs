//! Adds the auth error state of a connection: when the upstream last refused its credential
//! (`auth_error_at`) and the id of the request that saw it (`auth_error_log_id`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds a single column.
        manager
            .alter_table(
                Table::alter()
                    .table(Connections::Table)
                    .add_column(timestamp_with_time_zone_null(Connections::AuthErrorAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Connections::Table).add_column(text_null(Connections::AuthErrorLogId)).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Connections::Table).drop_column(Connections::AuthErrorLogId).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Connections::Table).drop_column(Connections::AuthErrorAt).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Connections {
    Table,
    AuthErrorAt,
    AuthErrorLogId,
}
