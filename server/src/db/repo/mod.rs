//! Queries, one module per aggregate. Every query that touches tenant data takes the
//! environment id, so forgetting the tenant filter is not possible by accident. Sealed
//! columns are sealed and opened here, and nowhere above.

pub mod action_run;
pub mod activity;
pub mod alert;
pub mod connect_session;
pub mod connection;
pub mod environment;
pub mod function;
pub mod integration;
pub mod record;
pub mod sync;
pub mod vault;
pub mod webhook;

use chrono::{DateTime, Utc};

/// Now, truncated to milliseconds: the precision of the wire format, so what is returned on
/// create equals what is read back later on both backends.
pub fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
