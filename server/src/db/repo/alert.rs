//! Open alerts: one row per (connection, subject) while a problem lasts.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

use crate::{
    db::{Error, entity::alert},
    model::id::EnvironmentId,
};

/// Records that the problem `subject` of a connection was announced; `false` when it already
/// was (the problem is still open).
pub async fn open(
    db: &impl ConnectionTrait,
    environment_id: EnvironmentId,
    connection_row: i64,
    subject: &str,
    at: i64,
) -> Result<bool, Error> {
    let result = alert::Entity::insert(alert::ActiveModel {
        environment_id: Set(environment_id.0),
        connection_row: Set(connection_row),
        subject: Set(subject.to_owned()),
        opened_at: Set(at),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([alert::Column::ConnectionRow, alert::Column::Subject])
    .exec_without_returning(db)
    .await?;
    Ok(matches!(result, sea_orm::TryInsertResult::Inserted(n) if n > 0))
}

/// Whether the problem `subject` of a connection is open (a read, for the success path).
pub async fn is_open(db: &impl ConnectionTrait, connection_row: i64, subject: &str) -> Result<bool, Error> {
    Ok(alert::Entity::find()
        .filter(alert::Column::ConnectionRow.eq(connection_row))
        .filter(alert::Column::Subject.eq(subject))
        .count(db)
        .await?
        > 0)
}

/// Closes the problem; `true` when this call closed it.
pub async fn close(db: &impl ConnectionTrait, connection_row: i64, subject: &str) -> Result<bool, Error> {
    let result = alert::Entity::delete_many()
        .filter(alert::Column::ConnectionRow.eq(connection_row))
        .filter(alert::Column::Subject.eq(subject))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}
