//! Creates `functions`: the deployed actions and syncs of an environment, one row per
//! (integration, name, type), with the compiled bundle and its TypeScript source stored in
//! the database (never on the filesystem).

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
                    .table(Functions::Table)
                    .col(big_pk_auto(Functions::Id))
                    .col(big_integer(Functions::EnvironmentId))
                    .col(big_integer(Functions::IntegrationId))
                    .col(text(Functions::Name))
                    .col(text(Functions::Kind))
                    .col(text(Functions::Version))
                    .col(text(Functions::Code))
                    .col(text(Functions::Source))
                    .col(text(Functions::CodeHash))
                    .col(text(Functions::Config))
                    .col(text_null(Functions::SdkVersion))
                    .col(boolean(Functions::Enabled))
                    .col(timestamp_with_time_zone(Functions::CreatedAt))
                    .col(timestamp_with_time_zone(Functions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_functions_environment")
                            .from(Functions::Table, Functions::EnvironmentId)
                            .to(Environments::Table, Environments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_functions_integration")
                            .from(Functions::Table, Functions::IntegrationId)
                            .to(Integrations::Table, Integrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_functions_name")
                    .table(Functions::Table)
                    .col(Functions::IntegrationId)
                    .col(Functions::Name)
                    .col(Functions::Kind)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_functions_environment")
                    .table(Functions::Table)
                    .col(Functions::EnvironmentId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Functions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Functions {
    Table,
    Id,
    EnvironmentId,
    IntegrationId,
    Name,
    Kind,
    Version,
    Code,
    Source,
    CodeHash,
    Config,
    SdkVersion,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Id,
}
