//! Creates `connections` (credentials sealed per row) and `vault` (the key canary).

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
                    .table(Connections::Table)
                    .col(big_pk_auto(Connections::Id))
                    .col(big_integer(Connections::EnvironmentId))
                    .col(big_integer(Connections::IntegrationId))
                    .col(text(Connections::ConnectionId))
                    .col(blob(Connections::Credentials))
                    .col(text(Connections::ConnectionConfig))
                    .col(text_null(Connections::Metadata))
                    .col(text(Connections::Tags))
                    .col(text_null(Connections::EndUser))
                    .col(string_null(Connections::EndUserId))
                    .col(string_null(Connections::EndUserOrganizationId))
                    .col(text_null(Connections::WebhookUrlOverride))
                    .col(timestamp_with_time_zone_null(Connections::LastFetchedAt))
                    .col(timestamp_with_time_zone(Connections::CreatedAt))
                    .col(timestamp_with_time_zone(Connections::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_connections_environment")
                            .from(Connections::Table, Connections::EnvironmentId)
                            .to(Environments::Table, Environments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_connections_integration")
                            .from(Connections::Table, Connections::IntegrationId)
                            .to(Integrations::Table, Integrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_connections_integration_connection_id")
                    .table(Connections::Table)
                    .col(Connections::IntegrationId)
                    .col(Connections::ConnectionId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_connections_environment_created")
                    .table(Connections::Table)
                    .col(Connections::EnvironmentId)
                    .col(Connections::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Vault::Table)
                    .col(integer(Vault::Id).primary_key())
                    .col(blob(Vault::Canary))
                    .col(timestamp_with_time_zone(Vault::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Vault::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Connections::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Connections {
    Table,
    Id,
    EnvironmentId,
    IntegrationId,
    ConnectionId,
    Credentials,
    ConnectionConfig,
    Metadata,
    Tags,
    EndUser,
    EndUserId,
    EndUserOrganizationId,
    WebhookUrlOverride,
    LastFetchedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Vault {
    Table,
    Id,
    Canary,
    CreatedAt,
}
