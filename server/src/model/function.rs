//! Deployed functions (actions and syncs) as stored. `FunctionConfig` is a stored format (a
//! JSON column): see the tests at the end before renaming anything.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::id::{EnvironmentId, IntegrationId};

/// What a function is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionKind {
    Action,
    Sync,
    OnEvent,
}

impl FunctionKind {
    /// Nango's name (`action`, `sync`, `on-event`), stored as is.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Action => "action",
            Self::Sync => "sync",
            Self::OnEvent => "on-event",
        }
    }

    /// The kind called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "action" => Some(Self::Action),
            "sync" => Some(Self::Sync),
            "on-event" => Some(Self::OnEvent),
            _ => None,
        }
    }
}

/// A function's declared configuration, as the CLI deploys it (everything but the code).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionConfig {
    /// The models it returns (syncs: its records; actions: its output model).
    #[serde(default)]
    pub models: Vec<String>,
    /// Frequency of a sync (`every day`), `None` for actions.
    #[serde(default)]
    pub runs: Option<String>,
    #[serde(default)]
    pub auto_start: bool,
    #[serde(default)]
    pub track_deletes: bool,
    /// `full` or `incremental` (syncs).
    #[serde(default)]
    pub sync_type: Option<String>,
    /// `[{method, path, group?}]`.
    #[serde(default)]
    pub endpoints: Vec<Value>,
    /// The input model (actions) or metadata model (syncs).
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub attributes: Value,
    #[serde(default)]
    pub webhook_subscriptions: Vec<String>,
    /// `{definitions: {Model: JSONSchema7}}`.
    #[serde(default)]
    pub models_json_schema: Option<Value>,
    #[serde(default)]
    pub features: Vec<String>,
}

/// A deployed function read back (code included).
#[derive(Debug, Clone)]
pub struct StoredFunction {
    pub id: i64,
    pub environment_id: EnvironmentId,
    pub integration_id: IntegrationId,
    /// The integration's unique key.
    pub provider_config_key: String,
    pub name: String,
    pub kind: FunctionKind,
    pub version: String,
    pub code: String,
    pub source: String,
    pub code_hash: String,
    pub config: FunctionConfig,
    pub sdk_version: Option<String>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a deploy writes for one function.
#[derive(Debug, Clone)]
pub struct NewFunction {
    pub name: String,
    pub kind: FunctionKind,
    pub version: String,
    pub code: String,
    pub source: String,
    pub code_hash: String,
    pub config: FunctionConfig,
    pub sdk_version: Option<String>,
}

#[cfg(test)]
mod tests {
    //! Stored format: `FunctionConfig` is the `functions.config` JSON column. The literal is a
    //! row as written since functions were introduced; it must still read, and writing must
    //! produce it again.
    use super::*;

    #[test]
    fn stored_function_configs_still_read() {
        let stored = r#"{"models":["Item"],"runs":"every day","auto_start":false,"track_deletes":true,"sync_type":"full","endpoints":[{"group":"Items","method":"GET","path":"/items"}],"input":"SyncMetadata_acme_fn_items","description":"Items","scopes":["read"],"attributes":{},"webhook_subscriptions":[],"models_json_schema":{"definitions":{"Item":{"type":"object"}}},"features":["checkpoints"]}"#;
        let expected = FunctionConfig {
            models: vec!["Item".to_owned()],
            runs: Some("every day".to_owned()),
            auto_start: false,
            track_deletes: true,
            sync_type: Some("full".to_owned()),
            endpoints: vec![serde_json::json!({"group": "Items", "method": "GET", "path": "/items"})],
            input: Some("SyncMetadata_acme_fn_items".to_owned()),
            description: Some("Items".to_owned()),
            scopes: vec!["read".to_owned()],
            attributes: serde_json::json!({}),
            webhook_subscriptions: vec![],
            models_json_schema: Some(serde_json::json!({"definitions": {"Item": {"type": "object"}}})),
            features: vec!["checkpoints".to_owned()],
        };
        let read: FunctionConfig = serde_json::from_str(stored).expect("a stored row must still read");
        assert_eq!(read, expected);
        assert_eq!(serde_json::to_string(&expected).unwrap(), stored, "the written form changed");
        assert_eq!(FunctionKind::parse("on-event"), Some(FunctionKind::OnEvent));
    }
}
