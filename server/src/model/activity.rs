//! Call history: one record per finished call, the queries over it and the health derived
//! from it.

use super::id::EnvironmentId;

/// What kind of call a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Api,
    Proxy,
}

impl Kind {
    /// The stored and wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Proxy => "proxy",
        }
    }
}

/// One finished call. Holds no credentials, keys, tokens, query strings or bodies.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub environment_id: EnvironmentId,
    pub request_id: String,
    /// When it finished, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub kind: Kind,
    pub operation: Option<&'static str>,
    pub method: String,
    /// Path without the query string.
    pub path: String,
    pub status: u16,
    pub duration_ms: f64,
    pub integration: Option<String>,
    pub connection_id: Option<String>,
    /// The connection's row (proxied calls that reached a connection).
    pub connection_row: Option<i64>,
    pub upstream_host: Option<String>,
    pub upstream_path: Option<String>,
    pub upstream_status: Option<u16>,
    pub attempts: Option<u32>,
    pub error_code: Option<String>,
    /// The function this call ran (action triggers and asynchronous runs).
    pub function: Option<FunctionCall>,
}

/// What a call that ran a function did. A stored format (a JSON column of `request_logs`): see
/// the tests at the end before renaming anything.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FunctionCall {
    pub name: String,
    pub version: Option<String>,
    /// `success`, or the failure's code (`action_script_runtime_error`, …).
    pub outcome: String,
    /// The run's `nango.log` and `console` lines, as `(level, message)`.
    pub logs: Vec<(String, String)>,
    /// Calls it made through the proxy (each is its own `proxy` record with this request id).
    pub proxied_calls: u32,
}

impl CallRecord {
    /// A proxied call that got a 2xx or 3xx from the upstream.
    pub fn succeeded(&self) -> bool {
        self.status < 400
    }
}

/// Which statuses a log query matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this status.
    Exact(u16),
    /// `n`xx: `[n*100, n*100+99]`.
    Class(u16),
    /// Below 400.
    Success,
    /// 400 and above.
    Failure,
}

impl StatusFilter {
    /// The inclusive range of statuses matched.
    pub const fn range(self) -> (u16, u16) {
        match self {
            Self::Exact(n) => (n, n),
            Self::Class(n) => (n * 100, n * 100 + 99),
            Self::Success => (0, 399),
            Self::Failure => (400, 999),
        }
    }
}

/// A log query.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub integration: Option<String>,
    pub connection_id: Option<String>,
    pub status: Option<StatusFilter>,
    pub kind: Option<Kind>,
    /// Inclusive lower bound, in milliseconds since the epoch.
    pub from_ms: Option<i64>,
    /// Exclusive upper bound, in milliseconds since the epoch.
    pub to_ms: Option<i64>,
}

/// Where a page of results continues: the last entry's `(at_ms, row id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at_ms: i64,
    pub id: i64,
}

impl Cursor {
    /// The opaque wire form.
    pub fn encode(self) -> String {
        format!("{}_{}", self.at_ms, self.id)
    }

    /// Parses the wire form.
    pub fn decode(text: &str) -> Option<Self> {
        let (at, id) = text.split_once('_')?;
        Some(Self { at_ms: at.parse().ok()?, id: id.parse().ok()? })
    }
}

/// One stored log entry.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub row: i64,
    /// The operation's id (API calls).
    pub operation: Option<String>,
    pub record: CallRecord,
    /// Set on a marker of dropped records instead of a call.
    pub dropped: Option<Dropped>,
}

/// Call records of an environment that were not kept (the writer's queue was full): how many,
/// and the first and last time one was dropped. A stored format (`request_logs.dropped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dropped {
    pub count: u64,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// One call as remembered for a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    pub at_ms: i64,
    pub status: u16,
    pub request_id: String,
    pub error_code: Option<String>,
    /// The connection (in integration summaries).
    pub connection_id: Option<String>,
}

/// A connection's health.
#[derive(Debug, Clone)]
pub struct ConnectionStatus {
    pub row: i64,
    pub connection_id: String,
    pub provider_config_key: String,
    /// `(since, request id)` while the upstream refuses the credential.
    pub auth_error: Option<(chrono::DateTime<chrono::Utc>, String)>,
    pub last_success: Option<CallOutcome>,
    pub last_failure: Option<CallOutcome>,
}

/// A connection status query.
#[derive(Debug, Clone, Default)]
pub struct ConnectionStatusFilter {
    pub integration: Option<String>,
    pub connection_id: Option<String>,
    /// Only connections with (`true`) or without (`false`) an active auth error.
    pub auth_error: Option<bool>,
}

/// An integration's health: its connections, how many have an auth error, and the newest
/// success and failure over all of them.
#[derive(Debug, Clone)]
pub struct IntegrationStatus {
    pub unique_key: String,
    pub provider: String,
    pub connections: u64,
    pub connections_with_auth_error: u64,
    pub last_success: Option<CallOutcome>,
    pub last_failure: Option<CallOutcome>,
}

/// One minute of the call history: how many calls ended in it and how many of them failed
/// (answered 400 or above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteCount {
    /// The minute's start, in milliseconds since the epoch.
    pub minute_ms: i64,
    pub requests: u64,
    pub errors: u64,
}

#[cfg(test)]
mod tests {
    //! Stored format: `FunctionCall` is the `request_logs.function` JSON column.
    use super::*;

    #[test]
    fn stored_function_calls_still_read() {
        let stored =
            r#"{"name":"echo","version":"1.0.0","outcome":"success","logs":[["info","hello"]],"proxied_calls":2}"#;
        let expected = FunctionCall {
            name: "echo".to_owned(),
            version: Some("1.0.0".to_owned()),
            outcome: "success".to_owned(),
            logs: vec![("info".to_owned(), "hello".to_owned())],
            proxied_calls: 2,
        };
        let read: FunctionCall = serde_json::from_str(stored).expect("a stored row must still read");
        assert_eq!(read, expected);
        assert_eq!(serde_json::to_string(&expected).unwrap(), stored, "the written form changed");
    }

    /// Stored format: `Dropped` is the `request_logs.dropped` JSON column.
    #[test]
    fn stored_drop_markers_still_read() {
        let stored = r#"{"count":12,"from_ms":1795000000000,"to_ms":1795000000400}"#;
        let expected = Dropped { count: 12, from_ms: 1_795_000_000_000, to_ms: 1_795_000_000_400 };
        assert_eq!(serde_json::from_str::<Dropped>(stored).unwrap(), expected);
        assert_eq!(serde_json::to_string(&expected).unwrap(), stored, "the written form changed");
    }
}
