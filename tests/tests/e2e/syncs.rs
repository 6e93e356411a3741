//! Syncs: the fixture project's syncs deployed with the pinned `nango` CLI, run by the
//! scheduler against a local upstream, their records read through `GET /records` and
//! `@nangohq/node`, controlled through Nango's sync routes, announced by signed webhooks; two
//! replicas on one database running each due run once, and a run whose replica died taken
//! over.

use std::time::{Duration, Instant};

use nango_tests::{TestServer, receiver::Receiver, upstream::Upstream};
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    assert_error,
    functions::{nango, project, recorded_body, root, setup},
};

/// Longest wait for a run or a webhook.
const WAIT: Duration = Duration::from_secs(30);

fn contact(i: usize, updated_at: &str) -> Value {
    json!({"id": format!("c{i}"), "name": format!("contact {i}"), "email": format!("c{i}@acme.test"), "updated_at": updated_at})
}

/// `GET /sync/status` of one sync of connection `c1`.
async fn status(s: &TestServer, sync: &str) -> Value {
    let path = format!("/sync/status?syncs={sync}&provider_config_key=acme-fn&connection_id=c1");
    let (code, body) = TestServer::send(s.req(Method::GET, &path)).await;
    assert_eq!(code, 200, "{body}");
    body["syncs"][0].clone()
}

/// Waits until `sync` of `c1` has finished a run after `after` (its `finishedAt`), and answers
/// its status.
async fn finished_after(s: &TestServer, sync: &str, after: Option<&str>) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let st = status(s, sync).await;
        let finished = st["finishedAt"].as_str();
        if st["status"] != "RUNNING" && finished.is_some() && finished != after {
            return st;
        }
        assert!(Instant::now() < deadline, "no run of {sync} finished in time: {st}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn trigger(s: &TestServer, sync: &str, opts: Value) -> String {
    let before = status(s, sync).await["finishedAt"].as_str().unwrap_or_default().to_owned();
    let body = json!({"syncs": [sync], "provider_config_key": "acme-fn", "connection_id": "c1", "opts": opts});
    assert_eq!(
        TestServer::send(s.req(Method::POST, "/sync/trigger").json(&body)).await,
        (200, json!({"success": true}))
    );
    before
}

/// Triggers `sync` for `c1` and waits for that run's end.
async fn run(s: &TestServer, sync: &str, opts: Value) -> Value {
    let before = trigger(s, sync, opts).await;
    finished_after(s, sync, Some(before.as_str()).filter(|b| !b.is_empty())).await
}

async fn records(s: &TestServer, query: &str) -> (u16, Value) {
    TestServer::send(
        s.req(Method::GET, &format!("/records?{query}"))
            .header("Connection-Id", "c1")
            .header("Provider-Config-Key", "acme-fn"),
    )
    .await
}

/// Runs an ES module with `@nangohq/node` loaded as `Nango` (`nango` is a client of `s`); the
/// script prints one JSON value, which is answered.
async fn node(s: &TestServer, body: &str) -> Value {
    let script = format!(
        "const {{ Nango }} = await import(process.env.NANGO_NODE);\n\
         const nango = new Nango({{ host: process.env.NANGO_HOST, secretKey: process.env.NANGO_SECRET_KEY }});\n\
         {body}"
    );
    let out = tokio::process::Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .env("NANGO_NODE", root().join("node/node_modules/@nangohq/node/dist/index.js"))
        .env("NANGO_HOST", &s.base_url)
        .env("NANGO_SECRET_KEY", &s.dev_key)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("the script prints JSON ({e}): {stdout}"))
}

/// The next `sync` webhook for `model` (other webhooks are skipped).
async fn sync_webhook(receiver: &Receiver, model: &str) -> nango_tests::receiver::Received {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let hook = receiver.next(left).await.unwrap_or_else(|| panic!("no sync webhook for {model}"));
        let body = hook.json();
        if body["type"] == "sync" && body["model"] == model {
            return hook;
        }
    }
}

#[tokio::test]
async fn syncs_deployed_with_nangos_cli_store_records_that_nangohq_node_reads() {
    let upstream = Upstream::start().await;
    let receiver = Receiver::start(0).await;
    let s = TestServer::start_with(&[
        ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}"),
        ("NANGO_WEBHOOK_URL_DEV", receiver.url.as_str()),
        ("NANGO_WEBHOOK_POLL_MS", "100"),
    ])
    .await;
    setup(&s, &upstream).await;
    *upstream.contacts.lock().unwrap() = (0..120).map(|i| contact(i, "2026-01-01T00:00:00.000Z")).collect();

    // `contacts` starts by itself (autoStart) as soon as it is deployed.
    let dir = project();
    let out = nango(&s, dir.path(), &["deploy", "dev", "--auto-confirm"]).await;
    assert!(out.contains("- contacts@v1.0.0"), "{out}");
    let first = finished_after(&s, "contacts", None).await;
    assert_eq!(first["latestExecutionStatus"], "SUCCESS", "{first}");
    assert_eq!(first["status"], "SUCCESS");
    assert_eq!(first["type"], "INITIAL");
    assert_eq!(first["latestResult"], json!({"Contact": {"added": 120, "updated": 0, "deleted": 0}}));
    assert_eq!(first["recordCount"], json!({"Contact": 120}));
    assert_eq!(first["frequency"], "every hour");
    assert_eq!(first["checkpoint"], Value::Null);
    assert_eq!(first["variant"], "base");
    let next = chrono::DateTime::parse_from_rfc3339(first["nextScheduledSyncAt"].as_str().expect("next run")).unwrap();
    let in_an_hour = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!((in_an_hour - next.with_timezone(&chrono::Utc)).num_seconds().abs() < 60, "next run in an hour: {next}");

    // Its webhook, signed, verified by the official client.
    let hook = sync_webhook(&receiver, "Contact").await;
    let body = hook.json();
    assert_eq!(body["responseResults"], json!({"added": 120, "updated": 0, "deleted": 0}));
    assert_eq!(
        (&body["syncName"], &body["syncType"], &body["success"]),
        (&json!("contacts"), &json!("INITIAL"), &json!(true))
    );
    assert_eq!(
        (&body["connectionId"], &body["providerConfigKey"], &body["from"]),
        (&json!("c1"), &json!("acme-fn"), &json!("nango"))
    );
    let key = s.sdk.get_webhook_settings().await.expect("settings").signing_key;
    let raw = String::from_utf8(hook.body.clone()).unwrap();
    let verified = tokio::process::Command::new("node")
        .arg(root().join("node/verify-webhook.mjs"))
        .env("WEBHOOK_BODY", &raw)
        .env("WEBHOOK_HMAC", hook.header("x-nango-hmac-sha256"))
        .env("WEBHOOK_SIGNATURE", hook.header("x-nango-signature"))
        .env("WEBHOOK_SIGNING_KEY", &key)
        .output()
        .await
        .expect("node runs");
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));

    // `@nangohq/node` pages through the records.
    let read = node(
        &s,
        r#"const ids = []; let cursor; let pages = 0; let first;
        do {
            const page = await nango.listRecords({ providerConfigKey: 'acme-fn', connectionId: 'c1', model: 'Contact', limit: 50, cursor });
            for (const r of page.records) ids.push(r.id);
            first ??= page.records[0];
            cursor = page.next_cursor; pages++;
        } while (cursor);
        console.log(JSON.stringify({ ids, pages, first }));"#,
    )
    .await;
    assert_eq!(read["pages"], 3);
    let ids: Vec<&str> = read["ids"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!((ids.len(), unique.len()), (120, 120));
    let meta = &read["first"]["_nango_metadata"];
    assert_eq!(meta["last_action"], "ADDED");
    assert_eq!(meta["deleted_at"], Value::Null);
    assert!(meta["cursor"].is_string() && meta["first_seen_at"] == meta["last_modified_at"], "{meta}");

    // Incremental: only what changed since the last run is asked for and changes records.
    {
        let mut contacts = upstream.contacts.lock().unwrap();
        contacts[3] =
            json!({"id": "c3", "name": "renamed", "email": "c3@acme.test", "updated_at": "2099-01-01T00:00:00.000Z"});
        contacts.push(contact(500, "2099-01-01T00:00:00.000Z"));
    }
    upstream.contacts_queries.lock().unwrap().clear();
    let triggered =
        node(&s, "await nango.triggerSync('acme-fn', ['contacts'], 'c1'); console.log(JSON.stringify({ ok: true }));")
            .await;
    assert_eq!(triggered, json!({"ok": true}));
    let second = finished_after(&s, "contacts", first["finishedAt"].as_str()).await;
    assert_eq!(second["latestResult"], json!({"Contact": {"added": 1, "updated": 1, "deleted": 0}}), "{second}");
    assert_eq!(second["type"], "INCREMENTAL");
    assert_eq!(second["recordCount"], json!({"Contact": 121}));
    let asked = upstream.contacts_queries.lock().unwrap().clone();
    assert!(asked[0].contains("since=20"), "the run asked for changes since its last run: {asked:?}");
    let hook = sync_webhook(&receiver, "Contact").await.json();
    assert_eq!((&hook["syncType"], &hook["responseResults"]["updated"]), (&json!("INCREMENTAL"), &json!(1)));
    let updated = records(&s, "model=Contact&filter=updated").await;
    assert_eq!(updated.1["records"].as_array().map(Vec::len), Some(1), "{}", updated.1);
    assert_eq!(updated.1["records"][0]["name"], "renamed");
    assert_eq!(updated.1["records"][0]["_nango_metadata"]["last_action"], "UPDATED");
    let added = records(&s, "model=Contact&filter=added&limit=1000").await;
    assert_eq!(added.1["records"].as_array().map(Vec::len), Some(120));
    let by_id = records(&s, "model=Contact&ids=c3&ids=c500").await;
    assert_eq!(by_id.1["records"].as_array().map(Vec::len), Some(2));
    // A third run with nothing new changes nothing and sends no webhook.
    let third = run(&s, "contacts", json!({})).await;
    assert_eq!(third["latestResult"], json!({"Contact": {"added": 0, "updated": 0, "deleted": 0}}));

    // Checkpoints: a run that fails on its second page keeps its place, the next resumes there.
    *upstream.contacts_fail_at.lock().unwrap() = Some("50".to_owned());
    let failed = run(&s, "contacts", json!({"reset": true})).await;
    assert_eq!((&failed["status"], &failed["latestExecutionStatus"]), (&json!("ERROR"), &json!("STOPPED")), "{failed}");
    assert_eq!(failed["checkpoint"], json!({"cursor": "50", "since": ""}));
    let error = sync_webhook(&receiver, "Contact").await.json();
    assert_eq!(error["success"], false, "{error}");
    assert!(error["error"]["description"].as_str().is_some_and(|d| !d.is_empty()), "{error}");
    *upstream.contacts_fail_at.lock().unwrap() = None;
    upstream.contacts_queries.lock().unwrap().clear();
    let resumed = run(&s, "contacts", json!({})).await;
    assert_eq!(resumed["status"], "SUCCESS", "{resumed}");
    assert_eq!(resumed["checkpoint"], Value::Null);
    let asked = upstream.contacts_queries.lock().unwrap().clone();
    assert!(asked[0].contains("cursor=50"), "resumed from the checkpoint: {asked:?}");

    // Pause, start and frequency, through the official client and the SDK.
    let paused = node(
        &s,
        "await nango.pauseSync('acme-fn', ['contacts'], 'c1');
         const st = await nango.syncStatus('acme-fn', ['contacts'], 'c1');
         console.log(JSON.stringify(st.syncs[0]));",
    )
    .await;
    assert_eq!((&paused["status"], &paused["nextScheduledSyncAt"]), (&json!("PAUSED"), &Value::Null), "{paused}");
    let before = paused["finishedAt"].as_str().map(str::to_owned);
    node(&s, "await nango.startSync('acme-fn', ['contacts'], 'c1'); console.log('{}');").await;
    let restarted = finished_after(&s, "contacts", before.as_deref()).await;
    assert_eq!(restarted["status"], "SUCCESS", "starting runs at once: {restarted}");
    assert_eq!(
        s.sdk.update_sync_frequency("acme-fn", "c1", "contacts", Some("every 2 hours")).await.unwrap(),
        "every 2 hours"
    );
    assert_eq!(status(&s, "contacts").await["frequency"], "every 2 hours");
    let set = node(
        &s,
        "console.log(JSON.stringify(await nango.updateSyncConnectionFrequency('acme-fn', 'contacts', 'c1', 'every 3 hours')));",
    )
    .await;
    assert_eq!(set, json!({"frequency": "every 3 hours"}));
    assert_eq!(s.sdk.update_sync_frequency("acme-fn", "c1", "contacts", None).await.unwrap(), "every hour");
    let refused = s.sdk.update_sync_frequency("acme-fn", "c1", "contacts", Some("every 10s")).await.unwrap_err();
    assert_eq!(refused.code(), Some("invalid_body"), "{refused}");
    let unknown = s.sdk.update_sync_frequency("acme-fn", "c1", "nope", None).await.unwrap_err();
    assert_eq!(unknown.code(), Some("unknown_sync"), "{unknown}");
    let st = s.sdk.sync_status("acme-fn", &[], Some("c1")).await.expect("status of all");
    let mut names: Vec<&str> = st.iter().map(|e| e.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["broken", "checked", "contacts", "items"]);

    // A full sync that tracks deletes: what the upstream dropped is deleted.
    let items = run(&s, "items", json!({})).await;
    assert_eq!(items["latestResult"], json!({"Item": {"added": 25, "updated": 0, "deleted": 0}}), "{items}");
    assert_eq!(items["status"], "PAUSED", "a triggered run of a paused sync leaves it paused");
    {
        let mut all = upstream.items.lock().unwrap();
        all.truncate(20);
        all[0]["name"] = json!("changed");
    }
    let items = run(&s, "items", json!({})).await;
    assert_eq!(items["latestResult"], json!({"Item": {"added": 0, "updated": 1, "deleted": 5}}), "{items}");
    assert_eq!(items["recordCount"], json!({"Item": 20}));
    let deleted = records(&s, "model=Item&filter=deleted").await.1;
    assert_eq!(deleted["records"].as_array().map(Vec::len), Some(5), "{deleted}");
    assert_eq!(deleted["records"][0]["_nango_metadata"]["last_action"], "DELETED");
    assert!(deleted["records"][0]["_nango_metadata"]["deleted_at"].is_string());
    // Back upstream: added again.
    upstream.items.lock().unwrap().push(json!({"id": "24", "name": "item 24", "n": 24}));
    let items = run(&s, "items", json!({})).await;
    assert_eq!(items["latestResult"], json!({"Item": {"added": 1, "updated": 0, "deleted": 0}}), "{items}");
    let back = records(&s, "model=Item&ids=24").await.1;
    assert_eq!(back["records"][0]["_nango_metadata"]["last_action"], "ADDED", "{back}");
    // `emptyCache`: the records go first, then come back as added.
    let items = run(&s, "items", json!({"reset": true, "emptyCache": true})).await;
    assert_eq!(items["latestResult"], json!({"Item": {"added": 21, "updated": 0, "deleted": 0}}), "{items}");
    assert_eq!(records(&s, "model=Item&filter=deleted").await.1["records"], json!([]));

    // Data validation and duplicates: the invalid record is not stored, the log says why.
    let checked = run(&s, "checked", json!({})).await;
    assert_eq!(checked["status"], "PAUSED");
    assert_eq!(checked["latestExecutionStatus"], "SUCCESS");
    assert_eq!(checked["recordCount"], json!({"Thing": 1}), "{checked}");
    let stored = records(&s, "model=Thing").await.1;
    assert_eq!(stored["records"][0]["n"], 1, "the first of two copies is kept: {stored}");
    // Call records are stored within a moment of the run's end.
    let deadline = Instant::now() + WAIT;
    let run_log = loop {
        let logs = TestServer::send(s.req(Method::GET, "/logs?integrationId=acme-fn&type=api&limit=1000")).await.1;
        let found = logs["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["operation"] == "sync_run" && e["function"]["name"] == "checked")
            .cloned();
        if let Some(found) = found {
            break found;
        }
        assert!(Instant::now() < deadline, "the run is in the logs: {logs}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let lines: Vec<&str> =
        run_log["function"]["logs"].as_array().unwrap().iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(
        lines.iter().any(|l| l.contains("Record b of model Thing is invalid") && l.contains("/n (type)")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains("had an id already in the batch") && l.contains('a')), "{lines:?}");
    assert!(lines.contains(&"saved the things"), "{lines:?}");

    // A failing run: an error, its record kept, an error webhook.
    let broken = run(&s, "broken", json!({})).await;
    assert_eq!(broken["latestExecutionStatus"], "STOPPED", "{broken}");
    assert_eq!(broken["recordCount"], json!({"Piece": 1}));
    let hook = sync_webhook(&receiver, "Piece").await.json();
    assert_eq!(hook["success"], false);
    assert!(hook["error"]["description"].as_str().unwrap_or_default().contains("the upstream went away"), "{hook}");

    // Bad parameters get Nango's codes.
    assert_error(&records(&s, "model=Contact&limit=0").await, 400, "invalid_query_params");
    assert_error(&records(&s, "model=Contact&limit=10001").await, 400, "invalid_query_params");
    assert_error(&records(&s, "model=Contact&filter=gone").await, 400, "invalid_query_params");
    assert_error(&records(&s, "model=Contact&cursor=nope").await, 400, "invalid_query_params");
    assert_error(&records(&s, "model=Contact&modified_after=2001-01-01T00:00:00Z").await, 400, "invalid_query_params");
    assert_error(&records(&s, "limit=5").await, 400, "invalid_query_params");
    assert_error(&records(&s, "model=Contact&extra=1").await, 400, "invalid_query_params");
    let no_headers = TestServer::send(s.req(Method::GET, "/records?model=Contact")).await;
    assert_error(&no_headers, 400, "invalid_headers");
    let unknown = TestServer::send(
        s.req(Method::GET, "/records?model=Contact")
            .header("Connection-Id", "nobody")
            .header("Provider-Config-Key", "acme-fn"),
    )
    .await;
    assert_error(&unknown, 400, "unknown_connection");
    let nothing = json!({"syncs": ["nope"], "provider_config_key": "acme-fn", "connection_id": "c1"});
    assert_error(&TestServer::send(s.req(Method::POST, "/sync/trigger").json(&nothing)).await, 400, "no_syncs_found");
    let no_key = json!({"syncs": ["contacts"]});
    assert_error(
        &TestServer::send(s.req(Method::POST, "/sync/trigger").json(&no_key)).await,
        400,
        "missing_provider_config_key",
    );
    let mixed =
        json!({"syncs": ["contacts"], "provider_config_key": "acme-fn", "opts": {"reset": true}, "full_resync": true});
    assert_error(&TestServer::send(s.req(Method::POST, "/sync/trigger").json(&mixed)).await, 400, "invalid_body");
    let stranger = json!({"syncs": ["contacts"], "provider_config_key": "acme-fn", "connection_id": "nobody"});
    assert_error(
        &TestServer::send(s.req(Method::POST, "/sync/pause").json(&stranger)).await,
        404,
        "unknown_connection",
    );
    let no_integration = json!({"syncs": [], "provider_config_key": "nope"});
    assert_error(
        &TestServer::send(s.req(Method::POST, "/sync/start").json(&no_integration)).await,
        400,
        "unknown_provider_config",
    );

    // Deleting the connection removes its records and schedules.
    let del = TestServer::send(s.req(Method::DELETE, "/connections/c1?provider_config_key=acme-fn")).await;
    assert_eq!(del.0, 200, "{}", del.1);
    assert_error(&records(&s, "model=Contact").await, 400, "unknown_connection");
    let all = TestServer::send(s.req(Method::GET, "/sync/status?syncs=*&provider_config_key=acme-fn")).await;
    assert_eq!(all, (200, json!({"syncs": []})));
    s.stop().await;
}

#[tokio::test]
async fn paging_while_a_sync_writes_misses_nothing_and_repeats_nothing() {
    let upstream = Upstream::start().await;
    let s = TestServer::start_with(&[("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}")]).await;
    setup(&s, &upstream).await;
    *upstream.items.lock().unwrap() =
        (0..10_000).map(|i| json!({"id": i.to_string(), "name": format!("item {i}"), "n": i})).collect();
    let deployed = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&recorded_body())).await;
    assert_eq!(deployed.0, 200, "{}", deployed.1);
    trigger(&s, "items", json!({})).await;
    // Read with `@nangohq/node` while the sync stores 10,000 records in batches of 10, until
    // the run is over and a last pass finds nothing new.
    let read = node(
        &s,
        r#"const seen = new Map(); let cursor; let done = false; let passes = 0;
        const finished = async () => {
            const st = await nango.syncStatus('acme-fn', ['items'], 'c1');
            return st.syncs[0].status !== 'RUNNING' && st.syncs[0].finishedAt;
        };
        for (;;) {
            const over = await finished();
            for (;;) {
                const page = await nango.listRecords({ providerConfigKey: 'acme-fn', connectionId: 'c1', model: 'Item', limit: 1000, cursor });
                for (const r of page.records) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
                // Resume after the last record read (next_cursor is null on the last page).
                if (page.records.length) cursor = page.records[page.records.length - 1]._nango_metadata.cursor;
                passes++;
                if (!page.next_cursor) break;
                cursor = page.next_cursor;
            }
            if (over) break;
            await new Promise((r) => setTimeout(r, 20));
        }
        const twice = [...seen.entries()].filter(([, n]) => n > 1).map(([id]) => id);
        console.log(JSON.stringify({ count: seen.size, twice, passes }));"#,
    )
    .await;
    let twice = read["twice"].as_array().map_or(0, Vec::len);
    assert_eq!((read["count"].as_u64(), twice), (Some(10_000), 0), "records seen, records seen twice");
    assert!(read["passes"].as_u64().unwrap_or(0) > 10, "the reader paged while the sync wrote: {read}");
    s.stop().await;
}

/// Connections `c1`..`cN` of `acme-fn`.
async fn connections(s: &TestServer, n: usize) {
    for i in 1..=n {
        let conn = json!({"provider_config_key": "acme-fn", "connection_id": format!("c{i}"),
            "credentials": {"type": "API_KEY", "apiKey": "key"}});
        let (code, body) = TestServer::send(s.req(Method::POST, "/connections").json(&conn)).await;
        assert!(code == 200 || code == 201, "{body}");
    }
}

#[tokio::test]
async fn two_replicas_run_each_due_sync_once() {
    let upstream = Upstream::start().await;
    *upstream.contacts.lock().unwrap() = vec![contact(1, "2026-01-01T00:00:00.000Z")];
    let db = nango_tests::TestDatabase::new().await;
    let key = nango_tests::new_encryption_key();
    let dev = uuid::Uuid::new_v4().to_string();
    let shared = [
        ("NANGO_DATABASE_URL", db.url.as_str()),
        ("NANGO_ENCRYPTION_KEY", key.as_str()),
        ("NANGO_SECRET_KEY_DEV", dev.as_str()),
        ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}"),
        ("NANGO_WEBHOOK_POLL_MS", "20"),
    ];
    let a = TestServer::start_with(&shared).await;
    let b = TestServer::start_with(&shared).await;
    let body = json!({"provider": "private-api-generic", "unique_key": "acme-fn",
        "integration_config": {"baseUrl": upstream.base_url, "keyName": "x-api-key"}});
    assert_eq!(TestServer::send(a.req(Method::POST, "/integrations").json(&body)).await.0, 200);
    let deployed = TestServer::send(a.req(Method::POST, "/sync/deploy").json(&recorded_body())).await;
    assert_eq!(deployed.0, 200, "{}", deployed.1);
    // Eight connections: `contacts` (autoStart) is due at once for each; both replicas poll.
    connections(&a, 8).await;
    let done = |s: &TestServer| {
        let req = s.req(Method::GET, "/sync/status?syncs=contacts&provider_config_key=acme-fn");
        async move { TestServer::send(req).await.1 }
    };
    let deadline = Instant::now() + WAIT;
    loop {
        let st = done(&b).await;
        let finished = st["syncs"].as_array().map_or(0, |s| s.iter().filter(|e| e["status"] == "SUCCESS").count());
        if finished == 8 {
            break;
        }
        assert!(Instant::now() < deadline, "not every connection synced: {st}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(upstream.contacts_queries.lock().unwrap().len(), 8, "one run per connection, on one replica each");
    // Triggered from one replica for every connection: again once each.
    let all = json!({"syncs": ["contacts"], "provider_config_key": "acme-fn"});
    assert_eq!(TestServer::send(b.req(Method::POST, "/sync/trigger").json(&all)).await.0, 200);
    let deadline = Instant::now() + WAIT;
    while upstream.contacts_queries.lock().unwrap().len() < 16 {
        assert!(Instant::now() < deadline, "the triggered runs did not all happen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Settle: whatever was still due has had its chance to run twice.
    loop {
        let st = done(&a).await;
        if st["syncs"].as_array().is_some_and(|s| s.iter().all(|e| e["status"] != "RUNNING")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(upstream.contacts_queries.lock().unwrap().len(), 16, "no run happened twice");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_run_whose_replica_died_is_taken_over() {
    let upstream = Upstream::start().await;
    *upstream.contacts.lock().unwrap() = vec![contact(1, "2026-01-01T00:00:00.000Z")];
    let db = nango_tests::TestDatabase::new().await;
    let key = nango_tests::new_encryption_key();
    let dev = uuid::Uuid::new_v4().to_string();
    let shared: Vec<(String, String)> = [
        ("NANGO_DATABASE_URL", db.url.as_str()),
        ("NANGO_ENCRYPTION_KEY", key.as_str()),
        ("NANGO_SECRET_KEY_DEV", dev.as_str()),
        ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}"),
        ("NANGO_WEBHOOK_POLL_MS", "50"),
        ("NANGO_SYNC_LEASE", "5"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    // Replica A runs on its own runtime, so that it can die at once: dropping the runtime
    // stops every task of it (its run, its heartbeat) without a graceful shutdown.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<String>();
    let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
    let vars = shared.clone();
    let replica_a = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async move {
            let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let a = TestServer::start_with(&refs).await;
            ready_tx.send(a.base_url.clone()).unwrap();
            let _ = kill_rx.await;
            std::mem::forget(a);
        });
        rt.shutdown_background();
    });
    let a_url = ready_rx.recv().unwrap();
    let http = reqwest::Client::new();
    let a_req = |method: Method, path: &str| http.request(method, format!("{a_url}{path}")).bearer_auth(&dev);
    let body = json!({"provider": "private-api-generic", "unique_key": "acme-fn",
        "integration_config": {"baseUrl": upstream.base_url, "keyName": "x-api-key"}});
    assert_eq!(TestServer::send(a_req(Method::POST, "/integrations").json(&body)).await.0, 200);
    // The upstream hangs on the first call: A's run of `contacts` is stuck in it.
    upstream.contacts_hang_once.store(true, std::sync::atomic::Ordering::SeqCst);
    let deployed = TestServer::send(a_req(Method::POST, "/sync/deploy").json(&recorded_body())).await;
    assert_eq!(deployed.0, 200, "{}", deployed.1);
    let conn = json!({"provider_config_key": "acme-fn", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": "key"}});
    assert_eq!(TestServer::send(a_req(Method::POST, "/connections").json(&conn)).await.0, 201);
    let deadline = Instant::now() + WAIT;
    while upstream.contacts_queries.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "A never started the run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A dies mid-run; B starts after and finds the run held by a lease nobody renews.
    kill_tx.send(()).unwrap();
    replica_a.join().unwrap();
    let refs: Vec<(&str, &str)> = shared.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let b = TestServer::start_with(&refs).await;
    assert_eq!(status(&b, "contacts").await["status"], "RUNNING", "the dead replica's lease still holds");
    let taken_over = finished_after(&b, "contacts", None).await;
    assert_eq!(taken_over["status"], "SUCCESS", "{taken_over}");
    assert_eq!(taken_over["recordCount"], json!({"Contact": 1}));
    assert_eq!(upstream.contacts_queries.lock().unwrap().len(), 2, "A's stuck call, then B's run");
    b.stop().await;
}

/// The Slack messages received so far, waiting until there are `n` (Slack's format checked).
async fn slack_messages(receiver: &Receiver, n: usize, seen: &mut Vec<Value>) {
    let deadline = Instant::now() + WAIT;
    while seen.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let hook =
            receiver.next(left).await.unwrap_or_else(|| panic!("{} of {n} Slack messages: {seen:?}", seen.len()));
        assert_eq!(hook.header("content-type"), "application/json");
        let body = hook.json();
        assert!(body["text"].as_str().is_some_and(|t| !t.is_empty()), "Slack needs `text`: {body}");
        let blocks = body["blocks"].as_array().expect("blocks");
        for block in blocks {
            assert_eq!((&block["type"], &block["text"]["type"]), (&json!("section"), &json!("mrkdwn")), "{block}");
            assert!(block["text"]["text"].is_string());
        }
        seen.push(body);
    }
}

#[tokio::test]
async fn slack_alerts_once_per_problem_and_once_when_resolved() {
    let upstream = Upstream::start().await;
    let slack = Receiver::start(0).await;
    let s = TestServer::start_with(&[
        ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}"),
        ("NANGO_SLACK_WEBHOOK_URL_DEV", slack.url.as_str()),
        ("NANGO_WEBHOOK_POLL_MS", "50"),
    ])
    .await;
    setup(&s, &upstream).await;
    let settings = TestServer::send(s.req(Method::GET, "/environment/webhook")).await.1;
    assert_eq!(settings["slack_alerts"], true);
    assert!(!settings.to_string().contains(&slack.url), "the Slack URL is never shown: {settings}");
    *upstream.contacts.lock().unwrap() = vec![contact(1, "2026-01-01T00:00:00.000Z")];
    let deployed = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&recorded_body())).await;
    assert_eq!(deployed.0, 200, "{}", deployed.1);
    let ok = finished_after(&s, "contacts", None).await;
    assert_eq!(ok["status"], "SUCCESS", "{ok}");

    // Two failed runs: one alert.
    *upstream.contacts_fail_at.lock().unwrap() = Some(String::new());
    for _ in 0..2 {
        let failed = run(&s, "contacts", json!({})).await;
        assert_eq!(failed["status"], "ERROR", "{failed}");
    }
    let mut seen = Vec::new();
    slack_messages(&slack, 1, &mut seen).await;
    let alert = &seen[0];
    let title = alert["text"].as_str().unwrap();
    assert!(title.contains("Sync `contacts` failed for connection `c1` of `acme-fn` (dev)"), "{title}");
    let details = alert["blocks"][1]["text"]["text"].as_str().unwrap();
    for part in
        ["*Environment:* dev", "*Integration:* acme-fn", "*Connection:* c1", "*Function:* contacts", "*Error:* "]
    {
        assert!(details.contains(part), "{part} in {details}");
    }
    assert!(
        details.contains(&format!("<{}/logs?integrationId=acme-fn&connectionId=c1|Logs>", s.base_url)),
        "{details}"
    );
    // Recovery: one "resolved".
    *upstream.contacts_fail_at.lock().unwrap() = None;
    assert_eq!(run(&s, "contacts", json!({})).await["status"], "SUCCESS");
    slack_messages(&slack, 2, &mut seen).await;
    assert!(seen[1]["text"].as_str().unwrap().contains("Sync `contacts` resolved"), "{}", seen[1]);

    // A failing action: one alert for two failures.
    for _ in 0..2 {
        let req = s
            .req(Method::POST, "/action/trigger")
            .header("Connection-Id", "c1")
            .header("Provider-Config-Key", "acme-fn")
            .json(&json!({"action_name": "fail", "input": {}}));
        assert_eq!(TestServer::send(req).await.0, 500);
    }
    slack_messages(&slack, 3, &mut seen).await;
    assert!(seen[2]["text"].as_str().unwrap().contains("Action `fail` failed"), "{}", seen[2]);

    // The upstream refusing the credential, then accepting it again.
    let proxy = |path: &str| {
        s.req(Method::GET, &format!("/proxy{path}"))
            .header("Connection-Id", "c1")
            .header("Provider-Config-Key", "acme-fn")
    };
    assert_eq!(proxy("/status/401").send().await.unwrap().status(), 401);
    assert_eq!(proxy("/status/401").send().await.unwrap().status(), 401);
    slack_messages(&slack, 4, &mut seen).await;
    assert!(seen[3]["text"].as_str().unwrap().contains("Credentials refused by the upstream"), "{}", seen[3]);
    assert_eq!(proxy("/status/200").send().await.unwrap().status(), 200);
    slack_messages(&slack, 5, &mut seen).await;
    assert!(seen[4]["text"].as_str().unwrap().contains("Credentials resolved"), "{}", seen[4]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(slack.drain().await.is_empty(), "nothing else was sent");
    s.stop().await;
}
