//! The real binary logs one structured event per API call (JSON logs), with the request id
//! it also returns, the environment, the operation and the status; never a key.

use std::{
    net::TcpListener,
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

const SECRET: &str = "4f0c2b9e-7d1a-4c3e-9b8f-2a6d5e1c0b7a";
const API_KEY: &str = "sk-customer-key-never-logged";

#[tokio::test]
async fn every_api_call_is_one_structured_event_without_secrets() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log_path = dir.path().join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nango-server"))
        .env_clear()
        .env("NANGO_DATA_DIR", dir.path().join("data"))
        .env("SERVER_PORT", port.to_string())
        .env("NANGO_BIND_ADDRESS", "127.0.0.1")
        .env("NANGO_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("NANGO_SECRET_KEY_DEV", SECRET)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("the server binary starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if http.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the server did not become ready: {}", std::fs::read_to_string(&log_path).unwrap_or_default());

    let mut seen = Vec::new();
    let calls = [
        (
            "POST",
            "/integrations",
            Some(
                json!({"provider": "private-api-generic", "unique_key": "acme", "integration_config": {"baseUrl": "https://api.acme.com", "keyName": "X-Key"}}),
            ),
        ),
        ("GET", "/integrations/acme", None),
        ("GET", "/integrations/missing", None),
        (
            "POST",
            "/connections",
            Some(
                json!({"provider_config_key": "acme", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": API_KEY}}),
            ),
        ),
    ];
    for (method, path, body) in calls {
        let mut req = http.request(method.parse().unwrap(), format!("{base}{path}")).bearer_auth(SECRET);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let id = resp
            .headers()
            .get("x-nango-request-id")
            .expect("every response names its request")
            .to_str()
            .unwrap()
            .to_owned();
        seen.push((id, resp.status().as_u16()));
    }
    let unauthenticated = http.get(format!("{base}/integrations")).send().await.unwrap();
    assert!(unauthenticated.headers().contains_key("x-nango-request-id"));
    child.kill().unwrap();
    child.wait().unwrap();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains(SECRET) && !log.contains(API_KEY), "a key reached the log:\n{log}");
    let events: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["fields"]["message"] == "api request")
        .collect();
    let expected =
        [("create_integration", 200), ("get_integration", 200), ("get_integration", 404), ("create_connection", 201)];
    for ((id, status), (operation, expected_status)) in seen.iter().zip(expected) {
        assert_eq!(*status, expected_status);
        let event = events
            .iter()
            .find(|e| e["fields"]["request.id"] == json!(id))
            .unwrap_or_else(|| panic!("no event for request {id}:\n{log}"));
        let f = &event["fields"];
        assert_eq!((f["environment"].as_str(), f["operation"].as_str()), (Some("dev"), Some(operation)), "{event}");
        assert_eq!(f["status"], json!(status));
        assert!(f["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{event}");
    }
    assert_eq!(events.len(), seen.len() + 1, "one event per call, the 401 included, none for /health:\n{log}");
}
