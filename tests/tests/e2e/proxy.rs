//! `/proxy`: injection, forwarding, passthrough, streaming, retries, timeouts, policy.

use std::sync::atomic::Ordering;

use nango_sdk::{ProxyRequest, types::CreateIntegrationRequest};
use nango_tests::{TestServer, upstream::Upstream};
use reqwest::Method;
use serde_json::{Value, json};

use crate::assert_error;

const ALLOW_LOCAL: (&str, &str) = ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}");
const KEY: &str = "sk_live_0123456789";

/// A server allowed to reach the local upstream, with `acme` (private-api-generic at the
/// upstream, header `Authorization: Api-Key <key>`) and connection `c1`.
async fn setup(extra: &[(&str, &str)]) -> (TestServer, Upstream) {
    let up = Upstream::start().await;
    let mut vars = vec![ALLOW_LOCAL];
    vars.extend_from_slice(extra);
    let s = TestServer::start_with(&vars).await;
    let created = TestServer::send(s.req(Method::POST, "/integrations").json(&json!({
        "provider": "private-api-generic", "unique_key": "acme",
        "integration_config": {"baseUrl": up.base_url, "keyName": "Authorization", "valueTemplate": "Api-Key ${apiKey}"}
    })))
    .await;
    assert_eq!(created.0, 200, "{}", created.1);
    let imported = TestServer::send(s.req(Method::POST, "/connections").json(&json!({
        "provider_config_key": "acme", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": KEY}
    })))
    .await;
    assert_eq!(imported.0, 201, "{}", imported.1);
    (s, up)
}

fn proxy(s: &TestServer, method: Method, path: &str) -> reqwest::RequestBuilder {
    s.req(method, &format!("/proxy{path}")).header("Connection-Id", "c1").header("Provider-Config-Key", "acme")
}

async fn echoed(req: reqwest::RequestBuilder) -> Value {
    let r = TestServer::send(req).await;
    assert_eq!(r.0, 200, "{}", r.1);
    r.1
}

#[tokio::test]
async fn injects_the_key_where_the_integration_says_and_a_patch_applies_to_the_next_request() {
    let (s, _up) = setup(&[]).await;
    let e = echoed(proxy(&s, Method::GET, "/v1/items?a=1&b=%2F&c=x%20y")).await;
    assert_eq!(e["headers"]["authorization"], format!("Api-Key {KEY}"));
    assert_eq!(e["path"], "/v1/items?a=1&b=%2F&c=x%20y", "path and raw query pass through unchanged");

    let patch = |cfg: Value| {
        TestServer::send(s.req(Method::PATCH, "/integrations/acme").json(&json!({"integration_config": cfg})))
    };
    assert_eq!(
        patch(json!({"keyPlacement": "query", "keyName": "api_key", "valueTemplate": "${apiKey}"})).await.0,
        200
    );
    let e = echoed(proxy(&s, Method::GET, "/v1/items?a=1")).await;
    assert_eq!(e["path"], format!("/v1/items?a=1&api_key={KEY}"), "moved to the query on the very next request");
    assert!(e["headers"].get("authorization").is_none());

    assert_eq!(
        patch(json!({"keyPlacement": "header", "keyName": "X-Api-Key", "valueTemplate": "Token ${apiKey}"})).await.0,
        200
    );
    let e = echoed(proxy(&s, Method::GET, "/")).await;
    assert_eq!(e["headers"]["x-api-key"], format!("Token {KEY}"));
    assert!(!e["path"].as_str().unwrap().contains(KEY));

    // A re-imported key is used on the next request too.
    TestServer::send(s.req(Method::POST, "/connections").json(&json!({"provider_config_key": "acme", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": "rotated"}}))).await;
    assert_eq!(echoed(proxy(&s, Method::GET, "/")).await["headers"]["x-api-key"], "Token rotated");
}

#[tokio::test]
async fn bearer_and_basic_providers_inject_from_the_catalog() {
    let (s, up) = setup(&[]).await;
    for (provider, key, creds) in [
        ("private-api-bearer", "bearer", json!({"type": "API_KEY", "apiKey": "tok"})),
        ("private-api-basic", "basic", json!({"type": "BASIC", "username": "alice", "password": "pw"})),
    ] {
        s.sdk
            .create_integration(CreateIntegrationRequest {
                provider: provider.into(),
                unique_key: key.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        TestServer::send(
            s.req(Method::POST, "/connections")
                .json(&json!({"provider_config_key": key, "connection_id": "x", "credentials": creds})),
        )
        .await;
    }
    let via = |key: &str| {
        s.req(Method::GET, "/proxy/who")
            .header("Connection-Id", "x")
            .header("Provider-Config-Key", key)
            .header("Base-Url-Override", &up.base_url)
    };
    assert_eq!(echoed(via("bearer")).await["headers"]["authorization"], "Bearer tok");
    assert_eq!(echoed(via("basic")).await["headers"]["authorization"], "Basic YWxpY2U6cHc=");
}

#[tokio::test]
async fn only_nango_proxy_headers_are_forwarded_and_bodies_pass_for_every_method() {
    let (s, _up) = setup(&[]).await;
    let e = echoed(
        proxy(&s, Method::GET, "/h")
            .header("Nango-Proxy-X-Custom", "yes")
            .header("X-Other", "no")
            .header("Nango-Proxy-Accept", "text/csv"),
    )
    .await;
    assert_eq!(e["headers"]["x-custom"], "yes");
    assert_eq!(e["headers"]["accept"], "text/csv");
    assert!(e["headers"].get("x-other").is_none());
    for h in ["connection-id", "provider-config-key", "api-version"] {
        assert!(e["headers"].get(h).is_none(), "{h} must not reach the upstream");
    }
    assert_ne!(
        e["headers"]["authorization"],
        format!("Bearer {}", s.dev_key),
        "the secret key never reaches the upstream"
    );
    // Nango lets the caller override the injected header.
    let e = echoed(proxy(&s, Method::GET, "/h").header("Nango-Proxy-Authorization", "mine")).await;
    assert_eq!(e["headers"]["authorization"], "mine");
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let body = r#"{"big":7584781588001541408,"s":"é"}"#;
        let e =
            echoed(proxy(&s, method.clone(), "/things/1").header("content-type", "application/json").body(body)).await;
        assert_eq!((e["method"].as_str(), e["body"].as_str()), (Some(method.as_str()), Some(body)), "bytes unchanged");
        assert_eq!(e["headers"]["content-type"], "application/json");
    }
}

#[tokio::test]
async fn the_fast_path_and_the_cors_path_answer_alike() {
    let (s, _up) = setup(&[]).await;
    // Without an Origin the request is served ahead of poem's router; with one, through poem
    // (CORS). Both inject the key and carry the same headers.
    for origin in [None, Some("https://app.example.com")] {
        let mut req = proxy(&s, Method::GET, "/h");
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "{origin:?}");
        for h in ["x-nango-request-id", "x-ratelimit-limit", "x-ratelimit-remaining", "x-content-type-options"] {
            assert!(resp.headers().contains_key(h), "{h} missing ({origin:?})");
        }
        assert_eq!(resp.headers().contains_key("access-control-allow-origin"), origin.is_some(), "{origin:?}");
        let e: Value = resp.json().await.unwrap();
        assert_eq!(e["headers"]["authorization"], format!("Api-Key {KEY}"), "{origin:?}");
    }
    let preflight = crate::preflight(&s, "/proxy/h", "GET", "authorization,connection-id,provider-config-key").await;
    assert!(preflight.status().is_success() && preflight.headers().contains_key("access-control-allow-origin"));
    // Errors of the fast path are the envelope, with the request id.
    let resp = s.http.get(s.url("/proxy/h")).header("Authorization", "Bearer nope").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("x-nango-request-id"));
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");
}

#[tokio::test]
async fn bodies_keep_their_framing_and_the_upstream_sees_a_user_agent() {
    let (s, _up) = setup(&[]).await;
    // A body sent with Content-Length leaves with it (not chunked), for every method.
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let body = r#"{"signed":"upload"}"#;
        let e = echoed(proxy(&s, method.clone(), "/up").header("content-type", "application/json").body(body)).await;
        assert_eq!(e["headers"]["content-length"], body.len().to_string(), "{method}: {e}");
        assert!(e["headers"].get("transfer-encoding").is_none(), "{method} left chunked: {e}");
        assert_eq!(e["body"], body);
    }
    // With retries the body is buffered for replay: still sent with its length.
    let e = echoed(proxy(&s, Method::POST, "/up").header("Retries", "2").body("0123456789")).await;
    assert_eq!((e["headers"]["content-length"].as_str(), e["body"].as_str()), (Some("10"), Some("0123456789")));
    // A body that arrived chunked leaves chunked.
    let chunks = futures_util::stream::iter(["ab", "cd", "ef"].map(|c| Ok::<_, std::io::Error>(c.as_bytes().to_vec())));
    let e = echoed(proxy(&s, Method::POST, "/up").body(reqwest::Body::wrap_stream(chunks))).await;
    assert_eq!(e["headers"]["transfer-encoding"], "chunked", "{e}");
    assert!(e["headers"].get("content-length").is_none(), "{e}");
    assert_eq!(e["body"], "abcdef");
    // Our User-Agent and a request for the body as it is, unless the caller says otherwise.
    let e = echoed(proxy(&s, Method::GET, "/h")).await;
    let agent = e["headers"]["user-agent"].as_str().unwrap_or_default();
    assert!(agent.starts_with("nango-rs/") && agent.len() > "nango-rs/".len(), "{e}");
    assert_eq!(e["headers"]["accept-encoding"], "identity");
    let e = echoed(
        proxy(&s, Method::GET, "/h")
            .header("Nango-Proxy-User-Agent", "acme-backend/2.1")
            .header("Nango-Proxy-Accept-Encoding", "gzip"),
    )
    .await;
    assert_eq!(
        (e["headers"]["user-agent"].as_str(), e["headers"]["accept-encoding"].as_str()),
        (Some("acme-backend/2.1"), Some("gzip"))
    );
}

#[tokio::test]
async fn upstream_status_headers_and_bodies_reach_the_caller_unchanged() {
    let (s, _up) = setup(&[]).await;
    for code in [200u16, 201, 202, 204, 400, 404, 418, 500] {
        let resp = proxy(&s, Method::GET, &format!("/status/{code}")).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), code);
        assert_eq!(resp.headers()["x-upstream"], "status");
        assert_eq!(resp.headers()["x-ratelimit-remaining"], "7");
        assert!(resp.headers().contains_key("x-nango-request-id"), "a request id comes back");
        if code == 201 {
            assert_eq!(resp.headers()["location"], "/things/1");
        }
        let text = resp.text().await.unwrap();
        if code != 204 {
            assert_eq!(text, format!("{{\"status\":{code}}}"));
        }
    }
}

#[tokio::test]
async fn bodies_stream_both_ways() {
    let (s, up) = setup(&[]).await;
    let resp = proxy(&s, Method::GET, "/big/64").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut total = 0usize;
    let mut stream = resp.bytes_stream();
    use futures_util::StreamExt;
    while let Some(chunk) = stream.next().await {
        total += chunk.unwrap().len();
    }
    assert_eq!(total, 64 * 1024 * 1024);
    // A 32 MiB upload without a declared length streams through.
    let chunks =
        futures_util::stream::iter((0..512).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![1u8; 64 * 1024]))));
    let r = TestServer::send(
        proxy(&s, Method::POST, "/upload")
            .header("content-type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(chunks)),
    )
    .await;
    assert_eq!(r.0, 200);
    assert_eq!(up.uploaded.load(Ordering::SeqCst), 32 * 1024 * 1024);
}

#[tokio::test]
async fn retries_honour_retry_after_and_back_off() {
    let (s, up) = setup(&[]).await;
    let started = std::time::Instant::now();
    let resp = proxy(&s, Method::GET, "/flaky/retry-after/2").header("Retries", "3").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok after 3 calls");
    assert!(started.elapsed() >= std::time::Duration::from_millis(1900), "Retry-After: 1 was honoured twice");
    up.flaky_calls.store(0, Ordering::SeqCst);
    let resp = proxy(&s, Method::GET, "/flaky/error/1").header("Retries", "2").send().await.unwrap();
    assert_eq!(resp.status(), 200, "5xx retried with backoff");
    up.flaky_calls.store(0, Ordering::SeqCst);
    let resp = proxy(&s, Method::GET, "/flaky/error/5").send().await.unwrap();
    assert_eq!((resp.status().as_u16(), up.flaky_calls.load(Ordering::SeqCst)), (500, 1), "no retry by default");
    up.flaky_calls.store(0, Ordering::SeqCst);
    let resp = proxy(&s, Method::GET, "/flaky/long-retry-after/5").header("Retries", "3").send().await.unwrap();
    assert_eq!(
        (resp.status().as_u16(), up.flaky_calls.load(Ordering::SeqCst)),
        (429, 1),
        "a wait beyond the cap is not waited"
    );
    up.flaky_calls.store(0, Ordering::SeqCst);
    let resp = proxy(&s, Method::POST, "/flaky/error/1")
        .header("Retries", "1")
        .header("content-type", "application/json")
        .body("{\"a\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "small bodies are replayed");
    let r = TestServer::send(proxy(&s, Method::GET, "/status/400").header("Retries", "x")).await;
    assert_error(&r, 400, "invalid_headers");
}

#[tokio::test]
async fn slow_and_unreachable_upstreams_get_504_and_502_envelopes() {
    let (s, _up) = setup(&[("NANGO_PROXY_TIMEOUT", "1")]).await;
    let r = TestServer::send(proxy(&s, Method::GET, "/slow")).await;
    assert_error(&r, 504, "upstream_timeout");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let r =
        TestServer::send(proxy(&s, Method::GET, "/x").header("Base-Url-Override", format!("http://{closed}"))).await;
    assert_error(&r, 502, "upstream_unreachable");
}

#[tokio::test]
async fn the_outbound_policy_refuses_private_destinations_by_default() {
    let up = Upstream::start().await;
    let s = TestServer::start().await; // default policy
    TestServer::send(s.req(Method::POST, "/integrations").json(&json!({
        "provider": "private-api-generic", "unique_key": "acme", "integration_config": {"baseUrl": up.base_url, "keyName": "X-Key"}
    })))
    .await;
    TestServer::send(s.req(Method::POST, "/connections").json(&json!({"provider_config_key": "acme", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": KEY}}))).await;
    let r = TestServer::send(proxy(&s, Method::GET, "/x")).await;
    assert_eq!(
        r.1,
        json!({"error": {"code": "base_url_override_not_allowed", "message": "This outbound URL is not allowed by server configuration."}})
    );
    let port = up.base_url.rsplit(':').next().unwrap();
    for base in [
        format!("http://localhost:{port}"),
        "http://169.254.169.254".to_owned(),
        "http://[::1]:1".to_owned(),
        "http://10.0.0.1".to_owned(),
    ] {
        let r = TestServer::send(proxy(&s, Method::GET, "/x").header("Base-Url-Override", &base)).await;
        assert_error(&r, 400, "base_url_override_not_allowed");
    }
}

#[tokio::test]
async fn redirects_are_followed_on_the_same_origin_only() {
    let (s, _up) = setup(&[]).await;
    let e = echoed(proxy(&s, Method::GET, "/redirect/same")).await;
    assert_eq!(e["path"], "/echo/after-redirect");
    // A client that does not follow redirects itself, to see what the proxy answered.
    let no_follow = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = no_follow
        .get(s.url("/proxy/redirect/away"))
        .bearer_auth(&s.dev_key)
        .header("Connection-Id", "c1")
        .header("Provider-Config-Key", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302, "a cross-origin redirect is handed back, the key is not sent there");
    assert_eq!(resp.headers()["location"], "http://203.0.113.7/elsewhere");
}

#[tokio::test]
async fn unknown_connection_integration_and_missing_headers() {
    let (s, _up) = setup(&[]).await;
    let none = TestServer::send(s.req(Method::GET, "/proxy/x")).await;
    assert_eq!(none.0, 400);
    let paths: Vec<Value> = none.1["error"]["errors"].as_array().unwrap().iter().map(|i| i["path"].clone()).collect();
    assert_eq!(paths, [json!(["provider-config-key"]), json!(["connection-id"])]);
    let conn = TestServer::send(
        s.req(Method::GET, "/proxy/x").header("Connection-Id", "nope").header("Provider-Config-Key", "acme"),
    )
    .await;
    assert_eq!(conn, (400, json!({"error": {"code": "server_error", "message": "Failed to get connection"}})));
    let integ = TestServer::send(
        s.req(Method::GET, "/proxy/x").header("Connection-Id", "c1").header("Provider-Config-Key", "nope"),
    )
    .await;
    assert_error(&integ, 404, "unknown_provider_config");
    let unauth = TestServer::send(s.http.get(s.url("/proxy/x"))).await;
    assert_error(&unauth, 401, "missing_auth_header");
    // The connection deleted: the next request fails.
    s.sdk.delete_connection("acme", "c1").await.unwrap();
    assert_error(&TestServer::send(proxy(&s, Method::GET, "/x")).await, 400, "server_error");
}

#[tokio::test]
async fn the_rust_sdk_proxies() {
    let (s, _up) = setup(&[]).await;
    let resp = s
        .sdk
        .proxy(ProxyRequest {
            headers: vec![("X-Trace".into(), "1".into())],
            ..ProxyRequest::get("acme", "c1", "repos/o/r/issues?state=open")
        })
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    let e: Value = resp.json().unwrap();
    assert_eq!(e["path"], "/repos/o/r/issues?state=open");
    assert_eq!(e["headers"]["x-trace"], "1");
    assert_eq!(e["headers"]["authorization"], format!("Api-Key {KEY}"));
}

#[tokio::test]
async fn a_change_reaches_another_replica_within_the_cache_bound() {
    // Two replicas over one database; B reuses resolved targets for at most 300 ms.
    let up = Upstream::start().await;
    let db = nango_tests::TestDatabase::new().await;
    let key = nango_tests::new_encryption_key();
    let dev = uuid::Uuid::new_v4().to_string();
    let shared = [
        ("NANGO_DATABASE_URL", db.url.as_str()),
        ("NANGO_ENCRYPTION_KEY", key.as_str()),
        ("NANGO_SECRET_KEY_DEV", dev.as_str()),
        ALLOW_LOCAL,
    ];
    let a = TestServer::start_with(&shared).await;
    let mut with_ttl = shared.to_vec();
    with_ttl.push(("NANGO_PROXY_CACHE_TTL_MS", "300"));
    let b = TestServer::start_with(&with_ttl).await;
    TestServer::send(a.req(Method::POST, "/integrations").json(&json!({
        "provider": "private-api-generic", "unique_key": "acme", "integration_config": {"baseUrl": up.base_url, "keyName": "X-Key"}
    })))
    .await;
    TestServer::send(a.req(Method::POST, "/connections").json(&json!({"provider_config_key": "acme", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": KEY}}))).await;
    assert_eq!(echoed(proxy(&b, Method::GET, "/x")).await["headers"]["x-key"], KEY, "B resolved and cached the target");

    let patched = TestServer::send(
        a.req(Method::PATCH, "/integrations/acme").json(&json!({"integration_config": {"keyName": "X-Other"}})),
    )
    .await;
    assert_eq!(patched.0, 200);
    assert_eq!(
        echoed(proxy(&a, Method::GET, "/x")).await["headers"]["x-other"],
        KEY,
        "A sees it on the very next request"
    );
    // B may still use its cached target until the bound expires, never longer.
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    let e = echoed(proxy(&b, Method::GET, "/x")).await;
    assert_eq!(e["headers"]["x-other"], KEY);
    assert!(e["headers"].get("x-key").is_none());
}

/// Sends `GET <path>` as written (no client-side dot-segment normalisation) and returns the
/// status and body.
async fn raw_get(s: &TestServer, path: &str, extra: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection-Id: c1\r\nProvider-Config-Key: acme\r\n{extra}Connection: close\r\n\r\n",
        s.dev_key
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn the_proxy_path_cannot_climb_above_the_base_path() {
    let up = Upstream::start().await;
    let s = TestServer::start_with(&[ALLOW_LOCAL]).await;
    let created = TestServer::send(s.req(Method::POST, "/integrations").json(&json!({
        "provider": "private-api-generic", "unique_key": "acme",
        "integration_config": {"baseUrl": format!("{}/DEV", up.base_url), "keyName": "Authorization"}
    })))
    .await;
    assert_eq!(created.0, 200, "{}", created.1);
    let imported = TestServer::send(s.req(Method::POST, "/connections").json(&json!({
        "provider_config_key": "acme", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": KEY}
    })))
    .await;
    assert_eq!(imported.0, 201);
    let before = up.hits();
    for path in [
        "/proxy/..",
        "/proxy/../../admin",
        "/proxy/%2e%2e/%2e%2e/admin",
        "/proxy/%2E%2E/admin",
        "/proxy/.%2E/admin",
        "/proxy/a/../../admin",
        "/proxy//../admin",
        "/proxy/a\\..\\..\\admin",
    ] {
        let (status, body) = raw_get(&s, path, "").await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("\"invalid_proxy_path\""), "{path}: {body}");
        let (status, _) = raw_get(&s, path, &format!("Base-Url-Override: {}/OTHER\r\n", up.base_url)).await;
        assert_eq!(status, 400, "{path} with Base-Url-Override");
    }
    assert_eq!(up.hits(), before, "nothing was sent upstream");
    let (status, body) = raw_get(&s, "/proxy/a/../items/./1", "").await;
    assert_eq!(status, 200, "{body}");
    let echoed: Value = serde_json::from_str(&body).expect("echo");
    assert_eq!(echoed["path"], "/DEV/items/1", "dot segments inside the base path are resolved as before");
    assert_eq!(echoed["headers"]["authorization"], KEY);
}
