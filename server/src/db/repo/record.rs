//! The records syncs store: one row per (connection, model, external id). A batch is read
//! once (what exists) and written with one multi-row upsert; `GET /records` pages by
//! `(updated_at, id)`.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait as _, OnConflict},
};

use crate::{
    db::{Error, entity::record as r},
    model::sync::{PageQuery, StoredRecord},
};

/// What is stored for one external id, as a batch needs it.
#[derive(Debug, Clone)]
pub struct Existing {
    pub id: i64,
    pub data_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    /// The record's JSON (only when asked for: `batchUpdate` merges into it).
    pub data: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct ExistingRow {
    id: i64,
    external_id: String,
    data_hash: String,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
}

/// The stored rows of `ids` (external ids) of one model, by external id.
pub async fn existing(
    db: &impl ConnectionTrait,
    connection_row: i64,
    model: &str,
    ids: &[String],
    with_data: bool,
) -> Result<HashMap<String, Existing>, Error> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let base = r::Entity::find()
            .filter(r::Column::ConnectionRow.eq(connection_row))
            .filter(r::Column::Model.eq(model))
            .filter(r::Column::ExternalId.is_in(chunk.iter().cloned()));
        if with_data {
            for m in base.all(db).await? {
                out.insert(
                    m.external_id,
                    Existing {
                        id: m.id,
                        data_hash: m.data_hash,
                        created_at: m.created_at,
                        updated_at: m.updated_at,
                        deleted_at: m.deleted_at,
                        data: Some(m.data),
                    },
                );
            }
        } else {
            let rows = base
                .select_only()
                .columns([
                    r::Column::Id,
                    r::Column::ExternalId,
                    r::Column::DataHash,
                    r::Column::CreatedAt,
                    r::Column::UpdatedAt,
                    r::Column::DeletedAt,
                ])
                .into_model::<ExistingRow>()
                .all(db)
                .await?;
            for m in rows {
                out.insert(
                    m.external_id,
                    Existing {
                        id: m.id,
                        data_hash: m.data_hash,
                        created_at: m.created_at,
                        updated_at: m.updated_at,
                        deleted_at: m.deleted_at,
                        data: None,
                    },
                );
            }
        }
    }
    Ok(out)
}

#[derive(Debug, FromQueryResult)]
struct Latest {
    latest: Option<i64>,
}

/// The latest `updated_at` of a model's records (a writer's next change must sort after it).
pub async fn latest_change(db: &impl ConnectionTrait, connection_row: i64, model: &str) -> Result<Option<i64>, Error> {
    let row = r::Entity::find()
        .select_only()
        .column_as(r::Column::UpdatedAt.max(), "latest")
        .filter(r::Column::ConnectionRow.eq(connection_row))
        .filter(r::Column::Model.eq(model))
        .into_model::<Latest>()
        .one(db)
        .await?;
    Ok(row.and_then(|l| l.latest))
}

/// A record's new state.
#[derive(Debug, Clone)]
pub struct Write {
    pub external_id: String,
    pub data: String,
    pub data_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub seen_run: i64,
}

/// Writes records (insert, or replace the stored state) in one statement per 500 rows.
pub async fn upsert(
    db: &impl ConnectionTrait,
    connection_row: i64,
    model: &str,
    rows: Vec<Write>,
) -> Result<(), Error> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<r::ActiveModel> = rows
            .by_ref()
            .take(500)
            .map(|w| r::ActiveModel {
                connection_row: Set(connection_row),
                model: Set(model.to_owned()),
                external_id: Set(w.external_id),
                data: Set(w.data),
                data_hash: Set(w.data_hash),
                created_at: Set(w.created_at),
                updated_at: Set(w.updated_at),
                deleted_at: Set(w.deleted_at),
                seen_run: Set(Some(w.seen_run)),
                ..Default::default()
            })
            .collect();
        r::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([r::Column::ConnectionRow, r::Column::Model, r::Column::ExternalId])
                    .update_columns([
                        r::Column::Data,
                        r::Column::DataHash,
                        r::Column::CreatedAt,
                        r::Column::UpdatedAt,
                        r::Column::DeletedAt,
                        r::Column::SeenRun,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Marks unchanged records as seen by run `run` (deletion tracking).
pub async fn mark_seen(db: &impl ConnectionTrait, ids: &[i64], run: i64) -> Result<(), Error> {
    for chunk in ids.chunks(500) {
        r::Entity::update_many()
            .col_expr(r::Column::SeenRun, Expr::value(run))
            .filter(r::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct Key {
    id: i64,
    external_id: String,
}

/// Soft-deletes, at `at`, the live records of a model that no run since `since_run` saved;
/// answers their external ids.
pub async fn delete_unseen(
    db: &impl ConnectionTrait,
    connection_row: i64,
    model: &str,
    since_run: i64,
    at: i64,
) -> Result<Vec<String>, Error> {
    let unseen = Condition::any().add(r::Column::SeenRun.is_null()).add(r::Column::SeenRun.lt(since_run));
    let keys = r::Entity::find()
        .select_only()
        .columns([r::Column::Id, r::Column::ExternalId])
        .filter(r::Column::ConnectionRow.eq(connection_row))
        .filter(r::Column::Model.eq(model))
        .filter(r::Column::DeletedAt.is_null())
        .filter(unseen)
        .into_model::<Key>()
        .all(db)
        .await?;
    let ids: Vec<i64> = keys.iter().map(|k| k.id).collect();
    for chunk in ids.chunks(500) {
        r::Entity::update_many()
            .col_expr(r::Column::DeletedAt, Expr::value(at))
            .col_expr(r::Column::UpdatedAt, Expr::value(at))
            .filter(r::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(keys.into_iter().map(|k| k.external_id).collect())
}

/// Soft-deletes records by id at `at`.
pub async fn soft_delete(db: &impl ConnectionTrait, ids: &[i64], at: i64) -> Result<(), Error> {
    for chunk in ids.chunks(500) {
        r::Entity::update_many()
            .col_expr(r::Column::DeletedAt, Expr::value(at))
            .col_expr(r::Column::UpdatedAt, Expr::value(at))
            .filter(r::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// One page of a model's records in `(updated_at, id)` order (at most `limit` rows).
pub async fn page(
    db: &impl ConnectionTrait,
    connection_row: i64,
    model: &str,
    q: &PageQuery,
) -> Result<Vec<StoredRecord>, Error> {
    let mut find = r::Entity::find()
        .filter(r::Column::ConnectionRow.eq(connection_row))
        .filter(r::Column::Model.eq(model))
        .order_by_asc(r::Column::UpdatedAt)
        .order_by_asc(r::Column::Id)
        .limit(q.limit);
    if let Some(after) = q.modified_after {
        find = find.filter(r::Column::UpdatedAt.gte(after));
    }
    if let Some((at, id)) = q.after {
        // A row-value comparison: PostgreSQL turns it into one range of the
        // (connection_row, model, updated_at, id) index, where the equivalent `a > x OR (a = x
        // AND b > y)` scans (46-182 ms a page against 0.8 ms, bench/syncs.sh). SQLite has row
        // values since 3.15.
        let position = Expr::tuple([Expr::col(r::Column::UpdatedAt), Expr::col(r::Column::Id)]);
        find = find.filter(position.gt(Expr::tuple([Expr::val(at), Expr::val(id)])));
    }
    if let Some(ids) = &q.ids {
        find = find.filter(r::Column::ExternalId.is_in(ids.iter().cloned()));
    }
    if !(q.added && q.updated && q.deleted) {
        let same = || Expr::col(r::Column::CreatedAt).equals(r::Column::UpdatedAt);
        let mut any = Condition::any();
        if q.added {
            any = any.add(Condition::all().add(r::Column::DeletedAt.is_null()).add(same()));
        }
        if q.updated {
            any = any.add(Condition::all().add(r::Column::DeletedAt.is_null()).add(same().not()));
        }
        if q.deleted {
            any = any.add(r::Column::DeletedAt.is_not_null());
        }
        find = find.filter(any);
    }
    Ok(find
        .all(db)
        .await?
        .into_iter()
        .map(|m| StoredRecord {
            id: m.id,
            external_id: m.external_id,
            data: m.data,
            created_at: m.created_at,
            updated_at: m.updated_at,
            deleted_at: m.deleted_at,
        })
        .collect())
}

#[derive(Debug, FromQueryResult)]
struct ModelCount {
    model: String,
    n: i64,
}

/// Live (not deleted) records per model of a connection.
pub async fn counts(db: &impl ConnectionTrait, connection_row: i64) -> Result<BTreeMap<String, u64>, Error> {
    let rows = r::Entity::find()
        .select_only()
        .column(r::Column::Model)
        .column_as(r::Column::Id.count(), "n")
        .filter(r::Column::ConnectionRow.eq(connection_row))
        .filter(r::Column::DeletedAt.is_null())
        .group_by(r::Column::Model)
        .into_model::<ModelCount>()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|c| (c.model, u64::try_from(c.n).unwrap_or(0))).collect())
}

/// Deletes (for good) a connection's records of `models` (`emptyCache`).
pub async fn delete_all(db: &impl ConnectionTrait, connection_row: i64, models: &[String]) -> Result<u64, Error> {
    let result = r::Entity::delete_many()
        .filter(r::Column::ConnectionRow.eq(connection_row))
        .filter(r::Column::Model.is_in(models.iter().cloned()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
