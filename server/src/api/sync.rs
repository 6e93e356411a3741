//! Syncs and their records, Nango's routes and shapes: `GET /records`, `POST /sync/trigger`,
//! `POST /sync/pause`, `POST /sync/start`, `GET /sync/status`,
//! `PUT /sync/update-connection-frequency`.

use std::collections::BTreeMap;

use poem::{Request, web::Data};
use poem_openapi::{Object, OpenApi, param::Query, payload::Json};
use serde_json::Value;

use super::{
    ApiTags,
    connection::wire::SuccessResponse,
    extract::{DocOnly, DocRequired, JsonBody, SecretKey},
    rules::CONNECTION_ID,
    validate::{self, CharTest, Obj, StrRule, UNIQUE_KEY, issue},
};
use crate::{
    AppState,
    error::{ApiError, Code, ValidationIssue},
    model::sync::{PageQuery, ScheduleStatus, TriggerKind, decode_cursor},
    service::sync::{self as svc, Target},
};

/// `GET /records` answer.
#[derive(Debug, Clone, Object)]
pub struct RecordsResponse {
    /// Pass as `cursor` for the next page; null on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
    /// The records: each is the object the sync saved, with `id` as a string and
    /// `_nango_metadata` (`first_seen_at`, `last_modified_at`, `last_action` (`ADDED`,
    /// `UPDATED`, `DELETED`), `deleted_at`, `pruned_at`, `cursor`).
    pub records: Vec<Value>,
}

/// `POST /sync/trigger` options.
#[derive(Debug, Clone, Object)]
pub struct TriggerOptions {
    /// Run from scratch: no `lastSyncDate`, no checkpoint.
    #[oai(skip_serializing_if_is_none)]
    pub reset: Option<bool>,
    /// Delete the sync's records of the connection before the run.
    #[oai(rename = "emptyCache", skip_serializing_if_is_none)]
    pub empty_cache: Option<bool>,
}

/// `POST /sync/trigger` body.
#[derive(Debug, Clone, Object)]
pub struct TriggerSyncRequest {
    /// Sync names (`name` or `name::variant`; `{name, variant}` objects are accepted too);
    /// empty: every sync of the integration.
    pub syncs: Vec<String>,
    /// The integration (or the `Provider-Config-Key` header).
    #[oai(skip_serializing_if_is_none)]
    pub provider_config_key: Option<String>,
    /// One connection (or the `Connection-Id` header); all when absent.
    #[oai(skip_serializing_if_is_none)]
    pub connection_id: Option<String>,
    /// `reset` and `emptyCache`.
    #[oai(skip_serializing_if_is_none)]
    pub opts: Option<TriggerOptions>,
    /// Deprecated: `incremental`, `full_refresh` or `full_refresh_and_clear_cache`.
    #[oai(skip_serializing_if_is_none, deprecated)]
    pub sync_mode: Option<String>,
    /// Deprecated: `true` is `full_refresh`.
    #[oai(skip_serializing_if_is_none, deprecated)]
    pub full_resync: Option<bool>,
}

/// `POST /sync/pause` and `POST /sync/start` body.
#[derive(Debug, Clone, Object)]
pub struct SyncControlRequest {
    /// Sync names (at most 256); empty: every sync of the integration.
    pub syncs: Vec<String>,
    /// The integration's unique key.
    pub provider_config_key: String,
    /// One connection; all when absent.
    #[oai(skip_serializing_if_is_none)]
    pub connection_id: Option<String>,
}

/// `PUT /sync/update-connection-frequency` body.
#[derive(Debug, Clone, Object)]
pub struct UpdateSyncFrequencyRequest {
    /// The sync's name.
    pub sync_name: String,
    /// Its variant (only `base` exists).
    #[oai(skip_serializing_if_is_none)]
    pub sync_variant: Option<String>,
    /// The integration's unique key.
    pub provider_config_key: String,
    /// The connection.
    pub connection_id: String,
    /// `every 2 hours`, `every 30 minutes`, … (at least 30 seconds); null or absent: the
    /// sync's own.
    #[oai(nullable)]
    pub frequency: Option<String>,
}

/// What one run did to one model.
#[derive(Debug, Clone, Object)]
pub struct ModelResult {
    pub added: u64,
    pub updated: u64,
    pub deleted: u64,
}

/// One sync of one connection.
#[derive(Debug, Clone, Object)]
pub struct SyncStatusEntry {
    /// The schedule's id.
    pub id: String,
    /// The connection.
    pub connection_id: String,
    /// The sync's name.
    pub name: String,
    /// Always `base` (variants are not supported).
    pub variant: String,
    /// `INITIAL` until a run succeeded, then `INCREMENTAL`.
    #[oai(rename = "type")]
    pub run_type: String,
    /// `RUNNING`, `PAUSED`, `SUCCESS`, `ERROR` or `STOPPED`.
    pub status: String,
    /// When the last run ended (absent while one runs or before the first).
    #[oai(rename = "finishedAt", skip_serializing_if_is_none)]
    pub finished_at: Option<String>,
    /// When the next scheduled run is due; null while paused.
    #[oai(rename = "nextScheduledSyncAt", nullable)]
    pub next_scheduled_sync_at: Option<String>,
    /// The frequency in force (`every day`, …).
    #[oai(nullable)]
    pub frequency: Option<String>,
    /// Per model, what the last run added, updated and deleted.
    #[oai(rename = "latestResult", skip_serializing_if_is_none)]
    pub latest_result: Option<BTreeMap<String, ModelResult>>,
    /// `RUNNING`, `SUCCESS` or `STOPPED` (the last run failed).
    #[oai(rename = "latestExecutionStatus", skip_serializing_if_is_none)]
    pub latest_execution_status: Option<String>,
    /// Per model, the records stored and not deleted.
    #[oai(rename = "recordCount")]
    pub record_count: BTreeMap<String, u64>,
    /// The checkpoint the sync saved (a flat object of strings, numbers and booleans), or null.
    #[oai(nullable)]
    pub checkpoint: Option<BTreeMap<String, Value>>,
}

/// `GET /sync/status` answer.
#[derive(Debug, Clone, Object)]
pub struct SyncStatusResponse {
    pub syncs: Vec<SyncStatusEntry>,
}

/// `PUT /sync/update-connection-frequency` answer.
#[derive(Debug, Clone, Object)]
pub struct FrequencyResponse {
    /// The frequency now in force.
    pub frequency: String,
}

/// No NUL character: PostgreSQL's text cannot hold one, so the lookup would fail (a 500 on
/// PostgreSQL, nothing found on SQLite); nothing stored has one, and such input is refused.
const NO_NUL: (CharTest, &str) = (|s| !s.contains('\0'), "/^[^\\0]*$/");
/// `modelSchema`: a model name.
const MODEL: StrRule = StrRule { pattern: Some(NO_NUL), min: Some(1), max: Some(255) };
/// A sync name.
const SYNC_NAME: StrRule = StrRule { pattern: Some(NO_NUL), min: Some(1), max: Some(255) };
/// Any string without NUL (names, variants and keys Nango reads as plain strings).
const TEXT: StrRule = StrRule { pattern: Some(NO_NUL), min: None, max: None };

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).map(|v| v.to_str().unwrap_or_default().to_owned())
}

/// The required `Connection-Id` and `Provider-Config-Key` headers.
fn connection_headers(req: &Request) -> Result<(String, String), ApiError> {
    let mut issues = Vec::new();
    let mut required = |name: &str, rule: &StrRule| match header(req, name) {
        None => {
            issues.push(issue("invalid_type", "Invalid input: expected string, received undefined", vec![name.into()]));
            String::new()
        }
        Some(v) => {
            issues.extend(validate::check_str(&v, rule, &[name.to_owned()]));
            v
        }
    };
    let connection = required("connection-id", &CONNECTION_ID);
    let key = required("provider-config-key", &UNIQUE_KEY);
    validate::done((connection, key), issues, Code::InvalidHeaders)
}

/// Sync names from Nango's `syncs` (strings, `name::variant`, or `{name, variant}`); only the
/// `base` variant exists here.
fn sync_names(value: Option<&Value>, path: &[String], issues: &mut Vec<ValidationIssue>, max: usize) -> Vec<String> {
    let path = validate::path_with(path, "syncs");
    let Some(Value::Array(items)) = value else {
        issues.push(issue("invalid_type", format!("Invalid input: expected array, received {}", kind(value)), path));
        return Vec::new();
    };
    if items.len() > max {
        issues.push(issue("too_big", format!("Too big: expected array to have <={max} items"), path));
        return Vec::new();
    }
    let mut names = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = validate::path_with(&path, &i.to_string());
        let (name, variant) = match item {
            Value::String(s) => match s.split_once("::") {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => (s.clone(), "base".to_owned()),
            },
            Value::Object(o) => match (o.get("name"), o.get("variant")) {
                (Some(Value::String(n)), Some(Value::String(v))) if o.len() == 2 => (n.clone(), v.clone()),
                _ => {
                    issues.push(issue(
                        "invalid_union",
                        "Each sync must be either a string or a { name: string, variant: string } object",
                        at,
                    ));
                    continue;
                }
            },
            _ => {
                issues.push(issue(
                    "invalid_union",
                    "Each sync must be either a string or a { name: string, variant: string } object",
                    at,
                ));
                continue;
            }
        };
        let nul = [&name, &variant].into_iter().flat_map(|s| validate::check_str(s, &TEXT, &at)).next();
        if let Some(nul) = nul {
            issues.push(nul);
            continue;
        }
        // Variants do not exist here: a named variant matches no sync.
        names.push(if variant == "base" { name } else { format!("{name}::{variant}") });
    }
    names
}

fn kind(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

/// The body of `POST /sync/pause` and `POST /sync/start`.
pub(crate) fn pause_start_body(body: Option<&Value>) -> Result<Target, ApiError> {
    let mut o = Obj::new(body, vec![]);
    let mut issues = Vec::new();
    let raw = o.raw("syncs");
    let syncs = if o.path().is_empty() && body.is_some_and(Value::is_object) {
        sync_names(raw, &[], &mut issues, 256)
    } else {
        Vec::new()
    };
    let key = o.string("provider_config_key", &UNIQUE_KEY, true);
    let connection_id = o.string("connection_id", &CONNECTION_ID, false);
    o.extend(issues);
    let key = validate::done(key, o.finish(), Code::InvalidBody)?;
    Ok(Target { provider_config_key: key.unwrap_or_default(), connection_id, syncs })
}

fn record_issue(issues: &mut Vec<ValidationIssue>, code: &str, message: impl Into<String>, name: &str) {
    issues.push(issue(code, message, vec![name.to_owned()]));
}

/// `GET /records`'s query, checked as Nango's zod schema does.
pub(crate) fn records_query(raw: Option<&str>) -> Result<(String, PageQuery), ApiError> {
    let pairs = validate::query_pairs(raw);
    let mut issues = Vec::new();
    let last = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let model = match last("model") {
        None => {
            record_issue(&mut issues, "invalid_type", "Invalid input: expected string, received undefined", "model");
            String::new()
        }
        Some(m) => {
            issues.extend(validate::check_str(&m, &MODEL, &["model".to_owned()]));
            m
        }
    };
    let variant = last("variant");
    if let Some(v) = &variant {
        issues.extend(validate::check_str(v, &TEXT, &["variant".to_owned()]));
    }
    let mut q = PageQuery { added: true, updated: true, deleted: true, limit: 100, ..PageQuery::default() };
    for name in ["delta", "modified_after"] {
        let Some(v) = last(name) else { continue };
        match chrono::DateTime::parse_from_rfc3339(&v) {
            Err(_) => record_issue(&mut issues, "invalid_format", "Invalid ISO datetime", name),
            Ok(t) if t < chrono::Utc::now() - chrono::Duration::days(365) => {
                record_issue(&mut issues, "custom", "must be within the last 12 months", name);
            }
            Ok(t) => q.modified_after = Some(t.timestamp_millis()),
        }
    }
    if let Some(v) = last("limit") {
        match v.trim().parse::<f64>() {
            Ok(n) if n < 1.0 => record_issue(&mut issues, "too_small", "Too small: expected number to be >=1", "limit"),
            Ok(n) if n > 10_000.0 => {
                record_issue(&mut issues, "too_big", "Too big: expected number to be <=10000", "limit");
            }
            Ok(n) if n.is_finite() => q.limit = n as u64,
            _ => record_issue(&mut issues, "invalid_type", "Invalid input: expected number, received NaN", "limit"),
        }
    }
    if let Some(v) = last("filter") {
        q.added = false;
        q.updated = false;
        q.deleted = false;
        for (i, part) in v.split(',').enumerate() {
            match part.to_ascii_lowercase().as_str() {
                "added" if part == "added" || part == "ADDED" => q.added = true,
                "updated" if part == "updated" || part == "UPDATED" => q.updated = true,
                "deleted" if part == "deleted" || part == "DELETED" => q.deleted = true,
                _ => issues.push(issue(
                    "invalid_value",
                    r#"Invalid option: expected one of "added"|"updated"|"deleted"|"ADDED"|"UPDATED"|"DELETED""#,
                    vec!["filter".to_owned(), i.to_string()],
                )),
            }
        }
    }
    if let Some(c) = last("cursor") {
        if c.is_empty() || c.len() > 1000 {
            record_issue(&mut issues, "invalid_string", "Expected 1 to 1000 characters", "cursor");
        } else {
            match decode_cursor(&c) {
                Some(after) => q.after = Some(after),
                None => record_issue(&mut issues, "custom", "Invalid cursor: pass a next_cursor from a page", "cursor"),
            }
        }
    }
    let ids: Vec<String> = pairs.iter().filter(|(k, _)| k == "ids").map(|(_, v)| v.clone()).collect();
    if !ids.is_empty() {
        if ids.len() > 100 {
            record_issue(&mut issues, "too_big", "Too big: expected array to have <=100 items", "ids");
        }
        for (i, id) in ids.iter().enumerate() {
            if id.is_empty() || id.len() > 256 {
                issues.push(issue("invalid_string", "Expected 1 to 256 characters", vec!["ids".into(), i.to_string()]));
            }
        }
        q.ids = Some(ids.into_iter().map(|id| id.replace('\0', "")).collect());
    }
    issues.extend(validate::unrecognized_keys(
        &pairs,
        &["model", "variant", "delta", "modified_after", "limit", "filter", "cursor", "ids"],
    ));
    validate::done((), issues, Code::InvalidQueryParams)?;
    let model = match variant.as_deref() {
        Some(v) if v != "base" => format!("{model}::{v}"),
        _ => model,
    };
    Ok((model, q))
}

/// `POST /sync/pause` and `POST /sync/start`: the body checked, then the schedules set.
async fn set_status(
    state: &AppState,
    auth: &SecretKey,
    req: &Request,
    body: Option<&Value>,
    status: ScheduleStatus,
) -> Result<Json<SuccessResponse>, ApiError> {
    validate::empty_query(req.uri().query())?;
    let target = pause_start_body(body)?;
    crate::request_id::set_subject(Some(&target.provider_config_key), target.connection_id.as_deref());
    svc::set_status(&state.ctx, &auth.0, &target, status).await?;
    Ok(Json(SuccessResponse { success: true }))
}

/// Syncs and records.
pub struct SyncApi;

#[OpenApi(tag = "ApiTags::Syncs")]
impl SyncApi {
    /// List records
    ///
    /// A page of the records a sync stored for one connection and model, ordered by last
    /// modification then id; pass `next_cursor` back as `cursor` for the next page. Filters:
    /// `modified_after` (or `delta`; at most 12 months back), `filter` (`added`, `updated`,
    /// `deleted`, comma-separated), `ids` (repeatable, at most 100). `limit` is 1 to 10000
    /// (default 100).
    #[oai(path = "/records", method = "get", operation_id = "list_records")]
    #[allow(clippy::too_many_arguments)] // one argument per documented parameter
    async fn list_records(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// The model's name.
        #[oai(name = "model")]
        _model: Query<DocRequired<String>>,
        /// Only records modified at or after this time (ISO 8601).
        #[oai(name = "modified_after")]
        _modified_after: Query<DocOnly<String>>,
        /// Page size, 1 to 10000 (default 100).
        #[oai(name = "limit")]
        _limit: Query<DocOnly<u32>>,
        /// `added`, `updated`, `deleted`, comma-separated.
        #[oai(name = "filter")]
        _filter: Query<DocOnly<String>>,
        /// `next_cursor` of the previous page.
        #[oai(name = "cursor")]
        _cursor: Query<DocOnly<String>>,
        /// Only these record ids (repeat the parameter, at most 100).
        #[oai(name = "ids")]
        _ids: Query<DocOnly<Vec<String>>>,
        /// The connection.
        #[oai(name = "Connection-Id")]
        _connection_id: poem_openapi::param::Header<super::extract::DocRequired<String>>,
        /// The integration's unique key.
        #[oai(name = "Provider-Config-Key")]
        _provider_config_key: poem_openapi::param::Header<super::extract::DocRequired<String>>,
    ) -> Result<Json<RecordsResponse>, ApiError> {
        let (model, q) = records_query(req.uri().query())?;
        let (connection, key) = connection_headers(req)?;
        crate::request_id::set_subject(Some(&key), Some(&connection));
        let page = svc::records(&state.ctx, &auth.0, &key, &connection, &model, q).await.map_err(|e| match e {
            crate::service::Error::UnknownConnection(_) => ApiError::message(
                Code::UnknownConnection,
                "Provided ConnectionId and ProviderConfigKey does not match a valid connection",
            ),
            other => other.into(),
        })?;
        Ok(Json(RecordsResponse { next_cursor: page.next_cursor, records: page.records }))
    }

    /// Trigger syncs
    ///
    /// Runs the named syncs (all of the integration's when `syncs` is empty) now, for one
    /// connection or all of them, paused ones included. `opts.reset` runs from scratch
    /// (no `lastSyncDate`, no checkpoint); `opts.emptyCache` also deletes the records first.
    /// The deprecated `sync_mode` and `full_resync` are read too. The integration and the
    /// connection may come as headers instead.
    #[oai(path = "/sync/trigger", method = "post", operation_id = "trigger_sync")]
    async fn trigger_sync(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<TriggerSyncRequest>,
        /// The integration's unique key (when not in the body).
        #[oai(name = "Provider-Config-Key")]
        _provider_config_key: poem_openapi::param::Header<Option<String>>,
        /// The connection (when not in the body).
        #[oai(name = "Connection-Id")]
        _connection_id: poem_openapi::param::Header<Option<String>>,
    ) -> Result<Json<SuccessResponse>, ApiError> {
        validate::empty_query(req.uri().query())?;
        let value = body.value();
        let mut o = Obj::new(value, vec![]);
        let mut issues = Vec::new();
        let raw = o.raw("syncs");
        let syncs = if value.is_some_and(Value::is_object) {
            sync_names(raw, &[], &mut issues, usize::MAX)
        } else {
            Vec::new()
        };
        let sync_mode = o.string("sync_mode", &StrRule::default(), false);
        if let Some(mode) = &sync_mode
            && !matches!(mode.as_str(), "incremental" | "full_refresh" | "full_refresh_and_clear_cache")
        {
            issues.push(issue(
                "invalid_value",
                r#"Invalid option: expected one of "incremental"|"full_refresh"|"full_refresh_and_clear_cache""#,
                vec!["sync_mode".to_owned()],
            ));
        }
        let full_resync = o.boolean("full_resync");
        let connection_id = o.string("connection_id", &TEXT, false);
        let key = o.string("provider_config_key", &TEXT, false);
        let opts = o.raw("opts").map(|v| {
            let mut opts = Obj::new(Some(v), vec!["opts".to_owned()]);
            let reset = opts.boolean("reset");
            let empty = opts.boolean("emptyCache");
            issues.extend(opts.finish());
            (reset.unwrap_or(false), empty.unwrap_or(false))
        });
        o.extend(issues);
        validate::done((), o.finish(), Code::InvalidBody)?;
        let key = key.or_else(|| header(req, "provider-config-key")).filter(|k| !k.is_empty());
        let Some(key) = key else {
            return Err(ApiError::code(Code::MissingProviderConfigKey));
        };
        let connection_id = connection_id.or_else(|| header(req, "connection-id")).filter(|c| !c.is_empty());
        if opts.is_some() && (sync_mode.is_some() || full_resync.is_some()) {
            return Err(ApiError::message(
                Code::InvalidBody,
                "Cannot use opts with deprecated sync_mode/full_resync parameters",
            ));
        }
        let kind = match (opts, sync_mode.as_deref(), full_resync) {
            (Some((true, true)), _, _) => TriggerKind::FullClear,
            (Some((true, false)), _, _) => TriggerKind::Full,
            // `emptyCache` without `reset`: Nango deletes the records and runs as scheduled.
            (Some((false, true)), _, _) => TriggerKind::FullClear,
            (Some((false, false)), _, _) => TriggerKind::Run,
            (None, Some("full_refresh_and_clear_cache"), _) => TriggerKind::FullClear,
            (None, Some("full_refresh"), _) => TriggerKind::Full,
            (None, Some(_), _) => TriggerKind::Run,
            (None, None, Some(true)) => TriggerKind::Full,
            (None, None, _) => TriggerKind::Run,
        };
        crate::request_id::set_subject(Some(&key), connection_id.as_deref());
        let target = Target { provider_config_key: key, connection_id, syncs };
        svc::trigger(&state.ctx, &auth.0, &target, kind).await?;
        Ok(Json(SuccessResponse { success: true }))
    }

    /// Pause syncs
    ///
    /// Stops the named syncs' schedules (all of the integration's when `syncs` is empty), for
    /// one connection or all of them. A run in progress finishes.
    #[oai(path = "/sync/pause", method = "post", operation_id = "pause_sync")]
    async fn pause_sync(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<SyncControlRequest>,
    ) -> Result<Json<SuccessResponse>, ApiError> {
        set_status(&state, &auth, req, body.value(), ScheduleStatus::Paused).await
    }

    /// Start syncs
    ///
    /// Starts the named syncs' schedules (all of the integration's when `syncs` is empty),
    /// for one connection or all of them; a sync that was paused runs at once.
    #[oai(path = "/sync/start", method = "post", operation_id = "start_sync")]
    async fn start_sync(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<SyncControlRequest>,
    ) -> Result<Json<SuccessResponse>, ApiError> {
        set_status(&state, &auth, req, body.value(), ScheduleStatus::Started).await
    }

    /// Get sync status
    ///
    /// For each named sync (`syncs=a,b`, or `*` for all) of one connection or every
    /// connection: the schedule's status, the last run's type, end, result per model and
    /// outcome, the next scheduled run, the frequency, record counts and the checkpoint.
    #[oai(path = "/sync/status", method = "get", operation_id = "get_sync_status")]
    async fn sync_status(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Sync names, comma-separated, or `*`.
        #[oai(name = "syncs")]
        _syncs: Query<DocRequired<String>>,
        /// The integration's unique key.
        #[oai(name = "provider_config_key")]
        _provider_config_key: Query<DocRequired<String>>,
        /// One connection (all when absent).
        #[oai(name = "connection_id")]
        _connection_id: Query<DocOnly<String>>,
    ) -> Result<Json<SyncStatusResponse>, ApiError> {
        let pairs =
            validate::strict_query(req.uri().query(), &["syncs", "provider_config_key", "connection_id"], |pairs| {
                let mut issues = Vec::new();
                let get = |n: &str| pairs.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v.clone());
                match get("syncs") {
                    None => record_issue(
                        &mut issues,
                        "invalid_type",
                        "Invalid input: expected string, received undefined",
                        "syncs",
                    ),
                    Some(s) => issues.extend(validate::check_str(&s, &TEXT, &["syncs".to_owned()])),
                }
                match get("provider_config_key") {
                    None => record_issue(
                        &mut issues,
                        "invalid_type",
                        "Invalid input: expected string, received undefined",
                        "provider_config_key",
                    ),
                    Some(k) => issues.extend(validate::check_str(&k, &UNIQUE_KEY, &["provider_config_key".to_owned()])),
                }
                if let Some(c) = get("connection_id") {
                    issues.extend(validate::check_str(&c, &CONNECTION_ID, &["connection_id".to_owned()]));
                }
                issues
            })?;
        let get = |n: &str| pairs.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let syncs = get("syncs").unwrap_or_default();
        let names: Vec<String> = if syncs == "*" {
            Vec::new()
        } else {
            syncs
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| match s.split_once("::") {
                    Some((n, "base")) => n.to_owned(),
                    _ => s.to_owned(),
                })
                .collect()
        };
        let key = get("provider_config_key").unwrap_or_default();
        let connection_id = get("connection_id");
        crate::request_id::set_subject(Some(&key), connection_id.as_deref());
        let statuses = svc::status(&state.ctx, &auth.0, &key, connection_id.as_deref(), &names).await?;
        Ok(Json(SyncStatusResponse {
            syncs: statuses
                .into_iter()
                .map(|s| SyncStatusEntry {
                    id: s.id,
                    connection_id: s.connection_id,
                    name: s.name,
                    variant: "base".to_owned(),
                    run_type: s.run_type,
                    status: s.status,
                    finished_at: s.finished_at,
                    next_scheduled_sync_at: s.next_scheduled_sync_at,
                    frequency: s.frequency,
                    latest_result: s.latest_result.map(|r| {
                        r.into_iter()
                            .map(|(m, c)| (m, ModelResult { added: c.added, updated: c.updated, deleted: c.deleted }))
                            .collect()
                    }),
                    latest_execution_status: s.latest_execution_status,
                    record_count: s.record_count.into_iter().map(|(m, n)| (m, n.as_u64().unwrap_or(0))).collect(),
                    checkpoint: s.checkpoint.map(|c| c.into_iter().collect()),
                })
                .collect(),
        }))
    }

    /// Set a connection's sync frequency
    ///
    /// Overrides the frequency of one sync for one connection (`every 2 hours`, `every
    /// 30 minutes`, at least 30 seconds); `null` goes back to the sync's own. Answers the
    /// frequency in force.
    #[oai(path = "/sync/update-connection-frequency", method = "put", operation_id = "update_sync_frequency")]
    async fn update_sync_frequency(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<UpdateSyncFrequencyRequest>,
    ) -> Result<Json<FrequencyResponse>, ApiError> {
        validate::empty_query(req.uri().query())?;
        let value = body.value();
        let mut o = Obj::new(value, vec![]);
        let sync_name = o.string("sync_name", &SYNC_NAME, true);
        let variant = o.string("sync_variant", &SYNC_NAME, false);
        let key = o.string("provider_config_key", &UNIQUE_KEY, true);
        let connection_id = o.string("connection_id", &CONNECTION_ID, true);
        let frequency = match o.raw("frequency") {
            // Nango requires the key (null for "the sync's own"); absent is read as null, so
            // clients that drop null fields work too.
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            other => {
                o.extend(vec![issue(
                    "invalid_type",
                    format!("Invalid input: expected string, received {}", kind(other)),
                    vec!["frequency".to_owned()],
                )]);
                None
            }
        };
        let (sync_name, key, connection_id, frequency) =
            validate::done((sync_name, key, connection_id, frequency), o.finish(), Code::InvalidBody)?;
        let (sync_name, key, connection_id) =
            (sync_name.unwrap_or_default(), key.unwrap_or_default(), connection_id.unwrap_or_default());
        crate::request_id::set_subject(Some(&key), Some(&connection_id));
        let name = match variant.as_deref() {
            Some(v) if v != "base" => format!("{sync_name}::{v}"),
            _ => sync_name,
        };
        let in_force =
            svc::set_frequency(&state.ctx, &auth.0, &key, &connection_id, &name, frequency.flatten().as_deref())
                .await?;
        Ok(Json(FrequencyResponse { frequency: in_force }))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The code and the issues (code, path) of a refusal.
    fn refusal(err: ApiError) -> (String, Vec<(String, Vec<String>)>) {
        let ApiError::BadRequest(json) = err else { panic!("not a 400: {err:?}") };
        let issues = json.0.error.errors.unwrap_or_default().into_iter().map(|i| (i.code, i.path)).collect();
        (json.0.error.code, issues)
    }

    fn path(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn records_query_refuses_nul_in_model_and_variant() {
        let (model, q) = records_query(Some("model=Thing&variant=base&limit=5")).expect("valid");
        assert_eq!((model.as_str(), q.limit), ("Thing", 5));
        let (code, issues) = refusal(records_query(Some("model=Th%00ing&variant=v%00")).unwrap_err());
        assert_eq!(code, "invalid_query_params");
        assert_eq!(
            issues,
            vec![("invalid_format".to_owned(), path(&["model"])), ("invalid_format".to_owned(), path(&["variant"]))]
        );
    }

    #[test]
    fn sync_names_refuse_nul() {
        let mut issues = Vec::new();
        let syncs = json!(["a", "b::base", {"name": "c", "variant": "v"}, "d\u{0}", {"name": "e", "variant": "\u{0}"}]);
        let names = sync_names(Some(&syncs), &[], &mut issues, 256);
        assert_eq!(names, ["a", "b", "c::v"]);
        let at: Vec<_> = issues.iter().map(|i| (i.code.as_str(), i.path.clone())).collect();
        assert_eq!(at, vec![("invalid_format", path(&["syncs", "3"])), ("invalid_format", path(&["syncs", "4"]))]);
    }

    #[test]
    fn pause_start_body_refuses_nul_sync_names() {
        let body = json!({"syncs": ["x\u{0}"], "provider_config_key": "acme", "connection_id": "c1"});
        let (code, issues) = refusal(pause_start_body(Some(&body)).unwrap_err());
        assert_eq!(
            (code.as_str(), issues),
            ("invalid_body", vec![("invalid_format".to_owned(), path(&["syncs", "0"]))])
        );
        let body = json!({"syncs": [], "provider_config_key": "acme"});
        let target = pause_start_body(Some(&body)).expect("valid");
        assert_eq!((target.provider_config_key.as_str(), target.connection_id, target.syncs.len()), ("acme", None, 0));
    }
}
