//! Forwarding a proxied request: the upstream URL from the connection's [`Target`], the
//! caller's headers and body, retries (`Retries`, `Retry-On`, `Retry-After`, backoff with a
//! bounded total wait), and the upstream's answer handed back as a stream. The connection's
//! auth-error state is kept by `service::connection`; injection by `service::credentials`.

use std::time::Duration;

use http::{
    Method, StatusCode,
    header::{self, HeaderMap, HeaderName, HeaderValue},
};
use http_body_util::{BodyExt as _, Either, Full, combinators::BoxBody};
use tracing::Instrument as _;

use super::{
    Context, Error, connection,
    credentials::{self, Target},
};
use crate::{
    model::{environment::Environment, provider::RetryRule},
    outbound::{self, HOP_BY_HOP},
};

/// The proxy's control headers (already validated).
#[derive(Debug, Clone, Default)]
pub struct Control {
    pub provider_config_key: String,
    pub connection_id: String,
    pub retries: u32,
    pub retry_on: Vec<u16>,
    pub base_url_override: Option<String>,
}

/// The request body to forward.
pub enum OutgoingBody {
    Empty,
    /// Small enough to replay on retries.
    Buffered(bytes::Bytes),
    /// Streamed once (no retries).
    Stream(BoxBody<bytes::Bytes, BoxError>),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request to forward.
pub struct Outgoing {
    pub method: Method,
    /// Path and raw query after `/proxy`, e.g. `/v1/items?a=1`.
    pub path_and_query: String,
    /// Caller headers to forward (`Nango-Proxy-` prefix already removed) and the body's
    /// `Content-Type`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: OutgoingBody,
    /// The request's id (recorded with an auth error).
    pub request_id: crate::request_id::RequestId,
}

/// The body of an upstream's answer, streamed.
pub type UpstreamBody = hyper::body::Incoming;

/// The upstream's answer, body not yet read.
pub struct Answer {
    pub response: http::Response<UpstreamBody>,
}

/// A caller's body to stream to the upstream once.
pub fn stream_body<B>(body: B) -> BoxBody<bytes::Bytes, BoxError>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    BoxBody::new(body.map_err(Into::into))
}

/// What the proxy sends when the caller does not say otherwise (with `Nango-Proxy-User-Agent`,
/// `Nango-Proxy-Accept-Encoding`): our name and version, and a request for the body as it is
/// (so what the caller receives is what Nango returns after decompressing; see
/// docs/compatibility.md).
const DEFAULT_HEADERS: [(HeaderName, &str); 2] =
    [(header::USER_AGENT, concat!("nango-rs/", env!("CARGO_PKG_VERSION"))), (header::ACCEPT_ENCODING, "identity")];

/// What a forwarded request did, filled in as it goes (so failures report it too): for the
/// call's log record and the connection's activity.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// The connection's row, once resolved.
    pub connection_row: Option<i64>,
    pub upstream_host: Option<String>,
    /// The upstream path, without the query string (it may carry the key).
    pub upstream_path: Option<String>,
    pub attempts: u32,
    /// The last upstream status seen.
    pub upstream_status: Option<u16>,
}

/// Whether `path_and_query`'s path climbs above where it starts with `..` segments (literal
/// or percent-encoded, any case, as the WHATWG URL parser reads them), which would take a
/// request out of the integration's base path with its credential.
fn climbs_above_base(path_and_query: &str) -> bool {
    let path = path_and_query.split(['?', '#']).next().unwrap_or_default();
    let mut depth: i64 = 0;
    for segment in path.split(['/', '\\']) {
        // Only a segment with a `%` can hide an encoded dot (and costs an allocation).
        let decoded;
        let segment = if segment.contains('%') {
            decoded = segment.to_ascii_lowercase().replace("%2e", ".");
            decoded.as_str()
        } else {
            segment
        };
        match segment {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// The upstream URI of a request, checked against the outbound policy (before resolution;
/// names are checked again after it).
fn upstream_uri(ctx: &Context, target: &Target, control: &Control, path_and_query: &str) -> Result<http::Uri, Error> {
    let base = control.base_url_override.as_deref().unwrap_or(&target.base_url);
    if base.is_empty() {
        return Err(Error::ProxyNoBaseUrl);
    }
    if climbs_above_base(path_and_query) {
        return Err(Error::ProxyPathEscapes);
    }
    // The common case, without parsing: the target's own (canonical) base and a plain path.
    if control.base_url_override.is_none()
        && let Some((uri, base)) = target.fast_uri(path_and_query)
    {
        ctx.http.check(base).map_err(|_| Error::OutboundBlocked)?;
        return Ok(uri);
    }
    let invalid = || Error::InvalidInput(format!("The upstream URL {base}/… is not valid"));
    let url = target.url(base, path_and_query).ok_or_else(invalid)?;
    ctx.http.check(&url).map_err(|_| Error::OutboundBlocked)?;
    http::Uri::try_from(url.as_str()).map_err(|_| invalid())
}

/// Whether an answer may be retried: 5xx and 429 (or the provider's `retry.error_code`
/// instead), the caller's `Retry-On` statuses, and any answer whose provider-declared
/// `retry.remaining` header is `0`.
fn retryable(status: StatusCode, headers: &HeaderMap, control: &Control, rule: &RetryRule) -> bool {
    let by_status = if rule.error_codes.is_empty() {
        status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
    } else {
        rule.matches(status.as_u16())
    };
    by_status
        || control.retry_on.contains(&status.as_u16())
        || rule.remaining.as_deref().is_some_and(|name| headers.get(name).is_some_and(|v| v == "0"))
}

/// The wait the provider's `retry.at` (or else `retry.after`) headers ask for: the longest
/// of those present, as Nango reads them (`at`: epoch seconds or milliseconds, or a date;
/// `after`: seconds).
fn provider_wait(rule: &RetryRule, headers: &HeaderMap) -> Option<Duration> {
    let (at, names) = if rule.at.is_empty() { (false, &rule.after) } else { (true, &rule.at) };
    let now = chrono::Utc::now();
    names
        .iter()
        .filter_map(|name| {
            let value = headers.get(name.as_str())?.to_str().ok()?.trim();
            if !at {
                let secs: f64 = value.parse().ok()?;
                return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
            }
            let epoch = match value.parse::<f64>() {
                // Nango's rule: a number that reads as a date after 1971 in milliseconds is milliseconds.
                Ok(n) if n > 31_536_000_000.0 => n / 1000.0,
                Ok(n) => n,
                Err(_) => chrono::DateTime::parse_from_rfc2822(value)
                    .or_else(|_| chrono::DateTime::parse_from_rfc3339(value))
                    .ok()?
                    .timestamp() as f64,
            };
            let wait = (epoch - now.timestamp() as f64).ceil();
            (wait > 0.0).then(|| Duration::from_secs_f64(wait))
        })
        .max()
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Exponential backoff with full jitter: a random wait in `[0, 250 ms × 2^attempt]`, capped
/// at 10 s.
fn backoff(attempt: u32) -> Duration {
    crate::backoff::Backoff::new(Duration::from_millis(250), Duration::from_secs(10)).jittered(attempt)
}

/// Forwards `out` for the connection named by `control`, retrying as asked, and reports
/// what the upstream said of the credential to `connection::record_auth_outcome` (a 401
/// records an auth error, the next 2xx clears it; only transitions write).
pub async fn forward(
    ctx: &Context,
    env: &Environment,
    control: &Control,
    out: Outgoing,
    trace: &mut Trace,
) -> Result<Answer, Error> {
    let target = credentials::resolve(ctx, env, &control.provider_config_key, &control.connection_id).await?;
    trace.connection_row = Some(target.connection_row);
    let request_id = out.request_id;
    let answer = send(ctx, control, &target, out, trace).await?;
    let status = answer.response.status();
    let refused = status == StatusCode::UNAUTHORIZED;
    if (refused && !target.has_auth_error) || (status.is_success() && target.has_auth_error) {
        let subject = connection::AuthSubject {
            provider_config_key: &control.provider_config_key,
            connection_id: &control.connection_id,
            connection_row: target.connection_row,
            integration_id: target.integration_id,
        };
        connection::record_auth_outcome(ctx, env, subject, refused, request_id).await;
    }
    Ok(answer)
}

/// Why an attempt got no answer.
#[derive(Debug)]
enum Failure {
    /// Refused by the outbound policy (after resolution, or on a redirect).
    Blocked,
    /// Not reached (connection refused, reset, TLS, a redirect to an unusable URL).
    Unreachable(BoxError),
}

/// What one attempt came to.
type Attempt = Result<Result<http::Response<UpstreamBody>, Failure>, tokio::time::error::Elapsed>;

/// The client span of one upstream attempt (exported only when tracing export is on).
fn attempt_span(method: &Method, url: &http::Uri, attempt: u32) -> tracing::Span {
    tracing::info_span!(
        "upstream",
        otel.name = %format_args!("{method} upstream"),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        server.address = url.host().unwrap_or_default(),
        url.path = url.path(),
        http.request.resend_count = i64::from(attempt - 1),
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// Records an attempt's outcome on its span: the status, and an error type for 5xx,
/// timeouts and unreachable upstreams.
fn record_attempt(span: &tracing::Span, result: &Attempt) {
    if span.is_disabled() {
        return;
    }
    let error = match result {
        Ok(Ok(response)) => {
            let status = response.status().as_u16();
            span.record("http.response.status_code", i64::from(status));
            (status >= 500).then(|| status.to_string())
        }
        Ok(Err(_)) => Some("unreachable".to_owned()),
        Err(_) => Some("timeout".to_owned()),
    };
    if let Some(error) = error {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", error);
    }
}

/// After an attempt: hand the answer back, give up with an error, or wait and try again.
enum Next {
    Answer(Answer),
    Fail(Error),
    RetryAfter(Duration),
}

/// Decides what follows attempt number `attempt` (of `max_attempts`), having waited `waited`.
fn next_step(
    ctx: &Context,
    control: &Control,
    rule: &RetryRule,
    result: Attempt,
    attempt: u32,
    max_attempts: u32,
    waited: Duration,
) -> Next {
    let last = attempt >= max_attempts;
    let wait = match result {
        Ok(Ok(response)) => {
            let status = response.status();
            if last || !retryable(status, response.headers(), control, rule) {
                return Next::Answer(Answer { response });
            }
            let honoured = provider_wait(rule, response.headers()).or_else(|| {
                matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
                    .then(|| retry_after(response.headers()))
                    .flatten()
            });
            let wait = honoured.unwrap_or_else(|| backoff(attempt));
            if waited + wait > ctx.proxy.max_retry_wait {
                return Next::Answer(Answer { response });
            }
            wait
        }
        Ok(Err(Failure::Blocked)) => return Next::Fail(Error::OutboundBlocked),
        Ok(Err(Failure::Unreachable(e))) => {
            if last {
                // The error names no URL (with query placement it would carry the key).
                tracing::debug!(error = %crate::chain::ErrorChain(e.as_ref()), "upstream unreachable");
                return Next::Fail(Error::UpstreamUnreachable);
            }
            backoff(attempt)
        }
        Err(_elapsed) => {
            if last {
                return Next::Fail(Error::UpstreamTimeout);
            }
            backoff(attempt)
        }
    };
    if waited + wait > ctx.proxy.max_retry_wait {
        return Next::Fail(Error::UpstreamUnreachable);
    }
    Next::RetryAfter(wait)
}

async fn send(
    ctx: &Context,
    control: &Control,
    target: &Target,
    out: Outgoing,
    trace: &mut Trace,
) -> Result<Answer, Error> {
    let url = upstream_uri(ctx, target, control, &out.path_and_query)?;
    trace.upstream_host = Some(url.host().unwrap_or_default().to_owned());
    trace.upstream_path = Some(url.path().to_owned());

    let mut headers = target.header_map(out.headers.len() + 2);
    let (body, rewritten) =
        prepare(target, &out.method, &url, &out.path_and_query, &out.headers, out.body, &mut headers).await?;
    // Caller headers win, as in Nango (including over the injected ones).
    for (name, value) in out.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != header::HOST {
            headers.insert(name, value);
        }
    }
    if let Some(content_type) = rewritten {
        // The body changed: its length is the new one (set by the client), its type the merged one.
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    for (name, value) in DEFAULT_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }

    let (replayable, mut stream) = match body {
        OutgoingBody::Empty => (Some(bytes::Bytes::new()), None),
        OutgoingBody::Buffered(b) => (Some(b), None),
        OutgoingBody::Stream(s) => (None, Some(s)),
    };
    let max_attempts = if replayable.is_some() { control.retries.saturating_add(1) } else { 1 };
    let mut waited = Duration::ZERO;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let body = match stream.take() {
            Some(s) => Either::Right(s),
            None => Either::Left(Full::new(replayable.clone().unwrap_or_default())),
        };
        let request = Exchange { method: &out.method, url: &url, headers: &headers, replayable: replayable.as_ref() };
        trace.attempts = attempt;
        let span = attempt_span(&out.method, &url, attempt);
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(ctx.proxy.timeout, request.run(ctx, body)).instrument(span.clone()).await;
        let status = match &result {
            Ok(Ok(response)) => Some(response.status().as_u16()),
            _ => None,
        };
        trace.upstream_status = status.or(trace.upstream_status);
        ctx.metrics.upstream_attempt(status, started.elapsed());
        record_attempt(&span, &result);
        match next_step(ctx, control, &target.retry, result, attempt, max_attempts, waited) {
            Next::Answer(answer) => return Ok(answer),
            Next::Fail(error) => return Err(error),
            Next::RetryAfter(wait) => {
                waited += wait;
                ctx.metrics.retry();
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// The most of a request body read to sign or complete it (providers whose templates sign
/// the body or inject `proxy.body` fields).
const MAX_BODY_READ: usize = 10 * 1024 * 1024;

/// Prepares the body and the per-request headers of a target that needs them: the body is
/// read (at most [`MAX_BODY_READ`]) when the provider injects `proxy.body` fields into it or
/// signs it; fields are merged in (Nango's `mergeInjectedBody`), then the signatures and dates
/// are computed over the final body. Returns the body and, when it was rewritten, its new
/// content type.
async fn prepare(
    target: &Target,
    method: &Method,
    url: &http::Uri,
    path_and_query: &str,
    caller: &[(HeaderName, HeaderValue)],
    body: OutgoingBody,
    headers: &mut HeaderMap,
) -> Result<(OutgoingBody, Option<&'static str>), Error> {
    let injects = !target.body_fields.is_empty()
        && matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let signs_body = target.signs_body && matches!(*method, Method::POST | Method::PUT | Method::PATCH);
    if !injects && !target.signs() {
        return Ok((body, None));
    }
    let mut body = match body {
        OutgoingBody::Stream(stream) if injects || signs_body => OutgoingBody::Buffered(read_body(stream).await?),
        other => other,
    };
    let caller_type =
        caller.iter().find(|(n, _)| *n == header::CONTENT_TYPE).and_then(|(_, v)| v.to_str().ok()).unwrap_or_default();
    let mut rewritten = None;
    if injects {
        let current = match &body {
            OutgoingBody::Buffered(bytes) => bytes.clone(),
            _ => bytes::Bytes::new(),
        };
        if let Some((merged, content_type)) = credentials::inject_body(&current, caller_type, &target.body_fields) {
            body = OutgoingBody::Buffered(merged.into());
            rewritten = Some(content_type);
        }
    }
    if target.signs() {
        let text = match &body {
            OutgoingBody::Buffered(bytes) if signs_body => String::from_utf8_lossy(bytes),
            _ => std::borrow::Cow::Borrowed(""),
        };
        let endpoint = path_and_query.split('?').next().unwrap_or_default();
        let content_type = rewritten.unwrap_or(caller_type);
        for (name, value) in target.signed_headers(method.as_str(), url, endpoint, content_type, &text)? {
            headers.insert(name, value);
        }
    }
    Ok((body, rewritten))
}

/// A streamed body read whole, refused beyond [`MAX_BODY_READ`].
async fn read_body(mut stream: BoxBody<bytes::Bytes, BoxError>) -> Result<bytes::Bytes, Error> {
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = stream.frame().await {
        let frame = frame.map_err(|_| Error::InvalidInput("The request body could not be read".to_owned()))?;
        if let Ok(data) = frame.into_data() {
            if collected.len() + data.len() > MAX_BODY_READ {
                return Err(Error::InvalidInput(format!(
                    "This provider signs or completes request bodies; such a body may have at most {MAX_BODY_READ} bytes"
                )));
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

/// One attempt's request: sent, then its redirects followed on the same origin (at most
/// [`outbound::MAX_REDIRECTS`], each checked by the policy), with the method and body rules
/// of browsers and reqwest: 301, 302 and 303 continue as `GET` (`HEAD` stays) without the
/// body and its headers; 307 and 308 repeat the request, which needs a body that can be
/// sent again (a streamed one cannot: the redirect is handed back).
struct Exchange<'a> {
    method: &'a Method,
    url: &'a http::Uri,
    headers: &'a HeaderMap,
    replayable: Option<&'a bytes::Bytes>,
}

impl Exchange<'_> {
    async fn run(self, ctx: &Context, body: outbound::ProxyBody) -> Result<http::Response<UpstreamBody>, Failure> {
        let mut method = self.method.clone();
        let mut uri = self.url.clone();
        // Parsed only when a redirect is to be followed.
        let mut first: Option<url::Url> = None;
        let mut headers = std::borrow::Cow::Borrowed(self.headers);
        let mut body = body;
        let mut hops = 0;
        loop {
            let mut request = http::Request::new(body);
            *request.method_mut() = method.clone();
            *request.uri_mut() = uri.clone();
            *request.headers_mut() = headers.as_ref().clone();
            let response = ctx.http.send(request).await.map_err(|e| {
                if outbound::is_blocked(&e) { Failure::Blocked } else { Failure::Unreachable(Box::new(e)) }
            })?;
            let status = response.status();
            if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
                return Ok(response);
            }
            let Some(location) = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
                return Ok(response);
            };
            let current = url::Url::parse(&uri.to_string()).map_err(|e| Failure::Unreachable(Box::new(e)))?;
            let first = first.get_or_insert_with(|| current.clone());
            let Ok(next) = current.join(location) else {
                return Ok(response);
            };
            match outbound::redirect_step(Some(first), &next, ctx.http.policy()) {
                Ok(true) => {}
                Ok(false) => return Ok(response),
                Err(_) => return Err(Failure::Blocked),
            }
            if hops >= outbound::MAX_REDIRECTS {
                return Err(Failure::Blocked);
            }
            body = if matches!(status.as_u16(), 307 | 308) {
                match self.replayable {
                    Some(bytes) => Either::Left(Full::new(bytes.clone())),
                    None => return Ok(response),
                }
            } else {
                if method != Method::HEAD {
                    method = Method::GET;
                }
                let h = headers.to_mut();
                for name in
                    [header::TRANSFER_ENCODING, header::CONTENT_ENCODING, header::CONTENT_TYPE, header::CONTENT_LENGTH]
                {
                    h.remove(name);
                }
                Either::Left(Full::new(bytes::Bytes::new()))
            };
            hops += 1;
            uri = http::Uri::try_from(next.as_str()).map_err(|e| Failure::Unreachable(Box::new(e)))?;
        }
    }
}

/// Removes the hop-by-hop headers of an upstream's answer before it goes back to the caller.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Only the names present are removed, by name (no parsing of the list's texts): most
    // answers carry one of them, `Connection`.
    while let Some(name) = headers.keys().find(|name| HOP_BY_HOP.contains(&name.as_str())).cloned() {
        headers.remove(&name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_may_not_climb_above_the_base_path() {
        for escaping in [
            "/..",
            "/../../admin",
            "/%2e%2e/%2e%2e/admin",
            "/%2E%2E/admin",
            "/.%2e/admin",
            "/%2e./admin",
            "/a/../../admin",
            "//../admin",
            "/a/..%2F../admin".replace("%2F", "/").as_str(),
            "/a\\..\\..\\admin",
            "/./../x?q=1",
        ] {
            assert!(climbs_above_base(escaping), "{escaping}");
        }
        for inside in
            ["/", "/items/1", "/a/../b", "/a/./b/../c", "/..a/b", "/a/%2e%2ex", "/items?path=../../x", "/v1/a..b"]
        {
            assert!(!climbs_above_base(inside), "{inside}");
        }
    }

    #[test]
    fn provider_retry_rules() {
        let rule = RetryRule {
            at: vec!["x-reset".into(), "x-reset-2".into()],
            error_codes: vec!["403".into(), "5xx".into(), "420-422".into()],
            remaining: Some("x-left".into()),
            ..Default::default()
        };
        assert!([403, 500, 599, 420, 421, 422].iter().all(|s| rule.matches(*s)));
        assert!(![404, 429, 419, 423].iter().any(|s| rule.matches(*s)));
        let control = Control::default();
        let mut h = HeaderMap::new();
        assert!(!retryable(StatusCode::TOO_MANY_REQUESTS, &h, &control, &rule), "error_code replaces the defaults");
        h.insert("x-left", HeaderValue::from_static("0"));
        assert!(retryable(StatusCode::NOT_FOUND, &h, &control, &rule));
        let now = chrono::Utc::now().timestamp();
        h.insert("x-reset", HeaderValue::from_str(&(now + 5).to_string()).unwrap());
        h.insert("x-reset-2", HeaderValue::from_str(&((now + 9) * 1000).to_string()).unwrap());
        let wait = provider_wait(&rule, &h).unwrap();
        assert!(
            wait > Duration::from_secs(7) && wait <= Duration::from_secs(10),
            "the longest, ms read as ms: {wait:?}"
        );
        let after = RetryRule { after: vec!["x-wait".into()], ..Default::default() };
        h.insert("x-wait", HeaderValue::from_static("2.5"));
        assert_eq!(provider_wait(&after, &h), Some(Duration::from_millis(2500)));
        assert_eq!(provider_wait(&RetryRule::default(), &h), None);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert("retry-after", HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a date in the past means now");
        assert!(backoff(3) <= Duration::from_millis(2000));
    }
}
