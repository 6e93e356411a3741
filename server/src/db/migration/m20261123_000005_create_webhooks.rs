//! Creates `webhook_settings` (per environment: URLs, sealed signing key, which events) and
//! `webhook_outbox` (durable deliveries, claimed with a lease so one replica sends each).

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
                    .table(WebhookSettings::Table)
                    .col(big_integer(WebhookSettings::EnvironmentId).primary_key())
                    .col(text_null(WebhookSettings::PrimaryUrl))
                    .col(text_null(WebhookSettings::SecondaryUrl))
                    .col(blob(WebhookSettings::SigningKey))
                    .col(boolean(WebhookSettings::OnAuthCreation))
                    .col(boolean(WebhookSettings::OnAuthRefreshError))
                    .col(timestamp_with_time_zone(WebhookSettings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_settings_environment")
                            .from(WebhookSettings::Table, WebhookSettings::EnvironmentId)
                            .to(Environments::Table, Environments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookOutbox::Table)
                    .col(big_pk_auto(WebhookOutbox::Id))
                    .col(big_integer(WebhookOutbox::EnvironmentId))
                    .col(text(WebhookOutbox::Url))
                    .col(text(WebhookOutbox::Body))
                    .col(integer(WebhookOutbox::Attempts))
                    .col(timestamp_with_time_zone(WebhookOutbox::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(WebhookOutbox::LeaseUntil))
                    .col(timestamp_with_time_zone_null(WebhookOutbox::DeliveredAt))
                    .col(timestamp_with_time_zone_null(WebhookOutbox::FailedAt))
                    .col(text_null(WebhookOutbox::LastError))
                    .col(timestamp_with_time_zone(WebhookOutbox::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_outbox_environment")
                            .from(WebhookOutbox::Table, WebhookOutbox::EnvironmentId)
                            .to(Environments::Table, Environments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_outbox_due")
                    .table(WebhookOutbox::Table)
                    .col(WebhookOutbox::DeliveredAt)
                    .col(WebhookOutbox::FailedAt)
                    .col(WebhookOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookOutbox::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookSettings::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum WebhookSettings {
    Table,
    EnvironmentId,
    PrimaryUrl,
    SecondaryUrl,
    SigningKey,
    OnAuthCreation,
    OnAuthRefreshError,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookOutbox {
    Table,
    Id,
    EnvironmentId,
    Url,
    Body,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    DeliveredAt,
    FailedAt,
    LastError,
    CreatedAt,
}
