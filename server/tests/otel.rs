//! OpenTelemetry export of the real binary over OTLP/HTTP (JSON): a server span per request
//! with a child span per upstream attempt and per database call of the proxy, the metrics,
//! never a key; and nothing at all when no OTLP endpoint is configured.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use poem::{IntoResponse, Request, Route, endpoint::make, get, http::StatusCode};
use serde_json::{Value, json};

mod common;

use common::{API_KEY, SECRET, Server, proxy_get, serve, serve_on, set_up_connection};

/// One export the OTLP receiver got.
#[derive(Debug, Clone)]
struct Export {
    path: String,
    content_type: Option<String>,
    body: String,
}

type Exports = Arc<Mutex<Vec<Export>>>;

/// An OTLP/HTTP receiver keeping every request's path and body, answering `{}`; on the
/// standard OTLP/HTTP port (4318) when `standard_port` and it is free.
async fn otlp_receiver(standard_port: bool) -> (u16, Exports) {
    let exports = Exports::default();
    let kept = exports.clone();
    let endpoint = make(move |mut req: Request| {
        let kept = kept.clone();
        async move {
            let body = req.take_body().into_bytes().await.unwrap_or_default();
            kept.lock().unwrap().push(Export {
                path: req.uri().path().to_owned(),
                content_type: req.content_type().map(str::to_owned),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            "{}".with_content_type("application/json")
        }
    });
    let standard = if standard_port { tokio::net::TcpListener::bind("127.0.0.1:4318").await.ok() } else { None };
    let listener = match standard {
        Some(listener) => listener,
        None => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    };
    (serve_on(listener, endpoint), exports)
}

/// An upstream whose `/flaky` fails with 500 the first time and then answers 200, and whose
/// `/ok` answers 200; both only with the injected key.
async fn upstream() -> u16 {
    let calls = Arc::new(AtomicUsize::new(0));
    let flaky = make(move |req: Request| {
        let calls = calls.clone();
        async move {
            if req.header("x-api-key") != Some(API_KEY) {
                return StatusCode::UNAUTHORIZED.into_response();
            }
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            } else {
                r#"{"ok":true}"#.with_content_type("application/json").into_response()
            }
        }
    });
    let ok = make(|req: Request| async move {
        if req.header("x-api-key") != Some(API_KEY) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        r#"{"ok":true}"#.with_content_type("application/json").into_response()
    });
    serve(Route::new().at("/flaky", get(flaky)).at("/ok", get(ok))).await
}

/// Every span of every trace export, with its resource.
fn spans(exports: &[Export]) -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    for export in exports.iter().filter(|e| e.path == "/v1/traces") {
        let Ok(body) = serde_json::from_str::<Value>(&export.body) else { continue };
        for resource_spans in body["resourceSpans"].as_array().into_iter().flatten() {
            for scope_spans in resource_spans["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope_spans["spans"].as_array().into_iter().flatten() {
                    out.push((resource_spans["resource"].clone(), span.clone()));
                }
            }
        }
    }
    out
}

/// The OTLP `AnyValue` of attribute `key` in `attributes`.
fn attribute<'a>(holder: &'a Value, key: &str) -> Option<&'a Value> {
    holder["attributes"].as_array()?.iter().find(|a| a["key"] == key).map(|a| &a["value"])
}

fn string_attribute<'a>(holder: &'a Value, key: &str) -> Option<&'a str> {
    attribute(holder, key)?["stringValue"].as_str()
}

/// Every export, for failure messages.
fn dump(exports: &Exports) -> String {
    exports
        .lock()
        .unwrap()
        .iter()
        .map(|e| format!("POST {} ({:?})\n{}\n", e.path, e.content_type, e.body))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxied_call_is_one_trace_with_its_upstream_attempts_and_database_calls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (otlp_port, exports) = otlp_receiver(false).await;
    let upstream_port = upstream().await;
    let mut server = Server::start(
        &dir.path().join("data"),
        dir.path().join("server.log"),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{otlp_port}")),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".to_owned()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "500".to_owned()),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    set_up_connection(&http, &server.base, upstream_port).await;

    let resp = proxy_get(&http, &server.base, "/flaky").header("Retries", "2").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let request_id = resp.headers()["x-nango-request-id"].to_str().unwrap().to_owned();
    assert_eq!(resp.text().await.unwrap(), r#"{"ok":true}"#);

    // Wait for the request's span; its children (upstream attempts, database calls) end first,
    // so they are exported with it or before it.
    let server_span = |spans: &[(Value, Value)]| {
        spans.iter().find(|(_, s)| string_attribute(s, "nango.request_id") == Some(request_id.as_str())).cloned()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let (resource, request_span, all) = loop {
        let all = spans(&exports.lock().unwrap());
        if let Some((resource, span)) = server_span(&all) {
            break (resource, span, all);
        }
        assert!(
            Instant::now() < deadline,
            "the proxied call's spans were not exported:\n{}\n{}",
            dump(&exports),
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Every mismatch is collected, so one run shows all of them. Attribute values are compared
    // as OTLP/JSON `AnyValue`s: `{"stringValue": "GET"}`, `{"intValue": "200"}` (int64 as a string).
    let mut problems = Vec::new();
    let mut check = |what: &str, actual: Value, expected: Value| {
        if actual != expected {
            problems.push(format!("{what}: expected {expected}, got {actual}"));
        }
    };
    let attr = |holder: &Value, key: &str| attribute(holder, key).cloned().unwrap_or(Value::Null);

    check("service.name", attr(&resource, "service.name"), json!({"stringValue": "nango-server"}));
    check("the request span's name", request_span["name"].clone(), json!("GET proxy"));
    check("the request span's kind (server)", request_span["kind"].clone(), json!(2));
    for (key, expected) in [
        ("http.request.method", json!({"stringValue": "GET"})),
        ("url.path", json!({"stringValue": "/proxy/flaky"})),
        ("http.response.status_code", json!({"intValue": "200"})),
        ("nango.environment", json!({"stringValue": "dev"})),
        ("nango.integration", json!({"stringValue": "acme"})),
        ("nango.connection_id", json!({"stringValue": "c1"})),
    ] {
        check(&format!("the request span's {key}"), attr(&request_span, key), expected);
    }
    let span_id = request_span["spanId"].as_str().filter(|s| !s.is_empty()).expect("a span id");
    let trace_id = request_span["traceId"].as_str().filter(|s| !s.is_empty()).expect("a trace id");

    let children: Vec<&Value> = all.iter().map(|(_, s)| s).filter(|s| s["parentSpanId"] == span_id).collect();
    for child in &children {
        assert_eq!(child["traceId"], trace_id, "a child span in another trace: {child:#}");
    }
    let mut attempts: Vec<&Value> =
        children.iter().copied().filter(|s| string_attribute(s, "server.address").is_some()).collect();
    attempts.sort_by_key(|s| s["startTimeUnixNano"].as_str().and_then(|t| t.parse::<u128>().ok()));
    assert_eq!(attempts.len(), 2, "two upstream attempts under the request span:\n{}", dump(&exports));
    for (attempt, (resend_count, status)) in attempts.iter().zip([("0", "500"), ("1", "200")]) {
        let which = format!("upstream attempt {resend_count}");
        check(&format!("{which}: name"), attempt["name"].clone(), json!("GET upstream"));
        check(&format!("{which}: kind (client)"), attempt["kind"].clone(), json!(3));
        for (key, expected) in [
            ("http.request.resend_count", json!({"intValue": resend_count})),
            ("http.response.status_code", json!({"intValue": status})),
            ("server.address", json!({"stringValue": "127.0.0.1"})),
            ("url.path", json!({"stringValue": "/flaky"})),
        ] {
            check(&format!("{which}: {key}"), attr(attempt, key), expected);
        }
    }
    let db_calls: Vec<&Value> =
        children.iter().copied().filter(|s| string_attribute(s, "db.system.name") == Some("sqlite")).collect();
    let mut db_names: Vec<&str> = db_calls.iter().filter_map(|s| s["name"].as_str()).collect();
    db_names.sort_unstable();
    check(
        "the database calls of the first proxied call (a cache miss)",
        json!(db_names),
        json!(["select connection", "select integration"]),
    );
    check(
        "child spans besides attempts and database calls",
        json!(children.len() - attempts.len() - db_calls.len()),
        json!(0),
    );

    // Metrics arrive on their own interval.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !exports
        .lock()
        .unwrap()
        .iter()
        .any(|e| e.path == "/v1/metrics" && e.body.contains("http.server.request.duration"))
    {
        assert!(Instant::now() < deadline, "no request duration metric was exported:\n{}", dump(&exports));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    server.stop(Duration::from_secs(15)).await;
    let exported = dump(&exports);
    for export in exports.lock().unwrap().iter() {
        if !export.content_type.as_deref().is_some_and(|c| c.starts_with("application/json")) {
            problems.push(format!("OTLP/JSON was asked for, got {:?} on {}", export.content_type, export.path));
        }
        if export.path != "/v1/traces" && export.path != "/v1/metrics" {
            problems.push(format!("an export to {}", export.path));
        }
        let lower = export.body.to_ascii_lowercase();
        if export.body.contains(SECRET) || export.body.contains(API_KEY) || lower.contains("x-api-key") {
            problems.push(format!("a key or the credential header reached the telemetry on {}", export.path));
        }
    }
    assert!(problems.is_empty(), "{}\n\nexported:\n{exported}\nserver log:\n{}", problems.join("\n"), server.log());
}

/// Starts the server with `settings`, makes API and proxied calls, stops it (a clean exit
/// flushes any exporter) and checks that the receiver, on OTLP's default port when free (where
/// an exporter without an endpoint would send), got nothing.
async fn nothing_is_exported_with(settings: &[(&str, String)]) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (otlp_port, exports) = otlp_receiver(true).await;
    let upstream_port = upstream().await;
    let settings: Vec<(&str, String)> =
        settings.iter().map(|(name, value)| (*name, value.replace("{otlp_port}", &otlp_port.to_string()))).collect();
    let mut server = Server::start(&dir.path().join("data"), dir.path().join("server.log"), &settings).await;
    let http = reqwest::Client::new();
    set_up_connection(&http, &server.base, upstream_port).await;
    let resp = proxy_get(&http, &server.base, "/ok").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), r#"{"ok":true}"#);
    server.stop(Duration::from_secs(15)).await;
    assert!(exports.lock().unwrap().is_empty(), "exported although off:\n{}", dump(&exports));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_otlp_endpoint_nothing_is_exported() {
    // OpenTelemetry settings without an endpoint turn nothing on.
    nothing_is_exported_with(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "500".to_owned()),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_sdk_disabled_exports_nothing_even_with_an_endpoint() {
    nothing_is_exported_with(&[
        ("OTEL_SDK_DISABLED", "true".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:{otlp_port}".to_owned()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "500".to_owned()),
    ])
    .await;
}
