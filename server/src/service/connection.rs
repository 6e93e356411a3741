//! Connections: one customer's credentials for one integration, imported through the API
//! (and, later, created through the Connect UI). Credentials are sealed by the repository.

use serde_json::{Map, Value};

use tracing::Instrument as _;

use super::{Context, Error, credentials, webhook};
use crate::{
    db::{self, repo},
    model::{
        connection::{
            ConnectionRecord, ConnectionWrite, Credentials, EndUser, ListFilter, MAX_TAGS, MetadataMode, TOO_MANY_TAGS,
        },
        environment::Environment,
        id::IntegrationId,
    },
};

/// A validated `POST /connections` body.
#[derive(Debug, Clone)]
pub struct ImportConnection {
    pub provider_config_key: String,
    pub connection_id: Option<String>,
    pub credentials: Credentials,
    pub connection_config: Option<Map<String, Value>>,
    pub metadata: Option<Map<String, Value>>,
    pub webhook_url_override: Option<String>,
    pub end_user: Option<EndUser>,
    pub tags: Option<Map<String, Value>>,
}

/// A validated `PATCH /connections/{connectionId}` body.
#[derive(Debug, Clone, Default)]
pub struct ConnectionPatch {
    pub end_user: Option<EndUser>,
    pub tags: Option<Map<String, Value>>,
    /// `Some("")` clears the override.
    pub webhook_url_override: Option<String>,
}

/// Tags derived from the end user (Nango's `buildTagsFromEndUser`), then `extra` (wins).
pub(crate) fn build_tags(end_user: Option<&EndUser>, extra: Option<&Map<String, Value>>) -> Map<String, Value> {
    let mut tags = Map::new();
    if let Some(user) = end_user {
        let truncate = |s: &str| s.chars().take(255).collect::<String>();
        tags.insert("end_user_id".to_owned(), Value::String(truncate(&user.id)));
        if let Some(email) = &user.email {
            tags.insert("end_user_email".to_owned(), Value::String(truncate(email)));
        }
        if let Some(name) = &user.display_name {
            tags.insert("end_user_display_name".to_owned(), Value::String(truncate(name)));
        }
        let own: Vec<(String, Value)> = user
            .tags
            .iter()
            .flatten()
            .map(|(k, v)| (k.to_lowercase(), Value::String(truncate(v.as_str().unwrap_or_default()))))
            .collect();
        // Nango drops the end user's own tags when they would exceed the 10-key limit.
        if tags.len() + own.len() <= MAX_TAGS {
            tags.extend(own);
        }
    }
    for (k, v) in extra.into_iter().flatten() {
        tags.insert(k.to_lowercase(), v.clone());
    }
    tags
}

async fn integration_of(ctx: &Context, env: &Environment, key: &str) -> Result<Option<(IntegrationId, String)>, Error> {
    let found = repo::integration::find(&ctx.db, &ctx.cipher, env.id, key)
        .await
        .map_err(Error::internal("Failed to load the integration"))?;
    Ok(found.map(|r| (r.id, r.provider)))
}

/// Imports a connection (Nango's `POST /connections`): creates it, or replaces the
/// credentials, configuration, metadata, tags and end user of an existing one. Returns the
/// connection and whether it was created.
pub async fn import(
    ctx: &Context,
    env: &Environment,
    input: ImportConnection,
) -> Result<(ConnectionRecord, bool), Error> {
    import_as(ctx, env, input, false).await
}

/// [`import`], for a connection an end user created through a connect session (the auth
/// webhook then names the end user).
pub async fn import_as(
    ctx: &Context,
    env: &Environment,
    input: ImportConnection,
    from_session: bool,
) -> Result<(ConnectionRecord, bool), Error> {
    let integration = repo::integration::find(&ctx.db, &ctx.cipher, env.id, &input.provider_config_key)
        .await
        .map_err(Error::internal("Failed to load the integration"))?
        .ok_or_else(|| Error::NotFound("Integration does not exist".to_owned()))?;
    let integration_id = integration.id;
    let provider =
        ctx.catalog.get(&integration.provider).ok_or_else(|| Error::NotFound("Provider does not exist".to_owned()))?;
    provider.check_supported()?;
    if provider.auth_mode != input.credentials.auth_mode() {
        return Err(Error::InvalidInput(format!(
            "Provider {} does not support {} auth",
            provider.auth_mode,
            input.credentials.auth_mode()
        )));
    }
    let tags = build_tags(input.end_user.as_ref(), input.tags.as_ref());
    check_tags(&tags)?;
    let connection_config =
        provider.resolve_connection_config(input.connection_config.unwrap_or_default()).map_err(Error::Issues)?;
    // Every template must resolve now, not when the connection is first proxied.
    credentials::Target::build(provider, &integration.settings.custom, &input.credentials, &connection_config)?
        .check_base_url()?;
    // A provider that declares a verification request gets the credential checked first.
    credentials::verify(ctx, provider, &integration.settings.custom, &input.credentials, &connection_config).await?;
    let write = ConnectionWrite {
        connection_id: input.connection_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        credentials: input.credentials,
        connection_config,
        metadata: input.metadata.unwrap_or_default(),
        tags,
        end_user: input.end_user,
        webhook_url_override: input.webhook_url_override.filter(|u| !u.is_empty()),
    };
    // The auth webhook is queued in the import's own transaction: both or neither.
    let settings = webhook::settings(ctx, env).await?;
    let delivery = |record: &ConnectionRecord, created: bool| {
        let event = webhook::AuthEvent {
            connection_id: &record.connection_id,
            provider_config_key: &record.provider_config_key,
            provider: &record.provider,
            auth_mode: record.credentials.auth_mode(),
            operation: if created { "creation" } else { "override" },
            success: true,
            error: None,
            tags: Some(&record.tags),
            end_user: record.end_user.as_ref().filter(|_| from_session),
            webhook_url_override: record.webhook_url_override.as_deref(),
        };
        webhook::auth_delivery(&settings, env, &event)
    };
    let result = repo::connection::upsert(&ctx.db, &ctx.cipher, env.id, integration_id, &write, delivery)
        .await
        .map_err(Error::internal("Failed to import connection"));
    ctx.targets.invalidate_connection(env.id, &input.provider_config_key, &write.connection_id);
    let (record, created) = result?;
    webhook::wake(ctx);
    Ok((record, created))
}

/// Nango's limit on a connection's tags (derived and given together).
pub(super) fn check_tags(tags: &Map<String, Value>) -> Result<(), Error> {
    if tags.len() > MAX_TAGS {
        return Err(Error::InvalidInput(TOO_MANY_TAGS.to_owned()));
    }
    Ok(())
}

/// One connection with its credentials; records the read in `last_fetched_at`.
pub async fn get(
    ctx: &Context,
    env: &Environment,
    provider_config_key: &str,
    connection_id: &str,
) -> Result<ConnectionRecord, Error> {
    read(ctx, env, provider_config_key, connection_id, true).await
}

/// One connection with its credentials, without recording a read (`last_fetched_at` is for
/// credential fetches through the API, not for a person looking at the dashboard).
pub async fn find(
    ctx: &Context,
    env: &Environment,
    provider_config_key: &str,
    connection_id: &str,
) -> Result<ConnectionRecord, Error> {
    read(ctx, env, provider_config_key, connection_id, false).await
}

async fn read(
    ctx: &Context,
    env: &Environment,
    provider_config_key: &str,
    connection_id: &str,
    record_read: bool,
) -> Result<ConnectionRecord, Error> {
    const FAILED: &str = "Failed to get connection";
    let (integration_id, _) = integration_of(ctx, env, provider_config_key)
        .await?
        .ok_or_else(|| Error::UnknownIntegration("Provider does not exists".to_owned()))?;
    let found = if record_read {
        repo::connection::fetch(&ctx.db, &ctx.cipher, env.id, integration_id, connection_id).await
    } else {
        repo::connection::find_record(&ctx.db, &ctx.cipher, env.id, integration_id, connection_id).await
    };
    found.map_err(Error::internal(FAILED))?.ok_or_else(|| Error::NotFound("Failed to find connection".to_owned()))
}

/// The environment's connections matching `filter`, newest first.
pub async fn list(ctx: &Context, env: &Environment, filter: &ListFilter) -> Result<Vec<ConnectionRecord>, Error> {
    const FAILED: &str = "Failed to list connections";
    let integration_ids = match &filter.integration_keys {
        None => None,
        Some(keys) => {
            let mut ids = Vec::new();
            for key in keys {
                if let Some((id, _)) = integration_of(ctx, env, key).await? {
                    ids.push(id);
                }
            }
            Some(ids)
        }
    };
    let rows = repo::connection::list(&ctx.db, &ctx.cipher, env.id, filter, integration_ids.as_deref())
        .await
        .map_err(Error::internal(FAILED))?;
    let search = filter.search.as_ref().map(|s| s.to_lowercase());
    let matches = |c: &ConnectionRecord| {
        let searched = search.as_ref().is_none_or(|s| {
            let user = c.end_user.as_ref();
            c.connection_id.to_lowercase().contains(s)
                || user.and_then(|u| u.display_name.as_ref()).is_some_and(|n| n.to_lowercase().contains(s))
                || user.and_then(|u| u.email.as_ref()).is_some_and(|e| e.to_lowercase().contains(s))
        });
        let tagged = filter.tags.iter().all(|(k, v)| c.tags.get(k).and_then(Value::as_str) == Some(v.as_str()));
        searched && tagged
    };
    let limit = filter.limit.unwrap_or(10_000) as usize;
    let skip = (filter.page as usize).saturating_mul(limit);
    Ok(rows.into_iter().filter(matches).skip(skip).take(limit).collect())
}

/// Changes the end user, tags or webhook URL override of a connection.
pub async fn patch(
    ctx: &Context,
    env: &Environment,
    provider_config_key: &str,
    connection_id: &str,
    patch: ConnectionPatch,
) -> Result<(), Error> {
    let (integration_id, _) = integration_of(ctx, env, provider_config_key)
        .await?
        .ok_or_else(|| Error::UnknownIntegration("Provider does not exists".to_owned()))?;
    let tags = (patch.end_user.is_some() || patch.tags.is_some())
        .then(|| build_tags(patch.end_user.as_ref(), patch.tags.as_ref()));
    if let Some(tags) = &tags {
        check_tags(tags)?;
    }
    let webhook = patch.webhook_url_override.map(|u| (!u.is_empty()).then_some(u));
    let found = repo::connection::patch(&ctx.db, env.id, integration_id, connection_id, patch.end_user, tags, webhook)
        .await
        .map_err(Error::internal("Failed to update connection"))?;
    if found { Ok(()) } else { Err(Error::NotFound("Failed to find connection".to_owned())) }
}

/// Deletes a connection.
pub async fn delete(
    ctx: &Context,
    env: &Environment,
    provider_config_key: &str,
    connection_id: &str,
) -> Result<(), Error> {
    let Some((integration_id, _)) = integration_of(ctx, env, provider_config_key).await? else {
        return Err(Error::UnknownConnection(None));
    };
    let deleted = repo::connection::delete(&ctx.db, env.id, integration_id, connection_id)
        .await
        .map_err(Error::internal("Failed to delete connection"))?;
    ctx.targets.invalidate_connection(env.id, provider_config_key, connection_id);
    if deleted { Ok(()) } else { Err(Error::UnknownConnection(None)) }
}

/// Sets (replace) or updates (merge) the metadata of one or several connections, all or
/// nothing.
pub async fn set_metadata(
    ctx: &Context,
    env: &Environment,
    provider_config_key: &str,
    connection_ids: &[String],
    metadata: &Map<String, Value>,
    mode: MetadataMode,
) -> Result<(), Error> {
    let integration = integration_of(ctx, env, provider_config_key).await?;
    let not_found = |id: &str| {
        let mut message = format!(
            "Connection with connection id {id} and provider config key {provider_config_key} not found. Please make sure the connection exists in the Nango dashboard"
        );
        if connection_ids.len() > 1 {
            message.push_str(". No actions were taken on any of the connections as a result of this failure.");
        }
        Error::UnknownConnection(Some(message))
    };
    let Some((integration_id, _)) = integration else {
        return Err(not_found(connection_ids.first().map(String::as_str).unwrap_or_default()));
    };
    match repo::connection::set_metadata(&ctx.db, env.id, integration_id, connection_ids, metadata, mode).await {
        Ok(None) => Ok(()),
        Ok(Some(missing)) => Err(not_found(&missing)),
        Err(e) => Err(Error::internal("Failed to update metadata")(e)),
    }
}

/// The connection a proxied call went to, as the forwarder knows it.
#[derive(Debug, Clone, Copy)]
pub struct AuthSubject<'a> {
    pub provider_config_key: &'a str,
    pub connection_id: &'a str,
    pub connection_row: i64,
    pub integration_id: IntegrationId,
}

const REFUSED: &str = "The given credentials were found to be invalid. Please check the credentials and try again.";

/// Keeps a connection's auth-error state after the upstream answered a proxied call:
/// `refused` (a 401) records the error with the call's request id and, on the transition
/// only, queues one `refresh` auth webhook; otherwise (a 2xx) the error is cleared. Failures
/// are logged: the call itself already succeeded or failed on its own.
pub async fn record_auth_outcome(
    ctx: &Context,
    env: &Environment,
    subject: AuthSubject<'_>,
    refused: bool,
    request_id: crate::request_id::RequestId,
) {
    // Boxed: rare (transitions only), and several KB that the proxy's future would carry.
    if let Err(e) = Box::pin(auth_outcome(ctx, env, subject, refused, request_id)).await {
        tracing::warn!(error = %e, connection.id = %subject.connection_id, "could not record the connection's auth state");
    }
}

async fn auth_outcome(
    ctx: &Context,
    env: &Environment,
    subject: AuthSubject<'_>,
    refused: bool,
    request_id: crate::request_id::RequestId,
) -> Result<(), db::Error> {
    let changed = if refused {
        repo::connection::mark_auth_error(&ctx.db, subject.connection_row, &request_id.to_string())
            .instrument(db::span(&ctx.db, "update connection auth error"))
            .await?
    } else {
        repo::connection::clear_auth_error(&ctx.db, subject.connection_row)
            .instrument(db::span(&ctx.db, "update connection auth error"))
            .await?
    };
    ctx.targets.invalidate_connection(env.id, subject.provider_config_key, subject.connection_id);
    if !changed {
        return Ok(());
    }
    let target = super::alert::Target {
        connection_row: subject.connection_row,
        connection_id: subject.connection_id,
        provider_config_key: subject.provider_config_key,
    };
    if !refused {
        super::alert::recovered(ctx, env, target, super::alert::Subject::Auth).await;
        return Ok(());
    }
    super::alert::failed(
        ctx,
        env,
        target,
        super::alert::Subject::Auth,
        "the upstream answered 401: the credential is refused",
    )
    .await;
    let Some(record) =
        repo::connection::find_record(&ctx.db, &ctx.cipher, env.id, subject.integration_id, subject.connection_id)
            .await?
    else {
        return Ok(());
    };
    let event = webhook::AuthEvent {
        connection_id: &record.connection_id,
        provider_config_key: &record.provider_config_key,
        provider: &record.provider,
        auth_mode: record.credentials.auth_mode(),
        operation: "refresh",
        success: false,
        error: Some(("connection_test_failed", REFUSED)),
        tags: Some(&record.tags),
        end_user: None,
        webhook_url_override: record.webhook_url_override.as_deref(),
    };
    if let Err(e) = webhook::auth(ctx, env, event).await {
        tracing::error!(error = %e, connection.id = %record.connection_id, "could not queue the auth webhook");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let key = Credentials::ApiKey { api_key: "sk_live_secret".to_owned() };
        let basic = Credentials::Basic { username: "alice".to_owned(), password: "hunter2".to_owned() };
        let import = ImportConnection {
            provider_config_key: "k".to_owned(),
            connection_id: None,
            credentials: key.clone(),
            connection_config: None,
            metadata: None,
            webhook_url_override: None,
            end_user: None,
            tags: None,
        };
        for text in [format!("{key:?}"), format!("{basic:?}"), format!("{import:?}"), format!("{import:#?}")] {
            assert!(!text.contains("sk_live_secret") && !text.contains("hunter2"), "{text}");
        }
        assert!(format!("{basic:?}").contains("alice"), "usernames are not secret");
    }

    #[test]
    fn tags_derive_from_the_end_user_then_the_body_wins() {
        let user = EndUser {
            id: "123".to_owned(),
            email: None,
            display_name: Some("John Doe".to_owned()),
            tags: Some(serde_json::json!({"projectId": "7"}).as_object().cloned().unwrap_or_default()),
            organization: None,
        };
        let body = serde_json::json!({"ProjectId": "8"}).as_object().cloned().unwrap_or_default();
        let tags = build_tags(Some(&user), Some(&body));
        assert_eq!(
            Value::Object(tags),
            serde_json::json!({"end_user_id": "123", "end_user_display_name": "John Doe", "projectid": "8"})
        );
    }
}
