//! Deployed functions: one row per (integration, name, kind), code included.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::now_millis;
use crate::{
    db::{
        Db, Error,
        entity::{function, integration},
    },
    model::{
        function::{FunctionKind, NewFunction, StoredFunction},
        id::{EnvironmentId, IntegrationId},
    },
};

fn read(m: function::Model, provider_config_key: String) -> Result<StoredFunction, Error> {
    Ok(StoredFunction {
        id: m.id,
        environment_id: EnvironmentId(m.environment_id),
        integration_id: IntegrationId(m.integration_id),
        provider_config_key,
        kind: FunctionKind::parse(&m.kind).unwrap_or(FunctionKind::Action),
        config: serde_json::from_str(&m.config)?,
        name: m.name,
        version: m.version,
        code: m.code,
        source: m.source,
        code_hash: m.code_hash,
        sdk_version: m.sdk_version,
        enabled: m.enabled,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Every function of the environment (of one integration when given), by integration key
/// then name.
pub async fn list(
    db: &Db,
    environment_id: EnvironmentId,
    integration: Option<IntegrationId>,
) -> Result<Vec<StoredFunction>, Error> {
    let mut query = function::Entity::find()
        .find_also_related(integration::Entity)
        .filter(function::Column::EnvironmentId.eq(environment_id));
    if let Some(id) = integration {
        query = query.filter(function::Column::IntegrationId.eq(id));
    }
    let rows = query.order_by_asc(function::Column::Id).all(db).await?;
    let mut out: Vec<StoredFunction> = rows
        .into_iter()
        .map(|(f, i)| read(f, i.map(|i| i.unique_key).unwrap_or_default()))
        .collect::<Result<_, _>>()?;
    out.sort_by(|a, b| (&a.provider_config_key, &a.name).cmp(&(&b.provider_config_key, &b.name)));
    Ok(out)
}

/// One function of an integration.
pub async fn find(
    db: &Db,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    provider_config_key: &str,
    name: &str,
    kind: Option<FunctionKind>,
) -> Result<Option<StoredFunction>, Error> {
    Ok(matching(db, environment_id, integration_id, provider_config_key, name, kind).await?.into_iter().next())
}

/// The functions of an integration called `name` (of `kind`, or of any kind): at most two, a
/// sync and an action, enough for a caller to tell a unique match from an ambiguous one.
pub async fn matching(
    db: &Db,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    provider_config_key: &str,
    name: &str,
    kind: Option<FunctionKind>,
) -> Result<Vec<StoredFunction>, Error> {
    let mut query = function::Entity::find()
        .filter(function::Column::EnvironmentId.eq(environment_id))
        .filter(function::Column::IntegrationId.eq(integration_id))
        .filter(function::Column::Name.eq(name));
    if let Some(kind) = kind {
        query = query.filter(function::Column::Kind.eq(kind.as_str()));
    }
    let rows = query.order_by_asc(function::Column::Id).limit(2).all(db).await?;
    rows.into_iter().map(|m| read(m, provider_config_key.to_owned())).collect()
}

/// Creates the function, or replaces what an earlier deploy stored under the same
/// (integration, name, kind), keeping its creation time and enabled flag.
pub async fn upsert(
    db: &impl ConnectionTrait,
    environment_id: EnvironmentId,
    integration_id: IntegrationId,
    provider_config_key: &str,
    new: NewFunction,
) -> Result<StoredFunction, Error> {
    let now = now_millis();
    let existing = function::Entity::find()
        .filter(function::Column::IntegrationId.eq(integration_id))
        .filter(function::Column::Name.eq(new.name.as_str()))
        .filter(function::Column::Kind.eq(new.kind.as_str()))
        .one(db)
        .await?;
    let config = serde_json::to_string(&new.config)?;
    let row = match existing {
        Some(row) => {
            let mut active: function::ActiveModel = row.into();
            active.version = Set(new.version);
            active.code = Set(new.code);
            active.source = Set(new.source);
            active.code_hash = Set(new.code_hash);
            active.config = Set(config);
            active.sdk_version = Set(new.sdk_version);
            active.updated_at = Set(now);
            active.update(db).await?
        }
        None => function::ActiveModel {
            environment_id: Set(environment_id.0),
            integration_id: Set(integration_id.0),
            name: Set(new.name),
            kind: Set(new.kind.as_str().to_owned()),
            version: Set(new.version),
            code: Set(new.code),
            source: Set(new.source),
            code_hash: Set(new.code_hash),
            config: Set(config),
            sdk_version: Set(new.sdk_version),
            enabled: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .map_err(Error::classify)?,
    };
    read(row, provider_config_key.to_owned())
}

/// Deletes a function; whether it existed.
pub async fn delete(db: &impl ConnectionTrait, environment_id: EnvironmentId, id: i64) -> Result<bool, Error> {
    let done = function::Entity::delete_many()
        .filter(function::Column::EnvironmentId.eq(environment_id))
        .filter(function::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// One deploy, all or nothing: writes every function in `writes` and deletes the rows in
/// `deletes`, in one transaction; answers the written functions in order.
pub async fn apply_deploy(
    db: &Db,
    environment_id: EnvironmentId,
    writes: Vec<(IntegrationId, String, NewFunction)>,
    deletes: &[i64],
) -> Result<Vec<StoredFunction>, Error> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    // Write first: SQLite then takes the write lock at once (a read-then-write transaction
    // fails with SQLITE_BUSY_SNAPSHOT when another connection wrote in between), and
    // PostgreSQL locks the environment's rows, so concurrent deploys of one environment
    // apply one after the other on every replica.
    function::Entity::update_many()
        .col_expr(function::Column::Enabled, sea_orm::sea_query::Expr::col(function::Column::Enabled))
        .filter(function::Column::EnvironmentId.eq(environment_id))
        .exec(&txn)
        .await?;
    let mut written = Vec::with_capacity(writes.len());
    for (integration_id, key, new) in writes {
        written.push(upsert(&txn, environment_id, integration_id, &key, new).await?);
    }
    for id in deletes {
        delete(&txn, environment_id, *id).await?;
    }
    // Schedules follow in the same transaction: one per (sync, connection), none for syncs
    // that were removed.
    super::sync::reconcile(&txn, Some(environment_id), None, super::now_millis().timestamp_millis()).await?;
    txn.commit().await?;
    Ok(written)
}
