//! Connect sessions: a backend creates one for its end user, the end user opens the connect
//! link and hands over a credential through the Connect UI, which creates (or, for a
//! reconnect session, replaces) the connection. Tokens are random, live 30 minutes and are
//! stored only as a keyed hash.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{
    Context, Error,
    connection::{self, ImportConnection, build_tags},
};
use crate::{
    db::repo,
    model::{
        connect::{Reconnect, SessionSettings, StoredSession},
        connection::{Credentials, EndUser},
        environment::Environment,
    },
};

/// Every connect session token starts with this.
pub const TOKEN_PREFIX: &str = "nango_connect_session_";

/// How long a session lives (Nango's 30 minutes).
pub const LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A new session's input (validated by the handler). `tags` are the session's own tags;
/// tags derived from the end user are added here.
#[derive(Debug, Clone, Default)]
pub struct NewSession {
    pub end_user: Option<EndUser>,
    pub allowed_integrations: Option<Vec<String>>,
    pub integrations_config_defaults: Option<Map<String, Value>>,
    pub overrides: Option<Map<String, Value>>,
    pub webhook_url_override: Option<String>,
    pub tags: Option<Map<String, Value>>,
}

/// What the caller gets back: the token (shown once) and the link to hand to the end user.
#[derive(Debug, Clone)]
pub struct CreatedSession {
    pub token: String,
    pub connect_link: String,
    pub expires_at: DateTime<Utc>,
}

/// Whether `token` has the shape of a connect session token (prefix + 64 lowercase hex).
pub fn is_well_formed(token: &str) -> bool {
    token.strip_prefix(TOKEN_PREFIX).is_some_and(|random| {
        random.len() == 64 && random.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Internal { message: "Failed to create connect session", source: e.to_string().into() })?;
    let hex = hex::encode(bytes);
    Ok(format!("{TOKEN_PREFIX}{hex}"))
}

async fn integration_exists(ctx: &Context, env: &Environment, key: &str) -> Result<bool, Error> {
    Ok(repo::integration::find(&ctx.db, &ctx.cipher, env.id, key)
        .await
        .map_err(Error::internal("Failed to create connect session"))?
        .is_some())
}

/// Every integration the session names must exist (Nango's order: allowed integrations,
/// then defaults, then overrides; the first missing one is reported).
async fn check_integrations(ctx: &Context, env: &Environment, input: &NewSession) -> Result<(), Error> {
    let missing = |path: Vec<String>| Error::CustomIssue { message: "Integration does not exist".to_owned(), path };
    for (i, key) in input.allowed_integrations.iter().flatten().enumerate() {
        if !integration_exists(ctx, env, key).await? {
            return Err(missing(vec!["allowed_integrations".to_owned(), i.to_string()]));
        }
    }
    for (field, map) in
        [("integrations_config_defaults", &input.integrations_config_defaults), ("overrides", &input.overrides)]
    {
        for key in map.iter().flat_map(|m| m.keys()) {
            if !integration_exists(ctx, env, key).await? {
                return Err(missing(vec![field.to_owned(), key.clone()]));
            }
        }
    }
    Ok(())
}

/// Creates a session (`POST /connect/sessions`), or a reconnect session for an existing
/// connection (`POST /connect/sessions/reconnect`).
pub async fn create(
    ctx: &Context,
    env: &Environment,
    input: NewSession,
    reconnect: Option<Reconnect>,
) -> Result<CreatedSession, Error> {
    const FAILED: &str = "Failed to create connect session";
    check_integrations(ctx, env, &input).await?;
    let mut allowed = input.allowed_integrations.clone().filter(|a| !a.is_empty());
    if let Some(target) = &reconnect {
        let exists = match repo::integration::find(&ctx.db, &ctx.cipher, env.id, &target.integration)
            .await
            .map_err(Error::internal(FAILED))?
        {
            None => false,
            Some(integration) => {
                repo::connection::credentials(&ctx.db, &ctx.cipher, env.id, integration.id, &target.connection_id)
                    .await
                    .map_err(Error::internal(FAILED))?
                    .is_some()
            }
        };
        if !exists {
            return Err(Error::InvalidInput("ConnectionID or IntegrationId does not exists".to_owned()));
        }
        allowed = Some(vec![target.integration.clone()]);
    }
    let tags = build_tags(input.end_user.as_ref(), input.tags.as_ref());
    connection::check_tags(&tags)?;
    let settings = SessionSettings {
        end_user: input.end_user,
        allowed_integrations: allowed,
        integrations_config_defaults: input.integrations_config_defaults,
        overrides: input.overrides,
        webhook_url_override: input.webhook_url_override.filter(|u| !u.is_empty()),
        tags,
    };
    let token = new_token()?;
    let now = repo::now_millis();
    let expires_at = now + chrono::Duration::from_std(LIFETIME).unwrap_or_default();
    // Expired sessions are useless: drop them while we are writing anyway.
    if let Err(e) = repo::connect_session::purge_expired(&ctx.db, now).await {
        tracing::warn!(error = %e, "could not purge expired connect sessions");
    }
    repo::connect_session::insert(
        &ctx.db,
        env.id,
        ctx.cipher.hash_secret(&token),
        &settings,
        reconnect.as_ref(),
        expires_at,
    )
    .await
    .map_err(Error::internal(FAILED))?;
    let connect_link = format!("{}?session_token={token}", ctx.connect_url);
    Ok(CreatedSession { token, connect_link, expires_at })
}

/// The environment and live session of `token`; `None` when unknown, expired or deleted.
pub async fn authenticate(ctx: &Context, token: &str) -> Result<Option<(Environment, StoredSession)>, Error> {
    repo::connect_session::find(&ctx.db, &ctx.cipher.secret_hash_candidates(token))
        .await
        .map_err(Error::internal("Failed to authenticate"))
}

/// Ends a session (`DELETE /connect/session`).
pub async fn delete(ctx: &Context, session: &StoredSession) -> Result<(), Error> {
    repo::connect_session::delete(&ctx.db, session.id)
        .await
        .map_err(Error::internal("Failed to delete connect session"))?;
    Ok(())
}

/// The connection a Connect UI submission created or replaced.
#[derive(Debug, Clone)]
pub struct Connected {
    pub connection_id: String,
    pub provider_config_key: String,
}

/// Stores the credential an end user submitted through the Connect UI
/// (`POST /api-auth/{api-key|basic}/{providerConfigKey}`): checks the session allows the
/// integration and the credential fits its provider, then creates the connection (a fresh
/// id) or replaces the reconnect session's one. `params` are the query's `params[...]`
/// (string values only); the session's defaults for the integration win over them.
pub async fn submit(
    ctx: &Context,
    env: &Environment,
    session: &StoredSession,
    provider_config_key: &str,
    credentials: Credentials,
    params: Map<String, Value>,
) -> Result<Connected, Error> {
    if !session.allows(provider_config_key) {
        return Err(Error::IntegrationNotAllowed);
    }
    let integration = repo::integration::find(&ctx.db, &ctx.cipher, env.id, provider_config_key)
        .await
        .map_err(Error::internal("Failed to load the integration"))?
        .ok_or(Error::ConnectUnknownIntegration)?;
    let provider = ctx.catalog.get(&integration.provider).ok_or(Error::ConnectUnknownIntegration)?;
    if provider.auth_mode != credentials.auth_mode() {
        return Err(Error::InvalidAuthMode);
    }
    let mut connection_config: Map<String, Value> =
        params.into_iter().filter(|(k, v)| v.is_string() && k != "webhook_url").collect();
    let defaults = session
        .settings
        .integrations_config_defaults
        .as_ref()
        .and_then(|d| d.get(provider_config_key))
        .and_then(|d| d.get("connection_config"))
        .and_then(Value::as_object);
    connection_config.extend(defaults.into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
    let connection_id = match &session.reconnect {
        Some(target) if target.integration == provider_config_key => target.connection_id.clone(),
        Some(_) => return Err(Error::IntegrationNotAllowed),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let (record, _created) = connection::import_as(
        ctx,
        env,
        ImportConnection {
            provider_config_key: provider_config_key.to_owned(),
            connection_id: Some(connection_id),
            credentials,
            connection_config: Some(connection_config),
            metadata: Some(Map::new()),
            webhook_url_override: session.settings.webhook_url_override.clone(),
            end_user: session.settings.end_user.clone(),
            tags: Some(session.settings.tags.clone()),
        },
        true,
    )
    .await?;
    Ok(Connected { connection_id: record.connection_id, provider_config_key: provider_config_key.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_nangos_format() {
        let token = new_token().unwrap();
        assert!(is_well_formed(&token), "{token}");
        assert_ne!(token, new_token().unwrap());
        assert!(!is_well_formed("nango_connect_session_ABC"));
        assert!(!is_well_formed(&token.to_uppercase()));
    }
}
