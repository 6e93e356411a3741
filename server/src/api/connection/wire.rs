//! Wire types of `/connections` and their conversions from the domain.

use std::collections::HashMap;

use poem_openapi::{Enum, Object};
use serde_json::Value;

use crate::{
    api::{
        end_user::{EndUserRequest, EndUserResponse, to_hash_map},
        types::{TimestampTz, WireTime},
    },
    model::connection::{ConnectionRecord, Credentials},
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
    /// Provider-specific connection configuration (e.g. a subdomain), checked against the
    /// provider's `connection_config` schema; its defaults are applied.
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

pub(super) fn credentials_body(c: &Credentials) -> CredentialsBody {
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

/// Active errors: an auth error while the upstream refuses the credential.
pub(super) fn errors(c: &ConnectionRecord) -> Vec<ConnectionErrorItem> {
    c.auth_error
        .iter()
        .map(|(_, log_id)| ConnectionErrorItem { kind: "auth".to_owned(), log_id: log_id.clone() })
        .collect()
}

pub(super) fn full(c: &ConnectionRecord, z: bool) -> ConnectionResponse {
    let ts = |time| WireTime { time, z };
    ConnectionResponse {
        id: c.id,
        connection_id: c.connection_id.clone(),
        provider_config_key: c.provider_config_key.clone(),
        provider: c.provider.clone(),
        errors: errors(c),
        end_user: c.end_user.as_ref().map(EndUserResponse::from),
        tags: to_hash_map(&c.tags),
        metadata: c.metadata.as_ref().map(to_hash_map),
        connection_config: to_hash_map(&c.connection_config),
        webhook_url_override: c.webhook_url_override.clone(),
        created_at: ts(c.created_at),
        updated_at: ts(c.updated_at),
        last_fetched_at: c.last_fetched_at.map(ts),
        credentials: credentials_body(&c.credentials),
    }
}

pub(super) fn list_item(c: ConnectionRecord) -> ConnectionListItem {
    ConnectionListItem {
        id: c.id,
        errors: errors(&c),
        end_user: c.end_user.as_ref().map(EndUserResponse::from),
        tags: to_hash_map(&c.tags),
        metadata: c.metadata.as_ref().map(to_hash_map),
        created: crate::api::types::Ts(c.created_at),
        connection_id: c.connection_id,
        provider_config_key: c.provider_config_key,
        provider: c.provider,
    }
}
