//! Call history: every API call and proxied call becomes a [`CallRecord`], handed to a
//! bounded queue without waiting (the request never waits for the database), and written in
//! batches by [`run_writer`]: into `request_logs` (kept for the configured retention, read
//! with [`list`]) and, for proxied calls, into each connection's last success / last failure
//! (read with [`connection_statuses`] and [`integration_statuses`]).

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::sync::mpsc;

use super::{Context, Error};
use crate::{
    chain::ErrorChain,
    db::repo,
    model::{
        activity::{
            CallOutcome, CallRecord, ConnectionStatus, ConnectionStatusFilter, Cursor, Dropped, IntegrationStatus,
            Kind, LogEntry, LogFilter, MinuteCount,
        },
        environment::Environment,
        id::EnvironmentId,
    },
};

/// The queue between requests and the writer.
#[derive(Debug)]
pub struct Activity {
    tx: mpsc::Sender<CallRecord>,
    rx: Mutex<Option<mpsc::Receiver<CallRecord>>>,
    /// Whether `request_logs` is written (a retention of 0 keeps only connection activity).
    keep_logs: bool,
    retention: Duration,
    dropped: AtomicU64,
    capacity: usize,
    /// Drops per environment since the writer last wrote their markers.
    drops: Mutex<HashMap<EnvironmentId, Dropped>>,
}

/// Records waiting in the queue by default (`NANGO_LOG_QUEUE`); beyond, records are dropped,
/// counted, and a marker says so in `GET /logs`.
pub const DEFAULT_QUEUE: usize = 16_384;
/// Most records written in one transaction: on SQLite 512 (the writer keeps up with the
/// proxy, and larger batches only cost memory); on PostgreSQL 4096, where a batch costs a few
/// round trips and two commits whatever its size, so that one writer keeps up there too.
/// Their memory is bounded by the queue anyway.
fn batch_size(ctx: &Context) -> usize {
    if ctx.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres { 4096 } else { 512 }
}
/// Longest a record waits for others to share its write.
const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// How often the writer looks at the queue while it gathers.
const GATHER_STEP: Duration = Duration::from_millis(10);

impl Activity {
    /// A queue of `capacity` records for a server keeping logs for `retention` (zero: none
    /// kept).
    pub fn new(retention: Duration, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (tx, rx) = mpsc::channel(capacity);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            keep_logs: !retention.is_zero(),
            retention,
            dropped: AtomicU64::new(0),
            capacity,
            drops: Mutex::new(HashMap::new()),
        }
    }

    /// Queues a record; never waits. When the writer cannot keep up the record is dropped,
    /// counted (`nango_request_logs_dropped_total`) and remembered for the environment's next
    /// drop marker (a `GET /logs` entry with the count and the time span).
    pub fn record(&self, record: CallRecord) {
        if !self.keep_logs && record.connection_row.is_none() {
            return;
        }
        if let Err(e) = self.tx.try_send(record) {
            let record = match e {
                mpsc::error::TrySendError::Full(r) | mpsc::error::TrySendError::Closed(r) => r,
            };
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.note_drop(record.environment_id, record.at_ms, 1);
        }
    }

    fn note_drop(&self, environment_id: EnvironmentId, at_ms: i64, count: u64) {
        let mut drops = self.drops.lock().unwrap_or_else(|e| e.into_inner());
        drops
            .entry(environment_id)
            .and_modify(|d| {
                d.count += count;
                d.from_ms = d.from_ms.min(at_ms);
                d.to_ms = d.to_ms.max(at_ms);
            })
            .or_insert(Dropped { count, from_ms: at_ms, to_ms: at_ms });
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records waiting to be written.
    pub fn queued(&self) -> usize {
        self.capacity - self.tx.capacity()
    }
}

/// Writes queued records until `shutdown` resolves, then writes what is still queued and
/// returns (so the outcome of every call served before shutdown is kept). Also deletes logs
/// older than the retention, every ten minutes.
pub async fn run_writer(ctx: Context, shutdown: impl Future<Output = ()>) {
    let Some(mut rx) = ctx.activity.rx.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return; // another writer runs for this state
    };
    tokio::pin!(shutdown);
    let mut purge = tokio::time::interval(Duration::from_secs(600));
    let max = batch_size(&ctx);
    let mut batch = Vec::with_capacity(max);
    loop {
        tokio::select! {
            biased;
            n = rx.recv_many(&mut batch, max) => {
                if n == 0 {
                    return;
                }
                // Gather for a moment: one transaction (one commit, one fsync) per
                // FLUSH_EVERY instead of one per handful of records. The queue is looked at
                // every GATHER_STEP rather than received from: a receive would wake this task
                // (on another thread than the requests) for every record.
                let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
                loop {
                    let now = tokio::time::Instant::now();
                    if batch.len() + rx.len() >= max || now >= deadline {
                        break;
                    }
                    tokio::time::sleep(GATHER_STEP.min(deadline - now)).await;
                }
                while batch.len() < max {
                    match rx.try_recv() {
                        Ok(record) => batch.push(record),
                        Err(_) => break,
                    }
                }
                write(&ctx, &mut batch).await;
            }
            _ = purge.tick(), if ctx.activity.keep_logs => purge_expired(&ctx).await,
            () = &mut shutdown => break,
        }
    }
    rx.close();
    while rx.recv_many(&mut batch, max).await > 0 {
        write(&ctx, &mut batch).await;
    }
}

/// Writes a batch in two parts, so that a failure of one does not lose the other: the logs
/// (one statement on PostgreSQL, one transaction on SQLite, with sqlx directly) followed by
/// the pending drop markers, then the connections' activity in one transaction. One commit
/// (one fsync on SQLite) per part, not one per statement.
async fn write(ctx: &Context, batch: &mut Vec<CallRecord>) {
    let started = std::time::Instant::now();
    if ctx.activity.keep_logs {
        write_logs(ctx, batch).await;
    }
    if let Err(e) = write_activity(ctx, batch).await {
        tracing::warn!(error = %ErrorChain(&e), records = batch.len(), "could not store the connections' last calls");
    }
    tracing::debug!(records = batch.len(), ms = started.elapsed().as_millis(), "wrote a batch of call records");
    batch.clear();
}

/// Nothing is lost quietly: logs that could not be stored count as dropped (and are marked in
/// `GET /logs` by a later batch), and markers that could not be written wait for the next.
async fn write_logs(ctx: &Context, batch: &[CallRecord]) {
    let markers: Vec<(EnvironmentId, Dropped)> =
        std::mem::take(&mut *ctx.activity.drops.lock().unwrap_or_else(|e| e.into_inner())).into_iter().collect();
    let mut unwritten = &markers[..];
    match repo::activity::insert_logs(&ctx.db, batch).await {
        Ok(()) => {
            for (env, dropped) in &markers {
                if let Err(e) = repo::activity::insert_drop_marker(&ctx.db, *env, dropped).await {
                    tracing::warn!(error = %ErrorChain(&e), "could not write a request-log drop marker");
                    break;
                }
                unwritten = &unwritten[1..];
            }
        }
        Err(e) => {
            tracing::warn!(error = %ErrorChain(&e), records = batch.len(), "could not store request logs");
            ctx.activity.dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
            for r in batch {
                ctx.activity.note_drop(r.environment_id, r.at_ms, 1);
            }
        }
    }
    for (env, d) in unwritten {
        ctx.activity.note_drop(*env, d.from_ms, d.count);
        ctx.activity.note_drop(*env, d.to_ms, 0);
    }
}

/// Each connection's newest success and failure of the batch.
async fn write_activity(ctx: &Context, batch: &[CallRecord]) -> Result<(), crate::db::Error> {
    use sea_orm::TransactionTrait;
    // Per connection, the newest success and the newest failure of this batch.
    let mut latest: HashMap<i64, (Option<&CallRecord>, Option<&CallRecord>)> = HashMap::new();
    for record in batch.iter().filter(|r| r.kind == Kind::Proxy) {
        let Some(row) = record.connection_row else { continue };
        let entry = latest.entry(row).or_default();
        let slot = if record.succeeded() { &mut entry.0 } else { &mut entry.1 };
        if slot.is_none_or(|r| r.at_ms <= record.at_ms) {
            *slot = Some(record);
        }
    }
    if latest.is_empty() {
        return Ok(()); // API calls only: no transaction (and no commit) for nothing
    }
    let txn = ctx.db.begin().await?;
    let rows: Vec<i64> = latest.keys().copied().collect();
    let live = repo::activity::existing_connections(&txn, &rows).await?;
    for (row, (success, failure)) in latest {
        // A connection deleted since the call has no activity to keep.
        if live.contains(&row) {
            repo::activity::touch(&txn, row, success, failure).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

async fn purge_expired(ctx: &Context) {
    let retention = chrono::Duration::from_std(ctx.activity.retention).unwrap_or(chrono::Duration::MAX);
    let before = chrono::Utc::now().checked_sub_signed(retention).map_or(0, |t| t.timestamp_millis());
    match repo::activity::purge(&ctx.db, before).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "deleted request logs older than the retention"),
        Err(e) => tracing::warn!(error = %ErrorChain(&e), "could not delete expired request logs"),
    }
}

/// Newest-first entries of the environment matching `filter`, at most `limit`, after
/// `cursor`; with the cursor of the next page when there is one.
pub async fn list(
    ctx: &Context,
    env: &Environment,
    filter: &LogFilter,
    limit: u64,
    cursor: Option<Cursor>,
) -> Result<(Vec<LogEntry>, Option<Cursor>), Error> {
    let mut rows = repo::activity::list_logs(&ctx.db, env.id, filter, limit + 1, cursor)
        .await
        .map_err(Error::internal("Failed to read the request logs"))?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|e| Cursor { at_ms: e.record.at_ms, id: e.row })
    } else {
        None
    };
    Ok((rows, next))
}

/// Most entries [`by_request_id`] returns: a call and the proxied calls of its function.
pub const REQUEST_ENTRIES: u64 = 1000;

/// How far from a call's time the entries of its request are looked for (the longest action
/// runs 15 minutes; its proxied calls fall within it).
const REQUEST_WINDOW_MS: i64 = 16 * 60 * 1000;

/// The entries of one request of the environment, oldest first (the call, and the proxied
/// calls of the function it ran, which carry its id); empty when there is none (any more).
/// With `near_ms` (the call's time, when the caller knows it) only the rows within
/// [`REQUEST_WINDOW_MS`] of it are read, through the time index.
pub async fn by_request_id(
    ctx: &Context,
    env: &Environment,
    request_id: &str,
    near_ms: Option<i64>,
) -> Result<Vec<LogEntry>, Error> {
    let window = near_ms.map(|at| (at.saturating_sub(REQUEST_WINDOW_MS), at.saturating_add(REQUEST_WINDOW_MS)));
    repo::activity::logs_by_request_id(&ctx.db, env.id, request_id, REQUEST_ENTRIES, window)
        .await
        .map_err(Error::internal("Failed to read the request logs"))
}

/// Calls and failed calls (status 400 and above) per minute over `[from_ms, to_ms)`, of
/// the environment or of one of its integrations; minutes without calls are absent.
pub async fn per_minute(
    ctx: &Context,
    env: &Environment,
    integration: Option<&str>,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<MinuteCount>, Error> {
    repo::activity::calls_per_minute(&ctx.db, env.id, integration, from_ms, to_ms)
        .await
        .map_err(Error::internal("Failed to count the calls per minute"))
}

/// Connections of the environment, newest first, with their health; `cursor` is the last
/// row seen.
pub async fn connection_statuses(
    ctx: &Context,
    env: &Environment,
    filter: &ConnectionStatusFilter,
    limit: u64,
    cursor: Option<i64>,
) -> Result<(Vec<ConnectionStatus>, Option<i64>), Error> {
    let integration_id = match &filter.integration {
        None => None,
        Some(key) => Some(
            repo::integration::find(&ctx.db, &ctx.cipher, env.id, key)
                .await
                .map_err(Error::internal("Failed to load the integration"))?
                .ok_or_else(|| Error::UnknownIntegration(format!("There is no integration `{key}`.")))?
                .id,
        ),
    };
    let mut rows = repo::activity::connection_statuses(&ctx.db, env.id, integration_id, filter, limit + 1, cursor)
        .await
        .map_err(Error::internal("Failed to read the connections' status"))?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|s| s.row)
    } else {
        None
    };
    Ok((rows, next))
}

/// The newest successful and failed proxied call of each of the connections `rows` (their
/// `ConnectionRecord::id`), for a page of connections; rows without a call are absent.
pub async fn outcomes_of(
    ctx: &Context,
    rows: &[i64],
) -> Result<HashMap<i64, (Option<CallOutcome>, Option<CallOutcome>)>, Error> {
    repo::activity::outcomes_of(&ctx.db, rows).await.map_err(Error::internal("Failed to read the connections' status"))
}

/// The health of every integration of the environment (or of one, by key).
pub async fn integration_statuses(
    ctx: &Context,
    env: &Environment,
    unique_key: Option<&str>,
) -> Result<Vec<IntegrationStatus>, Error> {
    repo::activity::integration_statuses(&ctx.db, env.id, unique_key)
        .await
        .map_err(Error::internal("Failed to read the integrations' status"))
}
