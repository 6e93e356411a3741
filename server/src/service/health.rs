//! Readiness and the gauges `/metrics` reads at scrape time.

use std::time::Duration;

use super::Context;
use crate::{db, db::repo, telemetry::Gauges};

/// Whether this replica can serve: the database answers within two seconds.
pub async fn ready(ctx: &Context) -> Result<(), String> {
    match tokio::time::timeout(Duration::from_secs(2), db::ping(&ctx.db)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("the database does not answer: {}", crate::chain::ErrorChain(&e))),
        Err(_) => Err("the database did not answer within 2 seconds".to_owned()),
    }
}

/// The values read at scrape time; the outbox depth is left out when the database does not
/// answer quickly.
pub async fn gauges(ctx: &Context, pool_max: u32) -> Gauges {
    let (size, idle) = db::pool_stats(&ctx.db);
    let pending = tokio::time::timeout(Duration::from_secs(2), repo::webhook::pending_count(&ctx.db)).await;
    Gauges {
        db_pool_size: u64::from(size),
        db_pool_idle: idle as u64,
        db_pool_max: u64::from(pool_max),
        webhook_outbox_pending: pending.ok().and_then(Result::ok),
        request_log_queue: ctx.activity.queued() as u64,
        request_logs_dropped: ctx.activity.dropped(),
    }
}
