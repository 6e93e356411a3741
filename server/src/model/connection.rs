//! Connections: one customer's credentials for one integration, as services decide on them
//! and repositories store them. `Credentials` and `EndUser` are stored formats (sealed and JSON
//! columns): see the tests at the end before renaming anything.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{id::IntegrationId, provider::AuthMode};

/// Most tags a connection may carry (Nango's limit).
pub const MAX_TAGS: usize = 10;

/// Nango's message when a connection would carry more than [`MAX_TAGS`] tags.
pub const TOO_MANY_TAGS: &str = "Tags cannot contain more than 10 keys";

/// Credentials of a connection. `Debug` never prints secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Credentials {
    #[serde(rename = "API_KEY")]
    ApiKey {
        #[serde(rename = "apiKey")]
        api_key: String,
    },
    #[serde(rename = "BASIC")]
    Basic { username: String, password: String },
}

impl Credentials {
    /// The auth mode these credentials are for.
    pub fn auth_mode(&self) -> AuthMode {
        match self {
            Self::ApiKey { .. } => AuthMode::ApiKey,
            Self::Basic { .. } => AuthMode::Basic,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiKey { .. } => f.write_str("ApiKey { api_key: *** }"),
            Self::Basic { username, .. } => write!(f, "Basic {{ username: {username:?}, password: *** }}"),
        }
    }
}

/// The organization of an end user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub display_name: Option<String>,
}

/// The customer's end user a connection belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndUser {
    pub id: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub tags: Option<Map<String, Value>>,
    pub organization: Option<Organization>,
}

/// A stored connection (credentials opened).
#[derive(Debug, Clone)]
pub struct ConnectionRecord {
    pub id: i64,
    pub integration_id: IntegrationId,
    pub provider_config_key: String,
    pub provider: String,
    pub connection_id: String,
    pub credentials: Credentials,
    pub connection_config: Map<String, Value>,
    pub metadata: Option<Map<String, Value>>,
    pub tags: Map<String, Value>,
    pub end_user: Option<EndUser>,
    pub webhook_url_override: Option<String>,
    pub last_fetched_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the upstream refuses the credential: since when, and the request id of the call
    /// that saw it.
    pub auth_error: Option<(DateTime<Utc>, String)>,
}

/// What an import writes (all of it replaces an existing connection's values).
#[derive(Debug, Clone)]
pub struct ConnectionWrite {
    pub connection_id: String,
    pub credentials: Credentials,
    pub connection_config: Map<String, Value>,
    pub metadata: Map<String, Value>,
    pub tags: Map<String, Value>,
    pub end_user: Option<EndUser>,
    pub webhook_url_override: Option<String>,
}

/// Filters of `GET /connections`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub connection_id: Option<String>,
    pub search: Option<String>,
    pub end_user_id: Option<String>,
    pub end_user_organization_id: Option<String>,
    pub integration_keys: Option<Vec<String>>,
    /// `(key, value)` pairs that must all be present (keys lower-cased).
    pub tags: Vec<(String, String)>,
    pub limit: Option<u64>,
    pub page: u64,
    /// Only connections with (`true`) or without (`false`) an active auth error (the
    /// dashboard's filter; the API does not take it).
    pub auth_error: Option<bool>,
}

/// Whether metadata replaces or is merged (top level) into the stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataMode {
    Replace,
    Merge,
}

#[cfg(test)]
mod tests {
    //! Stored formats: `Credentials` is the sealed `connections.credentials` column and
    //! `EndUser` the `connections.end_user` JSON column. The literals are rows as written
    //! since the first release; each must still read, and writing must produce them again.
    use super::*;

    fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug>(stored: &str, expected: &T) {
        let read: T = serde_json::from_str(stored).expect("a stored row must still read");
        assert_eq!(&read, expected);
        assert_eq!(serde_json::to_string(expected).unwrap(), stored, "the written form changed");
    }

    #[test]
    fn stored_credentials_still_read() {
        round_trip(r#"{"type":"API_KEY","apiKey":"k-1"}"#, &Credentials::ApiKey { api_key: "k-1".to_owned() });
        round_trip(
            r#"{"type":"BASIC","username":"u","password":"p"}"#,
            &Credentials::Basic { username: "u".to_owned(), password: "p".to_owned() },
        );
    }

    #[test]
    fn stored_end_users_still_read() {
        let tags = serde_json::json!({"plan": "pro"}).as_object().cloned();
        round_trip(
            r#"{"id":"u1","email":"a@b.co","display_name":"Ann","tags":{"plan":"pro"},"organization":{"id":"o1","display_name":"Org"}}"#,
            &EndUser {
                id: "u1".to_owned(),
                email: Some("a@b.co".to_owned()),
                display_name: Some("Ann".to_owned()),
                tags,
                organization: Some(Organization { id: "o1".to_owned(), display_name: Some("Org".to_owned()) }),
            },
        );
        round_trip(
            r#"{"id":"u2","email":null,"display_name":null,"tags":null,"organization":null}"#,
            &EndUser { id: "u2".to_owned(), email: None, display_name: None, tags: None, organization: None },
        );
    }
}
