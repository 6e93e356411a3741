//! The records store with Nango's rules: one record per (connection, model, id); `id` is
//! required and kept as a string; a save changes a record only when its content changes; a
//! deleted record that comes back is added again; duplicates within a batch are dropped;
//! `batchUpdate` merges deeply; `batchDelete` soft-deletes. Reading (`GET /records` and the
//! functions' `listRecords`) pages by `(last_modified_at, row id)`.
//!
//! Ordering without gaps: every change a batch makes carries one timestamp, strictly later
//! than any change already stored for that (connection, model), and the batch commits in one
//! transaction. Runs of one sync never overlap, so a reader holding a cursor sees every later
//! change after its cursor: paging while a sync writes misses nothing and repeats nothing
//! but records that changed again.

use std::collections::{HashMap, HashSet};

use md5::Digest as _;
use serde_json::{Map, Value, json};

use super::{Context, Error};
use crate::{
    db::repo::{self, record::Write},
    model::sync::{ModelCounts, PageQuery, StoredRecord, iso},
};

/// Most records one `batchSave`/`batchUpdate`/`batchDelete` call may carry.
pub const MAX_BATCH: usize = 10_000;

/// A run's writer for one connection: the clock of each model (see the module's notes).
#[derive(Debug)]
pub struct Writer {
    pub connection_row: i64,
    /// The run's number (the schedule's claim): records a save touches are marked with it.
    pub run: i64,
    clocks: HashMap<String, i64>,
}

/// What one batch did.
#[derive(Debug, Default)]
pub struct Batch {
    pub counts: ModelCounts,
    /// Ids that appeared more than once in the batch (later copies dropped).
    pub duplicates: Vec<String>,
    /// Ids of `batchUpdate`/`batchDelete` records that are not stored (skipped).
    pub missing: Vec<String>,
}

/// Records with their ids (first copies), and the ids of dropped copies.
type Deduped = (Vec<(String, Value)>, Vec<String>);

/// A record refused by the store's rules (the function sees the message).
fn refuse(message: impl Into<String>) -> Error {
    Error::InvalidInput(message.into())
}

fn internal(e: crate::db::Error) -> Error {
    Error::internal("Failed to store records")(e)
}

/// The external id of `record`: its `id` as a string (numbers too).
pub fn external_id(record: &Value) -> Result<String, Error> {
    match record.get("id") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::String(s)) if s.len() > 255 => Err(refuse("A record's id is longer than 255 characters")),
        _ if !record.is_object() => Err(refuse("A record must be an object")),
        _ => Err(refuse("Missing id field in record: every record needs an `id` (a string or a number)")),
    }
}

fn hash(data: &str) -> String {
    hex::encode(md5::Md5::digest(data.as_bytes()))
}

/// Deep merge: objects merge key by key, anything else replaces.
pub fn merge(into: &mut Value, patch: Value) {
    match (into, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (k, v) in patch {
                match base.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (slot, patch) => *slot = patch,
    }
}

impl Writer {
    /// A writer for run `run` of `connection_row`.
    pub fn new(connection_row: i64, run: i64) -> Self {
        Self { connection_row, run, clocks: HashMap::new() }
    }

    /// The timestamp of the next change to `model`: now, or just after the latest stored one.
    async fn tick(&mut self, ctx: &Context, model: &str) -> Result<i64, Error> {
        let last = match self.clocks.get(model) {
            Some(t) => *t,
            None => {
                repo::record::latest_change(&ctx.db, self.connection_row, model).await.map_err(internal)?.unwrap_or(0)
            }
        };
        let at = chrono::Utc::now().timestamp_millis().max(last + 1);
        self.clocks.insert(model.to_owned(), at);
        Ok(at)
    }

    /// Keeps the first of each id; answers the records with their ids, and the duplicates.
    fn dedupe(records: Vec<Value>) -> Result<Deduped, Error> {
        let mut seen = HashSet::with_capacity(records.len());
        let mut out = Vec::with_capacity(records.len());
        let mut duplicates = Vec::new();
        for record in records {
            let id = external_id(&record)?;
            if seen.insert(id.clone()) {
                out.push((id, record));
            } else {
                duplicates.push(id);
            }
        }
        Ok((out, duplicates))
    }

    /// `batchSave`: adds new records, updates changed ones, brings deleted ones back.
    pub async fn save(&mut self, ctx: &Context, model: &str, records: Vec<Value>) -> Result<Batch, Error> {
        let (records, duplicates) = Self::dedupe(records)?;
        let ids: Vec<String> = records.iter().map(|(id, _)| id.clone()).collect();
        let existing =
            repo::record::existing(&ctx.db, self.connection_row, model, &ids, false).await.map_err(internal)?;
        let at = self.tick(ctx, model).await?;
        let mut batch = Batch { duplicates, ..Batch::default() };
        let mut writes = Vec::with_capacity(records.len());
        let mut unchanged = Vec::new();
        for (id, record) in records {
            let data = record.to_string();
            let data_hash = hash(&data);
            let created_at = match existing.get(&id) {
                None => {
                    batch.counts.added += 1;
                    at
                }
                Some(e) if e.deleted_at.is_some() => {
                    batch.counts.added += 1;
                    at
                }
                Some(e) if e.data_hash != data_hash => {
                    batch.counts.updated += 1;
                    e.created_at
                }
                Some(e) => {
                    unchanged.push(e.id);
                    continue;
                }
            };
            writes.push(Write {
                external_id: id,
                data,
                data_hash,
                created_at,
                updated_at: at,
                deleted_at: None,
                seen_run: self.run,
            });
        }
        self.write(ctx, model, writes, &unchanged, &[], at).await?;
        Ok(batch)
    }

    /// `batchUpdate`: merges each record into the stored one (records not stored, or
    /// deleted, are skipped).
    pub async fn update(&mut self, ctx: &Context, model: &str, records: Vec<Value>) -> Result<Batch, Error> {
        let (records, duplicates) = Self::dedupe(records)?;
        let ids: Vec<String> = records.iter().map(|(id, _)| id.clone()).collect();
        let existing =
            repo::record::existing(&ctx.db, self.connection_row, model, &ids, true).await.map_err(internal)?;
        let at = self.tick(ctx, model).await?;
        let mut batch = Batch { duplicates, ..Batch::default() };
        let mut writes = Vec::new();
        let mut unchanged = Vec::new();
        for (id, patch) in records {
            let Some(e) = existing.get(&id).filter(|e| e.deleted_at.is_none()) else {
                batch.missing.push(id);
                continue;
            };
            let mut merged: Value = serde_json::from_str(e.data.as_deref().unwrap_or("{}")).unwrap_or(json!({}));
            merge(&mut merged, patch);
            let data = merged.to_string();
            let data_hash = hash(&data);
            if data_hash == e.data_hash {
                unchanged.push(e.id);
                continue;
            }
            batch.counts.updated += 1;
            writes.push(Write {
                external_id: id,
                data,
                data_hash,
                created_at: e.created_at,
                updated_at: at,
                deleted_at: None,
                seen_run: self.run,
            });
        }
        self.write(ctx, model, writes, &unchanged, &[], at).await?;
        Ok(batch)
    }

    /// `batchDelete`: soft-deletes the stored records among `records` (only their ids count).
    pub async fn delete(&mut self, ctx: &Context, model: &str, records: Vec<Value>) -> Result<Batch, Error> {
        let (records, duplicates) = Self::dedupe(records)?;
        let ids: Vec<String> = records.into_iter().map(|(id, _)| id).collect();
        let existing =
            repo::record::existing(&ctx.db, self.connection_row, model, &ids, false).await.map_err(internal)?;
        let at = self.tick(ctx, model).await?;
        let mut batch = Batch { duplicates, ..Batch::default() };
        let mut deletes = Vec::new();
        for id in ids {
            match existing.get(&id) {
                Some(e) if e.deleted_at.is_none() => deletes.push(e.id),
                Some(_) => {}
                None => batch.missing.push(id),
            }
        }
        batch.counts.deleted = deletes.len() as u64;
        self.write(ctx, model, Vec::new(), &[], &deletes, at).await?;
        Ok(batch)
    }

    /// Soft-deletes the live records of `model` that no run since `since_run` saved
    /// (`trackDeletesEnd`, full syncs with `trackDeletes`); answers their ids.
    pub async fn delete_unseen(&mut self, ctx: &Context, model: &str, since_run: i64) -> Result<Vec<String>, Error> {
        let at = self.tick(ctx, model).await?;
        repo::record::delete_unseen(&ctx.db, self.connection_row, model, since_run, at).await.map_err(internal)
    }

    async fn write(
        &self,
        ctx: &Context,
        model: &str,
        writes: Vec<Write>,
        unchanged: &[i64],
        deletes: &[i64],
        at: i64,
    ) -> Result<(), Error> {
        use sea_orm::TransactionTrait;
        if writes.is_empty() && unchanged.is_empty() && deletes.is_empty() {
            return Ok(());
        }
        let txn = ctx.db.begin().await.map_err(|e| internal(e.into()))?;
        if !writes.is_empty() {
            repo::record::upsert(&txn, self.connection_row, model, writes).await.map_err(internal)?;
        }
        if !unchanged.is_empty() {
            repo::record::mark_seen(&txn, unchanged, self.run).await.map_err(internal)?;
        }
        if !deletes.is_empty() {
            repo::record::soft_delete(&txn, deletes, at).await.map_err(internal)?;
        }
        txn.commit().await.map_err(|e| internal(e.into()))
    }
}

/// A page of records as Nango answers it: `{next_cursor, records}`.
#[derive(Debug)]
pub struct Page {
    pub records: Vec<Value>,
    pub next_cursor: Option<String>,
}

/// One record as Nango returns it: its JSON, `id` as a string, and `_nango_metadata`.
pub fn shape(r: StoredRecord) -> Value {
    let mut data = match serde_json::from_str::<Value>(&r.data) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let cursor = r.cursor();
    let last_action = r.last_action();
    data.insert("id".to_owned(), Value::String(r.external_id));
    data.insert(
        "_nango_metadata".to_owned(),
        json!({
            "first_seen_at": iso(r.created_at),
            "last_modified_at": iso(r.updated_at),
            "last_action": last_action,
            "deleted_at": r.deleted_at.map(iso),
            "pruned_at": Value::Null,
            "cursor": cursor,
        }),
    );
    Value::Object(data)
}

/// A page of `model`'s records of a connection (`limit` at most), after `q.after`.
pub async fn page(ctx: &Context, connection_row: i64, model: &str, mut q: PageQuery) -> Result<Page, Error> {
    let limit = q.limit.max(1);
    q.limit = limit + 1;
    let mut rows = repo::record::page(&ctx.db, connection_row, model, &q)
        .await
        .map_err(Error::internal("Failed to fetch records"))?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(StoredRecord::cursor) } else { None };
    Ok(Page { records: rows.into_iter().map(shape).collect(), next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strings_and_required() {
        assert_eq!(external_id(&json!({"id": "a"})).unwrap(), "a");
        assert_eq!(external_id(&json!({"id": 12})).unwrap(), "12");
        assert_eq!(external_id(&json!({"id": 1.5})).unwrap(), "1.5");
        for bad in [json!({"name": "x"}), json!({"id": null}), json!({"id": ""}), json!({"id": {}}), json!(3)] {
            assert!(external_id(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn merge_is_deep_for_objects_only() {
        let mut base = json!({"a": 1, "o": {"x": 1, "y": {"z": 1}}, "l": [1, 2]});
        merge(&mut base, json!({"o": {"y": {"w": 2}}, "l": [3], "n": null}));
        assert_eq!(base, json!({"a": 1, "o": {"x": 1, "y": {"z": 1, "w": 2}}, "l": [3], "n": null}));
    }

    #[test]
    fn records_are_shaped_as_nango_returns_them() {
        let r = StoredRecord {
            id: 7,
            external_id: "42".into(),
            data: r#"{"id":42,"name":"x"}"#.into(),
            created_at: 1_000,
            updated_at: 2_000,
            deleted_at: None,
        };
        let v = shape(r);
        assert_eq!(v["id"], "42");
        assert_eq!(v["name"], "x");
        assert_eq!(v["_nango_metadata"]["last_action"], "UPDATED");
        assert_eq!(v["_nango_metadata"]["first_seen_at"], "1970-01-01T00:00:01.000Z");
        assert_eq!(v["_nango_metadata"]["deleted_at"], Value::Null);
        assert!(v["_nango_metadata"]["cursor"].is_string());
    }
}
