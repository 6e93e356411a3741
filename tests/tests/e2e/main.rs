//! End-to-end tests: the real server, driven through the SDK for normal flows and raw HTTP for
//! wire details. One binary, one module per resource.

mod auth;
mod catalog;
mod connect;
mod connection;
mod credentials;
mod dashboard;
mod dashboard_connections;
mod dashboard_functions;
mod dashboard_logs;
mod docs;
mod errors;
mod functions;
mod integration;
mod node;
mod operations;
mod provider;
mod proxy;
mod syncs;
mod vault;
mod webhook;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The body of Nango's "Private API (Generic)" curl example, verbatim.
pub const SEED_BODY: &str = r#"{"provider":"private-api-generic","unique_key":"acme-internal","display_name":"Acme Internal API","integration_config":{"baseUrl":"https://api.acme.com","keyPlacement":"header","keyName":"Authorization","valueTemplate":"Api-Key ${apiKey}","keyLabel":"Acme API Key"}}"#;

/// A browser's CORS preflight of `method` on `path` asking for `headers`, from another origin.
pub async fn preflight(s: &nango_tests::TestServer, path: &str, method: &str, headers: &str) -> reqwest::Response {
    s.http
        .request(reqwest::Method::OPTIONS, s.url(path))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

/// Asserts an error envelope's status and code (never the message text, unless the contract
/// fixes it).
#[track_caller]
pub fn assert_error(actual: &(u16, Value), status: u16, code: &str) {
    assert_eq!(actual.0, status, "status of {}", actual.1);
    assert_eq!(actual.1["error"]["code"], json!(code), "code of {}", actual.1);
}

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Runs the browser test `script` (in tests/node) with `vars` set; returns its output when it
/// passed.
pub async fn node_browser_test(script: &str, vars: &[(&str, &str)]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("node");
    assert!(
        dir.join("node_modules/puppeteer-core").exists(),
        "puppeteer-core is not installed: run `npm ci --prefix tests/node` (the README's test command does it)"
    );
    let Some(chromium) = chromium() else {
        panic!(
            "Chromium is needed for the browser tests: `apt-get install chromium` (the README's test command does it), or set CHROMIUM"
        );
    };
    let mut command = tokio::process::Command::new("node");
    command.arg("--test").arg("--test-reporter=spec").arg(dir.join(script)).env("CHROMIUM", &chromium);
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().await.expect("node is installed");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "browser test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ℹ fail 0\n"), "{stdout}");
    stdout
}
