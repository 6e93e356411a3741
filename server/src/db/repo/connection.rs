//! Connection rows. `credentials` is sealed JSON bound to (environment, integration id,
//! connection id): stable across integration renames, and a value copied to another row fails
//! to open.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
    sea_query::{Expr, OnConflict},
};
use serde_json::{Map, Value};

use super::now_millis;
use crate::{
    crypto::Cipher,
    db::{
        Db, Error,
        entity::{connection, integration},
    },
    model::connection::{ConnectionRecord, ConnectionWrite, EndUser, ListFilter, MetadataMode},
    model::id::{EnvironmentId, IntegrationId},
};

/// Associated data binding a connection's credentials to its row.
pub(super) fn aad(environment_id: i64, integration_id: i64, connection_id: &str) -> Vec<u8> {
    format!("connections:{environment_id}:{integration_id}:{connection_id}").into_bytes()
}

fn json_map(text: &str) -> Result<Map<String, Value>, Error> {
    Ok(serde_json::from_str(text)?)
}

fn open(
    cipher: &Cipher,
    m: connection::Model,
    unique_key: String,
    provider: String,
) -> Result<ConnectionRecord, Error> {
    let plain = cipher.open(&m.credentials, &aad(m.environment_id, m.integration_id, &m.connection_id))?;
    Ok(ConnectionRecord {
        id: m.id,
        integration_id: IntegrationId(m.integration_id),
        provider_config_key: unique_key,
        provider,
        credentials: serde_json::from_slice(&plain)?,
        connection_config: json_map(&m.connection_config)?,
        metadata: m.metadata.as_deref().map(json_map).transpose()?,
        tags: json_map(&m.tags)?,
        end_user: m.end_user.as_deref().map(serde_json::from_str).transpose()?,
        connection_id: m.connection_id,
        webhook_url_override: m.webhook_url_override,
        last_fetched_at: m.last_fetched_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
        auth_error: m.auth_error_at.zip(m.auth_error_log_id),
    })
}

async fn integration_names(db: &Db, environment_id: EnvironmentId) -> Result<HashMap<i64, (String, String)>, Error> {
    Ok(integration::Entity::find()
        .filter(integration::Column::EnvironmentId.eq(environment_id))
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.id, (i.unique_key, i.provider)))
        .collect())
}

async fn find_model(
    db: &impl sea_orm::ConnectionTrait,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    connection_id: &str,
) -> Result<Option<connection::Model>, Error> {
    Ok(connection::Entity::find()
        .filter(connection::Column::EnvironmentId.eq(environment_id))
        .filter(connection::Column::IntegrationId.eq(integration_id))
        .filter(connection::Column::ConnectionId.eq(connection_id))
        .one(db)
        .await?)
}

async fn with_names(
    db: &impl sea_orm::ConnectionTrait,
    cipher: &Cipher,
    m: connection::Model,
) -> Result<ConnectionRecord, Error> {
    let names = integration::Entity::find_by_id(m.integration_id).one(db).await?;
    let (key, provider) = names.map(|i| (i.unique_key, i.provider)).unwrap_or_default();
    open(cipher, m, key, provider)
}

/// Webhook deliveries to queue with a write: `(urls, body)`.
pub type Outbox = Option<(Vec<String>, String)>;

/// Creates the connection or replaces an existing one's values in one statement (INSERT ...
/// ON CONFLICT DO UPDATE), so concurrent imports of the same id leave exactly one row holding
/// one import's values, never a mix; then queues the webhook `webhook` builds from the result,
/// in the same transaction (a crash never stores the connection without its webhook). Returns
/// the row and whether it was created.
pub async fn upsert(
    db: &Db,
    cipher: &Cipher,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    w: &ConnectionWrite,
    webhook: impl FnOnce(&ConnectionRecord, bool) -> Outbox,
) -> Result<(ConnectionRecord, bool), Error> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    // Write first: SQLite takes the write lock at once (a read-then-write transaction fails
    // with SQLITE_BUSY_SNAPSHOT when another connection wrote in between); PostgreSQL locks
    // the row, so `existed` below is what this import replaces.
    connection::Entity::update_many()
        .col_expr(connection::Column::Id, Expr::col(connection::Column::Id))
        .filter(connection::Column::IntegrationId.eq(integration_id))
        .filter(connection::Column::ConnectionId.eq(w.connection_id.as_str()))
        .exec(&txn)
        .await?;
    let result = upsert_in(&txn, cipher, environment_id, integration_id, w).await?;
    if let Some((urls, body)) = webhook(&result.0, result.1) {
        super::webhook::enqueue(&txn, environment_id, &urls, &body).await?;
    }
    if result.1 {
        // A new connection gets a schedule for each deployed sync of its integration.
        super::sync::reconcile(&txn, Some(environment_id), Some(result.0.id), now_millis().timestamp_millis()).await?;
    }
    txn.commit().await?;
    Ok(result)
}

async fn upsert_in(
    db: &impl sea_orm::ConnectionTrait,
    cipher: &Cipher,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    w: &ConnectionWrite,
) -> Result<(ConnectionRecord, bool), Error> {
    let now = now_millis();
    let sealed = cipher
        .seal(&serde_json::to_vec(&w.credentials)?, &aad(environment_id.0, integration_id.0, &w.connection_id))?;
    let existed = find_model(db, environment_id, integration_id, &w.connection_id).await?.is_some();
    let end_user_json = w.end_user.as_ref().map(serde_json::to_string).transpose()?;
    let row = connection::ActiveModel {
        environment_id: Set(environment_id.0),
        integration_id: Set(integration_id.0),
        connection_id: Set(w.connection_id.clone()),
        credentials: Set(sealed),
        connection_config: Set(serde_json::to_string(&w.connection_config)?),
        metadata: Set(Some(serde_json::to_string(&w.metadata)?)),
        tags: Set(serde_json::to_string(&w.tags)?),
        end_user: Set(end_user_json),
        end_user_id: Set(w.end_user.as_ref().map(|u| u.id.clone())),
        end_user_organization_id: Set(w.end_user.as_ref().and_then(|u| u.organization.as_ref()).map(|o| o.id.clone())),
        webhook_url_override: Set(w.webhook_url_override.clone()),
        // Nango stamps an import as a credential fetch (`last_fetched_at` equals `created_at`).
        last_fetched_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        auth_error_at: Set(None),
        auth_error_log_id: Set(None),
        ..Default::default()
    };
    use connection::Column as C;
    connection::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([C::IntegrationId, C::ConnectionId])
                .update_columns([
                    C::Credentials,
                    C::ConnectionConfig,
                    C::Metadata,
                    C::Tags,
                    C::EndUser,
                    C::EndUserId,
                    C::EndUserOrganizationId,
                    C::WebhookUrlOverride,
                    C::LastFetchedAt,
                    C::UpdatedAt,
                    // New credentials: a past refusal no longer applies.
                    C::AuthErrorAt,
                    C::AuthErrorLogId,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let model = find_model(db, environment_id, integration_id, &w.connection_id)
        .await?
        .ok_or(Error::Db(sea_orm::DbErr::RecordNotFound("connection after upsert".to_owned())))?;
    Ok((with_names(db, cipher, model).await?, !existed))
}

/// The connection, with `last_fetched_at` set to now (Nango records every credential read).
pub async fn fetch(
    db: &Db,
    cipher: &Cipher,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    connection_id: &str,
) -> Result<Option<ConnectionRecord>, Error> {
    let Some(mut model) = find_model(db, environment_id, integration_id, connection_id).await? else {
        return Ok(None);
    };
    let now = now_millis();
    connection::Entity::update_many()
        .col_expr(connection::Column::LastFetchedAt, Expr::value(now))
        .filter(connection::Column::Id.eq(model.id))
        .exec(db)
        .await?;
    model.last_fetched_at = Some(now);
    Ok(Some(with_names(db, cipher, model).await?))
}

/// What the proxy needs of a connection (no timestamp update).
#[derive(Debug)]
pub struct ProxyConnection {
    pub id: i64,
    pub credentials: crate::model::connection::Credentials,
    /// Values the provider's templates may use (`${connectionConfig.x}`).
    pub connection_config: serde_json::Map<String, serde_json::Value>,
    pub has_auth_error: bool,
}

/// The proxy's read of a connection.
pub async fn for_proxy(
    db: &Db,
    cipher: &Cipher,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    connection_id: &str,
) -> Result<Option<ProxyConnection>, Error> {
    let Some(m) = find_model(db, environment_id, integration_id, connection_id).await? else {
        return Ok(None);
    };
    let plain = cipher.open(&m.credentials, &aad(m.environment_id, m.integration_id, &m.connection_id))?;
    Ok(Some(ProxyConnection {
        id: m.id,
        credentials: serde_json::from_slice(&plain)?,
        connection_config: json_map(&m.connection_config)?,
        has_auth_error: m.auth_error_at.is_some(),
    }))
}

/// The connection without recording a read.
pub async fn find_record(
    db: &Db,
    cipher: &Cipher,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    connection_id: &str,
) -> Result<Option<ConnectionRecord>, Error> {
    match find_model(db, environment_id, integration_id, connection_id).await? {
        Some(m) => Ok(Some(with_names(db, cipher, m).await?)),
        None => Ok(None),
    }
}

/// Records that the upstream refused the connection's credential; `true` only for the call
/// that changed it from "no error" (so one webhook is sent, whichever replica saw it first).
pub async fn mark_auth_error(db: &Db, id: i64, log_id: &str) -> Result<bool, Error> {
    let result = connection::Entity::update_many()
        .col_expr(connection::Column::AuthErrorAt, Expr::value(now_millis()))
        .col_expr(connection::Column::AuthErrorLogId, Expr::value(log_id.to_owned()))
        .filter(connection::Column::Id.eq(id))
        .filter(connection::Column::AuthErrorAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Clears the auth error after a successful call; `true` when there was one.
pub async fn clear_auth_error(db: &Db, id: i64) -> Result<bool, Error> {
    let result = connection::Entity::update_many()
        .col_expr(connection::Column::AuthErrorAt, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
        .col_expr(connection::Column::AuthErrorLogId, Expr::value(Option::<String>::None))
        .filter(connection::Column::Id.eq(id))
        .filter(connection::Column::AuthErrorAt.is_not_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Only the credentials of a connection (the proxy's read: no timestamp update).
pub async fn credentials(
    db: &Db,
    cipher: &Cipher,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    connection_id: &str,
) -> Result<Option<crate::model::connection::Credentials>, Error> {
    let Some(m) = find_model(db, environment_id, integration_id, connection_id).await? else {
        return Ok(None);
    };
    let plain = cipher.open(&m.credentials, &aad(m.environment_id, m.integration_id, &m.connection_id))?;
    Ok(Some(serde_json::from_slice(&plain)?))
}

/// Connections of the environment matching the indexed filters, newest first (the service
/// applies `search`, `tags` and pagination).
pub async fn list(
    db: &Db,
    cipher: &Cipher,
    environment_id: EnvironmentId,
    filter: &ListFilter,
    integration_ids: Option<&[IntegrationId]>,
) -> Result<Vec<ConnectionRecord>, Error> {
    let mut query = connection::Entity::find().filter(connection::Column::EnvironmentId.eq(environment_id));
    if let Some(id) = &filter.connection_id {
        query = query.filter(connection::Column::ConnectionId.eq(id.as_str()));
    }
    if let Some(id) = &filter.end_user_id {
        query = query.filter(connection::Column::EndUserId.eq(id.as_str()));
    }
    if let Some(id) = &filter.end_user_organization_id {
        query = query.filter(connection::Column::EndUserOrganizationId.eq(id.as_str()));
    }
    if let Some(ids) = integration_ids {
        query = query.filter(connection::Column::IntegrationId.is_in(ids.iter().copied()));
    }
    match filter.auth_error {
        Some(true) => query = query.filter(connection::Column::AuthErrorAt.is_not_null()),
        Some(false) => query = query.filter(connection::Column::AuthErrorAt.is_null()),
        None => {}
    }
    let rows = query.order_by_desc(connection::Column::CreatedAt).order_by_desc(connection::Column::Id).all(db).await?;
    let names = integration_names(db, environment_id).await?;
    rows.into_iter()
        .map(|m| {
            let (key, provider) = names.get(&m.integration_id).cloned().unwrap_or_default();
            open(cipher, m, key, provider)
        })
        .collect()
}

/// Sets the end user, tags and/or webhook override; `false` when the connection is unknown.
pub async fn patch(
    db: &Db,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    connection_id: &str,
    end_user: Option<EndUser>,
    tags: Option<Map<String, Value>>,
    webhook_url_override: Option<Option<String>>,
) -> Result<bool, Error> {
    let Some(model) = find_model(db, environment_id, integration_id, connection_id).await? else {
        return Ok(false);
    };
    let mut active: connection::ActiveModel = model.into();
    if let Some(user) = end_user {
        active.end_user_id = Set(Some(user.id.clone()));
        active.end_user_organization_id = Set(user.organization.as_ref().map(|o| o.id.clone()));
        active.end_user = Set(Some(serde_json::to_string(&user)?));
    }
    if let Some(tags) = tags {
        active.tags = Set(serde_json::to_string(&tags)?);
    }
    if let Some(url) = webhook_url_override {
        active.webhook_url_override = Set(url);
    }
    active.updated_at = Set(now_millis());
    active.update(db).await?;
    Ok(true)
}

/// Deletes a connection; `false` when it did not exist.
pub async fn delete(
    db: &Db,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    connection_id: &str,
) -> Result<bool, Error> {
    let result = connection::Entity::delete_many()
        .filter(connection::Column::EnvironmentId.eq(environment_id))
        .filter(connection::Column::IntegrationId.eq(integration_id))
        .filter(connection::Column::ConnectionId.eq(connection_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Writes metadata to every connection in one transaction; returns the first unknown id
/// (and writes nothing) when one does not exist. Concurrent merges into one connection all
/// land: the rows are written (locked) before they are read, so a second writer waits for the
/// first to commit and merges into its result, on SQLite and PostgreSQL alike.
pub async fn set_metadata(
    db: &Db,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    connection_ids: &[String],
    metadata: &Map<String, Value>,
    mode: MetadataMode,
) -> Result<Option<String>, Error> {
    let txn = db.begin().await?;
    connection::Entity::update_many()
        .col_expr(connection::Column::UpdatedAt, Expr::value(now_millis()))
        .filter(connection::Column::EnvironmentId.eq(environment_id))
        .filter(connection::Column::IntegrationId.eq(integration_id))
        .filter(connection::Column::ConnectionId.is_in(connection_ids))
        .exec(&txn)
        .await?;
    for id in connection_ids {
        let Some(model) = find_model(&txn, environment_id, integration_id, id).await? else {
            txn.rollback().await?;
            return Ok(Some(id.clone()));
        };
        // Replaced metadata is written straight from the request's tree, without a copy.
        let new = match mode {
            MetadataMode::Replace => serde_json::to_string(metadata)?,
            MetadataMode::Merge => {
                let mut old = model.metadata.as_deref().map(json_map).transpose()?.unwrap_or_default();
                old.extend(metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
                serde_json::to_string(&old)?
            }
        };
        connection::Entity::update_many()
            .col_expr(connection::Column::Metadata, Expr::value(new))
            .col_expr(connection::Column::UpdatedAt, Expr::value(now_millis()))
            .filter(connection::Column::Id.eq(model.id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(None)
}
