//! Request ids: unique per process run and across replicas, without a system call per
//! request (a random 64-bit prefix drawn once, then a counter).

use crate::model::id::EnvironmentId;

use std::{
    fmt,
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

/// The id of one request, shown as a UUID (`x-nango-request-id`, log events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestId(uuid::Uuid);

impl RequestId {
    /// A new id, different from every other one this process hands out; the random prefix
    /// keeps replicas (and restarts) apart.
    pub fn next() -> Self {
        static PREFIX: OnceLock<u64> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let prefix = *PREFIX.get_or_init(|| {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).expect("the operating system's random source");
            u64::from_le_bytes(bytes)
        });
        Self(uuid::Uuid::from_u64_pair(prefix, COUNTER.fetch_add(1, Ordering::Relaxed)))
    }

    /// The id as a header value, formatted without going through `Display`.
    pub fn header_value(&self) -> http::HeaderValue {
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = self.0.hyphenated().encode_lower(&mut buf);
        http::HeaderValue::from_str(text).expect("a UUID is a valid header value")
    }
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// What is known about the request being served, for its log event, its stored record and
/// its rate-limit headers: its id, then what authentication and the handler found out.
#[derive(Debug)]
struct Scope {
    id: RequestId,
    environment: OnceLock<(EnvironmentId, String)>,
    integration: OnceLock<String>,
    connection: OnceLock<String>,
    rate: OnceLock<crate::ratelimit::Decision>,
    /// The code and status of the last error envelope built while serving it.
    error: std::cell::Cell<Option<(&'static str, u16)>>,
    /// What the function the request ran did.
    function: std::cell::RefCell<Option<crate::model::activity::FunctionCall>>,
}

/// Runs `fut` as the request `id` (see [`current`] and the setters below). Not an `async fn`:
/// that would hold `fut` twice (the argument and the scoped future), and the requests'
/// futures are kept per client connection.
pub fn scope<F: Future>(id: RequestId, fut: F) -> impl Future<Output = F::Output> {
    let scope = Scope {
        id,
        environment: OnceLock::new(),
        integration: OnceLock::new(),
        connection: OnceLock::new(),
        rate: OnceLock::new(),
        error: std::cell::Cell::new(None),
        function: std::cell::RefCell::new(None),
    };
    SCOPE.scope(scope, fut)
}

/// The id of the request being served, or a new one outside a request.
pub fn current() -> RequestId {
    SCOPE.try_with(|s| s.id).unwrap_or_else(|_| RequestId::next())
}

/// Records the environment the request acts in (set by authentication).
pub fn set_environment(id: EnvironmentId, name: &str) {
    let _ = SCOPE.try_with(|s| s.environment.set((id, name.to_owned())));
}

/// The environment `(id, name)` recorded for the request being served.
pub fn environment() -> Option<(EnvironmentId, String)> {
    SCOPE.try_with(|s| s.environment.get().cloned()).ok().flatten()
}

/// Records the integration (unique key) and, when there is one, the connection the request
/// is about (set by handlers, after validation).
pub fn set_subject(integration: Option<&str>, connection: Option<&str>) {
    let _ = SCOPE.try_with(|s| {
        if let Some(key) = integration {
            let _ = s.integration.set(key.to_owned());
        }
        if let Some(id) = connection {
            let _ = s.connection.set(id.to_owned());
        }
    });
}

/// The integration and connection recorded for the request being served.
pub fn subject() -> (Option<String>, Option<String>) {
    SCOPE.try_with(|s| (s.integration.get().cloned(), s.connection.get().cloned())).unwrap_or_default()
}

/// Records the rate limiter's decision (its headers go on the response).
pub fn set_rate(decision: crate::ratelimit::Decision) {
    let _ = SCOPE.try_with(|s| s.rate.set(decision));
}

/// The rate limiter's decision for the request being served.
pub fn rate() -> Option<crate::ratelimit::Decision> {
    SCOPE.try_with(|s| s.rate.get().copied()).ok().flatten()
}

/// Notes the code of an error envelope built for the request being served (called by
/// `ApiError`'s constructors, so the call's record knows its code without reading the body).
pub fn note_error(code: &'static str, status: u16) {
    let _ = SCOPE.try_with(|s| s.error.set(Some((code, status))));
}

/// Records what the function the request ran did (for its call record).
pub fn set_function(call: crate::model::activity::FunctionCall) {
    let _ = SCOPE.try_with(|s| *s.function.borrow_mut() = Some(call));
}

/// Takes what [`set_function`] recorded.
pub fn take_function() -> Option<crate::model::activity::FunctionCall> {
    SCOPE.try_with(|s| s.function.borrow_mut().take()).ok().flatten()
}

/// The code of the request's error envelope, if the last one built has the answer's status.
pub fn error_code(status: u16) -> Option<&'static str> {
    SCOPE.try_with(|s| s.error.get()).ok().flatten().filter(|(_, s)| *s == status).map(|(code, _)| code)
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_uuid_shaped() {
        let (a, b) = (RequestId::next(), RequestId::next());
        assert_ne!(a, b);
        let text = a.to_string();
        assert_eq!(text.len(), 36);
        assert!(uuid::Uuid::parse_str(&text).is_ok());
        assert_eq!(text[..18], b.to_string()[..18], "one prefix per process");
    }
}
