//! Deployed functions: Nango's deploy (confirmation diff, versions, reconcile), the bundles'
//! load check at deploy time, and what `/scripts/config` and the integration function routes
//! show. Running them is `service::action`.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::Digest;

use super::{Context, Error};
use crate::{
    db::repo,
    model::{
        environment::Environment,
        function::{FunctionConfig, FunctionKind, NewFunction, StoredFunction},
        id::IntegrationId,
    },
    runtime::{self, Failure},
};

/// How far a deploy's reconcile reaches (Nango's `deployMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeployMode {
    /// Every function of the environment not in the payload is removed.
    #[default]
    All,
    /// Nothing is removed (`nango deploy --sync x` / `--action y`).
    Single,
    /// Functions of the payload's integration not in the payload are removed.
    Integration,
}

/// One function of a deploy payload (validated).
#[derive(Debug, Clone)]
pub struct FlowDeploy {
    pub kind: FunctionKind,
    pub name: String,
    pub provider_config_key: String,
    /// The compiled bundle (`fileBody.js`).
    pub js: String,
    /// The TypeScript source (`fileBody.ts`).
    pub ts: String,
    /// The version the developer set (`version` in the function, or `--version`).
    pub version: Option<String>,
    pub config: FunctionConfig,
}

/// A validated deploy (or confirmation) body.
#[derive(Debug, Clone, Default)]
pub struct Deploy {
    pub flows: Vec<FlowDeploy>,
    pub reconcile: bool,
    pub mode: DeployMode,
    pub sdk_version: Option<String>,
}

/// A function named in a confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slim {
    pub name: String,
    pub provider_config_key: String,
    /// Syncs: the integration's connections and `auto_start`.
    pub connections: Option<u64>,
    pub auto_start: Option<bool>,
    /// On-event scripts: their event.
    pub event: Option<String>,
}

/// What a deploy would change (Nango's `ScriptDifferences`).
#[derive(Debug, Clone, Default)]
pub struct Differences {
    pub new_syncs: Vec<Slim>,
    pub updated_syncs: Vec<Slim>,
    pub deleted_syncs: Vec<Slim>,
    pub new_actions: Vec<Slim>,
    pub updated_actions: Vec<Slim>,
    pub deleted_actions: Vec<Slim>,
    pub deleted_models: Vec<String>,
    pub new_on_events: Vec<Slim>,
    pub updated_on_events: Vec<Slim>,
    pub deleted_on_events: Vec<Slim>,
}

/// A function as deployed (Nango's `SyncDeploymentResult`).
#[derive(Debug, Clone)]
pub struct Deployed {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub provider_config_key: String,
    pub kind: FunctionKind,
    pub models: Vec<String>,
    pub runs: Option<String>,
    pub input: Option<String>,
    pub last_deployed: DateTime<Utc>,
}

/// One integration's functions, for `/scripts/config`.
#[derive(Debug, Clone)]
pub struct IntegrationFunctions {
    pub provider_config_key: String,
    pub provider: String,
    pub functions: Vec<StoredFunction>,
}

/// A host for load checks: a bundle's top level may not call the server.
struct NoHost;

impl runtime::Host for NoHost {
    fn call(&self, op: String, _args: Value) -> Pin<Box<dyn Future<Output = runtime::HostResult> + Send + 'static>> {
        Box::pin(async move { Err(format!("`nango.{op}` cannot be called while the bundle loads")) })
    }

    fn log(&self, _level: &str, _message: &str) {}
}

/// The scope (warm context) of an environment's runs.
pub(super) fn scope(env: &Environment) -> String {
    format!("env-{}", env.id)
}

/// The file name stack traces show (Nango's `<name>-<integration>.cjs`).
pub(super) fn filename(name: &str, provider_config_key: &str) -> String {
    format!("{name}-{provider_config_key}.cjs")
}

fn code_hash(js: &str, ts: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update((js.len() as u64).to_le_bytes());
    h.update(js.as_bytes());
    h.update(ts.as_bytes());
    hex::encode(h.finalize())
}

/// Nango's version bump: `1.2.3` → `1.2.4`, `7` → `8`; anything else gets `.1` appended.
fn increment(version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    if let [major, minor, patch] = parts.as_slice()
        && let (Ok(_), Ok(_), Ok(p)) = (major.parse::<u64>(), minor.parse::<u64>(), patch.parse::<u64>())
    {
        return format!("{major}.{minor}.{}", p + 1);
    }
    match version.parse::<u64>() {
        Ok(n) => (n + 1).to_string(),
        Err(_) => format!("{version}.1"),
    }
}

async fn integrations(ctx: &Context, env: &Environment) -> Result<HashMap<String, (IntegrationId, String)>, Error> {
    let list = repo::integration::list(&ctx.db, &ctx.cipher, env.id)
        .await
        .map_err(Error::internal("Failed to load the integrations"))?;
    Ok(list.into_iter().map(|i| (i.unique_key, (i.id, i.provider))).collect())
}

async fn connection_counts(ctx: &Context, env: &Environment) -> Result<HashMap<String, u64>, Error> {
    let rows = repo::connection::list(&ctx.db, &ctx.cipher, env.id, &Default::default(), None)
        .await
        .map_err(Error::internal("Failed to count connections"))?;
    let mut counts = HashMap::new();
    for c in rows {
        *counts.entry(c.provider_config_key).or_insert(0) += 1;
    }
    Ok(counts)
}

fn in_scope(mode: DeployMode, flows: &[FlowDeploy], existing: &StoredFunction) -> bool {
    match mode {
        DeployMode::Single => false,
        DeployMode::All => !flows.is_empty(),
        DeployMode::Integration => flows.first().is_some_and(|f| f.provider_config_key == existing.provider_config_key),
    }
}

fn same(flow: &FlowDeploy, f: &StoredFunction) -> bool {
    flow.name == f.name && flow.provider_config_key == f.provider_config_key && flow.kind == f.kind
}

/// What `deploy` would change (Nango's `POST /sync/deploy/confirmation`); changes nothing.
pub async fn differences(ctx: &Context, env: &Environment, input: &Deploy) -> Result<Differences, Error> {
    let existing =
        repo::function::list(&ctx.db, env.id, None).await.map_err(Error::internal("Failed to load functions"))?;
    let counts = connection_counts(ctx, env).await?;
    let mut d = Differences::default();
    let slim = |name: &str, key: &str| Slim {
        name: name.to_owned(),
        provider_config_key: key.to_owned(),
        connections: None,
        auto_start: None,
        event: None,
    };
    for flow in &input.flows {
        let exists = existing.iter().any(|f| same(flow, f));
        let mut s = slim(&flow.name, &flow.provider_config_key);
        match flow.kind {
            FunctionKind::Action => (if exists { &mut d.updated_actions } else { &mut d.new_actions }).push(s),
            FunctionKind::Sync => {
                s.connections = Some(counts.get(&flow.provider_config_key).copied().unwrap_or(0));
                s.auto_start = Some(flow.config.auto_start);
                (if exists { &mut d.updated_syncs } else { &mut d.new_syncs }).push(s);
            }
            FunctionKind::OnEvent => {
                s.event = flow.config.attributes.get("event").and_then(Value::as_str).map(str::to_owned);
                (if exists { &mut d.updated_on_events } else { &mut d.new_on_events }).push(s);
            }
        }
    }
    for f in &existing {
        if !in_scope(input.mode, &input.flows, f) {
            continue;
        }
        match input.flows.iter().find(|flow| same(flow, f)) {
            None => {
                let mut s = slim(&f.name, &f.provider_config_key);
                match f.kind {
                    FunctionKind::Action => d.deleted_actions.push(s),
                    FunctionKind::Sync => {
                        s.connections = Some(counts.get(&f.provider_config_key).copied().unwrap_or(0));
                        s.auto_start = Some(false);
                        d.deleted_syncs.push(s);
                    }
                    FunctionKind::OnEvent => {
                        s.event = f.config.attributes.get("event").and_then(Value::as_str).map(str::to_owned);
                        d.deleted_on_events.push(s);
                    }
                }
            }
            Some(flow)
                if f.kind == FunctionKind::Sync && counts.get(&f.provider_config_key).is_some_and(|n| *n > 0) =>
            {
                d.deleted_models.extend(f.config.models.iter().filter(|m| !flow.config.models.contains(m)).cloned());
            }
            Some(_) => {}
        }
    }
    Ok(d)
}

/// Deploys (Nango's `POST /sync/deploy`): every function's integration must exist and every
/// bundle must load and declare the type it is deployed as, or nothing is written. Versions:
/// the developer's when given, otherwise the previous one bumped when the code changed;
/// unchanged code keeps its version. With `reconcile`, functions missing from the payload
/// are removed within the mode's scope. All in one transaction.
pub async fn deploy(ctx: &Context, env: &Environment, input: Deploy) -> Result<Vec<Deployed>, Error> {
    let _turn = ctx.turns.take(("deploy", env.id)).await;
    let integrations = integrations(ctx, env).await?;
    for (i, flow) in input.flows.iter().enumerate() {
        if !integrations.contains_key(&flow.provider_config_key) {
            return Err(Error::UnknownIntegration(format!(
                "There is no integration `{}` in this environment (function `{}`); create it first",
                flow.provider_config_key, flow.name
            )));
        }
        check_bundle(ctx, env, flow, i).await?;
    }
    let existing =
        repo::function::list(&ctx.db, env.id, None).await.map_err(Error::internal("Failed to load functions"))?;
    let mut writes = Vec::with_capacity(input.flows.len());
    for flow in input.flows.iter().cloned() {
        let (integration_id, _) = integrations[&flow.provider_config_key];
        let hash = code_hash(&flow.js, &flow.ts);
        let previous = existing.iter().find(|f| same(&flow, f));
        let version = match (previous, &flow.version) {
            (None, given) => given.clone().unwrap_or_else(|| "1".to_owned()),
            (Some(p), Some(given)) if *given != p.version || p.code_hash != hash => given.clone(),
            (Some(p), None) if p.code_hash != hash => increment(&p.version),
            (Some(p), _) => p.version.clone(),
        };
        let key = flow.provider_config_key.clone();
        writes.push((
            integration_id,
            key,
            NewFunction {
                name: flow.name,
                kind: flow.kind,
                version,
                code: flow.js,
                source: flow.ts,
                code_hash: hash,
                config: flow.config,
                sdk_version: input.sdk_version.clone(),
            },
        ));
    }
    let deletes: Vec<i64> = if input.reconcile {
        existing
            .iter()
            .filter(|f| in_scope(input.mode, &input.flows, f) && !input.flows.iter().any(|flow| same(flow, f)))
            .map(|f| f.id)
            .collect()
    } else {
        Vec::new()
    };
    let written = repo::function::apply_deploy(&ctx.db, env.id, writes, &deletes)
        .await
        .map_err(Error::internal("Failed to deploy"))?;
    Ok(written
        .into_iter()
        .map(|f| Deployed {
            id: f.id,
            name: f.name,
            version: f.version,
            provider_config_key: f.provider_config_key,
            kind: f.kind,
            models: f.config.models,
            runs: f.config.runs,
            input: f.config.input,
            last_deployed: f.updated_at,
        })
        .collect())
}

async fn check_bundle(ctx: &Context, env: &Environment, flow: &FlowDeploy, index: usize) -> Result<(), Error> {
    let path = vec!["flowConfigs".to_owned(), index.to_string(), "fileBody".to_owned(), "js".to_owned()];
    let refuse = |why: String| Error::InvalidField {
        message: format!("The {} `{}` cannot be deployed: {why}", flow.kind.as_str(), flow.name),
        path: path.clone(),
    };
    let declared = ctx
        .runtime
        .check(scope(env), flow.js.as_str().into(), filename(&flow.name, &flow.provider_config_key), Arc::new(NoHost))
        .await
        .map_err(|failure| match failure {
            Failure::Load { message } => refuse(format!("the bundle does not load ({message})")),
            Failure::Internal { payload } => refuse(
                payload.get("message").and_then(Value::as_str).unwrap_or("it is not a function bundle").to_owned(),
            ),
            Failure::Timeout { .. } => refuse("loading it did not finish in time".to_owned()),
            Failure::OutOfMemory { .. } => refuse("loading it used more memory than a function may".to_owned()),
            other => Error::Internal { message: "Failed to check the bundle", source: format!("{other:?}").into() },
        })?;
    let expected = match flow.kind {
        FunctionKind::Action => "action",
        FunctionKind::Sync => "sync",
        FunctionKind::OnEvent => "onEvent",
    };
    if declared != expected && declared != "legacy" {
        return Err(refuse(format!("its default export is a `{declared}`, not a `{expected}`")));
    }
    Ok(())
}

/// Every function of the environment, by integration (`GET /scripts/config`).
pub async fn by_integration(ctx: &Context, env: &Environment) -> Result<Vec<IntegrationFunctions>, Error> {
    let integrations = integrations(ctx, env).await?;
    let functions =
        repo::function::list(&ctx.db, env.id, None).await.map_err(Error::internal("Failed to load functions"))?;
    let mut out: Vec<IntegrationFunctions> = Vec::new();
    for f in functions {
        match out.iter_mut().find(|g| g.provider_config_key == f.provider_config_key) {
            Some(group) => group.functions.push(f),
            None => out.push(IntegrationFunctions {
                provider: integrations.get(&f.provider_config_key).map(|(_, p)| p.clone()).unwrap_or_default(),
                provider_config_key: f.provider_config_key.clone(),
                functions: vec![f],
            }),
        }
    }
    Ok(out)
}

async fn integration_id(ctx: &Context, env: &Environment, key: &str) -> Result<IntegrationId, Error> {
    repo::integration::find(&ctx.db, &ctx.cipher, env.id, key)
        .await
        .map_err(Error::internal("Failed to load the integration"))?
        .map(|i| i.id)
        .ok_or_else(|| Error::NotFound("Integration does not exist".to_owned()))
}

/// The functions of one integration.
pub async fn list(ctx: &Context, env: &Environment, key: &str) -> Result<Vec<StoredFunction>, Error> {
    let id = integration_id(ctx, env, key).await?;
    repo::function::list(&ctx.db, env.id, Some(id)).await.map_err(Error::internal("Failed to load functions"))
}

/// The functions of an integration called `name` (of `kind` when given): at most two.
pub async fn matching(
    ctx: &Context,
    env: &Environment,
    key: &str,
    name: &str,
    kind: Option<FunctionKind>,
) -> Result<Vec<StoredFunction>, Error> {
    let id = integration_id(ctx, env, key).await?;
    repo::function::matching(&ctx.db, env.id, id, key, name, kind)
        .await
        .map_err(Error::internal("Failed to load the function"))
}

/// Deletes one function of an integration (of `kind`).
pub async fn delete(
    ctx: &Context,
    env: &Environment,
    key: &str,
    name: &str,
    kind: Option<FunctionKind>,
) -> Result<(), Error> {
    let id = integration_id(ctx, env, key).await?;
    let f = repo::function::find(&ctx.db, env.id, id, key, name, kind)
        .await
        .map_err(Error::internal("Failed to load the function"))?
        .ok_or_else(|| Error::NotFound("Function does not exist".to_owned()))?;
    repo::function::delete(&ctx.db, env.id, f.id).await.map_err(Error::internal("Failed to delete the function"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_bump_like_nangos() {
        assert_eq!(increment("1.0.0"), "1.0.1");
        assert_eq!(increment("7"), "8");
        assert_eq!(increment("v2"), "v2.1");
        assert_ne!(code_hash("a", "bc"), code_hash("ab", "c"), "bundle and source are kept apart");
    }
}
