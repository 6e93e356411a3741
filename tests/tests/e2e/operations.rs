//! Operations: stored request logs (`GET /logs`), integration and connection status, the
//! rate limit, `/metrics` and `/ready`.

use std::time::{Duration, Instant};

use nango_sdk::{ConnectionStatusFilter, LogFilter};
use nango_tests::{TestServer, upstream::Upstream};
use reqwest::Method;
use serde_json::{Value, json};

use crate::assert_error;

const ALLOW_LOCAL: (&str, &str) = ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}");
const KEY: &str = "sk_live_logs_never_stored_0123";

/// A server reaching the local upstream, with integration `acme` and connections `c1`, `c2`.
async fn setup(extra: &[(&str, &str)]) -> (TestServer, Upstream) {
    let up = Upstream::start().await;
    let mut vars = vec![ALLOW_LOCAL];
    vars.extend_from_slice(extra);
    let s = TestServer::start_with(&vars).await;
    let created = TestServer::send(s.req(Method::POST, "/integrations").json(&json!({
        "provider": "private-api-generic", "unique_key": "acme",
        "integration_config": {"baseUrl": up.base_url, "keyPlacement": "query", "keyName": "api_key"}
    })))
    .await;
    assert_eq!(created.0, 200, "{}", created.1);
    for id in ["c1", "c2"] {
        let imported = TestServer::send(s.req(Method::POST, "/connections").json(&json!({
            "provider_config_key": "acme", "connection_id": id, "credentials": {"type": "API_KEY", "apiKey": KEY}
        })))
        .await;
        assert_eq!(imported.0, 201, "{}", imported.1);
    }
    (s, up)
}

/// A proxied call; returns its status and request id.
async fn proxied(s: &TestServer, connection: &str, path: &str) -> (u16, String) {
    let resp = s
        .req(Method::GET, &format!("/proxy{path}"))
        .header("Connection-Id", connection)
        .header("Provider-Config-Key", "acme")
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-nango-request-id"].to_str().unwrap().to_owned();
    (resp.status().as_u16(), id)
}

/// Polls `GET /logs?<query>` until it lists `n` entries (records are written just after the
/// response, by a background writer).
async fn logs(s: &TestServer, query: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = TestServer::send(s.req(Method::GET, &format!("/logs?{query}"))).await;
        assert_eq!(status, 200, "{body}");
        let data = body["data"].as_array().cloned().unwrap_or_default();
        if data.len() >= n || Instant::now() > deadline {
            assert_eq!(data.len(), n, "entries for {query}: {body}");
            return data;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_call_is_kept_and_readable_per_connection_newest_first() {
    let (s, _up) = setup(&[]).await;
    let (ok, ok_id) = proxied(&s, "c1", "/items/1?page=2").await;
    let (missing, missing_id) = proxied(&s, "c1", "/status/404").await;
    let (refused, _) = proxied(&s, "c2", "/status/401").await;
    assert_eq!((ok, missing, refused), (200, 404, 401));
    let api = TestServer::send(s.req(Method::GET, "/integrations/acme")).await;
    assert_eq!(api.0, 200);
    let unknown = TestServer::send(s.req(Method::GET, "/integrations/nope")).await;
    assert_eq!(unknown.1["error"]["code"], "not_found");
    let failed = logs(&s, "type=api&status=404", 1).await;
    assert_eq!(failed[0]["error_code"], "not_found", "an API call's record keeps its error code: {}", failed[0]);

    let c1 = logs(&s, "connectionId=c1&type=proxy", 2).await;
    assert_eq!(c1[0]["id"], json!(missing_id), "newest first");
    assert_eq!(c1[1]["id"], json!(ok_id));
    assert_eq!(c1[1]["type"], "proxy");
    assert_eq!(c1[1]["method"], "GET");
    assert_eq!(c1[1]["path"], "/proxy/items/1", "no query string");
    assert_eq!(c1[1]["provider_config_key"], "acme");
    assert_eq!(c1[1]["upstream"]["path"], "/items/1");
    assert_eq!(c1[1]["upstream"]["host"], "127.0.0.1");
    assert_eq!(c1[1]["upstream"]["attempts"], 1);
    assert_eq!(c1[0]["status"], 404);
    assert_eq!(c1[0]["upstream"]["status"], 404);
    assert!(c1[0]["created_at"].as_str().unwrap() >= c1[1]["created_at"].as_str().unwrap());

    // Filters combine: status classes, kinds, integration.
    let failures = logs(&s, "integrationId=acme&status=4xx", 2).await;
    assert!(failures.iter().all(|e| e["status"].as_u64().unwrap() >= 400));
    let exact = logs(&s, "status=401", 1).await;
    assert_eq!(exact[0]["connection_id"], "c2");
    let api_calls = logs(&s, "type=api&integrationId=acme", 4).await;
    let operations: Vec<&str> = api_calls.iter().filter_map(|e| e["operation"].as_str()).collect();
    assert_eq!(operations, ["get_integration", "create_connection", "create_connection", "create_integration"]);
    let imports = logs(&s, "type=api&connectionId=c1", 1).await;
    assert_eq!(imports[0]["operation"], "create_connection", "POST /connections names its connection");

    // Time range: nothing ended before the first call, everything after.
    let before = chrono::DateTime::parse_from_rfc3339(c1[1]["created_at"].as_str().unwrap()).unwrap();
    let early = (before - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    logs(&s, &format!("to={}", urlencode(&early)), 0).await;
    let recent = logs(&s, &format!("from={}&connectionId=c1&type=proxy", urlencode(&early)), 2).await;
    assert_eq!(recent.len(), 2);

    // Pages: one at a time, no entry twice, until the end.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut filter = LogFilter { limit: Some(2), ..Default::default() };
        filter.cursor.clone_from(&cursor);
        let page = s.sdk.list_logs(&filter).await.unwrap();
        assert!(page.data.len() <= 2);
        seen.extend(page.data.iter().map(|e| e.id.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no entry twice: {seen:?}");
    assert!(seen.len() >= 8, "integration, 2 imports, 3 proxied, 1 get, earlier log reads: {seen:?}");

    // No credential, query string or secret key is ever stored.
    let all = TestServer::send(s.req(Method::GET, "/logs?limit=1000")).await.1.to_string();
    assert!(!all.contains(KEY) && !all.contains("page=2") && !all.contains(&s.dev_key), "{all}");

    // Tenant isolation: the prod environment has its own history.
    let prod = TestServer::send(s.http.get(s.url("/logs")).bearer_auth(&s.prod_key)).await;
    assert_eq!(prod.0, 200);
    assert_eq!(prod.1["data"], json!([]));

    // Bad filters are refused with every issue listed.
    let bad =
        TestServer::send(s.req(Method::GET, "/logs?status=abc&type=x&from=yesterday&limit=0&cursor=zz&nope=1")).await;
    assert_error(&bad, 400, "invalid_query_params");
    let paths: Vec<&str> =
        bad.1["error"]["errors"].as_array().unwrap().iter().filter_map(|i| i["path"][0].as_str()).collect();
    for field in ["status", "type", "from", "limit", "cursor"] {
        assert!(paths.contains(&field), "{field} in {}", bad.1);
    }
    let unauthenticated = TestServer::send(s.http.get(s.url("/logs"))).await;
    assert_error(&unauthenticated, 401, "missing_auth_header");

    // Retention: what is older than the cut is deleted.
    let deleted = nango_server::db::repo::activity::purge(&s.state.ctx.db, chrono::Utc::now().timestamp_millis() + 1)
        .await
        .unwrap();
    assert!(deleted >= 8, "{deleted}");
    let (_, after) = TestServer::send(s.req(Method::GET, "/logs?type=proxy")).await;
    assert_eq!(after["data"], json!([]));
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Polls the connection statuses until `ready` holds for the listing.
async fn statuses(s: &TestServer, filter: &ConnectionStatusFilter, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = s.sdk.connection_status(filter).await.unwrap();
        let data: Vec<Value> = page.data.iter().map(|d| serde_json::to_value(d).unwrap()).collect();
        if ready(&data) || Instant::now() > deadline {
            assert!(ready(&data), "{data:?}");
            return data;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn status_shows_the_last_success_failure_and_auth_error_of_each_connection() {
    let (s, _up) = setup(&[]).await;
    let (_, success_id) = proxied(&s, "c1", "/ok").await;
    let (_, failure_id) = proxied(&s, "c1", "/status/503").await;
    let (_, refused_id) = proxied(&s, "c2", "/status/401").await;

    let all = statuses(&s, &ConnectionStatusFilter::default(), |d| {
        d.len() == 2 && d.iter().all(|c| c["last_failure"].is_object())
    })
    .await;
    let c1 = all.iter().find(|c| c["connection_id"] == "c1").unwrap();
    assert_eq!(c1["provider_config_key"], "acme");
    assert_eq!(c1["last_success"]["log_id"], json!(success_id));
    assert_eq!(c1["last_success"]["status"], 200);
    assert_eq!(c1["last_failure"]["log_id"], json!(failure_id));
    assert_eq!(c1["last_failure"]["status"], 503);
    assert!(c1.get("auth_error").is_none_or(Value::is_null));
    let c2 = all.iter().find(|c| c["connection_id"] == "c2").unwrap();
    assert_eq!(c2["auth_error"]["log_id"], json!(refused_id));
    assert!(c2.get("last_success").is_none_or(Value::is_null));

    // The customers to contact: only the refused key.
    let failing = s
        .sdk
        .connection_status(&ConnectionStatusFilter { auth_error: Some(true), ..Default::default() })
        .await
        .unwrap();
    let ids: Vec<&str> = failing.data.iter().map(|c| c.connection_id.as_str()).collect();
    assert_eq!(ids, ["c2"]);

    // Per integration: counts and the newest outcomes over its connections.
    let integrations = s.sdk.integration_status(Some("acme")).await.unwrap();
    assert_eq!(integrations.len(), 1);
    let acme = &integrations[0];
    assert_eq!((acme.connections, acme.connections_with_auth_error), (2, 1));
    assert_eq!(acme.last_success.as_ref().unwrap().connection_id.as_deref(), Some("c1"));
    let newest_failure = acme.last_failure.as_ref().unwrap();
    assert!([&failure_id, &refused_id].contains(&&newest_failure.log_id));
    let failure_times: Vec<&str> = all.iter().filter_map(|c| c["last_failure"]["at"].as_str()).collect();
    let newest = failure_times.iter().max().unwrap();
    assert_eq!(serde_json::to_value(newest_failure.at).unwrap(), json!(newest), "the newest failure");

    // A success clears the auth error.
    let (ok, _) = proxied(&s, "c2", "/fine").await;
    assert_eq!(ok, 200);
    statuses(&s, &ConnectionStatusFilter { connection_id: Some("c2".into()), ..Default::default() }, |d| {
        d.len() == 1 && d[0]["last_success"].is_object() && d[0].get("auth_error").is_none_or(Value::is_null)
    })
    .await;

    // Pages of one, and unknown integrations.
    let first =
        s.sdk.connection_status(&ConnectionStatusFilter { limit: Some(1), ..Default::default() }).await.unwrap();
    assert_eq!(first.data.len(), 1);
    let next = first.next_cursor.expect("a second page");
    let second = s
        .sdk
        .connection_status(&ConnectionStatusFilter { limit: Some(1), cursor: Some(next), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(second.data.len(), 1);
    assert_ne!(first.data[0].connection_id, second.data[0].connection_id);
    assert!(second.next_cursor.is_none());
    let unknown = TestServer::send(s.req(Method::GET, "/status/connections?integrationId=nope")).await;
    assert_error(&unknown, 400, "unknown_provider_config");

    // Deleting a connection deletes its activity.
    let deleted = s.req(Method::DELETE, "/connections/c1?provider_config_key=acme").send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    let left = s.sdk.integration_status(None).await.unwrap();
    assert_eq!(left[0].connections, 1);
}

#[tokio::test]
async fn with_no_retention_no_log_is_kept_but_status_is() {
    let (s, _up) = setup(&[("NANGO_LOG_RETENTION_HOURS", "0")]).await;
    proxied(&s, "c1", "/ok").await;
    statuses(&s, &ConnectionStatusFilter { connection_id: Some("c1".into()), ..Default::default() }, |d| {
        d.len() == 1 && d[0]["last_success"].is_object()
    })
    .await;
    // Logs of a batch are written before its activity: none were.
    let (_, body) = TestServer::send(s.req(Method::GET, "/logs")).await;
    assert_eq!(body["data"], json!([]), "{body}");
}

#[tokio::test]
async fn the_rate_limit_counts_per_environment_and_answers_429_with_retry_after() {
    let s = TestServer::start_with(&[("DEFAULT_RATE_LIMIT_PER_MIN", "3")]).await;
    let now = chrono::Utc::now().timestamp() as u64;
    let mut remaining = Vec::new();
    let mut reset = 0;
    for _ in 0..3 {
        let resp = s.req(Method::GET, "/integrations").send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-ratelimit-limit"], "3");
        remaining.push(resp.headers()["x-ratelimit-remaining"].to_str().unwrap().to_owned());
        reset = resp.headers()["x-ratelimit-reset"].to_str().unwrap().parse::<u64>().unwrap();
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let after = chrono::Utc::now().timestamp() as u64;
    assert!(
        (now + 60..=after + 61).contains(&reset),
        "reset {reset} is the window's end in Unix seconds (first call after {now}, last before {after})"
    );

    let refused = s.req(Method::GET, "/integrations").send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after = refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(refused.headers()["x-ratelimit-remaining"], "0");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body, json!({"error": {"code": "too_many_request", "method": "GET", "path": "/integrations"}}));

    // Through the SDK, the same refusal is a typed error.
    let err = s.sdk.list_integrations().await.unwrap_err();
    assert_eq!(err.status(), Some(429), "{err}");

    // The proxy spends from the same budget.
    let proxy = TestServer::send(
        s.req(Method::GET, "/proxy/x").header("Connection-Id", "c1").header("Provider-Config-Key", "acme"),
    )
    .await;
    assert_error(&proxy, 429, "too_many_request");

    // Other environments have their own window; failed authentication spends nothing and
    // gets no rate-limit headers (the limiter runs after authentication).
    let prod = s.http.get(s.url("/integrations")).bearer_auth(&s.prod_key).send().await.unwrap();
    assert_eq!(prod.status(), 200);
    assert_eq!(prod.headers()["x-ratelimit-remaining"], "2");
    let anonymous = s.http.get(s.url("/integrations")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(!anonymous.headers().contains_key("x-ratelimit-limit"));

    let off = TestServer::start_with(&[("FLAG_API_RATE_LIMIT_ENABLED", "false")]).await;
    let resp = off.req(Method::GET, "/integrations").send().await.unwrap();
    assert!(!resp.headers().contains_key("x-ratelimit-limit"));
}

/// The value of a sample line of `/metrics` (`name{labels} value`).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_calls_by_operation_and_status_and_readiness_follows_the_database() {
    let (s, _up) = setup(&[("NANGO_METRICS_TOKEN", "scrape-token"), ("NANGO_PROXY_CACHE_TTL_MS", "600000")]).await;
    proxied(&s, "c1", "/a").await;
    proxied(&s, "c1", "/b").await;
    let unknown = TestServer::send(s.req(Method::GET, "/integrations/nope")).await;
    assert_eq!(unknown.0, 404);

    let denied = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let resp = s.http.get(s.url("/metrics")).bearer_auth("scrape-token").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = resp.text().await.unwrap();
    let count = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series} missing in\n{text}"));
    assert_eq!(count("nango_proxy_requests_duration_seconds_count{method=\"GET\",status=\"200\"}"), 2.0);
    assert_eq!(count("nango_http_requests_duration_seconds_count{operation=\"get_integration\",status=\"404\"}"), 1.0);
    assert_eq!(
        count("nango_http_requests_duration_seconds_count{operation=\"create_connection\",status=\"201\"}"),
        2.0
    );
    assert_eq!(count("nango_proxy_upstream_duration_seconds_count{status=\"200\"}"), 2.0);
    assert_eq!(count("nango_proxy_target_cache_misses_total"), 1.0);
    assert_eq!(count("nango_proxy_target_cache_hits_total"), 1.0);
    assert!(count("nango_db_pool_connections") >= 1.0);
    assert!(text.contains("nango_webhook_outbox_pending "));
    assert!(text.contains("le=\"+Inf\""));
    assert!(!text.contains(KEY) && !text.contains("c1"), "no tenant data in metrics");

    // Liveness never touches the database; readiness fails as soon as it is gone.
    assert_eq!(TestServer::send(s.http.get(s.url("/ready"))).await, (200, json!({"result": "ok"})));
    s.state.ctx.db.clone().close().await.unwrap();
    let (status, body) = TestServer::send(s.http.get(s.url("/ready"))).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["result"], "unavailable");
    assert_eq!(TestServer::send(s.http.get(s.url("/health"))).await.0, 200);
}

#[tokio::test]
async fn records_the_writer_could_not_keep_are_counted_and_marked_in_the_logs() {
    // A queue of one record: a burst of calls overflows it at once.
    let s = TestServer::start_with(&[("NANGO_LOG_QUEUE", "1")]).await;
    let burst = 300;
    let calls = (0..burst).map(|_| TestServer::send(s.req(Method::GET, "/integrations")));
    for (status, _) in futures_util::future::join_all(calls).await {
        assert_eq!(status, 200);
    }
    // Every call is either stored or counted in a drop marker: wait until they add up.
    let mut made = burst;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (stored, marked, markers) = loop {
        let page = TestServer::send(s.req(Method::GET, "/logs?limit=1000")).await.1;
        made += 1;
        let entries = page["data"].as_array().cloned().unwrap_or_default();
        let markers: Vec<Value> =
            entries.iter().filter(|e| e["operation"] == "request_logs_dropped").cloned().collect();
        let marked: u64 = markers.iter().filter_map(|m| m["dropped"]["count"].as_u64()).sum();
        let stored = (entries.len() - markers.len()) as u64;
        // This call's own record is not written yet when it reads.
        if stored + marked == (made - 1) as u64 {
            break (stored, marked, markers);
        }
        assert!(Instant::now() < deadline, "{stored} stored + {marked} marked != {} made", made - 1);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(marked > 0 && stored > 0, "the burst overflowed the queue: {stored} stored, {marked} dropped");
    let marker = &markers[0];
    assert_eq!((&marker["type"], &marker["error_code"]), (&json!("api"), &json!("request_logs_dropped")), "{marker}");
    let from = chrono::DateTime::parse_from_rfc3339(marker["dropped"]["from"].as_str().unwrap()).unwrap();
    let to = chrono::DateTime::parse_from_rfc3339(marker["dropped"]["to"].as_str().unwrap()).unwrap();
    assert!(from <= to, "{marker}");
    let metrics = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let counted = sample(&metrics, "nango_request_logs_dropped_total").expect("the drop counter");
    assert!(counted as u64 >= marked, "the metric counts every drop: {counted} < {marked}");
}

#[tokio::test]
async fn logs_that_cannot_be_stored_are_counted_and_marked_and_the_status_is_kept_all_the_same() {
    use sea_orm::ConnectionTrait;
    let (s, _up) = setup(&[]).await;
    // The set-up's three calls stored first, so that what follows is the only thing lost.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, page) = TestServer::send(s.req(Method::GET, "/logs?limit=1000")).await;
        let entries = page["data"].as_array().cloned().unwrap_or_default();
        if entries.iter().filter(|e| e["method"] == "POST").count() == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "{page}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let db = &s.state.ctx.db;
    db.execute_unprepared("ALTER TABLE request_logs RENAME TO request_logs_away").await.unwrap();

    let (status, lost) = proxied(&s, "c1", "/ok").await;
    assert_eq!(status, 200);
    // The logs' part of the batch fails; the connection's status is another part, and is kept.
    statuses(&s, &ConnectionStatusFilter { connection_id: Some("c1".into()), ..Default::default() }, |d| {
        d.len() == 1 && d[0]["last_success"]["log_id"] == json!(lost)
    })
    .await;
    let dropped = || async {
        let metrics = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
        sample(&metrics, "nango_request_logs_dropped_total").expect("the drop counter") as u64
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while dropped().await == 0 {
        assert!(Instant::now() < deadline, "the lost record is never counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Once the table is back, the next batch stores its logs and marks what was lost: every
    // record counted as dropped is in a marker, and the lost call is not listed.
    db.execute_unprepared("ALTER TABLE request_logs_away RENAME TO request_logs").await.unwrap();
    let (_, kept) = proxied(&s, "c1", "/again").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, page) = TestServer::send(s.req(Method::GET, "/logs?limit=1000")).await;
        let entries = page["data"].as_array().cloned().unwrap_or_default();
        let marked: u64 = entries
            .iter()
            .filter(|e| e["operation"] == "request_logs_dropped")
            .filter_map(|m| m["dropped"]["count"].as_u64())
            .sum();
        let listed = |id: &str| entries.iter().any(|e| e["id"] == json!(id));
        if marked > 0 && marked == dropped().await && listed(&kept) {
            assert!(!listed(&lost), "the lost call is listed");
            break;
        }
        assert!(Instant::now() < deadline, "{marked} marked, {} counted, {} entries", dropped().await, entries.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
