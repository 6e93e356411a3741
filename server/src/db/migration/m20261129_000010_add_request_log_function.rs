//! Adds `request_logs.function`: what a call that ran a function did (JSON: name, version,
//! outcome, log lines, proxied calls), for `GET /logs`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(RequestLogs::Table).add_column(text_null(RequestLogs::Function)).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(RequestLogs::Table).drop_column(RequestLogs::Function).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RequestLogs {
    Table,
    Function,
}
