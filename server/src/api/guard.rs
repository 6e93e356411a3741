//! Request guard applied before routing, in Nango's middleware order: path normalisation,
//! security and CORS headers, the content-type guard (415), the body-size limit (413) and the
//! JSON syntax check (400 `invalid_json`); plus the fallback that turns every error poem
//! raises itself (unknown route, panic) into the error envelope.

use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header},
};

use std::time::Instant;

use opentelemetry::trace::TraceContextExt as _;
use poem_openapi::OperationId;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use std::sync::Arc;

use crate::{
    api::call::{FinishedCall, finish_call},
    error::{ApiError, Code, ErrorChain},
    model::activity::Kind,
    ratelimit::Decision,
    request_id::{self, RequestId},
    service::activity::Activity,
    telemetry::Metrics,
};

/// Path prefixes whose requests must be JSON when they carry a Content-Type (Nango's guard).
const JSON_PREFIXES: &[&str] = &["integrations", "providers", "connections", "connection", "connect"];

/// The guard middleware.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Largest accepted body of a metadata write, in bytes.
    pub metadata_body_limit: usize,
    /// Longest an API request's body may take to arrive (proxied bodies stream instead).
    pub body_timeout: std::time::Duration,
    /// Where each API call's record goes.
    pub activity: Arc<Activity>,
    /// Where each API call's duration goes.
    pub metrics: Arc<Metrics>,
}

impl<E: Endpoint> Middleware<E> for Guard {
    type Output = GuardEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        GuardEndpoint { inner: ep, config: self.clone() }
    }
}

/// See [`Guard`].
pub struct GuardEndpoint<E> {
    inner: E,
    config: Guard,
}

fn is_json(content_type: &str) -> bool {
    content_type.trim_start().to_ascii_lowercase().starts_with("application/json")
}

/// Express routes case-insensitively and tolerates a trailing slash: lower-case the first
/// segment when it names a resource and drop one trailing slash.
fn normalize(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let trimmed = if path.len() > 1 { path.strip_suffix('/').unwrap_or(path) } else { path };
    let first = trimmed.trim_start_matches('/').split('/').next().unwrap_or_default();
    if first.eq_ignore_ascii_case("proxy") {
        return None; // the upstream path is forwarded exactly as sent
    }
    let lower_first = first.to_ascii_lowercase();
    let needs_case = first != lower_first && JSON_PREFIXES.contains(&lower_first.as_str());
    if trimmed.len() == path.len() && !needs_case {
        return None;
    }
    let rest = &trimmed[1 + first.len()..];
    let new_path = if needs_case { format!("/{lower_first}{rest}") } else { trimmed.to_owned() };
    let pq = match uri.query() {
        Some(q) => format!("{new_path}?{q}"),
        None => new_path,
    };
    pq.parse().ok()
}

impl<E: Endpoint> Endpoint for GuardEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let id = RequestId::next();
        if let Some(uri) = normalize(req.uri()) {
            *req.uri_mut() = uri;
        }
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let is_proxy = path.starts_with("/proxy");
        // Only API calls may need it (their subject); the proxy names its own.
        let uri_query = if is_proxy { None } else { req.uri().query().map(str::to_owned) };
        let quiet = matches!(path.as_str(), "/health" | "/ready" | "/metrics");
        let span = if quiet {
            tracing::Span::none() // probes would drown the traces
        } else {
            request_span(&method, &path, id)
        };
        let scoped = request_id::scope(id, async {
            let (resp, operation) = match self.check(&mut req).await {
                Ok(()) => match self.inner.call(req).await {
                    Ok(resp) => {
                        let resp = resp.into_response();
                        let operation = resp.data::<OperationId>().map(|o| o.0);
                        (resp, operation)
                    }
                    Err(err) => {
                        let operation = err.data::<OperationId>().map(|o| o.0);
                        (fallback(err, &method, &path), operation)
                    }
                },
                Err(err) => (err.into_response(), None),
            };
            let error = request_id::error_code(resp.status().as_u16());
            let function = request_id::take_function();
            (resp, operation, request_id::environment(), request_id::subject(), request_id::rate(), (error, function))
        });
        let (mut resp, operation, environment, (integration, connection), rate, (error, function)) =
            tracing::Instrument::instrument(scoped, span.clone()).await;
        let (integration, connection) = match (integration, connection) {
            (None, None) if !is_proxy => subject_from_uri(&path, uri_query.as_deref()),
            known => known,
        };
        let status = resp.status().as_u16();
        let subject = (integration.as_deref(), connection.as_deref());
        record_span(&span, &method, operation, is_proxy, status, environment.as_ref(), subject);
        // The proxy finishes its own calls (it knows the upstream); probes would only drown
        // the log.
        // Dashboard pages are a person browsing, not API calls: not in the call history.
        if !is_proxy && !quiet && !path.starts_with("/dashboard") {
            let call = FinishedCall {
                id,
                kind: Kind::Api,
                operation,
                method: method.as_str(),
                path,
                status,
                elapsed: started.elapsed(),
                environment,
                integration,
                connection,
                upstream: None,
                error_code: error.filter(|_| status >= 400).map(str::to_owned),
                function,
            };
            finish_call(&self.config.metrics, &self.config.activity, call);
        }
        decorate(resp.headers_mut(), rate, id);
        Ok(resp)
    }
}

/// The request's span (exported only when OpenTelemetry is on; otherwise disabled and free).
/// The proxy adds children per upstream attempt and database call.
pub(super) fn request_span(method: &poem::http::Method, path: &str, id: RequestId) -> tracing::Span {
    tracing::info_span!(
        "request",
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        url.path = %path,
        http.response.status_code = tracing::field::Empty,
        nango.request_id = %id,
        nango.environment = tracing::field::Empty,
        nango.operation = tracing::field::Empty,
        nango.integration = tracing::field::Empty,
        nango.connection_id = tracing::field::Empty,
    )
}

/// Names the request's span after its operation and records its outcome.
pub(super) fn record_span(
    span: &tracing::Span,
    method: &poem::http::Method,
    operation: Option<&'static str>,
    is_proxy: bool,
    status: u16,
    environment: Option<&(crate::model::id::EnvironmentId, String)>,
    (integration, connection): (Option<&str>, Option<&str>),
) {
    if span.is_disabled() {
        return;
    }
    // The OpenTelemetry span already started: rename it directly (recording `otel.name` now
    // would be ignored). Integers as i64: tracing-opentelemetry exports unsigned values as
    // strings.
    let name = format!("{method} {}", operation.unwrap_or(if is_proxy { "proxy" } else { "unknown" }));
    span.context().span().update_name(name);
    span.record("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
    if let Some((_, name)) = environment {
        span.record("nango.environment", name.as_str());
    }
    if let Some(operation) = operation {
        span.record("nango.operation", operation);
    }
    if let Some(key) = integration {
        span.record("nango.integration", key);
    }
    if let Some(c) = connection {
        span.record("nango.connection_id", c);
    }
}

/// What every response carries: the security headers, the rate-limit headers once the caller
/// was authenticated, and the request id.
pub(super) fn decorate(headers: &mut HeaderMap, rate: Option<Decision>, id: RequestId) {
    headers.reserve(8);
    add_security_headers(headers);
    if let Some(rate) = rate {
        add_rate_headers(headers, rate);
    }
    headers.insert(&REQUEST_ID, id.header_value());
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-nango-request-id");

/// The integration and connection an API call is about, read from its path and query when
/// the handler did not record them: `/integrations/{key}`, `/connection(s)/{id}` with
/// `provider_config_key`.
fn subject_from_uri(path: &str, query: Option<&str>) -> (Option<String>, Option<String>) {
    let mut segments = path.trim_start_matches('/').split('/');
    let param = |name: &str| {
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())
    };
    match (segments.next(), segments.next()) {
        (Some("integrations"), Some(key)) if !key.is_empty() => (Some(percent_decode(key)), None),
        (Some("connection" | "connections"), Some(id)) if !id.is_empty() && id != "metadata" => {
            (param("provider_config_key"), Some(percent_decode(id)))
        }
        _ => (None, None),
    }
}

/// A path segment's text: `%XX` decoded (a `%` not followed by two hex digits stays as it is),
/// invalid UTF-8 replaced.
fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// Nango's rate-limit headers, and `Retry-After` on a refusal. A proxied response that
/// carries the upstream's own `X-RateLimit-*` headers keeps them (they describe the API the
/// caller is using; see docs/compatibility.md).
fn add_rate_headers(headers: &mut HeaderMap, rate: Decision) {
    if headers.keys().any(|name| name.as_str().starts_with("x-ratelimit-")) {
        return;
    }
    static NAMES: [HeaderName; 3] = [
        HeaderName::from_static("x-ratelimit-limit"),
        HeaderName::from_static("x-ratelimit-remaining"),
        HeaderName::from_static("x-ratelimit-reset"),
    ];
    for (name, value) in NAMES.iter().zip([u64::from(rate.limit), u64::from(rate.remaining), rate.reset]) {
        headers.insert(name, HeaderValue::from(value));
    }
    if let Some(after) = rate.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(after));
    }
}

impl<E> GuardEndpoint<E> {
    async fn check(&self, req: &mut Request) -> std::result::Result<(), ApiError> {
        let first = req.uri().path().trim_start_matches('/').split('/').next().unwrap_or_default();
        if first == "proxy" {
            return Ok(()); // bodies stream through the proxy untouched
        }
        let json_only = JSON_PREFIXES.contains(&first);
        let content_type = req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?").to_owned());
        match content_type.as_deref() {
            Some(ct) if !ct.is_empty() && !is_json(ct) && json_only => {
                return Err(ApiError::code(Code::InvalidContentType));
            }
            Some(ct) if is_json(ct) => {}
            // Not JSON: the JSON body extractor ignores the body, as Nango's parser does.
            _ => return Ok(()),
        }
        // Metadata is parsed into a tree that costs tens of times its JSON size in memory,
        // so the writes that carry it get a smaller limit of their own.
        let (limit, setting) = if carries_metadata(req.uri().path()) {
            (self.config.metadata_body_limit.min(self.config.body_limit), "NANGO_METADATA_BODY_LIMIT")
        } else {
            (self.config.body_limit, "NANGO_SERVER_PUBLIC_BODY_LIMIT")
        };
        let too_large = || {
            ApiError::message(
                Code::PayloadTooLarge,
                format!("The request body is larger than {limit} bytes ({setting})."),
            )
        };
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let timeout = self.config.body_timeout;
        let bytes = tokio::time::timeout(timeout, read_limited(req.take_body(), limit))
            .await
            .map_err(|_| {
                ApiError::message(
                    Code::RequestTimeout,
                    format!(
                        "The request body did not arrive within {} s (NANGO_REQUEST_BODY_TIMEOUT).",
                        timeout.as_secs_f64()
                    ),
                )
            })?
            .map_err(|e| match e {
                ReadError::TooLarge => too_large(),
                ReadError::Io => ApiError::message(Code::InvalidJson, "The request body could not be read."),
            })?;
        if !bytes.iter().all(u8::is_ascii_whitespace) {
            // Nango's parser is strict: the top level must be an object or an array. Checked
            // without building the tree (the handler parses it once, into its own types).
            let top = bytes.iter().find(|b| !b.is_ascii_whitespace());
            match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
                Ok(_) if matches!(top, Some(b'{' | b'[')) => {}
                Ok(_) => {
                    return Err(ApiError::message(
                        Code::InvalidJson,
                        "The request body must be a JSON object or array.",
                    ));
                }
                Err(e) => {
                    return Err(ApiError::message(
                        Code::InvalidJson,
                        format!("The request body is not valid JSON: {e}"),
                    ));
                }
            }
        }
        req.set_body(Body::from(bytes));
        Ok(())
    }
}

/// Whether a body sent to `path` is a connection write, which carries metadata: the
/// metadata routes (`/connections/metadata`, the deprecated `/connection/metadata` and
/// `/connection/{id}/metadata`), an import (`POST /connections`) and a patch
/// (`PATCH /connections/{id}`). Other methods on these paths take no body.
fn carries_metadata(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/');
    matches!(
        (segments.next(), segments.next(), segments.next(), segments.next()),
        (Some("connections"), None | Some(_), None, None)
            | (Some("connection"), Some("metadata"), None, None)
            | (Some("connection"), Some(_), Some("metadata"), None)
    )
}

enum ReadError {
    TooLarge,
    Io,
}

async fn read_limited(body: Body, limit: usize) -> std::result::Result<Vec<u8>, ReadError> {
    use futures_util::StreamExt;
    let mut stream = body.into_bytes_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ReadError::Io)?;
        if out.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn add_security_headers(headers: &mut HeaderMap) {
    // A page with its own policy (the Connect UI) decides its framing and referrer itself.
    let own_policy = headers.contains_key(header::CONTENT_SECURITY_POLICY);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !own_policy {
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    }
}

/// Turns an error that did not come from our handlers into the envelope. Errors that already
/// carry a response (ours) pass through unchanged.
fn fallback(err: poem::Error, method: &poem::http::Method, path: &str) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let api = match status {
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::message(Code::NotFound, format!("Cannot {method} {path}"))
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::code(Code::PayloadTooLarge),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::code(Code::InvalidContentType),
        s if s.is_client_error() => ApiError::message(Code::InvalidBody, err.to_string()),
        _ => {
            tracing::error!(error = %ErrorChain(&err), "unhandled error");
            ApiError::code(Code::ServerError)
        }
    };
    api.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_writes_are_recognised() {
        for path in [
            "/connections",
            "/connections/c1",
            "/connections/metadata",
            "/connection/metadata",
            "/connection/c1/metadata",
        ] {
            assert!(carries_metadata(path), "{path}");
        }
        for path in ["/integrations", "/connect/sessions", "/connections/c1/x", "/connection/c1", "/action/trigger"] {
            assert!(!carries_metadata(path), "{path}");
        }
    }

    #[test]
    fn subjects_are_read_from_decoded_paths() {
        let (integration, connection) = subject_from_uri("/integrations/acme%20internal%2Fv2", None);
        assert_eq!((integration.as_deref(), connection), (Some("acme internal/v2"), None));
        let (integration, connection) =
            subject_from_uri("/connections/c%C3%A9%zz%4", Some("provider_config_key=acme+x%21"));
        assert_eq!((integration.as_deref(), connection.as_deref()), (Some("acme x!"), Some("cé%zz%4")));
        let (_, connection) = subject_from_uri("/connection/%FF", None);
        assert_eq!(connection.as_deref(), Some("\u{fffd}"), "invalid UTF-8 is replaced, not refused");
        assert_eq!(subject_from_uri("/connections/metadata", None), (None, None));
    }
}
