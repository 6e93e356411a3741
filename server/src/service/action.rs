//! Actions: run a deployed action for one connection (`POST /action/trigger`), with the
//! `nango` object backed by the same services the HTTP API uses, in-process: proxied calls
//! go through `forward` (same injection, retries, `Retry-After`, outbound policy, timeouts
//! and call history as `/proxy`), metadata through `connection`. A run reaches only the
//! connection it runs for.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use tracing::Instrument as _;

use super::{Context, Error, connection, forward, function};
use crate::{
    db::repo,
    model::{
        activity::{CallRecord, FunctionCall, Kind},
        connection::{ConnectionRecord, Credentials, MetadataMode},
        environment::Environment,
        function::{FunctionKind, StoredFunction},
    },
    runtime::{self, Failure, HostResult},
};

/// Most log lines a run keeps (later ones are counted, not kept).
const MAX_LOG_LINES: usize = 1000;
/// Longest log line kept, in bytes.
const MAX_LOG_LINE: usize = 4096;

/// A trigger, validated.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub provider_config_key: String,
    pub connection_id: String,
    pub action_name: String,
    pub input: Value,
}

/// Why an action produced no output: the trigger was refused, or the run failed.
#[derive(Debug)]
pub enum ActionError {
    /// Refused before running (unknown connection, provider or action; bad input).
    Refused(Error),
    /// The run failed.
    Failed(Failure),
}

impl From<Error> for ActionError {
    fn from(e: Error) -> Self {
        Self::Refused(e)
    }
}

/// A finished run, for the caller's log and metrics.
#[derive(Debug)]
pub struct Ran {
    pub result: Result<Value, ActionError>,
    /// What the run did (`None` when the trigger was refused before running).
    pub function: Option<FunctionCall>,
}

struct Resolved {
    connection: ConnectionRecord,
    function: StoredFunction,
    provider: String,
    paginate: Option<Value>,
}

async fn resolve(ctx: &Context, env: &Environment, t: &Trigger) -> Result<Resolved, Error> {
    let integration = repo::integration::find(&ctx.db, &ctx.cipher, env.id, &t.provider_config_key)
        .await
        .map_err(Error::internal("Failed to run action"))?;
    let Some(integration) = integration else {
        return Err(Error::ActionUnknownConnection);
    };
    let connection = repo::connection::find_record(&ctx.db, &ctx.cipher, env.id, integration.id, &t.connection_id)
        .await
        .map_err(Error::internal("Failed to run action"))?
        .ok_or(Error::ActionUnknownConnection)?;
    let provider = ctx.catalog.get(&integration.provider).ok_or(Error::UnknownProvider)?;
    let function = repo::function::find(
        &ctx.db,
        env.id,
        integration.id,
        &t.provider_config_key,
        &t.action_name,
        Some(FunctionKind::Action),
    )
    .await
    .map_err(Error::internal("Failed to run action"))?
    .ok_or_else(|| Error::NotFound("Action not found".to_owned()))?;
    if !function.enabled {
        return Err(Error::DisabledResource);
    }
    Ok(Resolved { connection, function, provider: provider.name.clone(), paginate: provider.proxy.paginate.clone() })
}

/// Runs action `t.action_name` for connection `t.connection_id` and waits for its output.
pub async fn run(ctx: &Context, env: &Environment, t: Trigger, request_id: crate::request_id::RequestId) -> Ran {
    let resolved = match resolve(ctx, env, &t).await {
        Ok(r) => r,
        Err(e) => return Ran { result: Err(e.into()), function: None },
    };
    // The run's span (exported only with OpenTelemetry on); its proxied calls' spans are
    // children, as the host runs them inside it.
    let span = tracing::info_span!(
        "function",
        otel.name = %format_args!("action {}", t.action_name),
        otel.kind = "internal",
        nango.function = %t.action_name,
        nango.integration = %t.provider_config_key,
        nango.connection_id = %t.connection_id,
    );
    let host = Arc::new(ActionHost {
        span: span.clone(),
        ctx: ctx.clone(),
        env: env.clone(),
        provider_config_key: t.provider_config_key.clone(),
        connection_id: t.connection_id.clone(),
        request_id,
        logs: Mutex::new(Vec::new()),
        calls: Mutex::new(0),
    });
    let job = runtime::Job {
        scope: function::scope(env),
        code: resolved.function.code.as_str().into(),
        filename: function::filename(&resolved.function.name, &t.provider_config_key),
        mode: runtime::Mode::Action { input: t.input },
        meta: json!({
            "connectionId": t.connection_id,
            "providerConfigKey": t.provider_config_key,
            "provider": resolved.provider,
            "runId": request_id.to_string(),
            "paginate": resolved.paginate,
            "validateInput": true,
            "validateOutput": true,
            "connectionRow": resolved.connection.id,
        }),
        host: host.clone(),
        wall_time: ctx.action_timeout,
        warm_key: Some(format!("{}:{}", resolved.function.id, resolved.function.code_hash)),
    };
    let started = Instant::now();
    let result = ctx.runtime.run(job).instrument(span).await;
    let outcome = match &result {
        Ok(_) => "success",
        Err(f) => f.code(),
    };
    ctx.metrics.function_run(&format!("{}/{}", t.provider_config_key, t.action_name), outcome, started.elapsed());
    let target = super::alert::Target {
        connection_row: resolved.connection.id,
        connection_id: &t.connection_id,
        provider_config_key: &t.provider_config_key,
    };
    match &result {
        Ok(_) => super::alert::recovered(ctx, env, target, super::alert::Subject::Action(&t.action_name)).await,
        // A refused input is the caller's mistake, not a failed run.
        Err(Failure::Input { .. }) => {}
        Err(f) => {
            let detail = failure_detail(f);
            super::alert::failed(ctx, env, target, super::alert::Subject::Action(&t.action_name), &detail).await;
        }
    }
    let function = FunctionCall {
        name: t.action_name,
        version: Some(resolved.function.version),
        outcome: outcome.to_owned(),
        logs: std::mem::take(&mut *host.logs.lock().unwrap_or_else(|e| e.into_inner())),
        proxied_calls: *host.calls.lock().unwrap_or_else(|e| e.into_inner()),
    };
    Ran { result: result.map_err(ActionError::Failed), function: Some(function) }
}

/// A failure as one line (alerts).
pub(super) fn failure_detail(f: &Failure) -> String {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    match f {
        Failure::Internal { payload } | Failure::Network { payload } | Failure::Action { payload } => {
            text(payload, "message").filter(|m| !m.is_empty()).unwrap_or_else(|| payload.to_string())
        }
        Failure::Load { message } | Failure::Engine { message } => message.clone(),
        Failure::Http { status, .. } => format!("an HTTP call answered {status}"),
        Failure::Timeout { limit } => format!("it ran longer than its limit of {} s", limit.as_secs()),
        Failure::OutOfMemory { limit } => format!("it used more than its memory limit of {} MiB", limit >> 20),
        other => other.code().to_owned(),
    }
}

/// The server side of a run's `nango` object.
struct ActionHost {
    span: tracing::Span,
    ctx: Context,
    env: Environment,
    provider_config_key: String,
    connection_id: String,
    request_id: crate::request_id::RequestId,
    logs: Mutex<Vec<(String, String)>>,
    calls: Mutex<u32>,
}

impl runtime::Host for ActionHost {
    fn call(&self, op: String, args: Value) -> Pin<Box<dyn Future<Output = HostResult> + Send + 'static>> {
        let this = Scope {
            ctx: self.ctx.clone(),
            env: self.env.clone(),
            provider_config_key: self.provider_config_key.clone(),
            connection_id: self.connection_id.clone(),
            request_id: self.request_id,
        };
        if op == "proxy" {
            *self.calls.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        }
        Box::pin(async move { this.call(&op, args).await }.instrument(self.span.clone()))
    }

    fn log(&self, level: &str, message: &str) {
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
            tracing::info!(request.id = %self.request_id, function.level = level, "function log: {line}");
            logs.push((level.to_owned(), line));
        }
    }
}

/// What a host operation needs, owned (operations run on the server's runtime). Syncs use
/// it for everything actions can do.
pub(super) struct Scope {
    pub(super) ctx: Context,
    pub(super) env: Environment,
    pub(super) provider_config_key: String,
    pub(super) connection_id: String,
    pub(super) request_id: crate::request_id::RequestId,
}

impl Scope {
    /// Runs an operation of the `nango` object actions have.
    pub(super) async fn call(&self, op: &str, args: Value) -> HostResult {
        match op {
            "proxy" => self.proxy(args).await,
            "getConnection" => {
                self.only_own(&args)?;
                let c = self.connection().await?;
                Ok(connection_json(&c))
            }
            "getToken" => {
                let c = self.connection().await?;
                Ok(match c.credentials {
                    Credentials::ApiKey { api_key } => Value::String(api_key),
                    Credentials::Basic { username, password } => json!({"username": username, "password": password}),
                })
            }
            "setMetadata" | "updateMetadata" => {
                let Some(Value::Object(metadata)) = args.get("metadata").cloned() else {
                    return Err("Metadata must be an object".to_owned());
                };
                let mode = if op == "setMetadata" { MetadataMode::Replace } else { MetadataMode::Merge };
                connection::set_metadata(
                    &self.ctx,
                    &self.env,
                    &self.provider_config_key,
                    std::slice::from_ref(&self.connection_id),
                    &metadata,
                    mode,
                )
                .await
                .map_err(|e| e.to_string())?;
                Ok(json!({"success": true}))
            }
            "getIntegration" => {
                let i = repo::integration::find(&self.ctx.db, &self.ctx.cipher, self.env.id, &self.provider_config_key)
                    .await
                    .map_err(|_| "Failed to load the integration".to_owned())?
                    .ok_or_else(|| "The integration no longer exists".to_owned())?;
                Ok(json!({
                    "unique_key": i.unique_key,
                    "provider": i.provider,
                    "display_name": i.display_name,
                    "created_at": i.created_at,
                    "updated_at": i.updated_at,
                }))
            }
            other => Err(format!("`nango.{other}` is not available in this function on this server")),
        }
    }

    /// Refuses an operation that names another connection or integration.
    fn only_own(&self, args: &Value) -> Result<(), String> {
        let named = |k: &str| args.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        if named("connectionId").is_some_and(|c| c != self.connection_id)
            || named("providerConfigKey").is_some_and(|k| k != self.provider_config_key)
        {
            return Err("A function can only reach the connection it runs for".to_owned());
        }
        Ok(())
    }

    async fn connection(&self) -> Result<ConnectionRecord, String> {
        connection::get(&self.ctx, &self.env, &self.provider_config_key, &self.connection_id).await.map_err(|_| {
            format!(
                "Connection not found using the provider config key {} and connection id {}",
                self.provider_config_key, self.connection_id
            )
        })
    }

    /// `nango.proxy(config)` through the proxy service: the answer as `{status, headers,
    /// data}` (JSON bodies parsed, others as text). Recorded in the call history like a
    /// `/proxy` call.
    async fn proxy(&self, config: Value) -> HostResult {
        self.only_own(&config)?;
        let started = Instant::now();
        let endpoint = config.get("endpoint").and_then(Value::as_str).unwrap_or_default();
        let method = config.get("method").and_then(Value::as_str).unwrap_or("GET").to_ascii_uppercase();
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| format!("Invalid method {method}"))?;
        let mut path_and_query = if endpoint.starts_with('/') { endpoint.to_owned() } else { format!("/{endpoint}") };
        if let Some(Value::Object(params)) = config.get("params") {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                match v {
                    Value::Null => {}
                    Value::String(s) => {
                        query.append_pair(k, s);
                    }
                    other => {
                        query.append_pair(k, &other.to_string());
                    }
                }
            }
            let query = query.finish();
            if !query.is_empty() {
                path_and_query.push(if path_and_query.contains('?') { '&' } else { '?' });
                path_and_query.push_str(&query);
            }
        }
        let mut headers = Vec::new();
        if let Some(Value::Object(h)) = config.get("headers") {
            for (k, v) in h {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&value)) {
                    headers.push((name, value));
                }
            }
        }
        let body = match config.get("data") {
            None | Some(Value::Null) => forward::OutgoingBody::Empty,
            Some(Value::String(s)) => forward::OutgoingBody::Buffered(bytes::Bytes::from(s.clone())),
            Some(other) => {
                if !headers.iter().any(|(n, _)| n == reqwest::header::CONTENT_TYPE) {
                    headers.push((reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/json")));
                }
                forward::OutgoingBody::Buffered(bytes::Bytes::from(other.to_string()))
            }
        };
        let control = forward::Control {
            provider_config_key: self.provider_config_key.clone(),
            connection_id: self.connection_id.clone(),
            retries: config.get("retries").and_then(Value::as_u64).map_or(0, |n| n.min(10) as u32),
            retry_on: config
                .get("retryOn")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_u64().and_then(|n| u16::try_from(n).ok())).collect())
                .unwrap_or_default(),
            base_url_override: config
                .get("baseUrlOverride")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        };
        let out =
            forward::Outgoing { method: method.clone(), path_and_query, headers, body, request_id: self.request_id };
        let mut trace = forward::Trace::default();
        let result = forward::forward(&self.ctx, &self.env, &control, out, &mut trace).await;
        match result {
            Ok(answer) => {
                let status = answer.response.status().as_u16();
                let (mut parts, body) = answer.response.into_parts();
                forward::strip_hop_by_hop(&mut parts.headers);
                let mut headers = Map::new();
                for (name, value) in &parts.headers {
                    headers.insert(
                        name.as_str().to_owned(),
                        Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
                    );
                }
                let is_json = headers.get("content-type").and_then(Value::as_str).is_some_and(|c| c.contains("json"));
                // A body the function could not hold is not read further than its memory limit.
                let limit = self.ctx.runtime.settings().memory_limit;
                let bytes = http_body_util::BodyExt::collect(http_body_util::Limited::new(body, limit))
                    .await
                    .map_err(|e| {
                        if e.is::<http_body_util::LengthLimitError>() {
                            format!(
                                "The upstream's answer is larger than the function's memory limit ({} MB, \
                                 NANGO_FUNCTION_MEMORY_MB)",
                                limit >> 20
                            )
                        } else {
                            "The upstream's answer was cut off".to_owned()
                        }
                    })?
                    .to_bytes();
                let data = if is_json {
                    serde_json::from_slice(&bytes)
                        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
                } else {
                    Value::String(String::from_utf8_lossy(&bytes).into_owned())
                };
                self.record(&method, status, started.elapsed(), &trace, None);
                Ok(json!({"status": status, "headers": headers, "data": data}))
            }
            Err(e) => {
                let reason = e.to_string();
                self.record(&method, 502, started.elapsed(), &trace, Some(reason.clone()));
                // The prefix tells nango.js to throw a network error (no response), as axios does.
                Err(format!("network:{reason}"))
            }
        }
    }

    fn record(
        &self,
        method: &reqwest::Method,
        status: u16,
        elapsed: Duration,
        trace: &forward::Trace,
        error: Option<String>,
    ) {
        self.ctx.metrics.proxied(method.as_str(), status, elapsed);
        self.ctx.activity.record(CallRecord {
            environment_id: self.env.id,
            request_id: self.request_id.to_string(),
            at_ms: chrono::Utc::now().timestamp_millis(),
            kind: Kind::Proxy,
            operation: Some("function_proxy"),
            method: method.to_string(),
            path: trace.upstream_path.clone().unwrap_or_default(),
            status,
            duration_ms: elapsed.as_secs_f64() * 1000.0,
            integration: Some(self.provider_config_key.clone()),
            connection_id: Some(self.connection_id.clone()),
            connection_row: trace.connection_row,
            upstream_host: trace.upstream_host.clone(),
            upstream_path: trace.upstream_path.clone(),
            upstream_status: trace.upstream_status,
            attempts: (trace.attempts > 0).then_some(trace.attempts),
            error_code: error,
            function: None,
        });
    }
}

/// A connection as Nango's `GET /connections/{id}` shows it (credentials included).
fn connection_json(c: &ConnectionRecord) -> Value {
    let credentials = match &c.credentials {
        Credentials::ApiKey { api_key } => json!({"type": "API_KEY", "apiKey": api_key}),
        Credentials::Basic { username, password } => {
            json!({"type": "BASIC", "username": username, "password": password})
        }
    };
    json!({
        "id": c.id,
        "connection_id": c.connection_id,
        "provider_config_key": c.provider_config_key,
        "provider": c.provider,
        "errors": c.auth_error.iter().map(|(_, id)| json!({"type": "auth", "log_id": id})).collect::<Vec<_>>(),
        "end_user": c.end_user,
        "metadata": c.metadata,
        "connection_config": c.connection_config,
        "tags": c.tags,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "last_fetched_at": c.last_fetched_at,
        "credentials": credentials,
    })
}

/// Wakes this replica's async-action worker when a run is queued here.
#[derive(Debug, Default)]
pub struct Queue {
    wake: tokio::sync::Notify,
}

/// Queues action `t.action_name` for connection `t.connection_id` (`X-Async: true`): the
/// connection and the action must exist now; the run happens on a worker, at most
/// `1 + max_retries` times. Returns the run's id.
pub async fn enqueue(ctx: &Context, env: &Environment, t: Trigger, max_retries: u32) -> Result<String, Error> {
    resolve(ctx, env, &t).await?;
    let run = crate::model::function::ActionRun {
        id: uuid::Uuid::new_v4().to_string(),
        environment_id: env.id,
        provider_config_key: t.provider_config_key,
        connection_id: t.connection_id,
        action_name: t.action_name,
        input: t.input,
        status: crate::model::function::RunStatus::Queued,
        attempts: 0,
        max_retries,
        outcome: None,
        created_at: chrono::Utc::now(),
    };
    repo::action_run::insert(&ctx.db, &run).await.map_err(Error::internal("Failed to queue the action"))?;
    ctx.actions.wake.notify_one();
    Ok(run.id)
}

/// How run `id` ended; `None` while it is queued or running (or when there is no such run).
pub async fn outcome(
    ctx: &Context,
    env: &Environment,
    id: &str,
) -> Result<Option<crate::model::function::RunOutcome>, Error> {
    let run =
        repo::action_run::find(&ctx.db, env.id, id).await.map_err(Error::internal("Failed to read the action"))?;
    Ok(run.and_then(|r| r.outcome))
}

/// Runs queued actions until `shutdown` resolves (the shared queue worker, one run per
/// function worker at a time): woken when this replica queues one, and every `poll` for runs
/// queued by other replicas or left by a replica that died (its lease expired). A run in
/// flight at shutdown finishes.
pub async fn run_worker(ctx: Context, poll: Duration, shutdown: impl Future<Output = ()>) {
    let slots = ctx.runtime.settings().workers.max(1);
    super::queue::run_worker(ActionJobs, ctx, slots, poll, shutdown).await;
}

/// Queued asynchronous action runs.
struct ActionJobs;

impl super::queue::Jobs for ActionJobs {
    type Job = crate::model::function::ActionRun;
    const NAME: &'static str = "actions";

    fn claim(
        &self,
        ctx: &Context,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Self::Job>, crate::db::Error>> + Send {
        claim_due(ctx, limit)
    }

    async fn run(&self, ctx: Context, job: Self::Job) {
        execute(&ctx, job).await;
    }

    fn wake<'a>(&self, ctx: &'a Context) -> &'a tokio::sync::Notify {
        &ctx.actions.wake
    }
}

async fn claim_due(ctx: &Context, limit: usize) -> Result<Vec<crate::model::function::ActionRun>, crate::db::Error> {
    let now = repo::now_millis();
    let lease = chrono::Duration::from_std(ctx.action_timeout + Duration::from_secs(60)).unwrap_or_default();
    let mut claimed = Vec::new();
    for run in repo::action_run::due(&ctx.db, now, limit as u64).await? {
        if repo::action_run::claim(&ctx.db, &run, now, now + lease).await? {
            claimed.push(run);
        }
    }
    Ok(claimed)
}

async fn execute(ctx: &Context, run: crate::model::function::ActionRun) {
    use crate::model::function::{RunOutcome, RunStatus};
    let env = match repo::environment::find_by_id(&ctx.db, run.environment_id).await {
        Ok(Some(env)) => env,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %crate::chain::ErrorChain(&e), "cannot load the action's environment");
            return;
        }
    };
    let trigger = Trigger {
        provider_config_key: run.provider_config_key.clone(),
        connection_id: run.connection_id.clone(),
        action_name: run.action_name.clone(),
        input: run.input.clone(),
    };
    let started = Instant::now();
    let request_id = crate::request_id::RequestId::next();
    let ran = self::run(ctx, &env, trigger, request_id).await;
    let answered = match &ran.result {
        Ok(_) => 200,
        Err(ActionError::Failed(f)) => f.status(),
        Err(ActionError::Refused(_)) => 400,
    };
    ctx.activity.record(CallRecord {
        environment_id: env.id,
        request_id: request_id.to_string(),
        at_ms: chrono::Utc::now().timestamp_millis(),
        kind: Kind::Api,
        operation: Some("run_async_action"),
        method: "RUN".to_owned(),
        path: format!("/action/{}", run.id),
        status: answered,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        integration: Some(run.provider_config_key.clone()),
        connection_id: Some(run.connection_id.clone()),
        connection_row: None,
        upstream_host: None,
        upstream_path: None,
        upstream_status: None,
        attempts: Some(run.attempts + 1),
        error_code: match &ran.result {
            Ok(_) => None,
            Err(ActionError::Failed(f)) => Some(f.code().to_owned()),
            Err(ActionError::Refused(e)) => Some(e.to_string()),
        },
        function: ran.function.clone(),
    });
    let (status, outcome) = match ran.result {
        Ok(output) => (RunStatus::Succeeded, RunOutcome::Output { output }),
        Err(ActionError::Failed(failure)) => (RunStatus::Failed, RunOutcome::Failed { failure }),
        Err(ActionError::Refused(e)) => (
            RunStatus::Failed,
            RunOutcome::Failed {
                failure: Failure::Internal { payload: json!({"name": "Error", "message": e.to_string()}) },
            },
        ),
    };
    let attempts = run.attempts + 1;
    tracing::info!(
        action = %run.action_name,
        connection.id = %run.connection_id,
        run.id = %run.id,
        attempts,
        status = status.as_str(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "async action run"
    );
    if status == RunStatus::Failed && attempts <= run.max_retries {
        if let Err(e) = repo::action_run::requeue(&ctx.db, &run.id).await {
            tracing::warn!(error = %crate::chain::ErrorChain(&e), "cannot requeue the action");
        }
        return;
    }
    if let Err(e) = repo::action_run::finish(&ctx.db, &run.id, status, &outcome).await {
        // The lease expires and the run is tried again: at least once, never lost.
        tracing::warn!(error = %crate::chain::ErrorChain(&e), "cannot record the action's outcome");
        return;
    }
    let override_url = repo::integration::find(&ctx.db, &ctx.cipher, env.id, &run.provider_config_key)
        .await
        .ok()
        .flatten()
        .map(|i| i.id);
    let url_override = match override_url {
        Some(integration) => {
            repo::connection::find_record(&ctx.db, &ctx.cipher, env.id, integration, &run.connection_id)
                .await
                .ok()
                .flatten()
                .and_then(|c| c.webhook_url_override)
        }
        None => None,
    };
    if let Err(e) = super::webhook::async_action(
        ctx,
        &env,
        &run.connection_id,
        &run.provider_config_key,
        &run.id,
        url_override.as_deref(),
    )
    .await
    {
        tracing::error!(error = %e, run.id = %run.id, "could not queue the async_action webhook");
    }
}
