//! The one mechanism behind everything that runs in the background from a database queue:
//! webhook deliveries (`webhook_outbox`), asynchronous action runs (`action_runs`) and sync
//! runs (`sync_schedules`). Each queue is rows; every replica polls for due rows and **claims**
//! one with a conditional update that also sets a lease (so of two replicas that read the same
//! row only one runs it); the work then runs under the lease, and a row whose replica died is
//! due again when its lease expires. This module is the worker loop they share: wake-ups for
//! work queued on this replica, polling for work queued elsewhere or due later, a bound on the
//! jobs running at once, and shutdown that lets jobs in flight finish.
//!
//! Why not a job-queue library (apalis 1.0 with apalis-sqlite/-postgres/-cron was evaluated):
//! see docs/ARCHITECTURE.md, "Background work".

use std::{future::Future, sync::Arc, time::Duration};

use super::Context;

/// A queue the shared worker drives.
pub trait Jobs: Send + Sync + 'static {
    /// One claimed unit of work.
    type Job: Send + 'static;

    /// What the queue is called in logs.
    const NAME: &'static str;

    /// Claims up to `limit` due jobs for this replica, each under a lease.
    fn claim(
        &self,
        ctx: &Context,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Self::Job>, crate::db::Error>> + Send;

    /// Does one claimed job (and records its outcome, which releases the claim).
    fn run(&self, ctx: Context, job: Self::Job) -> impl Future<Output = ()> + Send;

    /// Wakes the worker at once (work was queued on this replica).
    fn wake<'a>(&self, ctx: &'a Context) -> &'a tokio::sync::Notify;

    /// Called after each claiming pass (queue gauges).
    fn after_pass(&self, _ctx: &Context) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Runs `jobs` until `shutdown` resolves, at most `slots` at a time: claims due jobs whenever a
/// slot is free and it is woken, a job ends, or `poll` passes. Jobs in flight at shutdown
/// finish.
pub async fn run_worker<J: Jobs>(
    jobs: J,
    ctx: Context,
    slots: usize,
    poll: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let jobs = Arc::new(jobs);
    let slots = Arc::new(tokio::sync::Semaphore::new(slots.max(1)));
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        let free = slots.available_permits();
        if free > 0 {
            match jobs.claim(&ctx, free).await {
                Ok(claimed) => {
                    for job in claimed {
                        let Ok(permit) = slots.clone().acquire_owned().await else { break };
                        let (jobs, ctx) = (jobs.clone(), ctx.clone());
                        running.spawn(async move {
                            let _permit = permit;
                            jobs.run(ctx, job).await;
                        });
                    }
                }
                Err(e) => tracing::warn!(queue = J::NAME, error = %crate::chain::ErrorChain(&e), "queue unavailable"),
            }
            jobs.after_pass(&ctx).await;
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = jobs.wake(&ctx).notified() => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
    while running.join_next().await.is_some() {}
}
