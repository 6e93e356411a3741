//! Request logs and per-connection activity.

use std::{collections::HashMap, sync::Arc};

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, Set, sea_query::Expr,
};

use crate::{
    db::{
        Db, Error,
        entity::{connection, connection_activity, integration, request_log},
    },
    model::activity::{
        CallOutcome, CallRecord, ConnectionStatus, ConnectionStatusFilter, Cursor, Dropped, IntegrationStatus, Kind,
        LogEntry, LogFilter, MinuteCount,
    },
    model::id::{EnvironmentId, IntegrationId},
};

/// Writes a marker of records of an environment that were dropped.
pub async fn insert_drop_marker(
    db: &impl sea_orm::ConnectionTrait,
    environment_id: EnvironmentId,
    dropped: &Dropped,
) -> Result<(), Error> {
    request_log::ActiveModel {
        environment_id: Set(environment_id.0),
        request_id: Set(format!("dropped-{}-{}", dropped.from_ms, dropped.to_ms)),
        at_ms: Set(dropped.to_ms),
        kind: Set(Kind::Api.as_str().to_owned()),
        operation: Set(Some(DROPPED.to_owned())),
        method: Set(String::new()),
        path: Set(String::new()),
        status: Set(0),
        duration_ms: Set(0.0),
        error_code: Set(Some(DROPPED.to_owned())),
        dropped: Set(Some(serde_json::to_string(dropped)?)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The operation and error code of a drop marker.
pub const DROPPED: &str = "request_logs_dropped";

/// Writes call records, in a `COPY` (PostgreSQL) or a transaction (SQLite) of their own.
pub async fn insert_logs(db: &Db, batch: &[CallRecord]) -> Result<(), Error> {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        insert_logs_postgres(db, batch).await
    } else {
        insert_logs_sqlite(db, batch).await
    }
}

/// An error of sqlx used directly (the call-history writes), as the repository's error.
fn sqlx_error(e: sea_orm::sqlx::Error) -> Error {
    Error::Db(sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e.into())))
}

/// Writes call records on SQLite in one transaction of its own, with sqlx directly: the
/// record's text is bound where it lies (one copy, into the driver's command), not first
/// copied into `sea_orm::Value`s and converted (about a third of the writer's work per record).
async fn insert_logs_sqlite(db: &Db, batch: &[CallRecord]) -> Result<(), Error> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut tx = db.get_sqlite_connection_pool().begin().await.map_err(sqlx_error)?;
    // Chunks of power-of-two sizes: at most nine statements per batch, each one of nine
    // texts, so the driver's prepared-statement cache always hits (a statement per batch
    // size would be prepared again for almost every batch).
    let mut rest = batch;
    while !rest.is_empty() {
        let n = 1usize << rest.len().min(256).ilog2();
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let functions: Vec<Option<String>> =
            chunk.iter().map(|r| r.function.as_ref().and_then(|f| serde_json::to_string(f).ok())).collect();
        let mut query = sea_orm::sqlx::query(insert_logs_sql(n));
        // Texts bound as `Arc<str>`: one allocation each for the driver's copy (a `&str` costs
        // two, a `String` and the `Arc` around it).
        let text = |s: &str| Arc::<str>::from(s);
        for (r, function) in chunk.iter().zip(functions) {
            query = query
                .bind(r.environment_id.0)
                .bind(text(&r.request_id))
                .bind(r.at_ms)
                .bind(text(r.kind.as_str()))
                .bind(r.operation.map(text))
                .bind(text(&r.method))
                .bind(text(&r.path))
                .bind(i32::from(r.status))
                .bind(r.duration_ms)
                .bind(r.integration.as_deref().map(text))
                .bind(r.connection_id.as_deref().map(text))
                .bind(r.upstream_host.as_deref().map(text))
                .bind(r.upstream_path.as_deref().map(text))
                .bind(r.upstream_status.map(i32::from))
                .bind(r.attempts.map(|a| i32::try_from(a).unwrap_or(i32::MAX)))
                .bind(r.error_code.as_deref().map(text))
                .bind(function);
        }
        query.execute(&mut *tx).await.map_err(sqlx_error)?;
    }
    tx.commit().await.map_err(sqlx_error)?;
    Ok(())
}

/// Writes call records on PostgreSQL with one `COPY … FROM STDIN` (text format), whatever
/// the batch's size: PostgreSQL inserts copied rows in bulk, without an executor per row, and
/// takes a batch in about a third less time than `INSERT … SELECT FROM UNNEST` of 17 arrays
/// (`bash bench/pg_insert.sh`; docs/performance.md). Outside any transaction: its own commit.
/// The rows are sent in chunks of about 64 KiB, so a batch's text is never held whole.
async fn insert_logs_postgres(db: &Db, batch: &[CallRecord]) -> Result<(), Error> {
    if batch.is_empty() {
        return Ok(());
    }
    const CHUNK: usize = 64 * 1024;
    let mut conn = db.get_postgres_connection_pool().acquire().await.map_err(sqlx_error)?;
    let copied = async {
        let mut copy = conn.copy_in_raw(copy_logs_sql()).await?;
        let mut text = Vec::with_capacity(CHUNK + 1024);
        for record in batch {
            copy_row(&mut text, record);
            if text.len() >= CHUNK {
                copy.send(text.as_slice()).await?;
                text.clear();
            }
        }
        if !text.is_empty() {
            copy.send(text.as_slice()).await?;
        }
        copy.finish().await
    }
    .await;
    match copied {
        Ok(_) => {
            // A batch's copy passes through the connection's buffers; the pool's connections
            // take turns writing batches, and each would keep buffers that large.
            sea_orm::sqlx::Connection::shrink_buffers(&mut *conn);
            Ok(())
        }
        Err(e) => {
            // A copy that failed half-way may leave the connection in the middle of the
            // protocol: it is closed rather than handed to the next query.
            conn.close_on_drop();
            Err(sqlx_error(e))
        }
    }
}

/// `COPY request_logs (…) FROM STDIN`, the columns of [`LOG_COLUMNS`] in order.
fn copy_logs_sql() -> &'static str {
    use std::sync::OnceLock;
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| format!("COPY request_logs ({}) FROM STDIN", LOG_COLUMNS.join(", ")))
}

/// Appends one record as a line of `COPY`'s text format, in the order of [`LOG_COLUMNS`].
fn copy_row(out: &mut Vec<u8>, r: &CallRecord) {
    use std::io::Write;
    fn text(out: &mut Vec<u8>, value: Option<&str>) {
        let Some(value) = value else {
            out.extend_from_slice(b"\\N\t");
            return;
        };
        for &b in value.as_bytes() {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                // PostgreSQL's text holds no NUL (none can reach a record: header values
                // and URIs refuse it, JSON escapes it).
                0 => {}
                _ => out.push(b),
            }
        }
        out.push(b'\t');
    }
    fn number(out: &mut Vec<u8>, value: Option<impl std::fmt::Display>) {
        match value {
            Some(v) => {
                let _ = write!(out, "{v}\t");
            }
            None => out.extend_from_slice(b"\\N\t"),
        }
    }
    let function = r.function.as_ref().and_then(|f| serde_json::to_string(f).ok());
    number(out, Some(r.environment_id.0));
    text(out, Some(&r.request_id));
    number(out, Some(r.at_ms));
    text(out, Some(r.kind.as_str()));
    text(out, r.operation);
    text(out, Some(&r.method));
    text(out, Some(&r.path));
    number(out, Some(r.status));
    // Rust prints every finite f64 without an exponent; PostgreSQL reads that exactly.
    number(out, Some(if r.duration_ms.is_finite() { r.duration_ms } else { 0.0 }));
    text(out, r.integration.as_deref());
    text(out, r.connection_id.as_deref());
    text(out, r.upstream_host.as_deref());
    text(out, r.upstream_path.as_deref());
    number(out, r.upstream_status);
    number(out, r.attempts.map(|a| i32::try_from(a).unwrap_or(i32::MAX)));
    text(out, r.error_code.as_deref());
    text(out, function.as_deref());
    // The last column's tab becomes the line's end.
    out.pop();
    out.push(b'\n');
}

/// The columns the call history writes, in the order they are bound (SQLite) or copied
/// (PostgreSQL).
const LOG_COLUMNS: [&str; 17] = [
    "environment_id",
    "request_id",
    "at_ms",
    "kind",
    "operation",
    "method",
    "path",
    "status",
    "duration_ms",
    "integration",
    "connection_id",
    "upstream_host",
    "upstream_path",
    "upstream_status",
    "attempts",
    "error_code",
    "function",
];

/// `INSERT INTO request_logs (…) VALUES (?, …), …` for `rows` rows (a power of two up to
/// 256), built once per size.
fn insert_logs_sql(rows: usize) -> &'static str {
    use std::sync::OnceLock;
    static SQL: OnceLock<[String; 9]> = OnceLock::new();
    let texts = SQL.get_or_init(|| {
        std::array::from_fn(|power| {
            let row = format!("({})", vec!["?"; LOG_COLUMNS.len()].join(", "));
            let rows = vec![row.as_str(); 1usize << power].join(", ");
            format!("INSERT INTO request_logs ({}) VALUES {rows}", LOG_COLUMNS.join(", "))
        })
    });
    &texts[rows.trailing_zeros() as usize]
}

/// Remembers the newest success and failure of a connection, unless newer ones are stored
/// (batches of several replicas may arrive out of order).
pub async fn touch(
    db: &impl sea_orm::ConnectionTrait,
    connection_row: i64,
    success: Option<&CallRecord>,
    failure: Option<&CallRecord>,
) -> Result<(), Error> {
    use connection_activity::Column as C;
    connection_activity::Entity::insert(connection_activity::ActiveModel {
        connection_row: Set(connection_row),
        last_success_at_ms: Set(None),
        last_success_status: Set(None),
        last_success_request_id: Set(None),
        last_failure_at_ms: Set(None),
        last_failure_status: Set(None),
        last_failure_request_id: Set(None),
        last_failure_code: Set(None),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    if let Some(r) = success {
        connection_activity::Entity::update_many()
            .col_expr(C::LastSuccessAtMs, Expr::value(r.at_ms))
            .col_expr(C::LastSuccessStatus, Expr::value(i32::from(r.status)))
            .col_expr(C::LastSuccessRequestId, Expr::value(r.request_id.clone()))
            .filter(C::ConnectionRow.eq(connection_row))
            .filter(Condition::any().add(C::LastSuccessAtMs.is_null()).add(C::LastSuccessAtMs.lte(r.at_ms)))
            .exec(db)
            .await?;
    }
    if let Some(r) = failure {
        connection_activity::Entity::update_many()
            .col_expr(C::LastFailureAtMs, Expr::value(r.at_ms))
            .col_expr(C::LastFailureStatus, Expr::value(i32::from(r.status)))
            .col_expr(C::LastFailureRequestId, Expr::value(r.request_id.clone()))
            .col_expr(C::LastFailureCode, Expr::value(r.error_code.clone()))
            .filter(C::ConnectionRow.eq(connection_row))
            .filter(Condition::any().add(C::LastFailureAtMs.is_null()).add(C::LastFailureAtMs.lte(r.at_ms)))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Which of `rows` are connections that still exist.
pub async fn existing_connections(
    db: &impl sea_orm::ConnectionTrait,
    rows: &[i64],
) -> Result<std::collections::HashSet<i64>, Error> {
    let mut out = std::collections::HashSet::new();
    for chunk in rows.chunks(500) {
        let ids: Vec<i64> = connection::Entity::find()
            .select_only()
            .column(connection::Column::Id)
            .filter(connection::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(ids);
    }
    Ok(out)
}

/// Deletes logs older than `before_ms`; returns how many.
pub async fn purge(db: &Db, before_ms: i64) -> Result<u64, Error> {
    let result = request_log::Entity::delete_many().filter(request_log::Column::AtMs.lt(before_ms)).exec(db).await?;
    Ok(result.rows_affected)
}

fn entry(m: request_log::Model) -> LogEntry {
    let u16_of = |v: i32| u16::try_from(v).unwrap_or_default();
    LogEntry {
        row: m.id,
        dropped: m.dropped.as_deref().and_then(|d| serde_json::from_str(d).ok()),
        operation: m.operation,
        record: CallRecord {
            environment_id: EnvironmentId(m.environment_id),
            request_id: m.request_id,
            at_ms: m.at_ms,
            kind: if m.kind == "proxy" { Kind::Proxy } else { Kind::Api },
            operation: None,
            method: m.method,
            path: m.path,
            status: u16_of(m.status),
            duration_ms: m.duration_ms,
            integration: m.integration,
            connection_id: m.connection_id,
            connection_row: None,
            upstream_host: m.upstream_host,
            upstream_path: m.upstream_path,
            upstream_status: m.upstream_status.map(u16_of),
            attempts: m.attempts.map(|a| u32::try_from(a).unwrap_or_default()),
            error_code: m.error_code,
            function: m.function.as_deref().and_then(|f| serde_json::from_str(f).ok()),
        },
    }
}

/// Newest-first logs of the environment matching `filter`, after `cursor`.
pub async fn list_logs(
    db: &Db,
    environment_id: EnvironmentId,
    filter: &LogFilter,
    limit: u64,
    cursor: Option<Cursor>,
) -> Result<Vec<LogEntry>, Error> {
    use request_log::Column as C;
    let mut query = request_log::Entity::find().filter(C::EnvironmentId.eq(environment_id));
    if let Some(key) = &filter.integration {
        query = query.filter(C::Integration.eq(key.as_str()));
    }
    if let Some(id) = &filter.connection_id {
        query = query.filter(C::ConnectionId.eq(id.as_str()));
    }
    if let Some(status) = filter.status {
        let (low, high) = status.range();
        query = query.filter(C::Status.between(i32::from(low), i32::from(high)));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(C::Kind.eq(kind.as_str()));
    }
    if let Some(from) = filter.from_ms {
        query = query.filter(C::AtMs.gte(from));
    }
    if let Some(to) = filter.to_ms {
        query = query.filter(C::AtMs.lt(to));
    }
    if let Some(c) = cursor {
        query = query.filter(
            Condition::any()
                .add(C::AtMs.lt(c.at_ms))
                .add(Condition::all().add(C::AtMs.eq(c.at_ms)).add(C::Id.lt(c.id))),
        );
    }
    let rows = query.order_by_desc(C::AtMs).order_by_desc(C::Id).limit(limit).all(db).await?;
    Ok(rows.into_iter().map(entry).collect())
}

/// The entries of the environment with request id `request_id` (a call, and the proxied
/// calls of the function it ran share one), oldest first, at most `limit`. There is no index
/// on the request id (it would cost every proxied call's insert): with `window` (inclusive
/// milliseconds) the time index narrows the read to those rows; without, this reads the
/// environment's rows.
pub async fn logs_by_request_id(
    db: &Db,
    environment_id: EnvironmentId,
    request_id: &str,
    limit: u64,
    window: Option<(i64, i64)>,
) -> Result<Vec<LogEntry>, Error> {
    use request_log::Column as C;
    let mut query = request_log::Entity::find().filter(C::EnvironmentId.eq(environment_id));
    if let Some((from, to)) = window {
        query = query.filter(C::AtMs.between(from, to));
    }
    let rows = query
        .filter(C::RequestId.eq(request_id))
        .order_by_asc(C::AtMs)
        .order_by_asc(C::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(entry).collect())
}

/// Calls of the environment (optionally about one integration) that ended in
/// `[from_ms, to_ms)`, counted per minute, oldest first; minutes without calls are absent.
/// Drop markers are not calls and are left out.
pub async fn calls_per_minute(
    db: &Db,
    environment_id: EnvironmentId,
    integration: Option<&str>,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<MinuteCount>, Error> {
    use request_log::Column as C;
    // Integer division on both backends (`at_ms` is a 64-bit integer); a literal, not a
    // parameter, so that the grouped expression is the selected one on PostgreSQL.
    const MINUTE: &str = "at_ms / 60000";
    let mut query = request_log::Entity::find()
        .select_only()
        .column_as(Expr::cust(MINUTE), "minute")
        .column_as(Expr::cust("COUNT(*)"), "requests")
        .column_as(Expr::cust("SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END)"), "errors")
        .filter(C::EnvironmentId.eq(environment_id))
        .filter(C::AtMs.gte(from_ms))
        .filter(C::AtMs.lt(to_ms))
        .filter(C::Dropped.is_null());
    if let Some(key) = integration {
        query = query.filter(C::Integration.eq(key));
    }
    let rows: Vec<(i64, i64, i64)> =
        query.group_by(Expr::cust(MINUTE)).order_by_asc(Expr::cust(MINUTE)).into_tuple().all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(minute, requests, errors)| MinuteCount {
            minute_ms: minute * 60_000,
            requests: u64::try_from(requests).unwrap_or_default(),
            errors: u64::try_from(errors).unwrap_or_default(),
        })
        .collect())
}

fn success_of(a: &connection_activity::Model) -> Option<CallOutcome> {
    Some(CallOutcome {
        at_ms: a.last_success_at_ms?,
        status: a.last_success_status.and_then(|s| u16::try_from(s).ok()).unwrap_or_default(),
        request_id: a.last_success_request_id.clone().unwrap_or_default(),
        error_code: None,
        connection_id: None,
    })
}

fn failure_of(a: &connection_activity::Model) -> Option<CallOutcome> {
    Some(CallOutcome {
        at_ms: a.last_failure_at_ms?,
        status: a.last_failure_status.and_then(|s| u16::try_from(s).ok()).unwrap_or_default(),
        request_id: a.last_failure_request_id.clone().unwrap_or_default(),
        error_code: a.last_failure_code.clone(),
        connection_id: None,
    })
}

/// Connections of the environment (optionally of one integration), newest row first, after
/// row `cursor`, with their activity.
pub async fn connection_statuses(
    db: &Db,
    environment_id: EnvironmentId,
    integration_id: Option<IntegrationId>,
    filter: &ConnectionStatusFilter,
    limit: u64,
    cursor: Option<i64>,
) -> Result<Vec<ConnectionStatus>, Error> {
    use connection::Column as C;
    let mut query = connection::Entity::find()
        .select_only()
        .columns([C::Id, C::IntegrationId, C::ConnectionId, C::AuthErrorAt, C::AuthErrorLogId])
        .filter(C::EnvironmentId.eq(environment_id));
    if let Some(id) = integration_id {
        query = query.filter(C::IntegrationId.eq(id));
    }
    if let Some(id) = &filter.connection_id {
        query = query.filter(C::ConnectionId.eq(id.as_str()));
    }
    match filter.auth_error {
        Some(true) => query = query.filter(C::AuthErrorAt.is_not_null()),
        Some(false) => query = query.filter(C::AuthErrorAt.is_null()),
        None => {}
    }
    if let Some(row) = cursor {
        query = query.filter(C::Id.lt(row));
    }
    type Row = (i64, i64, String, Option<chrono::DateTime<chrono::Utc>>, Option<String>);
    let rows: Vec<Row> = query.order_by_desc(C::Id).limit(limit).into_tuple().all(db).await?;
    let names: HashMap<i64, String> = integration::Entity::find()
        .select_only()
        .columns([integration::Column::Id, integration::Column::UniqueKey])
        .filter(integration::Column::EnvironmentId.eq(environment_id))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let activity: HashMap<i64, connection_activity::Model> = connection_activity::Entity::find()
        .filter(connection_activity::Column::ConnectionRow.is_in(rows.iter().map(|r| r.0)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.connection_row, a))
        .collect();
    Ok(rows
        .into_iter()
        .map(|(row, integration_id, connection_id, error_at, error_log)| {
            let a = activity.get(&row);
            ConnectionStatus {
                row,
                connection_id,
                provider_config_key: names.get(&integration_id).cloned().unwrap_or_default(),
                auth_error: error_at.map(|at| (at, error_log.unwrap_or_default())),
                last_success: a.and_then(success_of),
                last_failure: a.and_then(failure_of),
            }
        })
        .collect())
}

/// The newest success and failure of each of the connection rows `rows` (rows without any
/// call are absent).
pub async fn outcomes_of(
    db: &Db,
    rows: &[i64],
) -> Result<HashMap<i64, (Option<CallOutcome>, Option<CallOutcome>)>, Error> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(connection_activity::Entity::find()
        .filter(connection_activity::Column::ConnectionRow.is_in(rows.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.connection_row, (success_of(&a), failure_of(&a))))
        .collect())
}

/// Per integration of the environment (or the one named): connection counts and the newest
/// success and failure over its connections.
pub async fn integration_statuses(
    db: &Db,
    environment_id: EnvironmentId,
    unique_key: Option<&str>,
) -> Result<Vec<IntegrationStatus>, Error> {
    use connection_activity::Column as A;
    let mut query = integration::Entity::find()
        .select_only()
        .columns([integration::Column::Id, integration::Column::UniqueKey, integration::Column::Provider])
        .filter(integration::Column::EnvironmentId.eq(environment_id));
    if let Some(key) = unique_key {
        query = query.filter(integration::Column::UniqueKey.eq(key));
    }
    let integrations: Vec<(i64, String, String)> =
        query.order_by_asc(integration::Column::Id).into_tuple().all(db).await?;
    let counts: HashMap<i64, (i64, i64)> = connection::Entity::find()
        .select_only()
        .column(connection::Column::IntegrationId)
        .column_as(connection::Column::Id.count(), "connections")
        .column_as(connection::Column::AuthErrorAt.count(), "auth_errors")
        .filter(connection::Column::EnvironmentId.eq(environment_id))
        .group_by(connection::Column::IntegrationId)
        .into_tuple::<(i64, i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, n, errors)| (id, (n, errors)))
        .collect();
    let mut out = Vec::with_capacity(integrations.len());
    for (id, unique_key, provider) in integrations {
        let newest = |at: A, status: A, request: A| {
            connection_activity::Entity::find()
                .select_only()
                .column(connection::Column::ConnectionId)
                .columns([at, status, request])
                .join(JoinType::InnerJoin, connection_activity::Relation::Connection.def())
                .filter(connection::Column::IntegrationId.eq(id))
                .filter(at.is_not_null())
                .order_by_desc(at)
                .into_tuple::<(String, i64, Option<i32>, Option<String>)>()
                .one(db)
        };
        let outcome = |found: Option<(String, i64, Option<i32>, Option<String>)>| {
            found.map(|(connection_id, at_ms, status, request_id)| CallOutcome {
                at_ms,
                status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or_default(),
                request_id: request_id.unwrap_or_default(),
                error_code: None,
                connection_id: Some(connection_id),
            })
        };
        let last_success = outcome(newest(A::LastSuccessAtMs, A::LastSuccessStatus, A::LastSuccessRequestId).await?);
        let last_failure = outcome(newest(A::LastFailureAtMs, A::LastFailureStatus, A::LastFailureRequestId).await?);
        let (connections, with_errors) = counts.get(&id).copied().unwrap_or_default();
        out.push(IntegrationStatus {
            unique_key,
            provider,
            connections: u64::try_from(connections).unwrap_or_default(),
            connections_with_auth_error: u64::try_from(with_errors).unwrap_or_default(),
            last_success,
            last_failure,
        });
    }
    Ok(out)
}
