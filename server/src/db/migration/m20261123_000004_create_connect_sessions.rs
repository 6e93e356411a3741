//! Creates `connect_sessions`: short-lived sessions that let an end user hand over a
//! credential through the Connect UI. Only a keyed hash of each token is stored.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_environments::Environments;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConnectSessions::Table)
                    .col(big_pk_auto(ConnectSessions::Id))
                    .col(big_integer(ConnectSessions::EnvironmentId))
                    .col(blob(ConnectSessions::TokenHash))
                    .col(text(ConnectSessions::Settings))
                    .col(text_null(ConnectSessions::ReconnectIntegration))
                    .col(text_null(ConnectSessions::ReconnectConnectionId))
                    .col(timestamp_with_time_zone(ConnectSessions::ExpiresAt))
                    .col(timestamp_with_time_zone(ConnectSessions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_connect_sessions_environment")
                            .from(ConnectSessions::Table, ConnectSessions::EnvironmentId)
                            .to(Environments::Table, Environments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_connect_sessions_token_hash")
                    .table(ConnectSessions::Table)
                    .col(ConnectSessions::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_connect_sessions_expires_at")
                    .table(ConnectSessions::Table)
                    .col(ConnectSessions::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ConnectSessions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ConnectSessions {
    Table,
    Id,
    EnvironmentId,
    TokenHash,
    Settings,
    ReconnectIntegration,
    ReconnectConnectionId,
    ExpiresAt,
    CreatedAt,
}
