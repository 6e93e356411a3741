//! Webhook settings (signing key sealed) and the durable outbox. A delivery is claimed by a
//! conditional update that sets a lease, so among replicas sharing a database exactly one
//! sends it at a time; an expired lease (a replica died mid-delivery) makes it due again.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};

use super::now_millis;
use crate::{
    crypto::Cipher,
    db::{
        Db, Error,
        entity::{webhook_outbox, webhook_settings},
    },
    model::id::EnvironmentId,
    model::webhook::WebhookSettings,
};

/// Associated data of an environment's sealed signing key.
pub fn aad(environment_id: i64) -> Vec<u8> {
    format!("webhook-signing-key:{environment_id}").into_bytes()
}

/// Associated data of an environment's sealed Slack URL.
fn slack_aad(environment_id: i64) -> Vec<u8> {
    format!("slack-url:{environment_id}").into_bytes()
}

/// The environment's settings, if any were stored.
pub async fn settings(
    db: &Db,
    cipher: &Cipher,
    environment_id: EnvironmentId,
) -> Result<Option<WebhookSettings>, Error> {
    let Some(row) = webhook_settings::Entity::find_by_id(environment_id.0).one(db).await? else { return Ok(None) };
    let key = cipher.open(&row.signing_key, &aad(environment_id.0))?;
    let slack_url = match &row.slack_url {
        Some(sealed) => Some(String::from_utf8_lossy(&cipher.open(sealed, &slack_aad(environment_id.0))?).into_owned()),
        None => None,
    };
    Ok(Some(WebhookSettings {
        primary_url: row.primary_url,
        secondary_url: row.secondary_url,
        signing_key: String::from_utf8_lossy(&key).into_owned(),
        on_auth_creation: row.on_auth_creation,
        on_auth_refresh_error: row.on_auth_refresh_error,
        on_sync_completion_always: row.on_sync_completion_always,
        on_sync_error: row.on_sync_error,
        slack_url,
    }))
}

/// Stores the environment's settings (creates or replaces them).
pub async fn save(db: &Db, cipher: &Cipher, environment_id: EnvironmentId, s: &WebhookSettings) -> Result<(), Error> {
    let sealed = cipher.seal(s.signing_key.as_bytes(), &aad(environment_id.0))?;
    let slack_url =
        s.slack_url.as_ref().map(|u| cipher.seal(u.as_bytes(), &slack_aad(environment_id.0))).transpose()?;
    let model = webhook_settings::ActiveModel {
        environment_id: Set(environment_id.0),
        primary_url: Set(s.primary_url.clone()),
        secondary_url: Set(s.secondary_url.clone()),
        signing_key: Set(sealed),
        on_auth_creation: Set(s.on_auth_creation),
        on_auth_refresh_error: Set(s.on_auth_refresh_error),
        on_sync_completion_always: Set(s.on_sync_completion_always),
        on_sync_error: Set(s.on_sync_error),
        slack_url: Set(slack_url),
        updated_at: Set(now_millis()),
    };
    if webhook_settings::Entity::find_by_id(environment_id.0).one(db).await?.is_some() {
        model.update(db).await.map_err(Error::classify)?;
    } else {
        model.insert(db).await.map_err(Error::classify)?;
    }
    Ok(())
}

/// Queues one delivery of `body` per URL, due now.
pub async fn enqueue(
    db: &impl sea_orm::ConnectionTrait,
    environment_id: EnvironmentId,
    urls: &[String],
    body: &str,
) -> Result<(), Error> {
    let now = now_millis();
    for url in urls {
        webhook_outbox::ActiveModel {
            environment_id: Set(environment_id.0),
            url: Set(url.clone()),
            body: Set(body.to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .map_err(Error::classify)?;
    }
    Ok(())
}

/// Deliveries due at `now` and not held by a live lease, oldest first.
pub async fn due(db: &Db, now: DateTime<Utc>, limit: u64) -> Result<Vec<webhook_outbox::Model>, Error> {
    Ok(webhook_outbox::Entity::find()
        .filter(webhook_outbox::Column::DeliveredAt.is_null())
        .filter(webhook_outbox::Column::FailedAt.is_null())
        .filter(webhook_outbox::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(webhook_outbox::Column::LeaseUntil.is_null())
                .add(webhook_outbox::Column::LeaseUntil.lt(now)),
        )
        .order_by_asc(webhook_outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Takes the delivery for this replica until `lease_until` and counts the attempt; `false`
/// when another replica took it first.
pub async fn claim(
    db: &Db,
    row: &webhook_outbox::Model,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, Error> {
    // `attempts` changes with every claim: of two replicas that read the same row, only one
    // update matches.
    let lease = Condition::any()
        .add(webhook_outbox::Column::LeaseUntil.is_null())
        .add(webhook_outbox::Column::LeaseUntil.lt(now));
    let result = webhook_outbox::Entity::update_many()
        .col_expr(webhook_outbox::Column::LeaseUntil, Expr::value(lease_until))
        .col_expr(webhook_outbox::Column::Attempts, Expr::value(row.attempts + 1))
        .filter(webhook_outbox::Column::Id.eq(row.id))
        .filter(webhook_outbox::Column::Attempts.eq(row.attempts))
        .filter(webhook_outbox::Column::DeliveredAt.is_null())
        .filter(lease)
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records a successful delivery.
pub async fn delivered(db: &Db, id: i64) -> Result<(), Error> {
    webhook_outbox::Entity::update_many()
        .col_expr(webhook_outbox::Column::DeliveredAt, Expr::value(now_millis()))
        .col_expr(webhook_outbox::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(webhook_outbox::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Releases the delivery to be retried at `next`.
pub async fn retry_at(db: &Db, id: i64, next: DateTime<Utc>, error: &str) -> Result<(), Error> {
    webhook_outbox::Entity::update_many()
        .col_expr(webhook_outbox::Column::NextAttemptAt, Expr::value(next))
        .col_expr(webhook_outbox::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(webhook_outbox::Column::LastError, Expr::value(error.to_owned()))
        .filter(webhook_outbox::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives up on a delivery (kept, with its last error, for inspection).
pub async fn give_up(db: &Db, id: i64, error: &str) -> Result<(), Error> {
    webhook_outbox::Entity::update_many()
        .col_expr(webhook_outbox::Column::FailedAt, Expr::value(now_millis()))
        .col_expr(webhook_outbox::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(webhook_outbox::Column::LastError, Expr::value(error.to_owned()))
        .filter(webhook_outbox::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Re-seals every signing key and Slack URL under the primary key (key rotation); returns
/// (resealed, current) sealed values.
pub async fn reseal_all(db: &Db, cipher: &Cipher) -> Result<(u64, u64), Error> {
    let (mut resealed, mut current) = (0, 0);
    for row in webhook_settings::Entity::find().all(db).await? {
        if let Some(sealed) = row.slack_url.as_ref() {
            if cipher.is_sealed_with_primary(sealed) {
                current += 1;
            } else {
                let fresh = cipher.reseal(sealed, &slack_aad(row.environment_id))?;
                webhook_settings::Entity::update_many()
                    .col_expr(webhook_settings::Column::SlackUrl, Expr::value(fresh))
                    .filter(webhook_settings::Column::EnvironmentId.eq(row.environment_id))
                    .filter(webhook_settings::Column::SlackUrl.eq(sealed.clone()))
                    .exec(db)
                    .await?;
                resealed += 1;
            }
        }
        if cipher.is_sealed_with_primary(&row.signing_key) {
            current += 1;
            continue;
        }
        let fresh = cipher.reseal(&row.signing_key, &aad(row.environment_id))?;
        webhook_settings::Entity::update_many()
            .col_expr(webhook_settings::Column::SigningKey, Expr::value(fresh))
            .filter(webhook_settings::Column::EnvironmentId.eq(row.environment_id))
            .filter(webhook_settings::Column::SigningKey.eq(row.signing_key))
            .exec(db)
            .await?;
        resealed += 1;
    }
    Ok((resealed, current))
}

/// How many signing keys and Slack URLs are still sealed with an older key.
pub async fn pending(db: &Db, cipher: &Cipher) -> Result<u64, Error> {
    let rows = webhook_settings::Entity::find().all(db).await?;
    Ok(rows
        .iter()
        .flat_map(|r| std::iter::once(&r.signing_key).chain(r.slack_url.as_ref()))
        .filter(|sealed| !cipher.is_sealed_with_primary(sealed))
        .count() as u64)
}

/// Deliveries neither delivered nor given up.
pub async fn pending_count(db: &Db) -> Result<u64, Error> {
    use sea_orm::PaginatorTrait;
    Ok(webhook_outbox::Entity::find()
        .filter(webhook_outbox::Column::DeliveredAt.is_null())
        .filter(webhook_outbox::Column::FailedAt.is_null())
        .count(db)
        .await?)
}
