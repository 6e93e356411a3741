//! `/proxy/{anyPath}`: served ahead of poem's router and middleware by [`fast`] (straight from
//! hyper: the same authentication, rate limit, request id, headers, metrics and call record
//! as every other route), or through poem's router by [`handler`] when the request needs
//! poem's CORS handling (it carries an `Origin`); plus documentation-only operations so the
//! OpenAPI document and generated clients know it.

use std::{panic::AssertUnwindSafe, time::Instant};

use bytes::Bytes;
use futures_util::FutureExt as _;
use http_body_util::{BodyExt as _, Either, combinators::BoxBody};
use poem::{
    Body, IntoResponse, Request, Response, handler,
    http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header},
    web::Data,
};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path},
    payload::Binary,
};

use super::{
    ApiTags,
    extract::{SecretKey, authenticate_secret_key},
    guard,
    rules::CONNECTION_ID,
    serve::ResponseBody,
    validate::{self, StrRule, UNIQUE_KEY},
};
use crate::{
    AppState,
    api::call::{FinishedCall, finish_call},
    error::{ApiError, Code, ValidationIssue},
    model::activity::Kind,
    request_id::{self, RequestId},
    service::forward::{self as svc, Control, Outgoing, OutgoingBody},
};

/// A proxied response's body: the upstream's, streamed through.
pub type UpstreamBody = svc::UpstreamBody;

/// Request bodies up to this size are kept in memory so they can be replayed on retries;
/// larger ones stream through once.
const REPLAYABLE_BODY: u64 = 1024 * 1024;
const PREFIX: &str = "nango-proxy-";

fn issue(code: &str, message: impl Into<String>, name: &str) -> ValidationIssue {
    ValidationIssue { code: code.to_owned(), message: message.into(), path: vec![name.to_owned()] }
}

/// Nango's control headers, validated with Nango's issues (`invalid_headers`).
fn control(headers: &HeaderMap) -> Result<Control, ApiError> {
    // Names as `HeaderName`s: a lookup by `&str` parses the name first, on every request.
    static PROVIDER_CONFIG_KEY: HeaderName = HeaderName::from_static("provider-config-key");
    static CONNECTION_ID_HEADER: HeaderName = HeaderName::from_static("connection-id");
    static RETRIES: HeaderName = HeaderName::from_static("retries");
    static RETRY_ON: HeaderName = HeaderName::from_static("retry-on");
    static BASE_URL_OVERRIDE: HeaderName = HeaderName::from_static("base-url-override");
    static DECOMPRESS: HeaderName = HeaderName::from_static("decompress");
    let get = |name: &HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or_default().to_owned());
    let mut issues = Vec::new();
    let mut required = |name: &HeaderName, rule: &StrRule| match get(name) {
        None => {
            issues.push(issue("invalid_type", "Invalid input: expected string, received undefined", name.as_str()));
            String::new()
        }
        Some(v) => {
            // The issue's path is built only for an issue.
            issues.extend(validate::check_str(&v, rule, &[]).into_iter().map(|mut i| {
                i.path = vec![name.as_str().to_owned()];
                i
            }));
            v
        }
    };
    let provider_config_key = required(&PROVIDER_CONFIG_KEY, &UNIQUE_KEY);
    let connection_id = required(&CONNECTION_ID_HEADER, &CONNECTION_ID);
    let retries = match get(&RETRIES).filter(|v| !v.trim().is_empty()) {
        None => 0,
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) => n.min(10),
            Err(_) => {
                issues.push(issue("invalid_type", "Invalid input: expected number, received NaN", "retries"));
                0
            }
        },
    };
    let retry_on = match get(&RETRY_ON).filter(|v| !v.is_empty()) {
        None => Vec::new(),
        Some(v) => match v.split(',').map(|s| s.trim().parse::<u16>()).collect::<Result<Vec<_>, _>>() {
            Ok(codes) => codes,
            Err(_) => {
                issues.push(issue("invalid_format", "Invalid string: must match pattern /^\\d+(,\\d+)*$/", "retry-on"));
                Vec::new()
            }
        },
    };
    let base_url_override = match get(&BASE_URL_OVERRIDE).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) if url::Url::parse(&v).is_ok() => Some(v),
        Some(_) => {
            issues.push(issue("invalid_format", "Invalid URL", "base-url-override"));
            None
        }
    };
    if let Some(v) = get(&DECOMPRESS).filter(|v| !matches!(v.as_str(), "true" | "false")) {
        issues.push(issue(
            "invalid_value",
            format!("Invalid option: expected one of \"true\"|\"false\", received {v:?}"),
            "decompress",
        ));
    }
    if !issues.is_empty() {
        return Err(ApiError::issues(Code::InvalidHeaders, issues));
    }
    Ok(Control { provider_config_key, connection_id, retries, retry_on, base_url_override })
}

/// The caller's headers that reach the upstream: `Nango-Proxy-*` without the prefix, and the
/// body's `Content-Type` and `Content-Length` (a body that arrived with a length leaves with
/// it, still streamed; only one that arrived chunked leaves chunked).
fn forwarded_headers(headers: &HeaderMap, has_body: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    if has_body {
        for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH] {
            if let Some(value) = headers.get(&name) {
                out.push((name, value.clone()));
            }
        }
    }
    for (name, value) in headers {
        if let Some(stripped) = name.as_str().strip_prefix(PREFIX)
            && let Ok(name) = HeaderName::from_bytes(stripped.as_bytes())
        {
            out.push((name, value.clone()));
        }
    }
    out
}

fn path_and_query(uri: &Uri) -> String {
    let rest = uri.path().get("/proxy".len()..).unwrap_or_default();
    match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    }
}

/// Whether a request is served by [`fast`]: a proxy path, without an `Origin` (requests from
/// browsers go through poem's CORS middleware).
pub fn takes_fast_path<B>(req: &http::Request<B>) -> bool {
    let path = req.uri().path();
    (path == "/proxy" || path.starts_with("/proxy/")) && !req.headers().contains_key(header::ORIGIN)
}

fn error_response(err: ApiError) -> http::Response<ResponseBody> {
    http::Response::<BoxBody<Bytes, std::io::Error>>::from(err.into_response()).map(Either::Left)
}

/// Serves a proxied request straight from hyper: what the guard does for every other route
/// (request id, span, security and rate-limit headers, panics as 500s), then [`proxy`].
pub async fn fast(state: &AppState, req: http::Request<hyper::body::Incoming>) -> http::Response<ResponseBody> {
    let id = RequestId::next();
    let (parts, body) = req.into_parts();
    let span = guard::request_span(&parts.method, parts.uri.path(), id);
    // Combinators, not an async block: a block would store the call's future twice (the
    // argument and the running `catch_unwind`), and every client connection keeps this
    // future allocated. `answered` runs inside the request-id scope.
    let scoped =
        AssertUnwindSafe(proxy(state, &parts.method, &parts.uri, &parts.headers, body)).catch_unwind().map(answered);
    let (mut resp, environment, (integration, connection), rate) =
        tracing::Instrument::instrument(request_id::scope(id, scoped), span.clone()).await;
    let subject = (integration.as_deref(), connection.as_deref());
    let status = resp.status().as_u16();
    guard::record_span(&span, &parts.method, None, true, status, environment.as_ref(), subject);
    guard::decorate(resp.headers_mut(), rate, id);
    resp
}

/// What a proxied call's future hands back, read inside its request-id scope: the response
/// (a panic answered as a 500), the environment, the subject and the rate-limit decision.
type Scoped = (
    http::Response<ResponseBody>,
    Option<(crate::model::id::EnvironmentId, String)>,
    (Option<String>, Option<String>),
    Option<crate::ratelimit::Decision>,
);

fn answered(result: std::thread::Result<http::Response<ResponseBody>>) -> Scoped {
    let resp = result.unwrap_or_else(|_| {
        tracing::error!("the proxy handler panicked");
        error_response(ApiError::code(Code::ServerError))
    });
    (resp, request_id::environment(), request_id::subject(), request_id::rate())
}

/// The proxy route under poem (requests with an `Origin`, which need CORS): the same as
/// [`fast`], the guard having done its part.
#[handler]
pub async fn handler(req: &Request, body: Body, state: Data<&AppState>) -> Response {
    let body: BoxBody<Bytes, std::io::Error> = body.into();
    let resp = proxy(&state, req.method(), req.uri(), req.headers(), body).await;
    let (parts, body) = resp.into_parts();
    let mut resp = Response::from(Body::from(BoxBody::new(body.map_err(std::io::Error::other))));
    resp.set_status(parts.status);
    *resp.headers_mut() = parts.headers;
    resp
}

/// Forwards one request, then logs and records one event per call (upstream host, path,
/// attempts and status; never the query string, headers or bodies).
async fn proxy<B>(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: B,
) -> http::Response<ResponseBody>
where
    B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    let request_id = request_id::current();
    let mut trace = svc::Trace::default();
    let (result, control) = run(state, method, uri, headers, body, request_id, &mut trace).await;
    let (response, error_code) = match result {
        Ok(answer) => {
            let (mut parts, body) = answer.response.into_parts();
            svc::strip_hop_by_hop(&mut parts.headers);
            (http::Response::from_parts(parts, Either::Right(body)), None)
        }
        Err(err) => {
            let code = err.envelope().error.code.clone();
            (error_response(err), Some(code))
        }
    };
    let named = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let call = FinishedCall {
        id: request_id,
        kind: Kind::Proxy,
        operation: None,
        method: method.as_str(),
        path: uri.path().to_owned(),
        status: response.status().as_u16(),
        elapsed: started.elapsed(),
        environment: request_id::environment(),
        integration: named(&control.provider_config_key),
        connection: named(&control.connection_id),
        upstream: Some(trace),
        error_code,
        function: None,
    };
    finish_call(&state.ctx.metrics, &state.ctx.activity, call);
    response
}

async fn run<B>(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: B,
    request_id: RequestId,
    trace: &mut svc::Trace,
) -> (Result<svc::Answer, ApiError>, Control)
where
    B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let env = match authenticate_secret_key(state, method.as_str(), uri.path(), headers).await {
        Ok(env) => env,
        Err(e) => return (Err(e), Control::default()),
    };
    let control = match control(headers) {
        Ok(c) => c,
        Err(e) => return (Err(e), Control::default()),
    };
    request_id::set_subject(Some(&control.provider_config_key), Some(&control.connection_id));
    let has_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
        && (headers.contains_key(header::TRANSFER_ENCODING)
            || headers.get(header::CONTENT_LENGTH).is_some_and(|v| v != "0"));
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let outgoing_body = if !has_body {
        OutgoingBody::Empty
    } else if control.retries > 0 && length.is_some_and(|n| n <= REPLAYABLE_BODY) {
        match body.collect().await {
            Ok(collected) => OutgoingBody::Buffered(collected.to_bytes()),
            Err(_) => {
                return (Err(ApiError::message(Code::InvalidBody, "The request body could not be read.")), control);
            }
        }
    } else {
        OutgoingBody::Stream(svc::stream_body(body))
    };
    let outgoing = Outgoing {
        method: method.clone(),
        path_and_query: path_and_query(uri),
        headers: forwarded_headers(headers, has_body),
        body: outgoing_body,
        request_id,
    };
    let result = svc::forward(&state.ctx, &env, &control, outgoing, trace).await.map_err(ApiError::from);
    (result, control)
}

/// What the proxy answers: the upstream's status, headers and body, unchanged; or the error
/// envelope (`invalid_headers`, 401s, `unknown_provider_config`, `base_url_override_not_allowed`,
/// 502 `upstream_unreachable`, 504 `upstream_timeout`).
#[derive(ApiResponse)]
pub enum ProxyAnswer {
    /// The upstream's response.
    #[oai(status = 200)]
    Upstream(Binary<Vec<u8>>),
}

/// Documentation of the proxy (the requests are served by [`handler`]).
pub struct ProxyDocApi;

#[OpenApi(tag = "ApiTags::Proxy")]
impl ProxyDocApi {
    /// Proxy a GET request
    ///
    /// Sends `GET <base URL>/<anyPath>` to the connection's API with its credential injected
    /// where the integration says, and returns the upstream's status, headers and body
    /// unchanged (streamed both ways). Headers prefixed `Nango-Proxy-` are forwarded without
    /// the prefix; the proxy's own errors use the error envelope.
    #[allow(clippy::too_many_arguments)] // one argument per documented header
    #[oai(path = "/proxy/:anyPath", method = "get", operation_id = "proxy_get")]
    async fn proxy_get(
        &self,
        _auth: SecretKey,
        /// Path on the upstream API (query strings pass through).
        #[oai(name = "anyPath")]
        _any_path: Path<String>,
        /// The connection's id.
        #[oai(name = "Connection-Id")]
        _connection_id: Header<String>,
        /// The integration's unique key.
        #[oai(name = "Provider-Config-Key")]
        _provider_config_key: Header<String>,
        /// How many times to retry on network errors, 5xx and 429 (default 0).
        #[oai(name = "Retries")]
        _retries: Header<Option<u32>>,
        /// Extra statuses to retry, comma-separated.
        #[oai(name = "Retry-On")]
        _retry_on: Header<Option<String>>,
        /// Base URL to use instead of the integration's.
        #[oai(name = "Base-Url-Override")]
        _base_url_override: Header<Option<String>>,
    ) -> Result<ProxyAnswer, ApiError> {
        Ok(ProxyAnswer::Upstream(Binary(Vec::new())))
    }

    /// Proxy a POST request
    ///
    /// Sends `POST <base URL>/<anyPath>` to the connection's API with its credential injected
    /// where the integration says, and returns the upstream's status, headers and body
    /// unchanged (streamed both ways). Headers prefixed `Nango-Proxy-` are forwarded without
    /// the prefix; the proxy's own errors use the error envelope.
    #[allow(clippy::too_many_arguments)] // one argument per documented header
    #[oai(path = "/proxy/:anyPath", method = "post", operation_id = "proxy_post")]
    async fn proxy_post(
        &self,
        _auth: SecretKey,
        /// Path on the upstream API (query strings pass through).
        #[oai(name = "anyPath")]
        _any_path: Path<String>,
        /// The connection's id.
        #[oai(name = "Connection-Id")]
        _connection_id: Header<String>,
        /// The integration's unique key.
        #[oai(name = "Provider-Config-Key")]
        _provider_config_key: Header<String>,
        /// How many times to retry on network errors, 5xx and 429 (default 0).
        #[oai(name = "Retries")]
        _retries: Header<Option<u32>>,
        /// Extra statuses to retry, comma-separated.
        #[oai(name = "Retry-On")]
        _retry_on: Header<Option<String>>,
        /// Base URL to use instead of the integration's.
        #[oai(name = "Base-Url-Override")]
        _base_url_override: Header<Option<String>>,
        /// The body for the upstream, sent as is.
        _body: Binary<Vec<u8>>,
    ) -> Result<ProxyAnswer, ApiError> {
        Ok(ProxyAnswer::Upstream(Binary(Vec::new())))
    }

    /// Proxy a PUT request
    ///
    /// Sends `PUT <base URL>/<anyPath>` to the connection's API with its credential injected
    /// where the integration says, and returns the upstream's status, headers and body
    /// unchanged (streamed both ways). Headers prefixed `Nango-Proxy-` are forwarded without
    /// the prefix; the proxy's own errors use the error envelope.
    #[allow(clippy::too_many_arguments)] // one argument per documented header
    #[oai(path = "/proxy/:anyPath", method = "put", operation_id = "proxy_put")]
    async fn proxy_put(
        &self,
        _auth: SecretKey,
        /// Path on the upstream API (query strings pass through).
        #[oai(name = "anyPath")]
        _any_path: Path<String>,
        /// The connection's id.
        #[oai(name = "Connection-Id")]
        _connection_id: Header<String>,
        /// The integration's unique key.
        #[oai(name = "Provider-Config-Key")]
        _provider_config_key: Header<String>,
        /// How many times to retry on network errors, 5xx and 429 (default 0).
        #[oai(name = "Retries")]
        _retries: Header<Option<u32>>,
        /// Extra statuses to retry, comma-separated.
        #[oai(name = "Retry-On")]
        _retry_on: Header<Option<String>>,
        /// Base URL to use instead of the integration's.
        #[oai(name = "Base-Url-Override")]
        _base_url_override: Header<Option<String>>,
        /// The body for the upstream, sent as is.
        _body: Binary<Vec<u8>>,
    ) -> Result<ProxyAnswer, ApiError> {
        Ok(ProxyAnswer::Upstream(Binary(Vec::new())))
    }

    /// Proxy a PATCH request
    ///
    /// Sends `PATCH <base URL>/<anyPath>` to the connection's API with its credential injected
    /// where the integration says, and returns the upstream's status, headers and body
    /// unchanged (streamed both ways). Headers prefixed `Nango-Proxy-` are forwarded without
    /// the prefix; the proxy's own errors use the error envelope.
    #[allow(clippy::too_many_arguments)] // one argument per documented header
    #[oai(path = "/proxy/:anyPath", method = "patch", operation_id = "proxy_patch")]
    async fn proxy_patch(
        &self,
        _auth: SecretKey,
        /// Path on the upstream API (query strings pass through).
        #[oai(name = "anyPath")]
        _any_path: Path<String>,
        /// The connection's id.
        #[oai(name = "Connection-Id")]
        _connection_id: Header<String>,
        /// The integration's unique key.
        #[oai(name = "Provider-Config-Key")]
        _provider_config_key: Header<String>,
        /// How many times to retry on network errors, 5xx and 429 (default 0).
        #[oai(name = "Retries")]
        _retries: Header<Option<u32>>,
        /// Extra statuses to retry, comma-separated.
        #[oai(name = "Retry-On")]
        _retry_on: Header<Option<String>>,
        /// Base URL to use instead of the integration's.
        #[oai(name = "Base-Url-Override")]
        _base_url_override: Header<Option<String>>,
        /// The body for the upstream, sent as is.
        _body: Binary<Vec<u8>>,
    ) -> Result<ProxyAnswer, ApiError> {
        Ok(ProxyAnswer::Upstream(Binary(Vec::new())))
    }

    /// Proxy a DELETE request
    ///
    /// Sends `DELETE <base URL>/<anyPath>` to the connection's API with its credential injected
    /// where the integration says, and returns the upstream's status, headers and body
    /// unchanged (streamed both ways). Headers prefixed `Nango-Proxy-` are forwarded without
    /// the prefix; the proxy's own errors use the error envelope.
    #[allow(clippy::too_many_arguments)] // one argument per documented header
    #[oai(path = "/proxy/:anyPath", method = "delete", operation_id = "proxy_delete")]
    async fn proxy_delete(
        &self,
        _auth: SecretKey,
        /// Path on the upstream API (query strings pass through).
        #[oai(name = "anyPath")]
        _any_path: Path<String>,
        /// The connection's id.
        #[oai(name = "Connection-Id")]
        _connection_id: Header<String>,
        /// The integration's unique key.
        #[oai(name = "Provider-Config-Key")]
        _provider_config_key: Header<String>,
        /// How many times to retry on network errors, 5xx and 429 (default 0).
        #[oai(name = "Retries")]
        _retries: Header<Option<u32>>,
        /// Extra statuses to retry, comma-separated.
        #[oai(name = "Retry-On")]
        _retry_on: Header<Option<String>>,
        /// Base URL to use instead of the integration's.
        #[oai(name = "Base-Url-Override")]
        _base_url_override: Header<Option<String>>,
        /// The body for the upstream, sent as is.
        _body: Binary<Vec<u8>>,
    ) -> Result<ProxyAnswer, ApiError> {
        Ok(ProxyAnswer::Upstream(Binary(Vec::new())))
    }
}
