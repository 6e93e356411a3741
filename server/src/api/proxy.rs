//! `/proxy/{anyPath}`: a plain poem route (any method, any depth, streaming bodies) plus
//! documentation-only operations so the OpenAPI document and generated clients know it.

use std::time::Instant;

use futures_util::TryStreamExt;
use poem::{
    Body, IntoResponse, Request, Response, handler,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    web::Data,
};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path},
    payload::Binary,
};

use super::{
    ApiTags,
    extract::{SecretKey, authenticate},
    rules::CONNECTION_ID,
    validate::{self, StrRule, UNIQUE_KEY},
};
use crate::{
    AppState,
    api::call::{FinishedCall, finish_call},
    error::{ApiError, Code, ValidationIssue},
    model::activity::Kind,
    service::forward::{self as svc, Control, Outgoing, OutgoingBody},
};

/// Request bodies up to this size are kept in memory so they can be replayed on retries;
/// larger ones stream through once.
const REPLAYABLE_BODY: u64 = 1024 * 1024;
const PREFIX: &str = "nango-proxy-";

fn issue(code: &str, message: impl Into<String>, name: &str) -> ValidationIssue {
    ValidationIssue { code: code.to_owned(), message: message.into(), path: vec![name.to_owned()] }
}

/// Nango's control headers, validated with Nango's issues (`invalid_headers`).
fn control(req: &Request) -> Result<Control, ApiError> {
    let get = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap_or_default().to_owned());
    let mut issues = Vec::new();
    let mut required = |name: &str, rule: &StrRule| match get(name) {
        None => {
            issues.push(issue("invalid_type", "Invalid input: expected string, received undefined", name));
            String::new()
        }
        Some(v) => {
            issues.extend(validate::check_str(&v, rule, &[name.to_owned()]));
            v
        }
    };
    let provider_config_key = required("provider-config-key", &UNIQUE_KEY);
    let connection_id = required("connection-id", &CONNECTION_ID);
    let retries = match get("retries").filter(|v| !v.trim().is_empty()) {
        None => 0,
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) => n.min(10),
            Err(_) => {
                issues.push(issue("invalid_type", "Invalid input: expected number, received NaN", "retries"));
                0
            }
        },
    };
    let retry_on = match get("retry-on").filter(|v| !v.is_empty()) {
        None => Vec::new(),
        Some(v) => match v.split(',').map(|s| s.trim().parse::<u16>()).collect::<Result<Vec<_>, _>>() {
            Ok(codes) => codes,
            Err(_) => {
                issues.push(issue("invalid_format", "Invalid string: must match pattern /^\\d+(,\\d+)*$/", "retry-on"));
                Vec::new()
            }
        },
    };
    let base_url_override = match get("base-url-override").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) if url::Url::parse(&v).is_ok() => Some(v),
        Some(_) => {
            issues.push(issue("invalid_format", "Invalid URL", "base-url-override"));
            None
        }
    };
    if let Some(v) = get("decompress").filter(|v| !matches!(v.as_str(), "true" | "false")) {
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

fn forwarded_headers(req: &Request, has_body: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    if has_body && let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        out.push((header::CONTENT_TYPE, ct.clone()));
    }
    for (name, value) in req.headers() {
        if let Some(stripped) = name.as_str().strip_prefix(PREFIX)
            && let Ok(name) = HeaderName::from_bytes(stripped.as_bytes())
        {
            out.push((name, value.clone()));
        }
    }
    out
}

fn path_and_query(req: &Request) -> String {
    let path = req.uri().path();
    let rest = path.get("/proxy".len()..).unwrap_or_default();
    match req.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    }
}

/// The proxy endpoint: forwards, then logs and records one event per call (upstream host,
/// path, attempts and status; never the query string, headers or bodies).
#[handler]
pub async fn handler(req: &Request, body: Body, state: Data<&AppState>) -> Response {
    let started = Instant::now();
    let request_id = crate::request_id::current();
    let method = req.method().clone();
    let mut trace = svc::Trace::default();
    let (result, control) = run(req, body, &state, request_id, &mut trace).await;
    let (response, error_code) = match result {
        Ok(answer) => {
            let status = answer.response.status();
            let mut builder =
                Response::builder().status(StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY));
            for (name, value) in svc::response_headers(answer.response.headers()) {
                builder = builder.header(name.as_str(), value.as_bytes());
            }
            let stream = answer.response.bytes_stream().map_err(std::io::Error::other);
            (builder.body(Body::from_bytes_stream(stream)), None)
        }
        Err(err) => {
            let code = err.envelope().error.code.clone();
            (err.into_response(), Some(code))
        }
    };
    let named = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let call = FinishedCall {
        id: request_id,
        kind: Kind::Proxy,
        operation: None,
        method: method.as_str(),
        path: req.uri().path().to_owned(),
        status: response.status().as_u16(),
        elapsed: started.elapsed(),
        environment: crate::request_id::environment(),
        integration: named(&control.provider_config_key),
        connection: named(&control.connection_id),
        upstream: Some(trace),
        error_code,
        function: None,
    };
    finish_call(&state.ctx.metrics, &state.ctx.activity, call);
    response
}

async fn run(
    req: &Request,
    body: Body,
    state: &AppState,
    request_id: crate::request_id::RequestId,
    trace: &mut svc::Trace,
) -> (Result<svc::Answer, ApiError>, Control) {
    let env = match authenticate(req, false).await {
        Ok(env) => env,
        Err(e) => return (Err(e), Control::default()),
    };
    let control = match control(req) {
        Ok(c) => c,
        Err(e) => return (Err(e), Control::default()),
    };
    crate::request_id::set_subject(Some(&control.provider_config_key), Some(&control.connection_id));
    let method = req.method().clone();
    let has_body = matches!(method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
        && (req.headers().contains_key(header::TRANSFER_ENCODING)
            || req.headers().get(header::CONTENT_LENGTH).is_some_and(|v| v != "0"));
    let length = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let outgoing_body = if !has_body {
        OutgoingBody::Empty
    } else if control.retries > 0 && length.is_some_and(|n| n <= REPLAYABLE_BODY) {
        match body.into_bytes().await {
            Ok(bytes) => OutgoingBody::Buffered(bytes),
            Err(_) => {
                return (Err(ApiError::message(Code::InvalidBody, "The request body could not be read.")), control);
            }
        }
    } else {
        OutgoingBody::Stream(reqwest::Body::wrap_stream(body.into_bytes_stream()))
    };
    let Ok(reqwest_method) = reqwest::Method::from_bytes(method.as_str().as_bytes()) else {
        return (Err(ApiError::message(Code::InvalidBody, "Unsupported method")), control);
    };
    let outgoing = Outgoing {
        method: reqwest_method,
        path_and_query: path_and_query(req),
        headers: forwarded_headers(req, has_body),
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
