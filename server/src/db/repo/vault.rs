//! The key canary and key rotation: the only code that re-seals existing rows.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr};

use super::now_millis;
use crate::{
    crypto::Cipher,
    db::{
        Db, Error,
        entity::{connection, integration, vault},
    },
};

const CANARY_AAD: &[u8] = b"vault:canary";
const CANARY: &[u8] = b"nango vault canary v1";

/// Why the configured keys cannot be used with this database.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the configured NANGO_ENCRYPTION_KEY cannot open the secrets stored in this database (they were sealed \
         with key id {sealed_with}; the configured primary key has id {primary}). Start with the key that sealed \
         them, or during a rotation list it in NANGO_ENCRYPTION_KEY_PREVIOUS"
    )]
    WrongKey { sealed_with: String, primary: String },
    #[error("cannot read the vault canary")]
    Db(#[from] Error),
}

/// Checks that the configured keys open this database's secrets: on first use, seals a canary
/// with the primary key; afterwards, opens it (and re-seals it under the primary key after a
/// rotation).
pub async fn check(db: &Db, cipher: &Cipher) -> Result<(), VaultError> {
    let row = vault::Entity::find_by_id(1).one(db).await.map_err(Error::from)?;
    match row {
        None => {
            let canary = cipher.seal(CANARY, CANARY_AAD).map_err(Error::from)?;
            let insert = vault::Entity::insert(vault::ActiveModel {
                id: Set(1),
                canary: Set(canary),
                created_at: Set(now_millis()),
            })
            .on_conflict_do_nothing() // two replicas starting at once: the first wins
            .exec_without_returning(db)
            .await;
            insert.map_err(Error::from)?;
            // Whichever replica won, the stored canary must open with our keys.
            Box::pin(verify(db, cipher)).await
        }
        Some(_) => verify(db, cipher).await,
    }
}

async fn verify(db: &Db, cipher: &Cipher) -> Result<(), VaultError> {
    let Some(row) = vault::Entity::find_by_id(1).one(db).await.map_err(Error::from)? else {
        return Ok(());
    };
    match cipher.open(&row.canary, CANARY_AAD) {
        Ok(_) => Ok(()),
        Err(_) => Err(VaultError::WrongKey {
            sealed_with: Cipher::sealed_with(&row.canary).unwrap_or_else(|| "?".to_owned()),
            primary: cipher.primary_key_id(),
        }),
    }
}

/// How many rows a rotation re-sealed and how many were already current.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    pub resealed: u64,
    pub current: u64,
}

const BATCH: u64 = 200;

/// Re-seals every sealed column under the primary key, in batches by id. Safe to run while
/// servers are serving and to interrupt: each row is updated only if it still holds the value
/// that was read (a concurrent write already sealed it with the primary key), and rows already
/// sealed with the primary key are skipped, so a second run resumes where the first stopped.
pub async fn rotate(db: &Db, cipher: &Cipher) -> Result<RotationReport, Error> {
    let mut report = RotationReport::default();
    // Integrations.
    let mut after = 0i64;
    loop {
        let rows = integration::Entity::find()
            .filter(integration::Column::Id.gt(after))
            .order_by_asc(integration::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in rows {
            if cipher.is_sealed_with_primary(&row.settings) {
                report.current += 1;
                continue;
            }
            let aad = super::integration::aad(row.environment_id, &row.unique_key);
            let resealed = cipher.reseal(&row.settings, &aad)?;
            integration::Entity::update_many()
                .col_expr(integration::Column::Settings, Expr::value(resealed))
                .filter(integration::Column::Id.eq(row.id))
                .filter(integration::Column::Settings.eq(row.settings))
                .exec(db)
                .await?;
            report.resealed += 1;
        }
    }
    // Connections.
    let mut after = 0i64;
    loop {
        let rows = connection::Entity::find()
            .filter(connection::Column::Id.gt(after))
            .order_by_asc(connection::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in rows {
            if cipher.is_sealed_with_primary(&row.credentials) {
                report.current += 1;
                continue;
            }
            let aad = super::connection::aad(row.environment_id, row.integration_id, &row.connection_id);
            let resealed = cipher.reseal(&row.credentials, &aad)?;
            connection::Entity::update_many()
                .col_expr(connection::Column::Credentials, Expr::value(resealed))
                .filter(connection::Column::Id.eq(row.id))
                .filter(connection::Column::Credentials.eq(row.credentials))
                .exec(db)
                .await?;
            report.resealed += 1;
        }
    }
    // Webhook signing keys (one per environment).
    let (resealed, current) = super::webhook::reseal_all(db, cipher).await?;
    report.resealed += resealed;
    report.current += current;
    // The canary last: once it is sealed with the new key, the old one is no longer needed.
    if let Some(row) = vault::Entity::find_by_id(1).one(db).await?
        && !cipher.is_sealed_with_primary(&row.canary)
    {
        let resealed = cipher.reseal(&row.canary, CANARY_AAD)?;
        vault::Entity::update_many()
            .col_expr(vault::Column::Canary, Expr::value(resealed))
            .filter(vault::Column::Id.eq(1))
            .exec(db)
            .await?;
    }
    Ok(report)
}

/// Whether anything is still sealed with a key other than the primary one.
pub async fn pending(db: &Db, cipher: &Cipher) -> Result<u64, Error> {
    let mut pending = 0;
    for row in integration::Entity::find().all(db).await? {
        pending += u64::from(!cipher.is_sealed_with_primary(&row.settings));
    }
    for row in connection::Entity::find().all(db).await? {
        pending += u64::from(!cipher.is_sealed_with_primary(&row.credentials));
    }
    pending += super::webhook::pending(db, cipher).await?;
    Ok(pending)
}
