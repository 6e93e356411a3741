//! One worker thread: a QuickJS runtime with a few warm contexts (one per scope), and the
//! event loop of a run: microtasks, host operations (run on the server's tokio runtime, their
//! results sent back here), timers, the wall-time deadline and the memory limit.

use std::{
    cell::{Cell, RefCell},
    collections::{BTreeMap, HashMap},
    rc::Rc,
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Function, Object, Persistent, Promise, Runtime, Value as JsValue,
    context::EvalOptions, function::Opt, promise::PromiseState,
};
use serde_json::Value;

use super::{Failure, Host, Job, Mode, Reply, Settings, host_fns};

const ZOD: &str = include_str!("js/zod.js");
const PRELUDE: &str = include_str!("js/prelude.js");
const NANGO: &str = include_str!("js/nango.js");

/// A host operation's result, sent back to the worker that asked.
struct Done {
    run: u64,
    id: u64,
    result: Result<String, String>,
}

/// What the host functions of a context share with the event loop.
struct State {
    /// The run being served (results of an earlier, abandoned run are ignored).
    run: u64,
    host: Option<Arc<dyn Host>>,
    handle: tokio::runtime::Handle,
    done: mpsc::Sender<Done>,
    next_id: u64,
    /// Host operations in flight: their promise's resolve and reject functions.
    pending: HashMap<u64, (Persistent<Function<'static>>, Persistent<Function<'static>>)>,
    /// Timers: due time → resolve functions.
    timers: BTreeMap<(Instant, u64), Persistent<Function<'static>>>,
}

type Shared = Rc<RefCell<State>>;

struct Engine {
    runtime: Runtime,
    /// Warm contexts, most recently used last.
    contexts: Vec<(String, Context)>,
    /// Evaluated bundles (their `module.exports`) by (scope, `Job::warm_key`): a function's
    /// next run on this worker skips parsing and evaluating it again.
    warm: HashMap<(String, String), Persistent<JsValue<'static>>>,
    deadline: Rc<Cell<Option<Instant>>>,
}

/// The worker's loop: takes jobs until the pool is dropped.
pub(super) fn serve(settings: Settings, handle: tokio::runtime::Handle, queue: &Mutex<mpsc::Receiver<(Job, Reply)>>) {
    let (done_tx, done_rx) = mpsc::channel();
    let state: Shared = Rc::new(RefCell::new(State {
        run: 0,
        host: None,
        handle,
        done: done_tx,
        next_id: 0,
        pending: HashMap::new(),
        timers: BTreeMap::new(),
    }));
    let mut engine = None;
    loop {
        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok((job, reply)) = next else { return };
        let engine = match &mut engine {
            Some(engine) => engine,
            slot @ None => match Engine::new(settings) {
                Ok(e) => slot.insert(e),
                Err(message) => {
                    let _ = reply.send(Err(Failure::Engine { message }));
                    continue;
                }
            },
        };
        let result = engine.run(settings, &state, &done_rx, job);
        let _ = reply.send(result);
    }
}

impl Drop for Engine {
    /// JavaScript values held from Rust (warm bundles) go before their contexts, and the
    /// contexts before the runtime: QuickJS aborts the process when a runtime is freed with
    /// objects still alive.
    fn drop(&mut self) {
        self.warm.clear();
        self.contexts.clear();
        self.runtime.run_gc();
    }
}

fn engine_error(e: impl std::fmt::Display) -> Failure {
    Failure::Engine { message: e.to_string() }
}

impl Engine {
    fn new(settings: Settings) -> Result<Self, String> {
        let runtime = Runtime::new().map_err(|e| e.to_string())?;
        runtime.set_memory_limit(settings.memory_limit);
        runtime.set_max_stack_size(4 << 20);
        let deadline: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let seen = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || seen.get().is_some_and(|d| Instant::now() >= d))));
        Ok(Self { runtime, contexts: Vec::new(), warm: HashMap::new(), deadline })
    }

    /// The warm context of `scope`, created (zod, prelude, nango) when missing.
    fn context(&mut self, settings: Settings, scope: &str, state: &Shared) -> Result<Context, Failure> {
        if let Some(at) = self.contexts.iter().position(|(s, _)| s == scope) {
            let entry = self.contexts.remove(at);
            let ctx = entry.1.clone();
            self.contexts.push(entry);
            return Ok(ctx);
        }
        if self.contexts.len() >= settings.warm_contexts.max(1) {
            let (old, _) = self.contexts.remove(0);
            self.warm.retain(|(scope, _), _| *scope != old);
            self.runtime.run_gc();
        }
        let context = Context::full(&self.runtime).map_err(engine_error)?;
        context.with(|ctx| -> Result<(), Failure> {
            install(&ctx, state).map_err(engine_error)?;
            for (name, source) in [("zod.js", ZOD), ("prelude.js", PRELUDE), ("nango.js", NANGO)] {
                let mut options = EvalOptions::default();
                options.strict = false;
                options.filename = Some(name.to_owned());
                ctx.eval_with_options::<(), _>(source, options)
                    .catch(&ctx)
                    .map_err(|e| Failure::Engine { message: format!("{name}: {e}") })?;
            }
            Ok(())
        })?;
        self.contexts.push((scope.to_owned(), context.clone()));
        Ok(context)
    }

    fn forget(&mut self, scope: &str) {
        self.warm.retain(|(s, _), _| s != scope);
        self.contexts.retain(|(s, _)| s != scope);
        self.runtime.run_gc();
    }

    fn run(
        &mut self,
        settings: Settings,
        state: &Shared,
        done: &mpsc::Receiver<Done>,
        job: Job,
    ) -> Result<Value, Failure> {
        let context = self.context(settings, &job.scope, state)?;
        {
            let mut s = state.borrow_mut();
            s.run += 1;
            s.host = Some(job.host.clone());
        }
        let deadline = Instant::now() + job.wall_time;
        self.deadline.set(Some(deadline));
        let result = self.drive(&context, state, done, &job, deadline);
        self.deadline.set(None);
        // Whatever is still pending belongs to this run: drop it inside the context.
        context.with(|_ctx| {
            let mut s = state.borrow_mut();
            s.pending.clear();
            s.timers.clear();
            s.host = None;
        });
        let result = match result {
            Err(Failure::Internal { payload }) if is_oom(&payload) => {
                Err(Failure::OutOfMemory { limit: settings.memory_limit })
            }
            other => other,
        };
        match &result {
            Err(Failure::Timeout { .. } | Failure::OutOfMemory { .. } | Failure::Engine { .. }) => {
                self.forget(&job.scope);
            }
            _ => {
                if self.runtime.memory_usage().malloc_size as usize > settings.memory_limit / 2 {
                    self.runtime.run_gc();
                }
            }
        }
        result.and_then(|out| check_size(out, settings.max_output))
    }

    fn drive(
        &mut self,
        context: &Context,
        state: &Shared,
        done: &mpsc::Receiver<Done>,
        job: &Job,
        deadline: Instant,
    ) -> Result<Value, Failure> {
        let timeout = || Failure::Timeout { limit: job.wall_time };
        let warm_key = job.warm_key.clone().map(|k| (job.scope.clone(), k));
        let cached = warm_key.as_ref().and_then(|k| self.warm.get(k).cloned());
        let started = context.with(|ctx| {
            let exports = match cached {
                Some(exports) => exports.restore(&ctx).map_err(engine_error)?,
                None => {
                    let exports = evaluate(&ctx, job)?;
                    if let Some(key) = warm_key {
                        if self.warm.len() >= 256 {
                            self.warm.clear();
                        }
                        self.warm.insert(key, Persistent::save(&ctx, exports.clone()));
                    }
                    exports
                }
            };
            start(&ctx, job, exports)
        });
        let promise = match started {
            Ok(p) => p,
            Err(_) if Instant::now() >= deadline => return Err(timeout()),
            Err(failure) => return Err(failure),
        };
        loop {
            loop {
                match self.runtime.execute_pending_job() {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(_) if Instant::now() >= deadline => return Err(timeout()),
                    Err(_) => {} // an exception in a job rejects its promise; seen below
                }
            }
            if Instant::now() >= deadline {
                return Err(timeout());
            }
            let settled = context.with(|ctx| -> Result<Option<Result<String, Failure>>, Failure> {
                let p = promise.clone().restore(&ctx).map_err(engine_error)?;
                Ok(match p.state() {
                    PromiseState::Pending => None,
                    PromiseState::Resolved => {
                        Some(p.result::<String>().unwrap_or_else(|| Ok(String::new())).map_err(engine_error))
                    }
                    PromiseState::Rejected => {
                        let reason = match p.result::<JsValue<'_>>() {
                            Some(Err(rquickjs::Error::Exception)) => describe(&ctx, ctx.catch()),
                            Some(Ok(v)) => describe(&ctx, v),
                            _ => "the function failed".to_owned(),
                        };
                        Some(Err(Failure::Internal {
                            payload: serde_json::json!({"name": "Error", "message": reason}),
                        }))
                    }
                })
            })?;
            if let Some(outcome) = settled {
                return outcome.and_then(|text| envelope(&text));
            }
            let next_timer = state.borrow().timers.keys().next().map(|(at, _)| *at);
            if state.borrow().pending.is_empty() && next_timer.is_none() {
                return Err(Failure::Internal {
                    payload: serde_json::json!({
                        "name": "Error",
                        "message": "The function is waiting for a promise that nothing will ever settle",
                    }),
                });
            }
            let wake = next_timer.map_or(deadline, |t| t.min(deadline));
            match done.recv_timeout(wake.saturating_duration_since(Instant::now())) {
                Ok(result) => settle(context, state, result),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(engine_error("the worker lost its channel")),
            }
            fire_timers(context, state);
        }
    }
}

/// Evaluates the bundle as Nango's runner wraps it: its `module.exports`.
fn evaluate<'js>(ctx: &Ctx<'js>, job: &Job) -> Result<JsValue<'js>, Failure> {
    let wrapped = format!(
        "(function() {{ var module = {{ exports: {{}} }}; var exports = module.exports;\n{}\n;return module.exports;\n}})()",
        job.code
    );
    let mut options = EvalOptions::default();
    options.strict = false;
    options.backtrace_barrier = true;
    options.filename = Some(job.filename.clone());
    ctx.eval_with_options(wrapped, options).catch(ctx).map_err(|e| Failure::Load { message: caught(ctx, e) })
}

/// Calls `__nango_run` with the bundle's exports.
fn start<'js>(ctx: &Ctx<'js>, job: &Job, exports: JsValue<'js>) -> Result<Persistent<Promise<'static>>, Failure> {
    let run: Function<'js> = ctx.globals().get("__nango_run").map_err(engine_error)?;
    let (mode, input) = match &job.mode {
        Mode::Load => ("load", "null".to_owned()),
        Mode::Action { input } => ("action", input.to_string()),
        Mode::Sync => ("sync", "null".to_owned()),
    };
    let promise: Promise<'js> = run
        .call((exports, mode, input, job.meta.to_string()))
        .catch(ctx)
        .map_err(|e| Failure::Internal { payload: serde_json::json!({"name": "Error", "message": caught(ctx, e)}) })?;
    Ok(Persistent::save(ctx, promise))
}

/// Reads `__nango_run`'s answer.
fn envelope(text: &str) -> Result<Value, Failure> {
    let value: Value = serde_json::from_str(text).map_err(engine_error)?;
    if let Some(ok) = value.get("ok") {
        return Ok(ok.clone());
    }
    let error = value.get("error").cloned().unwrap_or_default();
    let field = |name: &str| error.get(name).cloned().unwrap_or(Value::Null);
    Err(match error.get("kind").and_then(Value::as_str).unwrap_or_default() {
        "action" => Failure::Action { payload: field("payload") },
        "http" => Failure::Http {
            status: error.get("status").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok()).unwrap_or(500),
            headers: field("headers"),
            body: field("body"),
        },
        "network" => Failure::Network {
            payload: serde_json::json!({"name": field("name"), "code": field("code"), "message": field("message")}),
        },
        "input" => Failure::Input { issues: field("issues") },
        "output" => Failure::Output { issues: field("issues") },
        "load" => Failure::Load { message: field("message").as_str().unwrap_or_default().to_owned() },
        _ => {
            let mut payload = serde_json::json!({"name": field("name"), "message": field("message")});
            if let Some(stack) = error.get("stack").and_then(Value::as_str) {
                let lines: Vec<&str> = stack.lines().map(str::trim).filter(|l| !l.is_empty()).take(10).collect();
                if !lines.is_empty() {
                    payload["stacktrace"] = serde_json::json!(lines);
                }
            }
            Failure::Internal { payload }
        }
    })
}

fn is_oom(payload: &Value) -> bool {
    payload.get("message").and_then(Value::as_str).is_some_and(|m| m.contains("out of memory"))
}

fn check_size(out: Value, limit: usize) -> Result<Value, Failure> {
    let bytes = serde_json::to_vec(&out).map(|v| v.len()).unwrap_or(usize::MAX);
    if bytes > limit { Err(Failure::OutputTooLarge { bytes, limit }) } else { Ok(out) }
}

fn caught<'js>(ctx: &Ctx<'js>, error: CaughtError<'js>) -> String {
    match error {
        CaughtError::Exception(e) => {
            let message = e.message().unwrap_or_default();
            let name: Option<String> = e.as_object().get("name").ok();
            match name {
                Some(n) if !n.is_empty() => format!("{n}: {message}"),
                _ => message,
            }
        }
        CaughtError::Value(v) => describe(ctx, v),
        CaughtError::Error(e) => e.to_string(),
    }
}

fn describe<'js>(ctx: &Ctx<'js>, value: JsValue<'js>) -> String {
    if let Some(e) = value.as_exception() {
        return e.message().unwrap_or_else(|| "exception".to_owned());
    }
    ctx.json_stringify(value).ok().flatten().and_then(|s| s.to_string().ok()).unwrap_or_else(|| "a value".to_owned())
}

/// Delivers a host operation's result to its promise.
fn settle(context: &Context, state: &Shared, done: Done) {
    context.with(|ctx| {
        let entry = {
            let mut s = state.borrow_mut();
            if done.run != s.run {
                return;
            }
            s.pending.remove(&done.id)
        };
        let Some((resolve, reject)) = entry else { return };
        let _ = match done.result {
            Ok(json) => resolve.restore(&ctx).and_then(|f| f.call::<_, ()>((json,))),
            Err(message) => reject.restore(&ctx).and_then(|f| {
                let error = rquickjs::Exception::from_message(ctx.clone(), &message)?;
                f.call::<_, ()>((error,))
            }),
        };
    });
}

fn fire_timers(context: &Context, state: &Shared) {
    let now = Instant::now();
    let due: Vec<Persistent<Function<'static>>> = {
        let mut s = state.borrow_mut();
        let later = s.timers.split_off(&(now, u64::MAX));
        std::mem::replace(&mut s.timers, later).into_values().collect()
    };
    if due.is_empty() {
        return;
    }
    context.with(|ctx| {
        for resolve in due {
            let _ = resolve.restore(&ctx).and_then(|f| f.call::<_, ()>(()));
        }
    });
}

/// The host functions prelude.js takes (and then hides).
fn install<'js>(ctx: &Ctx<'js>, state: &Shared) -> rquickjs::Result<()> {
    let g: Object<'js> = ctx.globals();
    let calls = state.clone();
    g.set(
        "__host_call",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, op: String, args: String| -> rquickjs::Result<Promise<'js>> {
            let (promise, resolve, reject) = Promise::new(&ctx)?;
            let mut s = calls.borrow_mut();
            let Some(host) = s.host.clone() else {
                drop(s);
                let error = rquickjs::Exception::from_message(ctx.clone(), "the run is over")?;
                reject.call::<_, ()>((error,))?;
                return Ok(promise);
            };
            s.next_id += 1;
            let (id, run, tx) = (s.next_id, s.run, s.done.clone());
            s.pending.insert(id, (Persistent::save(&ctx, resolve), Persistent::save(&ctx, reject)));
            let args: Value = serde_json::from_str(&args).unwrap_or(Value::Null);
            let future = host.call(op, args);
            s.handle.spawn(async move {
                let result = future.await.map(|v| v.to_string());
                let _ = tx.send(Done { run, id, result });
            });
            Ok(promise)
        })?,
    )?;
    let logs = state.clone();
    g.set(
        "__host_log",
        Function::new(ctx.clone(), move |level: String, message: String| {
            if let Some(host) = &logs.borrow().host {
                host.log(&level, &message);
            }
        })?,
    )?;
    let timers = state.clone();
    g.set(
        "__host_timer",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, ms: f64| -> rquickjs::Result<Promise<'js>> {
            let (promise, resolve, _reject) = Promise::new(&ctx)?;
            let mut s = timers.borrow_mut();
            s.next_id += 1;
            let wait = Duration::from_secs_f64((ms.max(0.0) / 1000.0).min(86_400.0));
            let key = (Instant::now() + wait, s.next_id);
            s.timers.insert(key, Persistent::save(&ctx, resolve));
            Ok(promise)
        })?,
    )?;
    g.set(
        "__host_url",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, href: String, base: Option<String>, part: Option<String>, value: Option<String>| {
                host_fns::url(&href, base.as_deref(), part.as_deref(), value.as_deref())
                    .map_err(|m| rquickjs::Exception::throw_type(&ctx, &m))
            },
        )?,
    )?;
    g.set(
        "__host_digest",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, alg: String, key: Opt<Option<String>>, data: String| {
            host_fns::digest(&alg, key.0.flatten().as_deref(), &data)
                .map_err(|m| rquickjs::Exception::throw_type(&ctx, &m))
        })?,
    )?;
    g.set("__host_uuid", Function::new(ctx.clone(), || uuid::Uuid::new_v4().to_string())?)?;
    Ok(())
}
