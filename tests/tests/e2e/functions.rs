//! Functions with Nango's own tooling: the fixture project in `tests/functions` compiled and
//! deployed by the pinned `nango` CLI, its actions triggered through raw HTTP, the Rust SDK
//! and `@nangohq/node`; bad deploys changing nothing.

use std::path::{Path, PathBuf};

use nango_tests::{TestServer, upstream::Upstream};
use reqwest::Method;
use serde_json::{Value, json};

use super::assert_error;

pub(super) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(super) fn cli() -> PathBuf {
    let cli = root().join("node/node_modules/.bin/nango");
    assert!(
        cli.exists(),
        "the nango CLI is not installed: run `npm ci --prefix tests/node` (the README's test command does it)"
    );
    assert!(
        root().join("functions/node_modules/zod").exists(),
        "the fixture project's packages are not installed: run `npm ci --prefix tests/functions` (the README's test command does it)"
    );
    cli
}

/// A copy of the fixture project (sources only), so concurrent runs never share `build/`.
pub(super) fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read fixture") {
            let entry = entry.expect("entry");
            let name = entry.file_name();
            if matches!(name.to_str(), Some("build" | "node_modules" | "tools" | "fixtures")) {
                continue;
            }
            let (src, dst) = (entry.path(), to.join(&name));
            if src.is_dir() { copy(&src, &dst) } else { std::fs::copy(&src, &dst).map(|_| ()).expect("copy") }
        }
    }
    let fixture = root().join("functions");
    copy(&fixture, dir.path());
    #[cfg(unix)]
    std::os::unix::fs::symlink(fixture.join("node_modules"), dir.path().join("node_modules"))
        .expect("link node_modules");
    dir
}

/// `nango <args>` in `dir` against server `s`; answers stdout+stderr, asserting success.
pub(super) async fn nango(s: &TestServer, dir: &Path, args: &[&str]) -> String {
    let output = tokio::process::Command::new(cli())
        .args(args)
        .current_dir(dir)
        .env("CI", "true")
        .env("NANGO_CLI_UPGRADE_MODE", "ignore")
        .env("NANGO_DEPLOY_AUTO_CONFIRM", "true")
        .env("NANGO_CLI_TELEMETRY", "false")
        .env("NANGO_HOSTPORT", &s.base_url)
        .env("NANGO_SECRET_KEY_DEV", &s.dev_key)
        .env_remove("NANGO_SECRET_KEY_PROD")
        .output()
        .await
        .expect("the nango CLI runs");
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "nango {args:?} failed:\n{text}");
    text
}

/// An integration `acme-fn` whose key goes to `x-api-key` on `upstream`, and connection `c1`.
pub(super) async fn setup(s: &TestServer, upstream: &Upstream) {
    let body = json!({"provider": "private-api-generic", "unique_key": "acme-fn",
        "integration_config": {"baseUrl": upstream.base_url, "keyName": "x-api-key"}});
    let created = TestServer::send(s.req(Method::POST, "/integrations").json(&body)).await;
    assert_eq!(created.0, 200, "{}", created.1);
    let conn = json!({"provider_config_key": "acme-fn", "connection_id": "c1",
        "credentials": {"type": "API_KEY", "apiKey": "key-1"}, "metadata": {"plan": "pro"}});
    let imported = TestServer::send(s.req(Method::POST, "/connections").json(&conn)).await;
    assert_eq!(imported.0, 201, "{}", imported.1);
}

async fn trigger(s: &TestServer, connection: &str, action: &str, input: Value) -> (u16, Value) {
    let req = s
        .req(Method::POST, "/action/trigger")
        .header("Connection-Id", connection)
        .header("Provider-Config-Key", "acme-fn")
        .json(&json!({"action_name": action, "input": input}));
    TestServer::send(req).await
}

#[tokio::test]
async fn nangos_cli_deploys_and_its_actions_run() {
    let upstream = Upstream::start().await;
    let s = TestServer::start_with(&[
        ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}"),
        ("NANGO_ACTION_TIMEOUT", "2"),
        ("NANGO_FUNCTION_MEMORY_MB", "64"),
    ])
    .await;
    setup(&s, &upstream).await;
    let dir = project();

    let out = nango(&s, dir.path(), &["deploy", "dev", "--auto-confirm"]).await;
    for name in [
        "items",
        "contacts",
        "checked",
        "broken",
        "echo",
        "fetch-item",
        "paginate-count",
        "fail",
        "loop",
        "allocate",
        "log-and-meta",
    ] {
        assert!(out.contains(&format!("- {name}@v1.0.0")), "{name} deployed:\n{out}");
    }

    // `nango dryrun` runs a function inside the CLI, reading the connection through Nango's
    // deprecated `/connection/{id}` route and proxying through us.
    let dry = nango(
        &s,
        dir.path(),
        &["dryrun", "echo", "c1", "-e", "dev", "--no-interactive", "--input", r#"{"message":"dry","n":3}"#],
    )
    .await;
    assert!(dry.contains("\"n\": 6") && dry.contains("\"connectionId\": \"c1\""), "dryrun output:\n{dry}");
    let dry = nango(
        &s,
        dir.path(),
        &["dryrun", "fetch-item", "c1", "-e", "dev", "--no-interactive", "--input", r#"{"id":"3"}"#],
    )
    .await;
    assert!(dry.contains("item 3"), "dryrun output through the proxy:\n{dry}");

    // Raw HTTP: outputs, Nango's errors, and the sandbox's limits.
    assert_eq!(
        trigger(&s, "c1", "echo", json!({"message": "hi", "n": 2})).await,
        (200, json!({"message": "hi", "n": 4, "connectionId": "c1"}))
    );
    let bad = trigger(&s, "c1", "echo", json!({"message": 1})).await;
    assert_error(&bad, 400, "invalid_action_input");
    assert_eq!(bad.1["error"]["errors"][0]["path"], json!(["message"]), "{}", bad.1);
    let fail = trigger(&s, "c1", "fail", json!({})).await;
    assert_error(&fail, 500, "action_script_runtime_error");
    assert_eq!(fail.1["error"]["payload"], json!({"message": "refused by the test", "reason": "because"}));
    assert_error(&trigger(&s, "c1", "nope", json!({})).await, 404, "not_found");
    assert_error(&trigger(&s, "c2", "echo", json!({"message": "x", "n": 1})).await, 400, "unknown_connection");
    assert_eq!(trigger(&s, "c1", "paginate-count", json!({})).await, (200, json!({"count": 25})));
    assert_eq!(
        trigger(&s, "c1", "fetch-item", json!({"id": "7"})).await,
        (200, json!({"id": "7", "name": "item 7", "n": 7}))
    );
    let missing = trigger(&s, "c1", "fetch-item", json!({"id": "99"})).await;
    assert_error(&missing, 424, "script_http_error");
    assert_eq!(missing.1["error"]["upstream"]["status"], 404);
    assert_eq!(missing.1["error"]["upstream"]["body"], json!({"error": "no such item"}));
    assert_eq!(missing.1["error"]["upstream"]["headers"]["x-ratelimit-remaining"], "42");
    // An answer larger than the function's memory (64 MB here) is not read beyond it.
    let huge = trigger(&s, "c1", "fetch-item", json!({"id": "../big/80"})).await;
    assert_error(&huge, 500, "script_internal_error");
    assert!(huge.1.to_string().contains("larger than the function's memory limit (64 MB"), "{}", huge.1);
    let meta = trigger(&s, "c1", "log-and-meta", json!({})).await;
    assert_eq!(meta, (200, json!({"metadata": {"plan": "pro"}, "connection_id": "c1"})));
    let conn = TestServer::send(s.req(Method::GET, "/connections/c1?provider_config_key=acme-fn")).await;
    assert_eq!(conn.1["metadata"], json!({"plan": "pro", "touched": true}), "updateMetadata reached the connection");

    // Visible: each trigger's record names the function, its log lines and its proxied calls;
    // the metrics count runs by function and outcome.
    let logged = |name: &'static str| {
        let s = &s;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
            loop {
                let page = TestServer::send(s.req(Method::GET, "/logs?type=api&limit=100")).await.1;
                let found =
                    page["data"].as_array().into_iter().flatten().find(|e| e["function"]["name"] == name).cloned();
                if let Some(entry) = found {
                    return entry;
                }
                assert!(std::time::Instant::now() < deadline, "no log entry for {name}: {page}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    let entry = logged("log-and-meta").await;
    assert_eq!(entry["operation"], "trigger_action");
    assert_eq!(entry["function"]["outcome"], "success");
    assert_eq!(entry["function"]["version"], "1.0.0");
    assert_eq!(entry["function"]["logs"], json!([{"level": "info", "message": "hello"}]));
    let fetched = logged("fetch-item").await;
    assert_eq!(fetched["function"]["proxied_calls"], 1, "{fetched}");
    let failed = logged("fail").await;
    assert_eq!(
        (failed["status"].as_u64(), failed["function"]["outcome"].as_str()),
        (Some(500), Some("action_script_runtime_error"))
    );
    let metrics = s.http.get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(
        metrics.contains("nango_function_runs_duration_seconds_count{function=\"acme-fn/fail\",outcome=\"action_script_runtime_error\"} 1"),
        "runs by function and outcome:\n{metrics}"
    );

    let started = std::time::Instant::now();
    let looped = trigger(&s, "c1", "loop", json!({})).await;
    assert_error(&looped, 500, "action_script_failure");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "the 2 s limit ended it");
    assert_error(&trigger(&s, "c1", "allocate", json!({})).await, 500, "action_script_failure");
    assert_eq!(
        trigger(&s, "c1", "echo", json!({"message": "after", "n": 1})).await.0,
        200,
        "the server and workers go on"
    );

    // The Rust SDK.
    let out = s.sdk.trigger_action("acme-fn", "c1", "echo", json!({"message": "sdk", "n": 3})).await.expect("trigger");
    assert_eq!(out, json!({"message": "sdk", "n": 6, "connectionId": "c1"}));
    let err = s.sdk.trigger_action("acme-fn", "c1", "fail", json!({})).await.expect_err("ActionError");
    assert_eq!(err.code(), Some("action_script_runtime_error"), "{err}");
    assert_eq!(s.sdk.list_functions("acme-fn").await.expect("list").len(), 11);

    // The official Node client.
    let script = r#"
        const { Nango } = await import(process.env.NANGO_NODE);
        const nango = new Nango({ host: process.env.NANGO_HOST, secretKey: process.env.NANGO_SECRET_KEY });
        const out = await nango.triggerAction('acme-fn', 'c1', 'echo', { message: 'node', n: 5 });
        let refused;
        try { await nango.triggerAction('acme-fn', 'c1', 'fail', {}); } catch (e) { refused = e.response?.data ?? String(e); }
        console.log(JSON.stringify({ out, refused }));
    "#;
    let node = tokio::process::Command::new("node")
        .args(["--input-type=module", "-e", script])
        .env("NANGO_NODE", root().join("node/node_modules/@nangohq/node/dist/index.js"))
        .env("NANGO_HOST", &s.base_url)
        .env("NANGO_SECRET_KEY", &s.dev_key)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&node.stdout);
    assert!(node.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&node.stderr));
    let seen: Value = serde_json::from_str(stdout.trim()).expect("the script prints JSON");
    assert_eq!(seen["out"], json!({"message": "node", "n": 10, "connectionId": "c1"}));
    assert_eq!(seen["refused"]["error"]["code"], "action_script_runtime_error");

    // Listing, source, versions, deletion.
    let listed = TestServer::send(s.req(Method::GET, "/integrations/acme-fn/functions?type=action&limit=100")).await;
    assert_eq!(listed.1["pagination"]["total"], 7, "{}", listed.1);
    let code = TestServer::send(s.req(Method::GET, "/integrations/acme-fn/functions/echo/code")).await;
    assert!(code.1["code"].as_str().unwrap_or_default().contains("createAction"), "{}", code.1);
    let config = TestServer::send(s.req(Method::GET, "/scripts/config")).await;
    assert_eq!(config.1[0]["providerConfigKey"], "acme-fn");
    let syncs: Vec<&str> =
        config.1[0]["syncs"].as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(syncs, ["broken", "checked", "contacts", "items"]);
    assert_eq!(config.1[0]["actions"].as_array().map(Vec::len), Some(7));
    let again = nango(&s, dir.path(), &["deploy", "dev", "--auto-confirm"]).await;
    assert!(again.contains("- echo@v1.0.0"), "unchanged code keeps its version:\n{again}");
    let deleted = TestServer::send(s.req(Method::DELETE, "/integrations/acme-fn/functions/loop?type=action")).await;
    assert_eq!(deleted, (200, json!({"data": {"success": true}})));
    assert_error(&trigger(&s, "c1", "loop", json!({})).await, 404, "not_found");
    s.stop().await;
}

/// The deploy body the CLI sent for the fixture project (recorded by tests/functions/tools).
pub(super) fn recorded_body() -> Value {
    let text =
        std::fs::read_to_string(root().join("functions/fixtures/deploy-body.json")).expect("recorded deploy body");
    serde_json::from_str(&text).expect("JSON")
}

#[tokio::test]
async fn a_bad_deploy_is_refused_and_changes_nothing() {
    let upstream = Upstream::start().await;
    let s = TestServer::start().await;
    setup(&s, &upstream).await;
    let good = recorded_body();
    let deployed = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&good)).await;
    assert_eq!(deployed.0, 200, "{}", deployed.1);
    assert_eq!(deployed.1.as_array().map(Vec::len), Some(11));
    let before = TestServer::send(s.req(Method::GET, "/scripts/config")).await;

    let mut syntax = good.clone();
    syntax["flowConfigs"][1]["fileBody"]["js"] = json!("module.exports = { default: ");
    let refused = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&syntax)).await;
    assert_error(&refused, 400, "invalid_body");
    assert_eq!(refused.1["error"]["errors"][0]["path"], json!(["flowConfigs", "1", "fileBody", "js"]), "{}", refused.1);

    let mut no_default = good.clone();
    no_default["flowConfigs"][1]["fileBody"]["js"] = json!("module.exports.other = 1;");
    assert_error(&TestServer::send(s.req(Method::POST, "/sync/deploy").json(&no_default)).await, 400, "invalid_body");

    let mut wrong_type = good.clone();
    wrong_type["flowConfigs"][0]["type"] = json!("action"); // a sync bundle deployed as an action
    assert_error(&TestServer::send(s.req(Method::POST, "/sync/deploy").json(&wrong_type)).await, 400, "invalid_body");

    let mut unknown = good.clone();
    unknown["flowConfigs"][2]["providerConfigKey"] = json!("nope");
    assert_error(
        &TestServer::send(s.req(Method::POST, "/sync/deploy").json(&unknown)).await,
        400,
        "unknown_provider_config",
    );

    let mut strict = good.clone();
    strict["flowConfigs"][0]["surprise"] = json!(true);
    let strict = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&strict)).await;
    assert_error(&strict, 400, "invalid_body");
    assert_eq!(strict.1["error"]["errors"][0]["path"], json!(["flowConfigs", "0"]), "{}", strict.1);

    let after = TestServer::send(s.req(Method::GET, "/scripts/config")).await;
    assert_eq!(before, after, "refused deploys change nothing");

    // Reconcile within scope: a payload without `fail` removes it.
    let mut fewer = good.clone();
    fewer["flowConfigs"].as_array_mut().unwrap().retain(|f| f["syncName"] != "fail");
    let confirmation = TestServer::send(s.req(Method::POST, "/sync/deploy/confirmation").json(&fewer)).await;
    assert_eq!(confirmation.1["deletedActions"], json!([{"name": "fail", "providerConfigKey": "acme-fn"}]));
    let redeployed = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&fewer)).await;
    assert_eq!(redeployed.0, 200, "{}", redeployed.1);
    let listed = TestServer::send(s.req(Method::GET, "/integrations/acme-fn/functions")).await;
    assert_eq!(listed.1["pagination"]["total"], 10);
    // A changed bundle gets the next version when none is given.
    let mut changed = fewer.clone();
    changed["flowConfigs"][1]["fileBody"]["js"] =
        json!(format!("{}\n// changed", changed["flowConfigs"][1]["fileBody"]["js"].as_str().unwrap()));
    changed["flowConfigs"][1].as_object_mut().unwrap().remove("version");
    let bumped = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&changed)).await;
    assert_eq!(bumped.1[1]["version"], "1.0.1", "{}", bumped.1);
    s.stop().await;
}

/// Polls `GET /action/{id}` until the run has an outcome (404 while queued or running).
async fn outcome(s: &TestServer, id: &str) -> (u16, Value) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let got = TestServer::send(s.req(Method::GET, &format!("/action/{id}"))).await;
        if got.0 != 404 || std::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn trigger_async(s: &TestServer, action: &str, input: Value) -> String {
    let req = s
        .req(Method::POST, "/action/trigger")
        .header("Connection-Id", "c1")
        .header("Provider-Config-Key", "acme-fn")
        .header("X-Async", "true")
        .json(&json!({"action_name": action, "input": input}));
    let resp = req.send().await.expect("sent");
    assert_eq!(resp.status().as_u16(), 202);
    let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body: Value = resp.json().await.expect("json");
    let id = body["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        (location.as_str(), body["statusUrl"].as_str()),
        (format!("/action/{id}").as_str(), Some(format!("/action/{id}").as_str()))
    );
    id
}

#[tokio::test]
async fn async_actions_run_once_across_replicas_and_send_their_webhook() {
    let upstream = Upstream::start().await;
    let receiver = nango_tests::receiver::Receiver::start(0).await;
    let db = nango_tests::TestDatabase::new().await;
    let key = nango_tests::new_encryption_key();
    let dev = uuid::Uuid::new_v4().to_string();
    let shared = [
        ("NANGO_DATABASE_URL", db.url.as_str()),
        ("NANGO_ENCRYPTION_KEY", key.as_str()),
        ("NANGO_SECRET_KEY_DEV", dev.as_str()),
        ("NANGO_WEBHOOK_URL_DEV", receiver.url.as_str()),
        ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}"),
        ("NANGO_WEBHOOK_POLL_MS", "100"),
    ];
    let a = TestServer::start_with(&shared).await;
    let b = TestServer::start_with(&shared).await;
    setup(&a, &upstream).await;
    let deployed = TestServer::send(a.req(Method::POST, "/sync/deploy").json(&recorded_body())).await;
    assert_eq!(deployed.0, 200, "{}", deployed.1);

    // One run, its output, its webhook; a failing run keeps its error; bad ids.
    let id = trigger_async(&a, "echo", json!({"message": "later", "n": 21})).await;
    assert_eq!(
        outcome(&b, &id).await,
        (200, json!({"message": "later", "n": 42, "connectionId": "c1"})),
        "readable from either replica"
    );
    let failed = trigger_async(&b, "fail", json!({})).await;
    assert_error(&outcome(&a, &failed).await, 500, "action_script_runtime_error");
    assert_error(
        &TestServer::send(a.req(Method::GET, &format!("/action/{}", uuid::Uuid::new_v4()))).await,
        404,
        "not_found",
    );
    assert_error(&TestServer::send(a.req(Method::GET, "/action/not-a-uuid")).await, 400, "invalid_uri_params");
    let refused = a
        .req(Method::POST, "/action/trigger")
        .header("Connection-Id", "c1")
        .header("Provider-Config-Key", "acme-fn")
        .header("X-Async", "true")
        .json(&json!({"action_name": "nope", "input": {}}));
    assert_error(&TestServer::send(refused).await, 404, "not_found");

    // Twelve runs queued through both replicas: each runs exactly once.
    let mut ids = Vec::new();
    for n in 0..12 {
        let s = if n % 2 == 0 { &a } else { &b };
        ids.push(trigger_async(s, "echo", json!({"message": "many", "n": n})).await);
    }
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(outcome(&a, id).await.1["n"], json!(n * 2));
    }
    use sea_orm::EntityTrait;
    let rows = nango_server::db::entity::action_run::Entity::find().all(&a.state.ctx.db).await.expect("rows");
    assert_eq!(rows.len(), 14);
    assert!(
        rows.iter().all(|r| r.attempts == 1),
        "every run claimed once: {:?}",
        rows.iter().map(|r| r.attempts).collect::<Vec<_>>()
    );

    let mut hooks = Vec::new();
    while hooks.len() < 14 {
        let Some(hook) = receiver.next(std::time::Duration::from_secs(10)).await else { break };
        hooks.push(hook.json());
    }
    assert_eq!(hooks.len(), 14, "one async_action webhook per finished run");
    let first = hooks.iter().find(|h| h["payload"]["id"] == json!(id)).expect("the first run's webhook");
    assert_eq!(
        first,
        &json!({"type": "async_action", "from": "nango", "connectionId": "c1", "providerConfigKey": "acme-fn",
            "payload": {"id": id, "statusUrl": format!("/action/{id}")}})
    );

    // A run left `running` by a replica that died (its lease expired) is taken over.
    let orphan = uuid::Uuid::new_v4().to_string();
    let env_id = nango_server::db::repo::environment::find_by_name(&a.state.ctx.db, "dev").await.unwrap().unwrap().id;
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(30);
    let row = nango_server::db::entity::action_run::ActiveModel {
        id: sea_orm::Set(orphan.clone()),
        environment_id: sea_orm::Set(env_id.0),
        provider_config_key: sea_orm::Set("acme-fn".to_owned()),
        connection_id: sea_orm::Set("c1".to_owned()),
        action_name: sea_orm::Set("echo".to_owned()),
        input: sea_orm::Set(r#"{"message":"orphan","n":1}"#.to_owned()),
        status: sea_orm::Set("running".to_owned()),
        attempts: sea_orm::Set(1),
        max_retries: sea_orm::Set(0),
        lease_until: sea_orm::Set(Some(long_ago)),
        outcome: sea_orm::Set(None),
        created_at: sea_orm::Set(long_ago),
        finished_at: sea_orm::Set(None),
    };
    nango_server::db::entity::action_run::Entity::insert(row)
        .exec_without_returning(&a.state.ctx.db)
        .await
        .expect("insert");
    assert_eq!(outcome(&b, &orphan).await, (200, json!({"message": "orphan", "n": 2, "connectionId": "c1"})));
    a.stop().await;
    b.stop().await;
}

/// A hand-written bundle in the shape the CLI compiles, deployed as action `name` (the rest of
/// its flowConfig copied from the recorded `echo`).
fn custom_action(body: &Value, name: &str, exec: &str) -> Value {
    let mut flow = body["flowConfigs"].as_array().unwrap().iter().find(|f| f["syncName"] == "echo").unwrap().clone();
    flow["syncName"] = json!(name);
    flow["fileBody"]["js"] = json!(format!(
        "\"use strict\";\nconst z = require('zod');\nmodule.exports.default = {{ type: 'action', input: z.any(), output: z.object({{ ok: z.boolean() }}), exec: async (nango, input) => {{ {exec} }} }};"
    ));
    flow
}

#[tokio::test]
async fn a_function_reaches_only_its_connection_and_its_output_is_checked() {
    let upstream = Upstream::start().await;
    let s = TestServer::start_with(&[("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}")]).await;
    setup(&s, &upstream).await;
    let other = json!({"provider_config_key": "acme-fn", "connection_id": "c2", "credentials": {"type": "API_KEY", "apiKey": "key-2"}});
    assert_eq!(TestServer::send(s.req(Method::POST, "/connections").json(&other)).await.0, 201);
    let mut body = recorded_body();
    let flows = body["flowConfigs"].as_array_mut().unwrap();
    let extra = [
        custom_action(
            &json!({"flowConfigs": flows.clone()}),
            "other-connection",
            "await nango.getConnection('acme-fn', 'c2'); return { ok: true };",
        ),
        custom_action(
            &json!({"flowConfigs": flows.clone()}),
            "other-proxy",
            "await nango.get({ endpoint: '/items/1', connectionId: 'c2' }); return { ok: true };",
        ),
        custom_action(&json!({"flowConfigs": flows.clone()}), "bad-output", "return { ok: 'yes' };"),
        custom_action(
            &json!({"flowConfigs": flows.clone()}),
            "walk",
            "let link = 0, offset = 0;\n\
             for await (const page of nango.paginate({ endpoint: '/items', params: { limit: 10 }, paginate: { type: 'link', link_path_in_response_body: 'link', response_path: 'items' } })) { link += page.length; }\n\
             for await (const page of nango.paginate({ endpoint: '/items', paginate: { type: 'offset', offset_name_in_request: 'cursor', limit_name_in_request: 'limit', limit: 10, response_path: 'items' } })) { offset += page.length; }\n\
             await nango.log(JSON.stringify({ link, offset })); return { ok: link === 10 && offset === 25 };",
        ),
    ];
    flows.extend(extra);
    let deployed = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&body)).await;
    assert_eq!(deployed.0, 200, "{}", deployed.1);

    for name in ["other-connection", "other-proxy"] {
        let refused = trigger(&s, "c1", name, json!({})).await;
        assert_error(&refused, 500, "script_internal_error");
        assert!(refused.1.to_string().contains("only reach the connection it runs for"), "{name}: {}", refused.1);
    }
    let bad = trigger(&s, "c1", "bad-output", json!({})).await;
    assert_error(&bad, 400, "invalid_action_output");
    assert_eq!(bad.1["error"]["errors"][0]["path"], json!(["ok"]), "{}", bad.1);
    // Link pagination follows `link` in the body until it is missing (one page here: the
    // upstream sends none); offset pagination reads all 25 items 10 at a time.
    assert_eq!(trigger(&s, "c1", "walk", json!({})).await, (200, json!({"ok": true})));

    // Deprecated singular routes.
    let legacy = TestServer::send(s.req(Method::GET, "/connection?connectionId=c2")).await;
    assert_eq!(legacy.1["connections"].as_array().map(Vec::len), Some(1), "{}", legacy.1);
    let meta = s.req(Method::POST, "/connection/c2/metadata?provider_config_key=acme-fn").json(&json!({"a": 1}));
    assert_eq!(TestServer::send(meta).await, (201, json!({"a": 1})));
    let merge =
        s.req(Method::PATCH, "/connection/c2/metadata").header("Provider-Config-Key", "acme-fn").json(&json!({"b": 2}));
    assert_eq!(TestServer::send(merge).await.0, 200);
    let got = TestServer::send(s.req(Method::GET, "/connection/c2?provider_config_key=acme-fn")).await;
    assert_eq!(got.1["metadata"], json!({"a": 1, "b": 2}));
    assert_eq!(TestServer::send(s.req(Method::DELETE, "/connection/c2?provider_config_key=acme-fn")).await.0, 200);
    assert_error(
        &TestServer::send(s.req(Method::GET, "/connection/c2?provider_config_key=acme-fn")).await,
        404,
        "not_found",
    );
    s.stop().await;
}

#[tokio::test]
async fn x_max_retries_runs_a_failing_async_action_again() {
    let upstream = Upstream::start().await;
    let s = TestServer::start_with(&[("NANGO_WEBHOOK_POLL_MS", "50")]).await;
    setup(&s, &upstream).await;
    assert_eq!(TestServer::send(s.req(Method::POST, "/sync/deploy").json(&recorded_body())).await.0, 200);
    let req = s
        .req(Method::POST, "/action/trigger")
        .header("Connection-Id", "c1")
        .header("Provider-Config-Key", "acme-fn")
        .header("X-Async", "1")
        .header("X-Max-Retries", "2")
        .json(&json!({"action_name": "fail", "input": {}}));
    let (status, body) = TestServer::send(req).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_error(&outcome(&s, &id).await, 500, "action_script_runtime_error");
    use sea_orm::EntityTrait;
    let row = nango_server::db::entity::action_run::Entity::find_by_id(id).one(&s.state.ctx.db).await.unwrap().unwrap();
    assert_eq!(row.attempts, 3, "one run and two retries");
    let bad = s
        .req(Method::POST, "/action/trigger")
        .header("Connection-Id", "c1")
        .header("Provider-Config-Key", "acme-fn")
        .header("X-Max-Retries", "6")
        .json(&json!({"action_name": "fail", "input": {}}));
    assert_error(&TestServer::send(bad).await, 400, "invalid_headers");
    s.stop().await;
}
