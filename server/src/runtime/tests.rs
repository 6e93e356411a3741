//! The sandbox's limits and globals, with small bundles written in the shape Nango's CLI
//! compiles (CommonJS, `module.exports.default = {type, exec, …}`) and a scripted host.

use std::sync::Mutex;

use serde_json::json;

use super::*;

/// A host that answers `proxy` with scripted responses (in order) and records every call
/// and log line.
#[derive(Default)]
struct Scripted {
    responses: Mutex<Vec<Value>>,
    calls: Mutex<Vec<(String, Value)>>,
    logs: Mutex<Vec<(String, String)>>,
}

impl Host for Scripted {
    fn call(&self, op: String, args: Value) -> Pin<Box<dyn Future<Output = HostResult> + Send + 'static>> {
        self.calls.lock().unwrap().push((op.clone(), args));
        let next = {
            let mut r = self.responses.lock().unwrap();
            if r.is_empty() { None } else { Some(r.remove(0)) }
        };
        Box::pin(async move {
            match (op.as_str(), next) {
                ("proxy", Some(response)) => Ok(response),
                ("getConnection", _) => Ok(json!({"connection_id": "c1", "metadata": {"plan": "pro"}})),
                (op, _) => Err(format!("no scripted answer for {op}")),
            }
        })
    }

    fn log(&self, level: &str, message: &str) {
        self.logs.lock().unwrap().push((level.to_owned(), message.to_owned()));
    }
}

fn pool(workers: usize) -> Pool {
    let settings = Settings { workers, memory_limit: 64 << 20, max_output: 2 << 20, warm_contexts: 4 };
    Pool::start(settings, tokio::runtime::Handle::current()).unwrap()
}

fn action(body: &str) -> String {
    format!(
        "\"use strict\";\nconst z = require('zod');\nmodule.exports.default = {{ type: 'action', input: z.object({{ n: z.number().optional() }}), exec: async (nango, input) => {{ {body} }} }};"
    )
}

async fn run_with(
    pool: &Pool,
    host: Arc<Scripted>,
    code: String,
    input: Value,
    wall: Duration,
) -> Result<Value, Failure> {
    let job = Job {
        scope: "env-1".to_owned(),
        code: code.into(),
        filename: "test.cjs".to_owned(),
        mode: Mode::Action { input },
        meta: json!({"connectionId": "c1", "providerConfigKey": "acme", "provider": "private-api-generic", "validateInput": true, "validateOutput": true}),
        host,
        wall_time: wall,
        warm_key: None,
    };
    pool.run(job).await
}

async fn run(pool: &Pool, body: &str) -> Result<Value, Failure> {
    run_with(pool, Arc::default(), action(body), json!({"n": 2}), Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_returns_its_output() {
    let p = pool(1);
    let out = run(&p, "return { doubled: input.n * 2, connectionId: nango.connectionId };").await;
    assert_eq!(out, Ok(json!({"doubled": 4, "connectionId": "c1"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_is_checked_against_the_zod_schema_before_the_code_runs() {
    let p = pool(1);
    let host = Arc::new(Scripted::default());
    let out = run_with(
        &p,
        host.clone(),
        action("await nango.log('ran'); return 1;"),
        json!({"n": "x"}),
        Duration::from_secs(5),
    )
    .await;
    // (`n` is optional, but must be a number when given.)
    let Err(Failure::Input { issues }) = out else { panic!("{out:?}") };
    assert_eq!(issues[0]["path"], json!(["n"]), "{issues}");
    assert!(host.logs.lock().unwrap().is_empty(), "the code did not run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_keep_their_kind() {
    let p = pool(1);
    let out = run(&p, "throw new nango.ActionError({ message: 'refused', reason: 'because' });").await;
    assert_eq!(out, Err(Failure::Action { payload: json!({"message": "refused", "reason": "because"}) }));
    let out = run(&p, "throw new TypeError('broken');").await;
    let Err(Failure::Internal { payload }) = out else { panic!("{out:?}") };
    assert_eq!((payload["name"].as_str(), payload["message"].as_str()), (Some("TypeError"), Some("broken")));
    let out =
        run_with(&p, Arc::default(), "module.exports.default = 42;".to_owned(), json!({}), Duration::from_secs(5))
            .await;
    assert!(matches!(out, Err(Failure::Internal { .. })), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_that_does_not_load_is_refused_at_check_time() {
    let p = pool(1);
    let host: Arc<dyn Host> = Arc::new(Scripted::default());
    let check = |code: &str| p.check("env-1".to_owned(), code.into(), "x.cjs".to_owned(), host.clone());
    assert_eq!(check(&action("return 1;")).await, Ok("action".to_owned()));
    assert!(matches!(check("module.exports.default = {").await, Err(Failure::Load { .. })));
    assert!(matches!(check("module.exports.x = 1;").await, Err(Failure::Internal { .. })));
    let unknown = check("module.exports.default = { type: 'cron', exec() {} };").await;
    let Err(Failure::Internal { payload }) = unknown else { panic!("{unknown:?}") };
    assert!(payload["message"].as_str().unwrap().contains("Unknown function type"), "{payload}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_ends_at_the_wall_time_and_the_worker_goes_on() {
    let p = pool(1);
    let started = std::time::Instant::now();
    let out = run_with(&p, Arc::default(), action("while (true) {}"), json!({}), Duration::from_millis(300)).await;
    assert_eq!(out, Err(Failure::Timeout { limit: Duration::from_millis(300) }));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(run(&p, "return 'still here';").await, Ok(json!("still here")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_hits_the_limit_and_the_worker_goes_on() {
    let p = pool(1);
    let out = run(&p, "const a = []; for (;;) { a.push('x'.repeat(1 << 16) + a.length); }").await;
    assert_eq!(out, Err(Failure::OutOfMemory { limit: 64 << 20 }));
    assert_eq!(run(&p, "return [1, 2, 3].length;").await, Ok(json!(3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_output_is_refused() {
    let p = pool(1);
    let out = run(&p, "return 'x'.repeat(3 * 1024 * 1024);").await;
    assert!(matches!(out, Err(Failure::OutputTooLarge { limit, .. }) if limit == 2 << 20), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_code_generation_no_modules_but_the_three() {
    let p = pool(1);
    for body in [
        "return eval('1 + 1');",
        "return new Function('return 1')();",
        "return (function () {}).constructor('return 1')();",
        "return Object.getPrototypeOf(async function () {}).constructor('return 1')();",
        "return require('fs');",
        "return require('child_process');",
        "return typeof process === 'undefined' ? (() => { throw new Error('no process'); })() : process.env;",
    ] {
        let out = run(&p, body).await;
        assert!(matches!(out, Err(Failure::Internal { .. })), "{body}: {out:?}");
    }
    let out = run(&p, "return [typeof require('zod').z, typeof require('crypto').createHash, typeof require('url').URL, (() => {}) instanceof Function];").await;
    assert_eq!(out, Ok(json!(["object", "function", "function", true])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nangos_globals_behave_like_nodes() {
    let p = pool(1);
    let out = run(
        &p,
        r#"
        const crypto = require('crypto');
        const u = new URL('/v1/items?a=1&b=x%20y#top', 'https://api.example.com:8443/base');
        u.searchParams.append('c', 'd e');
        await new Promise((resolve) => setTimeout(resolve, 20));
        return {
            sha256: crypto.createHash('sha256').update('abc').digest('hex'),
            hmac: crypto.createHmac('sha256', 'key').update('The quick brown fox jumps over the lazy dog').digest('base64'),
            uuid: /^[0-9a-f-]{36}$/.test(crypto.randomUUID()),
            href: u.href, host: u.host, path: u.pathname, b: u.searchParams.get('b'),
            b64: Buffer.from('héllo').toString('base64'),
            back: Buffer.from('aMOpbGxv', 'base64').toString('utf8'),
            text: new TextDecoder().decode(new TextEncoder().encode('✓ ok')),
            clone: structuredClone({ d: [1, { e: 2 }] }),
        };
        "#,
    )
    .await
    .unwrap();
    assert_eq!(out["sha256"], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(out["hmac"], "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=");
    assert_eq!(out["uuid"], true);
    assert_eq!(out["href"], "https://api.example.com:8443/v1/items?a=1&b=x+y&c=d+e#top");
    assert_eq!(
        (out["host"].as_str(), out["path"].as_str(), out["b"].as_str()),
        (Some("api.example.com:8443"), Some("/v1/items"), Some("x y"))
    );
    assert_eq!(
        (out["b64"].as_str(), out["back"].as_str(), out["text"].as_str()),
        (Some("aMOpbGxv"), Some("héllo"), Some("✓ ok"))
    );
    assert_eq!(out["clone"], json!({"d": [1, {"e": 2}]}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_errors_and_cursor_pagination_go_through_the_host() {
    let p = pool(1);
    let host = Arc::new(Scripted::default());
    *host.responses.lock().unwrap() = vec![
        json!({"status": 200, "headers": {}, "data": {"items": [1, 2], "next": "c2"}}),
        json!({"status": 200, "headers": {}, "data": {"items": [3], "next": ""}}),
        json!({"status": 404, "headers": {"content-type": "application/json", "x-ratelimit-remaining": "9", "set-cookie": "s"}, "data": {"error": "gone"}}),
    ];
    let code = action(
        "let n = 0; for await (const page of nango.paginate({ endpoint: '/items', paginate: { type: 'cursor', cursor_path_in_response: 'next', cursor_name_in_request: 'cursor', response_path: 'items', limit_name_in_request: 'limit', limit: 2 } })) { n += page.length; } await nango.log('counted', n, { level: 'warn' }); await nango.get({ endpoint: '/missing' }); return n;",
    );
    let out = run_with(&p, host.clone(), code, json!({}), Duration::from_secs(5)).await;
    assert_eq!(
        out,
        Err(Failure::Http {
            status: 404,
            headers: json!({"content-type": "application/json", "x-ratelimit-remaining": "9"}),
            body: json!({"error": "gone"}),
        })
    );
    let calls = host.calls.lock().unwrap().clone();
    assert_eq!(calls[0].1["params"], json!({"limit": 2}));
    assert_eq!(calls[1].1["params"], json!({"limit": 2, "cursor": "c2"}));
    assert_eq!(calls[2].1["method"], "GET");
    assert_eq!(host.logs.lock().unwrap().clone(), vec![("warn".to_owned(), "counted 3".to_owned())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_run_gets_its_own_module_and_workers_run_in_parallel() {
    let p = pool(2);
    let first = run(&p, "globalThis.leak = 1; return typeof module;").await;
    assert_eq!(first, Ok(json!("object")));
    // Two slow runs at once finish in about the time of one: two workers.
    let started = std::time::Instant::now();
    let slow = || run(&p, "await new Promise((r) => setTimeout(r, 300)); return 1;");
    let (a, b) = tokio::join!(slow(), slow());
    assert_eq!((a, b), (Ok(json!(1)), Ok(json!(1))));
    assert!(started.elapsed() < Duration::from_millis(550), "{:?}", started.elapsed());
}
