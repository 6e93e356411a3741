//! The functions runtime: runs a deployed bundle (Nango's compiled CommonJS) in an embedded
//! JavaScript engine (QuickJS through rquickjs), sandboxed, on dedicated worker threads, so a
//! busy function never stalls the HTTP server.
//!
//! One narrow entry: [`Pool::run`] (this bundle, this mode, this host, these limits → a
//! result). The `nango` object a function sees calls back into the server only through the
//! [`Host`] the caller passes in; this module imports no service, no database and no web type.
//!
//! The sandbox (see docs/functions.md): no filesystem, network, process or `eval`; `require`
//! for zod, crypto and url only; Nango's runner globals; per-run wall time, output size, and a
//! memory limit per worker. A run that breaks a limit ends with its own error and leaves the
//! worker, the server and every other run unharmed.

mod host_fns;
mod worker;

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use serde_json::Value;

/// The outcome of one host operation: a JSON value, or a message the function sees as a
/// rejected promise (`Error(message)`).
pub type HostResult = Result<Value, String>;

/// What a function may ask of the server while it runs (`nango.proxy`, `getConnection`, …).
/// Implemented by the service layer; every operation is scoped to the run's connection.
pub trait Host: Send + Sync + 'static {
    /// Runs operation `op` (`proxy`, `getConnection`, `setMetadata`, …) with `args`.
    fn call(&self, op: String, args: Value) -> Pin<Box<dyn Future<Output = HostResult> + Send + 'static>>;
    /// One line of the run's log (`console.*`, `nango.log`).
    fn log(&self, level: &str, message: &str);
}

/// What to do with a bundle.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Evaluate it and check its exports (at deploy): answers `{"type": …}`.
    Load,
    /// Run it as an action with this input.
    Action { input: Value },
    /// Run it as a sync (`exec(nango)`); the `nango` object gets the sync methods (records,
    /// checkpoints, deletion tracking).
    Sync,
}

/// One run.
pub struct Job {
    /// Runs with the same scope may share a warm context (zod loaded, globals set up); runs of
    /// different scopes never do. The caller uses the environment (tenant).
    pub scope: String,
    /// The compiled bundle.
    pub code: Arc<str>,
    /// Shown in stack traces (`<function>-<integration>.cjs`).
    pub filename: String,
    pub mode: Mode,
    /// The run's identity as the `nango` object shows it (`connectionId`,
    /// `providerConfigKey`, `provider`, `runId`, `paginate`, `validateInput`, …).
    pub meta: Value,
    pub host: Arc<dyn Host>,
    /// Longest the run may take, host calls included.
    pub wall_time: Duration,
    /// When set, the evaluated bundle is kept warm under this key (within the scope, on the
    /// worker that ran it) and reused by the next run with the same key: pass a key that
    /// changes with the code (the function's id and code hash). `None`: evaluated each run.
    pub warm_key: Option<String>,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("scope", &self.scope)
            .field("filename", &self.filename)
            .field("mode", &self.mode)
            .field("wall_time", &self.wall_time)
            .finish_non_exhaustive()
    }
}

pub use crate::model::function::Failure;

/// The runtime's settings (configuration, with documented defaults).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Worker threads, each running one function at a time.
    pub workers: usize,
    /// Memory a worker's engine may allocate (all the contexts it keeps warm included).
    pub memory_limit: usize,
    /// Largest output, in bytes of JSON (Nango: 2 MB).
    pub max_output: usize,
    /// Warm contexts a worker keeps (one per scope).
    pub warm_contexts: usize,
}

impl Settings {
    /// The defaults: one worker per core (at least 2), 256 MiB, 2 MB, 8 warm contexts.
    pub fn defaults() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self { workers: cores.max(2), memory_limit: 256 << 20, max_output: 2 << 20, warm_contexts: 8 }
    }
}

type Reply = tokio::sync::oneshot::Sender<Result<Value, Failure>>;

/// The worker threads and the queue in front of them. Callers wait for a free worker
/// (a semaphore with one permit per worker), so memory is bounded by the pool size, not by
/// the number of runs waiting.
pub struct Pool {
    settings: Settings,
    jobs: mpsc::Sender<(Job, Reply)>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Pool {
    /// Starts the workers. Host operations run on the runtime of `handle` (the server's).
    pub fn start(settings: Settings, handle: tokio::runtime::Handle) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<(Job, Reply)>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..settings.workers.max(1) {
            let queue = queue.clone();
            let handle = handle.clone();
            std::thread::Builder::new()
                .name(format!("nango-fn-{n}"))
                .stack_size(16 << 20)
                .spawn(move || worker::serve(settings, handle, &queue))?;
        }
        Ok(Self { settings, jobs, permits: Arc::new(tokio::sync::Semaphore::new(settings.workers.max(1))) })
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Runs `job` on the next free worker and waits for its result: the output as JSON, or
    /// why there is none.
    pub async fn run(&self, job: Job) -> Result<Value, Failure> {
        let engine = |message: &str| Failure::Engine { message: message.to_owned() };
        let _permit = self.permits.acquire().await.map_err(|_| engine("the functions runtime is shut down"))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs.send((job, tx)).map_err(|_| engine("the functions runtime is shut down"))?;
        rx.await.map_err(|_| engine("the function's worker stopped"))?
    }

    /// Runs whether `code` loads and what its default export declares (`action`, `sync`,
    /// `onEvent`, `legacy`), without running it.
    pub async fn check(
        &self,
        scope: String,
        code: Arc<str>,
        filename: String,
        host: Arc<dyn Host>,
    ) -> Result<String, Failure> {
        let job = Job {
            scope,
            code,
            filename,
            mode: Mode::Load,
            meta: Value::Null,
            host,
            wall_time: Duration::from_secs(10),
            warm_key: None,
        };
        let out = self.run(job).await?;
        Ok(out.get("type").and_then(Value::as_str).unwrap_or_default().to_owned())
    }
}

#[cfg(test)]
mod tests;
