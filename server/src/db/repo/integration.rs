//! Integration rows. The `settings` column is sealed JSON bound to (environment, unique_key).

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Expr};

use super::now_millis;
use crate::{
    crypto::Cipher,
    db::{Db, Error, entity::integration},
    model::id::{EnvironmentId, IntegrationId},
    model::integration::{IntegrationRecord, NewIntegrationRecord, Settings},
};

/// Associated data binding an integration's settings to its row.
pub(super) fn aad(environment_id: i64, unique_key: &str) -> Vec<u8> {
    format!("integrations:{environment_id}:{unique_key}").into_bytes()
}

fn seal(
    cipher: &Cipher,
    environment_id: EnvironmentId,
    unique_key: &str,
    settings: &Settings,
) -> Result<Vec<u8>, Error> {
    let json = serde_json::to_vec(settings)?;
    Ok(cipher.seal(&json, &aad(environment_id.0, unique_key))?)
}

fn open(cipher: &Cipher, m: integration::Model) -> Result<IntegrationRecord, Error> {
    let json = cipher.open(&m.settings, &aad(m.environment_id, &m.unique_key))?;
    Ok(IntegrationRecord {
        id: IntegrationId(m.id),
        unique_key: m.unique_key,
        provider: m.provider,
        display_name: m.display_name,
        forward_webhooks: m.forward_webhooks,
        settings: serde_json::from_slice(&json)?,
        revision: m.revision,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Inserts a new integration; a duplicate key is [`Error::Conflict`].
pub async fn insert(
    db: &Db,
    cipher: &Cipher,
    environment_id: EnvironmentId,
    new: NewIntegrationRecord,
) -> Result<IntegrationRecord, Error> {
    let now = now_millis();
    let row = integration::ActiveModel {
        environment_id: Set(environment_id.0),
        settings: Set(seal(cipher, environment_id, &new.unique_key, &new.settings)?),
        unique_key: Set(new.unique_key),
        provider: Set(new.provider),
        display_name: Set(new.display_name),
        forward_webhooks: Set(new.forward_webhooks),
        revision: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(Error::classify)?;
    open(cipher, row)
}

/// The integration `unique_key` of the environment.
pub async fn find(
    db: &Db,
    cipher: &Cipher,
    environment_id: EnvironmentId,
    unique_key: &str,
) -> Result<Option<IntegrationRecord>, Error> {
    integration::Entity::find()
        .filter(integration::Column::EnvironmentId.eq(environment_id))
        .filter(integration::Column::UniqueKey.eq(unique_key))
        .one(db)
        .await?
        .map(|m| open(cipher, m))
        .transpose()
}

/// Every integration of the environment, ordered by provider, then creation (Nango's order).
pub async fn list(db: &Db, cipher: &Cipher, environment_id: EnvironmentId) -> Result<Vec<IntegrationRecord>, Error> {
    integration::Entity::find()
        .filter(integration::Column::EnvironmentId.eq(environment_id))
        .order_by_asc(integration::Column::Provider)
        .order_by_asc(integration::Column::CreatedAt)
        .order_by_asc(integration::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| open(cipher, m))
        .collect()
}

/// Writes `record` back if nobody changed the row since it was read (its `revision` is still
/// the one read); returns `None` when somebody did, so the caller re-reads and retries.
/// Optimistic concurrency keeps concurrent PATCHes from losing each other's merged fields on
/// both backends without row locks.
pub async fn update(
    db: &Db,
    cipher: &Cipher,
    environment_id: EnvironmentId,
    record: &IntegrationRecord,
) -> Result<Option<IntegrationRecord>, Error> {
    let now = now_millis();
    let sealed = seal(cipher, environment_id, &record.unique_key, &record.settings)?;
    let result = integration::Entity::update_many()
        .col_expr(integration::Column::UniqueKey, Expr::value(record.unique_key.clone()))
        .col_expr(integration::Column::DisplayName, Expr::value(record.display_name.clone()))
        .col_expr(integration::Column::ForwardWebhooks, Expr::value(record.forward_webhooks))
        .col_expr(integration::Column::Settings, Expr::value(sealed))
        .col_expr(integration::Column::Revision, Expr::value(record.revision + 1))
        .col_expr(integration::Column::UpdatedAt, Expr::value(now))
        .filter(integration::Column::EnvironmentId.eq(environment_id))
        .filter(integration::Column::Id.eq(record.id))
        .filter(integration::Column::Revision.eq(record.revision))
        .exec(db)
        .await
        .map_err(Error::classify)?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    let row = integration::Entity::find_by_id(record.id.0).one(db).await?;
    row.map(|m| open(cipher, m)).transpose()
}

/// Deletes the integration; `false` when it did not exist.
pub async fn delete(db: &Db, environment_id: EnvironmentId, unique_key: &str) -> Result<bool, Error> {
    let result = integration::Entity::delete_many()
        .filter(integration::Column::EnvironmentId.eq(environment_id))
        .filter(integration::Column::UniqueKey.eq(unique_key))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}
