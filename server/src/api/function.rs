//! Functions: Nango's deploy (`/sync/deploy/confirmation`, `/sync/deploy`) as the `nango` CLI
//! calls it, `/scripts/config`, the integration function routes, and the CLI's telemetry.

use std::collections::HashMap;

use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    ApiTags,
    extract::{DocOnly, JsonBody, SecretKey},
    types::RawJson,
    validate::{self, StrRule, UNIQUE_KEY, issue},
};
use crate::{
    AppState,
    error::{ApiError, Code, ValidationIssue},
    model::function::{FunctionConfig, FunctionKind, StoredFunction},
    service::function::{self as svc, Deploy, DeployMode, Deployed, Differences, FlowDeploy, Slim},
};

/// Nango's `scriptNameSchema` (function names).
pub(super) const FUNCTION_NAME: StrRule = StrRule {
    pattern: Some((
        |s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "/^[a-zA-Z0-9_-]+$/",
    )),
    min: None,
    max: Some(255),
};

// ---- deploy bodies (documented; parsed strictly below) ------------------------------------

/// The compiled bundle and its source.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct FileBody {
    /// The CommonJS bundle `nango compile` produced.
    pub js: String,
    /// The TypeScript source.
    pub ts: String,
}

/// One function of a deploy, as the CLI sends it.
#[derive(Debug, Clone, Object)]
pub struct FlowConfigRequest {
    /// `action` or `sync`.
    #[oai(rename = "type")]
    pub kind: String,
    /// The function's name.
    #[oai(rename = "syncName")]
    pub sync_name: String,
    /// The integration's unique key.
    #[oai(rename = "providerConfigKey")]
    pub provider_config_key: String,
    /// Models returned (syncs: records; actions: the output model).
    pub models: Vec<String>,
    /// A sync's frequency, e.g. `every day`; null for actions.
    pub runs: Option<String>,
    /// Whether a sync starts by itself for new connections.
    pub auto_start: Option<bool>,
    /// Free-form attributes.
    pub attributes: Option<HashMap<String, Value>>,
    /// `{description, scopes}`.
    pub metadata: Option<HashMap<String, Value>>,
    /// The input model (actions) or metadata model (syncs).
    pub input: Option<String>,
    /// `[{method, path, group?}]`.
    pub endpoints: Option<Vec<HashMap<String, Value>>>,
    /// The version set in the function (or `--version`).
    pub version: Option<String>,
    /// Whether a full sync removes records it did not see.
    pub track_deletes: Option<bool>,
    /// `full` or `incremental`.
    pub sync_type: Option<String>,
    /// Webhook subscriptions.
    #[oai(rename = "webhookSubscriptions")]
    pub webhook_subscriptions: Option<Vec<String>>,
    /// `{definitions: {Model: JSON schema}}` of every model and the input.
    pub models_json_schema: Option<HashMap<String, Value>>,
    /// `["checkpoints"]`.
    pub features: Option<Vec<String>>,
    /// The code.
    #[oai(rename = "fileBody")]
    pub file_body: FileBody,
}

/// `POST /sync/deploy` and `/sync/deploy/confirmation` body (`nango deploy`).
#[derive(Debug, Clone, Object)]
pub struct DeployRequest {
    /// The functions.
    #[oai(rename = "flowConfigs")]
    pub flow_configs: Vec<FlowConfigRequest>,
    /// On-event scripts per integration (stored, not run: see docs/functions.md).
    #[oai(rename = "onEventScriptsByProvider")]
    pub on_event_scripts_by_provider: Option<Vec<HashMap<String, Value>>>,
    /// Remove functions missing from the payload (within `deployMode`).
    pub reconcile: bool,
    /// Verbose deploy log.
    pub debug: bool,
    /// `all` (default), `single` or `integration`.
    #[oai(rename = "deployMode")]
    pub deploy_mode: Option<String>,
    /// e.g. `0.71.10-zero`.
    #[oai(rename = "sdkVersion")]
    pub sdk_version: Option<String>,
    /// Always empty for zero-yaml projects.
    #[oai(rename = "nangoYamlBody")]
    pub nango_yaml_body: Option<String>,
    /// `repo` or `standalone`.
    pub source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Flow {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "syncName")]
    sync_name: String,
    #[serde(rename = "providerConfigKey")]
    provider_config_key: String,
    models: Vec<String>,
    #[serde(default)]
    runs: Option<String>,
    #[serde(default)]
    auto_start: Option<bool>,
    #[serde(default)]
    attributes: Option<Value>,
    #[serde(default)]
    metadata: Option<FlowMetadata>,
    #[serde(default)]
    model_schema: Option<Value>,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    endpoints: Option<Vec<Value>>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    track_deletes: Option<bool>,
    #[serde(default)]
    sync_type: Option<String>,
    #[serde(default, rename = "webhookSubscriptions")]
    webhook_subscriptions: Option<Vec<String>>,
    #[serde(default)]
    models_json_schema: Option<Value>,
    #[serde(default)]
    features: Option<Vec<String>>,
    #[serde(rename = "fileBody")]
    file_body: FileBody,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowMetadata {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnEventGroup {
    #[serde(rename = "providerConfigKey")]
    provider_config_key: String,
    scripts: Vec<OnEventScript>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnEventScript {
    name: String,
    #[serde(rename = "fileBody")]
    file_body: FileBody,
    event: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(rename = "flowConfigs")]
    flow_configs: Vec<Flow>,
    #[serde(default, rename = "onEventScriptsByProvider")]
    on_event: Option<Vec<OnEventGroup>>,
    #[serde(default, rename = "postConnectionScriptsByProvider")]
    post_connection: Option<Value>,
    #[serde(default, rename = "jsonSchema")]
    json_schema: Option<Value>,
    reconcile: bool,
    debug: bool,
    #[serde(default, rename = "deployMode")]
    deploy_mode: Option<String>,
    #[serde(default, rename = "singleDeployMode")]
    single_deploy_mode: Option<bool>,
    #[serde(default, rename = "sdkVersion")]
    sdk_version: Option<String>,
    #[serde(default, rename = "nangoYamlBody")]
    nango_yaml_body: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

fn body_issue(path: Vec<String>, message: String) -> ValidationIssue {
    issue("custom", message, path)
}

/// Parses and checks a deploy body the way Nango's zod schema does (strict objects, names,
/// keys, models, `sdkVersion`, incremental syncs without `track_deletes`, a JSON schema for
/// every model and input), with every problem's path.
fn parse_deploy(value: Option<&Value>, with_yaml: bool) -> Result<Deploy, ApiError> {
    let value = value.cloned().unwrap_or(Value::Null);
    let body: Body = serde_path_to_error::deserialize(value).map_err(|e| {
        let path: Vec<String> = e
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .filter(|s| s != "?")
            .collect();
        let mut path = path;
        let message = e.into_inner().to_string();
        // zod's words for a key a strict object does not know: at the object, not the key.
        let issue = match message.strip_prefix("unknown field `").and_then(|m| m.split_once('`')) {
            Some((key, _)) => {
                path.pop();
                issue("unrecognized_keys", format!("Unrecognized key: \"{key}\""), path)
            }
            None => body_issue(path, message),
        };
        ApiError::issues(Code::InvalidBody, vec![issue])
    })?;
    let _ = (body.post_connection, body.json_schema, body.debug, body.nango_yaml_body.is_some() || !with_yaml);
    let mut issues = Vec::new();
    let at = |parts: &[&str]| parts.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mode = match (body.deploy_mode.as_deref(), body.single_deploy_mode) {
        (Some("all"), _) | (None, None | Some(false)) => DeployMode::All,
        (Some("single"), _) | (None, Some(true)) => DeployMode::Single,
        (Some("integration"), _) => DeployMode::Integration,
        (Some(other), _) => {
            issues.push(issue(
                "invalid_value",
                format!("Invalid option: expected one of \"all\"|\"single\"|\"integration\", received {other:?}"),
                at(&["deployMode"]),
            ));
            DeployMode::All
        }
    };
    if let Some(v) = &body.sdk_version {
        let ok = v.split_once('-').is_some_and(|(semver, tag)| {
            matches!(tag, "zero" | "yaml")
                && semver.split('.').count() == 3
                && semver.split('.').all(|p| p.parse::<u64>().is_ok())
        });
        if !ok {
            issues.push(issue(
                "invalid_format",
                "Invalid string: must match pattern /[0-9]+\\.[0-9]+\\.[0-9]+-(zero|yaml)/",
                at(&["sdkVersion"]),
            ));
        }
    }
    if let Some(source) = &body.source
        && !matches!(source.as_str(), "repo" | "standalone")
    {
        issues.push(issue("invalid_value", "Invalid option: expected one of \"standalone\"|\"repo\"", at(&["source"])));
    }
    let mut flows = Vec::with_capacity(body.flow_configs.len());
    for (i, f) in body.flow_configs.into_iter().enumerate() {
        let base = vec!["flowConfigs".to_owned(), i.to_string()];
        let path = |field: &str| {
            let mut p = base.clone();
            p.push(field.to_owned());
            p
        };
        let kind = match f.kind.as_str() {
            "action" => FunctionKind::Action,
            "sync" => FunctionKind::Sync,
            other => {
                issues.push(issue(
                    "invalid_value",
                    format!("Invalid option: expected one of \"action\"|\"sync\", received {other:?}"),
                    path("type"),
                ));
                continue;
            }
        };
        issues.extend(validate::check_str(&f.sync_name, &FUNCTION_NAME, &path("syncName")));
        issues.extend(validate::check_str(&f.provider_config_key, &UNIQUE_KEY, &path("providerConfigKey")));
        for (m, model) in f.models.iter().enumerate() {
            if model.is_empty() || model.len() > 255 {
                issues.push(issue(
                    "too_big",
                    "A model name has 1 to 255 characters",
                    [path("models"), vec![m.to_string()]].concat(),
                ));
            }
        }
        if let Some(t) = &f.sync_type
            && !matches!(t.as_str(), "incremental" | "full")
        {
            issues.push(issue(
                "invalid_value",
                "Invalid option: expected one of \"incremental\"|\"full\"",
                path("sync_type"),
            ));
        }
        if f.sync_type.as_deref() == Some("incremental") && f.track_deletes == Some(true) {
            issues.push(issue("custom", "Track deletes is not supported for incremental syncs", path("track_deletes")));
        }
        let input = match &f.input {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => None, // legacy inline model: kept in the schema only
        };
        if let Some(schema) = &f.models_json_schema {
            let definitions = schema.get("definitions").and_then(Value::as_object);
            let missing = f.models.iter().chain(input.iter()).any(|m| !definitions.is_some_and(|d| d.contains_key(m)));
            if missing {
                issues.push(issue(
                    "custom",
                    "models_json_schema is missing definitions for some models or input",
                    path("models_json_schema"),
                ));
            }
        }
        let _ = f.model_schema;
        let metadata = f.metadata.unwrap_or(FlowMetadata { description: None, scopes: None });
        flows.push(FlowDeploy {
            kind,
            name: f.sync_name,
            provider_config_key: f.provider_config_key,
            js: f.file_body.js,
            ts: f.file_body.ts,
            version: f.version.filter(|v| !v.is_empty()),
            config: FunctionConfig {
                models: f.models,
                runs: f.runs.filter(|r| !r.is_empty()),
                auto_start: f.auto_start.unwrap_or(false),
                track_deletes: f.track_deletes.unwrap_or(false),
                sync_type: f.sync_type,
                endpoints: f.endpoints.unwrap_or_default(),
                input,
                description: metadata.description,
                scopes: metadata.scopes.unwrap_or_default(),
                attributes: f.attributes.unwrap_or_else(|| json!({})),
                webhook_subscriptions: f.webhook_subscriptions.unwrap_or_default(),
                models_json_schema: f.models_json_schema,
                features: f.features.unwrap_or_default(),
            },
        });
    }
    for (g, group) in body.on_event.into_iter().flatten().enumerate() {
        issues.extend(validate::check_str(
            &group.provider_config_key,
            &UNIQUE_KEY,
            &["onEventScriptsByProvider".to_owned(), g.to_string(), "providerConfigKey".to_owned()],
        ));
        for (s, script) in group.scripts.into_iter().enumerate() {
            let path = vec!["onEventScriptsByProvider".to_owned(), g.to_string(), "scripts".to_owned(), s.to_string()];
            if !matches!(
                script.event.as_str(),
                "post-connection-creation" | "pre-connection-deletion" | "validate-connection"
            ) {
                issues.push(issue(
                    "invalid_value",
                    "Invalid option for the event",
                    [path.clone(), vec!["event".to_owned()]].concat(),
                ));
            }
            flows.push(FlowDeploy {
                kind: FunctionKind::OnEvent,
                name: script.name,
                provider_config_key: group.provider_config_key.clone(),
                js: script.file_body.js,
                ts: script.file_body.ts,
                version: None,
                config: FunctionConfig { attributes: json!({"event": script.event}), ..FunctionConfig::default() },
            });
        }
    }
    validate::done(
        Deploy { flows, reconcile: body.reconcile, mode, sdk_version: body.sdk_version },
        issues,
        Code::InvalidBody,
    )
}

// ---- answers ------------------------------------------------------------------------------

/// A sync named in a confirmation.
#[derive(Debug, Clone, Object)]
pub struct SlimSyncResponse {
    pub name: String,
    #[oai(rename = "providerConfigKey")]
    pub provider_config_key: String,
    /// The integration's connections.
    pub connections: u64,
    pub auto_start: bool,
}

/// An action named in a confirmation.
#[derive(Debug, Clone, Object)]
pub struct SlimActionResponse {
    pub name: String,
    #[oai(rename = "providerConfigKey")]
    pub provider_config_key: String,
}

/// An on-event script named in a confirmation.
#[derive(Debug, Clone, Object)]
pub struct SlimOnEventResponse {
    #[oai(rename = "providerConfigKey")]
    pub provider_config_key: String,
    pub name: String,
    pub event: String,
}

/// What a deploy would change.
#[derive(Debug, Clone, Object)]
pub struct DeployConfirmationResponse {
    #[oai(rename = "newSyncs")]
    pub new_syncs: Vec<SlimSyncResponse>,
    #[oai(rename = "updatedSyncs")]
    pub updated_syncs: Vec<SlimSyncResponse>,
    #[oai(rename = "deletedSyncs")]
    pub deleted_syncs: Vec<SlimSyncResponse>,
    #[oai(rename = "newActions")]
    pub new_actions: Vec<SlimActionResponse>,
    #[oai(rename = "updatedActions")]
    pub updated_actions: Vec<SlimActionResponse>,
    #[oai(rename = "deletedActions")]
    pub deleted_actions: Vec<SlimActionResponse>,
    #[oai(rename = "deletedModels")]
    pub deleted_models: Vec<String>,
    #[oai(rename = "newOnEventScripts")]
    pub new_on_event_scripts: Vec<SlimOnEventResponse>,
    #[oai(rename = "updatedOnEventScripts")]
    pub updated_on_event_scripts: Vec<SlimOnEventResponse>,
    #[oai(rename = "deletedOnEventScripts")]
    pub deleted_on_event_scripts: Vec<SlimOnEventResponse>,
}

fn syncs(list: Vec<Slim>) -> Vec<SlimSyncResponse> {
    list.into_iter()
        .map(|s| SlimSyncResponse {
            name: s.name,
            provider_config_key: s.provider_config_key,
            connections: s.connections.unwrap_or(0),
            auto_start: s.auto_start.unwrap_or(false),
        })
        .collect()
}

fn actions(list: Vec<Slim>) -> Vec<SlimActionResponse> {
    list.into_iter().map(|s| SlimActionResponse { name: s.name, provider_config_key: s.provider_config_key }).collect()
}

fn on_events(list: Vec<Slim>) -> Vec<SlimOnEventResponse> {
    list.into_iter()
        .map(|s| SlimOnEventResponse {
            provider_config_key: s.provider_config_key,
            name: s.name,
            event: s.event.unwrap_or_default(),
        })
        .collect()
}

impl From<Differences> for DeployConfirmationResponse {
    fn from(d: Differences) -> Self {
        Self {
            new_syncs: syncs(d.new_syncs),
            updated_syncs: syncs(d.updated_syncs),
            deleted_syncs: syncs(d.deleted_syncs),
            new_actions: actions(d.new_actions),
            updated_actions: actions(d.updated_actions),
            deleted_actions: actions(d.deleted_actions),
            deleted_models: d.deleted_models,
            new_on_event_scripts: on_events(d.new_on_events),
            updated_on_event_scripts: on_events(d.updated_on_events),
            deleted_on_event_scripts: on_events(d.deleted_on_events),
        }
    }
}

/// A function as deployed.
#[derive(Debug, Clone, Object)]
pub struct DeployedFunctionResponse {
    pub name: String,
    pub version: String,
    #[oai(rename = "providerConfigKey")]
    pub provider_config_key: String,
    /// `action`, `sync` or `on-event`.
    #[oai(rename = "type")]
    pub kind: String,
    pub models: Vec<String>,
    pub id: i64,
    #[oai(skip_serializing_if_is_none)]
    pub runs: Option<String>,
    pub last_deployed: super::types::Timestamp,
    #[oai(skip_serializing_if_is_none)]
    pub input: Option<String>,
}

impl From<Deployed> for DeployedFunctionResponse {
    fn from(d: Deployed) -> Self {
        Self {
            name: d.name,
            version: d.version,
            provider_config_key: d.provider_config_key,
            kind: d.kind.as_str().to_owned(),
            models: d.models,
            id: d.id,
            runs: d.runs,
            last_deployed: super::types::Ts(d.last_deployed),
            input: d.input,
        }
    }
}

fn schema_map(schema: Option<&Value>) -> Option<HashMap<String, Value>> {
    schema.and_then(Value::as_object).map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// A function in `/scripts/config` (Nango's `NangoSyncConfig`).
#[derive(Debug, Clone, Object)]
pub struct ScriptConfigResponse {
    pub name: String,
    #[oai(rename = "type")]
    pub kind: String,
    #[oai(nullable)]
    pub runs: Option<String>,
    pub auto_start: bool,
    pub attributes: Value,
    #[oai(nullable)]
    pub description: Option<String>,
    pub scopes: Vec<String>,
    pub track_deletes: bool,
    /// The models it returns.
    pub returns: Vec<String>,
    pub endpoints: Vec<Value>,
    pub version: String,
    pub last_deployed: super::types::Timestamp,
    pub id: i64,
    #[oai(skip_serializing_if_is_none)]
    pub input: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub sync_type: Option<String>,
    #[oai(rename = "webhookSubscriptions")]
    pub webhook_subscriptions: Vec<String>,
    pub enabled: bool,
    #[oai(nullable)]
    pub json_schema: Option<HashMap<String, Value>>,
    #[oai(nullable)]
    pub sdk_version: Option<String>,
    pub features: Vec<String>,
    /// Always `repo` (deployed with the CLI).
    pub source: String,
}

impl From<&StoredFunction> for ScriptConfigResponse {
    fn from(f: &StoredFunction) -> Self {
        Self {
            name: f.name.clone(),
            kind: f.kind.as_str().to_owned(),
            runs: f.config.runs.clone(),
            auto_start: f.config.auto_start,
            attributes: f.config.attributes.clone(),
            description: f.config.description.clone(),
            scopes: f.config.scopes.clone(),
            track_deletes: f.config.track_deletes,
            returns: f.config.models.clone(),
            endpoints: f.config.endpoints.clone(),
            version: f.version.clone(),
            last_deployed: super::types::Ts(f.updated_at),
            id: f.id,
            input: f.config.input.clone(),
            sync_type: f.config.sync_type.clone(),
            webhook_subscriptions: f.config.webhook_subscriptions.clone(),
            enabled: f.enabled,
            json_schema: schema_map(f.config.models_json_schema.as_ref()),
            sdk_version: f.sdk_version.clone(),
            features: f.config.features.clone(),
            source: "repo".to_owned(),
        }
    }
}

/// One integration's functions in `/scripts/config`.
#[derive(Debug, Clone, Object)]
pub struct IntegrationScriptsResponse {
    #[oai(rename = "providerConfigKey")]
    pub provider_config_key: String,
    pub provider: String,
    pub syncs: Vec<ScriptConfigResponse>,
    pub actions: Vec<ScriptConfigResponse>,
    #[oai(rename = "on-events")]
    pub on_events: Vec<ScriptConfigResponse>,
}

/// A deployed function (Nango's `DeployedNangoFunction`).
#[derive(Debug, Clone, Object)]
pub struct FunctionResponse {
    pub id: i64,
    pub name: String,
    #[oai(rename = "type")]
    pub kind: String,
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    pub scopes: Vec<String>,
    #[oai(skip_serializing_if_is_none)]
    pub input: Option<String>,
    pub returns: Vec<String>,
    #[oai(nullable)]
    pub json_schema: Option<HashMap<String, Value>>,
    /// Syncs only.
    #[oai(skip_serializing_if_is_none)]
    pub runs: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub auto_start: Option<bool>,
    #[oai(skip_serializing_if_is_none)]
    pub track_deletes: Option<bool>,
    /// On-event scripts only.
    #[oai(skip_serializing_if_is_none)]
    pub event: Option<String>,
    pub version: String,
    pub enabled: bool,
    pub last_deployed: super::types::Timestamp,
    pub source: String,
}

impl From<&StoredFunction> for FunctionResponse {
    fn from(f: &StoredFunction) -> Self {
        let sync = f.kind == FunctionKind::Sync;
        Self {
            id: f.id,
            name: f.name.clone(),
            kind: f.kind.as_str().to_owned(),
            description: f.config.description.clone(),
            scopes: f.config.scopes.clone(),
            input: f.config.input.clone(),
            returns: f.config.models.clone(),
            json_schema: schema_map(f.config.models_json_schema.as_ref()),
            runs: sync.then(|| f.config.runs.clone()).flatten(),
            auto_start: sync.then_some(f.config.auto_start),
            track_deletes: sync.then_some(f.config.track_deletes),
            event: f.config.attributes.get("event").and_then(Value::as_str).map(str::to_owned),
            version: f.version.clone(),
            enabled: f.enabled,
            last_deployed: super::types::Ts(f.updated_at),
            source: "repo".to_owned(),
        }
    }
}

/// Page of a function list.
#[derive(Debug, Clone, Object)]
pub struct FunctionPagination {
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

/// `GET /integrations/{uniqueKey}/functions`.
#[derive(Debug, Clone, Object)]
pub struct FunctionListResponse {
    pub data: Vec<FunctionResponse>,
    pub pagination: FunctionPagination,
}

/// One function.
#[derive(Debug, Clone, Object)]
pub struct FunctionEnvelope {
    pub data: FunctionResponse,
}

/// `{success}`.
#[derive(Debug, Clone, Object)]
pub struct FunctionDeletedData {
    pub success: bool,
}

/// A deleted function.
#[derive(Debug, Clone, Object)]
pub struct FunctionDeletedResponse {
    pub data: FunctionDeletedData,
}

/// A function's source.
#[derive(Debug, Clone, Object)]
pub struct FunctionCodeResponse {
    /// `action`, `sync` or `on-event`.
    #[oai(rename = "type")]
    pub kind: String,
    /// The TypeScript source as deployed.
    pub code: String,
}

/// `POST /cli/telemetry` body (accepted and dropped).
#[derive(Debug, Clone, Object)]
pub struct TelemetryRequest {
    #[oai(rename = "deviceId")]
    pub device_id: Option<String>,
    pub event: Option<String>,
    pub ephemeral: Option<bool>,
}

/// `204`: nothing kept.
#[derive(ApiResponse)]
pub enum TelemetryAccepted {
    /// Accepted and dropped.
    #[oai(status = 204)]
    Accepted,
}

// ---- queries ------------------------------------------------------------------------------

fn function_type(raw: &str, path: &str, deletable: bool) -> Result<FunctionKind, ValidationIssue> {
    match (FunctionKind::parse(raw), deletable) {
        (Some(k @ (FunctionKind::Action | FunctionKind::Sync)), _) | (Some(k @ FunctionKind::OnEvent), false) => Ok(k),
        _ => Err(issue(
            "invalid_value",
            if deletable {
                "Invalid option: expected one of \"sync\"|\"action\""
            } else {
                "Invalid option: expected one of \"sync\"|\"action\"|\"on-event\""
            },
            vec![path.to_owned()],
        )),
    }
}

/// `type` (optional unless `required`) from a strict query allowing `allowed`.
fn type_query(raw: Option<&str>, allowed: &[&str], required: bool) -> Result<Option<FunctionKind>, ApiError> {
    let mut kind = None;
    validate::strict_query(raw, allowed, |pairs| {
        let mut issues = Vec::new();
        match pairs.iter().rev().find(|(k, _)| k == "type") {
            Some((_, v)) => match function_type(v, "type", required) {
                Ok(k) => kind = Some(k),
                Err(i) => issues.push(i),
            },
            None if required => issues.push(issue(
                "invalid_value",
                "Invalid option: expected one of \"sync\"|\"action\"",
                vec!["type".to_owned()],
            )),
            None => {}
        }
        issues
    })?;
    Ok(kind)
}

/// Deploys functions the way the `nango` CLI does.
pub struct FunctionApi;

#[OpenApi(tag = "ApiTags::Functions")]
impl FunctionApi {
    /// Preview a deploy
    ///
    /// What `POST /sync/deploy` would create, update and delete for these functions (the
    /// first call of `nango deploy`). Changes nothing.
    #[oai(path = "/sync/deploy/confirmation", method = "post", operation_id = "preview_deploy")]
    async fn preview_deploy(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<DeployRequest>,
    ) -> Result<Json<DeployConfirmationResponse>, ApiError> {
        validate::empty_query(req.uri().query())?;
        let input = parse_deploy(body.value(), false)?;
        let diff = svc::differences(&state.ctx, &auth.0, &input).await?;
        Ok(Json(diff.into()))
    }

    /// Deploy functions
    ///
    /// Stores compiled actions and syncs (the second call of `nango deploy`): every
    /// function's integration must exist and every bundle must load and declare its type,
    /// or nothing is stored. A function's version is the one it declares, or the previous
    /// one bumped when its code changed. With `reconcile`, functions missing from the payload
    /// are removed (within `deployMode`).
    #[oai(path = "/sync/deploy", method = "post", operation_id = "deploy_functions")]
    async fn deploy_functions(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<DeployRequest>,
    ) -> Result<Json<Vec<DeployedFunctionResponse>>, ApiError> {
        validate::empty_query(req.uri().query())?;
        let input = parse_deploy(body.value(), true)?;
        let deployed = svc::deploy(&state.ctx, &auth.0, input).await?;
        Ok(Json(deployed.into_iter().map(Into::into).collect()))
    }

    /// Get the functions' configuration
    ///
    /// Every deployed function by integration, in Nango's format (`format=nango`, the
    /// default, the documented answer) or, with `format=openai`, as OpenAI tool definitions of
    /// the actions: `{"data": [{"name", "description", "parameters"}]}` instead.
    #[oai(path = "/scripts/config", method = "get", operation_id = "get_scripts_config")]
    async fn get_scripts_config(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// `nango` (default) or `openai`.
        #[oai(name = "format")]
        _format: poem_openapi::param::Query<DocOnly<String>>,
    ) -> Result<Json<RawJson<Vec<IntegrationScriptsResponse>>>, ApiError> {
        let mut openai = false;
        validate::strict_query(req.uri().query(), &["format"], |pairs| {
            match pairs.iter().rev().find(|(k, _)| k == "format").map(|(_, v)| v.as_str()) {
                None | Some("nango") => Vec::new(),
                Some("openai") => {
                    openai = true;
                    Vec::new()
                }
                Some(_) => vec![issue(
                    "invalid_value",
                    "Invalid option: expected one of \"nango\"|\"openai\"",
                    vec!["format".to_owned()],
                )],
            }
        })?;
        let groups = svc::by_integration(&state.ctx, &auth.0).await?;
        if openai {
            let data: Vec<Value> = groups
                .iter()
                .flat_map(|g| g.functions.iter())
                .filter(|f| f.kind == FunctionKind::Action)
                .map(|f| {
                    let parameters = f
                        .config
                        .input
                        .as_ref()
                        .and_then(|i| f.config.models_json_schema.as_ref()?.get("definitions")?.get(i).cloned())
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
                    json!({"name": f.name, "description": f.config.description.clone().unwrap_or_default(), "parameters": parameters})
                })
                .collect();
            return Ok(Json(RawJson::new(json!({ "data": data }))));
        }
        let list: Vec<Value> = groups
            .iter()
            .map(|g| {
                let of = |kind: FunctionKind| -> Vec<ScriptConfigResponse> {
                    g.functions.iter().filter(|f| f.kind == kind).map(Into::into).collect()
                };
                let group = IntegrationScriptsResponse {
                    provider_config_key: g.provider_config_key.clone(),
                    provider: g.provider.clone(),
                    syncs: of(FunctionKind::Sync),
                    actions: of(FunctionKind::Action),
                    on_events: of(FunctionKind::OnEvent),
                };
                poem_openapi::types::ToJSON::to_json(&group).unwrap_or(Value::Null)
            })
            .collect();
        Ok(Json(RawJson::new(Value::Array(list))))
    }

    /// List an integration's functions
    ///
    /// Deployed actions, syncs and on-event scripts of the integration, by name; filters:
    /// `type`, `search` (in the name), `page` (from 0) and `limit` (1 to 100, default 20).
    #[oai(path = "/integrations/:uniqueKey/functions", method = "get", operation_id = "list_integration_functions")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn list_integration_functions(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// The integration's unique key.
        #[oai(name = "uniqueKey")]
        unique_key: Path<String>,
        /// `action`, `sync` or `on-event`.
        #[oai(name = "type")]
        _type: poem_openapi::param::Query<DocOnly<String>>,
        /// Text the name contains.
        #[oai(name = "search")]
        _search: poem_openapi::param::Query<DocOnly<String>>,
        /// Page number, from 0.
        #[oai(name = "page")]
        _page: poem_openapi::param::Query<DocOnly<u32>>,
        /// Page size, 1 to 100.
        #[oai(name = "limit")]
        _limit: poem_openapi::param::Query<DocOnly<u32>>,
    ) -> Result<Json<FunctionListResponse>, ApiError> {
        let (mut kind, mut search, mut page, mut limit) = (None, None, 0u64, 20u64);
        validate::strict_query(req.uri().query(), &["type", "search", "page", "limit"], |pairs| {
            let mut issues = Vec::new();
            let last = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            if let Some(v) = last("type") {
                match function_type(&v, "type", false) {
                    Ok(k) => kind = Some(k),
                    Err(i) => issues.push(i),
                }
            }
            if let Some(v) = last("search") {
                let v = v.trim().to_owned();
                if v.is_empty() || v.len() > 255 {
                    issues.push(issue(
                        "too_small",
                        "Too small: expected string to have >=1 characters",
                        vec!["search".to_owned()],
                    ));
                } else {
                    search = Some(v.to_lowercase());
                }
            }
            for (name, slot, min, max) in [("page", &mut page, 0, u64::MAX), ("limit", &mut limit, 1, 100)] {
                if let Some(v) = last(name) {
                    match v.trim().parse::<u64>() {
                        Ok(n) if (min..=max).contains(&n) => *slot = n,
                        _ => issues.push(issue(
                            "invalid_type",
                            format!("Invalid input: expected a whole number from {min} to {max}"),
                            vec![name.to_owned()],
                        )),
                    }
                }
            }
            issues
        })?;
        validate::path_param("uniqueKey", &unique_key, &UNIQUE_KEY)?;
        let all = svc::list(&state.ctx, &auth.0, &unique_key).await?;
        let matching: Vec<&StoredFunction> = all
            .iter()
            .filter(|f| kind.is_none_or(|k| f.kind == k))
            .filter(|f| search.as_ref().is_none_or(|s| f.name.to_lowercase().contains(s)))
            .collect();
        let total = matching.len() as u64;
        let data = matching
            .into_iter()
            .skip(usize::try_from(page.saturating_mul(limit)).unwrap_or(usize::MAX))
            .take(limit as usize)
            .map(Into::into)
            .collect();
        Ok(Json(FunctionListResponse { data, pagination: FunctionPagination { total, page, limit } }))
    }

    /// Get a function
    ///
    /// One deployed function of the integration, by name (and `type` when a sync and an
    /// action share it).
    #[oai(path = "/integrations/:uniqueKey/functions/:name", method = "get", operation_id = "get_integration_function")]
    async fn get_integration_function(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// The integration's unique key.
        #[oai(name = "uniqueKey")]
        unique_key: Path<String>,
        /// The function's name.
        name: Path<String>,
        /// `action`, `sync` or `on-event`.
        #[oai(name = "type")]
        _type: poem_openapi::param::Query<DocOnly<String>>,
    ) -> Result<Json<FunctionEnvelope>, ApiError> {
        let kind = type_query(req.uri().query(), &["type"], false)?;
        validate::path_param("uniqueKey", &unique_key, &UNIQUE_KEY)?;
        validate::path_param("name", &name, &FUNCTION_NAME)?;
        let f = find(&state, &auth, &unique_key, &name, kind).await?;
        Ok(Json(FunctionEnvelope { data: (&f).into() }))
    }

    /// Delete a function
    ///
    /// Removes a deployed action or sync (`type` is required: a sync and an action may share
    /// a name). A later `nango deploy` of the project brings it back.
    #[oai(
        path = "/integrations/:uniqueKey/functions/:name",
        method = "delete",
        operation_id = "delete_integration_function"
    )]
    async fn delete_integration_function(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// The integration's unique key.
        #[oai(name = "uniqueKey")]
        unique_key: Path<String>,
        /// The function's name.
        name: Path<String>,
        /// `action` or `sync`.
        #[oai(name = "type")]
        _type: poem_openapi::param::Query<DocOnly<String>>,
    ) -> Result<Json<FunctionDeletedResponse>, ApiError> {
        let kind = type_query(req.uri().query(), &["type"], true)?;
        validate::path_param("uniqueKey", &unique_key, &UNIQUE_KEY)?;
        validate::path_param("name", &name, &FUNCTION_NAME)?;
        svc::delete(&state.ctx, &auth.0, &unique_key, &name, kind).await?;
        Ok(Json(FunctionDeletedResponse { data: FunctionDeletedData { success: true } }))
    }

    /// Get a function's source
    ///
    /// The TypeScript source of a deployed function, as deployed.
    #[oai(path = "/integrations/:uniqueKey/functions/:name/code", method = "get", operation_id = "get_function_code")]
    async fn get_function_code(
        &self,
        auth: SecretKey,
        state: Data<&AppState>,
        req: &Request,
        /// The integration's unique key.
        #[oai(name = "uniqueKey")]
        unique_key: Path<String>,
        /// The function's name.
        name: Path<String>,
        /// `action`, `sync` or `on-event`.
        #[oai(name = "type")]
        _type: poem_openapi::param::Query<DocOnly<String>>,
    ) -> Result<Json<FunctionCodeResponse>, ApiError> {
        let kind = type_query(req.uri().query(), &["type"], false)?;
        validate::path_param("uniqueKey", &unique_key, &UNIQUE_KEY)?;
        validate::path_param("name", &name, &FUNCTION_NAME)?;
        let f = find(&state, &auth, &unique_key, &name, kind).await?;
        Ok(Json(FunctionCodeResponse { kind: f.kind.as_str().to_owned(), code: f.source }))
    }

    /// Accept the CLI's telemetry
    ///
    /// The `nango` CLI reports its commands here without a key; nothing is stored.
    #[oai(path = "/cli/telemetry", method = "post", operation_id = "submit_cli_telemetry")]
    async fn submit_cli_telemetry(&self, body: JsonBody<TelemetryRequest>) -> Result<TelemetryAccepted, ApiError> {
        // Checked (the document says what it takes), then dropped.
        let mut o = validate::Obj::new(body.value(), vec![]);
        let _ = o.string("deviceId", &StrRule::default(), false);
        let _ = o.string("event", &StrRule::default(), false);
        if let Some(v) = o.raw("ephemeral").filter(|v| !v.is_boolean()) {
            let issue = issue(
                "invalid_type",
                format!("Invalid input: expected boolean, received {}", validate::js_type(Some(v))),
                vec!["ephemeral".to_owned()],
            );
            o.extend(vec![issue]);
        }
        validate::done(TelemetryAccepted::Accepted, o.finish_lenient(), Code::InvalidBody)
    }
}

/// The one function called `name` (of `kind` when given); two of one name need a `type`.
async fn find(
    state: &AppState,
    auth: &SecretKey,
    key: &str,
    name: &str,
    kind: Option<FunctionKind>,
) -> Result<StoredFunction, ApiError> {
    let mut matches = svc::matching(&state.ctx, &auth.0, key, name, kind).await?;
    match (matches.pop(), matches.is_empty()) {
        (None, _) => Err(ApiError::message(Code::NotFound, "Function does not exist")),
        (Some(f), true) => Ok(f),
        (Some(_), false) => Err(ApiError::message(
            Code::InvalidQueryParams,
            format!("Several functions are called `{name}`: add `type` (sync or action)"),
        )),
    }
}
