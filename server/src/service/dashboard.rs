//! Dashboard sessions and sign-in limits, without web types: the session a person's cookie
//! carries, sealed with the server's encryption key (AES-GCM-SIV: nobody can read or forge
//! it, and replicas sharing the key share sessions), and the count of wrong keys per client
//! address. The cookie itself, the pages and CSRF checks are `api::dashboard::session`'s.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::Context;

/// How long a session lasts from sign-in.
pub const SESSION_HOURS: i64 = 12;
const AAD: &[u8] = b"nango-dashboard-session-v1";
/// Failed sign-ins allowed per client address and window.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(600);

/// What a session cookie holds once opened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionData {
    /// Secret keys, one per environment.
    pub keys: Vec<String>,
    /// The active one's index in `keys`.
    pub active: usize,
    /// Unix seconds.
    pub exp: i64,
    /// The token every form of the session carries.
    pub csrf: String,
}

impl SessionData {
    /// An empty session that expires [`SESSION_HOURS`] from now.
    pub fn new() -> Self {
        Self {
            keys: Vec::new(),
            active: 0,
            exp: chrono::Utc::now().timestamp() + SESSION_HOURS * 3600,
            csrf: new_token(),
        }
    }
}

impl Default for SessionData {
    fn default() -> Self {
        Self::new()
    }
}

/// A random token (CSRF), 48 hex characters.
pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the system's random source");
    hex::encode(bytes)
}

/// The session sealed for a cookie (URL-safe base64).
pub fn seal(ctx: &Context, session: &SessionData) -> Option<String> {
    let plain = serde_json::to_vec(session).ok()?;
    let bytes = ctx.cipher.seal(&plain, AAD).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The session a cookie holds, unless it was forged, sealed under an unknown key or expired.
pub fn open(ctx: &Context, value: &str) -> Option<SessionData> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value).ok()?;
    let plain = ctx.cipher.open(&bytes, AAD).ok()?;
    let session: SessionData = serde_json::from_slice(&plain).ok()?;
    (session.exp > chrono::Utc::now().timestamp()).then_some(session)
}

/// Client addresses and their recent failed sign-ins, per server (its encryption key's id:
/// several servers in one process, as in tests, count apart).
static FAILURES: LazyLock<Mutex<HashMap<Client, (u32, Instant)>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// A client of one server: the server's key id and the client's address.
type Client = (String, IpAddr);

/// The wait before `ip` may try a key again, when it gave too many wrong ones.
pub fn sign_in_blocked(ctx: &Context, ip: Option<IpAddr>) -> Option<Duration> {
    let client = (ctx.cipher.primary_key_id(), ip?);
    let failures = FAILURES.lock().unwrap_or_else(|e| e.into_inner());
    let (count, since) = failures.get(&client)?;
    (*count >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW).then(|| FAILURE_WINDOW - since.elapsed())
}

/// Counts a wrong key from `ip` (the table is bounded: expired entries go when it is large).
pub fn record_sign_in_failure(ctx: &Context, ip: Option<IpAddr>) {
    let Some(ip) = ip else { return };
    let mut failures = FAILURES.lock().unwrap_or_else(|e| e.into_inner());
    if failures.len() > 10_000 {
        failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
    }
    let entry = failures.entry((ctx.cipher.primary_key_id(), ip)).or_insert((0, Instant::now()));
    if entry.1.elapsed() >= FAILURE_WINDOW {
        *entry = (0, Instant::now());
    }
    entry.0 += 1;
}
