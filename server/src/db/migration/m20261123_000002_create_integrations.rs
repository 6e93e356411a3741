//! Creates `integrations`, unique on (environment, unique_key).

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
                    .table(Integrations::Table)
                    .col(big_pk_auto(Integrations::Id))
                    .col(big_integer(Integrations::EnvironmentId))
                    .col(string(Integrations::UniqueKey))
                    .col(string(Integrations::Provider))
                    .col(string_null(Integrations::DisplayName))
                    .col(boolean(Integrations::ForwardWebhooks))
                    .col(blob(Integrations::Settings))
                    .col(big_integer(Integrations::Revision))
                    .col(timestamp_with_time_zone(Integrations::CreatedAt))
                    .col(timestamp_with_time_zone(Integrations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_integrations_environment")
                            .from(Integrations::Table, Integrations::EnvironmentId)
                            .to(Environments::Table, Environments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_integrations_environment_unique_key")
                    .table(Integrations::Table)
                    .col(Integrations::EnvironmentId)
                    .col(Integrations::UniqueKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Integrations::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Id,
    EnvironmentId,
    UniqueKey,
    Provider,
    DisplayName,
    ForwardWebhooks,
    Settings,
    Revision,
    CreatedAt,
    UpdatedAt,
}
