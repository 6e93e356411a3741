//! `/providers`.

use nango_tests::TestServer;
use reqwest::Method;
use serde_json::json;

use crate::assert_error;

#[tokio::test]
async fn lists_and_gets_the_private_api_providers() {
    let s = TestServer::start().await;
    let all = s.sdk.list_providers(None).await.unwrap();
    let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["private-api-bearer", "private-api-basic", "private-api-generic"]);
    let generic = s.sdk.get_provider("private-api-generic").await.unwrap();
    assert_eq!(generic.display_name, "Private API (Generic)");
    assert_eq!(generic.auth_mode, nango_sdk::types::AuthMode::ApiKey);
    assert_eq!(generic.logo_url, s.url("/images/template-logos/private-api-generic.svg"));
    let config = generic.integration_config.unwrap();
    assert_eq!(config["keyPlacement"]["enum"], json!(["header", "query"]));
    assert_eq!(config["keyLabel"]["default_value"], "API Key");
    let bearer = s.sdk.get_provider("private-api-bearer").await.unwrap();
    assert_eq!(bearer.proxy.unwrap()["headers"]["authorization"], "Bearer ${apiKey}");
    let basic = s.sdk.get_provider("private-api-basic").await.unwrap();
    assert_eq!(basic.auth_mode, nango_sdk::types::AuthMode::Basic);
}

#[tokio::test]
async fn search_filters_by_name_case_insensitively() {
    let s = TestServer::start().await;
    let found = s.sdk.list_providers(Some("API-G")).await.unwrap();
    assert_eq!(found.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["private-api-generic"]);
    assert!(s.sdk.list_providers(Some("foobar")).await.unwrap().is_empty());
    let bad = TestServer::send(s.req(Method::GET, "/providers?search=a*")).await;
    assert_error(&bad, 400, "invalid_query_params");
    assert_eq!(bad.1["error"]["errors"][0]["path"], json!(["search"]));
    assert_error(&TestServer::send(s.req(Method::GET, "/providers?foo=1")).await, 400, "invalid_query_params");
}

#[tokio::test]
async fn unknown_and_invalid_provider_names() {
    let s = TestServer::start().await;
    let r = TestServer::send(s.req(Method::GET, "/providers/foobar")).await;
    assert_eq!(r.1, json!({"error": {"code": "not_found", "message": "Unknown provider foobar"}}));
    assert_eq!(r.0, 404);
    assert_error(&TestServer::send(s.req(Method::GET, "/providers/a.b")).await, 400, "invalid_uri_params");
}

#[tokio::test]
async fn an_extra_catalog_file_adds_providers_without_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("providers.yaml");
    std::fs::write(
        &path,
        "acme-oauth:\n  display_name: Acme\n  auth_mode: OAUTH2\n  default_scopes: [read]\n  proxy:\n    base_url: https://api.acme.test\n",
    )
    .unwrap();
    let s = TestServer::start_with(&[("NANGO_PROVIDERS_FILE", path.to_str().unwrap())]).await;
    assert_eq!(s.sdk.get_provider("acme-oauth").await.unwrap().display_name, "Acme");
    // Listed, but OAuth connections cannot be made here: integrations are refused with the
    // auth mode named, with or without developer-app credentials.
    for body in [
        json!({"provider": "acme-oauth", "unique_key": "acme"}),
        json!({"provider": "acme-oauth", "unique_key": "acme", "credentials": {"type": "OAUTH2", "client_id": "id", "client_secret": "secret"}}),
    ] {
        let refused = TestServer::send(s.req(Method::POST, "/integrations").json(&body)).await;
        assert_eq!(refused.0, 400);
        assert_eq!(refused.1["error"]["code"], "unsupported_auth_mode");
        assert!(refused.1["error"]["message"].as_str().unwrap().contains("OAUTH2"), "{}", refused.1);
    }
    assert_eq!(TestServer::send(s.req(Method::GET, "/integrations")).await.1["data"], json!([]));
}

#[tokio::test]
async fn an_invalid_extra_catalog_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("providers.yaml");
    std::fs::write(&path, "broken:\n  display_name: Broken\n").unwrap();
    let config = nango_server::Config::from_lookup(|name| match name {
        "NANGO_PROVIDERS_FILE" => Some(path.display().to_string()),
        "NANGO_DATA_DIR" => Some(dir.path().display().to_string()),
        _ => None,
    })
    .unwrap();
    let err = nango_server::prepare(config).await.unwrap_err();
    let chain = format!("{}", nango_server::error::ErrorChain(&err));
    assert!(chain.contains("broken") && chain.contains("auth_mode"), "{chain}");
}

#[tokio::test]
async fn a_catalog_that_is_not_yaml_is_refused_with_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("providers.yaml");
    std::fs::write(&path, "acme:\n  display_name: Acme\n   auth_mode: [API_KEY\n").unwrap();
    let config = nango_server::Config::from_lookup(|name| match name {
        "NANGO_PROVIDERS_FILE" => Some(path.display().to_string()),
        "NANGO_DATA_DIR" => Some(dir.path().display().to_string()),
        _ => None,
    })
    .unwrap();
    let err = nango_server::prepare(config).await.unwrap_err();
    let chain = format!("{}", nango_server::error::ErrorChain(&err));
    assert!(chain.contains(&path.display().to_string()) && chain.contains("not valid YAML"), "{chain}");
    assert!(chain.contains("at line 3 column 13"), "the parser's position reaches the operator: {chain}");
}
