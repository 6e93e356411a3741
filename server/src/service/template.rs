//! Nango's template language, as its providers.yaml uses it in `proxy.base_url`, `proxy.headers`,
//! `proxy.query` and `proxy.verification`: `${apiKey}`, `${username}`, `${password}`,
//! `${credentials.x}`, `${connectionConfig.x}`, the per-request values (`${method}`, `${host}`,
//! `${path}`, `${params}`, …), `${now…}` dates, and the helper forms (`base64(…)`,
//! `hmacSha1Hex(…)`, `sha256Hex(…)`, `sha256Base64(…)`, `ed25519Sign(…)`, `awsSigV4(…)`).
//!
//! The evaluation follows Nango's `interpolateString` (`packages/shared/lib/utils/utils.ts`)
//! step by step: the helpers are replaced first, in Nango's order and with its (ECMAScript)
//! patterns, their arguments interpolated recursively; then every remaining `${key}` is looked
//! up; a placeholder that names nothing known is left as written.

use std::sync::LazyLock;

use base64::Engine as _;
use chrono::{DateTime, Datelike as _, Duration, Months, Timelike as _, Utc};
use hmac::{KeyInit as _, Mac as _};
use serde_json::{Map, Value};
use sha2::Digest as _;

/// What a template may refer to.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The connection's credentials by Nango's names (`apiKey`, `username`, `password`).
    pub credentials: &'a Map<String, Value>,
    /// The connection's `connection_config`.
    pub connection_config: &'a Map<String, Value>,
    /// The request being proxied (absent while a target is built or a connection checked).
    pub request: Option<&'a Request<'a>>,
    /// The instant every `${now…}` and signature of one evaluation uses.
    pub now: DateTime<Utc>,
}

/// The per-request values Nango offers to header templates (`buildProxyHeaders`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// Upper case.
    pub method: &'a str,
    /// The upstream URL's host, with its port when not the scheme's default.
    pub host: &'a str,
    /// The upstream URL's path.
    pub path: &'a str,
    /// The upstream URL's query, without `?`.
    pub query: &'a str,
    /// The caller's endpoint (after `/proxy`).
    pub endpoint: &'a str,
    /// The caller's `Content-Type`, or empty.
    pub content_type: &'a str,
    /// The request body (empty when the method carries none or it was not read).
    pub body: &'a str,
}

/// Per-request values a template uses; a template using none is evaluated once per target.
const REQUEST_KEYS: &[&str] =
    &["method", "host", "path", "params", "urlCanonicalParams", "bodyCanonicalParams", "contentType", "endpoint"];

/// The helper forms, in the order Nango applies them, with its patterns.
const HELPERS: &[(&str, &str)] = &[
    ("hmacSha1Hex", r"\$\{hmacSha1Hex\(([\s\S]*?)\)\}"),
    ("awsSigV4", r"\$\{awsSigV4\(([\s\S]*?)\)\}"),
    ("base64", r"\$\{base64\((.*?)\)\}"),
    ("sha256Hex", r"\$\{sha256Hex\((.*?)\)\}"),
    ("sha256Base64", r"\$\{sha256Base64\((.*?)\)\}"),
    ("ed25519Sign", r"\$\{ed25519Sign\(([\s\S]*?)\)\}"),
];

/// Helper forms of Nango's language that this server does not evaluate (left as written, as
/// Nango leaves an expression it cannot evaluate).
pub const UNSUPPORTED_HELPERS: &[&str] = &["fingerprint"];

static PATTERNS: LazyLock<Vec<regress::Regex>> =
    LazyLock::new(|| HELPERS.iter().map(|(_, p)| regress::Regex::new(p).expect("helper pattern")).collect());
static PLACEHOLDER: LazyLock<regress::Regex> =
    LazyLock::new(|| regress::Regex::new(r"\$\{([^{}]*)\}").expect("placeholder pattern"));

/// Interpolates `template` in `scope`, as Nango's `interpolateString`.
pub fn interpolate(template: &str, scope: &Scope<'_>) -> String {
    let mut text = template.to_owned();
    for ((name, _), pattern) in HELPERS.iter().zip(PATTERNS.iter()) {
        text = replace(&text, pattern, |whole, inner| helper(name, whole, inner, scope));
    }
    replace(&text, &PLACEHOLDER, |whole, key| lookup(key, scope).unwrap_or_else(|| whole.to_owned()))
}

/// Nango's `interpolateIfNeeded` for base URLs: `a || b` takes `a` when it interpolates to
/// something new, else `b`.
pub fn interpolate_with_fallback(template: &str, scope: &Scope<'_>) -> String {
    if !template.contains("${") {
        return template.to_owned();
    }
    match template.split_once("||") {
        Some((left, right)) => {
            let (left, right) = (left.trim(), right.split("||").next().unwrap_or_default().trim());
            let interpolated = if left.is_empty() { String::new() } else { interpolate(left, scope) };
            if !interpolated.is_empty() && interpolated != left && !has_placeholder(&interpolated) {
                interpolated
            } else if right.is_empty() {
                String::new()
            } else {
                interpolate(right, scope)
            }
        }
        None => interpolate(template, scope),
    }
}

/// Whether `text` still holds a `${…}` placeholder.
pub fn has_placeholder(text: &str) -> bool {
    text.contains("${")
}

fn replace(text: &str, pattern: &regress::Regex, mut f: impl FnMut(&str, &str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in pattern.find_iter(text) {
        let range = m.range();
        let inner = m.group(1).map_or("", |g| &text[g]);
        out.push_str(&text[last..range.start]);
        out.push_str(&f(&text[range.clone()], inner));
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

fn helper(name: &str, whole: &str, inner: &str, scope: &Scope<'_>) -> String {
    let resolve = |s: &str| interpolate(s, scope);
    let split_last = |inner: &str| inner.rfind(',').map(|i| (resolve(&inner[..i]), resolve(inner[i + 1..].trim())));
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    match name {
        "base64" => b64(resolve(inner).as_bytes()),
        "sha256Hex" => hex::encode(sha2::Sha256::digest(resolve(inner).as_bytes())),
        "sha256Base64" => b64(&sha2::Sha256::digest(resolve(inner).as_bytes())),
        "hmacSha1Hex" => match split_last(inner) {
            Some((message, key)) => {
                let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).expect("any key length");
                mac.update(message.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
            None => whole.to_owned(),
        },
        "ed25519Sign" => match split_last(inner) {
            Some((message, key)) if !message.is_empty() && !has_placeholder(&message) && !has_placeholder(&key) => {
                ed25519_sign(&message, &key).map_or_else(|| whole.to_owned(), |s| b64(&s))
            }
            _ => whole.to_owned(),
        },
        "awsSigV4" => aws_sig_v4(inner, scope).unwrap_or_else(|| whole.to_owned()),
        _ => whole.to_owned(),
    }
}

fn lookup(key: &str, scope: &Scope<'_>) -> Option<String> {
    if let Some(now) = now_expression(key, scope.now) {
        return Some(now);
    }
    if key == "random" {
        return Some(uuid::Uuid::new_v4().to_string());
    }
    if key.starts_with("base64(") {
        return None;
    }
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let Some(name) = key.strip_prefix("credentials.") {
        return scope.credentials.get(name).and_then(text);
    }
    if let Some(name) = key.strip_prefix("connectionConfig.") {
        return scope.connection_config.get(name).and_then(text);
    }
    if let Some(request) = scope.request {
        let value = match key {
            "method" => Some(request.method.to_owned()),
            "host" => Some(request.host.to_owned()),
            "path" => Some(request.path.to_owned()),
            "endpoint" => Some(request.endpoint.to_owned()),
            "contentType" => Some(request.content_type.to_owned()),
            "params" => Some(canonical_params(request.method, request.content_type, request.body, request.query)),
            "urlCanonicalParams" => Some(canonical_params("GET", "", "", request.query)),
            "bodyCanonicalParams" => Some(raw_body(request.method, request.body).to_owned()),
            _ => None,
        };
        if value.is_some() {
            return value;
        }
    }
    scope.credentials.get(key).and_then(text)
}

fn is_body_method(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH")
}

/// Nango's `getRawBody`: the body of a POST, PUT or PATCH, without a leading `?`.
fn raw_body<'a>(method: &str, body: &'a str) -> &'a str {
    if is_body_method(method) { body.strip_prefix('?').unwrap_or(body) } else { "" }
}

/// Nango's `buildCanonicalParams` (Duo's canonical parameter string): the form or JSON-object
/// body of a POST, PUT or PATCH, else the query; keys sorted, RFC 3986 encoded.
pub fn canonical_params(method: &str, content_type: &str, body: &str, query: &str) -> String {
    fn encode(s: &str) -> String {
        percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
    }
    fn from_query(qs: &str) -> String {
        let mut pairs: Vec<(String, String)> = qs
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(&s.replace('+', "%20")).decode_utf8_lossy().into_owned()
                };
                (decode(k), decode(v))
            })
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
    }
    if !is_body_method(method) {
        return from_query(query);
    }
    if body.is_empty() {
        return String::new();
    }
    if content_type.to_ascii_lowercase().contains("json") {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
            return String::new();
        };
        let mut entries: Vec<(&String, &Value)> = map.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let string = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
            Value::Object(_) => "[object Object]".to_owned(),
            other => other.to_string(),
        };
        return entries
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(&string(v))))
            .collect::<Vec<_>>()
            .join("&");
    }
    from_query(body.strip_prefix('?').unwrap_or(body))
}

/// `encodeURIComponent` plus `!'()*`: everything but unreserved characters.
const COMPONENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `${now}`, `${now:FORMAT}` and `${now+N:unit:FORMAT}` (dayjs formats, in UTC).
fn now_expression(key: &str, now: DateTime<Utc>) -> Option<String> {
    if key == "now" {
        return Some(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
    let rest = key.strip_prefix("now")?;
    if let Some(format) = rest.strip_prefix(':') {
        return (!format.is_empty()).then(|| format_date(now, format));
    }
    let sign = match rest.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let mut parts = rest[1..].splitn(3, ':');
    let amount: i64 = parts.next()?.parse().ok()?;
    let unit = parts.next()?;
    let format = parts.next().filter(|f| !f.is_empty())?;
    let amount = sign * amount;
    let shifted = match unit {
        "ms" | "millisecond" | "milliseconds" => now + Duration::milliseconds(amount),
        "s" | "second" | "seconds" => now + Duration::seconds(amount),
        "m" | "minute" | "minutes" => now + Duration::minutes(amount),
        "h" | "hour" | "hours" => now + Duration::hours(amount),
        "d" | "day" | "days" => now + Duration::days(amount),
        "w" | "week" | "weeks" => now + Duration::weeks(amount),
        "M" | "month" | "months" => add_months(now, amount)?,
        "y" | "year" | "years" => add_months(now, amount * 12)?,
        _ => return None,
    };
    Some(format_date(shifted, format))
}

fn add_months(date: DateTime<Utc>, months: i64) -> Option<DateTime<Utc>> {
    let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    if months >= 0 { date.checked_add_months(m) } else { date.checked_sub_months(m) }
}

/// dayjs's `format` in UTC: `YYYY YY MMMM MMM MM M DD D dddd ddd dd d HH H hh h mm m ss s SSS
/// A a Z ZZ`, `[literal]`, and `X`/`x` alone (Unix seconds and milliseconds).
pub fn format_date(date: DateTime<Utc>, format: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    match format {
        "X" => return date.timestamp().to_string(),
        "x" => return date.timestamp_millis().to_string(),
        _ => {}
    }
    let tokens = [
        "YYYY", "YY", "MMMM", "MMM", "MM", "M", "DD", "D", "dddd", "ddd", "dd", "d", "HH", "H", "hh", "h", "mm", "m",
        "ss", "s", "SSS", "ZZ", "Z", "A", "a",
    ];
    let month = date.month0() as usize;
    let weekday = date.weekday().num_days_from_sunday() as usize;
    let hour12 = match date.hour() % 12 {
        0 => 12,
        h => h,
    };
    let mut out = String::with_capacity(format.len() + 8);
    let mut rest = format;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[')
            && let Some(end) = after.find(']')
        {
            out.push_str(&after[..end]);
            rest = &after[end + 1..];
            continue;
        }
        let Some(token) = tokens.iter().find(|t| rest.starts_with(**t)) else {
            let c = rest.chars().next().unwrap_or_default();
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        let text = match *token {
            "YYYY" => format!("{:04}", date.year()),
            "YY" => format!("{:02}", date.year() % 100),
            "MMMM" => MONTHS[month].to_owned(),
            "MMM" => MONTHS[month][..3].to_owned(),
            "MM" => format!("{:02}", month + 1),
            "M" => (month + 1).to_string(),
            "DD" => format!("{:02}", date.day()),
            "D" => date.day().to_string(),
            "dddd" => DAYS[weekday].to_owned(),
            "ddd" => DAYS[weekday][..3].to_owned(),
            "dd" => DAYS[weekday][..2].to_owned(),
            "d" => weekday.to_string(),
            "HH" => format!("{:02}", date.hour()),
            "H" => date.hour().to_string(),
            "hh" => format!("{hour12:02}"),
            "h" => hour12.to_string(),
            "mm" => format!("{:02}", date.minute()),
            "m" => date.minute().to_string(),
            "ss" => format!("{:02}", date.second()),
            "s" => date.second().to_string(),
            "SSS" => format!("{:03}", date.timestamp_subsec_millis()),
            "ZZ" => "+0000".to_owned(),
            "Z" => "+00:00".to_owned(),
            "A" => if date.hour() < 12 { "AM" } else { "PM" }.to_owned(),
            _ => if date.hour() < 12 { "am" } else { "pm" }.to_owned(),
        };
        out.push_str(&text);
        rest = &rest[token.len()..];
    }
    out
}

/// Nango's `formatPem` then Ed25519 signing of `message` with a PKCS#8 private key.
fn ed25519_sign(message: &str, pem: &str) -> Option<Vec<u8>> {
    let pem = pem.replace("\\n", "\n");
    let mut body = String::new();
    for line in pem.lines() {
        let line = line.trim();
        if !line.starts_with("-----") {
            body.push_str(line);
        }
    }
    let body: String = body.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).ok()?;
    let key = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).ok()?;
    Some(key.sign(message.as_bytes()).as_ref().to_vec())
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Nango's `awsSigV4(accessKeyId, secretKey, region, service[, host])` authorization value for
/// the request in scope, signed at `scope.now`.
fn aws_sig_v4(inner: &str, scope: &Scope<'_>) -> Option<String> {
    let args = split_top_level(inner);
    if args.len() != 4 && args.len() != 5 {
        return None;
    }
    let args: Vec<String> = args.iter().map(|a| interpolate(a, scope)).collect();
    let (access_key, secret, region, service) = (&args[0], &args[1], &args[2], &args[3]);
    if [access_key, secret, region, service].iter().any(|a| a.is_empty()) {
        return None;
    }
    let date = format_date(scope.now, "YYYYMMDDTHHmmss[Z]");
    let date_stamp = &date[..8];
    let request = scope.request.copied().unwrap_or_default();
    let method = if request.method.is_empty() { "GET" } else { request.method };
    let path = if request.path.is_empty() { "/" } else { request.path };
    let host = args.get(4).filter(|h| !h.is_empty()).cloned().unwrap_or_else(|| format!("{service}.amazonaws.com"));
    let query = canonical_params("GET", "", "", request.query);
    let payload_hash = hex::encode(sha2::Sha256::digest(raw_body(method, request.body).as_bytes()));
    let content_type = request.content_type;
    let (canonical_headers, signed_headers) = if content_type.is_empty() {
        (format!("host:{host}\nx-amz-date:{date}\n"), "host;x-amz-date")
    } else {
        (format!("content-type:{content_type}\nhost:{host}\nx-amz-date:{date}\n"), "content-type;host;x-amz-date")
    };
    let canonical_request = format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}");
    let scope_text = format!("{date_stamp}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope_text}\n{}",
        hex::encode(sha2::Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date_stamp);
    let k_region = hmac_sha256(&k_date, region);
    let k_service = hmac_sha256(&k_region, service);
    let k_signing = hmac_sha256(&k_service, "aws4_request");
    let signature = hex::encode(hmac_sha256(&k_signing, &to_sign));
    Some(format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/{scope_text}, SignedHeaders={signed_headers}, Signature={signature}"
    ))
}

fn split_top_level(inner: &str) -> Vec<&str> {
    let mut args = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                args.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(inner[start..].trim());
    args
}

/// What a template uses: the names it looks up and the helpers it calls.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Uses {
    /// `connectionConfig.x` names (`x`), in order of appearance, without repeats.
    pub connection_config: Vec<String>,
    /// `credentials.x` and bare credential names (`apiKey`, `username`, `password`).
    pub credentials: Vec<String>,
    /// Helper forms called (`base64`, `awsSigV4`, …).
    pub helpers: Vec<String>,
    /// Whether it depends on the request or the clock (then it is evaluated per request).
    pub per_request: bool,
    /// Placeholders this server cannot evaluate (unknown names and unsupported helpers).
    pub unsupported: Vec<String>,
}

/// The names and helpers `template` uses.
pub fn uses(template: &str) -> Uses {
    let mut uses = Uses::default();
    let push = |list: &mut Vec<String>, item: &str| {
        if !list.iter().any(|i| i == item) {
            list.push(item.to_owned());
        }
    };
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let end = rest.find(['}', '(', '$', ',']).unwrap_or(rest.len());
        let name = rest[..end].trim();
        if rest[end..].starts_with('(') {
            if HELPERS.iter().any(|(h, _)| *h == name) {
                push(&mut uses.helpers, name);
                if name == "awsSigV4" {
                    uses.per_request = true;
                }
            } else {
                push(&mut uses.unsupported, &format!("{name}(…)"));
            }
            continue;
        }
        if !rest[end..].starts_with('}') {
            continue;
        }
        if let Some(field) = name.strip_prefix("connectionConfig.") {
            push(&mut uses.connection_config, field);
        } else if let Some(field) = name.strip_prefix("credentials.") {
            push(&mut uses.credentials, field);
        } else if matches!(name, "apiKey" | "username" | "password") {
            push(&mut uses.credentials, name);
        } else if REQUEST_KEYS.contains(&name) || name == "random" || now_expression(name, Utc::now()).is_some() {
            uses.per_request = true;
        } else {
            push(&mut uses.unsupported, &format!("${{{name}}}"));
        }
    }
    uses
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 5, 14, 7, 9).unwrap()
    }

    #[test]
    fn plain_names_credentials_and_connection_config() {
        let creds = map(json!({"username": "u", "password": "p:w", "apiKey": "k"}));
        let cc = map(json!({"subdomain": "acme", "n": 3}));
        let s = Scope { credentials: &creds, connection_config: &cc, request: None, now: at() };
        assert_eq!(
            interpolate("https://${connectionConfig.subdomain}.x.com/${connectionConfig.n}", &s),
            "https://acme.x.com/3"
        );
        assert_eq!(interpolate("Bearer ${apiKey} ${credentials.username}", &s), "Bearer k u");
        assert_eq!(
            interpolate("${connectionConfig.missing}-${accessToken}", &s),
            "${connectionConfig.missing}-${accessToken}"
        );
        assert_eq!(
            interpolate("Basic ${base64(${credentials.username}/token:${credentials.password})}", &s),
            "Basic dS90b2tlbjpwOnc="
        );
        assert_eq!(
            interpolate_with_fallback("https://${connectionConfig.x}.a.com || https://b.com", &s),
            "https://b.com"
        );
        assert_eq!(
            interpolate_with_fallback("https://${connectionConfig.subdomain}.a.com||https://b.com", &s),
            "https://acme.a.com"
        );
    }

    #[test]
    fn dates_in_dayjs_formats() {
        assert_eq!(format_date(at(), "ddd, DD MMM YYYY HH:mm:ss ZZ"), "Thu, 05 Mar 2026 14:07:09 +0000");
        assert_eq!(format_date(at(), "YYYYMMDDTHHmmss[Z]"), "20260305T140709Z");
        assert_eq!(now_expression("now:X", at()).unwrap(), at().timestamp().to_string());
        assert_eq!(now_expression("now+1:minutes:X", at()).unwrap(), (at().timestamp() + 60).to_string());
        assert_eq!(now_expression("now-2:days:YYYY-MM-DD", at()).unwrap(), "2026-03-03");
        assert_eq!(now_expression("now", at()).unwrap(), "2026-03-05T14:07:09.000Z");
    }

    #[test]
    fn duo_signature_matches_nodes_crypto() {
        // Expected value computed with Node's crypto, exactly as Nango's template does it.
        let creds =
            map(json!({"username": "DIWJ8X6AEYOR5OMC6TQ1", "password": "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep"}));
        let cc = Map::new();
        let request = Request {
            method: "GET",
            host: "api-xxxxxxxx.duosecurity.com",
            path: "/admin/v1/users",
            query: "limit=10&account_id=D1",
            ..Default::default()
        };
        let s = Scope { credentials: &creds, connection_config: &cc, request: Some(&request), now: at() };
        let t = "Basic ${base64(${credentials.username}:${hmacSha1Hex(${now:ddd, DD MMM YYYY HH:mm:ss ZZ}\n${method}\n${host}\n${path}\n${params}, ${credentials.password})})}";
        let expected = "Basic RElXSjhYNkFFWU9SNU9NQzZUUTE6MjhiNjQ0NjhjYTAxYjhjN2RlZTZhNjc2NDM3YWZiNTJhZjQ1ZGQ4ZQ==";
        assert_eq!(interpolate(t, &s), expected);
    }

    #[test]
    fn canonical_params_sort_and_encode() {
        assert_eq!(canonical_params("GET", "", "", "b=2&a=x+y&c=%21"), "a=x%20y&b=2&c=%21");
        assert_eq!(canonical_params("POST", "application/json", r#"{"z":"1","a":"b c"}"#, "q=1"), "a=b%20c&z=1");
        assert_eq!(canonical_params("POST", "application/x-www-form-urlencoded", "b=1&a=(2)", ""), "a=%282%29&b=1");
    }

    #[test]
    fn uses_lists_names_helpers_and_what_is_unsupported() {
        let u = uses(
            "Basic ${base64(${credentials.username}:${hmacSha1Hex(${now:X}\n${method}, ${credentials.password})})}",
        );
        assert_eq!(u.helpers, ["base64", "hmacSha1Hex"]);
        assert_eq!(u.credentials, ["username", "password"]);
        assert!(u.per_request);
        assert!(u.unsupported.is_empty());
        let u = uses("https://${connectionConfig.a}.x/${connectionConfig.a}${metadata.b}${fingerprint(${apiKey})}");
        assert_eq!(u.connection_config, ["a"]);
        assert_eq!(u.unsupported, ["${metadata.b}", "fingerprint(…)"]);
        assert!(!u.per_request);
    }

    #[test]
    fn ed25519_signs_with_a_pkcs8_pem() {
        // RFC 8032 test 1 secret key in PKCS#8 (v1) form.
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----";
        let creds = map(json!({"password": pem}));
        let cc = Map::new();
        let s = Scope { credentials: &creds, connection_config: &cc, request: None, now: at() };
        let sig = interpolate("${ed25519Sign(, ${credentials.password})}", &s);
        // An empty message is left as written (Nango does the same).
        assert!(sig.starts_with("${ed25519Sign("), "{sig}");
        let sig = interpolate("${ed25519Sign(hello, ${credentials.password})}", &s);
        let bytes = base64::engine::general_purpose::STANDARD.decode(&sig).unwrap();
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ED25519,
            hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").unwrap(),
        );
        public.verify(b"hello", &bytes).unwrap();
    }

    #[test]
    fn aws_signature_follows_the_documented_example() {
        // AWS's documented IAM ListUsers example (GET, no body, us-east-1, 20150830T123600Z).
        let creds = map(json!({"username": "AKIDEXAMPLE", "password": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}));
        let cc = Map::new();
        let request = Request {
            method: "GET",
            host: "iam.amazonaws.com",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            content_type: "application/x-www-form-urlencoded; charset=utf-8",
            ..Default::default()
        };
        let now = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap();
        let s = Scope { credentials: &creds, connection_config: &cc, request: Some(&request), now };
        let v = interpolate("${awsSigV4(${credentials.username}, ${credentials.password}, us-east-1, iam)}", &s);
        assert_eq!(
            v,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }
}
