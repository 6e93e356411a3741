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
