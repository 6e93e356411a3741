//! The end of every call, API or proxied: one log event, its metrics and its call record
//! (never keys, tokens, query strings or bodies). The guard finishes API calls, the proxy
//! handler its own (it knows the upstream); both through [`finish_call`].

use std::time::Duration;

use crate::{
    model::activity::{CallRecord, FunctionCall, Kind},
    request_id::RequestId,
    service::{activity::Activity, forward::Trace},
    telemetry::Metrics,
};

/// What is known of a finished call.
#[derive(Debug)]
pub struct FinishedCall<'a> {
    pub id: RequestId,
    pub kind: Kind,
    /// The operation id (API calls).
    pub operation: Option<&'static str>,
    pub method: &'a str,
    /// Without the query string.
    pub path: String,
    pub status: u16,
    pub elapsed: Duration,
    /// `(id, name)` once authenticated.
    pub environment: Option<(crate::model::id::EnvironmentId, String)>,
    pub integration: Option<String>,
    pub connection: Option<String>,
    /// What the upstream did (proxied calls).
    pub upstream: Option<Trace>,
    /// The error envelope's `code`, for 4xx and 5xx answers.
    pub error_code: Option<String>,
    /// The function the call ran.
    pub function: Option<FunctionCall>,
}

/// Logs, measures and records one finished call.
pub fn finish_call(metrics: &Metrics, activity: &Activity, call: FinishedCall<'_>) {
    let duration_ms = call.elapsed.as_secs_f64() * 1000.0;
    let environment = call.environment.as_ref().map_or("-", |e| e.1.as_str());
    let error_code = call.error_code.as_deref().unwrap_or("-");
    let upstream = call.upstream.unwrap_or_default();
    match call.kind {
        Kind::Api => {
            tracing::info!(
                request.id = %call.id,
                environment,
                operation = call.operation.unwrap_or("-"),
                integration = call.integration.as_deref().unwrap_or("-"),
                connection.id = call.connection.as_deref().unwrap_or("-"),
                http.method = call.method,
                http.path = %call.path,
                status = call.status,
                error.code = error_code,
                duration_ms,
                "api request"
            );
            metrics.api_call(call.operation.unwrap_or("unknown"), call.status, call.elapsed);
        }
        Kind::Proxy => {
            tracing::info!(
                request.id = %call.id,
                environment,
                http.method = call.method,
                provider.config_key = call.integration.as_deref().unwrap_or(""),
                connection.id = call.connection.as_deref().unwrap_or(""),
                upstream.host = upstream.upstream_host.as_deref().unwrap_or("-"),
                upstream.path = upstream.upstream_path.as_deref().unwrap_or("-"),
                upstream.status = upstream.upstream_status.unwrap_or(0),
                attempts = upstream.attempts,
                status = call.status,
                error.code = error_code,
                duration_ms,
                "proxied request"
            );
            metrics.proxied(call.method, call.status, call.elapsed);
        }
    }
    let Some((environment_id, _)) = call.environment else { return };
    activity.record(CallRecord {
        environment_id,
        request_id: call.id.to_string(),
        at_ms: chrono::Utc::now().timestamp_millis(),
        kind: call.kind,
        operation: call.operation,
        method: call.method.to_owned(),
        path: call.path,
        status: call.status,
        duration_ms,
        integration: call.integration,
        connection_id: call.connection,
        connection_row: upstream.connection_row,
        upstream_host: upstream.upstream_host,
        upstream_path: upstream.upstream_path,
        upstream_status: upstream.upstream_status,
        attempts: (upstream.attempts > 0).then_some(upstream.attempts),
        error_code: call.error_code,
        function: call.function,
    });
}
