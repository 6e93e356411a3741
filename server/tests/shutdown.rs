//! Graceful shutdown of the real binary: on SIGTERM it stops accepting connections, lets a
//! proxied download in flight finish, exits 0; what it had queued (a webhook to retry, the
//! request-log records) is still there when it starts again on the same data directory.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use poem::{Body, IntoResponse, Request, Response, Route, endpoint::make, get, http::StatusCode};
use serde_json::{Value, json};

mod common;

use common::{API_KEY, SECRET, Server, logged, proxy_get, serve, set_up_connection, wait_until};

/// The download: `CHUNKS` chunks of `CHUNK` bytes, one every `CHUNK_EVERY`.
const CHUNKS: usize = 40;
const CHUNK: usize = 64 * 1024;
const CHUNK_EVERY: Duration = Duration::from_millis(50);

/// Proxied calls made just before SIGTERM, whose records must survive the restart.
const PROXIED_CALLS: usize = 20;

fn chunk(i: usize) -> Bytes {
    Bytes::from(vec![u8::try_from(i % 251).unwrap(); CHUNK])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_a_download_in_flight_then_exits_cleanly() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();

    // The upstream streams CHUNKS chunks slowly, and only with the injected key.
    let streaming = Arc::new(AtomicBool::new(false));
    let upstream = {
        let streaming = streaming.clone();
        make(move |req: Request| {
            let streaming = streaming.clone();
            async move {
                if req.header("x-api-key") != Some(API_KEY) {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                streaming.store(true, Ordering::SeqCst);
                let chunks = futures_util::stream::unfold(0usize, |i| async move {
                    if i == CHUNKS {
                        return None;
                    }
                    if i > 0 {
                        tokio::time::sleep(CHUNK_EVERY).await;
                    }
                    Some((Ok::<_, std::io::Error>(chunk(i)), i + 1))
                });
                Response::builder().content_type("application/octet-stream").body(Body::from_bytes_stream(chunks))
            }
        })
    };
    let upstream_port = serve(Route::new().at("/download", get(upstream))).await;

    let mut server = Server::start(
        &dir.path().join("data"),
        dir.path().join("server.log"),
        &[("NANGO_SHUTDOWN_TIMEOUT_MS", "20000".to_owned())],
    )
    .await;
    let http = reqwest::Client::new();
    set_up_connection(&http, &server.base, upstream_port).await;

    let mut download = proxy_get(&http, &server.base, "/download").send().await.unwrap();
    assert_eq!(download.status(), 200);
    assert!(streaming.load(Ordering::SeqCst), "the upstream is streaming");
    let mut received = download.chunk().await.unwrap().expect("the first bytes arrive").to_vec();
    assert!(received.len() < CHUNKS * CHUNK, "the download is still in flight");

    server.terminate();
    let rest = tokio::spawn(async move {
        while let Some(bytes) = download.chunk().await.expect("the download is not cut") {
            received.extend_from_slice(&bytes);
        }
        received
    });

    // New connections are refused while the download is still being drained.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await {
            // Refused, or reset when the attempt raced the listener's close: not served.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                break;
            }
            Err(e) => panic!("unexpected error connecting after SIGTERM: {e}"),
            Ok(_) => {
                assert!(Instant::now() < deadline, "still accepting connections 5 s after SIGTERM:\n{}", server.log());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    assert!(
        !rest.is_finished(),
        "the download finished before the listener closed; the test cannot tell draining from serving"
    );
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited while a download was in flight:\n{}",
        server.log()
    );

    let received = tokio::time::timeout(Duration::from_secs(15), rest)
        .await
        .unwrap_or_else(|_| panic!("the download did not finish:\n{}", server.log()))
        .unwrap_or_else(|e| panic!("the download failed ({e}):\n{}", server.log()));
    assert_eq!(received.len(), CHUNKS * CHUNK, "the whole body arrives:\n{}", server.log());
    let expected: Vec<u8> = (0..CHUNKS).flat_map(|i| chunk(i).to_vec()).collect();
    assert!(received == expected, "the body arrives unchanged");

    // Once the last stream is done the server exits, well before the 20 s drain deadline.
    let status = server.wait_exit(Duration::from_secs(5)).await;
    let log = server.log();
    assert!(status.success(), "the server exited with {status} after SIGTERM:\n{log}");
    assert!(logged(&log, "stopped"), "the server did not log `stopped`:\n{log}");
    assert!(!log.contains(SECRET) && !log.contains(API_KEY), "a key reached the log:\n{log}");
}

/// One request the webhook receiver saw: its body and signature, and whether it accepted it.
#[derive(Debug, Clone)]
struct Hit {
    body: String,
    signature: Option<String>,
    accepted: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_delivers_the_queued_webhook_and_keeps_the_request_logs() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");

    // The webhook receiver fails (500) until `accept` is set.
    let accept = Arc::new(AtomicBool::new(false));
    let hits = Arc::new(Mutex::new(Vec::<Hit>::new()));
    let receiver = {
        let (accept, hits) = (accept.clone(), hits.clone());
        make(move |mut req: Request| {
            let (accept, hits) = (accept.clone(), hits.clone());
            async move {
                let signature = req.header("x-nango-signature").map(str::to_owned);
                let body = req.take_body().into_string().await.unwrap_or_default();
                let accepted = accept.load(Ordering::SeqCst);
                hits.lock().unwrap().push(Hit { body, signature, accepted });
                if accepted { StatusCode::OK } else { StatusCode::INTERNAL_SERVER_ERROR }
            }
        })
    };
    let receiver_port = serve(Route::new().at("/hook", receiver)).await;
    let upstream_port = serve(Route::new().at("/ping", get(make(|_| async { r#"{"pong":true}"# })))).await;

    let settings = [
        ("NANGO_WEBHOOK_URL_DEV", format!("http://127.0.0.1:{receiver_port}/hook")),
        // Longer than a shutdown and restart, so the retry is left to the next process.
        ("NANGO_WEBHOOK_RETRY_DELAY_MS", "3000".to_owned()),
        ("NANGO_WEBHOOK_POLL_MS", "100".to_owned()),
    ];
    let mut first = Server::start(&data_dir, dir.path().join("first.log"), &settings).await;
    let http = reqwest::Client::new();
    set_up_connection(&http, &first.base, upstream_port).await;
    let seen = hits.clone();
    wait_until("the receiver saw the auth webhook", Duration::from_secs(10), || !seen.lock().unwrap().is_empty()).await;

    // A burst of proxied calls just before SIGTERM: their records are still being written by
    // the background writer when the signal arrives.
    let calls = (0..PROXIED_CALLS).map(|_| async {
        let resp = proxy_get(&http, &first.base, "/ping").send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let id = resp.headers()["x-nango-request-id"].to_str().unwrap().to_owned();
        assert_eq!(resp.text().await.unwrap(), r#"{"pong":true}"#);
        id
    });
    let proxied_ids = futures_util::future::join_all(calls).await;
    first.stop(Duration::from_secs(10)).await;
    let first_log = first.log();
    drop(first);

    let before_restart = hits.lock().unwrap().clone();
    assert!(before_restart.iter().all(|h| !h.accepted));
    let queued = &before_restart[0];
    let body: Value = serde_json::from_str(&queued.body).unwrap();
    assert_eq!(
        (body["type"].as_str(), body["operation"].as_str(), body["connectionId"].as_str()),
        (Some("auth"), Some("creation"), Some("c1")),
        "{body}"
    );
    assert!(
        before_restart.iter().all(|h| h.body == queued.body),
        "one webhook only was queued: {before_restart:#?}\n{first_log}"
    );

    accept.store(true, Ordering::SeqCst);
    let mut second = Server::start(&data_dir, dir.path().join("second.log"), &settings).await;

    // The request log of the first process survived it.
    let resp = http
        .get(format!("{}/logs", second.base))
        .query(&[("connectionId", "c1"), ("type", "proxy")])
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let logs: Value = resp.json().await.unwrap();
    let entries = logs["data"].as_array().unwrap();
    for id in &proxied_ids {
        let entry = entries
            .iter()
            .find(|e| e["id"] == json!(id))
            .unwrap_or_else(|| panic!("the proxied call {id} is not in the logs: {logs:#}\n{first_log}"));
        assert_eq!(entry["type"], "proxy", "{entry}");
        assert_eq!(entry["status"], 200, "{entry}");
        assert_eq!(entry["upstream"]["path"], "/ping", "{entry}");
        assert_eq!(entry["upstream"]["status"], 200, "{entry}");
        assert_eq!(entry["upstream"]["attempts"], 1, "{entry}");
    }
    assert_eq!(entries.len(), PROXIED_CALLS, "one record per proxied call: {logs:#}");

    // The restarted server delivers the queued webhook once it is due.
    let seen = hits.clone();
    wait_until("the restarted server delivered the webhook", Duration::from_secs(20), || {
        seen.lock().unwrap().iter().any(|h| h.accepted)
    })
    .await;
    second.stop(Duration::from_secs(10)).await;
    let second_log = second.log();

    let all = hits.lock().unwrap().clone();
    let delivered: Vec<&Hit> = all.iter().filter(|h| h.accepted).collect();
    assert_eq!(delivered.len(), 1, "delivered exactly once: {all:#?}\n{second_log}");
    assert_eq!(all.len(), before_restart.len() + 1, "nothing else was sent after the restart: {all:#?}");
    assert_eq!(delivered[0].body, queued.body, "the same webhook, byte for byte");
    assert!(delivered[0].signature.is_some() && delivered[0].signature == queued.signature, "{all:#?}");
    assert!(logged(&second_log, "webhook delivered"), "{second_log}");
}

/// A server whose function workers hold warm bundles exits cleanly on SIGTERM (QuickJS aborts
/// the process when an engine is freed with JavaScript values still alive: exit 134).
#[tokio::test]
async fn sigterm_after_function_runs_exits_cleanly() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("data"), dir.path().join("server.log"), &[]).await;
    let http = reqwest::Client::new();
    set_up_connection(&http, &server.base, 1).await;
    // The fixture project's deploy body as Nango's CLI sent it, moved to integration `acme`.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/functions/fixtures/deploy-body.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let body = text.replace("\"acme-fn\"", "\"acme\"");
    let resp = http
        .post(format!("{}/sync/deploy", server.base))
        .bearer_auth(SECRET)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap_or_default());
    for n in 0..6 {
        let resp = http
            .post(format!("{}/action/trigger", server.base))
            .bearer_auth(SECRET)
            .header("Connection-Id", "c1")
            .header("Provider-Config-Key", "acme")
            .json(&json!({"action_name": "echo", "input": {"message": "m", "n": n}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    server.terminate();
    let status = server.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "exit status {status:?}:\n{}", server.log());
}
