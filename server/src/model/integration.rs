//! Integrations as stored. `Settings` (with `AppCredentials`) is a stored format (a sealed JSON
//! column): see the tests at the end before renaming anything.

use std::{collections::BTreeMap, fmt};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::id::IntegrationId;

/// Settings stored sealed with an integration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Nango's `custom` column: resolved `integration_config` values, free-form `custom`
    /// values and `webhookSecret`.
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    /// Developer-app credentials (OAuth client, app), for providers that need them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<AppCredentials>,
}

/// Developer-app credentials of an integration (Nango's `credentials` on integrations).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCredentials {
    /// `OAUTH1`, `OAUTH2`, `TBA`, `APP` or `CUSTOM`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    /// Only on input: stored as `custom.webhookSecret`, as Nango does.
    #[serde(skip)]
    pub webhook_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
}

impl fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredentials")
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("scopes", &self.scopes)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// A stored integration, as the repository returns it.
#[derive(Debug, Clone)]
pub struct IntegrationRecord {
    pub id: IntegrationId,
    pub unique_key: String,
    pub provider: String,
    pub display_name: Option<String>,
    pub forward_webhooks: bool,
    pub settings: Settings,
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the repository inserts.
#[derive(Debug)]
pub struct NewIntegrationRecord {
    pub unique_key: String,
    pub provider: String,
    pub display_name: Option<String>,
    pub forward_webhooks: bool,
    pub settings: Settings,
}

#[cfg(test)]
mod tests {
    //! Stored format: `Settings` is the sealed `integrations.settings` column. The literals are
    //! rows as written since the first release; each must still read, and writing must
    //! produce them again.
    use super::*;

    fn round_trip(stored: &str, expected: &Settings) {
        let read: Settings = serde_json::from_str(stored).expect("a stored row must still read");
        assert_eq!(&read, expected);
        assert_eq!(serde_json::to_string(expected).unwrap(), stored, "the written form changed");
    }

    #[test]
    fn stored_settings_still_read() {
        let custom: BTreeMap<String, String> = [("baseUrl", "https://api.acme.com"), ("keyName", "Authorization")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        round_trip(
            r#"{"custom":{"baseUrl":"https://api.acme.com","keyName":"Authorization"}}"#,
            &Settings { custom: custom.clone(), credentials: None },
        );
        round_trip(
            r#"{"custom":{},"credentials":{"type":"OAUTH2","client_id":"id","client_secret":"s","scopes":"a,b"}}"#,
            &Settings {
                custom: BTreeMap::new(),
                credentials: Some(AppCredentials {
                    kind: "OAUTH2".to_owned(),
                    client_id: Some("id".to_owned()),
                    client_secret: Some("s".to_owned()),
                    scopes: Some("a,b".to_owned()),
                    ..AppCredentials::default()
                }),
            },
        );
        round_trip(
            r#"{"custom":{},"credentials":{"type":"APP","app_id":"1","app_link":"https://x","private_key":"pk"}}"#,
            &Settings {
                custom: BTreeMap::new(),
                credentials: Some(AppCredentials {
                    kind: "APP".to_owned(),
                    app_id: Some("1".to_owned()),
                    app_link: Some("https://x".to_owned()),
                    private_key: Some("pk".to_owned()),
                    ..AppCredentials::default()
                }),
            },
        );
        // Rows written before `custom` was always present.
        assert_eq!(serde_json::from_str::<Settings>("{}").unwrap(), Settings::default());
    }
}
