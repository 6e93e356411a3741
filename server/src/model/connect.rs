//! Connect sessions as stored. `SessionSettings` is a stored format (a JSON column): see the
//! tests at the end before renaming anything.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::connection::EndUser;

/// What a session allows and pre-sets, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionSettings {
    /// The end user the connection will belong to (with their organization).
    pub end_user: Option<EndUser>,
    /// Integration keys the end user may connect; `None` means any.
    pub allowed_integrations: Option<Vec<String>>,
    /// Per integration key: `{connection_config?, authorization_params?, user_scopes?}`.
    pub integrations_config_defaults: Option<Map<String, Value>>,
    /// Per integration key: `{docs_connect?}`.
    pub overrides: Option<Map<String, Value>>,
    /// Webhook URL for the connections this session creates.
    pub webhook_url_override: Option<String>,
    /// Tags given to the connection: derived from the end user, then the session's own.
    pub tags: Map<String, Value>,
}

/// The connection a reconnect session replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconnect {
    pub integration: String,
    pub connection_id: String,
}

/// A live session read back from storage.
#[derive(Debug, Clone)]
pub struct StoredSession {
    pub id: i64,
    pub settings: SessionSettings,
    pub reconnect: Option<Reconnect>,
    pub expires_at: DateTime<Utc>,
}

impl StoredSession {
    /// Whether the session may use integration `key`.
    pub fn allows(&self, key: &str) -> bool {
        self.settings.allowed_integrations.as_ref().is_none_or(|allowed| allowed.iter().any(|k| k == key))
    }
}

#[cfg(test)]
mod tests {
    //! Stored format: `SessionSettings` is the `connect_sessions.settings` JSON column. The
    //! literal is a row as written since the first release; it must still read, and writing
    //! must produce it again.
    use super::*;

    #[test]
    fn stored_session_settings_still_read() {
        let stored = r#"{"end_user":{"id":"u1","email":null,"display_name":"Ann","tags":null,"organization":{"id":"o1","display_name":null}},"allowed_integrations":["acme"],"integrations_config_defaults":{"acme":{"connection_config":{"x":1}}},"overrides":null,"webhook_url_override":"https://hooks.example.com/n","tags":{"end_user_id":"u1"}}"#;
        let obj = |v: Value| v.as_object().cloned().unwrap();
        let expected = SessionSettings {
            end_user: Some(EndUser {
                id: "u1".to_owned(),
                email: None,
                display_name: Some("Ann".to_owned()),
                tags: None,
                organization: Some(super::super::connection::Organization { id: "o1".to_owned(), display_name: None }),
            }),
            allowed_integrations: Some(vec!["acme".to_owned()]),
            integrations_config_defaults: Some(obj(serde_json::json!({"acme": {"connection_config": {"x": 1}}}))),
            overrides: None,
            webhook_url_override: Some("https://hooks.example.com/n".to_owned()),
            tags: obj(serde_json::json!({"end_user_id": "u1"})),
        };
        let read: SessionSettings = serde_json::from_str(stored).expect("a stored row must still read");
        assert_eq!(read, expected);
        assert_eq!(serde_json::to_string(&expected).unwrap(), stored, "the written form changed");
    }
}
