//! Call history and health: `GET /logs` (the stored request logs), `GET /status/integrations`
//! and `GET /status/connections` (last successful and failed proxied call, auth errors).

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{Enum, Object, OpenApi, param::Query, payload::Json};

use super::{
    ApiTags,
    extract::{DocOnly, SecretKey},
    validate::{self, issue},
};
use crate::{
    AppState,
    error::{ApiError, Code, ValidationIssue},
    model::activity::{
        CallOutcome, ConnectionStatus, ConnectionStatusFilter, Cursor, IntegrationStatus, Kind, LogEntry, LogFilter,
        StatusFilter,
    },
    service::activity as svc,
};

/// Whether a call was to the API or through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum CallKind {
    /// A call to this API.
    Api,
    /// A call through the proxy.
    Proxy,
}

/// What the proxy sent upstream.
#[derive(Debug, Clone, Object)]
pub struct UpstreamCall {
    /// The upstream's host.
    pub host: String,
    /// The upstream path (without the query string).
    pub path: String,
    /// The last status the upstream answered (absent when it never answered).
    #[oai(skip_serializing_if_is_none)]
    pub status: Option<u16>,
    /// How many attempts were made (retries included).
    pub attempts: u32,
}

/// One call, as stored. Never holds credentials, keys, query strings or bodies.
#[derive(Debug, Clone, Object)]
pub struct LogEntryResponse {
    /// The request's id (its `X-Nango-Request-Id` header).
    pub id: String,
    /// When the call finished.
    pub created_at: DateTime<Utc>,
    /// API call or proxied call.
    #[oai(rename = "type")]
    pub kind: CallKind,
    /// The API operation (API calls).
    #[oai(skip_serializing_if_is_none)]
    pub operation: Option<String>,
    /// HTTP method.
    pub method: String,
    /// The request's path, without the query string.
    pub path: String,
    /// The status this server answered.
    pub status: u16,
    /// How long the call took on this server, until the response headers, in milliseconds.
    pub duration_ms: f64,
    /// The integration's unique key, when the call was about one.
    #[oai(skip_serializing_if_is_none)]
    pub provider_config_key: Option<String>,
    /// The connection's id, when the call was about one.
    #[oai(skip_serializing_if_is_none)]
    pub connection_id: Option<String>,
    /// What the proxy sent upstream (proxied calls that got that far).
    #[oai(skip_serializing_if_is_none)]
    pub upstream: Option<UpstreamCall>,
    /// The error code this server answered (error responses).
    #[oai(skip_serializing_if_is_none)]
    pub error_code: Option<String>,
    /// The function the call ran (action triggers, asynchronous action runs, sync runs).
    #[oai(skip_serializing_if_is_none)]
    pub function: Option<FunctionRunResponse>,
    /// On a marker entry (`operation` `request_logs_dropped`) instead of a call: records of
    /// this environment that were not kept because the database could not keep up.
    #[oai(skip_serializing_if_is_none)]
    pub dropped: Option<DroppedRecords>,
}

/// Call records that were not kept: how many, and when the first and the last were dropped.
#[derive(Debug, Clone, Object)]
pub struct DroppedRecords {
    pub count: u64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One line a function logged (`nango.log`, `console.*`).
#[derive(Debug, Clone, Object)]
pub struct FunctionLogLine {
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    pub message: String,
}

/// What a call that ran a function did.
#[derive(Debug, Clone, Object)]
pub struct FunctionRunResponse {
    /// The function's name.
    pub name: String,
    /// Its deployed version.
    #[oai(skip_serializing_if_is_none)]
    pub version: Option<String>,
    /// `success`, or the failure's error code.
    pub outcome: String,
    /// Its log lines, in order (at most 1000, each at most 4 KiB).
    pub logs: Vec<FunctionLogLine>,
    /// How many calls it made through the proxy (each is a `proxy` entry with this `id`).
    pub proxied_calls: u32,
}

/// A page of request logs, newest first.
#[derive(Debug, Clone, Object)]
pub struct LogListResponse {
    /// The entries.
    pub data: Vec<LogEntryResponse>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// One proxied call remembered for a connection or integration.
#[derive(Debug, Clone, Object)]
pub struct CallSummary {
    /// When it finished.
    pub at: DateTime<Utc>,
    /// The status this server answered.
    pub status: u16,
    /// The request's id (find it with `GET /logs`).
    pub log_id: String,
    /// The error code (failures answered by this server rather than the upstream).
    #[oai(skip_serializing_if_is_none)]
    pub error_code: Option<String>,
    /// The connection that made it (integration summaries).
    #[oai(skip_serializing_if_is_none)]
    pub connection_id: Option<String>,
}

/// The upstream refuses the connection's credential.
#[derive(Debug, Clone, Object)]
pub struct AuthErrorState {
    /// Since when.
    pub since: DateTime<Utc>,
    /// The request that saw the refusal.
    pub log_id: String,
}

/// A connection's health.
#[derive(Debug, Clone, Object)]
pub struct ConnectionStatusResponse {
    /// Your id for the connection.
    pub connection_id: String,
    /// The integration's unique key.
    pub provider_config_key: String,
    /// Present while the upstream refuses the credential (a 401 not followed by a success).
    #[oai(skip_serializing_if_is_none)]
    pub auth_error: Option<AuthErrorState>,
    /// The newest proxied call answered below 400.
    #[oai(skip_serializing_if_is_none)]
    pub last_success: Option<CallSummary>,
    /// The newest proxied call answered 400 or above (by the upstream or this server).
    #[oai(skip_serializing_if_is_none)]
    pub last_failure: Option<CallSummary>,
}

/// A page of connection statuses, newest connection first.
#[derive(Debug, Clone, Object)]
pub struct ConnectionStatusListResponse {
    /// The connections.
    pub data: Vec<ConnectionStatusResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// An integration's health over its connections.
#[derive(Debug, Clone, Object)]
pub struct IntegrationStatusResponse {
    /// The integration's unique key.
    pub unique_key: String,
    /// Its provider.
    pub provider: String,
    /// How many connections it has.
    pub connections: u64,
    /// How many of them have an active auth error.
    pub connections_with_auth_error: u64,
    /// The newest successful proxied call over its connections.
    #[oai(skip_serializing_if_is_none)]
    pub last_success: Option<CallSummary>,
    /// The newest failed proxied call over its connections.
    #[oai(skip_serializing_if_is_none)]
    pub last_failure: Option<CallSummary>,
}

/// The integrations' health.
#[derive(Debug, Clone, Object)]
pub struct IntegrationStatusListResponse {
    /// One entry per integration.
    pub data: Vec<IntegrationStatusResponse>,
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn log_entry(e: LogEntry) -> LogEntryResponse {
    let dropped = e.dropped.map(|d| DroppedRecords { count: d.count, from: time(d.from_ms), to: time(d.to_ms) });
    let r = e.record;
    let upstream = r.upstream_host.map(|host| UpstreamCall {
        host,
        path: r.upstream_path.unwrap_or_default(),
        status: r.upstream_status,
        attempts: r.attempts.unwrap_or(0),
    });
    LogEntryResponse {
        id: r.request_id,
        created_at: time(r.at_ms),
        kind: match r.kind {
            Kind::Api => CallKind::Api,
            Kind::Proxy => CallKind::Proxy,
        },
        operation: e.operation,
        method: r.method,
        path: r.path,
        status: r.status,
        duration_ms: r.duration_ms,
        provider_config_key: r.integration,
        connection_id: r.connection_id,
        upstream,
        error_code: r.error_code,
        function: r.function.map(|f| FunctionRunResponse {
            name: f.name,
            version: f.version,
            outcome: f.outcome,
            logs: f.logs.into_iter().map(|(level, message)| FunctionLogLine { level, message }).collect(),
            proxied_calls: f.proxied_calls,
        }),
        dropped,
    }
}

fn summary(c: CallOutcome) -> CallSummary {
    CallSummary {
        at: time(c.at_ms),
        status: c.status,
        log_id: c.request_id,
        error_code: c.error_code,
        connection_id: c.connection_id,
    }
}

fn connection_status(s: ConnectionStatus) -> ConnectionStatusResponse {
    ConnectionStatusResponse {
        connection_id: s.connection_id,
        provider_config_key: s.provider_config_key,
        auth_error: s.auth_error.map(|(since, log_id)| AuthErrorState { since, log_id }),
        last_success: s.last_success.map(summary),
        last_failure: s.last_failure.map(summary),
    }
}

fn integration_status(s: IntegrationStatus) -> IntegrationStatusResponse {
    IntegrationStatusResponse {
        unique_key: s.unique_key,
        provider: s.provider,
        connections: s.connections,
        connections_with_auth_error: s.connections_with_auth_error,
        last_success: s.last_success.map(summary),
        last_failure: s.last_failure.map(summary),
    }
}

/// Reads a query string by hand (so every problem is reported at once, in the error
/// envelope): `fields` are the accepted names.
struct QueryReader {
    pairs: Vec<(String, String)>,
    issues: Vec<ValidationIssue>,
    /// Reported last, as zod does.
    unknown: Option<ValidationIssue>,
}

impl QueryReader {
    fn new(raw: Option<&str>, fields: &[&str]) -> Self {
        let pairs = validate::query_pairs(raw);
        let unknown = validate::unrecognized_keys(&pairs, fields);
        Self { pairs, issues: Vec::new(), unknown }
    }

    fn text(&mut self, name: &str) -> Option<String> {
        let value = self.pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())?;
        if value.is_empty() || value.len() > 255 {
            self.issues.push(issue("invalid_string", "Expected 1 to 255 characters", &[name.to_owned()]));
            return None;
        }
        Some(value)
    }

    fn parse<T>(&mut self, name: &str, expected: &str, parse: impl FnOnce(&str) -> Option<T>) -> Option<T> {
        let value = self.text(name)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.issues.push(issue("invalid_value", format!("Invalid input: expected {expected}"), &[name.to_owned()]));
        }
        parsed
    }

    fn limit(&mut self) -> u64 {
        self.parse("limit", "a whole number from 1 to 1000", |v| {
            v.parse::<u64>().ok().filter(|n| (1..=1000).contains(n))
        })
        .unwrap_or(100)
    }

    fn time(&mut self, name: &str) -> Option<i64> {
        self.parse(name, "an RFC 3339 date-time such as 2026-11-23T10:00:00Z", |v| {
            DateTime::parse_from_rfc3339(v).ok().map(|t| t.timestamp_millis())
        })
    }

    fn finish(mut self) -> Result<(), ApiError> {
        self.issues.extend(self.unknown);
        validate::done((), self.issues, Code::InvalidQueryParams)
    }
}

fn status_filter(v: &str) -> Option<StatusFilter> {
    match v {
        "success" => Some(StatusFilter::Success),
        "error" | "failure" => Some(StatusFilter::Failure),
        _ => {
            if let Some(class) =
                v.strip_suffix("xx").and_then(|d| d.parse::<u16>().ok()).filter(|d| (1..=5).contains(d))
            {
                return Some(StatusFilter::Class(class));
            }
            v.parse::<u16>().ok().filter(|s| (100..=599).contains(s)).map(StatusFilter::Exact)
        }
    }
}

/// The query of `GET /logs`: its filter, page size and cursor, every problem reported at
/// once (the dashboard's log page reads its filters through this too).
pub(crate) fn parse_list_query(raw: Option<&str>) -> Result<(LogFilter, u64, Option<Cursor>), ApiError> {
    let mut q =
        QueryReader::new(raw, &["integrationId", "connectionId", "status", "type", "from", "to", "limit", "cursor"]);
    let filter = LogFilter {
        integration: q.text("integrationId"),
        connection_id: q.text("connectionId"),
        status: q.parse("status", "a status (401), a class (4xx), success or error", status_filter),
        kind: q.parse("type", "api or proxy", |v| match v {
            "api" => Some(Kind::Api),
            "proxy" => Some(Kind::Proxy),
            _ => None,
        }),
        from_ms: q.time("from"),
        to_ms: q.time("to"),
    };
    let limit = q.limit();
    let cursor = q.parse("cursor", "a next_cursor from an earlier page", Cursor::decode);
    q.finish()?;
    Ok((filter, limit, cursor))
}

/// Request logs and status.
pub struct LogsApi;

#[OpenApi(tag = "ApiTags::Logs")]
impl LogsApi {
    /// List request logs
    ///
    /// The environment's API calls and proxied calls, newest first, kept for
    /// `NANGO_LOG_RETENTION_HOURS` (default one week). Entries appear within a moment of the
    /// call's end. Filters combine: `integrationId`, `connectionId`, `status` (a status such
    /// as `401`, a class such as `5xx`, `success` (< 400) or `error` (>= 400)), `type` (`api`
    /// or `proxy`), `from` (inclusive) and `to` (exclusive) as RFC 3339 date-times. Pages of
    /// `limit` entries (1 to 1000, default 100); pass `next_cursor` back as `cursor`.
    #[oai(path = "/logs", method = "get", operation_id = "list_logs")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn list_logs(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Only calls about this integration (unique key).
        #[oai(name = "integrationId")]
        _integration_id: Query<DocOnly<String>>,
        /// Only calls about this connection.
        #[oai(name = "connectionId")]
        _connection_id: Query<DocOnly<String>>,
        /// `401`, `5xx`, `success` or `error`.
        #[oai(name = "status")]
        _status: Query<DocOnly<String>>,
        /// `api` or `proxy`.
        #[oai(name = "type")]
        _kind: Query<DocOnly<String>>,
        /// Calls that ended at or after this time (RFC 3339).
        #[oai(name = "from")]
        _from: Query<DocOnly<DateTime<Utc>>>,
        /// Calls that ended before this time (RFC 3339).
        #[oai(name = "to")]
        _to: Query<DocOnly<DateTime<Utc>>>,
        /// Page size, 1 to 1000 (default 100).
        #[oai(name = "limit")]
        _limit: Query<DocOnly<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(name = "cursor")]
        _cursor: Query<DocOnly<String>>,
    ) -> Result<Json<LogListResponse>, ApiError> {
        let (filter, limit, cursor) = parse_list_query(req.uri().query())?;
        let (entries, next) = svc::list(&state.ctx, &auth.0, &filter, limit, cursor).await?;
        Ok(Json(LogListResponse {
            data: entries.into_iter().map(log_entry).collect(),
            next_cursor: next.map(Cursor::encode),
        }))
    }

    /// Get the integrations' status
    ///
    /// For each integration: how many connections it has, how many of them the upstream
    /// currently refuses (auth errors), and the newest successful and failed proxied call
    /// over its connections. `integrationId` narrows it to one integration.
    #[oai(path = "/status/integrations", method = "get", operation_id = "list_integration_status")]
    async fn list_integration_status(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Only this integration (unique key).
        #[oai(name = "integrationId")]
        _integration_id: Query<DocOnly<String>>,
    ) -> Result<Json<IntegrationStatusListResponse>, ApiError> {
        let mut q = QueryReader::new(req.uri().query(), &["integrationId"]);
        let key = q.text("integrationId");
        q.finish()?;
        let statuses = svc::integration_statuses(&state.ctx, &auth.0, key.as_deref()).await?;
        Ok(Json(IntegrationStatusListResponse { data: statuses.into_iter().map(integration_status).collect() }))
    }

    /// List the connections' status
    ///
    /// Each connection's auth error state and its newest successful and failed proxied call,
    /// newest connection first. `authError=true` lists only the connections whose credential
    /// the upstream refuses: the customers to contact. Filters: `integrationId`,
    /// `connectionId`, `authError`; pages of `limit` (1 to 1000, default 100) with `cursor`.
    #[oai(path = "/status/connections", method = "get", operation_id = "list_connection_status")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn list_connection_status(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Only connections of this integration (unique key).
        #[oai(name = "integrationId")]
        _integration_id: Query<DocOnly<String>>,
        /// Only this connection id.
        #[oai(name = "connectionId")]
        _connection_id: Query<DocOnly<String>>,
        /// `true`: only connections with an auth error; `false`: only those without.
        #[oai(name = "authError")]
        _auth_error: Query<DocOnly<bool>>,
        /// Page size, 1 to 1000 (default 100).
        #[oai(name = "limit")]
        _limit: Query<DocOnly<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(name = "cursor")]
        _cursor: Query<DocOnly<String>>,
    ) -> Result<Json<ConnectionStatusListResponse>, ApiError> {
        let mut q =
            QueryReader::new(req.uri().query(), &["integrationId", "connectionId", "authError", "limit", "cursor"]);
        let filter = ConnectionStatusFilter {
            integration: q.text("integrationId"),
            connection_id: q.text("connectionId"),
            auth_error: q.parse("authError", "true or false", |v| v.parse::<bool>().ok()),
        };
        let limit = q.limit();
        let cursor = q.parse("cursor", "a next_cursor from an earlier page", |v| v.parse::<i64>().ok());
        q.finish()?;
        let (rows, next) = svc::connection_statuses(&state.ctx, &auth.0, &filter, limit, cursor).await?;
        Ok(Json(ConnectionStatusListResponse {
            data: rows.into_iter().map(connection_status).collect(),
            next_cursor: next.map(|row| row.to_string()),
        }))
    }
}
