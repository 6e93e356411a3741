//! Connect session rows. Tokens are looked up by keyed hash; expired rows are never returned
//! and are purged when new sessions are created.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::now_millis;
use crate::{
    db::{
        Db, Error,
        entity::{connect_session, environment},
    },
    model::id::EnvironmentId,
    model::{
        connect::{Reconnect, SessionSettings, StoredSession},
        environment::Environment,
    },
};

/// Stores a new session under `token_hash`.
pub async fn insert(
    db: &Db,
    environment_id: EnvironmentId,
    token_hash: Vec<u8>,
    settings: &SessionSettings,
    reconnect: Option<&Reconnect>,
    expires_at: DateTime<Utc>,
) -> Result<(), Error> {
    connect_session::ActiveModel {
        environment_id: Set(environment_id.0),
        token_hash: Set(token_hash),
        settings: Set(serde_json::to_string(settings)?),
        reconnect_integration: Set(reconnect.map(|r| r.integration.clone())),
        reconnect_connection_id: Set(reconnect.map(|r| r.connection_id.clone())),
        expires_at: Set(expires_at),
        created_at: Set(now_millis()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(Error::classify)?;
    Ok(())
}

/// The live (not expired) session whose token hashes to one of `hashes`, with its environment.
pub async fn find(db: &Db, hashes: &[Vec<u8>]) -> Result<Option<(Environment, StoredSession)>, Error> {
    let row = connect_session::Entity::find()
        .filter(connect_session::Column::TokenHash.is_in(hashes.iter().cloned()))
        .filter(connect_session::Column::ExpiresAt.gt(now_millis()))
        .one(db)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let Some(env) = environment::Entity::find_by_id(row.environment_id).one(db).await? else { return Ok(None) };
    let reconnect = row
        .reconnect_integration
        .zip(row.reconnect_connection_id)
        .map(|(integration, connection_id)| Reconnect { integration, connection_id });
    let session = StoredSession {
        id: row.id,
        settings: serde_json::from_str(&row.settings)?,
        reconnect,
        expires_at: row.expires_at,
    };
    Ok(Some((env.into(), session)))
}

/// Deletes a session; `false` when it was already gone.
pub async fn delete(db: &Db, id: i64) -> Result<bool, Error> {
    Ok(connect_session::Entity::delete_by_id(id).exec(db).await?.rows_affected > 0)
}

/// Removes sessions that expired before `before`.
pub async fn purge_expired(db: &Db, before: DateTime<Utc>) -> Result<u64, Error> {
    let result =
        connect_session::Entity::delete_many().filter(connect_session::Column::ExpiresAt.lte(before)).exec(db).await?;
    Ok(result.rows_affected)
}
