//! Credential injection and verification: what a connection's requests carry and where they
//! go (a [`Target`], built from the provider's `proxy` section, the integration's settings and
//! the connection's credentials), the per-replica cache of targets, and the provider's
//! verification request that checks a credential before it is stored.

use serde_json::{Map, Value};
use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use base64::Engine as _;
use reqwest::{
    Method,
    header::{HeaderMap, HeaderName, HeaderValue},
};
use tracing::Instrument as _;

use super::{Context, Error, provider::Provider, template};
use crate::{
    db::{self, repo},
    model::{
        connection::Credentials,
        environment::Environment,
        id::{EnvironmentId, IntegrationId},
    },
};

/// Where a connection's requests go and what they carry. Holds credentials: `Debug` redacts.
pub struct Target {
    pub(super) base_url: String,
    /// The base URL when it is already in canonical form (then a simple path is appended
    /// to it as text, without parsing: [`Target::fast_uri`]), parsed once for the policy.
    canonical_base: Option<url::Url>,
    headers: Vec<(HeaderName, HeaderValue)>,
    query: Vec<(String, String)>,
    /// `query`, form-encoded once.
    encoded_query: String,
    /// Header templates that depend on the request or the clock (signatures, dates),
    /// evaluated per request by [`Target::signed_headers`].
    per_request: Vec<(HeaderName, String)>,
    /// Whether a per-request template reads the request body.
    pub(super) signs_body: bool,
    /// The provider's `proxy.retry`.
    pub(super) retry: crate::model::provider::RetryRule,
    /// `proxy.body` fields, interpolated, merged into request bodies (Nango's
    /// `buildProxyBody`).
    pub(super) body_fields: Map<String, Value>,
    /// What the per-request templates may use.
    credentials: Map<String, Value>,
    connection_config: Map<String, Value>,
    /// The connection's row and whether the upstream refused its credential last time.
    pub(super) connection_row: i64,
    pub(super) integration_id: IntegrationId,
    pub(super) has_auth_error: bool,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        let signed: Vec<&str> = self.per_request.iter().map(|(n, _)| n.as_str()).collect();
        let params: Vec<&str> = self.query.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Target")
            .field("base_url", &self.base_url)
            .field("headers", &names)
            .field("per_request", &signed)
            .field("query", &params)
            .finish()
    }
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let invalid = || Error::InvalidInput(format!("The header {name} of this integration is not a valid HTTP header"));
    Ok((
        HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| invalid())?,
        HeaderValue::from_str(value).map_err(|_| invalid())?,
    ))
}

/// A connection's credentials by the names Nango's templates use.
pub fn credential_values(credentials: &Credentials) -> Map<String, Value> {
    let mut values = Map::new();
    match credentials {
        Credentials::ApiKey { api_key } => {
            values.insert("apiKey".to_owned(), Value::String(api_key.clone()));
        }
        Credentials::Basic { username, password } => {
            values.insert("username".to_owned(), Value::String(username.clone()));
            values.insert("password".to_owned(), Value::String(password.clone()));
        }
    }
    values
}

impl Target {
    /// The target of `credentials` and `connection_config` for an integration of `provider`
    /// with settings `custom`, as Nango's `buildProxyURL` and `buildProxyHeaders` build it:
    /// the base URL interpolated (with its `a || b` fallback), Basic authorization for
    /// BASIC credentials, the provider's header and query templates (a header naming a
    /// `connectionConfig` value that is missing is left out, a query parameter whose template
    /// does not resolve too), then (for providers with an `integration_config`, i.e.
    /// `private-api-generic`) the integration's own placement. Templates that depend on the
    /// request or the clock are kept for [`Target::signed_headers`].
    pub fn build(
        provider: &Provider,
        custom: &BTreeMap<String, String>,
        credentials: &Credentials,
        connection_config: &Map<String, Value>,
    ) -> Result<Self, Error> {
        let values = credential_values(credentials);
        let scope = template::Scope { credentials: &values, connection_config, request: None, now: chrono::Utc::now() };
        let mut headers = Vec::new();
        if let Credentials::Basic { username, password } = credentials {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            headers.push(header("authorization", &format!("Basic {token}"))?);
        }
        let proxy = &provider.proxy;
        let mut base_url =
            proxy.base_url.as_deref().map(|b| template::interpolate_with_fallback(b, &scope)).unwrap_or_default();
        let mut query = Vec::new();
        let mut per_request = Vec::new();
        let mut signs_body = false;
        for (name, text) in &proxy.headers {
            let uses = template::uses(text);
            let (name_value, _) = header(name, "")?;
            headers.retain(|(n, _): &(HeaderName, HeaderValue)| *n != name_value);
            per_request.retain(|(n, _): &(HeaderName, String)| *n != name_value);
            if uses.per_request {
                signs_body |= text.contains("${params}")
                    || text.contains("${bodyCanonicalParams}")
                    || uses.helpers.iter().any(|h| h == "awsSigV4");
                per_request.push((name_value, text.clone()));
                continue;
            }
            let value = template::interpolate(text, &scope);
            if text.contains("connectionConfig") && unresolved(text, &value) {
                continue;
            }
            headers.push(header(name, &value)?);
        }
        for (name, text) in &proxy.query {
            let value = template::interpolate(text, &scope);
            if !template::has_placeholder(&value) {
                query.push((name.clone(), value));
            }
        }
        // Per-integration placement (private-api-generic): only when keyName is set.
        if provider.integration_config.is_some()
            && let Some(key_name) = custom.get("keyName").filter(|k| !k.is_empty())
        {
            let text = custom.get("valueTemplate").filter(|t| !t.is_empty()).map_or("${apiKey}", String::as_str);
            let value = template::interpolate(text, &scope);
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
        if template::has_placeholder(&base_url) {
            return Err(Error::InvalidInput(format!(
                "The base URL of provider {} needs values this connection does not have: {base_url}",
                provider.name
            )));
        }
        let body_fields = body_fields(&proxy.body, &scope);
        let canonical_base = canonical(&base_url);
        let encoded_query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&query).finish();
        Ok(Self {
            base_url,
            canonical_base,
            headers,
            query,
            encoded_query,
            per_request,
            signs_body,
            body_fields,
            retry: proxy.retry.clone(),
            credentials: values,
            connection_config: connection_config.clone(),
            connection_row: 0,
            integration_id: IntegrationId(0),
            has_auth_error: false,
        })
    }

    /// Refuses a base URL that is not an `http` or `https` URL once interpolated (an empty one
    /// is refused by the proxy instead, as before).
    pub fn check_base_url(&self) -> Result<(), Error> {
        if self.base_url.is_empty() {
            return Ok(());
        }
        match url::Url::parse(&self.base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(()),
            _ => Err(Error::InvalidField {
                message: format!(
                    "The base URL built from this connection's connection_config is not an http(s) URL: {}",
                    self.base_url
                ),
                path: vec!["connection_config".to_owned()],
            }),
        }
    }

    /// Whether some headers are computed per request ([`Target::signed_headers`]).
    pub(super) fn signs(&self) -> bool {
        !self.per_request.is_empty()
    }

    /// The per-request headers (signatures, dates) for a request to `uri`, all evaluated at
    /// one instant, as Nango evaluates them once per proxied call.
    pub(super) fn signed_headers(
        &self,
        method: &str,
        uri: &http::Uri,
        endpoint: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, Error> {
        let host = uri.authority().map(|a| a.as_str().rsplit('@').next().unwrap_or_default()).unwrap_or_default();
        let host = match (uri.scheme_str(), uri.port_u16()) {
            (Some("https"), Some(443)) | (Some("http"), Some(80)) => host.rsplit_once(':').map_or(host, |(h, _)| h),
            _ => host,
        };
        let request = template::Request {
            method,
            host,
            path: uri.path(),
            query: uri.query().unwrap_or_default(),
            endpoint,
            content_type,
            body,
        };
        let scope = template::Scope {
            credentials: &self.credentials,
            connection_config: &self.connection_config,
            request: Some(&request),
            now: chrono::Utc::now(),
        };
        let mut out = Vec::with_capacity(self.per_request.len());
        for (name, text) in &self.per_request {
            let value = template::interpolate(text, &scope);
            if text.contains("connectionConfig") && unresolved(text, &value) {
                continue;
            }
            let value = HeaderValue::from_str(&value).map_err(|_| {
                Error::InvalidInput(format!("The header {name} of this provider is not a valid HTTP header value"))
            })?;
            out.push((name.clone(), value));
        }
        Ok(out)
    }

    /// `base` joined with `path_and_query`, with the injected query parameters appended.
    pub(super) fn url(&self, base: &str, path_and_query: &str) -> Option<url::Url> {
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

    /// The upstream URI for the target's own base URL and `path_and_query`, built as text
    /// when the result is certain to equal [`Target::url`]'s (a canonical base and a path of
    /// plain characters without dot segments), with the parsed base URL for the policy
    /// check; `None` otherwise (then [`Target::url`] parses).
    pub(super) fn fast_uri(&self, path_and_query: &str) -> Option<(http::Uri, &url::Url)> {
        let base = self.canonical_base.as_ref()?;
        if !is_plain(path_and_query) {
            return None;
        }
        let prefix = base.as_str().trim_end_matches('/');
        let rest = path_and_query.trim_start_matches('/');
        let mut text = String::with_capacity(prefix.len() + 2 + rest.len() + self.encoded_query.len());
        text.push_str(prefix);
        text.push('/');
        text.push_str(rest);
        if !self.encoded_query.is_empty() {
            if !text.contains('?') {
                text.push('?');
            } else if !text.ends_with('?') {
                text.push('&');
            }
            text.push_str(&self.encoded_query);
        }
        Some((http::Uri::try_from(text).ok()?, base))
    }

    /// The injected headers, with room for `extra` more.
    pub(super) fn header_map(&self, extra: usize) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(self.headers.len() + extra);
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        headers
    }
}

/// Nango's `buildProxyBody`: string leaves interpolated, those that do not resolve dropped,
/// and maps left empty dropped, at any depth.
fn body_fields(map: &Map<String, Value>, scope: &template::Scope<'_>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in map {
        match value {
            Value::String(text) => {
                let v = template::interpolate(text, scope);
                if !template::has_placeholder(&v) {
                    out.insert(key.clone(), Value::String(v));
                }
            }
            Value::Object(inner) => {
                let nested = body_fields(inner, scope);
                if !nested.is_empty() {
                    out.insert(key.clone(), Value::Object(nested));
                }
            }
            _ => {}
        }
    }
    out
}

/// `body` with `fields` merged in, as Nango's `mergeInjectedBody` does: into a JSON object
/// (the fields win), appended to a form (`key[nested]=…`), or as a new JSON body when there
/// is none. Returns the new body and its content type, or `None` when it is left as it is
/// (another kind of body).
pub(super) fn inject_body(
    body: &[u8],
    content_type: &str,
    fields: &Map<String, Value>,
) -> Option<(Vec<u8>, &'static str)> {
    let kind = content_type.to_ascii_lowercase();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some((serde_json::to_vec(fields).ok()?, "application/json"));
    }
    if kind.contains("json") {
        let Ok(Value::Object(mut existing)) = serde_json::from_slice::<Value>(body) else { return None };
        existing.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        return Some((serde_json::to_vec(&existing).ok()?, "application/json"));
    }
    if kind.contains("application/x-www-form-urlencoded") {
        fn pairs(prefix: &str, map: &Map<String, Value>, out: &mut Vec<(String, String)>) {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}[{k}]") };
                match v {
                    Value::Object(inner) => pairs(&key, inner, out),
                    Value::String(s) => out.push((key, s.clone())),
                    other => out.push((key, other.to_string())),
                }
            }
        }
        let mut extra = Vec::new();
        pairs("", fields, &mut extra);
        let mut text = String::from_utf8_lossy(body).into_owned();
        let appended = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&extra).finish();
        if !text.is_empty() && !text.ends_with('&') {
            text.push('&');
        }
        text.push_str(&appended);
        return Some((text.into_bytes(), "application/x-www-form-urlencoded"));
    }
    None
}

/// Nango's check for a header whose template names `connectionConfig`: left out when empty or
/// when one of the template's placeholders is still in the value.
fn unresolved(template: &str, value: &str) -> bool {
    if value.is_empty() {
        return true;
    }
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start..];
        let Some(end) = after[2..].find(['{', '}']) else { break };
        if after.as_bytes()[2 + end] == b'}' && value.contains(&after[..end + 3]) {
            return true;
        }
        rest = &after[2..];
    }
    false
}

/// `base` when the URL parser would keep it as written (with one `/` after it): scheme and
/// host lower-case, no query or fragment, nothing to encode or normalise.
fn canonical(base: &str) -> Option<url::Url> {
    let trimmed = base.trim_end_matches('/');
    let probe = format!("{trimmed}/");
    let url = url::Url::parse(&probe).ok()?;
    (url.as_str() == probe && url.query().is_none() && url.fragment().is_none()).then_some(url)
}

/// Whether a path and query is made only of characters the URL parser keeps as they are,
/// with no dot segment (literal or encoded) and no fragment.
fn is_plain(path_and_query: &str) -> bool {
    let plain = path_and_query.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'(' | b')' | b'*' | b'+' | b',' | b';')
            || matches!(b, b'=' | b':' | b'@' | b'/' | b'?' | b'%')
    });
    if !plain {
        return false;
    }
    let path = path_and_query.split('?').next().unwrap_or_default();
    let encoded_dot = path.contains('%') && (path.contains("%2e") || path.contains("%2E"));
    !encoded_dot && !path.split('/').any(|segment| segment == "." || segment == "..")
}

/// Headers a credential may never be placed in: framing, hop-by-hop and routing headers the
/// HTTP stack owns (a key there would break or hijack every proxied call).
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "expect",
];

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

/// Checks an integration's placement settings (`private-api-generic`) when they are saved,
/// not when they are used: a header name must be an HTTP token and not a reserved header; no
/// setting may hold control characters. Errors name the field (`integration_config.<field>`).
pub fn check_placement(custom: &BTreeMap<String, String>) -> Result<(), Error> {
    let refuse = |field: &str, message: String| Error::InvalidField {
        message,
        path: vec!["integration_config".to_owned(), field.to_owned()],
    };
    for field in ["keyName", "valueTemplate", "baseUrl", "keyLabel"] {
        if custom.get(field).is_some_and(|v| has_control(v)) {
            return Err(refuse(field, format!("{field} must not contain control characters (CR, LF, NUL, …)")));
        }
    }
    let in_query = custom.get("keyPlacement").map(String::as_str) == Some("query");
    if let Some(name) = custom.get("keyName").filter(|n| !n.is_empty() && !in_query) {
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(refuse(
                "keyName",
                format!("{name:?} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"),
            ));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(refuse(
                "keyName",
                format!("The key cannot be sent in the {name} header, which the HTTP connection itself uses"),
            ));
        }
    }
    if let Some(template) = custom.get("valueTemplate").filter(|t| !t.is_empty() && !in_query)
        && HeaderValue::from_str(template).is_err()
    {
        return Err(refuse("valueTemplate", "valueTemplate is not a valid HTTP header value".to_owned()));
    }
    Ok(())
}

/// (environment id, integration key, connection id).
type CacheKey = (EnvironmentId, String, String);

/// The per-replica cache of resolved targets. Every write that changes what a target holds
/// invalidates it here at once; other replicas re-read after `ttl`.
pub struct TargetCache {
    ttl: Duration,
    entries: Mutex<HashMap<CacheKey, (Instant, Arc<Target>)>>,
}

impl fmt::Debug for TargetCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetCache").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl TargetCache {
    /// An empty cache whose entries are used for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    fn get(&self, key: &CacheKey) -> Option<Arc<Target>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, t)| t.clone())
    }

    fn store(&self, key: CacheKey, target: Arc<Target>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 100_000 {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
        }
        entries.insert(key, (Instant::now(), target));
    }

    /// Forgets every cached target of an integration (after it changed).
    pub fn invalidate_integration(&self, environment_id: EnvironmentId, unique_key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(env, key, _), _| !(*env == environment_id && key == unique_key));
    }

    /// Forgets the cached target of one connection (after it changed).
    pub fn invalidate_connection(&self, environment_id: EnvironmentId, unique_key: &str, connection_id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&(environment_id, unique_key.to_owned(), connection_id.to_owned()));
    }
}

/// The target of connection `connection_id` of integration `provider_config_key`: from the
/// cache, or built from the database (integration settings and credentials, both opened from
/// the vault) and cached.
pub async fn resolve(
    ctx: &Context,
    env: &Environment,
    provider_config_key: &str,
    connection_id: &str,
) -> Result<Arc<Target>, Error> {
    let key = (env.id, provider_config_key.to_owned(), connection_id.to_owned());
    if let Some(hit) = ctx.targets.get(&key) {
        ctx.metrics.target_cache(true);
        return Ok(hit);
    }
    ctx.metrics.target_cache(false);
    // Boxed: the database futures are several KB, and every proxied call's future (held per
    // client connection) would otherwise be sized for this rare path.
    Box::pin(load_target(ctx, env, key)).await
}

/// The target of `key`, loaded from the database and cached.
async fn load_target(ctx: &Context, env: &Environment, key: CacheKey) -> Result<Arc<Target>, Error> {
    let (provider_config_key, connection_id) = (key.1.as_str(), key.2.as_str());
    let integration = repo::integration::find(&ctx.db, &ctx.cipher, env.id, provider_config_key)
        .instrument(db::span(&ctx.db, "select integration"))
        .await
        .map_err(Error::internal("Failed to load the integration"))?
        .ok_or(Error::ProxyUnknownIntegration)?;
    let provider = ctx.catalog.get(&integration.provider).ok_or(Error::ProxyUnknownIntegration)?;
    let connection = repo::connection::for_proxy(&ctx.db, &ctx.cipher, env.id, integration.id, connection_id)
        .instrument(db::span(&ctx.db, "select connection"))
        .await
        .map_err(Error::internal("Failed to get connection"))?
        .ok_or(Error::ProxyUnknownConnection)?;
    let mut target =
        Target::build(provider, &integration.settings.custom, &connection.credentials, &connection.connection_config)?;
    target.connection_row = connection.id;
    target.integration_id = integration.id;
    target.has_auth_error = connection.has_auth_error;
    let target = Arc::new(target);
    ctx.targets.store(key.clone(), target.clone());
    Ok(target)
}

/// Checks a credential with the provider's verification requests (Nango's
/// `proxy.verification`: `method`, default GET; `endpoints`; optional `headers` and
/// `base_url_override`, all interpolated with the credential and `connection_config`),
/// injected like a proxied request, without retries: the first 2xx accepts it, and it is
/// refused when none answers 2xx. Providers without verification accept every credential,
/// as in Nango.
pub async fn verify(
    ctx: &Context,
    provider: &Provider,
    custom: &BTreeMap<String, String>,
    credentials: &Credentials,
    connection_config: &Map<String, Value>,
) -> Result<(), Error> {
    let Some(verification) = &provider.proxy.verification else {
        return Ok(());
    };
    let method = Method::from_bytes(verification.method.as_bytes()).unwrap_or(Method::GET);
    let target = Target::build(provider, custom, credentials, connection_config)?;
    let values = credential_values(credentials);
    let scope = template::Scope { credentials: &values, connection_config, request: None, now: chrono::Utc::now() };
    let base = match &verification.base_url_override {
        Some(o) => template::interpolate_with_fallback(o, &scope),
        None => target.base_url.clone(),
    };
    // Nango sends these as the caller's headers: as written, not interpolated.
    let mut extra = Vec::with_capacity(verification.headers.len());
    for (name, value) in &verification.headers {
        extra.push(header(name, value)?);
    }
    let mut body = match &verification.data {
        Some(data) => serde_json::to_vec(data).ok(),
        None => None,
    };
    if !target.body_fields.is_empty() && matches!(method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
        let current = body.clone().unwrap_or_default();
        if let Some((merged, _)) = inject_body(&current, "application/json", &target.body_fields) {
            body = Some(merged);
        }
    }
    for endpoint in &verification.endpoints {
        let endpoint = template::interpolate(endpoint, &scope);
        let Some(url) = target.url(&base, &endpoint) else { continue };
        if template::has_placeholder(url.as_str()) || ctx.http.check(&url).is_err() {
            continue;
        }
        let mut headers = target.header_map(extra.len() + target.per_request.len() + 1);
        let content_type = if body.is_some() { "application/json" } else { "" };
        if target.signs() {
            let Ok(uri) = http::Uri::try_from(url.as_str()) else { continue };
            let text = body.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            for (name, value) in target.signed_headers(method.as_str(), &uri, &endpoint, content_type, &text)? {
                headers.insert(name, value);
            }
        }
        if body.is_some() {
            headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        for (name, value) in &extra {
            headers.insert(name.clone(), value.clone());
        }
        let mut request = ctx.http.request(method.clone(), url).headers(headers);
        if let Some(body) = &body {
            request = request.body(body.clone());
        }
        if let Ok(Ok(response)) =
            tokio::time::timeout(ctx.proxy.timeout.min(Duration::from_secs(30)), request.send()).await
            && response.status().is_success()
        {
            return Ok(());
        }
    }
    Err(Error::ConnectionTestFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_upstream_uri_is_the_parsed_one_or_none() {
        let catalog = super::super::provider::Catalog::load(None).unwrap();
        let generic = catalog.get("private-api-generic").unwrap();
        let key = Credentials::ApiKey { api_key: "s e/c+r&t".to_owned() };
        let paths = [
            "",
            "/",
            "/v1/items",
            "//v1//items/",
            "/v1/items?a=1&b=%2F&c=x+y",
            "/items?",
            "/a/./b",
            "/a/../b",
            "/a/%2e%2E/b",
            "/a b",
            "/a\\b",
            "/é",
            "/x#frag",
            "/q?it's",
            "/a%20b/c.d/..e",
            "/{x}",
            "/v1.2/x",
        ];
        let mut fast = 0;
        for base in [
            "https://api.acme.com",
            "https://api.acme.com/",
            "https://api.acme.com/v1/",
            "https://API.acme.com/x",
            "http://127.0.0.1:8080/DEV",
            "https://api.acme.com/v1?x=1",
        ] {
            for placement in ["header", "query"] {
                let custom: BTreeMap<String, String> =
                    [("keyPlacement", placement), ("keyName", "api_key"), ("baseUrl", base)]
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                let t = Target::build(generic, &custom, &key, &Map::new()).unwrap();
                for path in paths {
                    if let Some((uri, _)) = t.fast_uri(path) {
                        fast += 1;
                        let parsed = t.url(&t.base_url, path).unwrap();
                        assert_eq!(uri.to_string(), parsed.as_str(), "{base} + {path} ({placement})");
                    }
                }
            }
        }
        assert!(fast > 50, "the fast path is taken for plain paths ({fast})");
        assert!(canonical("https://API.acme.com").is_none() && canonical("https://a.com/v1?x=1").is_none());
    }

    #[test]
    fn target_for_every_placement() {
        let catalog = super::super::provider::Catalog::load(None).unwrap();
        let key = Credentials::ApiKey { api_key: "secret".to_owned() };
        let generic = catalog.get("private-api-generic").unwrap();
        let custom: BTreeMap<String, String> = [
            ("keyPlacement", "header"),
            ("keyName", "Authorization"),
            ("valueTemplate", "Api-Key ${apiKey}"),
            ("baseUrl", "https://api.acme.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let t = Target::build(generic, &custom, &key, &Map::new()).unwrap();
        assert_eq!(t.base_url, "https://api.acme.com");
        assert_eq!(
            t.headers,
            vec![(HeaderName::from_static("authorization"), HeaderValue::from_static("Api-Key secret"))]
        );
        let mut query = custom.clone();
        query.insert("keyPlacement".into(), "query".into());
        query.insert("keyName".into(), "api_key".into());
        let t = Target::build(generic, &query, &key, &Map::new()).unwrap();
        assert_eq!((t.headers.len(), t.query.clone()), (0, vec![("api_key".to_owned(), "Api-Key secret".to_owned())]));
        let bearer =
            Target::build(catalog.get("private-api-bearer").unwrap(), &Default::default(), &key, &Map::new()).unwrap();
        assert_eq!(bearer.headers[0].1, "Bearer secret");
        let basic = Credentials::Basic { username: "u".to_owned(), password: String::new() };
        let t =
            Target::build(catalog.get("private-api-basic").unwrap(), &Default::default(), &basic, &Map::new()).unwrap();
        assert_eq!(t.headers[0].1, "Basic dTo=");
        assert!(!format!("{t:?}").contains("dTo="), "Debug never shows credentials");
    }
}
