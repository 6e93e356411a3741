//! Syncs between runs and the records they store: schedules, frequencies, run results,
//! record cursors. `RunResult` and `SyncState` are stored formats (JSON columns): see the
//! tests at the end before renaming anything.

use std::{collections::BTreeMap, time::Duration};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::id::{EnvironmentId, IntegrationId};

/// Whether a schedule runs on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleStatus {
    Started,
    Paused,
}

impl ScheduleStatus {
    /// The stored (and Nango's) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Started => "STARTED",
            Self::Paused => "PAUSED",
        }
    }

    /// The status called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "STARTED" => Some(Self::Started),
            "PAUSED" => Some(Self::Paused),
            _ => None,
        }
    }
}

/// What happens to a sync record that does not match its model's JSON schema (per
/// environment, `NANGO_RECORD_VALIDATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordValidation {
    /// The record is not stored; the run's log says why.
    Reject,
    /// The record is stored; the run's log says what is wrong with it.
    Log,
}

/// The validation of environment `env` in `settings` (`(environment, mode)` pairs; `""`
/// names the default); `Reject` when neither is set.
pub fn validation_for(settings: &[(String, RecordValidation)], env: &str) -> RecordValidation {
    let find = |n: &str| settings.iter().find(|(e, _)| e == n).map(|(_, v)| *v);
    find(env).or_else(|| find("")).unwrap_or(RecordValidation::Reject)
}

/// A run asked for by `POST /sync/trigger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    /// Run as scheduled (incremental when the sync has run before).
    Run,
    /// `reset`: run from scratch (no `lastSyncDate`, no checkpoint).
    Full,
    /// `reset` and `emptyCache`: also delete the records first.
    FullClear,
}

impl TriggerKind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Full => "full",
            Self::FullClear => "full_clear",
        }
    }

    /// The kind called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "run" => Some(Self::Run),
            "full" => Some(Self::Full),
            "full_clear" => Some(Self::FullClear),
            _ => None,
        }
    }

    /// The stronger of two pending triggers (a reset is not lost to a later plain run).
    pub fn max(self, other: Self) -> Self {
        let rank = |k: Self| match k {
            Self::Run => 0,
            Self::Full => 1,
            Self::FullClear => 2,
        };
        if rank(other) > rank(self) { other } else { self }
    }
}

/// Shortest frequency Nango accepts.
pub const MIN_FREQUENCY: Duration = Duration::from_secs(30);

/// Why a frequency string is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrequencyError {
    /// Not `every <n> <unit>` or one of the named forms.
    Invalid,
    /// Shorter than [`MIN_FREQUENCY`].
    TooShort,
}

/// Parses Nango's frequency strings (`every day`, `every 5 minutes`, `every 2h`, `every half
/// hour`, …) as Nango does: the named forms, else what follows `every ` read by the `ms`
/// package's rules (a number, an optional space, a unit from milliseconds to years; no unit
/// means milliseconds). At least 30 seconds.
pub fn parse_frequency(runs: &str) -> Result<Duration, FrequencyError> {
    let named = match runs {
        "every half day" => Some("12h"),
        "every half hour" => Some("30m"),
        "every quarter hour" => Some("15m"),
        "every hour" => Some("1h"),
        "every day" => Some("1d"),
        "every month" => Some("30d"),
        "every week" => Some("7d"),
        _ => None,
    };
    let interval = named.map_or_else(|| runs.replacen("every ", "", 1), str::to_owned);
    let ms = ms(interval.trim()).ok_or(FrequencyError::Invalid)?;
    if !(ms.is_finite() && ms > 0.0) || ms > 1e15 {
        return Err(FrequencyError::Invalid);
    }
    let duration = Duration::from_millis(ms as u64);
    if duration < MIN_FREQUENCY {
        return Err(FrequencyError::TooShort);
    }
    Ok(duration)
}

/// The `ms` package's parser: `<number>[ ]<unit>`, case-insensitive.
fn ms(s: &str) -> Option<f64> {
    if s.is_empty() || s.len() > 100 {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let split = lower.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let n: f64 = number.parse().ok()?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit);
    let factor = match unit {
        "years" | "year" | "yrs" | "yr" | "y" => 365.25 * 86_400_000.0,
        "weeks" | "week" | "w" => 7.0 * 86_400_000.0,
        "days" | "day" | "d" => 86_400_000.0,
        "hours" | "hour" | "hrs" | "hr" | "h" => 3_600_000.0,
        "minutes" | "minute" | "mins" | "min" | "m" => 60_000.0,
        "seconds" | "second" | "secs" | "sec" | "s" => 1000.0,
        "milliseconds" | "millisecond" | "msecs" | "msec" | "ms" | "" => 1.0,
        _ => return None,
    };
    Some(n * factor)
}

/// What one run did to one model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelCounts {
    pub added: u64,
    pub updated: u64,
    pub deleted: u64,
}

impl ModelCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: Self) {
        self.added += other.added;
        self.updated += other.updated;
        self.deleted += other.deleted;
    }

    /// Whether anything changed.
    pub const fn changed(&self) -> bool {
        self.added + self.updated + self.deleted > 0
    }
}

/// A run's counts per model (`latestResult` of `GET /sync/status`).
pub type RunResult = BTreeMap<String, ModelCounts>;

/// A schedule's state that functions write between runs (`sync_schedules.checkpoint`): the
/// checkpoint of `nango.saveCheckpoint`, and where deletion tracking started per model
/// (`nango.trackDeletesStart`: the run from which records count as seen).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_deletes: BTreeMap<String, i64>,
}

/// The schedule of one sync for one connection.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub id: i64,
    pub environment_id: EnvironmentId,
    pub integration_id: IntegrationId,
    pub connection_row: i64,
    pub sync_name: String,
    pub status: ScheduleStatus,
    /// The connection's own frequency, overriding the sync's.
    pub frequency: Option<String>,
    pub next_run_at: Option<i64>,
    pub trigger: Option<TriggerKind>,
    /// Claims so far; the claim that starts a run is the run's number (records it saves carry it).
    pub claims: i64,
    pub lease_until: Option<i64>,
    pub run_started_at: Option<i64>,
    pub last_sync_date: Option<i64>,
    pub state: SyncState,
    /// `SUCCESS` or `ERROR`.
    pub last_status: Option<String>,
    /// `INITIAL` or `INCREMENTAL`.
    pub last_type: Option<String>,
    pub last_finished_at: Option<i64>,
    pub last_result: RunResult,
    pub last_error: Option<String>,
}

impl Schedule {
    /// Whether a replica holds it (a run is in progress) at `now`.
    pub fn running(&self, now: i64) -> bool {
        self.lease_until.is_some_and(|until| until > now)
    }
}

/// Which records a page holds.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    /// Only records changed at or after this time.
    pub modified_after: Option<i64>,
    /// Only these external ids.
    pub ids: Option<Vec<String>>,
    /// After this `(updated_at, id)` position.
    pub after: Option<(i64, i64)>,
    pub added: bool,
    pub updated: bool,
    pub deleted: bool,
    pub limit: u64,
}

/// A stored record as `GET /records` and the functions read it.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub id: i64,
    pub external_id: String,
    pub data: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

impl StoredRecord {
    /// Nango's `last_action`: computed, not stored.
    pub fn last_action(&self) -> &'static str {
        if self.deleted_at.is_some() {
            "DELETED"
        } else if self.created_at == self.updated_at {
            "ADDED"
        } else {
            "UPDATED"
        }
    }

    /// This record's position in `(updated_at, id)` order, as an opaque cursor.
    pub fn cursor(&self) -> String {
        encode_cursor(self.updated_at, self.id)
    }
}

/// Nango's cursor format: base64 of `<last_modified_at ISO>||<row id>`.
pub fn encode_cursor(updated_at: i64, id: i64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{}||{id}", iso(updated_at)))
}

/// The position a cursor names; `None` for anything [`encode_cursor`] did not produce.
pub fn decode_cursor(cursor: &str) -> Option<(i64, i64)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (at, id) = text.split_once("||")?;
    let at = chrono::DateTime::parse_from_rfc3339(at).ok()?.timestamp_millis();
    Some((at, id.parse().ok()?))
}

/// Milliseconds since the epoch as Nango's ISO form (`2026-11-29T06:00:00.000Z`).
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_parse_as_nango_reads_them() {
        let min = |m: u64| Ok(Duration::from_secs(m * 60));
        assert_eq!(parse_frequency("every day"), min(24 * 60));
        assert_eq!(parse_frequency("every hour"), min(60));
        assert_eq!(parse_frequency("every half hour"), min(30));
        assert_eq!(parse_frequency("every quarter hour"), min(15));
        assert_eq!(parse_frequency("every half day"), min(12 * 60));
        assert_eq!(parse_frequency("every week"), min(7 * 24 * 60));
        assert_eq!(parse_frequency("every month"), min(30 * 24 * 60));
        assert_eq!(parse_frequency("every 5 minutes"), min(5));
        assert_eq!(parse_frequency("every 5min"), min(5));
        assert_eq!(parse_frequency("every 2h"), min(120));
        assert_eq!(parse_frequency("every 1.5 hours"), min(90));
        assert_eq!(parse_frequency("every 30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_frequency("every 30 Seconds"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_frequency("every 29s"), Err(FrequencyError::TooShort));
        assert_eq!(parse_frequency("every 1000"), Err(FrequencyError::TooShort));
        assert_eq!(parse_frequency("every fortnight"), Err(FrequencyError::Invalid));
        assert_eq!(parse_frequency("every"), Err(FrequencyError::Invalid));
        assert_eq!(parse_frequency("every -5 minutes"), Err(FrequencyError::Invalid));
        assert_eq!(parse_frequency("every 5 parsecs"), Err(FrequencyError::Invalid));
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let at = 1_795_000_000_123;
        let cursor = encode_cursor(at, 42);
        assert_eq!(decode_cursor(&cursor), Some((at, 42)));
        let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&cursor).unwrap()).unwrap();
        assert!(text.ends_with("Z||42"), "{text}");
        for bad in ["", "!!", "bm9wZQ==", &base64::engine::general_purpose::STANDARD.encode("x||1")] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn last_action_is_computed_as_nango_does() {
        let mut r = StoredRecord {
            id: 1,
            external_id: "a".into(),
            data: "{}".into(),
            created_at: 5,
            updated_at: 5,
            deleted_at: None,
        };
        assert_eq!(r.last_action(), "ADDED");
        r.updated_at = 6;
        assert_eq!(r.last_action(), "UPDATED");
        r.deleted_at = Some(6);
        assert_eq!(r.last_action(), "DELETED");
    }

    /// Stored formats: `sync_schedules.last_result` and `sync_schedules.checkpoint`.
    #[test]
    fn stored_sync_columns_still_read() {
        let stored = r#"{"Item":{"added":250,"updated":0,"deleted":1}}"#;
        let mut expected = RunResult::new();
        expected.insert("Item".into(), ModelCounts { added: 250, updated: 0, deleted: 1 });
        assert_eq!(serde_json::from_str::<RunResult>(stored).unwrap(), expected);
        assert_eq!(serde_json::to_string(&expected).unwrap(), stored);

        let stored = r#"{"checkpoint":{"page":3,"since":"2026-01-01"},"track_deletes":{"Item":7}}"#;
        let mut state = SyncState::default();
        let mut checkpoint = Map::new();
        checkpoint.insert("page".into(), Value::from(3));
        checkpoint.insert("since".into(), Value::from("2026-01-01"));
        state.checkpoint = Some(checkpoint);
        state.track_deletes.insert("Item".into(), 7);
        assert_eq!(serde_json::from_str::<SyncState>(stored).unwrap(), state);
        assert_eq!(serde_json::to_string(&state).unwrap(), stored);
        assert_eq!(serde_json::from_str::<SyncState>("{}").unwrap(), SyncState::default());
    }
}
