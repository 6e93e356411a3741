//! The dashboard's functions pages, driven like a browser without JavaScript: the deployed
//! functions, running an action with a JSON input, and the records browser. Functions are
//! deployed by posting the deploy body the CLI recorded for the fixture project (no CLI run).

use std::time::{Duration, Instant};

use nango_tests::{
    TestServer,
    browser::{Browser, Page},
    upstream::Upstream,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::functions::{recorded_body, setup};

/// The text of a page as a person reads it (maud escapes `&`, `<`, `>` and `"`).
fn text(page: &Page) -> String {
    page.html.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// A server with `acme-fn` (on `upstream`), connection `c1` and the fixture project deployed,
/// and a browser signed in to it.
async fn deployed(upstream: &Upstream, vars: &[(&str, &str)]) -> (TestServer, Browser) {
    let mut vars = vars.to_vec();
    vars.push(("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}"));
    let s = TestServer::start_with(&vars).await;
    setup(&s, upstream).await;
    let deployed = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&recorded_body())).await;
    assert_eq!(deployed.0, 200, "{}", deployed.1);
    let mut b = Browser::new(&s.base_url);
    b.sign_in(&s.dev_key).await;
    (s, b)
}

/// The `<section class="run-result">` of a run page, or "" when there is none.
fn result_of(page: &Page) -> String {
    let t = text(page);
    t.find("class=\"run-result\"").map(|at| t[at..].to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn the_functions_page_lists_deployed_actions_and_syncs_with_their_versions() {
    let upstream = Upstream::start().await;
    let (s, mut b) = deployed(&upstream, &[]).await;

    let all = b.get("/dashboard/functions").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.html);
    let t = text(&all);
    for name in ["echo", "fetch-item", "fail", "items", "contacts"] {
        assert!(t.contains(&format!("<strong>{name}</strong>")), "{name} is listed:\n{t}");
    }
    assert!(t.contains("<span class=\"badge kind-action\">action</span>"), "{t}");
    assert!(t.contains("<span class=\"badge kind-sync\">sync</span>"), "{t}");
    assert!(t.contains("<code>1.0.0</code>"), "the version is shown");
    assert!(t.contains("every hour") && t.contains("starts by itself"), "the sync's frequency and auto start");
    assert!(t.contains("<time datetime="), "deploy times are shown");
    // Actions can be run; a sync's models lead to its records.
    assert!(t.contains("href=\"/dashboard/functions/acme-fn/echo/run\""), "{t}");
    assert!(!t.contains("/dashboard/functions/acme-fn/items/run"), "a sync has no Run link");
    assert!(t.contains("href=\"/dashboard/records?integration=acme-fn&model=Item\""), "{t}");

    // Filtered by integration; an unknown one is a 404.
    let one = b.get("/dashboard/functions?integration=acme-fn").await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(text(&one).contains("<option value=\"acme-fn\" selected>"), "the filter is kept");
    assert_eq!(b.get("/dashboard/functions?integration=nope").await.status, StatusCode::NOT_FOUND);

    // A redeploy with a changed bundle bumps the version, and the page shows it.
    let mut changed = recorded_body();
    let echo = changed["flowConfigs"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["syncName"] == "echo")
        .expect("echo in the fixture");
    echo["version"] = Value::Null;
    let js = echo["fileBody"]["js"].as_str().unwrap().to_owned();
    echo["fileBody"]["js"] = json!(format!("{js}\n// changed"));
    let redeployed = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&changed)).await;
    assert_eq!(redeployed.0, 200, "{}", redeployed.1);
    let after = text(&b.get("/dashboard/functions?integration=acme-fn").await);
    assert!(after.contains("<code>1.0.1</code>"), "the bumped version is shown:\n{after}");

    // Nothing deployed in the other environment.
    let mut prod = Browser::new(&s.base_url);
    prod.sign_in(&s.prod_key).await;
    assert!(text(&prod.get("/dashboard/functions").await).contains("No function is deployed"));
}

#[tokio::test]
async fn an_action_runs_with_a_json_input_and_its_output_or_error_is_shown() {
    let upstream = Upstream::start().await;
    let (s, mut b) = deployed(&upstream, &[]).await;
    let path = "/dashboard/functions/acme-fn/echo/run";

    let form = b.get(path).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    let t = text(&form);
    assert!(t.contains("<option value=\"c1\" selected>c1</option>"), "the only connection is chosen:\n{t}");
    assert!(t.contains("ActionInput_acme_fn_echo") && t.contains("\"message\""), "the input schema is shown");
    assert!(result_of(&form).is_empty(), "no result before a run");

    // Valid JSON: the action's output, pretty-printed.
    let ran = b.submit(&form, path, &[("connection_id", "c1"), ("input", r#"{"message": "hi", "n": 2}"#)]).await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.html);
    let result = result_of(&ran);
    assert!(result.contains("Succeeded in"), "{result}");
    assert!(
        result.contains("\"message\": \"hi\"")
            && result.contains("\"n\": 4")
            && result.contains("\"connectionId\": \"c1\""),
        "the output, indented:\n{result}"
    );
    assert!(text(&ran).contains(r#"{"message": "hi", "n": 2}</textarea>"#), "the input stays for another run");

    // Invalid JSON is refused next to the field, with the text kept; nothing runs.
    let broken = r#"{"message": "hi", "n": }"#;
    let refused = b.submit(&form, path, &[("connection_id", "c1"), ("input", broken)]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let t = text(&refused);
    assert!(t.contains("id=\"f-input-error\"") && t.contains("This is not valid JSON"), "{t}");
    assert!(t.contains("aria-invalid=\"true\" aria-describedby=\"f-input-hint f-input-error\""), "{t}");
    assert!(t.contains(&format!("{broken}</textarea>")), "the text is kept:\n{t}");
    assert!(result_of(&refused).is_empty(), "nothing ran");

    // Input the action's schema refuses: its issues next to the field, the API's error below.
    let invalid = b.submit(&form, path, &[("connection_id", "c1"), ("input", r#"{"message": 1, "n": 1}"#)]).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    let t = text(&invalid);
    assert!(t.contains("does not match the action's input schema") && t.contains("<li><code>message</code>: "), "{t}");
    assert!(result_of(&invalid).contains("<code>invalid_action_input</code>"), "{t}");

    // No connection chosen.
    let none = b.submit(&form, path, &[("connection_id", ""), ("input", "{}")]).await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    assert!(text(&none).contains("id=\"f-connection_id-error\">Choose a connection."), "{}", none.html);

    // A failing action: Nango's code and the function's error payload.
    let fail_path = "/dashboard/functions/acme-fn/fail/run";
    let failed = b.submit(&form, fail_path, &[("connection_id", "c1"), ("input", "{}")]).await;
    assert_eq!(failed.status, StatusCode::OK, "{}", failed.html);
    let result = result_of(&failed);
    assert!(result.contains("<code>action_script_runtime_error</code>") && result.contains("answers 500"), "{result}");
    assert!(result.contains("\"message\": \"refused by the test\"") && result.contains("\"reason\": \"because\""));

    // An upstream error the action let through: the 424 and the upstream's answer.
    let missing = b
        .submit(
            &form,
            "/dashboard/functions/acme-fn/fetch-item/run",
            &[("connection_id", "c1"), ("input", r#"{"id":"99"}"#)],
        )
        .await;
    let result = result_of(&missing);
    assert!(result.contains("<code>script_http_error</code>") && result.contains("answers 424"), "{result}");
    assert!(result.contains("\"error\": \"no such item\""), "{result}");

    // The run's log lines.
    let logged = b
        .submit(&form, "/dashboard/functions/acme-fn/log-and-meta/run", &[("connection_id", "c1"), ("input", "{}")])
        .await;
    let result = result_of(&logged);
    assert!(result.contains("<td>info</td><td><pre class=\"log\">hello</pre></td>"), "{result}");

    // Refused before running: an unknown connection, an unknown action, a form without the
    // session's token.
    let unknown = b.submit(&form, path, &[("connection_id", "c9"), ("input", "{}")]).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(text(&unknown).contains("class=\"error\" role=\"alert\""), "{}", unknown.html);
    assert_eq!(b.get("/dashboard/functions/acme-fn/nope/run").await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get("/dashboard/functions/acme-fn/items/run").await.status, StatusCode::NOT_FOUND, "a sync");
    let forged = b.post(path, &[("csrf", "wrong"), ("connection_id", "c1"), ("input", "{}")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test]
async fn an_input_larger_than_the_apis_body_limit_is_refused() {
    // Deploy through a server with the default limit, then browse through a replica on the
    // same database whose limit is 2 kB (the deploy body itself is larger).
    let upstream = Upstream::start().await;
    let db = nango_tests::TestDatabase::new().await;
    let key = nango_tests::new_encryption_key();
    let shared = [("NANGO_DATABASE_URL", db.url.as_str()), ("NANGO_ENCRYPTION_KEY", key.as_str())];
    let (a, _) = deployed(&upstream, &shared).await;
    let dev = a.dev_key.clone();
    let mut small = shared.to_vec();
    small.extend([("NANGO_SECRET_KEY_DEV", dev.as_str()), ("NANGO_SERVER_PUBLIC_BODY_LIMIT", "2kb")]);
    let s = TestServer::start_with(&small).await;
    let mut b = Browser::new(&s.base_url);
    b.sign_in(&s.dev_key).await;
    let path = "/dashboard/functions/acme-fn/echo/run";
    let form = b.get(path).await;
    assert!(text(&form).contains("At most 2 KiB."), "{}", form.html);

    let big = json!({"message": "x".repeat(3000), "n": 1}).to_string();
    let refused = b.submit(&form, path, &[("connection_id", "c1"), ("input", &big)]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(text(&refused).contains("more than the API's limit of 2 KiB"), "{}", refused.html);
    assert!(result_of(&refused).is_empty(), "nothing ran");
    // A form far beyond it is not read at all.
    let huge = "x".repeat(3 * 2048 + 70 * 1024);
    let too_large = b.submit(&form, path, &[("connection_id", "c1"), ("input", &huge)]).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(text(&too_large).contains("The form is too large"), "{}", too_large.html);
    // Within the limit it runs.
    let ok = b.submit(&form, path, &[("connection_id", "c1"), ("input", r#"{"message":"small","n":1}"#)]).await;
    assert!(result_of(&ok).contains("\"message\": \"small\""), "{}", ok.html);
    s.stop().await;
    a.stop().await;
}

/// Triggers `sync` for `c1` through the API and waits until that run has finished.
async fn run_sync(s: &TestServer, sync: &str) {
    let status = || async {
        let path = format!("/sync/status?syncs={sync}&provider_config_key=acme-fn&connection_id=c1");
        let (code, body) = TestServer::send(s.req(Method::GET, &path)).await;
        assert_eq!(code, 200, "{body}");
        body["syncs"][0].clone()
    };
    let before = status().await["finishedAt"].clone();
    let body = json!({"syncs": [sync], "provider_config_key": "acme-fn", "connection_id": "c1"});
    assert_eq!(TestServer::send(s.req(Method::POST, "/sync/trigger").json(&body)).await.0, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = status().await;
        if st["status"] != "RUNNING" && st["finishedAt"].is_string() && st["finishedAt"] != before {
            assert_eq!(st["latestExecutionStatus"], "SUCCESS", "{st}");
            return;
        }
        assert!(Instant::now() < deadline, "{sync} did not finish: {st}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The record ids of a records page, in order.
fn record_ids(page: &Page) -> Vec<String> {
    let t = text(page);
    let Some(start) = t.find("<table class=\"records\">") else { return Vec::new() };
    t[start..]
        .split("<tr><td><code>")
        .skip(1)
        .map(|row| row.split("</code>").next().unwrap_or_default().to_owned())
        .collect()
}

/// The href of the "Next page" link, unescaped.
fn next_link(page: &Page) -> Option<String> {
    let t = text(page);
    let end = t.find("rel=\"next\">Next page</a>")?;
    let start = t[..end].rfind("href=\"")? + "href=\"".len();
    Some(t[start..end].trim_end().trim_end_matches('"').to_owned())
}

#[tokio::test]
async fn the_records_browser_shows_a_syncs_records_page_by_page() {
    let upstream = Upstream::start().await;
    *upstream.items.lock().unwrap() =
        (0..23).map(|i| json!({"id": i.to_string(), "name": format!("item {i}"), "n": i})).collect();
    let (s, mut b) = deployed(&upstream, &[]).await;

    // Before any run of `items`.
    let empty = b.get("/dashboard/records?integration=acme-fn&connection=c1&model=Item").await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.html);
    assert!(text(&empty).contains("No records yet"), "{}", empty.html);

    run_sync(&s, "items").await;
    let api = TestServer::send(
        s.req(Method::GET, "/records?model=Item&limit=100")
            .header("Connection-Id", "c1")
            .header("Provider-Config-Key", "acme-fn"),
    )
    .await;
    let api_ids: Vec<String> =
        api.1["records"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(api_ids.len(), 23);

    // Ten a page, following "Next page" to the end: every record once, in the API's order.
    let mut seen = Vec::new();
    let mut url = "/dashboard/records?integration=acme-fn&connection=c1&model=Item&limit=10".to_owned();
    let mut pages = 0;
    loop {
        let page = b.get(&url).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        let ids = record_ids(&page);
        pages += 1;
        if pages == 1 {
            let t = text(&page);
            assert_eq!(ids.len(), 10, "{t}");
            assert!(t.contains("<span class=\"badge action-added\">ADDED</span>"), "the last action:\n{t}");
            assert!(t.matches("<time datetime=").count() >= 20, "modified and first-seen times:\n{t}");
            assert!(t.contains("<details>") && t.contains("\"name\": \"item "), "the record's JSON, indented:\n{t}");
            assert!(!t.contains("\"_nango_metadata\""), "the metadata is in its columns, not in the JSON");
            assert!(!t.contains(">First page</a>"), "already on the first page");
        } else {
            assert!(text(&page).contains(">First page</a>"), "a later page leads back");
        }
        seen.extend(ids);
        match next_link(&page) {
            Some(next) => url = next,
            None => break,
        }
        assert!(pages < 10, "paging ends");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, api_ids, "the same records in the same order as GET /records");

    // The defaults: the first integration with syncs, its first connection and model.
    let first = b.get("/dashboard/records").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.html);
    let t = text(&first);
    assert!(
        t.contains("<option value=\"c1\" selected>c1</option>") && t.contains("<option value=\"Contact\" selected>")
    );

    // Filters: deleted records (none); the API's messages for a bad cursor; an unknown connection.
    let deleted = b.get("/dashboard/records?integration=acme-fn&connection=c1&model=Item&filter=deleted").await;
    assert!(
        record_ids(&deleted).is_empty() && text(&deleted).contains("No record was last deleted."),
        "{}",
        deleted.html
    );
    let bad = b.get("/dashboard/records?integration=acme-fn&connection=c1&model=Item&cursor=nope").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(text(&bad).contains("Invalid cursor"), "{}", bad.html);
    let unknown = b.get("/dashboard/records?integration=acme-fn&connection=c9&model=Item").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(text(&unknown).contains("No connection \"c9\" in integration acme-fn."), "{}", unknown.html);
    assert_eq!(b.get("/dashboard/records?integration=nope").await.status, StatusCode::NOT_FOUND);
    s.stop().await;
}
