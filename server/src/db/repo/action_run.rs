//! Asynchronous action runs: queued, claimed with a lease (one replica runs each), finished
//! with their outcome.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};

use super::now_millis;
use crate::{
    db::{Db, Error, entity::action_run},
    model::{
        function::{ActionRun, RunOutcome, RunStatus},
        id::EnvironmentId,
    },
};

fn read(m: action_run::Model) -> Result<ActionRun, Error> {
    Ok(ActionRun {
        environment_id: EnvironmentId(m.environment_id),
        input: serde_json::from_str(&m.input)?,
        status: RunStatus::parse(&m.status).unwrap_or(RunStatus::Failed),
        attempts: u32::try_from(m.attempts).unwrap_or(0),
        max_retries: u32::try_from(m.max_retries).unwrap_or(0),
        outcome: m.outcome.as_deref().map(serde_json::from_str).transpose()?,
        id: m.id,
        provider_config_key: m.provider_config_key,
        connection_id: m.connection_id,
        action_name: m.action_name,
        created_at: m.created_at,
    })
}

/// Queues a run.
pub async fn insert(db: &Db, run: &ActionRun) -> Result<(), Error> {
    action_run::ActiveModel {
        id: Set(run.id.clone()),
        environment_id: Set(run.environment_id.0),
        provider_config_key: Set(run.provider_config_key.clone()),
        connection_id: Set(run.connection_id.clone()),
        action_name: Set(run.action_name.clone()),
        input: Set(serde_json::to_string(&run.input)?),
        status: Set(RunStatus::Queued.as_str().to_owned()),
        attempts: Set(0),
        max_retries: Set(i32::try_from(run.max_retries).unwrap_or(0)),
        lease_until: Set(None),
        outcome: Set(None),
        created_at: Set(now_millis()),
        finished_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One run of the environment.
pub async fn find(db: &Db, environment_id: EnvironmentId, id: &str) -> Result<Option<ActionRun>, Error> {
    action_run::Entity::find()
        .filter(action_run::Column::EnvironmentId.eq(environment_id))
        .filter(action_run::Column::Id.eq(id))
        .one(db)
        .await?
        .map(read)
        .transpose()
}

/// Runs waiting for a worker: queued, or running under a lease that expired (the replica
/// running it died), oldest first.
pub async fn due(db: &Db, now: DateTime<Utc>, limit: u64) -> Result<Vec<ActionRun>, Error> {
    let waiting = Condition::any().add(action_run::Column::Status.eq(RunStatus::Queued.as_str())).add(
        Condition::all()
            .add(action_run::Column::Status.eq(RunStatus::Running.as_str()))
            .add(action_run::Column::LeaseUntil.lt(now)),
    );
    action_run::Entity::find()
        .filter(waiting)
        .order_by_asc(action_run::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(read)
        .collect()
}

/// Takes a run for this replica until `lease_until` and counts the attempt; `false` when
/// another replica took it first (`attempts` changes with every claim, so of two replicas
/// that read the same row only one update matches).
pub async fn claim(db: &Db, run: &ActionRun, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<bool, Error> {
    let free = Condition::any()
        .add(action_run::Column::Status.eq(RunStatus::Queued.as_str()))
        .add(action_run::Column::LeaseUntil.lt(now));
    let result = action_run::Entity::update_many()
        .col_expr(action_run::Column::Status, Expr::value(RunStatus::Running.as_str()))
        .col_expr(action_run::Column::LeaseUntil, Expr::value(lease_until))
        .col_expr(action_run::Column::Attempts, Expr::value(i32::try_from(run.attempts + 1).unwrap_or(i32::MAX)))
        .filter(action_run::Column::Id.eq(run.id.as_str()))
        .filter(action_run::Column::Attempts.eq(i32::try_from(run.attempts).unwrap_or(i32::MAX)))
        .filter(free)
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records how a claimed run ended.
pub async fn finish(db: &Db, id: &str, status: RunStatus, outcome: &RunOutcome) -> Result<(), Error> {
    action_run::Entity::update_many()
        .col_expr(action_run::Column::Status, Expr::value(status.as_str()))
        .col_expr(action_run::Column::Outcome, Expr::value(serde_json::to_string(outcome)?))
        .col_expr(action_run::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(action_run::Column::FinishedAt, Expr::value(now_millis()))
        .filter(action_run::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Puts a failed run back in the queue for another attempt.
pub async fn requeue(db: &Db, id: &str) -> Result<(), Error> {
    action_run::Entity::update_many()
        .col_expr(action_run::Column::Status, Expr::value(RunStatus::Queued.as_str()))
        .col_expr(action_run::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(action_run::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
