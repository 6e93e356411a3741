//! Deployed functions (actions and syncs) as stored. `FunctionConfig` is a stored format (a
//! JSON column): see the tests at the end before renaming anything.

use std::time::Duration;

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

/// Why a run did not produce an output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// The bundle does not load: syntax error, a throw at load time, no usable default export.
    Load { message: String },
    /// The input failed the action's input schema (zod issues).
    Input { issues: Value },
    /// The output failed the action's output schema (zod issues).
    Output { issues: Value },
    /// The function threw Nango's `ActionError`.
    Action { payload: Value },
    /// A proxied call answered outside 2xx and the function let it throw.
    Http { status: u16, headers: Value, body: Value },
    /// A proxied call did not get an answer and the function let it throw.
    Network { payload: Value },
    /// Any other throw: `{name, message, stacktrace?}`.
    Internal { payload: Value },
    /// The output is larger than the limit.
    OutputTooLarge { bytes: usize, limit: usize },
    /// The run took longer than its wall time.
    Timeout { limit: Duration },
    /// The run allocated more than the memory limit.
    OutOfMemory { limit: usize },
    /// The runtime itself failed (a bug, or the pool is shutting down).
    Engine { message: String },
}

impl Failure {
    /// Nango's error code for this failure.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Load { .. } | Self::Internal { .. } => "script_internal_error",
            Self::Input { .. } => "invalid_action_input",
            Self::Output { .. } => "invalid_action_output",
            Self::Action { .. } => "action_script_runtime_error",
            Self::Http { .. } => "script_http_error",
            Self::Network { .. } => "script_network_error",
            Self::OutputTooLarge { .. } => "script_output_too_large",
            Self::Timeout { .. } | Self::OutOfMemory { .. } => "action_script_failure",
            Self::Engine { .. } => "server_error",
        }
    }

    /// The HTTP status Nango answers with for this failure.
    pub const fn status(&self) -> u16 {
        match self {
            Self::Input { .. } | Self::Output { .. } | Self::OutputTooLarge { .. } => 400,
            Self::Http { .. } => 424,
            _ => 500,
        }
    }
}

/// How an asynchronous action run ended (stored with the run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RunOutcome {
    /// The action's output.
    Output { output: Value },
    /// Why it produced none.
    Failed { failure: Failure },
}

/// Where an asynchronous action run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// The status called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// An asynchronous action run.
#[derive(Debug, Clone)]
pub struct ActionRun {
    pub id: String,
    pub environment_id: EnvironmentId,
    pub provider_config_key: String,
    pub connection_id: String,
    pub action_name: String,
    pub input: Value,
    pub status: RunStatus,
    pub attempts: u32,
    pub max_retries: u32,
    pub outcome: Option<RunOutcome>,
    pub created_at: DateTime<Utc>,
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

    #[test]
    fn stored_run_outcomes_still_read() {
        for (stored, expected) in [
            (r#"{"result":"output","output":{"n":4}}"#, RunOutcome::Output { output: serde_json::json!({"n": 4}) }),
            (
                r#"{"result":"failed","failure":{"kind":"action","payload":{"message":"no"}}}"#,
                RunOutcome::Failed { failure: Failure::Action { payload: serde_json::json!({"message": "no"}) } },
            ),
            (
                r#"{"result":"failed","failure":{"kind":"timeout","limit":{"secs":900,"nanos":0}}}"#,
                RunOutcome::Failed { failure: Failure::Timeout { limit: std::time::Duration::from_secs(900) } },
            ),
        ] {
            let read: RunOutcome = serde_json::from_str(stored).expect("a stored row must still read");
            assert_eq!(read, expected);
            assert_eq!(serde_json::to_string(&expected).unwrap(), stored, "the written form changed");
        }
    }
}
