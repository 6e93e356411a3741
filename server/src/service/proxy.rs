//! The proxy: resolves where a request goes and which credential it carries (cached, with
//! invalidation), sends it with retries, and hands the upstream response back as a stream.
//! Uses `crate::proxy` for the outbound client and policy; no web framework types.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use base64::Engine as _;
use reqwest::{
    Method, StatusCode,
    header::{HeaderMap, HeaderName, HeaderValue},
};
use serde_json::Value;

use super::{Context, Error, provider::Provider};
use tracing::Instrument as _;

use crate::{
    config::OutboundPolicy,
    db::{self, repo},
    model::{connection::Credentials, environment::Environment},
    proxy::{self as outbound, HOP_BY_HOP},
};

/// Proxy settings, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct ProxySettings {
    pub policy: OutboundPolicy,
    /// Longest wait for the upstream's response headers (504 after it).
    pub timeout: Duration,
    /// Longest total wait between retries of one request.
    pub max_retry_wait: Duration,
    /// How long a resolved target may be used without re-reading the database (bounds the
    /// staleness seen by other replicas; this replica invalidates immediately).
    pub cache_ttl: Duration,
}

/// (environment id, integration key, connection id).
type CacheKey = (i64, String, String);

/// The proxy's shared state: the outbound client and the target cache.
pub struct ProxyState {
    pub settings: ProxySettings,
    pub client: reqwest::Client,
    cache: Mutex<HashMap<CacheKey, (Instant, Arc<Target>)>>,
    environments: Mutex<HashMap<Vec<u8>, (Instant, Environment)>>,
}

impl fmt::Debug for ProxyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyState").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl ProxyState {
    /// Builds the state and the outbound client.
    pub fn new(settings: ProxySettings) -> reqwest::Result<Self> {
        let client = outbound::client(settings.policy, Duration::from_secs(10).min(settings.timeout))?;
        Ok(Self { settings, client, cache: Mutex::new(HashMap::new()), environments: Mutex::new(HashMap::new()) })
    }

    fn cached(&self, key: &CacheKey) -> Option<Arc<Target>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key).filter(|(at, _)| at.elapsed() < self.settings.cache_ttl).map(|(_, t)| t.clone())
    }

    fn store(&self, key: CacheKey, target: Arc<Target>) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 100_000 {
            cache.retain(|_, (at, _)| at.elapsed() < self.settings.cache_ttl);
        }
        cache.insert(key, (Instant::now(), target));
    }

    /// The environment of a secret-key hash, if looked up within the TTL.
    pub fn cached_environment(&self, hash: &[u8]) -> Option<Environment> {
        let cache = self.environments.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(hash).filter(|(at, _)| at.elapsed() < self.settings.cache_ttl).map(|(_, env)| env.clone())
    }

    /// Remembers the environment of a secret-key hash.
    pub fn remember_environment(&self, hash: Vec<u8>, env: Environment) {
        let mut cache = self.environments.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(hash, (Instant::now(), env));
    }

    /// Forgets every remembered secret-key lookup (after a key changed).
    pub fn forget_environments(&self) {
        self.environments.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Forgets every cached target of an integration (after it changed).
    pub fn invalidate_integration(&self, environment_id: i64, unique_key: &str) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(env, key, _), _| !(*env == environment_id && key == unique_key));
    }

    /// Forgets the cached target of one connection (after it changed).
    pub fn invalidate_connection(&self, environment_id: i64, unique_key: &str, connection_id: &str) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.remove(&(environment_id, unique_key.to_owned(), connection_id.to_owned()));
    }
}

/// Where a connection's requests go and what they carry. Holds credentials: `Debug` redacts.
pub struct Target {
    base_url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    query: Vec<(String, String)>,
    /// The connection's row and whether the upstream refused its credential last time.
    connection_row: i64,
    integration_id: i64,
    has_auth_error: bool,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        let params: Vec<&str> = self.query.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Target")
            .field("base_url", &self.base_url)
            .field("headers", &names)
            .field("query", &params)
            .finish()
    }
}

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
    Stream(reqwest::Body),
}

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

/// The upstream's answer, body not yet read.
pub struct Answer {
    pub response: reqwest::Response,
}

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

fn interpolate(template: &str, values: &HashMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if values.contains_key(&after[..end]) => {
                out.push_str(&values[&after[..end]]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let invalid = || Error::InvalidInput(format!("The header {name} of this integration is not a valid HTTP header"));
    Ok((
        HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| invalid())?,
        HeaderValue::from_str(value).map_err(|_| invalid())?,
    ))
}

fn build_target(
    provider: &Provider,
    custom: &std::collections::BTreeMap<String, String>,
    credentials: &Credentials,
) -> Result<Target, Error> {
    let mut values: HashMap<&str, String> = HashMap::new();
    let mut headers = Vec::new();
    match credentials {
        Credentials::ApiKey { api_key } => {
            values.insert("apiKey", api_key.clone());
            values.insert("credentials.apiKey", api_key.clone());
        }
        Credentials::Basic { username, password } => {
            values.insert("username", username.clone());
            values.insert("password", password.clone());
            values.insert("credentials.username", username.clone());
            values.insert("credentials.password", password.clone());
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            headers.push(header("authorization", &format!("Basic {token}"))?);
        }
    }
    let proxy = provider.definition.get("proxy");
    let mut base_url = proxy.and_then(|p| p.get("base_url")).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut query = Vec::new();
    if let Some(Value::Object(templates)) = proxy.and_then(|p| p.get("headers")) {
        for (name, template) in templates {
            if let Some(t) = template.as_str() {
                let value = interpolate(t, &values);
                headers.retain(|(n, _): &(HeaderName, HeaderValue)| n.as_str() != name.to_ascii_lowercase());
                headers.push(header(name, &value)?);
            }
        }
    }
    if let Some(Value::Object(templates)) = proxy.and_then(|p| p.get("query")) {
        for (name, template) in templates {
            let value = template.as_str().map(|t| interpolate(t, &values));
            if let Some(v) = value.filter(|v| !v.contains("${")) {
                query.push((name.clone(), v));
            }
        }
    }
    // Per-integration placement (private-api-generic): only when keyName is set.
    if provider.integration_config.is_some()
        && let Some(key_name) = custom.get("keyName").filter(|k| !k.is_empty())
    {
        let template = custom.get("valueTemplate").filter(|t| !t.is_empty()).map_or("${apiKey}", String::as_str);
        let value = interpolate(template, &values);
        if custom.get("keyPlacement").map(String::as_str) == Some("query") {
            query.retain(|(n, _)| n != key_name);
            query.push((key_name.clone(), value));
        } else {
            let (name, value) = header(key_name, &value)?;
            headers.retain(|(n, _)| *n != name);
            headers.push((name, value));
        }
        if let Some(url) = custom.get("baseUrl").filter(|u| !u.is_empty()) {
            base_url.clone_from(url);
        }
    }
    Ok(Target { base_url, headers, query, connection_row: 0, integration_id: 0, has_auth_error: false })
}

async fn target(ctx: &Context, env: &Environment, control: &Control) -> Result<Arc<Target>, Error> {
    let state = &ctx.proxy;
    let key = (env.id, control.provider_config_key.clone(), control.connection_id.clone());
    if let Some(hit) = state.cached(&key) {
        ctx.metrics.target_cache(true);
        return Ok(hit);
    }
    ctx.metrics.target_cache(false);
    let integration = repo::integration::find(&ctx.db, &ctx.cipher, env.id, &control.provider_config_key)
        .instrument(db::span(&ctx.db, "select integration"))
        .await
        .map_err(Error::internal("Failed to load the integration"))?
        .ok_or(Error::ProxyUnknownIntegration)?;
    let provider = ctx.catalog.get(&integration.provider).ok_or(Error::ProxyUnknownIntegration)?;
    let connection = repo::connection::for_proxy(&ctx.db, &ctx.cipher, env.id, integration.id, &control.connection_id)
        .instrument(db::span(&ctx.db, "select connection"))
        .await
        .map_err(Error::internal("Failed to get connection"))?
        .ok_or(Error::ProxyUnknownConnection)?;
    let mut target = build_target(provider, &integration.settings.custom, &connection.credentials)?;
    target.connection_row = connection.id;
    target.integration_id = integration.id;
    target.has_auth_error = connection.has_auth_error;
    let target = Arc::new(target);
    state.store(key, target.clone());
    Ok(target)
}

impl Target {
    /// `base` joined with `path_and_query`, with the injected query parameters appended.
    fn url(&self, base: &str, path_and_query: &str) -> Option<url::Url> {
        let joined = format!("{}/{}", base.trim_end_matches('/'), path_and_query.trim_start_matches('/'));
        let mut url = url::Url::parse(&joined).ok()?;
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &self.query {
                pairs.append_pair(k, v);
            }
        }
        Some(url)
    }

    /// The injected headers, with room for `extra` more.
    fn header_map(&self, extra: usize) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(self.headers.len() + extra);
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        headers
    }
}

fn upstream_url(target: &Target, control: &Control, path_and_query: &str) -> Result<url::Url, Error> {
    let base = control.base_url_override.as_deref().unwrap_or(&target.base_url);
    if base.is_empty() {
        return Err(Error::ProxyNoBaseUrl);
    }
    target
        .url(base, path_and_query)
        .ok_or_else(|| Error::InvalidInput(format!("The upstream URL {base}/… is not valid")))
}

/// Checks a credential with the provider's verification requests (Nango's
/// `proxy.verification`: `method`, default GET; `endpoints`; optional `headers` and
/// `base_url_override`), injected like a proxied request, without retries: the first 2xx
/// accepts it, and it is refused when none answers 2xx. Providers without verification
/// accept every credential, as in Nango.
pub async fn verify_credentials(
    ctx: &Context,
    provider: &Provider,
    custom: &std::collections::BTreeMap<String, String>,
    credentials: &Credentials,
) -> Result<(), Error> {
    let Some(verification) = provider.definition.get("proxy").and_then(|p| p.get("verification")) else {
        return Ok(());
    };
    let endpoints: Vec<&str> = match verification.get("endpoints") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => verification.get("endpoint").and_then(Value::as_str).into_iter().collect(),
    };
    let method = verification
        .get("method")
        .and_then(Value::as_str)
        .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
        .unwrap_or(Method::GET);
    let target = build_target(provider, custom, credentials)?;
    let base = verification.get("base_url_override").and_then(Value::as_str).unwrap_or(&target.base_url);
    let mut headers = target.header_map(0);
    if let Some(Value::Object(extra)) = verification.get("headers") {
        for (name, value) in extra {
            if let Some(value) = value.as_str() {
                let (name, value) = header(name, value)?;
                headers.insert(name, value);
            }
        }
    }
    let settings = ctx.proxy.settings;
    for endpoint in endpoints {
        let Some(url) = target.url(base, endpoint) else { continue };
        if outbound::check_url(&url, settings.policy).is_err() {
            continue;
        }
        let request = ctx.proxy.client.request(method.clone(), url).headers(headers.clone());
        if let Ok(Ok(response)) =
            tokio::time::timeout(settings.timeout.min(Duration::from_secs(30)), request.send()).await
            && response.status().is_success()
        {
            return Ok(());
        }
    }
    Err(Error::ConnectionTestFailed)
}

fn retryable(status: StatusCode, control: &Control) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || control.retry_on.contains(&status.as_u16())
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
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
    let ceiling = 250u64.saturating_mul(1 << attempt.min(6)).min(10_000);
    let mut byte = [0u8; 2];
    let _ = getrandom::fill(&mut byte);
    Duration::from_millis(ceiling * u64::from(u16::from_le_bytes(byte)) / u64::from(u16::MAX))
}

/// Forwards `out` for the connection named by `control`, retrying as asked, and keeps the
/// connection's auth error state: a 401 from the upstream records it (and queues one auth
/// webhook, on the transition only), the next 2xx clears it.
pub async fn forward(
    ctx: &Context,
    env: &Environment,
    control: &Control,
    out: Outgoing,
    trace: &mut Trace,
) -> Result<Answer, Error> {
    let target = target(ctx, env, control).await?;
    trace.connection_row = Some(target.connection_row);
    let request_id = out.request_id;
    let answer = send(ctx, control, &target, out, trace).await?;
    let status = answer.response.status();
    let changes_state = (status == StatusCode::UNAUTHORIZED && !target.has_auth_error)
        || (status.is_success() && target.has_auth_error);
    if changes_state && let Err(e) = auth_state(ctx, env, control, &target, status, request_id).await {
        tracing::warn!(error = %e, connection.id = %control.connection_id, "could not record the connection's auth state");
    }
    Ok(answer)
}

const REFUSED: &str = "The given credentials were found to be invalid. Please check the credentials and try again.";

async fn auth_state(
    ctx: &Context,
    env: &Environment,
    control: &Control,
    target: &Target,
    status: StatusCode,
    request_id: crate::request_id::RequestId,
) -> Result<(), crate::db::Error> {
    let changed = if status == StatusCode::UNAUTHORIZED {
        repo::connection::mark_auth_error(&ctx.db, target.connection_row, &request_id.to_string())
            .instrument(db::span(&ctx.db, "update connection auth error"))
            .await?
    } else {
        repo::connection::clear_auth_error(&ctx.db, target.connection_row)
            .instrument(db::span(&ctx.db, "update connection auth error"))
            .await?
    };
    ctx.proxy.invalidate_connection(env.id, &control.provider_config_key, &control.connection_id);
    if !changed || status != StatusCode::UNAUTHORIZED {
        return Ok(());
    }
    let Some(record) =
        repo::connection::find_record(&ctx.db, &ctx.cipher, env.id, target.integration_id, &control.connection_id)
            .await?
    else {
        return Ok(());
    };
    let event = super::webhook::AuthEvent {
        connection_id: &record.connection_id,
        provider_config_key: &record.provider_config_key,
        provider: &record.provider,
        auth_mode: record.credentials.auth_mode(),
        operation: "refresh",
        success: false,
        error: Some(("connection_test_failed", REFUSED)),
        tags: Some(&record.tags),
        end_user: None,
        webhook_url_override: record.webhook_url_override.as_deref(),
    };
    if let Err(e) = super::webhook::auth(ctx, env, event).await {
        tracing::error!(error = %e, connection.id = %record.connection_id, "could not queue the auth webhook");
    }
    Ok(())
}

async fn send(
    ctx: &Context,
    control: &Control,
    target: &Target,
    out: Outgoing,
    trace: &mut Trace,
) -> Result<Answer, Error> {
    let settings = ctx.proxy.settings;
    let url = upstream_url(target, control, &out.path_and_query)?;
    trace.upstream_host = Some(url.host_str().unwrap_or_default().to_owned());
    trace.upstream_path = Some(url.path().to_owned());
    outbound::check_url(&url, settings.policy).map_err(|_| Error::OutboundBlocked)?;

    let mut headers = target.header_map(out.headers.len());
    // Caller headers win, as in Nango (including over the injected ones).
    for (name, value) in out.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != reqwest::header::HOST {
            headers.insert(name, value);
        }
    }

    let (replayable, mut stream) = match out.body {
        OutgoingBody::Empty => (Some(bytes::Bytes::new()), None),
        OutgoingBody::Buffered(b) => (Some(b), None),
        OutgoingBody::Stream(s) => (None, Some(s)),
    };
    let max_attempts = if replayable.is_some() { control.retries.saturating_add(1) } else { 1 };
    let mut waited = Duration::ZERO;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut request = ctx.proxy.client.request(out.method.clone(), url.clone()).headers(headers.clone());
        match (&replayable, stream.take()) {
            (Some(b), _) if !b.is_empty() => request = request.body(b.clone()),
            (_, Some(s)) => request = request.body(s),
            _ => {}
        }
        trace.attempts = attempt;
        let span = tracing::info_span!(
            "upstream",
            otel.name = %format_args!("{} upstream", out.method),
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            http.request.method = %out.method,
            server.address = url.host_str().unwrap_or_default(),
            url.path = url.path(),
            http.request.resend_count = i64::from(attempt - 1),
            http.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(settings.timeout, request.send()).instrument(span.clone()).await;
        let last = attempt >= max_attempts;
        let status = match &result {
            Ok(Ok(response)) => Some(response.status().as_u16()),
            _ => None,
        };
        trace.upstream_status = status.or(trace.upstream_status);
        ctx.metrics.upstream_attempt(status, started.elapsed());
        if !span.is_disabled() {
            match (&result, status) {
                (_, Some(s)) => {
                    span.record("http.response.status_code", i64::from(s));
                    if s >= 500 {
                        span.record("otel.status_code", "ERROR");
                        span.record("error.type", s.to_string());
                    }
                }
                (Err(_), None) => {
                    span.record("otel.status_code", "ERROR");
                    span.record("error.type", "timeout");
                }
                (Ok(_), None) => {
                    span.record("otel.status_code", "ERROR");
                    span.record("error.type", "unreachable");
                }
            }
        }
        let wait = match result {
            Ok(Ok(response)) => {
                let status = response.status();
                if last || !retryable(status, control) {
                    return Ok(Answer { response });
                }
                let honoured = matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
                    .then(|| retry_after(response.headers()))
                    .flatten();
                let wait = honoured.unwrap_or_else(|| backoff(attempt));
                if waited + wait > settings.max_retry_wait {
                    return Ok(Answer { response });
                }
                wait
            }
            Ok(Err(e)) if outbound::is_blocked(&e) => return Err(Error::OutboundBlocked),
            Ok(Err(e)) => {
                if last {
                    // Without the URL: with query placement it carries the key.
                    let e = e.without_url();
                    tracing::debug!(error = %crate::chain::ErrorChain(&e), "upstream unreachable");
                    return Err(Error::UpstreamUnreachable);
                }
                backoff(attempt)
            }
            Err(_elapsed) => {
                if last {
                    return Err(Error::UpstreamTimeout);
                }
                backoff(attempt)
            }
        };
        if waited + wait > settings.max_retry_wait {
            return Err(Error::UpstreamUnreachable);
        }
        waited += wait;
        ctx.metrics.retry();
        tokio::time::sleep(wait).await;
    }
}

/// Response headers to pass back to the caller (all but hop-by-hop ones).
pub fn response_headers(upstream: &HeaderMap) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
    upstream.iter().filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_replaces_known_placeholders_only() {
        let values = HashMap::from([("apiKey", "k1".to_owned())]);
        assert_eq!(interpolate("Api-Key ${apiKey}", &values), "Api-Key k1");
        assert_eq!(interpolate("${apiKey}:${other}", &values), "k1:${other}");
        assert_eq!(interpolate("${apiKey", &values), "${apiKey");
    }

    #[test]
    fn target_for_every_placement() {
        let catalog = super::super::provider::Catalog::load(None).unwrap();
        let key = Credentials::ApiKey { api_key: "secret".to_owned() };
        let generic = catalog.get("private-api-generic").unwrap();
        let custom: std::collections::BTreeMap<String, String> = [
            ("keyPlacement", "header"),
            ("keyName", "Authorization"),
            ("valueTemplate", "Api-Key ${apiKey}"),
            ("baseUrl", "https://api.acme.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let t = build_target(generic, &custom, &key).unwrap();
        assert_eq!(t.base_url, "https://api.acme.com");
        assert_eq!(
            t.headers,
            vec![(HeaderName::from_static("authorization"), HeaderValue::from_static("Api-Key secret"))]
        );
        let mut query = custom.clone();
        query.insert("keyPlacement".into(), "query".into());
        query.insert("keyName".into(), "api_key".into());
        let t = build_target(generic, &query, &key).unwrap();
        assert_eq!((t.headers.len(), t.query.clone()), (0, vec![("api_key".to_owned(), "Api-Key secret".to_owned())]));
        let bearer = build_target(catalog.get("private-api-bearer").unwrap(), &Default::default(), &key).unwrap();
        assert_eq!(bearer.headers[0].1, "Bearer secret");
        let basic = Credentials::Basic { username: "u".to_owned(), password: String::new() };
        let t = build_target(catalog.get("private-api-basic").unwrap(), &Default::default(), &basic).unwrap();
        assert_eq!(t.headers[0].1, "Basic dTo=");
        assert!(!format!("{t:?}").contains("dTo="), "Debug never shows credentials");
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
