//! Creates `action_runs`: asynchronous action runs (`X-Async: true`), queued in the database
//! so they survive restarts, claimed with a lease so one replica runs each, and kept with
//! their outcome for `GET /action/{id}`.

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
                    .table(ActionRuns::Table)
                    .col(text(ActionRuns::Id).primary_key())
                    .col(big_integer(ActionRuns::EnvironmentId))
                    .col(text(ActionRuns::ProviderConfigKey))
                    .col(text(ActionRuns::ConnectionId))
                    .col(text(ActionRuns::ActionName))
                    .col(text(ActionRuns::Input))
                    .col(text(ActionRuns::Status))
                    .col(integer(ActionRuns::Attempts))
                    .col(integer(ActionRuns::MaxRetries))
                    .col(timestamp_with_time_zone_null(ActionRuns::LeaseUntil))
                    .col(text_null(ActionRuns::Outcome))
                    .col(timestamp_with_time_zone(ActionRuns::CreatedAt))
                    .col(timestamp_with_time_zone_null(ActionRuns::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_action_runs_environment")
                            .from(ActionRuns::Table, ActionRuns::EnvironmentId)
                            .to(Environments::Table, Environments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_action_runs_status")
                    .table(ActionRuns::Table)
                    .col(ActionRuns::Status)
                    .col(ActionRuns::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ActionRuns::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ActionRuns {
    Table,
    Id,
    EnvironmentId,
    ProviderConfigKey,
    ConnectionId,
    ActionName,
    Input,
    Status,
    Attempts,
    MaxRetries,
    LeaseUntil,
    Outcome,
    CreatedAt,
    FinishedAt,
}
