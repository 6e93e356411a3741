//! `/connections`: Nango's Connections API (import, read, list, patch, delete, metadata).

use std::collections::HashMap;

use poem::{Request, web::Data};
use poem_openapi::{Enum, Object, OpenApi, param::Path, payload::Json};
use serde_json::{Map, Value};

use super::{
    ApiTags,
    extract::{DocOnly, JsonBody, SecretKey},
    types::{TimestampTz, WireTime},
    validate::{self, Obj, StrRule, UNIQUE_KEY, issue, path_with},
};
use crate::{
    AppState,
    error::{ApiError, Code, ValidationIssue},
    model::connection::{ConnectionRecord, Credentials, EndUser, ListFilter, MetadataMode},
    service::connection::{self as svc, ConnectionPatch, ImportConnection},
};

/// Kind of connection credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ConnectionCredentialsType")]
pub enum CredentialsType {
    /// An API key (`apiKey`).
    #[oai(rename = "API_KEY")]
    ApiKey,
    /// A username and password for HTTP Basic authentication.
    #[oai(rename = "BASIC")]
    Basic,
}

/// Credentials of a connection: `{"type":"API_KEY","apiKey":…}` or
/// `{"type":"BASIC","username":…,"password":…}`.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ConnectionCredentials")]
pub struct CredentialsBody {
    /// Must match the provider's auth mode.
    #[oai(rename = "type")]
    pub kind: CredentialsType,
    /// The API key (API_KEY; 1 to 1024 characters).
    #[oai(rename = "apiKey", skip_serializing_if_is_none)]
    pub api_key: Option<String>,
    /// The username (BASIC; at most 1024 characters, may be empty).
    #[oai(skip_serializing_if_is_none)]
    pub username: Option<String>,
    /// The password (BASIC; at most 1024 characters, may be empty).
    #[oai(skip_serializing_if_is_none)]
    pub password: Option<String>,
}

/// The customer's end user a connection belongs to (as submitted).
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct EndUserRequest {
    /// Your id of the end user (1 to 255 characters).
    pub id: String,
    /// Email address.
    pub email: Option<String>,
    /// Display name (at most 255 characters).
    pub display_name: Option<String>,
    /// Free-form tags (at most 10).
    pub tags: Option<HashMap<String, String>>,
}

/// Body of `POST /connections`: a connection you already hold credentials for.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct ImportConnectionRequest {
    /// The integration's unique key.
    pub provider_config_key: String,
    /// Your id for the connection (default: a random UUID). Importing an existing id replaces
    /// its credentials, configuration, metadata, tags and end user.
    pub connection_id: Option<String>,
    /// The credentials.
    pub credentials: CredentialsBody,
    /// Provider-specific connection configuration.
    pub connection_config: Option<HashMap<String, Value>>,
    /// Free-form metadata (a JSON object).
    pub metadata: Option<HashMap<String, Value>>,
    /// Where this connection's webhooks go instead of the environment's URL.
    pub webhook_url_override: Option<String>,
    /// The end user the connection belongs to.
    pub end_user: Option<EndUserRequest>,
    /// Tags (at most 10; keys are lower-cased).
    pub tags: Option<HashMap<String, String>>,
}

/// Body of `PATCH /connections/{connectionId}`: only these can change.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct UpdateConnectionRequest {
    /// Replaces the end user (and the tags derived from it).
    pub end_user: Option<EndUserRequest>,
    /// Replaces the tags.
    pub tags: Option<HashMap<String, String>>,
    /// A URL, or `""` to remove the override.
    pub webhook_url_override: Option<String>,
}

/// The organization of an end user.
#[derive(Debug, Clone, Object)]
pub struct OrganizationResponse {
    /// Your id of the organization.
    pub id: String,
    /// Display name.
    #[oai(nullable)]
    pub display_name: Option<String>,
}

/// The end user of a connection.
#[derive(Debug, Clone, Object)]
pub struct EndUserResponse {
    /// Your id of the end user.
    pub id: String,
    /// Display name.
    #[oai(nullable)]
    pub display_name: Option<String>,
    /// Email address.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Tags as submitted.
    #[oai(nullable)]
    pub tags: Option<HashMap<String, Value>>,
    /// Organization.
    #[oai(nullable)]
    pub organization: Option<OrganizationResponse>,
}

/// An active error of a connection.
#[derive(Debug, Clone, Object)]
pub struct ConnectionErrorItem {
    /// `auth` or `sync`.
    #[oai(rename = "type")]
    pub kind: String,
    /// Id of the log entry describing it.
    pub log_id: String,
}

/// A connection with its credentials.
#[derive(Debug, Clone, Object)]
pub struct ConnectionResponse {
    /// Internal id.
    pub id: i64,
    /// Your id for the connection.
    pub connection_id: String,
    /// The integration's unique key.
    pub provider_config_key: String,
    /// The integration's provider.
    pub provider: String,
    /// Active errors (empty when none).
    pub errors: Vec<ConnectionErrorItem>,
    /// The end user.
    #[oai(nullable)]
    pub end_user: Option<EndUserResponse>,
    /// Tags.
    pub tags: HashMap<String, Value>,
    /// Metadata (null when never set).
    #[oai(nullable)]
    pub metadata: Option<HashMap<String, Value>>,
    /// Connection configuration.
    pub connection_config: HashMap<String, Value>,
    /// Webhook URL override.
    #[oai(nullable)]
    pub webhook_url_override: Option<String>,
    /// Creation time.
    pub created_at: WireTime,
    /// Last update time.
    pub updated_at: WireTime,
    /// Last time the credentials were read.
    #[oai(nullable)]
    pub last_fetched_at: Option<WireTime>,
    /// The credentials.
    pub credentials: CredentialsBody,
}

/// A connection in a list (no credentials).
#[derive(Debug, Clone, Object)]
pub struct ConnectionListItem {
    /// Internal id.
    pub id: i64,
    /// Your id for the connection.
    pub connection_id: String,
    /// The integration's unique key.
    pub provider_config_key: String,
    /// The integration's provider.
    pub provider: String,
    /// Active errors (empty when none).
    pub errors: Vec<ConnectionErrorItem>,
    /// The end user.
    #[oai(nullable)]
    pub end_user: Option<EndUserResponse>,
    /// Tags.
    pub tags: HashMap<String, Value>,
    /// Metadata.
    #[oai(nullable)]
    pub metadata: Option<HashMap<String, Value>>,
    /// Creation time.
    pub created: TimestampTz,
}

/// `{"connections": [...]}`.
#[derive(Debug, Clone, Object)]
pub struct ConnectionListResponse {
    /// The connections, newest first.
    pub connections: Vec<ConnectionListItem>,
}

/// `{"success": true}`.
#[derive(Debug, Clone, Object)]
pub struct SuccessResponse {
    /// Always true.
    pub success: bool,
}

/// One connection id or several: `"id"` or `["id1", "id2"]`. Documented as a plain `oneOf`
/// (poem-openapi's `Union` adds `type: object`, which generators read as "never matches").
/// Only documents the field: the handler validates the raw body.
#[derive(Debug, Clone)]
pub struct ConnectionIds;

impl poem_openapi::types::Type for ConnectionIds {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        "ConnectionIds".into()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
        let string = || MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")));
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some("One connection id, or a list of them."),
            one_of: vec![
                string(),
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    items: Some(Box::new(string())),
                    ..MetaSchema::new("array")
                })),
            ],
            ..MetaSchema::ANY
        }))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl poem_openapi::types::ToJSON for ConnectionIds {
    fn to_json(&self) -> Option<Value> {
        None
    }
}

impl poem_openapi::types::ParseFromJSON for ConnectionIds {
    fn parse_from_json(_value: Option<Value>) -> poem_openapi::types::ParseResult<Self> {
        Ok(Self)
    }
}

/// Body of `POST`/`PATCH /connections/metadata` (also the response: echoed).
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct MetadataRequest {
    pub connection_id: ConnectionIds,
    /// The integration's unique key.
    pub provider_config_key: String,
    /// The metadata (a JSON object).
    pub metadata: HashMap<String, Value>,
}

fn credentials_body(c: &Credentials) -> CredentialsBody {
    match c {
        Credentials::ApiKey { api_key } => CredentialsBody {
            kind: CredentialsType::ApiKey,
            api_key: Some(api_key.clone()),
            username: None,
            password: None,
        },
        Credentials::Basic { username, password } => CredentialsBody {
            kind: CredentialsType::Basic,
            api_key: None,
            username: Some(username.clone()),
            password: Some(password.clone()),
        },
    }
}

fn to_hash(map: &Map<String, Value>) -> HashMap<String, Value> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn end_user_response(u: &EndUser) -> EndUserResponse {
    EndUserResponse {
        id: u.id.clone(),
        display_name: u.display_name.clone(),
        email: u.email.clone(),
        tags: u.tags.as_ref().map(to_hash),
        organization: u
            .organization
            .as_ref()
            .map(|o| OrganizationResponse { id: o.id.clone(), display_name: o.display_name.clone() }),
    }
}

/// Active errors: an auth error while the upstream refuses the credential.
fn errors(c: &ConnectionRecord) -> Vec<ConnectionErrorItem> {
    c.auth_error.iter().map(|log_id| ConnectionErrorItem { kind: "auth".to_owned(), log_id: log_id.clone() }).collect()
}

fn full(c: &ConnectionRecord, z: bool) -> ConnectionResponse {
    let ts = |time| WireTime { time, z };
    ConnectionResponse {
        id: c.id,
        connection_id: c.connection_id.clone(),
        provider_config_key: c.provider_config_key.clone(),
        provider: c.provider.clone(),
        errors: errors(c),
        end_user: c.end_user.as_ref().map(end_user_response),
        tags: to_hash(&c.tags),
        metadata: c.metadata.as_ref().map(to_hash),
        connection_config: to_hash(&c.connection_config),
        webhook_url_override: c.webhook_url_override.clone(),
        created_at: ts(c.created_at),
        updated_at: ts(c.updated_at),
        last_fetched_at: c.last_fetched_at.map(ts),
        credentials: credentials_body(&c.credentials),
    }
}

fn list_item(c: ConnectionRecord) -> ConnectionListItem {
    ConnectionListItem {
        id: c.id,
        errors: errors(&c),
        end_user: c.end_user.as_ref().map(end_user_response),
        tags: to_hash(&c.tags),
        metadata: c.metadata.as_ref().map(to_hash),
        created: super::types::Ts(c.created_at),
        connection_id: c.connection_id,
        provider_config_key: c.provider_config_key,
        provider: c.provider,
    }
}

// ---- validation (Nango's zod schemas) ------------------------------------------------------

/// `connectionIdSchema`.
pub const CONNECTION_ID: StrRule = StrRule {
    pattern: Some((
        |s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || ",.;:=+~[]|@${}\"'\\/_ -".contains(c)),
        "/^[a-zA-Z0-9,.;:=+~[\\]|@${}\"'\\\\/_ -]+$/",
    )),
    min: None,
    max: Some(255),
};

fn valid_tag_key(k: &str) -> bool {
    let mut chars = k.chars();
    k.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
}

/// Nango's tag records: key rule, value 1..255 (or 0..255 for end-user tags), at most 10 keys,
/// no duplicates after lower-casing.
pub(super) fn tags_record(
    value: Option<&Value>,
    path: Vec<String>,
    allow_empty: bool,
) -> (Option<Map<String, Value>>, Vec<ValidationIssue>) {
    let Some(value) = value else { return (None, Vec::new()) };
    let Value::Object(map) = value else {
        return (
            None,
            vec![issue(
                "invalid_type",
                format!("Invalid input: expected record, received {}", validate::js_type(Some(value))),
                path,
            )],
        );
    };
    let mut issues = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in map {
        if !valid_tag_key(k) {
            issues.push(issue("invalid_key", "Invalid key in record", path_with(&path, k)));
            continue;
        }
        match v {
            Value::String(s) => {
                let rule = StrRule { pattern: None, min: (!allow_empty).then_some(1), max: Some(255) };
                issues.extend(validate::check_str(s, &rule, &path_with(&path, k)));
            }
            other => issues.push(issue(
                "invalid_type",
                format!("Invalid input: expected string, received {}", validate::js_type(Some(other))),
                path_with(&path, k),
            )),
        }
        let lower = k.to_lowercase();
        if seen.contains(&lower) {
            issues.push(issue(
                "custom",
                format!("Duplicate tag key after case normalization: \"{lower}\""),
                path.clone(),
            ));
        }
        seen.push(lower);
    }
    if map.len() > 10 {
        issues.push(issue("custom", "Tags cannot contain more than 10 keys", path.clone()));
    }
    (issues.is_empty().then(|| map.clone()), issues)
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    s.len() >= 5
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

pub(super) fn end_user(value: Option<&Value>, path: Vec<String>) -> (Option<EndUser>, Vec<ValidationIssue>) {
    let Some(value) = value else { return (None, Vec::new()) };
    let mut o = Obj::new(Some(value), path.clone());
    let id = o.string("id", &StrRule { pattern: None, min: Some(1), max: Some(255) }, true);
    let email = o.string("email", &StrRule::default(), false);
    if let Some(e) = &email
        && !valid_email(e)
    {
        o.extend(vec![issue("invalid_format", "Invalid email address", path_with(&path, "email"))]);
    }
    let display_name = o.string("display_name", &StrRule { pattern: None, min: None, max: Some(255) }, false);
    let (tags, tag_issues) = tags_record(o.raw("tags"), path_with(&path, "tags"), true);
    o.extend(tag_issues);
    let issues = o.finish();
    let user = id.filter(|_| issues.is_empty()).map(|id| EndUser { id, email, display_name, tags, organization: None });
    (user, issues)
}

pub(super) fn webhook_url(value: Option<String>, path: Vec<String>) -> (Option<String>, Vec<ValidationIssue>) {
    let Some(url) = value else { return (None, Vec::new()) };
    if url.is_empty() {
        return (Some(url), Vec::new());
    }
    match url::Url::parse(&url) {
        Err(_) => (None, vec![issue("invalid_format", "Invalid URL", path)]),
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
            if host == "nango.dev" || host.ends_with(".nango.dev") {
                (None, vec![issue("custom", "Webhook URLs cannot point to Nango's domain (nango.dev).", path)])
            } else {
                (Some(url), Vec::new())
            }
        }
    }
}

pub(super) fn object_field(o: &mut Obj<'_>, name: &'static str) -> Option<Map<String, Value>> {
    let path = path_with(o.path(), name);
    match o.raw(name) {
        None => None,
        Some(Value::Object(m)) => Some(m.clone()),
        Some(other) => {
            o.extend(vec![issue(
                "invalid_type",
                format!("Invalid input: expected record, received {}", validate::js_type(Some(other))),
                path,
            )]);
            None
        }
    }
}

fn credentials(value: Option<&Value>, path: Vec<String>) -> (Option<Credentials>, Vec<ValidationIssue>) {
    let Some(Value::Object(map)) = value else {
        return (
            None,
            vec![issue(
                "invalid_type",
                format!("Invalid input: expected object, received {}", validate::js_type(value)),
                path,
            )],
        );
    };
    let mut o = Obj::new(value, path.clone());
    let _ = o.raw("type");
    let creds = match map.get("type").and_then(Value::as_str) {
        Some("API_KEY") => o
            .string("apiKey", &StrRule { pattern: None, min: Some(1), max: Some(1024) }, true)
            .map(|api_key| Credentials::ApiKey { api_key }),
        Some("BASIC") => {
            let rule = StrRule { pattern: None, min: None, max: Some(1024) };
            let username = o.string("username", &rule, true);
            let password = o.string("password", &rule, true);
            username.zip(password).map(|(username, password)| Credentials::Basic { username, password })
        }
        _ => return (None, vec![issue("invalid_union", "Invalid input", path_with(&path, "type"))]),
    };
    let issues = o.finish();
    (creds.filter(|_| issues.is_empty()), issues)
}

fn parse_import(value: Option<&Value>) -> Result<ImportConnection, ApiError> {
    let mut o = Obj::new(value, vec![]);
    let provider_config_key = o.string("provider_config_key", &StrRule::default(), true);
    let connection_id = o.string("connection_id", &StrRule::default(), false);
    let metadata = object_field(&mut o, "metadata");
    let connection_config = object_field(&mut o, "connection_config");
    let webhook = o.string("webhook_url_override", &StrRule::default(), false);
    let (webhook_url_override, webhook_issues) = webhook_url(webhook, vec!["webhook_url_override".to_owned()]);
    o.extend(webhook_issues);
    let creds_value = o.raw("credentials");
    let (creds, creds_issues) = credentials(creds_value, vec!["credentials".to_owned()]);
    o.extend(creds_issues);
    let end_user_value = o.raw("end_user");
    let (end_user, end_user_issues) = end_user(end_user_value, vec!["end_user".to_owned()]);
    o.extend(end_user_issues);
    let tags_value = o.raw("tags");
    let (tags, tag_issues) = tags_record(tags_value, vec!["tags".to_owned()], false);
    o.extend(tag_issues);
    let issues = o.finish();
    match (provider_config_key, creds) {
        (Some(provider_config_key), Some(credentials)) if issues.is_empty() => Ok(ImportConnection {
            provider_config_key,
            connection_id,
            credentials,
            connection_config,
            metadata,
            webhook_url_override,
            end_user,
            tags,
        }),
        _ => Err(ApiError::issues(Code::InvalidBody, issues)),
    }
}

fn parse_patch(value: Option<&Value>) -> Result<ConnectionPatch, ApiError> {
    let mut o = Obj::new(value, vec![]);
    let end_user_value = o.raw("end_user");
    let (end_user, end_user_issues) = end_user(end_user_value, vec!["end_user".to_owned()]);
    o.extend(end_user_issues);
    let tags_value = o.raw("tags");
    let (tags, tag_issues) = tags_record(tags_value, vec!["tags".to_owned()], false);
    o.extend(tag_issues);
    let webhook = o.string("webhook_url_override", &StrRule::default(), false);
    let (webhook_url_override, webhook_issues) = webhook_url(webhook, vec!["webhook_url_override".to_owned()]);
    o.extend(webhook_issues);
    validate::done(ConnectionPatch { end_user, tags, webhook_url_override }, o.finish(), Code::InvalidBody)
}

/// A validated metadata body: connection ids, integration key, metadata.
type MetadataInput = (Vec<String>, String, Map<String, Value>);

fn parse_metadata(value: Option<&Value>) -> Result<MetadataInput, ApiError> {
    let mut o = Obj::new(value, vec![]);
    let ids_path = vec!["connection_id".to_owned()];
    let ids = match o.raw("connection_id") {
        Some(Value::String(s)) if validate::check_str(s, &CONNECTION_ID, &ids_path).is_empty() => Some(vec![s.clone()]),
        Some(Value::Array(items))
            if !items.is_empty()
                && items.iter().all(|i| {
                    i.as_str().is_some_and(|s| validate::check_str(s, &CONNECTION_ID, &ids_path).is_empty())
                }) =>
        {
            Some(items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect())
        }
        _ => {
            o.extend(vec![issue("invalid_union", "Invalid input", ids_path)]);
            None
        }
    };
    let key = o.string("provider_config_key", &UNIQUE_KEY, true);
    let metadata = match o.raw("metadata") {
        Some(Value::Object(m)) => Some(m.clone()),
        other => {
            o.extend(vec![issue(
                "invalid_type",
                format!("Invalid input: expected record, received {}", validate::js_type(other)),
                vec!["metadata".to_owned()],
            )]);
            None
        }
    };
    let issues = o.finish();
    match (ids, key, metadata) {
        (Some(ids), Some(key), Some(metadata)) if issues.is_empty() => Ok((ids, key, metadata)),
        _ => Err(ApiError::issues(Code::InvalidBody, issues)),
    }
}

/// zod 4's `stringbool`.
fn stringbool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "y" | "enabled" => Some(true),
        "false" | "0" | "no" | "off" | "n" | "disabled" => Some(false),
        _ => None,
    }
}

/// The strict query of the single-connection routes: `provider_config_key` (required) plus
/// the read flags on GET.
fn connection_query(raw: Option<&str>, allowed: &[&str]) -> Result<String, ApiError> {
    let pairs = validate::strict_query(raw, allowed, |pairs| {
        let mut issues = Vec::new();
        let key_path = vec!["provider_config_key".to_owned()];
        match pairs.iter().rev().find(|(k, _)| k == "provider_config_key") {
            None => issues.push(issue("invalid_type", "Invalid input: expected string, received undefined", key_path)),
            Some((_, v)) => issues.extend(validate::check_str(v, &UNIQUE_KEY, &key_path)),
        }
        for flag in ["refresh_token", "force_refresh", "refresh_github_app_jwt_token"] {
            if let Some((_, v)) = pairs.iter().rev().find(|(k, _)| k == flag)
                && stringbool(v).is_none()
            {
                issues.push(issue(
                    "invalid_format",
                    "Invalid string: must be a boolean-like string",
                    vec![flag.to_owned()],
                ));
            }
        }
        issues
    })?;
    Ok(pairs.into_iter().rev().find(|(k, _)| k == "provider_config_key").map(|(_, v)| v).unwrap_or_default())
}

fn list_filter(raw: Option<&str>) -> Result<ListFilter, ApiError> {
    let mut filter = ListFilter::default();
    let mut issues = Vec::new();
    let mut unknown = Vec::new();
    let text = |v: &str, name: &str, issues: &mut Vec<ValidationIssue>| {
        let found =
            validate::check_str(v, &StrRule { pattern: None, min: Some(1), max: Some(255) }, &[name.to_owned()]);
        let ok = found.is_empty();
        issues.extend(found);
        ok.then(|| v.to_owned())
    };
    let number = |v: &str, name: &str, min: u64, max: Option<u64>, issues: &mut Vec<ValidationIssue>| -> Option<u64> {
        let path = vec![name.to_owned()];
        match v.trim().parse::<f64>() {
            Ok(n) if n.fract() == 0.0 && n >= min as f64 && max.is_none_or(|m| n <= m as f64) => Some(n as u64),
            Ok(n) if n < min as f64 => {
                issues.push(issue("too_small", format!("Too small: expected number to be >={min}"), path));
                None
            }
            Ok(n) if n.fract() == 0.0 => {
                issues.push(issue("too_big", format!("Too big: expected number to be <={}", max.unwrap_or(0)), path));
                None
            }
            _ => {
                issues.push(issue("invalid_type", "Invalid input: expected number, received NaN", path));
                None
            }
        }
    };
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let (key, value) = (key.into_owned(), value.into_owned());
        if let Some(tag) = key.strip_prefix("tags[").and_then(|k| k.strip_suffix(']')) {
            if !valid_tag_key(tag) {
                issues.push(issue("invalid_key", "Invalid key in record", vec!["tags".to_owned(), tag.to_owned()]));
            } else {
                filter.tags.push((tag.to_lowercase(), value));
            }
            continue;
        }
        match key.as_str() {
            "connectionId" => filter.connection_id = text(&value, &key, &mut issues),
            "search" => filter.search = text(&value, &key, &mut issues),
            "endUserId" => filter.end_user_id = text(&value, &key, &mut issues),
            "endUserOrganizationId" => filter.end_user_organization_id = text(&value, &key, &mut issues),
            "integrationId" if !value.is_empty() => {
                filter.integration_keys =
                    Some(value.split(',').map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect());
            }
            "integrationId" => {
                issues.push(issue("too_small", "Too small: expected string to have >=1 characters", vec![key]))
            }
            "limit" => filter.limit = number(&value, "limit", 1, Some(2000), &mut issues),
            "page" => filter.page = number(&value, "page", 0, None, &mut issues).unwrap_or(0),
            _ => {
                let quoted = format!("\"{key}\"");
                if !unknown.contains(&quoted) {
                    unknown.push(quoted);
                }
            }
        }
    }
    if !unknown.is_empty() {
        let noun = if unknown.len() == 1 { "key" } else { "keys" };
        issues.push(issue("unrecognized_keys", format!("Unrecognized {noun}: {}", unknown.join(", ")), vec![]));
    }
    validate::done(filter, issues, Code::InvalidQueryParams)
}

/// Nango's Connections API.
pub struct ConnectionApi;

#[OpenApi(tag = "ApiTags::Connections")]
impl ConnectionApi {
    /// List connections
    ///
    /// Lists the environment's connections, newest first, without credentials. Filters:
    /// `connectionId` (exact), `search` (in connection id, end-user name or email),
    /// `endUserId`, `endUserOrganizationId`, `integrationId` (comma-separated keys),
    /// `tags[key]=value` (all must match), `limit` (1 to 2000) and `page`.
    #[oai(path = "/connections", method = "get", operation_id = "list_connections")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn list_connections(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Exact connection id.
        #[oai(name = "connectionId")]
        _connection_id: poem_openapi::param::Query<DocOnly<String>>,
        /// Text to look for in the connection id, end-user display name or email.
        #[oai(name = "search")]
        _search: poem_openapi::param::Query<DocOnly<String>>,
        /// The end user's id.
        #[oai(name = "endUserId")]
        _end_user_id: poem_openapi::param::Query<DocOnly<String>>,
        /// The end user's organization id.
        #[oai(name = "endUserOrganizationId")]
        _end_user_organization_id: poem_openapi::param::Query<DocOnly<String>>,
        /// Integration keys, comma-separated.
        #[oai(name = "integrationId")]
        _integration_id: poem_openapi::param::Query<DocOnly<String>>,
        /// Page size (1 to 2000).
        #[oai(name = "limit")]
        _limit: poem_openapi::param::Query<DocOnly<u32>>,
        /// Page number, from 0.
        #[oai(name = "page")]
        _page: poem_openapi::param::Query<DocOnly<u32>>,
    ) -> Result<Json<ConnectionListResponse>, ApiError> {
        let filter = list_filter(req.uri().query())?;
        let rows = svc::list(&state.ctx, &auth.0, &filter).await?;
        Ok(Json(ConnectionListResponse { connections: rows.into_iter().map(list_item).collect() }))
    }

    /// Import a connection
    ///
    /// Stores a connection with credentials you already hold (an API key, or a username and
    /// password). Importing an existing connection id replaces its credentials. Answers 201
    /// with the connection, credentials included.
    #[oai(path = "/connections", method = "post", operation_id = "create_connection")]
    async fn create_connection(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<ImportConnectionRequest>,
    ) -> Result<CreatedConnection, ApiError> {
        validate::empty_query(req.uri().query())?;
        let input = parse_import(body.value())?;
        crate::request_id::set_subject(Some(&input.provider_config_key), input.connection_id.as_deref());
        let (record, _created) = svc::import(&state.ctx, &auth.0, input).await?;
        Ok(CreatedConnection::Created(Json(full(&record, true))))
    }

    /// Get a connection
    ///
    /// Returns the connection with its credentials and records the read in
    /// `last_fetched_at`.
    #[oai(path = "/connections/:connectionId", method = "get", operation_id = "get_connection")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn get_connection(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Your id for the connection.
        #[oai(name = "connectionId")]
        connection_id: Path<String>,
        /// The integration's unique key.
        #[oai(name = "provider_config_key")]
        _provider_config_key: poem_openapi::param::Query<DocOnly<String>>,
        /// Accepted for compatibility (API keys are never refreshed).
        #[oai(name = "force_refresh")]
        _force_refresh: poem_openapi::param::Query<DocOnly<bool>>,
        /// Accepted for compatibility (API keys have no refresh token).
        #[oai(name = "refresh_token")]
        _refresh_token: poem_openapi::param::Query<DocOnly<bool>>,
    ) -> Result<Json<ConnectionResponse>, ApiError> {
        let key = connection_query(
            req.uri().query(),
            &["provider_config_key", "refresh_token", "force_refresh", "refresh_github_app_jwt_token"],
        )?;
        validate::path_param("connectionId", &connection_id, &CONNECTION_ID)?;
        let record = svc::get(&state.ctx, &auth.0, &key, &connection_id).await?;
        Ok(Json(full(&record, false)))
    }

    /// Update a connection
    ///
    /// Changes the end user, the tags or the webhook URL override of a connection.
    #[oai(path = "/connections/:connectionId", method = "patch", operation_id = "update_connection")]
    async fn update_connection(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Your id for the connection.
        #[oai(name = "connectionId")]
        connection_id: Path<String>,
        /// The integration's unique key.
        #[oai(name = "provider_config_key")]
        _provider_config_key: poem_openapi::param::Query<DocOnly<String>>,
        body: JsonBody<UpdateConnectionRequest>,
    ) -> Result<Json<SuccessResponse>, ApiError> {
        let key = connection_query(req.uri().query(), &["provider_config_key"])?;
        let patch = parse_patch(body.value())?;
        validate::path_param("connectionId", &connection_id, &CONNECTION_ID)?;
        svc::patch(&state.ctx, &auth.0, &key, &connection_id, patch).await?;
        Ok(Json(SuccessResponse { success: true }))
    }

    /// Delete a connection
    ///
    /// Deletes the connection and its credentials.
    #[oai(path = "/connections/:connectionId", method = "delete", operation_id = "delete_connection")]
    async fn delete_connection(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// Your id for the connection.
        #[oai(name = "connectionId")]
        connection_id: Path<String>,
        /// The integration's unique key.
        #[oai(name = "provider_config_key")]
        _provider_config_key: poem_openapi::param::Query<DocOnly<String>>,
    ) -> Result<Json<SuccessResponse>, ApiError> {
        validate::path_param("connectionId", &connection_id, &CONNECTION_ID)?;
        let key = connection_query(req.uri().query(), &["provider_config_key"])?;
        svc::delete(&state.ctx, &auth.0, &key, &connection_id).await?;
        Ok(Json(SuccessResponse { success: true }))
    }

    /// Set connection metadata
    ///
    /// Replaces the metadata of one or several connections (all or nothing). Answers 201
    /// echoing the request.
    #[oai(path = "/connections/metadata", method = "post", operation_id = "create_metadata")]
    async fn set_metadata(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<MetadataRequest>,
    ) -> Result<CreatedMetadata, ApiError> {
        validate::empty_query(req.uri().query())?;
        let (ids, key, metadata) = parse_metadata(body.value())?;
        svc::set_metadata(&state.ctx, &auth.0, &key, &ids, &metadata, MetadataMode::Replace).await?;
        Ok(CreatedMetadata::Created(Json(echo(body.value()))))
    }

    /// Update connection metadata
    ///
    /// Merges the given keys into the metadata of one or several connections (top level,
    /// all or nothing). Answers 200 echoing the request.
    #[oai(path = "/connections/metadata", method = "patch", operation_id = "update_metadata")]
    async fn update_metadata(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<MetadataRequest>,
    ) -> Result<Json<MetadataEcho>, ApiError> {
        validate::empty_query(req.uri().query())?;
        let (ids, key, metadata) = parse_metadata(body.value())?;
        svc::set_metadata(&state.ctx, &auth.0, &key, &ids, &metadata, MetadataMode::Merge).await?;
        Ok(Json(echo(body.value())))
    }
}

/// The request body echoed back (Nango's metadata responses), documented as [`MetadataRequest`].
pub type MetadataEcho = super::types::RawJson<MetadataRequest>;

fn echo(value: Option<&Value>) -> MetadataEcho {
    super::types::RawJson::new(value.cloned().unwrap_or_default())
}

/// `201` with the imported connection.
#[derive(poem_openapi::ApiResponse)]
pub enum CreatedConnection {
    /// The connection, credentials included.
    #[oai(status = 201)]
    Created(Json<ConnectionResponse>),
}

/// `201` echoing the request.
#[derive(poem_openapi::ApiResponse)]
pub enum CreatedMetadata {
    /// The request body.
    #[oai(status = 201)]
    Created(Json<MetadataEcho>),
}
