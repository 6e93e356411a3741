//! Integrations: create, read, list, update, delete, with Nango's rules in Nango's order.

use chrono::{DateTime, Utc};

use super::{
    Context, Error,
    integration_config::{self, Mode},
    provider::Provider,
};
use crate::{
    db::{self, repo},
    model::{
        environment::Environment,
        integration::{AppCredentials, IntegrationRecord, NewIntegrationRecord, Settings},
        provider::AuthMode,
    },
};

/// A validated `POST /integrations` body.
#[derive(Debug, Default)]
pub struct NewIntegration {
    pub provider: String,
    pub unique_key: String,
    pub display_name: Option<String>,
    pub forward_webhooks: Option<bool>,
    pub credentials: Option<AppCredentials>,
    pub integration_config: Vec<(String, String)>,
    pub custom: Vec<(String, String)>,
}

/// A validated `PATCH /integrations/{uniqueKey}` body: every field optional.
#[derive(Debug, Default)]
pub struct IntegrationPatch {
    pub unique_key: Option<String>,
    pub display_name: Option<String>,
    pub forward_webhooks: Option<bool>,
    pub credentials: Option<AppCredentials>,
    pub integration_config: Vec<(String, String)>,
    pub custom: Vec<(String, String)>,
}

/// Optional parts of `GET /integrations/{uniqueKey}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Include {
    pub webhook: bool,
    pub credentials: bool,
}

/// The public view of an integration (what the API returns).
#[derive(Debug, Clone)]
pub struct IntegrationView {
    pub unique_key: String,
    pub provider: String,
    pub display_name: String,
    pub logo: String,
    pub credentials_label: Option<String>,
    pub preconfigured_credentials: Option<Vec<String>>,
    /// `Some` when requested; the inner `None` is a JSON `null`.
    pub webhook_url: Option<Option<String>>,
    /// `Some` when requested; the inner `None` is a JSON `null`.
    pub credentials: Option<Option<AppCredentials>>,
    pub forward_webhooks: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const KEY_EXISTS: &str = "Unique key already exists";
const KEY_USED: &str = "uniqueKey is already used by another integration";
const CREDENTIALS_MISMATCH: &str = "incompatible credentials auth type and provider auth";
const NO_CONFIG: &str = "This provider does not accept integration configuration";
const USE_CONFIG: &str = "This provider uses integration_config; set its values there instead of custom";

fn not_found(unique_key: &str) -> Error {
    Error::NotFound(format!("Integration \"{unique_key}\" does not exist"))
}

fn provider_of<'a>(ctx: &'a Context, record: &IntegrationRecord) -> Result<&'a Provider, Error> {
    ctx.catalog.get(&record.provider).ok_or_else(|| Error::NotFound(format!("Unknown provider {}", record.provider)))
}

/// Creates an integration (Nango's rules, in Nango's order).
pub async fn create(ctx: &Context, env: &Environment, input: NewIntegration) -> Result<IntegrationView, Error> {
    const FAILED: &str = "Failed to create integration";
    let provider = ctx.catalog.get(&input.provider).ok_or_else(|| Error::InvalidField {
        message: "Invalid provider".to_owned(),
        path: vec!["provider".to_owned()],
    })?;
    provider.check_supported()?;
    if let Some(credentials) = &input.credentials {
        if credentials.kind != provider.auth_mode.as_str() {
            return Err(Error::InvalidInput(CREDENTIALS_MISMATCH.to_owned()));
        }
    } else if matches!(provider.auth_mode, AuthMode::OAuth1 | AuthMode::OAuth2 | AuthMode::App | AuthMode::Custom) {
        return Err(Error::InvalidInput("Missing credentials".to_owned()));
    }
    let key_exists = || Error::InvalidField { message: KEY_EXISTS.to_owned(), path: vec!["uniqueKey".to_owned()] };
    if repo::integration::find(&ctx.db, &ctx.cipher, env.id, &input.unique_key)
        .await
        .map_err(Error::internal(FAILED))?
        .is_some()
    {
        return Err(key_exists());
    }
    let mut settings = Settings::default();
    if !input.integration_config.is_empty() {
        let schema = provider.integration_config.as_deref().ok_or_else(|| Error::InvalidInput(NO_CONFIG.to_owned()))?;
        let resolved = integration_config::resolve(schema, &input.integration_config, Mode::Create)
            .map_err(|errors| Error::InvalidInput(errors.join(", ")))?;
        settings.custom.extend(resolved);
        super::credentials::check_placement(&settings.custom)?;
    }
    if !input.custom.is_empty() {
        if provider.integration_config.is_some() {
            return Err(Error::InvalidInput(USE_CONFIG.to_owned()));
        }
        settings.custom.extend(input.custom);
    }
    if let Some(mut credentials) = input.credentials {
        if let Some(secret) = credentials.webhook_secret.take().filter(|s| !s.is_empty()) {
            settings.custom.insert("webhookSecret".to_owned(), secret);
        }
        if provider.is_oauth_like() && credentials.scopes.is_none() && !provider.default_scopes.is_empty() {
            credentials.scopes = Some(provider.default_scopes.join(","));
        }
        settings.credentials = Some(credentials);
    }
    let record = repo::integration::insert(
        &ctx.db,
        &ctx.cipher,
        env.id,
        NewIntegrationRecord {
            unique_key: input.unique_key,
            provider: provider.name.clone(),
            display_name: input.display_name,
            forward_webhooks: input.forward_webhooks.unwrap_or(true),
            settings,
        },
    )
    .await
    .map_err(|e| match e {
        db::Error::Conflict(_) => key_exists(), // lost a race with a concurrent create
        other => Error::internal(FAILED)(other),
    })?;
    Ok(view(ctx, env, &record, provider, Include::default()))
}

/// One integration, with the requested optional parts.
pub async fn get(
    ctx: &Context,
    env: &Environment,
    unique_key: &str,
    include: Include,
) -> Result<IntegrationView, Error> {
    let record = repo::integration::find(&ctx.db, &ctx.cipher, env.id, unique_key)
        .await
        .map_err(Error::internal("Failed to get integration"))?
        .ok_or_else(|| not_found(unique_key))?;
    let provider = provider_of(ctx, &record)?;
    Ok(view(ctx, env, &record, provider, include))
}

/// An integration's settings as stored (`integration_config` values or free-form ones),
/// without its webhook secret: what an edit form shows.
pub async fn settings_of(
    ctx: &Context,
    env: &Environment,
    unique_key: &str,
) -> Result<std::collections::BTreeMap<String, String>, Error> {
    let record = repo::integration::find(&ctx.db, &ctx.cipher, env.id, unique_key)
        .await
        .map_err(Error::internal("Failed to get integration"))?
        .ok_or_else(|| not_found(unique_key))?;
    let mut custom = record.settings.custom;
    custom.remove("webhookSecret");
    Ok(custom)
}

/// Every integration of the environment, ordered by provider then creation.
pub async fn list(ctx: &Context, env: &Environment) -> Result<Vec<IntegrationView>, Error> {
    const FAILED: &str = "Failed to list integrations";
    let records = repo::integration::list(&ctx.db, &ctx.cipher, env.id).await.map_err(Error::internal(FAILED))?;
    records
        .iter()
        .map(|record| {
            let provider =
                provider_of(ctx, record).map_err(|e| Error::Internal { message: FAILED, source: Box::new(e) })?;
            Ok(view(ctx, env, record, provider, Include::default()))
        })
        .collect()
}

/// Applies a PATCH (Nango's rules, in Nango's order); merges configuration key by key.
pub async fn update(
    ctx: &Context,
    env: &Environment,
    unique_key: &str,
    patch: IntegrationPatch,
) -> Result<IntegrationView, Error> {
    const FAILED: &str = "Failed to update integration";
    // Writers of the same integration on this replica take turns, so they never race each
    // other; optimistic concurrency (re-read and re-apply) covers writers on other replicas.
    let _turn = ctx.turns.take((env.id, unique_key)).await;
    for attempt in 0..16u32 {
        if attempt > 0 {
            tokio::time::sleep(conflict_backoff(attempt)).await;
        }
        let mut record = repo::integration::find(&ctx.db, &ctx.cipher, env.id, unique_key)
            .await
            .map_err(Error::internal(FAILED))?
            .ok_or_else(|| not_found(unique_key))?;
        let provider = provider_of(ctx, &record)?;
        apply_patch(ctx, env, &mut record, provider, &patch).await?;
        match repo::integration::update(&ctx.db, &ctx.cipher, env.id, &record).await {
            Ok(Some(updated)) => {
                ctx.targets.invalidate_integration(env.id, unique_key);
                ctx.targets.invalidate_integration(env.id, &updated.unique_key);
                return Ok(view(ctx, env, &updated, provider, Include::default()));
            }
            Ok(None) => continue,
            Err(db::Error::Conflict(_)) => return Err(Error::InvalidInput(KEY_USED.to_owned())),
            Err(other) => return Err(Error::internal(FAILED)(other)),
        }
    }
    Err(Error::Internal { message: FAILED, source: "too many concurrent updates of the same integration".into() })
}

/// A short randomized pause after losing a race with another replica, growing per attempt.
fn conflict_backoff(attempt: u32) -> std::time::Duration {
    crate::backoff::Backoff::new(std::time::Duration::from_millis(5), std::time::Duration::from_millis(35))
        .jittered(attempt)
}

async fn apply_patch(
    ctx: &Context,
    env: &Environment,
    record: &mut IntegrationRecord,
    provider: &Provider,
    patch: &IntegrationPatch,
) -> Result<(), Error> {
    if let Some(credentials) = &patch.credentials
        && credentials.kind != provider.auth_mode.as_str()
    {
        return Err(Error::InvalidInput(CREDENTIALS_MISMATCH.to_owned()));
    }
    if let Some(new_key) = patch.unique_key.as_deref().filter(|k| *k != record.unique_key) {
        let taken = repo::integration::find(&ctx.db, &ctx.cipher, env.id, new_key)
            .await
            .map_err(Error::internal("Failed to update integration"))?
            .is_some();
        if taken {
            return Err(Error::InvalidInput(KEY_USED.to_owned()));
        }
        record.unique_key = new_key.to_owned();
    }
    if !patch.integration_config.is_empty() {
        let schema = provider.integration_config.as_deref().ok_or_else(|| Error::InvalidInput(NO_CONFIG.to_owned()))?;
        let stored = record.settings.custom.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let resolved = integration_config::resolve(schema, &patch.integration_config, Mode::Patch { stored: &stored })
            .map_err(|errors| Error::InvalidInput(errors.join(", ")))?;
        record.settings.custom.extend(resolved);
        super::credentials::check_placement(&record.settings.custom)?;
    }
    if !patch.custom.is_empty() {
        if provider.integration_config.is_some() {
            return Err(Error::InvalidInput(USE_CONFIG.to_owned()));
        }
        record.settings.custom.extend(patch.custom.iter().cloned());
    }
    if let Some(name) = &patch.display_name {
        record.display_name = Some(name.clone());
    }
    if let Some(forward) = patch.forward_webhooks {
        record.forward_webhooks = forward;
    }
    if let Some(new) = &patch.credentials {
        match new.webhook_secret.as_deref() {
            Some("") => {
                record.settings.custom.remove("webhookSecret");
            }
            Some(secret) => {
                record.settings.custom.insert("webhookSecret".to_owned(), secret.to_owned());
            }
            None => {}
        }
        let stored = record.settings.credentials.get_or_insert_with(AppCredentials::default);
        stored.kind.clone_from(&new.kind);
        // Omitted fields keep their stored values (Nango skips undefined columns).
        for (slot, value) in [
            (&mut stored.client_id, &new.client_id),
            (&mut stored.client_secret, &new.client_secret),
            (&mut stored.scopes, &new.scopes),
            (&mut stored.app_id, &new.app_id),
            (&mut stored.app_link, &new.app_link),
            (&mut stored.private_key, &new.private_key),
        ] {
            if value.is_some() {
                slot.clone_from(value);
            }
        }
    }
    Ok(())
}

/// Deletes an integration.
pub async fn delete(ctx: &Context, env: &Environment, unique_key: &str) -> Result<(), Error> {
    let deleted = repo::integration::delete(&ctx.db, env.id, unique_key)
        .await
        .map_err(Error::internal("Failed to delete integration"))?;
    ctx.targets.invalidate_integration(env.id, unique_key);
    if deleted { Ok(()) } else { Err(Error::NotFound("Integration does not exist".to_owned())) }
}

fn view(
    ctx: &Context,
    env: &Environment,
    record: &IntegrationRecord,
    provider: &Provider,
    include: Include,
) -> IntegrationView {
    let custom = &record.settings.custom;
    let credentials_label = provider
        .integration_config
        .as_ref()
        .and_then(|_| custom.get("keyLabel"))
        .filter(|label| !label.is_empty())
        .cloned();
    let preconfigured_credentials = match (&provider.integration_config, provider.auth_mode) {
        (Some(schema), AuthMode::TwoStep) => {
            let names: Vec<String> = schema
                .iter()
                .filter(|f| custom.get(&f.name).is_some_and(|v| !v.is_empty()))
                .map(|f| f.name.clone())
                .collect();
            (!names.is_empty()).then_some(names)
        }
        _ => None,
    };
    let webhook_url = include.webhook.then(|| {
        provider.webhook_routing.then(|| {
            let key: String = url::form_urlencoded::byte_serialize(record.unique_key.as_bytes()).collect();
            format!("{}/webhook/{}/{}", ctx.public_url, env.uuid, key.replace('+', "%20"))
        })
    });
    let credentials = include.credentials.then(|| credentials_view(provider, record));
    IntegrationView {
        unique_key: record.unique_key.clone(),
        provider: record.provider.clone(),
        display_name: record.display_name.clone().unwrap_or_else(|| provider.display_name.clone()),
        logo: format!("{}/images/template-logos/{}.svg", ctx.public_url, record.provider),
        credentials_label,
        preconfigured_credentials,
        webhook_url,
        credentials,
        forward_webhooks: record.forward_webhooks,
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}

/// Developer-app credentials as Nango shows them, chosen by the provider's auth mode; `None`
/// (JSON null) for API_KEY, BASIC and other modes without an app.
fn credentials_view(provider: &Provider, record: &IntegrationRecord) -> Option<AppCredentials> {
    let stored = record.settings.credentials.clone().unwrap_or_default();
    let custom = &record.settings.custom;
    let kind = provider.auth_mode.as_str().to_owned();
    match kind.as_str() {
        "OAUTH1" | "OAUTH2" | "TBA" => Some(AppCredentials {
            kind,
            client_id: Some(stored.client_id.unwrap_or_default()),
            client_secret: Some(stored.client_secret.unwrap_or_default()),
            scopes: stored.scopes.filter(|s| !s.is_empty()),
            webhook_secret: custom.get("webhookSecret").cloned(),
            ..Default::default()
        }),
        "APP" => Some(AppCredentials {
            kind,
            app_id: Some(stored.app_id.unwrap_or_default()),
            private_key: Some(stored.private_key.unwrap_or_default()),
            app_link: Some(stored.app_link.unwrap_or_default()),
            ..Default::default()
        }),
        "CUSTOM" => Some(AppCredentials {
            kind,
            client_id: Some(stored.client_id.unwrap_or_default()),
            client_secret: Some(stored.client_secret.unwrap_or_default()),
            app_id: Some(stored.app_id.unwrap_or_default()),
            app_link: Some(stored.app_link.unwrap_or_default()),
            private_key: Some(stored.private_key.unwrap_or_default()),
            ..Default::default()
        }),
        _ => None,
    }
}
