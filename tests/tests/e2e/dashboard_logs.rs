//! The dashboard's Logs and Settings pages, driven as a browser would: a client that keeps
//! the session cookie, follows nothing by itself, and sends the forms' CSRF token.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use nango_server::{
    db::repo,
    model::activity::{CallRecord, Dropped, FunctionCall, Kind, LogFilter, MinuteCount},
    service,
};
use nango_tests::{TestServer, upstream::Upstream};
use reqwest::{Method, header};
use serde_json::{Value, json};

const ALLOW_LOCAL: (&str, &str) = ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}");

/// A page as the browser got it.
struct Page {
    status: u16,
    headers: header::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The first form's CSRF token.
    fn csrf(&self) -> String {
        attr_after(&self.body, r#"name="csrf""#, "value").unwrap_or_else(|| panic!("no csrf in {}", self.body))
    }
}

/// The value of attribute `name` in the tag that holds `marker`.
fn attr_after(html: &str, marker: &str, name: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    attr(&html[start..end], name)
}

/// The value of attribute `name` of a tag's text (`<a href="…" …`), entities decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let from = tag.find(&key)? + key.len();
    let len = tag[from..].find('"')?;
    Some(tag[from..from + len].replace("&amp;", "&").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">"))
}

/// A browser: keeps cookies, never follows redirects.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    /// Signs in to the dashboard with `key`.
    async fn signed_in(s: &TestServer, key: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut b = Self { http, base: s.base_url.clone(), cookies: Vec::new() };
        let form = b.get("/dashboard/sign-in").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        let done = b.post("/dashboard/sign-in", &[("csrf", &csrf), ("secret_key", key), ("next", "")]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert!(b.cookies.iter().any(|(n, _)| n == "nango_dashboard"), "signed in");
        b
    }

    fn keep_cookies(&mut self, headers: &header::HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() && !attrs.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
        let resp = req.header(header::COOKIE, cookie).send().await.unwrap();
        self.keep_cookies(resp.headers());
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        Page { status, headers, body: resp.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }
}

/// A server reaching the local upstream, with integrations `acme` and `beta`, each with a
/// connection `c1`.
async fn setup() -> (TestServer, Upstream) {
    let up = Upstream::start().await;
    let s = TestServer::start_with(&[ALLOW_LOCAL]).await;
    for key in ["acme", "beta"] {
        let created = TestServer::send(s.req(Method::POST, "/integrations").json(&json!({
            "provider": "private-api-generic", "unique_key": key,
            "integration_config": {"baseUrl": up.base_url, "keyPlacement": "query", "keyName": "api_key"}
        })))
        .await;
        assert_eq!(created.0, 200, "{}", created.1);
        let imported = TestServer::send(s.req(Method::POST, "/connections").json(&json!({
            "provider_config_key": key, "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": "k"}
        })))
        .await;
        assert_eq!(imported.0, 201, "{}", imported.1);
    }
    (s, up)
}

/// A proxied call; returns its status and request id.
async fn proxied(s: &TestServer, integration: &str, connection: &str, path: &str) -> (u16, String) {
    let resp = s
        .req(Method::GET, &format!("/proxy{path}"))
        .header("Connection-Id", connection)
        .header("Provider-Config-Key", integration)
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-nango-request-id"].to_str().unwrap().to_owned();
    (resp.status().as_u16(), id)
}

/// Polls `GET /logs?<query>` until it lists `n` entries (a background writer stores them).
async fn api_logs(s: &TestServer, query: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = TestServer::send(s.req(Method::GET, &format!("/logs?limit=1000&{query}"))).await;
        assert_eq!(status, 200, "{body}");
        let data = body["data"].as_array().cloned().unwrap_or_default();
        if data.len() >= n || Instant::now() > deadline {
            assert_eq!(data.len(), n, "entries for {query}: {body}");
            return data;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The request ids the page links to, in page order.
fn listed(body: &str) -> Vec<String> {
    body.match_indices(r#"href="/dashboard/logs/"#)
        .map(|(at, m)| {
            let rest = &body[at + m.len()..];
            // The link carries the call's time (`?at=`) after the request id.
            decode(&rest[..rest.find(['"', '?']).unwrap()])
        })
        .collect()
}

/// A percent-encoded path segment, decoded.
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&segment[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// `(data-minute, data-count)` of every `<rect class="{class}"` of the chart.
fn bars(body: &str, class: &str) -> Vec<(String, u64)> {
    body.match_indices(&format!(r#"<rect class="{class}""#))
        .map(|(at, _)| {
            let tag = &body[at..at + body[at..].find('>').unwrap()];
            (attr(tag, "data-minute").unwrap(), attr(tag, "data-count").unwrap().parse().unwrap())
        })
        .collect()
}

fn minute_of(created_at: &Value) -> String {
    let t = DateTime::parse_from_rfc3339(created_at.as_str().unwrap()).unwrap().timestamp_millis();
    DateTime::from_timestamp_millis(t / 60_000 * 60_000).unwrap().to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn the_log_page_lists_calls_newest_first_filters_and_pages() {
    let (s, _up) = setup().await;
    let mut b = Browser::signed_in(&s, &s.dev_key).await;
    let (_, first) = proxied(&s, "acme", "c1", "/items/1").await;
    let (missing, second) = proxied(&s, "acme", "c1", "/status/404").await;
    let (_, third) = proxied(&s, "beta", "c1", "/items/2").await;
    assert_eq!(missing, 404);
    api_logs(&s, "type=proxy", 3).await;

    let page = b.get("/dashboard/logs?type=proxy").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(listed(&page.body), [third.clone(), second.clone(), first.clone()], "newest first");
    assert!(page.body.contains("127.0.0.1/status/404"), "the upstream path is shown: {}", page.body);

    let beta = b.get("/dashboard/logs?type=proxy&integration=beta").await;
    assert_eq!(listed(&beta.body), [third.as_str()], "by integration");
    assert!(beta.body.contains(r#"<option value="beta" selected>"#), "the filter is shown as chosen");
    let errors = b.get("/dashboard/logs?type=proxy&status=error").await;
    assert_eq!(listed(&errors.body), [second.as_str()], "by status");
    let acme_ok = b.get("/dashboard/logs?type=proxy&integration=acme&status=2xx&connection=c1").await;
    assert_eq!(listed(&acme_ok.body), [first.as_str()], "filters combine");
    // The time range, as a datetime-local input sends it (UTC): nothing before an hour ago…
    let hour_ago = (Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M").to_string();
    let before = b.get(&format!("/dashboard/logs?type=proxy&to={hour_ago}")).await;
    assert_eq!(before.status, 200, "{}", before.body);
    assert!(listed(&before.body).is_empty());
    let since = b.get(&format!("/dashboard/logs?type=proxy&from={hour_ago}")).await;
    assert_eq!(listed(&since.body).len(), 3);

    // A bad filter is refused next to its field, as the API refuses it.
    let bad = b.get("/dashboard/logs?status=abc&from=yesterday").await;
    assert_eq!(bad.status, 400);
    let status_error = attr_after(&bad.body, r#"id="f-status""#, "aria-invalid");
    assert_eq!(status_error.as_deref(), Some("true"), "{}", bad.body);
    assert!(bad.body.contains(r#"<p class="field-error" id="f-status-error">"#), "{}", bad.body);
    assert!(bad.body.contains(r#"<p class="field-error" id="f-from-error">"#), "{}", bad.body);

    // Pages of 50 with an "Older" link, no call twice, none lost.
    let mut ids = vec![first, second, third];
    for i in 0..50 {
        ids.push(proxied(&s, "acme", "c1", &format!("/items/{}", i % 10)).await.1);
    }
    api_logs(&s, "type=proxy", 53).await;
    let newest = b.get("/dashboard/logs?type=proxy").await;
    let page_one = listed(&newest.body);
    assert_eq!(page_one.len(), 50);
    assert_eq!(page_one[0], ids[52]);
    let older = attr_after(&newest.body, r#"rel="next""#, "href").expect("an Older link");
    assert!(older.contains("type=proxy") && older.contains("cursor="), "{older}");
    let next = b.get(&older).await;
    assert_eq!(next.status, 200, "{}", next.body);
    let page_two = listed(&next.body);
    assert_eq!(page_two, [ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    assert!(attr_after(&next.body, r#"rel="next""#, "href").is_none(), "the last page has no Older link");
    assert!(next.body.contains(">Newest</a>"));

    // Signed out, the page sends to the sign-in.
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = anonymous.get(s.url("/dashboard/logs")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn one_call_shows_its_upstream_attempts_status_and_error_code() {
    let (s, _up) = setup().await;
    let mut b = Browser::signed_in(&s, &s.dev_key).await;
    let (_, ok) = proxied(&s, "acme", "c1", "/status/404").await;
    let (refused, unknown) = proxied(&s, "acme", "nope", "/items/1").await;
    assert!(refused >= 400, "{refused}");
    let entries = api_logs(&s, "type=proxy", 2).await;
    let code = entries[0]["error_code"].as_str().expect("an error code of this server").to_owned();

    let page = b.get(&format!("/dashboard/logs/{ok}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(attr_after(&page.body, r#"id="request-id""#, "value").as_deref(), Some(ok.as_str()));
    assert!(page.body.contains("<dt>Upstream host</dt><dd><code>127.0.0.1</code>"), "{}", page.body);
    assert!(page.body.contains("<dt>Upstream path</dt><dd><code>/status/404</code>"), "{}", page.body);
    assert!(page.body.contains("<dt>Attempts</dt><dd>1</dd>"), "{}", page.body);
    assert!(page.body.contains(r#"<dt>Status</dt><dd><span class="bad">404</span>"#), "{}", page.body);
    assert!(page.body.contains("<dt>Duration</dt>"), "{}", page.body);
    assert!(page.body.contains(r#"href="/dashboard/connections/acme/c1""#), "{}", page.body);

    let failed = b.get(&format!("/dashboard/logs/{unknown}")).await;
    assert!(failed.body.contains(&format!("<dt>Error code</dt><dd><code>{code}</code>")), "{}", failed.body);

    let none = b.get("/dashboard/logs/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(none.status, 404);
    // Another environment's call is not found either.
    let mut prod = Browser::signed_in(&s, &s.prod_key).await;
    assert_eq!(prod.get(&format!("/dashboard/logs/{ok}")).await.status, 404);
}

#[tokio::test]
async fn the_chart_has_a_bar_for_each_minute_with_calls() {
    let (s, _up) = setup().await;
    let mut b = Browser::signed_in(&s, &s.dev_key).await;
    proxied(&s, "acme", "c1", "/items/1").await;
    let (_, failed) = proxied(&s, "acme", "c1", "/status/500").await;
    proxied(&s, "beta", "c1", "/items/2").await;
    let proxy = api_logs(&s, "type=proxy", 3).await;
    let beta = api_logs(&s, "integrationId=beta", 3).await;

    let page = b.get("/dashboard/logs?hours=1").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"<svg class="chart""#) && page.body.contains(r#"aria-labelledby="chart-caption""#));
    // Drawn with attributes and classes only: the page's policy refuses inline styles and scripts.
    let policy = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(policy.contains("style-src 'self'") && policy.contains("script-src 'self'"), "{policy}");
    assert!(!page.body.contains(" style=") && !page.body.contains("<style") && !page.body.contains("<script>"));
    let requests = bars(&page.body, "requests");
    for entry in &proxy {
        let minute = minute_of(&entry["created_at"]);
        assert!(requests.iter().any(|(m, n)| *m == minute && *n > 0), "a bar at {minute}: {requests:?}");
    }
    let failed_at = proxy.iter().find(|e| e["id"] == json!(failed)).unwrap();
    let errors = bars(&page.body, "errors");
    assert!(errors.iter().any(|(m, _)| *m == minute_of(&failed_at["created_at"])), "{errors:?}");
    assert!(page.body.contains("<figcaption id=\"chart-caption\">Calls per minute over the last 1 hour (UTC)"));
    assert!(page.body.contains("The minutes with calls, as a table"), "the text alternative");

    // Per integration: beta's calls (its creation, its connection, one proxied call) only.
    let per_beta = b.get("/dashboard/logs?hours=6&integration=beta").await;
    let counted: u64 = bars(&per_beta.body, "requests").iter().map(|(_, n)| n).sum();
    assert_eq!(counted, beta.len() as u64, "{}", per_beta.body);
    assert!(bars(&per_beta.body, "errors").is_empty());
    assert!(per_beta.body.contains("last 6 hours (UTC), integration beta"));
}

fn record(env: nango_server::model::id::EnvironmentId, request_id: &str, at_ms: i64, status: u16) -> CallRecord {
    CallRecord {
        environment_id: env,
        request_id: request_id.to_owned(),
        at_ms,
        kind: Kind::Proxy,
        operation: None,
        method: "GET".to_owned(),
        path: "/proxy/x".to_owned(),
        status,
        duration_ms: 3.5,
        integration: Some("acme".to_owned()),
        connection_id: Some("c1".to_owned()),
        connection_row: None,
        upstream_host: Some("api.example.com".to_owned()),
        upstream_path: Some("/x".to_owned()),
        upstream_status: Some(status),
        attempts: Some(1),
        error_code: None,
        function: None,
    }
}

/// Every text of a call record is stored and read back exactly, on both databases: tabs, line
/// ends, backslashes and the text `\N` (PostgreSQL's bulk format gives each a meaning), the
/// quotes and escapes of a function's log lines, non-ASCII, and absent values.
#[tokio::test]
async fn call_records_keep_every_character_of_their_texts() {
    let s = TestServer::start().await;
    let ctx = &s.state.ctx;
    let env = service::environment::authenticate(ctx, &s.dev_key).await.unwrap().unwrap();
    let odd = "a\tb\nc\rd\\e\\N\\\\Nf\\";
    let mut sent = record(env.id, &format!("r-{odd}"), Utc::now().timestamp_millis() - 60_000, 500);
    sent.kind = Kind::Api;
    sent.operation = Some("trigger_action");
    sent.path = format!("/action/{odd}");
    sent.duration_ms = 0.000_1;
    sent.integration = Some(format!("i-{odd}"));
    sent.connection_id = Some("\\N".to_owned());
    sent.upstream_host = None;
    sent.upstream_path = Some(format!("/u/{odd}/é✓"));
    sent.upstream_status = None;
    sent.attempts = Some(3);
    sent.error_code = Some(format!("e-{odd}"));
    sent.function = Some(FunctionCall {
        name: "n\"q".to_owned(),
        version: None,
        outcome: "action_script_runtime_error".to_owned(),
        logs: vec![("info".to_owned(), format!("said \"{odd}\"\u{1}"))],
        proxied_calls: 2,
    });
    repo::activity::insert_logs(&ctx.db, std::slice::from_ref(&sent)).await.unwrap();
    let filter = LogFilter { connection_id: Some("\\N".to_owned()), ..Default::default() };
    let read = repo::activity::list_logs(&ctx.db, env.id, &filter, 10, None).await.unwrap();
    assert_eq!(read.len(), 1, "{read:?}");
    let got = &read[0].record;
    assert_eq!(read[0].operation.as_deref(), Some("trigger_action"));
    assert_eq!((&got.request_id, got.at_ms, got.kind), (&sent.request_id, sent.at_ms, Kind::Api));
    assert_eq!((&got.method, &got.path, got.status), (&sent.method, &sent.path, 500));
    assert!((got.duration_ms - sent.duration_ms).abs() < 1e-12, "{}", got.duration_ms);
    assert_eq!((&got.integration, &got.connection_id), (&sent.integration, &sent.connection_id));
    assert_eq!((&got.upstream_host, &got.upstream_path), (&None, &sent.upstream_path));
    assert_eq!((got.upstream_status, got.attempts), (None, Some(3)));
    assert_eq!((&got.error_code, &got.function), (&sent.error_code, &sent.function));
}

/// The read functions behind the chart and the detail page, on exact times (both databases).
#[tokio::test]
async fn calls_per_minute_and_one_request_are_read_the_same_on_both_databases() {
    let s = TestServer::start().await;
    let ctx = &s.state.ctx;
    let env = service::environment::authenticate(ctx, &s.dev_key).await.unwrap().unwrap();
    let prod = service::environment::authenticate(ctx, &s.prod_key).await.unwrap().unwrap();
    // A minute's start two hours ago (within the retention: older rows may be purged at once).
    let m = (Utc::now().timestamp_millis() / 60_000 - 120) * 60_000;
    let mut other = record(env.id, "r-other", m + 5, 200);
    other.integration = Some("beta".to_owned());
    let mut action = record(env.id, "r-action", m + 2 * 60_000 + 10, 500);
    action.kind = Kind::Api;
    action.operation = Some("trigger_action");
    action.method = "POST".to_owned();
    action.path = "/action/trigger".to_owned();
    action.upstream_host = None;
    action.error_code = Some("action_script_failure".to_owned());
    action.function = Some(FunctionCall {
        name: "fetch-items".to_owned(),
        version: Some("1.0.0".to_owned()),
        outcome: "action_script_failure".to_owned(),
        logs: vec![("info".to_owned(), "starting <now>".to_owned()), ("error".to_owned(), "it broke".to_owned())],
        proxied_calls: 1,
    });
    let batch = [
        record(env.id, "r1", m, 200),
        record(env.id, "r2", m + 59_999, 404),
        record(env.id, "r3", m + 30_000, 201),
        other,
        record(env.id, "r-action", m + 2 * 60_000 + 5, 502),
        action,
        record(prod.id, "r-prod", m + 1, 500),
        record(env.id, "r-late", m + 3 * 60_000, 200),
        record(env.id, "r-early", m - 1, 200),
    ];
    repo::activity::insert_logs(&ctx.db, &batch).await.unwrap();
    repo::activity::insert_drop_marker(&ctx.db, env.id, &Dropped { count: 7, from_ms: m + 1, to_ms: m + 2 })
        .await
        .unwrap();

    let (from, to) = (m, m + 3 * 60_000);
    let all = service::activity::per_minute(ctx, &env, None, from, to).await.unwrap();
    assert_eq!(
        all,
        [
            MinuteCount { minute_ms: m, requests: 4, errors: 1 },
            MinuteCount { minute_ms: m + 2 * 60_000, requests: 2, errors: 2 },
        ],
        "per minute, in [from, to), without the drop marker or another environment"
    );
    let acme = service::activity::per_minute(ctx, &env, Some("acme"), from, to).await.unwrap();
    assert_eq!(acme[0], MinuteCount { minute_ms: m, requests: 3, errors: 1 });
    assert!(service::activity::per_minute(ctx, &env, Some("none"), from, to).await.unwrap().is_empty());

    let entries = service::activity::by_request_id(ctx, &env, "r-action", None).await.unwrap();
    let statuses: Vec<u16> = entries.iter().map(|e| e.record.status).collect();
    assert_eq!(statuses, [502, 500], "oldest first");
    assert!(service::activity::by_request_id(ctx, &prod, "r-action", None).await.unwrap().is_empty());
    // Near the call's time, the same entries; far from it (the link's time is the window), none.
    let near = service::activity::by_request_id(ctx, &env, "r-action", Some(m + 2 * 60_000 + 5)).await.unwrap();
    assert_eq!(near.len(), 2);
    let far = service::activity::by_request_id(ctx, &env, "r-action", Some(m + 40 * 60_000)).await.unwrap();
    assert!(far.is_empty(), "only rows within the window are read");

    // The detail page shows the function's run and the call it made; the list, the marker.
    let mut b = Browser::signed_in(&s, &s.dev_key).await;
    let page = b.get("/dashboard/logs/r-action").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<dt>Type</dt><dd>API · <code>trigger_action</code>"), "the call first: {}", page.body);
    assert!(page.body.contains("<dt>Name</dt><dd><code>fetch-items</code>"), "{}", page.body);
    assert!(page.body.contains("starting &lt;now&gt;") && page.body.contains("it broke"), "{}", page.body);
    assert!(page.body.contains("Calls made for this request"), "{}", page.body);
    assert!(page.body.contains("api.example.com/x"), "{}", page.body);
    let around = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339_opts(SecondsFormat::Secs, true);
    let list = b.get(&format!("/dashboard/logs?from={}&to={}", around(m - 60_000), around(m + 60_000))).await;
    assert!(list.body.contains("7 calls were not kept"), "{}", list.body);
}

async fn webhook_settings(s: &TestServer) -> Value {
    let (status, body) = TestServer::send(s.req(Method::GET, "/environment/webhook")).await;
    assert_eq!(status, 200, "{body}");
    body
}

const SLACK: &str = "https://hooks.slack.com/services/T0000/B0000/slackSecretToken123";

#[tokio::test]
async fn settings_save_webhooks_with_errors_next_to_the_field_and_never_show_the_slack_url() {
    let s = TestServer::start().await;
    let mut b = Browser::signed_in(&s, &s.dev_key).await;
    let page = b.get("/dashboard/settings").await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();

    // A bad URL: refused next to its field, nothing saved, the Slack URL not echoed.
    let bad = b
        .post(
            "/dashboard/settings",
            &[
                ("csrf", &csrf),
                ("primary_url", "not a url"),
                ("secondary_url", ""),
                ("on_auth_creation", "yes"),
                ("slack_webhook_url", SLACK),
            ],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let field =
        &bad.body[bad.body.find(r#"id="f-primary_url""#).unwrap()..bad.body.find(r#"id="f-secondary_url""#).unwrap()];
    assert!(field.contains(r#"<p class="field-error" id="f-primary_url-error">Invalid URL</p>"#), "{field}");
    assert!(field.contains(r#"aria-invalid="true""#), "{field}");
    assert!(field.contains(r#"value="not a url""#), "what was typed is kept: {field}");
    assert!(!bad.body.contains("slackSecretToken123"), "{}", bad.body);
    assert!(bad.body.contains("enter the Slack URL again"), "{}", bad.body);
    let nango = b.post("/dashboard/settings", &[("csrf", &csrf), ("primary_url", "https://x.nango.dev/hook")]).await;
    assert!(nango.body.contains(r#"id="f-primary_url-error""#), "{}", nango.body);
    assert_eq!(webhook_settings(&s).await["primary_url"], Value::Null, "nothing saved");

    // Saved: URLs, the events as ticked (unticked means off), the Slack URL.
    let saved = b
        .post(
            "/dashboard/settings",
            &[
                ("csrf", &csrf),
                ("primary_url", "https://hooks.example.com/nango"),
                ("secondary_url", ""),
                ("on_sync_error", "yes"),
                ("on_sync_completion_always", "yes"),
                ("slack_webhook_url", SLACK),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(saved.location().starts_with("/dashboard/settings?saved=1"));
    let api = webhook_settings(&s).await;
    assert_eq!(api["primary_url"], "https://hooks.example.com/nango");
    assert_eq!(api["secondary_url"], Value::Null);
    assert_eq!(
        [
            &api["on_auth_creation"],
            &api["on_auth_refresh_error"],
            &api["on_sync_completion_always"],
            &api["on_sync_error"]
        ],
        [&json!(false), &json!(false), &json!(true), &json!(true)]
    );
    assert_eq!(api["slack_alerts"], true);

    let shown = b.get("/dashboard/settings?saved=1").await;
    assert!(shown.body.contains(r#"value="https://hooks.example.com/nango""#));
    assert!(shown.body.contains("a Slack URL is set"), "{}", shown.body);
    let ticked = |name: &str| shown.body.contains(&format!(r#"name="{name}" value="yes" checked"#));
    assert!(ticked("on_sync_error") && !ticked("on_auth_creation"), "{}", shown.body);
    let revealed = b.post("/dashboard/settings/signing-key", &[("csrf", &csrf), ("action", "reveal")]).await;
    for body in [&shown.body, &revealed.body] {
        assert!(!body.contains("slackSecretToken123") && !body.contains("hooks.slack.com"), "{body}");
    }

    // Saving without a new Slack URL keeps it; the switch turns alerts off.
    let kept = b.post("/dashboard/settings", &[("csrf", &csrf), ("primary_url", ""), ("slack_webhook_url", "")]).await;
    assert_eq!(kept.status, 303);
    let api = webhook_settings(&s).await;
    assert_eq!((api["primary_url"].clone(), api["slack_alerts"].clone()), (Value::Null, json!(true)));
    let off = b.post("/dashboard/settings", &[("csrf", &csrf), ("slack_off", "yes")]).await;
    assert_eq!(off.status, 303);
    assert_eq!(webhook_settings(&s).await["slack_alerts"], false);

    // Without the session's CSRF token nothing changes.
    let forged =
        b.post("/dashboard/settings", &[("csrf", "forged"), ("primary_url", "https://evil.example.com")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(webhook_settings(&s).await["primary_url"], Value::Null);
}

#[tokio::test]
async fn the_signing_key_shows_only_after_reveal_and_rotate_changes_it() {
    let s = TestServer::start().await;
    let mut b = Browser::signed_in(&s, &s.dev_key).await;
    let key = webhook_settings(&s).await["signing_key"].as_str().unwrap().to_owned();
    let page = b.get("/dashboard/settings").await;
    assert!(!page.body.contains(&key), "masked by default");
    assert!(page.body.contains(&format!("••••••••{}", &key[key.len() - 4..])), "{}", page.body);
    let csrf = page.csrf();

    let forged = b.post("/dashboard/settings/signing-key", &[("csrf", "nope"), ("action", "reveal")]).await;
    assert_eq!(forged.status, 403);
    assert!(!forged.body.contains(&key));
    let revealed = b.post("/dashboard/settings/signing-key", &[("csrf", &csrf), ("action", "reveal")]).await;
    assert_eq!(revealed.status, 200);
    assert_eq!(revealed.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(attr_after(&revealed.body, r#"id="signing-key-value""#, "value").as_deref(), Some(key.as_str()));
    assert!(!b.get("/dashboard/settings").await.body.contains(&key), "hidden again on the next visit");

    // Rotation asks first (the box unticked changes nothing), then replaces the key.
    let unconfirmed = b.post("/dashboard/settings/signing-key", &[("csrf", &csrf), ("action", "rotate")]).await;
    assert_eq!(unconfirmed.status, 400);
    assert!(unconfirmed.body.contains(r#"id="f-confirm-error""#), "{}", unconfirmed.body);
    assert_eq!(webhook_settings(&s).await["signing_key"], json!(key));
    let rotated =
        b.post("/dashboard/settings/signing-key", &[("csrf", &csrf), ("action", "rotate"), ("confirm", "yes")]).await;
    assert_eq!(rotated.status, 303);
    let new_key = webhook_settings(&s).await["signing_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, key);
    let after = b.post("/dashboard/settings/signing-key", &[("csrf", &csrf), ("action", "reveal")]).await;
    assert_eq!(attr_after(&after.body, r#"id="signing-key-value""#, "value").as_deref(), Some(new_key.as_str()));
    assert!(!after.body.contains(&key));
}
