//! Auth webhooks to our users' backends: per-environment settings, Nango's body and
//! signatures, and delivery through the durable outbox (retried with backoff, survives
//! restarts, one sender per delivery across replicas).

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use hmac::{KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{Context, Error};
use crate::{
    chain::ErrorChain,
    db::repo,
    model::{
        connection::EndUser, environment::Environment, id::EnvironmentId, provider::AuthMode, webhook::WebhookSettings,
    },
    outbound,
};

/// A change of the settings; `Some(None)` clears a URL.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub primary_url: Option<Option<String>>,
    pub secondary_url: Option<Option<String>>,
    pub on_auth_creation: Option<bool>,
    pub on_auth_refresh_error: Option<bool>,
    pub on_sync_completion_always: Option<bool>,
    pub on_sync_error: Option<bool>,
    /// The Slack incoming-webhook URL for alerts; `Some(None)` turns alerts off.
    pub slack_url: Option<Option<String>>,
}

/// How deliveries are attempted (configuration).
#[derive(Debug, Clone, Copy)]
pub struct DeliverySettings {
    /// Wait before the first retry; doubles with each further one (capped at 10 minutes).
    pub retry_delay: Duration,
    /// Attempts before a delivery is given up (kept in the outbox with its last error).
    pub max_attempts: u32,
    /// Longest wait for the receiver's answer.
    pub timeout: Duration,
}

/// The delivery worker's shared state: its settings and a wake-up for new deliveries.
#[derive(Debug)]
pub struct Webhooks {
    pub delivery: DeliverySettings,
    wake: tokio::sync::Notify,
}

impl Webhooks {
    /// State for `delivery`.
    pub fn new(delivery: DeliverySettings) -> Self {
        Self { delivery, wake: tokio::sync::Notify::new() }
    }
}

fn new_signing_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The environment's settings, created with defaults (no URLs, both events on, a fresh
/// signing key) the first time they are needed.
pub async fn settings(ctx: &Context, env: &Environment) -> Result<WebhookSettings, Error> {
    const FAILED: &str = "Failed to load webhook settings";
    if let Some(found) = repo::webhook::settings(&ctx.db, &ctx.cipher, env.id).await.map_err(Error::internal(FAILED))? {
        return Ok(found);
    }
    let fresh = WebhookSettings {
        primary_url: None,
        secondary_url: None,
        signing_key: new_signing_key(),
        on_auth_creation: true,
        on_auth_refresh_error: true,
        on_sync_completion_always: false,
        on_sync_error: true,
        slack_url: None,
    };
    match repo::webhook::save(&ctx.db, &ctx.cipher, env.id, &fresh).await {
        Ok(()) => Ok(fresh),
        // Another request created them at the same moment: use theirs.
        Err(crate::db::Error::Conflict(_)) => repo::webhook::settings(&ctx.db, &ctx.cipher, env.id)
            .await
            .map_err(Error::internal(FAILED))?
            .ok_or_else(|| Error::Internal { message: FAILED, source: "settings vanished".into() }),
        Err(e) => Err(Error::internal(FAILED)(e)),
    }
}

/// Applies `patch` to the environment's settings.
pub async fn update(ctx: &Context, env: &Environment, patch: WebhookPatch) -> Result<WebhookSettings, Error> {
    let mut s = settings(ctx, env).await?;
    if let Some(url) = patch.primary_url {
        s.primary_url = url.filter(|u| !u.is_empty());
    }
    if let Some(url) = patch.secondary_url {
        s.secondary_url = url.filter(|u| !u.is_empty());
    }
    if let Some(on) = patch.on_auth_creation {
        s.on_auth_creation = on;
    }
    if let Some(on) = patch.on_auth_refresh_error {
        s.on_auth_refresh_error = on;
    }
    if let Some(on) = patch.on_sync_completion_always {
        s.on_sync_completion_always = on;
    }
    if let Some(on) = patch.on_sync_error {
        s.on_sync_error = on;
    }
    if let Some(url) = patch.slack_url {
        s.slack_url = url.filter(|u| !u.is_empty());
    }
    repo::webhook::save(&ctx.db, &ctx.cipher, env.id, &s)
        .await
        .map_err(Error::internal("Failed to save webhook settings"))?;
    Ok(s)
}

/// Replaces the signing key with a fresh one; webhooks queued from now on use it.
pub async fn rotate_signing_key(ctx: &Context, env: &Environment) -> Result<WebhookSettings, Error> {
    let mut s = settings(ctx, env).await?;
    s.signing_key = new_signing_key();
    repo::webhook::save(&ctx.db, &ctx.cipher, env.id, &s)
        .await
        .map_err(Error::internal("Failed to save webhook settings"))?;
    Ok(s)
}

/// Sets the environment's URLs and key from configuration (at start-up); `None` leaves a
/// value as stored.
pub async fn configure(
    ctx: &Context,
    env: &Environment,
    primary_url: Option<&str>,
    secondary_url: Option<&str>,
    signing_key: Option<&str>,
    slack_url: Option<&str>,
) -> Result<(), Error> {
    if primary_url.is_none() && secondary_url.is_none() && signing_key.is_none() && slack_url.is_none() {
        return Ok(());
    }
    let mut s = settings(ctx, env).await?;
    if let Some(url) = primary_url {
        s.primary_url = Some(url.to_owned()).filter(|u| !u.is_empty());
    }
    if let Some(url) = secondary_url {
        s.secondary_url = Some(url.to_owned()).filter(|u| !u.is_empty());
    }
    if let Some(key) = signing_key {
        s.signing_key = key.to_owned();
    }
    if let Some(url) = slack_url {
        s.slack_url = Some(url.to_owned()).filter(|u| !u.is_empty());
    }
    repo::webhook::save(&ctx.db, &ctx.cipher, env.id, &s)
        .await
        .map_err(Error::internal("Failed to save webhook settings"))
}

/// `X-Nango-Signature` (hex SHA-256 of key then body; Nango's legacy signature) and
/// `X-Nango-Hmac-Sha256` (hex HMAC-SHA256 of the body keyed with the signing key).
pub fn sign(signing_key: &str, body: &[u8]) -> (String, String) {
    let mut sha = Sha256::new();
    sha.update(signing_key.as_bytes());
    sha.update(body);
    let signature = hex::encode(sha.finalize());
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(signing_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    (signature, hex::encode(mac.finalize().into_bytes()))
}

/// JSON with object keys sorted at every level (Nango's stable stringify), so the signed
/// bytes do not depend on construction order.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&map[k]))).collect::<Map<_, _>>())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// What happened to a connection's credential.
#[derive(Debug, Clone)]
pub struct AuthEvent<'a> {
    pub connection_id: &'a str,
    pub provider_config_key: &'a str,
    pub provider: &'a str,
    pub auth_mode: AuthMode,
    /// `creation`, `override` or `refresh`.
    pub operation: &'a str,
    pub success: bool,
    /// `(type, description)` when `success` is false.
    pub error: Option<(&'a str, &'a str)>,
    pub tags: Option<&'a Map<String, Value>>,
    /// Only for connections created through a connect session.
    pub end_user: Option<&'a EndUser>,
    pub webhook_url_override: Option<&'a str>,
}

fn body(env: &Environment, e: &AuthEvent<'_>) -> Value {
    let mut body = json!({
        "from": "nango",
        "type": "auth",
        "connectionId": e.connection_id,
        "providerConfigKey": e.provider_config_key,
        "authMode": e.auth_mode.as_str(),
        "provider": e.provider,
        "environment": env.name,
        "operation": e.operation,
        "success": e.success,
    });
    let obj = body.as_object_mut().expect("an object");
    if let Some((kind, description)) = e.error {
        obj.insert("error".to_owned(), json!({"type": kind, "description": description}));
    }
    if let Some(tags) = e.tags {
        obj.insert("tags".to_owned(), Value::Object(tags.clone()));
    }
    if let Some(user) = e.end_user {
        obj.insert(
            "endUser".to_owned(),
            json!({
                "endUserId": user.id,
                "endUserEmail": user.email,
                "organizationId": user.organization.as_ref().map(|o| o.id.clone()),
                "tags": user.tags,
            }),
        );
    }
    body
}

/// Queues the `auth` webhook of `event` for the environment's URLs (or the connection's
/// override, which replaces both), when the environment wants this kind of event.
pub async fn auth(ctx: &Context, env: &Environment, event: AuthEvent<'_>) -> Result<(), Error> {
    let s = settings(ctx, env).await?;
    let Some((urls, body)) = auth_delivery(&s, env, &event) else {
        return Ok(());
    };
    repo::webhook::enqueue(&ctx.db, env.id, &urls, &body)
        .await
        .map_err(Error::internal("Failed to queue a webhook"))?;
    ctx.webhooks.wake.notify_one();
    Ok(())
}

/// The URLs and the exact body of the `auth` webhook of `event` under settings `s`, or `None`
/// when the environment does not want it or has no URL (for callers that queue it in their
/// own transaction).
pub fn auth_delivery(s: &WebhookSettings, env: &Environment, event: &AuthEvent<'_>) -> Option<(Vec<String>, String)> {
    let wanted = match event.operation {
        "creation" => s.on_auth_creation,
        "refresh" => s.on_auth_refresh_error,
        _ => true,
    };
    let urls: Vec<String> = match event.webhook_url_override.filter(|u| !u.is_empty()) {
        Some(url) => vec![url.to_owned()],
        None => s.primary_url.iter().chain(s.secondary_url.iter()).cloned().collect(),
    };
    (wanted && !urls.is_empty()).then(|| (urls, canonical_json(&body(env, event))))
}

/// Wakes the delivery worker after a caller queued deliveries itself.
pub fn wake(ctx: &Context) {
    ctx.webhooks.wake.notify_one();
}

/// Queues Nango's `async_action` webhook (an asynchronous action finished): `{type,
/// from, connectionId, providerConfigKey, payload: {id, statusUrl}}`, to the environment's
/// URLs or the connection's override.
pub async fn async_action(
    ctx: &Context,
    env: &Environment,
    connection_id: &str,
    provider_config_key: &str,
    id: &str,
    webhook_url_override: Option<&str>,
) -> Result<(), Error> {
    let s = settings(ctx, env).await?;
    let urls: Vec<String> = match webhook_url_override.filter(|u| !u.is_empty()) {
        Some(url) => vec![url.to_owned()],
        None => s.primary_url.iter().chain(s.secondary_url.iter()).cloned().collect(),
    };
    if urls.is_empty() {
        return Ok(());
    }
    let body = json!({
        "type": "async_action",
        "from": "nango",
        "connectionId": connection_id,
        "providerConfigKey": provider_config_key,
        "payload": {"id": id, "statusUrl": format!("/action/{id}")},
    });
    repo::webhook::enqueue(&ctx.db, env.id, &urls, &canonical_json(&body))
        .await
        .map_err(Error::internal("Failed to queue a webhook"))?;
    ctx.webhooks.wake.notify_one();
    Ok(())
}

/// Delivers due webhooks until `shutdown` resolves (the shared queue worker, 16 deliveries at
/// a time): woken when this replica queues one, and every `poll` for retries and deliveries
/// queued by other replicas. A delivery in flight at shutdown finishes (it is bounded by the
/// delivery timeout); one interrupted by a crash is retried when its lease expires.
pub async fn run_worker(ctx: Context, poll: Duration, shutdown: impl Future<Output = ()>) {
    super::queue::run_worker(Deliveries, ctx, 16, poll, shutdown).await;
}

/// Webhook deliveries in the outbox.
struct Deliveries;

impl super::queue::Jobs for Deliveries {
    type Job = crate::db::entity::webhook_outbox::Model;
    const NAME: &'static str = "webhooks";

    fn claim(
        &self,
        ctx: &Context,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Self::Job>, crate::db::Error>> + Send {
        claim_due(ctx, limit)
    }

    async fn run(&self, ctx: Context, row: Self::Job) {
        deliver(&ctx, row).await;
    }

    fn wake<'a>(&self, ctx: &'a Context) -> &'a tokio::sync::Notify {
        &ctx.webhooks.wake
    }
}

/// Claims up to `limit` due deliveries for this replica.
async fn claim_due(
    ctx: &Context,
    limit: usize,
) -> Result<Vec<crate::db::entity::webhook_outbox::Model>, crate::db::Error> {
    let now = repo::now_millis();
    let rows = repo::webhook::due(&ctx.db, now, limit as u64).await?;
    let lease =
        chrono::Duration::from_std(ctx.webhooks.delivery.timeout * 2 + Duration::from_secs(10)).unwrap_or_default();
    let mut claimed = Vec::new();
    for row in rows {
        if repo::webhook::claim(&ctx.db, &row, now, now + lease).await? {
            claimed.push(row);
        }
    }
    Ok(claimed)
}

enum Outcome {
    Delivered,
    Retry(String),
    GiveUp(String),
}

async fn attempt(ctx: &Context, row: &crate::db::entity::webhook_outbox::Model) -> Outcome {
    let settings = match repo::webhook::settings(&ctx.db, &ctx.cipher, EnvironmentId(row.environment_id)).await {
        Ok(Some(s)) => s,
        Ok(None) => return Outcome::GiveUp("the environment has no webhook settings".to_owned()),
        Err(e) => return Outcome::Retry(format!("cannot read the signing key: {e}")),
    };
    let key = settings.signing_key;
    // A Slack alert names the environment's Slack URL (a secret, sealed in the settings)
    // instead of holding it, so it never sits in the outbox in the clear.
    let target = if row.url == SLACK { settings.slack_url } else { Some(row.url.clone()) };
    let Some(target) = target else { return Outcome::GiveUp("no Slack URL is configured".to_owned()) };
    let Ok(url) = url::Url::parse(&target) else { return Outcome::GiveUp("not a URL".to_owned()) };
    if ctx.http.check(&url).is_err() {
        return Outcome::GiveUp("refused by the outbound URL policy".to_owned());
    }
    let (signature, hmac) = sign(&key, row.body.as_bytes());
    let request = ctx
        .http
        .request(reqwest::Method::POST, url)
        .header("content-type", "application/json")
        .header("user-agent", concat!("nango-rs/", env!("CARGO_PKG_VERSION")))
        .header("x-nango-signature", signature)
        .header("x-nango-hmac-sha256", hmac)
        // The same on every attempt of this delivery: receivers deduplicate on it (a delivery
        // in flight when a replica dies is sent again).
        .header("x-nango-delivery-id", delivery_id(row))
        .timeout(ctx.webhooks.delivery.timeout)
        .body(row.body.clone());
    match request.send().await {
        Ok(resp) if resp.status().is_success() => Outcome::Delivered,
        Ok(resp) if resp.status().is_server_error() => Outcome::Retry(format!("receiver answered {}", resp.status())),
        Ok(resp) => Outcome::GiveUp(format!("receiver answered {}", resp.status())),
        Err(e) if outbound::is_blocked(&e) => Outcome::GiveUp("refused by the outbound URL policy".to_owned()),
        Err(e) => Outcome::Retry(format!("{}", ErrorChain(&e.without_url()))),
    }
}

/// A delivery's stable id: its environment and outbox row (one row per webhook and URL).
fn delivery_id(row: &crate::db::entity::webhook_outbox::Model) -> String {
    format!("whd_{}_{}", row.environment_id, row.id)
}

async fn deliver(ctx: &Context, row: crate::db::entity::webhook_outbox::Model) {
    let attempts = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
    let outcome = attempt(ctx, &row).await;
    ctx.metrics.webhook(matches!(outcome, Outcome::Delivered));
    let settings = ctx.webhooks.delivery;
    let result = match &outcome {
        Outcome::Delivered => {
            tracing::info!(webhook.id = row.id, attempts, "webhook delivered");
            repo::webhook::delivered(&ctx.db, row.id).await
        }
        Outcome::Retry(error) if attempts < settings.max_attempts => {
            let wait = crate::backoff::Backoff::new(settings.retry_delay, Duration::from_secs(600)).delay(attempts - 1);
            tracing::warn!(webhook.id = row.id, attempts, error = %error, retry_in_ms = wait.as_millis() as u64, "webhook delivery failed; will retry");
            let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            repo::webhook::retry_at(&ctx.db, row.id, next, error).await
        }
        Outcome::Retry(error) | Outcome::GiveUp(error) => {
            tracing::error!(webhook.id = row.id, attempts, error = %error, "webhook delivery given up");
            repo::webhook::give_up(&ctx.db, row.id, error).await
        }
    };
    if let Err(e) = result {
        // The lease expires and the delivery is attempted again: at least once, never lost.
        tracing::warn!(webhook.id = row.id, error = %ErrorChain(&e), "could not record a webhook delivery");
    }
}

/// The outbox URL of a Slack alert: delivered to the environment's Slack URL.
pub const SLACK: &str = "slack:";

/// Queues a Slack message (`{text, blocks}`) to the environment's Slack URL, in `db` (a
/// transaction, so it is queued with its cause).
pub async fn enqueue_slack(
    db: &impl sea_orm::ConnectionTrait,
    env: &Environment,
    message: &Value,
) -> Result<(), Error> {
    repo::webhook::enqueue(db, env.id, &[SLACK.to_owned()], &message.to_string())
        .await
        .map_err(Error::internal("Failed to queue a Slack alert"))
}

/// Shared state handle (kept in `Context`).
pub type Shared = Arc<Webhooks>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_nangos_test_vectors() {
        let (signature, hmac) = sign("secret", b"payload");
        assert_eq!(signature, "22439a879b090cd05e5b51c5b5d7e4a205830e6ab4f54b90f5a822b7c7110934");
        assert_eq!(hmac, "b82fcb791acec57859b989b430a826488ce2e479fdf92326bd0a2e8375a42ba4");
    }

    #[test]
    fn bodies_are_serialised_with_sorted_keys() {
        let v = json!({"b": 1, "a": {"z": true, "c": [{"y": 1, "x": 2}]}});
        assert_eq!(canonical_json(&v), r#"{"a":{"c":[{"x":2,"y":1}],"z":true},"b":1}"#);
    }
}
