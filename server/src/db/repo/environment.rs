//! Environment rows.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::now_millis;
use crate::{
    crypto::constant_time_eq,
    db::{Db, Error, entity::environment},
    model::environment::Environment,
    model::id::EnvironmentId,
};

impl From<environment::Model> for Environment {
    fn from(m: environment::Model) -> Self {
        Self { id: EnvironmentId(m.id), uuid: m.uuid, name: m.name }
    }
}

/// The environment whose key hash is one of `hashes` (primary key's hash first). Every stored
/// hash is compared with every candidate in constant time (there are a handful of
/// environments), so response timing says nothing about how much of a guessed key matched.
/// A match under an older key is upgraded to the primary key's hash, so after a key rotation
/// the old key is no longer needed for authentication.
pub async fn find_by_key_hash(db: &Db, hashes: &[Vec<u8>]) -> Result<Option<Environment>, Error> {
    let rows = environment::Entity::find().all(db).await?;
    let mut found: Option<(environment::Model, usize)> = None;
    for row in rows {
        for (i, h) in hashes.iter().enumerate() {
            if constant_time_eq(&row.secret_key_hash, h) && found.is_none() {
                found = Some((row.clone(), i));
            }
        }
    }
    let Some((row, index)) = found else { return Ok(None) };
    if index > 0
        && let Some(primary) = hashes.first()
    {
        let mut active: environment::ActiveModel = row.clone().into();
        active.secret_key_hash = Set(primary.clone());
        active.updated_at = Set(now_millis());
        active.update(db).await.map_err(Error::classify)?;
    }
    Ok(Some(row.into()))
}

/// The environment with row id `id`.
pub async fn find_by_id(db: &Db, id: EnvironmentId) -> Result<Option<Environment>, Error> {
    Ok(environment::Entity::find_by_id(id.0).one(db).await?.map(Into::into))
}

/// The environment called `name`.
pub async fn find_by_name(db: &Db, name: &str) -> Result<Option<Environment>, Error> {
    Ok(environment::Entity::find().filter(environment::Column::Name.eq(name)).one(db).await?.map(Into::into))
}

/// Creates environment `name` with `hash`, or sets the hash of the existing one.
pub async fn upsert(db: &Db, name: &str, hash: Vec<u8>) -> Result<Environment, Error> {
    let now = now_millis();
    let existing = environment::Entity::find().filter(environment::Column::Name.eq(name)).one(db).await?;
    let model = match existing {
        Some(row) if row.secret_key_hash == hash => row,
        Some(row) => {
            let mut active: environment::ActiveModel = row.into();
            active.secret_key_hash = Set(hash);
            active.updated_at = Set(now);
            active.update(db).await.map_err(Error::classify)?
        }
        None => environment::ActiveModel {
            uuid: Set(uuid::Uuid::new_v4().to_string()),
            name: Set(name.to_owned()),
            secret_key_hash: Set(hash),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .map_err(Error::classify)?,
    };
    Ok(model.into())
}
