//! What the tests that run the real binary share: starting and stopping it, local HTTP
//! servers, the `acme` integration with connection `c1`, waiting for a condition.

#![allow(dead_code)] // each test file uses its own subset

use std::{
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

/// The dev environment's secret key.
pub const SECRET: &str = "9b2d6c1e-3f4a-4b5c-8d7e-1a2b3c4d5e6f";
/// The connection's API key (must never appear in logs or telemetry).
pub const API_KEY: &str = "sk-binary-test-key-never-exported";

/// A running `nango-server` process with JSON logs written to `log_path`.
pub struct Server {
    pub child: tokio::process::Child,
    pub base: String,
    pub port: u16,
    log_path: PathBuf,
}

impl Server {
    pub async fn start(data_dir: &Path, log_path: PathBuf, extra: &[(&str, String)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_nango-server"));
        command
            .env_clear()
            .env("NANGO_DATA_DIR", data_dir)
            .env("SERVER_PORT", port.to_string())
            .env("NANGO_BIND_ADDRESS", "127.0.0.1")
            .env("NANGO_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("NANGO_SECRET_KEY_DEV", SECRET)
            .env("NANGO_OUTBOUND_URL_POLICY", r#"{"blockPrivateIps":false}"#);
        for (name, value) in extra {
            command.env(name, value);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let mut server = Self { child, base: format!("http://127.0.0.1:{port}"), port, log_path };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if http.get(format!("{}/health", server.base)).send().await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the server exited ({status}) before it was ready:\n{}", server.log());
            }
            assert!(Instant::now() < deadline, "the server did not become ready:\n{}", server.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The server's log so far. The file exists from the start, so a failure to read it is a
    /// broken test, never an empty log that a "no key in the log" check would pass on.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path)
            .unwrap_or_else(|e| panic!("cannot read the server log {}: {e}", self.log_path.display()))
    }

    pub fn terminate(&self) {
        let pid = self.child.id().expect("the server is running");
        let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!("the server did not exit within {within:?} of SIGTERM:\n{}", self.log()),
        }
    }

    /// SIGTERM, then a clean exit (status 0, "stopped" logged) within `within`.
    pub async fn stop(&mut self, within: Duration) {
        self.terminate();
        let status = self.wait_exit(within).await;
        let log = self.log();
        assert!(status.success(), "the server exited with {status} after SIGTERM:\n{log}");
        assert!(logged(&log, "stopped"), "the server did not log `stopped`:\n{log}");
    }
}

/// Whether the JSON log has an event with this message.
pub fn logged(log: &str, message: &str) -> bool {
    log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).any(|e| e["fields"]["message"] == message)
}

/// Serves `endpoint` on a free port of 127.0.0.1 for the rest of the test; returns the port.
pub async fn serve(endpoint: impl poem::Endpoint + 'static) -> u16 {
    serve_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(), endpoint)
}

/// Serves `endpoint` on `listener` for the rest of the test; returns the port.
pub fn serve_on(listener: tokio::net::TcpListener, endpoint: impl poem::Endpoint + 'static) -> u16 {
    let port = listener.local_addr().unwrap().port();
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
    port
}

/// Creates integration `acme` (private API on `upstream_port`) and connection `c1`.
pub async fn set_up_connection(http: &reqwest::Client, base: &str, upstream_port: u16) {
    let resp = http
        .post(format!("{base}/integrations"))
        .bearer_auth(SECRET)
        .json(&json!({
            "provider": "private-api-generic",
            "unique_key": "acme",
            "integration_config": {"baseUrl": format!("http://127.0.0.1:{upstream_port}"), "keyName": "X-Api-Key"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap_or_default());
    let resp = http
        .post(format!("{base}/connections"))
        .bearer_auth(SECRET)
        .json(&json!({
            "provider_config_key": "acme",
            "connection_id": "c1",
            "credentials": {"type": "API_KEY", "apiKey": API_KEY},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
}

pub fn proxy_get(http: &reqwest::Client, base: &str, path: &str) -> reqwest::RequestBuilder {
    http.get(format!("{base}/proxy{path}"))
        .bearer_auth(SECRET)
        .header("Provider-Config-Key", "acme")
        .header("Connection-Id", "c1")
}

/// Polls `condition` every 20 ms until it holds; panics with `what` after `within`.
pub async fn wait_until(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
