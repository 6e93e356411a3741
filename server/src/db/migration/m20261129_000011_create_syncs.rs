//! Creates `sync_schedules` (one row per deployed sync and connection: its schedule, its
//! state between runs, its lease while a replica runs it) and `records` (what syncs store,
//! one row per connection, model and external id), and adds the sync settings of
//! `webhook_settings` (sync webhooks, the sealed Slack alert URL), `alerts` (the problems
//! a Slack alert was sent for and not yet resolved) and `request_logs.dropped` (the markers of
//! call records the writer could not keep).
//!
//! Times in both tables are integers, milliseconds since the epoch: they are compared and
//! ordered in SQL (due schedules, `GET /records` pages), which must behave the same on SQLite
//! and PostgreSQL.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncSchedules::Table)
                    .col(big_pk_auto(SyncSchedules::Id))
                    .col(big_integer(SyncSchedules::EnvironmentId))
                    .col(big_integer(SyncSchedules::IntegrationId))
                    .col(big_integer(SyncSchedules::ConnectionRow))
                    .col(text(SyncSchedules::SyncName))
                    .col(text(SyncSchedules::Status))
                    .col(text_null(SyncSchedules::Frequency))
                    .col(big_integer_null(SyncSchedules::NextRunAt))
                    .col(text_null(SyncSchedules::Trigger))
                    .col(big_integer(SyncSchedules::Claims))
                    .col(big_integer_null(SyncSchedules::LeaseUntil))
                    .col(big_integer_null(SyncSchedules::RunStartedAt))
                    .col(big_integer_null(SyncSchedules::LastSyncDate))
                    .col(text_null(SyncSchedules::Checkpoint))
                    .col(text_null(SyncSchedules::LastStatus))
                    .col(text_null(SyncSchedules::LastType))
                    .col(big_integer_null(SyncSchedules::LastFinishedAt))
                    .col(text_null(SyncSchedules::LastResult))
                    .col(text_null(SyncSchedules::LastError))
                    .col(big_integer(SyncSchedules::CreatedAt))
                    .col(big_integer(SyncSchedules::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sync_schedules_connection")
                            .from(SyncSchedules::Table, SyncSchedules::ConnectionRow)
                            .to(Connections::Table, Connections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_sync_schedules_connection_sync")
                    .table(SyncSchedules::Table)
                    .col(SyncSchedules::ConnectionRow)
                    .col(SyncSchedules::SyncName)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sync_schedules_due")
                    .table(SyncSchedules::Table)
                    .col(SyncSchedules::NextRunAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sync_schedules_integration")
                    .table(SyncSchedules::Table)
                    .col(SyncSchedules::IntegrationId)
                    .col(SyncSchedules::SyncName)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Records::Table)
                    .col(big_pk_auto(Records::Id))
                    .col(big_integer(Records::ConnectionRow))
                    .col(text(Records::Model))
                    .col(text(Records::ExternalId))
                    .col(text(Records::Data))
                    .col(text(Records::DataHash))
                    .col(big_integer(Records::CreatedAt))
                    .col(big_integer(Records::UpdatedAt))
                    .col(big_integer_null(Records::DeletedAt))
                    .col(big_integer_null(Records::SeenRun))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_records_connection")
                            .from(Records::Table, Records::ConnectionRow)
                            .to(Connections::Table, Connections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_records_external_id")
                    .table(Records::Table)
                    .col(Records::ConnectionRow)
                    .col(Records::Model)
                    .col(Records::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_records_modified")
                    .table(Records::Table)
                    .col(Records::ConnectionRow)
                    .col(Records::Model)
                    .col(Records::UpdatedAt)
                    .col(Records::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookSettings::Table)
                    .add_column(boolean(WebhookSettings::OnSyncCompletionAlways).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookSettings::Table)
                    .add_column(boolean(WebhookSettings::OnSyncError).default(true))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookSettings::Table)
                    .add_column(blob_null(WebhookSettings::SlackUrl))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(RequestLogs::Table).add_column(text_null(RequestLogs::Dropped)).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alerts::Table)
                    .col(big_pk_auto(Alerts::Id))
                    .col(big_integer(Alerts::EnvironmentId))
                    .col(big_integer(Alerts::ConnectionRow))
                    .col(text(Alerts::Subject))
                    .col(big_integer(Alerts::OpenedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alerts_connection")
                            .from(Alerts::Table, Alerts::ConnectionRow)
                            .to(Connections::Table, Connections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_alerts_subject")
                    .table(Alerts::Table)
                    .col(Alerts::ConnectionRow)
                    .col(Alerts::Subject)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Alerts::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(RequestLogs::Table).drop_column(RequestLogs::Dropped).to_owned())
            .await?;
        for column in [WebhookSettings::SlackUrl, WebhookSettings::OnSyncError, WebhookSettings::OnSyncCompletionAlways]
        {
            manager.alter_table(Table::alter().table(WebhookSettings::Table).drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(Records::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(SyncSchedules::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Connections {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WebhookSettings {
    Table,
    OnSyncCompletionAlways,
    OnSyncError,
    SlackUrl,
}

#[derive(DeriveIden)]
enum RequestLogs {
    Table,
    Dropped,
}

#[derive(DeriveIden)]
enum Alerts {
    Table,
    Id,
    EnvironmentId,
    ConnectionRow,
    Subject,
    OpenedAt,
}

#[derive(DeriveIden)]
enum SyncSchedules {
    Table,
    Id,
    EnvironmentId,
    IntegrationId,
    ConnectionRow,
    SyncName,
    Status,
    Frequency,
    NextRunAt,
    Trigger,
    Claims,
    LeaseUntil,
    RunStartedAt,
    LastSyncDate,
    Checkpoint,
    LastStatus,
    LastType,
    LastFinishedAt,
    LastResult,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Records {
    Table,
    Id,
    ConnectionRow,
    Model,
    ExternalId,
    Data,
    DataHash,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
    SeenRun,
}
