//! Creates `request_logs` (one row per API call and proxied call, kept for the configured
//! retention) and `connection_activity` (per connection: the last successful and the last
//! failed proxied call, kept as long as the connection).

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
                    .table(RequestLogs::Table)
                    .col(big_pk_auto(RequestLogs::Id))
                    .col(big_integer(RequestLogs::EnvironmentId))
                    .col(text(RequestLogs::RequestId))
                    .col(big_integer(RequestLogs::AtMs))
                    .col(text(RequestLogs::Kind))
                    .col(text_null(RequestLogs::Operation))
                    .col(text(RequestLogs::Method))
                    .col(text(RequestLogs::Path))
                    .col(integer(RequestLogs::Status))
                    .col(double(RequestLogs::DurationMs))
                    .col(text_null(RequestLogs::Integration))
                    .col(text_null(RequestLogs::ConnectionId))
                    .col(text_null(RequestLogs::UpstreamHost))
                    .col(text_null(RequestLogs::UpstreamPath))
                    .col(integer_null(RequestLogs::UpstreamStatus))
                    .col(integer_null(RequestLogs::Attempts))
                    .col(text_null(RequestLogs::ErrorCode))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_request_logs_environment")
                            .from(RequestLogs::Table, RequestLogs::EnvironmentId)
                            .to(Environments::Table, Environments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_request_logs_time", vec![RequestLogs::EnvironmentId, RequestLogs::AtMs]),
            (
                "ix_request_logs_connection",
                vec![RequestLogs::EnvironmentId, RequestLogs::ConnectionId, RequestLogs::AtMs],
            ),
            (
                "ix_request_logs_integration",
                vec![RequestLogs::EnvironmentId, RequestLogs::Integration, RequestLogs::AtMs],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(RequestLogs::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ConnectionActivity::Table)
                    .col(big_integer(ConnectionActivity::ConnectionRow).primary_key())
                    .col(big_integer_null(ConnectionActivity::LastSuccessAtMs))
                    .col(integer_null(ConnectionActivity::LastSuccessStatus))
                    .col(text_null(ConnectionActivity::LastSuccessRequestId))
                    .col(big_integer_null(ConnectionActivity::LastFailureAtMs))
                    .col(integer_null(ConnectionActivity::LastFailureStatus))
                    .col(text_null(ConnectionActivity::LastFailureRequestId))
                    .col(text_null(ConnectionActivity::LastFailureCode))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_connection_activity_connection")
                            .from(ConnectionActivity::Table, ConnectionActivity::ConnectionRow)
                            .to(Connections::Table, Connections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ConnectionActivity::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RequestLogs::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum RequestLogs {
    Table,
    Id,
    EnvironmentId,
    RequestId,
    AtMs,
    Kind,
    Operation,
    Method,
    Path,
    Status,
    DurationMs,
    Integration,
    ConnectionId,
    UpstreamHost,
    UpstreamPath,
    UpstreamStatus,
    Attempts,
    ErrorCode,
}

#[derive(DeriveIden)]
enum ConnectionActivity {
    Table,
    ConnectionRow,
    LastSuccessAtMs,
    LastSuccessStatus,
    LastSuccessRequestId,
    LastFailureAtMs,
    LastFailureStatus,
    LastFailureRequestId,
    LastFailureCode,
}

#[derive(DeriveIden)]
enum Connections {
    Table,
    Id,
}
