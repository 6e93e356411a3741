//! Request guard applied before routing, in Nango's middleware order: path normalisation,
//! security and CORS headers, the content-type guard (415), the body-size limit (413) and the
//! JSON syntax check (400 `invalid_json`); plus the fallback that turns every error poem
//! raises itself (unknown route, panic) into the error envelope.

use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, StatusCode, Uri, header},
};

use std::time::Instant;

use poem_openapi::OperationId;

use crate::{
    error::{ApiError, Code, ErrorChain},
    request_id::{self, RequestId},
};

/// Path prefixes whose requests must be JSON when they carry a Content-Type (Nango's guard).
const JSON_PREFIXES: &[&str] = &["integrations", "providers", "connections", "connection", "connect"];

/// The guard middleware.
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
}

impl<E: Endpoint> Middleware<E> for Guard {
    type Output = GuardEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        GuardEndpoint { inner: ep, body_limit: self.body_limit }
    }
}

/// See [`Guard`].
pub struct GuardEndpoint<E> {
    inner: E,
    body_limit: usize,
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
        let (mut resp, operation, environment) = request_id::scope(id, async {
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
            (resp, operation, request_id::environment())
        })
        .await;
        // The proxy logs its own, richer event (upstream host, attempts); liveness probes
        // would only drown the log.
        if !is_proxy && path != "/health" {
            tracing::info!(
                request.id = %id,
                environment = environment.as_deref().unwrap_or("-"),
                operation = operation.unwrap_or("-"),
                http.method = %method,
                http.path = %path,
                status = resp.status().as_u16(),
                duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                "api request"
            );
        }
        add_security_headers(&mut resp);
        if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
            resp.headers_mut().insert("x-nango-request-id", value);
        }
        Ok(resp)
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
        let too_large = || {
            ApiError::message(
                Code::PayloadTooLarge,
                format!("The request body is larger than {} bytes (NANGO_SERVER_PUBLIC_BODY_LIMIT).", self.body_limit),
            )
        };
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.body_limit as u64) {
            return Err(too_large());
        }
        let bytes = read_limited(req.take_body(), self.body_limit).await.map_err(|e| match e {
            ReadError::TooLarge => too_large(),
            ReadError::Io => ApiError::message(Code::InvalidJson, "The request body could not be read."),
        })?;
        if !bytes.iter().all(u8::is_ascii_whitespace) {
            // Nango's parser is strict: the top level must be an object or an array.
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(serde_json::Value::Object(_) | serde_json::Value::Array(_)) => {}
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

fn add_security_headers(resp: &mut Response) {
    let headers = resp.headers_mut();
    // A page with its own policy (the Connect UI) decides its framing and referrer itself.
    let own_policy = headers.contains_key("content-security-policy");
    for (name, value) in
        [("x-content-type-options", "nosniff"), ("referrer-policy", "strict-origin"), ("x-frame-options", "SAMEORIGIN")]
    {
        if own_policy && name != "x-content-type-options" {
            continue;
        }
        headers.insert(name, HeaderValue::from_static(value));
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
