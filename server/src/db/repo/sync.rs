//! Sync schedules: one per (deployed sync, connection). Created at deploy and with each new
//! connection, claimed with a conditional update (one replica runs each due run), held by a
//! lease that the running replica renews, finished with the run's result.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};

use crate::{
    db::{Error, entity::sync_schedule as s},
    model::{
        id::{EnvironmentId, IntegrationId},
        sync::{RunResult, Schedule, ScheduleStatus, SyncState, TriggerKind},
    },
};

fn read(m: s::Model) -> Result<Schedule, Error> {
    Ok(Schedule {
        environment_id: EnvironmentId(m.environment_id),
        integration_id: IntegrationId(m.integration_id),
        status: ScheduleStatus::parse(&m.status).unwrap_or(ScheduleStatus::Paused),
        trigger: m.trigger.as_deref().and_then(TriggerKind::parse),
        state: m.checkpoint.as_deref().map(serde_json::from_str).transpose()?.unwrap_or_default(),
        last_result: m.last_result.as_deref().map(serde_json::from_str).transpose()?.unwrap_or_default(),
        id: m.id,
        connection_row: m.connection_row,
        sync_name: m.sync_name,
        frequency: m.frequency,
        next_run_at: m.next_run_at,
        claims: m.claims,
        lease_until: m.lease_until,
        run_started_at: m.run_started_at,
        last_sync_date: m.last_sync_date,
        last_status: m.last_status,
        last_type: m.last_type,
        last_finished_at: m.last_finished_at,
        last_error: m.last_error,
    })
}

/// A schedule to create when missing.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub environment_id: EnvironmentId,
    pub integration_id: IntegrationId,
    pub connection_row: i64,
    pub sync_name: String,
    pub status: ScheduleStatus,
    /// When its first run is due (`None` when paused).
    pub next_run_at: Option<i64>,
}

/// Creates the schedules that do not exist yet (an existing one keeps its state).
pub async fn ensure(db: &impl ConnectionTrait, rows: &[NewSchedule], now: i64) -> Result<(), Error> {
    for chunk in rows.chunks(200) {
        let models = chunk.iter().map(|r| s::ActiveModel {
            environment_id: Set(r.environment_id.0),
            integration_id: Set(r.integration_id.0),
            connection_row: Set(r.connection_row),
            sync_name: Set(r.sync_name.clone()),
            status: Set(r.status.as_str().to_owned()),
            frequency: Set(None),
            next_run_at: Set(r.next_run_at),
            trigger: Set(None),
            claims: Set(0),
            lease_until: Set(None),
            run_started_at: Set(None),
            last_sync_date: Set(None),
            checkpoint: Set(None),
            last_status: Set(None),
            last_type: Set(None),
            last_finished_at: Set(None),
            last_result: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        s::Entity::insert_many(models)
            .on_conflict_do_nothing_on([s::Column::ConnectionRow, s::Column::SyncName])
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Deletes the schedules of sync `name` of an integration (the sync was removed).
pub async fn delete_for_sync(
    db: &impl ConnectionTrait,
    integration_id: IntegrationId,
    name: &str,
) -> Result<(), Error> {
    s::Entity::delete_many()
        .filter(s::Column::IntegrationId.eq(integration_id.0))
        .filter(s::Column::SyncName.eq(name))
        .exec(db)
        .await?;
    Ok(())
}

/// Schedules of an integration, for one connection or all, for the named syncs or all.
pub async fn list(
    db: &impl ConnectionTrait,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    connection_row: Option<i64>,
    names: Option<&[String]>,
) -> Result<Vec<Schedule>, Error> {
    let mut q = s::Entity::find()
        .filter(s::Column::EnvironmentId.eq(environment_id.0))
        .filter(s::Column::IntegrationId.eq(integration_id.0));
    if let Some(row) = connection_row {
        q = q.filter(s::Column::ConnectionRow.eq(row));
    }
    if let Some(names) = names {
        q = q.filter(s::Column::SyncName.is_in(names.iter().cloned()));
    }
    q.order_by_asc(s::Column::ConnectionRow)
        .order_by_asc(s::Column::SyncName)
        .all(db)
        .await?
        .into_iter()
        .map(read)
        .collect()
}

/// Pauses (`next_run_at` cleared) or starts (`next_run_at` set) schedules.
pub async fn set_status(
    db: &impl ConnectionTrait,
    ids: &[i64],
    status: ScheduleStatus,
    next_run_at: Option<i64>,
    now: i64,
) -> Result<(), Error> {
    let mut update = s::Entity::update_many()
        .col_expr(s::Column::Status, Expr::value(status.as_str()))
        .col_expr(s::Column::UpdatedAt, Expr::value(now))
        .filter(s::Column::Id.is_in(ids.iter().copied()));
    update = match status {
        ScheduleStatus::Paused => update.col_expr(s::Column::NextRunAt, Expr::value(Option::<i64>::None)),
        // Starting keeps the next run of a schedule that is already started.
        ScheduleStatus::Started => update
            .col_expr(s::Column::NextRunAt, Expr::value(next_run_at))
            .filter(Condition::any().add(s::Column::Status.ne(status.as_str())).add(s::Column::NextRunAt.is_null())),
    };
    update.exec(db).await?;
    Ok(())
}

/// Asks for a run now; a pending stronger trigger (a reset) is kept.
pub async fn trigger(db: &impl ConnectionTrait, ids: &[i64], kind: TriggerKind, now: i64) -> Result<(), Error> {
    let weaker: &[&str] = match kind {
        TriggerKind::Run => &[],
        TriggerKind::Full => &["run"],
        TriggerKind::FullClear => &["run", "full"],
    };
    let mut replaceable = Condition::any().add(s::Column::Trigger.is_null());
    if !weaker.is_empty() {
        replaceable = replaceable.add(s::Column::Trigger.is_in(weaker.iter().copied()));
    }
    s::Entity::update_many()
        .col_expr(s::Column::Trigger, Expr::value(kind.as_str()))
        .col_expr(s::Column::UpdatedAt, Expr::value(now))
        .filter(s::Column::Id.is_in(ids.iter().copied()))
        .filter(replaceable)
        .exec(db)
        .await?;
    Ok(())
}

/// Sets a schedule's own frequency (`None`: the sync's) and its next run.
pub async fn set_frequency(
    db: &impl ConnectionTrait,
    id: i64,
    frequency: Option<String>,
    next_run_at: Option<i64>,
    now: i64,
) -> Result<(), Error> {
    s::Entity::update_many()
        .col_expr(s::Column::Frequency, Expr::value(frequency))
        .col_expr(s::Column::NextRunAt, Expr::value(next_run_at))
        .col_expr(s::Column::UpdatedAt, Expr::value(now))
        .filter(s::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Schedules with a run due at `now` (scheduled or triggered) and no live lease, or whose
/// lease expired (their replica died mid-run), most overdue first.
pub async fn due(db: &impl ConnectionTrait, now: i64, limit: u64) -> Result<Vec<Schedule>, Error> {
    let wanted = Condition::any()
        .add(
            Condition::all()
                .add(s::Column::Status.eq(ScheduleStatus::Started.as_str()))
                .add(s::Column::NextRunAt.lte(now)),
        )
        .add(s::Column::Trigger.is_not_null())
        .add(s::Column::LeaseUntil.is_not_null());
    let free = Condition::any().add(s::Column::LeaseUntil.is_null()).add(s::Column::LeaseUntil.lt(now));
    s::Entity::find()
        .filter(wanted)
        .filter(free)
        .order_by_asc(s::Column::NextRunAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(read)
        .collect()
}

/// Takes schedule `sch` for this replica until `lease_until` and clears the trigger it was
/// read with; `next_run_at` is its next scheduled run. `false` when another replica took it
/// first (every claim bumps `claims`, so of two replicas that read the same row only one
/// update matches), or the row changed since it was read.
pub async fn claim(
    db: &impl ConnectionTrait,
    sch: &Schedule,
    now: i64,
    lease_until: i64,
    next_run_at: Option<i64>,
) -> Result<bool, Error> {
    let trigger_as_read = match sch.trigger {
        None => s::Column::Trigger.is_null(),
        Some(t) => s::Column::Trigger.eq(t.as_str()),
    };
    let result = s::Entity::update_many()
        .col_expr(s::Column::Claims, Expr::value(sch.claims + 1))
        .col_expr(s::Column::LeaseUntil, Expr::value(lease_until))
        .col_expr(s::Column::RunStartedAt, Expr::value(now))
        .col_expr(s::Column::Trigger, Expr::value(Option::<String>::None))
        .col_expr(s::Column::NextRunAt, Expr::value(next_run_at))
        .filter(s::Column::Id.eq(sch.id))
        .filter(s::Column::Claims.eq(sch.claims))
        .filter(trigger_as_read)
        .filter(Condition::any().add(s::Column::LeaseUntil.is_null()).add(s::Column::LeaseUntil.lt(now)))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Renews the lease of run `claim`; `false` when the run no longer holds the schedule.
pub async fn heartbeat(db: &impl ConnectionTrait, id: i64, claim: i64, lease_until: i64) -> Result<bool, Error> {
    let result = s::Entity::update_many()
        .col_expr(s::Column::LeaseUntil, Expr::value(lease_until))
        .filter(s::Column::Id.eq(id))
        .filter(s::Column::Claims.eq(claim))
        .filter(s::Column::LeaseUntil.is_not_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Stores the functions' state (checkpoint, deletion tracking) during run `claim`.
pub async fn save_state(db: &impl ConnectionTrait, id: i64, claim: i64, state: &SyncState) -> Result<bool, Error> {
    let result = s::Entity::update_many()
        .col_expr(s::Column::Checkpoint, Expr::value(serde_json::to_string(state)?))
        .filter(s::Column::Id.eq(id))
        .filter(s::Column::Claims.eq(claim))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// `SUCCESS` or `ERROR`.
    pub status: &'static str,
    /// `INITIAL` or `INCREMENTAL`.
    pub run_type: &'static str,
    pub result: RunResult,
    pub error: Option<String>,
    /// The new `lastSyncDate` (set on success).
    pub last_sync_date: Option<i64>,
    /// A reset run clears the state it started from; `Some` replaces it.
    pub state: Option<SyncState>,
}

/// Records how run `claim` ended and releases the lease; `false` when the run had lost the
/// schedule (its lease expired and another replica took it over).
pub async fn finish(db: &impl ConnectionTrait, id: i64, claim: i64, f: &Finished, now: i64) -> Result<bool, Error> {
    let mut update = s::Entity::update_many()
        .col_expr(s::Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .col_expr(s::Column::LastStatus, Expr::value(f.status))
        .col_expr(s::Column::LastType, Expr::value(f.run_type))
        .col_expr(s::Column::LastFinishedAt, Expr::value(now))
        .col_expr(s::Column::LastResult, Expr::value(serde_json::to_string(&f.result)?))
        .col_expr(s::Column::LastError, Expr::value(f.error.clone()))
        .col_expr(s::Column::UpdatedAt, Expr::value(now));
    if let Some(date) = f.last_sync_date {
        update = update.col_expr(s::Column::LastSyncDate, Expr::value(date));
    }
    if let Some(state) = &f.state {
        update = update.col_expr(s::Column::Checkpoint, Expr::value(serde_json::to_string(state)?));
    }
    let result = update.filter(s::Column::Id.eq(id)).filter(s::Column::Claims.eq(claim)).exec(db).await?;
    Ok(result.rows_affected == 1)
}

/// Forgets a schedule's history (`reset`): the next run is initial, without checkpoint.
pub async fn reset(db: &impl ConnectionTrait, id: i64) -> Result<(), Error> {
    s::Entity::update_many()
        .col_expr(s::Column::LastSyncDate, Expr::value(Option::<i64>::None))
        .col_expr(s::Column::Checkpoint, Expr::value(Option::<String>::None))
        .filter(s::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Schedules due or overdue at `now` and not running (`nango_sync_queue_depth`).
pub async fn queue_depth(db: &impl ConnectionTrait, now: i64) -> Result<u64, Error> {
    use sea_orm::PaginatorTrait;
    let wanted = Condition::any()
        .add(
            Condition::all()
                .add(s::Column::Status.eq(ScheduleStatus::Started.as_str()))
                .add(s::Column::NextRunAt.lte(now)),
        )
        .add(s::Column::Trigger.is_not_null());
    let free = Condition::any().add(s::Column::LeaseUntil.is_null()).add(s::Column::LeaseUntil.lt(now));
    Ok(s::Entity::find().filter(wanted).filter(free).count(db).await?)
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct SyncFn {
    environment_id: i64,
    integration_id: i64,
    name: String,
    config: String,
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct ConnRow {
    id: i64,
    integration_id: i64,
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct ScheduleKey {
    id: i64,
    integration_id: i64,
    connection_row: i64,
    sync_name: String,
}

/// Makes the schedules match what is deployed: one per (deployed sync, connection of its
/// integration), created started or paused per the sync's `auto_start` (a started one due
/// at once), and none for syncs that are gone. Within one environment, or every one;
/// `connection_row` narrows it to one connection (when it is created).
pub async fn reconcile(
    db: &impl ConnectionTrait,
    environment_id: Option<EnvironmentId>,
    connection_row: Option<i64>,
    now: i64,
) -> Result<(), Error> {
    use crate::db::entity::{connection as c, function as f};
    let mut fns = f::Entity::find()
        .select_only()
        .columns([f::Column::EnvironmentId, f::Column::IntegrationId, f::Column::Name, f::Column::Config])
        .filter(f::Column::Kind.eq(crate::model::function::FunctionKind::Sync.as_str()));
    let mut conns = c::Entity::find().select_only().columns([c::Column::Id, c::Column::IntegrationId]);
    let mut existing = s::Entity::find().select_only().columns([
        s::Column::Id,
        s::Column::IntegrationId,
        s::Column::ConnectionRow,
        s::Column::SyncName,
    ]);
    if let Some(env) = environment_id {
        fns = fns.filter(f::Column::EnvironmentId.eq(env.0));
        conns = conns.filter(c::Column::EnvironmentId.eq(env.0));
        existing = existing.filter(s::Column::EnvironmentId.eq(env.0));
    }
    if let Some(row) = connection_row {
        conns = conns.filter(c::Column::Id.eq(row));
        existing = existing.filter(s::Column::ConnectionRow.eq(row));
    }
    let fns = fns.into_model::<SyncFn>().all(db).await?;
    let conns = conns.into_model::<ConnRow>().all(db).await?;
    let existing = existing.into_model::<ScheduleKey>().all(db).await?;
    let mut by_integration: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    for c in &conns {
        by_integration.entry(c.integration_id).or_default().push(c.id);
    }
    let have: std::collections::HashSet<(i64, &str)> =
        existing.iter().map(|e| (e.connection_row, e.sync_name.as_str())).collect();
    let mut wanted = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for f in &fns {
        let config: crate::model::function::FunctionConfig = serde_json::from_str(&f.config).unwrap_or_default();
        let status = if config.auto_start { ScheduleStatus::Started } else { ScheduleStatus::Paused };
        for &row in by_integration.get(&f.integration_id).into_iter().flatten() {
            wanted.insert((f.integration_id, f.name.as_str()));
            if !have.contains(&(row, f.name.as_str())) {
                rows.push(NewSchedule {
                    environment_id: EnvironmentId(f.environment_id),
                    integration_id: IntegrationId(f.integration_id),
                    connection_row: row,
                    sync_name: f.name.clone(),
                    status,
                    next_run_at: (status == ScheduleStatus::Started).then_some(now),
                });
            }
        }
    }
    let deployed: std::collections::HashSet<(i64, &str)> =
        fns.iter().map(|f| (f.integration_id, f.name.as_str())).collect();
    let gone: Vec<i64> = existing
        .iter()
        .filter(|e| !deployed.contains(&(e.integration_id, e.sync_name.as_str())))
        .map(|e| e.id)
        .collect();
    for chunk in gone.chunks(500) {
        s::Entity::delete_many().filter(s::Column::Id.is_in(chunk.iter().copied())).exec(db).await?;
    }
    ensure(db, &rows, now).await
}

/// What a run needs to know about its schedule's connection.
#[derive(Debug, Clone)]
pub struct Names {
    pub connection_id: String,
    pub provider_config_key: String,
    pub provider: String,
    /// The connection's own webhook URL, replacing the environment's.
    pub webhook_url_override: Option<String>,
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct ConnName {
    connection_id: String,
    integration_id: i64,
    webhook_url_override: Option<String>,
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct IntegrationName {
    unique_key: String,
    provider: String,
}

/// The connection id and integration of a connection row (`None`: it is gone).
pub async fn names(db: &impl ConnectionTrait, connection_row: i64) -> Result<Option<Names>, Error> {
    use crate::db::entity::{connection as c, integration as i};
    let Some(conn) = c::Entity::find_by_id(connection_row)
        .select_only()
        .columns([c::Column::ConnectionId, c::Column::IntegrationId, c::Column::WebhookUrlOverride])
        .into_model::<ConnName>()
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let integration = i::Entity::find_by_id(conn.integration_id)
        .select_only()
        .columns([i::Column::UniqueKey, i::Column::Provider])
        .into_model::<IntegrationName>()
        .one(db)
        .await?;
    Ok(integration.map(|i| Names {
        connection_id: conn.connection_id,
        provider_config_key: i.unique_key,
        provider: i.provider,
        webhook_url_override: conn.webhook_url_override,
    }))
}

/// The connection ids of an integration's connections, by row (no credentials opened).
pub async fn connection_ids(
    db: &impl ConnectionTrait,
    integration_id: IntegrationId,
) -> Result<std::collections::HashMap<i64, String>, Error> {
    use crate::db::entity::connection as c;
    let rows: Vec<(i64, String)> = c::Entity::find()
        .select_only()
        .columns([c::Column::Id, c::Column::ConnectionId])
        .filter(c::Column::IntegrationId.eq(integration_id.0))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
