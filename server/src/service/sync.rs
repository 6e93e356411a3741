//! Syncs: a deployed sync runs on a schedule for every connection of its integration, reads
//! the upstream through the proxy and stores records; the customer's backend reads them with
//! `GET /records` and hears of changes through `sync` webhooks.
//!
//! Scheduling (see docs/functions.md, "Syncs"): one `sync_schedules` row per (sync,
//! connection). Every replica polls for due rows and takes one with a conditional update
//! (`claims` must still be what it read), so each due run starts on exactly one replica.
//! The replica holds a lease on the row while it runs the sync and renews it (heartbeat); a
//! run whose replica died is taken over once its lease expires. Runs of one schedule never
//! overlap: a schedule with a live lease is not due. Schedules, pending triggers and the
//! state between runs (checkpoint, `lastSyncDate`) are rows, so they survive restarts.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Map, Value, json};
use tracing::Instrument as _;

use super::{
    Context, Error,
    action::Scope,
    function, records,
    records::{Batch, Writer},
    webhook,
};
use crate::{
    db::repo::{self, sync::Finished},
    model::{
        activity::{CallRecord, FunctionCall, Kind},
        environment::Environment,
        function::{Failure, FunctionKind, StoredFunction},
        integration::IntegrationRecord,
        sync::{
            FrequencyError, ModelCounts, PageQuery, RecordValidation, RunResult, Schedule, ScheduleStatus, SyncState,
            TriggerKind, iso, parse_frequency,
        },
    },
    runtime::{self, HostResult},
};

/// Most log lines a run keeps (later ones are counted, not kept).
const MAX_LOG_LINES: usize = 1000;
/// Longest log line kept, in bytes.
const MAX_LOG_LINE: usize = 4096;

/// Sync settings (configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Longest a run may take (Nango: 24 hours).
    pub timeout: Duration,
    /// A run's lease: renewed every third of it; a run not renewed for this long is taken over.
    pub lease: Duration,
    /// Record validation per environment name (`""`: the default).
    pub validation: Vec<(String, RecordValidation)>,
}

/// The scheduler's shared state: settings and a wake-up for triggered runs.
#[derive(Debug)]
pub struct Shared {
    pub settings: Settings,
    wake: tokio::sync::Notify,
}

impl Shared {
    /// State for `settings`.
    pub fn new(settings: Settings) -> Self {
        Self { settings, wake: tokio::sync::Notify::new() }
    }

    fn validation(&self, env: &str) -> RecordValidation {
        crate::model::sync::validation_for(&self.settings.validation, env)
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn failed(message: &'static str) -> impl FnOnce(crate::db::Error) -> Error {
    Error::internal(message)
}

// ---- control: trigger, pause, start, frequency, status ------------------------------------

/// Which schedules a control call is about.
#[derive(Debug, Clone)]
pub struct Target {
    pub provider_config_key: String,
    /// One connection, or every connection of the integration.
    pub connection_id: Option<String>,
    /// Sync names; empty: every sync.
    pub syncs: Vec<String>,
}

async fn integration(ctx: &Context, env: &Environment, key: &str) -> Result<IntegrationRecord, Error> {
    repo::integration::find(&ctx.db, &ctx.cipher, env.id, key)
        .await
        .map_err(failed("Failed to load the integration"))?
        .ok_or_else(|| Error::UnknownIntegration("There is no Provider Configuration matching this key.".to_owned()))
}

/// The schedules `t` names: every named sync must exist (for the connection, when one is
/// named), or `no_syncs_found`.
async fn targets(ctx: &Context, env: &Environment, t: &Target) -> Result<Vec<Schedule>, Error> {
    let integration = integration(ctx, env, &t.provider_config_key).await?;
    let row = match &t.connection_id {
        None => None,
        Some(id) => Some(
            repo::connection::find_record(&ctx.db, &ctx.cipher, env.id, integration.id, id)
                .await
                .map_err(failed("Failed to load the connection"))?
                .ok_or(Error::SyncUnknownConnection)?
                .id,
        ),
    };
    let names = (!t.syncs.is_empty()).then_some(t.syncs.as_slice());
    let schedules = repo::sync::list(&ctx.db, env.id, integration.id, row, names)
        .await
        .map_err(failed("Failed to load the syncs"))?;
    let missing = t.syncs.iter().any(|n| !schedules.iter().any(|s| &s.sync_name == n));
    if schedules.is_empty() || (row.is_some() && missing) {
        return Err(Error::NoSyncsFound);
    }
    Ok(schedules)
}

/// `POST /sync/trigger`: runs the syncs now (`kind`: as scheduled, from scratch, or from
/// scratch after deleting their records), paused ones included.
pub async fn trigger(ctx: &Context, env: &Environment, t: &Target, kind: TriggerKind) -> Result<(), Error> {
    let schedules = targets(ctx, env, t).await?;
    let ids: Vec<i64> = schedules.iter().map(|s| s.id).collect();
    repo::sync::trigger(&ctx.db, &ids, kind, now()).await.map_err(failed("Failed to trigger the syncs"))?;
    ctx.syncs.wake.notify_one();
    Ok(())
}

/// `POST /sync/pause` and `POST /sync/start`. Starting a paused sync runs it at once.
pub async fn set_status(ctx: &Context, env: &Environment, t: &Target, status: ScheduleStatus) -> Result<(), Error> {
    let schedules = targets(ctx, env, t).await?;
    let ids: Vec<i64> = schedules.iter().map(|s| s.id).collect();
    let at = now();
    repo::sync::set_status(&ctx.db, &ids, status, (status == ScheduleStatus::Started).then_some(at), at)
        .await
        .map_err(failed("Failed to update the syncs"))?;
    ctx.syncs.wake.notify_one();
    Ok(())
}

/// The deployed syncs of an integration, by name.
async fn sync_functions(
    ctx: &Context,
    env: &Environment,
    integration: &IntegrationRecord,
) -> Result<Vec<StoredFunction>, Error> {
    Ok(repo::function::list(&ctx.db, env.id, Some(integration.id))
        .await
        .map_err(failed("Failed to load the syncs"))?
        .into_iter()
        .filter(|f| f.kind == FunctionKind::Sync)
        .collect())
}

/// `PUT /sync/update-connection-frequency`: the connection's own frequency for a sync
/// (`None`: back to the sync's). Answers the frequency now in force.
pub async fn set_frequency(
    ctx: &Context,
    env: &Environment,
    provider_config_key: &str,
    connection_id: &str,
    sync_name: &str,
    frequency: Option<&str>,
) -> Result<String, Error> {
    let integration = integration(ctx, env, provider_config_key).await?;
    let connection = repo::connection::find_record(&ctx.db, &ctx.cipher, env.id, integration.id, connection_id)
        .await
        .map_err(failed("Failed to load the connection"))?
        .ok_or(Error::UnknownConnection(None))?;
    let names = [sync_name.to_owned()];
    let schedule = repo::sync::list(&ctx.db, env.id, integration.id, Some(connection.id), Some(&names))
        .await
        .map_err(failed("Failed to load the syncs"))?
        .into_iter()
        .next()
        .ok_or(Error::UnknownSync)?;
    let in_force = match frequency {
        Some(f) => {
            parse_frequency(f).map_err(|e| {
                Error::InvalidInput(match e {
                    FrequencyError::Invalid => "Sync interval is invalid".to_owned(),
                    FrequencyError::TooShort => "Sync interval is too short: the minimum is 30 seconds".to_owned(),
                })
            })?;
            f.to_owned()
        }
        None => sync_functions(ctx, env, &integration)
            .await?
            .into_iter()
            .find(|f| f.name == sync_name)
            .and_then(|f| f.config.runs)
            .ok_or(Error::UnknownSync)?,
    };
    let every = parse_frequency(&in_force).ok();
    // The next run moves to the new frequency, counted from the last run's start.
    let next = match (schedule.status, every) {
        (ScheduleStatus::Started, Some(every)) => {
            let base = schedule.run_started_at.unwrap_or_else(now);
            Some((base + every.as_millis() as i64).max(now()))
        }
        _ => schedule.next_run_at,
    };
    repo::sync::set_frequency(&ctx.db, schedule.id, frequency.map(str::to_owned), next, now())
        .await
        .map_err(failed("Failed to update the frequency"))?;
    Ok(in_force)
}

/// One sync of one connection, as `GET /sync/status` reports it.
#[derive(Debug, Clone)]
pub struct SyncStatus {
    pub id: String,
    pub connection_id: String,
    pub name: String,
    /// `INITIAL` or `INCREMENTAL`.
    pub run_type: String,
    /// `RUNNING`, `PAUSED`, `SUCCESS`, `ERROR` or `STOPPED`.
    pub status: String,
    pub finished_at: Option<String>,
    pub next_scheduled_sync_at: Option<String>,
    pub frequency: Option<String>,
    pub latest_result: Option<RunResult>,
    /// `RUNNING`, `SUCCESS` or `STOPPED` (failed), Nango's job statuses.
    pub latest_execution_status: Option<String>,
    pub record_count: Map<String, Value>,
    pub checkpoint: Option<Map<String, Value>>,
}

/// `GET /sync/status`: the named syncs (or all) of one connection or of every connection.
pub async fn status(
    ctx: &Context,
    env: &Environment,
    provider_config_key: &str,
    connection_id: Option<&str>,
    syncs: &[String],
) -> Result<Vec<SyncStatus>, Error> {
    let integration = integration(ctx, env, provider_config_key).await?;
    let row = match connection_id {
        None => None,
        Some(id) => Some(
            repo::connection::find_record(&ctx.db, &ctx.cipher, env.id, integration.id, id)
                .await
                .map_err(failed("Failed to load the connection"))?
                .ok_or_else(|| Error::InvalidInput("Connection not found".to_owned()))?
                .id,
        ),
    };
    let names = (!syncs.is_empty()).then_some(syncs);
    let schedules = repo::sync::list(&ctx.db, env.id, integration.id, row, names)
        .await
        .map_err(failed("Failed to get sync status"))?;
    let functions = sync_functions(ctx, env, &integration).await?;
    let connection_ids =
        repo::sync::connection_ids(&ctx.db, integration.id).await.map_err(failed("Failed to get sync status"))?;
    let at = now();
    let mut out = Vec::with_capacity(schedules.len());
    let mut counts_by_row = std::collections::HashMap::new();
    for s in schedules {
        let function = functions.iter().find(|f| f.name == s.sync_name);
        let Some(connection_id) = connection_ids.get(&s.connection_row) else { continue };
        if let std::collections::hash_map::Entry::Vacant(slot) = counts_by_row.entry(s.connection_row) {
            slot.insert(
                repo::record::counts(&ctx.db, s.connection_row).await.map_err(failed("Failed to get sync status"))?,
            );
        }
        let counts = &counts_by_row[&s.connection_row];
        let record_count = function
            .map(|f| {
                f.config.models.iter().map(|m| (m.clone(), Value::from(counts.get(m).copied().unwrap_or(0)))).collect()
            })
            .unwrap_or_default();
        let running = s.running(at);
        let execution = if running {
            Some("RUNNING".to_owned())
        } else {
            s.last_status.as_deref().map(|st| if st == "SUCCESS" { "SUCCESS" } else { "STOPPED" }.to_owned())
        };
        let status = if running {
            "RUNNING"
        } else {
            match s.status {
                ScheduleStatus::Paused => "PAUSED",
                ScheduleStatus::Started => match s.last_status.as_deref() {
                    Some("ERROR") => "ERROR",
                    _ => "SUCCESS",
                },
            }
        };
        out.push(SyncStatus {
            id: s.id.to_string(),
            connection_id: connection_id.clone(),
            name: s.sync_name.clone(),
            run_type: s.last_type.clone().unwrap_or_else(|| "INITIAL".to_owned()),
            status: status.to_owned(),
            finished_at: if running { None } else { s.last_finished_at.map(iso) },
            next_scheduled_sync_at: s.next_run_at.map(iso),
            frequency: s.frequency.clone().or_else(|| function.and_then(|f| f.config.runs.clone())),
            latest_result: s.last_status.is_some().then(|| s.last_result.clone()),
            latest_execution_status: execution,
            record_count,
            checkpoint: s.state.checkpoint.clone(),
        });
    }
    Ok(out)
}

/// `GET /records`: a page of a connection's records of `model`.
pub async fn records(
    ctx: &Context,
    env: &Environment,
    provider_config_key: &str,
    connection_id: &str,
    model: &str,
    q: PageQuery,
) -> Result<records::Page, Error> {
    let unknown = || Error::UnknownConnection(None);
    let integration = repo::integration::find(&ctx.db, &ctx.cipher, env.id, provider_config_key)
        .await
        .map_err(failed("Failed to fetch records"))?
        .ok_or_else(unknown)?;
    let connection = repo::connection::find_record(&ctx.db, &ctx.cipher, env.id, integration.id, connection_id)
        .await
        .map_err(failed("Failed to fetch records"))?
        .ok_or_else(unknown)?;
    records::page(ctx, connection.id, model, q).await
}

// ---- the scheduler ---------------------------------------------------------------------------

/// Runs due syncs until `shutdown` resolves (the shared queue worker, one run per function
/// worker at a time): woken when this replica triggers one, and every `poll` for schedules
/// that came due, runs triggered on other replicas and runs whose replica died (lease
/// expired). Runs in flight at shutdown finish.
pub async fn run_worker(ctx: Context, poll: Duration, shutdown: impl Future<Output = ()>) {
    let slots = ctx.runtime.settings().workers.max(1);
    super::queue::run_worker(SyncJobs, ctx, slots, poll, shutdown).await;
}

/// Due sync runs.
struct SyncJobs;

impl super::queue::Jobs for SyncJobs {
    type Job = (Schedule, i64);
    const NAME: &'static str = "syncs";

    fn claim(
        &self,
        ctx: &Context,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Self::Job>, crate::db::Error>> + Send {
        claim_due(ctx, limit)
    }

    async fn run(&self, ctx: Context, (schedule, claim): Self::Job) {
        execute(&ctx, schedule, claim).await;
    }

    fn wake<'a>(&self, ctx: &'a Context) -> &'a tokio::sync::Notify {
        &ctx.syncs.wake
    }

    async fn after_pass(&self, ctx: &Context) {
        if let Ok(depth) = repo::sync::queue_depth(&ctx.db, now()).await {
            ctx.metrics.sync_queue_depth(depth);
        }
    }
}

/// The frequency a schedule runs at (its own, else its sync's), if it parses.
fn every(schedule: &Schedule, function: Option<&StoredFunction>) -> Option<Duration> {
    let runs = schedule.frequency.clone().or_else(|| function.and_then(|f| f.config.runs.clone()))?;
    parse_frequency(&runs).ok()
}

/// Takes up to `limit` due schedules; answers each with its run's claim number.
async fn claim_due(ctx: &Context, limit: usize) -> Result<Vec<(Schedule, i64)>, crate::db::Error> {
    let at = now();
    let lease = ctx.syncs.settings.lease.as_millis() as i64;
    let mut claimed = Vec::new();
    for schedule in repo::sync::due(&ctx.db, at, limit as u64).await? {
        let function = repo::function::find(
            &ctx.db,
            schedule.environment_id,
            schedule.integration_id,
            "",
            &schedule.sync_name,
            Some(FunctionKind::Sync),
        )
        .await?;
        let function = function.as_ref();
        // The next scheduled run: one period after this one's due time (or now, when late by
        // more than a period); a paused schedule has none.
        let next = match (schedule.status, every(&schedule, function)) {
            (ScheduleStatus::Started, Some(period)) => {
                let period = period.as_millis() as i64;
                let due = schedule.next_run_at.filter(|d| *d <= at).unwrap_or(at);
                Some(if due + period > at { due + period } else { at + period })
            }
            (ScheduleStatus::Started, None) => None,
            (ScheduleStatus::Paused, _) => None,
        };
        // A run taken over from a dead replica keeps its schedule's next run.
        let next = if schedule.lease_until.is_some() { schedule.next_run_at.or(next) } else { next };
        if repo::sync::claim(&ctx.db, &schedule, at, at + lease, next).await? {
            let lag = at - schedule.next_run_at.unwrap_or(at);
            ctx.metrics.sync_started(Duration::from_millis(lag.max(0) as u64));
            let claim = schedule.claims + 1;
            claimed.push((schedule, claim));
        }
    }
    Ok(claimed)
}

/// Renews the lease of run `claim` every third of the lease until dropped; sets `lost` when
/// the schedule no longer belongs to the run.
fn heartbeat(ctx: &Context, schedule_id: i64, claim: i64, lost: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let lease = ctx.syncs.settings.lease;
        loop {
            tokio::time::sleep(lease / 3).await;
            match repo::sync::heartbeat(&ctx.db, schedule_id, claim, now() + lease.as_millis() as i64).await {
                Ok(true) => {}
                Ok(false) => {
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
                Err(e) => tracing::warn!(error = %crate::chain::ErrorChain(&e), "cannot renew a sync run's lease"),
            }
        }
    })
}

/// Runs one claimed schedule and records how it ended.
async fn execute(ctx: &Context, schedule: Schedule, claim: i64) {
    let started = Instant::now();
    let started_at = now();
    let Ok(Some(env)) = repo::environment::find_by_id(&ctx.db, schedule.environment_id).await else { return };
    let Ok(Some(names)) = repo::sync::names(&ctx.db, schedule.connection_row).await else { return };
    let function = match repo::function::find(
        &ctx.db,
        env.id,
        schedule.integration_id,
        &names.provider_config_key,
        &schedule.sync_name,
        Some(FunctionKind::Sync),
    )
    .await
    {
        Ok(Some(f)) => f,
        Ok(None) => {
            // The sync was removed since: its schedules go with it.
            let _ = repo::sync::delete_for_sync(&ctx.db, schedule.integration_id, &schedule.sync_name).await;
            return;
        }
        Err(e) => {
            tracing::warn!(error = %crate::chain::ErrorChain(&e), "cannot load the sync");
            return;
        }
    };
    let trigger = schedule.trigger;
    let reset = matches!(trigger, Some(TriggerKind::Full | TriggerKind::FullClear));
    let mut state = if reset { SyncState::default() } else { schedule.state.clone() };
    let last_sync_date = if reset { None } else { schedule.last_sync_date };
    let run_type = if last_sync_date.is_some() { "INCREMENTAL" } else { "INITIAL" };
    if reset {
        let _ = repo::sync::reset(&ctx.db, schedule.id).await;
        state = SyncState::default();
    }
    if trigger == Some(TriggerKind::FullClear)
        && let Err(e) = repo::record::delete_all(&ctx.db, schedule.connection_row, &function.config.models).await
    {
        tracing::warn!(error = %crate::chain::ErrorChain(&e), "cannot empty the sync's records");
    }
    let request_id = crate::request_id::RequestId::next();
    let lost = Arc::new(AtomicBool::new(false));
    let beat = heartbeat(ctx, schedule.id, claim, lost.clone());
    let span = tracing::info_span!(
        "function",
        otel.name = %format_args!("sync {}", schedule.sync_name),
        otel.kind = "internal",
        nango.function = %schedule.sync_name,
        nango.integration = %names.provider_config_key,
        nango.connection_id = %names.connection_id,
    );
    let provider = ctx.catalog.get(&names.provider);
    let schemas =
        function.config.models_json_schema.as_ref().and_then(|s| s.get("definitions")).cloned().unwrap_or(Value::Null);
    let host = Arc::new(Core {
        span: span.clone(),
        scope: Scope {
            ctx: ctx.clone(),
            env: env.clone(),
            provider_config_key: names.provider_config_key.clone(),
            connection_id: names.connection_id.clone(),
            request_id,
        },
        schedule_id: schedule.id,
        claim,
        models: function.config.models.clone(),
        schemas,
        validation: ctx.syncs.validation(&env.name),
        lost: lost.clone(),
        inner: tokio::sync::Mutex::new(Inner {
            writer: Writer::new(schedule.connection_row, claim),
            result: function.config.models.iter().map(|m| (m.clone(), ModelCounts::default())).collect(),
            state,
        }),
        logs: Mutex::new(Vec::new()),
        calls: Mutex::new(0),
    });
    let job = runtime::Job {
        scope: function::scope(&env),
        code: function.code.as_str().into(),
        filename: function::filename(&function.name, &names.provider_config_key),
        mode: runtime::Mode::Sync,
        meta: json!({
            "connectionId": names.connection_id,
            "providerConfigKey": names.provider_config_key,
            "provider": names.provider,
            "runId": request_id.to_string(),
            "paginate": provider.and_then(|p| p.proxy.paginate.clone()),
            "lastSyncDate": last_sync_date.map(iso),
            "syncName": schedule.sync_name,
        }),
        host: Arc::new(SyncHost(host.clone())),
        wall_time: ctx.syncs.settings.timeout,
        warm_key: Some(format!("{}:{}", function.id, function.code_hash)),
    };
    let mut outcome = ctx.runtime.run(job).instrument(span).await;
    beat.abort();
    // A full sync that tracks deletes removes what this run did not see (on success only).
    if outcome.is_ok() && function.config.track_deletes && function.config.sync_type.as_deref() == Some("full") {
        for model in &function.config.models {
            let mut inner = host.inner.lock().await;
            match inner.writer.delete_unseen(ctx, model, claim).await {
                Ok(keys) => inner.result.entry(model.clone()).or_default().deleted += keys.len() as u64,
                Err(e) => {
                    outcome = Err(Failure::Internal {
                        payload: json!({"name": "Error", "message": format!("deleting unseen records failed: {e}")}),
                    });
                    break;
                }
            }
        }
    }
    if lost.load(Ordering::SeqCst) {
        tracing::warn!(sync = %schedule.sync_name, connection.id = %names.connection_id, "a sync run lost its lease; another replica took it over");
        return;
    }
    let inner = host.inner.lock().await;
    let success = outcome.is_ok();
    let error = outcome.as_ref().err().map(super::action::failure_detail);
    let finished = Finished {
        status: if success { "SUCCESS" } else { "ERROR" },
        run_type,
        result: inner.result.clone(),
        error: error.clone(),
        last_sync_date: success.then_some(started_at),
        state: Some(inner.state.clone()),
    };
    let outcome_code = match &outcome {
        Ok(_) => "success",
        Err(f) => f.code(),
    };
    let logs = std::mem::take(&mut *host.logs.lock().unwrap_or_else(|e| e.into_inner()));
    let proxied_calls = *host.calls.lock().unwrap_or_else(|e| e.into_inner());
    drop(inner);
    let deliveries = match webhook::settings(ctx, &env).await {
        Ok(settings) => sync_webhooks(
            &settings,
            &SyncRun {
                connection_id: &names.connection_id,
                provider_config_key: &names.provider_config_key,
                sync_name: &schedule.sync_name,
                run_type,
                started_at,
                result: &finished.result,
                error: error.as_deref(),
            },
            names.webhook_url_override.as_deref(),
        ),
        Err(_) => Vec::new(),
    };
    if let Err(e) = finish(ctx, &env, &schedule, claim, &finished, &deliveries).await {
        // The lease expires and the run is tried again: at least once, never lost.
        tracing::warn!(error = %crate::chain::ErrorChain(&e), "cannot record the sync's outcome");
        return;
    }
    webhook::wake(ctx);
    let target = super::alert::Target {
        connection_row: schedule.connection_row,
        connection_id: &names.connection_id,
        provider_config_key: &names.provider_config_key,
    };
    match &error {
        None => super::alert::recovered(ctx, &env, target, super::alert::Subject::Sync(&schedule.sync_name)).await,
        Some(detail) => {
            super::alert::failed(ctx, &env, target, super::alert::Subject::Sync(&schedule.sync_name), detail).await;
        }
    }
    let elapsed = started.elapsed();
    ctx.metrics.function_run(&format!("{}/{}", names.provider_config_key, schedule.sync_name), outcome_code, elapsed);
    ctx.metrics.sync_finished(success, elapsed, &finished.result);
    tracing::info!(
        sync = %schedule.sync_name,
        connection.id = %names.connection_id,
        request.id = %request_id,
        run_type,
        status = finished.status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        "sync run"
    );
    ctx.activity.record(CallRecord {
        environment_id: env.id,
        request_id: request_id.to_string(),
        at_ms: now(),
        kind: Kind::Api,
        operation: Some("sync_run"),
        method: "RUN".to_owned(),
        path: format!("/sync/{}", schedule.sync_name),
        status: if success { 200 } else { outcome.as_ref().err().map_or(500, Failure::status) },
        duration_ms: elapsed.as_secs_f64() * 1000.0,
        integration: Some(names.provider_config_key.clone()),
        connection_id: Some(names.connection_id.clone()),
        connection_row: Some(schedule.connection_row),
        upstream_host: None,
        upstream_path: None,
        upstream_status: None,
        attempts: None,
        error_code: (!success).then(|| outcome_code.to_owned()),
        function: Some(FunctionCall {
            name: schedule.sync_name.clone(),
            version: Some(function.version.clone()),
            outcome: outcome_code.to_owned(),
            logs,
            proxied_calls,
        }),
    });
}

/// Records the run's end and queues its webhooks in one transaction; a run that lost its
/// lease records nothing.
async fn finish(
    ctx: &Context,
    env: &Environment,
    schedule: &Schedule,
    claim: i64,
    finished: &Finished,
    deliveries: &[(Vec<String>, String)],
) -> Result<(), crate::db::Error> {
    use sea_orm::TransactionTrait;
    let txn = ctx.db.begin().await?;
    if !repo::sync::finish(&txn, schedule.id, claim, finished, now()).await? {
        return Ok(());
    }
    for (urls, body) in deliveries {
        repo::webhook::enqueue(&txn, env.id, urls, body).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What a `sync` webhook reports.
struct SyncRun<'a> {
    connection_id: &'a str,
    provider_config_key: &'a str,
    sync_name: &'a str,
    run_type: &'a str,
    started_at: i64,
    result: &'a RunResult,
    error: Option<&'a str>,
}

/// Nango's `sync` webhooks of a run: one per model, only for models with changes unless the
/// environment wants every completion; on failure one per model with `success: false` when
/// the environment wants errors.
fn sync_webhooks(
    s: &crate::model::webhook::WebhookSettings,
    run: &SyncRun<'_>,
    url_override: Option<&str>,
) -> Vec<(Vec<String>, String)> {
    let urls: Vec<String> = match url_override.filter(|u| !u.is_empty()) {
        Some(url) => vec![url.to_owned()],
        None => s.primary_url.iter().chain(s.secondary_url.iter()).cloned().collect(),
    };
    if urls.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (model, counts) in run.result {
        let mut body = json!({
            "from": "nango",
            "type": "sync",
            "connectionId": run.connection_id,
            "providerConfigKey": run.provider_config_key,
            "syncName": run.sync_name,
            "syncVariant": "base",
            "model": model,
            "syncType": run.run_type,
        });
        match run.error {
            None => {
                if !counts.changed() && !s.on_sync_completion_always {
                    continue;
                }
                body["success"] = json!(true);
                body["responseResults"] =
                    json!({"added": counts.added, "updated": counts.updated, "deleted": counts.deleted});
                body["modifiedAfter"] = json!(iso(run.started_at));
                body["queryTimeStamp"] = json!(iso(run.started_at));
            }
            Some(error) => {
                if !s.on_sync_error {
                    continue;
                }
                body["success"] = json!(false);
                body["error"] = json!({"type": "script_error", "description": error});
                body["startedAt"] = json!(iso(run.started_at));
                body["failedAt"] = json!(iso(now()));
            }
        }
        out.push((urls.clone(), webhook::canonical_json(&body)));
    }
    out
}

// ---- the `nango` object of a sync ----------------------------------------------------------

struct Inner {
    writer: Writer,
    result: RunResult,
    state: SyncState,
}

/// The server side of a sync run's `nango` object: what actions have, plus records and
/// checkpoints for its connection.
struct SyncHost(Arc<Core>);

/// What a sync run's host operations share (the run keeps it after the function ends).
struct Core {
    span: tracing::Span,
    scope: Scope,
    schedule_id: i64,
    claim: i64,
    models: Vec<String>,
    /// `models_json_schema.definitions` of the deploy.
    schemas: Value,
    validation: RecordValidation,
    /// Set when the run lost its lease: writes are refused from then on.
    lost: Arc<AtomicBool>,
    inner: tokio::sync::Mutex<Inner>,
    logs: Mutex<Vec<(String, String)>>,
    calls: Mutex<u32>,
}

impl Core {
    fn line(&self, level: &str, message: &str) {
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        if logs.len() < MAX_LOG_LINES {
            let mut line = message.to_owned();
            if line.len() > MAX_LOG_LINE {
                let mut cut = MAX_LOG_LINE;
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                line.truncate(cut);
            }
            tracing::info!(request.id = %self.scope.request_id, function.level = level, "function log: {line}");
            logs.push((level.to_owned(), line));
        }
    }

    fn model<'a>(&self, args: &'a Value) -> Result<&'a str, String> {
        let model = args.get("model").and_then(Value::as_str).unwrap_or_default();
        if !self.models.iter().any(|m| m == model) {
            return Err(format!(
                "Model `{model}` is not one of the models this sync declares ({})",
                self.models.join(", ")
            ));
        }
        Ok(model)
    }

    fn records(args: &mut Value) -> Result<Vec<Value>, String> {
        match args.get_mut("records").map(Value::take) {
            Some(Value::Array(records)) if records.len() <= records::MAX_BATCH => Ok(records),
            Some(Value::Array(records)) => {
                Err(format!("A batch holds at most {} records ({} given): split it", records::MAX_BATCH, records.len()))
            }
            _ => Err("Records must be an array".to_owned()),
        }
    }

    /// Checks records against their model's schema: invalid ones are dropped (or kept, when
    /// the environment only logs), and the log names the record, the path and the rule.
    fn validate(&self, model: &str, records: Vec<Value>) -> Vec<Value> {
        if !self.schemas.is_object() {
            return records;
        }
        let mut kept = Vec::with_capacity(records.len());
        let mut refused = 0;
        for record in records {
            let violations = crate::model::record_schema::check(&self.schemas, model, &record);
            if violations.is_empty() {
                kept.push(record);
                continue;
            }
            let id = records::external_id(&record).unwrap_or_else(|_| "(no id)".to_owned());
            let what: Vec<String> = violations
                .iter()
                .take(5)
                .map(|v| format!("{} ({}): {}", if v.path.is_empty() { "/" } else { &v.path }, v.rule, v.message))
                .collect();
            match self.validation {
                RecordValidation::Reject => {
                    refused += 1;
                    self.line(
                        "error",
                        &format!("Record {id} of model {model} is invalid and was not stored: {}", what.join("; ")),
                    );
                }
                RecordValidation::Log => {
                    self.line(
                        "warn",
                        &format!("Record {id} of model {model} is invalid (stored anyway): {}", what.join("; ")),
                    );
                    kept.push(record);
                }
            }
        }
        if refused > 0 {
            tracing::warn!(request.id = %self.scope.request_id, model, refused, "sync records refused by their schema");
        }
        kept
    }

    fn note(&self, op: &str, model: &str, batch: &Batch) {
        if !batch.duplicates.is_empty() {
            self.line(
                "warn",
                &format!(
                    "{op}: {} record(s) of model {model} had an id already in the batch and were dropped: {}",
                    batch.duplicates.len(),
                    batch.duplicates.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
                ),
            );
        }
        if !batch.missing.is_empty() {
            self.line(
                "warn",
                &format!(
                    "{op}: {} record(s) of model {model} are not stored and were skipped: {}",
                    batch.missing.len(),
                    batch.missing.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }

    async fn sync_call(&self, op: &str, mut args: Value) -> HostResult {
        let ctx = &self.scope.ctx;
        let writes = matches!(
            op,
            "batchSave"
                | "batchUpdate"
                | "batchDelete"
                | "trackDeletesStart"
                | "trackDeletesEnd"
                | "deleteRecordsFromPreviousExecutions"
                | "saveCheckpoint"
                | "clearCheckpoint"
        );
        if writes && self.lost.load(Ordering::SeqCst) {
            return Err("This sync run lost its lease (another replica took it over): it cannot write".to_owned());
        }
        let err = |e: Error| e.to_string();
        match op {
            "batchSave" | "batchUpdate" | "batchDelete" => {
                let model = self.model(&args)?.to_owned();
                let mut records = Self::records(&mut args)?;
                if op != "batchDelete" {
                    records = self.validate(&model, records);
                }
                let mut inner = self.inner.lock().await;
                let batch = match op {
                    "batchSave" => inner.writer.save(ctx, &model, records).await,
                    "batchUpdate" => inner.writer.update(ctx, &model, records).await,
                    _ => inner.writer.delete(ctx, &model, records).await,
                }
                .map_err(err)?;
                inner.result.entry(model.clone()).or_default().add(batch.counts);
                drop(inner);
                self.note(op, &model, &batch);
                Ok(Value::Bool(true))
            }
            "getRecords" => {
                let model = self.model(&args)?.to_owned();
                let ids = args.get("ids").and_then(Value::as_array).map(|ids| {
                    ids.iter().filter_map(|v| v.as_str().map(str::to_owned).or_else(|| Some(v.to_string()))).collect()
                });
                let after = match args.get("cursor").and_then(Value::as_str).filter(|c| !c.is_empty()) {
                    None => None,
                    Some(c) => Some(crate::model::sync::decode_cursor(c).ok_or("Invalid cursor")?),
                };
                let row = self.inner.lock().await.writer.connection_row;
                let page = records::page(
                    ctx,
                    row,
                    &model,
                    PageQuery {
                        ids,
                        after,
                        added: true,
                        updated: true,
                        deleted: true,
                        limit: 1000,
                        ..PageQuery::default()
                    },
                )
                .await
                .map_err(err)?;
                Ok(json!({"records": page.records, "next_cursor": page.next_cursor}))
            }
            "trackDeletesStart" => {
                let model = self.model(&args)?.to_owned();
                let mut inner = self.inner.lock().await;
                inner.state.track_deletes.entry(model).or_insert(self.claim);
                self.save_state(&inner.state).await?;
                Ok(Value::Null)
            }
            "trackDeletesEnd" | "deleteRecordsFromPreviousExecutions" => {
                let model = self.model(&args)?.to_owned();
                let mut inner = self.inner.lock().await;
                let since = if op == "trackDeletesEnd" {
                    *inner
                        .state
                        .track_deletes
                        .get(&model)
                        .ok_or_else(|| format!("No track deletes starting point found for model '{model}'."))?
                } else {
                    self.claim
                };
                let keys = inner.writer.delete_unseen(ctx, &model, since).await.map_err(err)?;
                inner.result.entry(model.clone()).or_default().deleted += keys.len() as u64;
                if op == "trackDeletesEnd" {
                    inner.state.track_deletes.remove(&model);
                    self.save_state(&inner.state).await?;
                }
                Ok(json!({"deletedKeys": keys}))
            }
            "getCheckpoint" => Ok(self.inner.lock().await.state.checkpoint.clone().map_or(Value::Null, Value::Object)),
            "saveCheckpoint" => {
                let checkpoint = match args.get_mut("checkpoint").map(Value::take) {
                    Some(Value::Object(map))
                        if map.values().all(|v| v.is_string() || v.is_number() || v.is_boolean()) =>
                    {
                        map
                    }
                    _ => {
                        return Err("A checkpoint is a flat object of strings, numbers and booleans".to_owned());
                    }
                };
                if Value::Object(checkpoint.clone()).to_string().len() > 64 * 1024 {
                    return Err("A checkpoint is at most 64 KiB of JSON".to_owned());
                }
                let mut inner = self.inner.lock().await;
                inner.state.checkpoint = Some(checkpoint);
                self.save_state(&inner.state).await?;
                Ok(Value::Null)
            }
            "clearCheckpoint" => {
                let mut inner = self.inner.lock().await;
                inner.state.checkpoint = None;
                self.save_state(&inner.state).await?;
                Ok(Value::Null)
            }
            _ => self.scope.call(op, args).await,
        }
    }

    async fn save_state(&self, state: &SyncState) -> Result<(), String> {
        match repo::sync::save_state(&self.scope.ctx.db, self.schedule_id, self.claim, state).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.lost.store(true, Ordering::SeqCst);
                Err("This sync run lost its lease (another replica took it over): it cannot write".to_owned())
            }
            Err(_) => Err("Failed to save the sync's state".to_owned()),
        }
    }
}

impl runtime::Host for SyncHost {
    fn call(&self, op: String, args: Value) -> Pin<Box<dyn Future<Output = HostResult> + Send + 'static>> {
        if op == "proxy" {
            *self.0.calls.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        }
        let this = self.0.clone();
        let span = self.0.span.clone();
        Box::pin(async move { this.sync_call(&op, args).await }.instrument(span))
    }

    fn log(&self, level: &str, message: &str) {
        self.0.line(level, message);
    }
}
