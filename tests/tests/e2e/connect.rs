//! Connect sessions, the Connect UI's credential submission and the Connect UI itself (in
//! headless Chromium).

use nango_sdk::{Nango, types::CreateConnectSessionRequest};
use nango_tests::{TestServer, holds_part_of};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{SEED_BODY, assert_error, node_browser_test};

const KEY: &str = "sk_connect_0123456789";

async fn seed(s: &TestServer) {
    let r = TestServer::send(
        s.req(Method::POST, "/integrations").header("content-type", "application/json").body(SEED_BODY),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let basic = json!({"provider": "private-api-basic", "unique_key": "basic-api"});
    assert_eq!(TestServer::send(s.req(Method::POST, "/integrations").json(&basic)).await.0, 200);
}

/// Creates a session with `body` and returns (status, response).
async fn create_session(s: &TestServer, body: Value) -> (u16, Value) {
    TestServer::send(s.req(Method::POST, "/connect/sessions").json(&body)).await
}

async fn new_session(s: &TestServer, body: Value) -> String {
    let (status, resp) = create_session(s, body).await;
    assert_eq!(status, 201, "{resp}");
    resp["data"]["token"].as_str().unwrap().to_owned()
}

fn with_token(s: &TestServer, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    s.http.request(method, s.url(path)).bearer_auth(token)
}

async fn submit(s: &TestServer, kind: &str, key: &str, token: &str, body: Value) -> (u16, Value) {
    let url = format!("/api-auth/{kind}/{key}?connect_session_token={token}");
    TestServer::send(s.http.post(s.url(&url)).json(&body)).await
}

fn end_user() -> Value {
    json!({"id": "u-42", "email": "jane@acme.com", "display_name": "Jane", "tags": {"plan": "pro"}})
}

#[tokio::test]
async fn sessions_are_created_read_and_deleted_as_in_nango() {
    let s = TestServer::start().await;
    seed(&s).await;
    let before = chrono::Utc::now();
    let (status, resp) = create_session(
        &s,
        json!({"end_user": end_user(), "organization": {"id": "org-1", "display_name": "Acme"}, "allowed_integrations": ["acme-internal"], "tags": {"team": "core"}}),
    )
    .await;
    assert_eq!(status, 201, "{resp}");
    let data = &resp["data"];
    let token = data["token"].as_str().unwrap();
    let random = token.strip_prefix("nango_connect_session_").expect("Nango's prefix");
    assert!(random.len() == 64 && random.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(data["connect_link"], json!(format!("{}/connect-ui/?session_token={token}", s.base_url)));
    let expires = chrono::DateTime::parse_from_rfc3339(data["expires_at"].as_str().unwrap()).unwrap();
    let lifetime = expires.with_timezone(&chrono::Utc) - before;
    assert!((29..=30).contains(&lifetime.num_minutes()), "30-minute lifetime, got {lifetime}");
    assert!(data["expires_at"].as_str().unwrap().ends_with('Z'));

    let (status, got) = TestServer::send(with_token(&s, Method::GET, "/connect/session", token)).await;
    assert_eq!(status, 200, "{got}");
    let d = &got["data"];
    assert_eq!(d["endUser"]["id"], "u-42");
    assert_eq!(d["endUser"]["email"], "jane@acme.com");
    assert_eq!(d["endUser"]["organization"], json!({"id": "org-1", "display_name": "Acme"}));
    assert_eq!(d["allowed_integrations"], json!(["acme-internal"]));
    assert!(d.get("isReconnecting").is_none());
    assert_eq!(d["connectUISettings"]["defaultTheme"], "system");

    // Only a keyed hash of the token is stored: no part of it in any column of any table.
    let db = &s.state.ctx.db;
    use sea_orm::EntityTrait;
    let rows = nango_server::db::entity::connect_session::Entity::find().all(db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].token_hash.len(), 32, "a 32-byte keyed hash");
    for value in s.stored_values().await {
        assert!(!holds_part_of(&value.bytes, random), "{} holds part of the session token", value.column);
    }

    // The token works on GET /integrations (filtered) and /providers, nowhere else.
    let (status, list) = TestServer::send(with_token(&s, Method::GET, "/integrations", token)).await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = list["data"].as_array().unwrap().iter().map(|i| i["unique_key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["acme-internal"], "filtered to the allowed integrations");
    assert_eq!(list["data"][0]["credentials_label"], json!({"apiKey": "Acme API Key"}));
    assert_eq!(TestServer::send(with_token(&s, Method::GET, "/providers", token)).await.0, 200);
    assert_error(
        &TestServer::send(with_token(&s, Method::GET, "/integrations/acme-internal", token)).await,
        401,
        "invalid_secret_key_format",
    );
    assert_error(
        &TestServer::send(with_token(&s, Method::GET, "/connections", token)).await,
        401,
        "invalid_secret_key_format",
    );
    // A secret key is not a session token.
    assert_error(
        &TestServer::send(s.req(Method::GET, "/connect/session")).await,
        401,
        "invalid_connect_session_token_format",
    );

    let deleted = with_token(&s, Method::DELETE, "/connect/session", token).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = TestServer::send(with_token(&s, Method::GET, "/connect/session", token)).await;
    assert_error(&gone, 401, "unknown_connect_session_token");
    assert_eq!(gone.1["error"]["payload"], json!({}));
    let fake = format!("nango_connect_session_{}", "0".repeat(64));
    assert_error(
        &TestServer::send(with_token(&s, Method::GET, "/integrations", &fake)).await,
        401,
        "unknown_connect_session_token",
    );
}

#[tokio::test]
async fn session_bodies_are_validated_like_nango() {
    let s = TestServer::start().await;
    seed(&s).await;
    let missing = create_session(&s, json!({})).await;
    assert_error(&missing, 400, "invalid_body");
    assert_eq!(missing.1["error"]["errors"][0]["path"], json!(["end_user"]));
    assert_eq!(create_session(&s, json!({"tags": {"team": "core"}})).await.0, 201, "tags alone are enough");
    let unknown =
        create_session(&s, json!({"end_user": end_user(), "allowed_integrations": ["acme-internal", "nope"]})).await;
    assert_eq!(
        unknown,
        (
            400,
            json!({"error": {"code": "invalid_body", "errors": [{"code": "custom", "message": "Integration does not exist", "path": ["allowed_integrations", "1"]}]}})
        )
    );
    let defaults =
        create_session(&s, json!({"end_user": end_user(), "integrations_config_defaults": {"ghost": {}}})).await;
    assert_eq!(defaults.1["error"]["errors"][0]["path"], json!(["integrations_config_defaults", "ghost"]));
    let strict = create_session(&s, json!({"end_user": end_user(), "extra": 1})).await;
    assert_eq!(strict.1["error"]["errors"][0]["code"], "unrecognized_keys");
    let query =
        TestServer::send(s.req(Method::POST, "/connect/sessions?x=1").json(&json!({"end_user": end_user()}))).await;
    assert_error(&query, 400, "invalid_query_params");
    let reconnect = TestServer::send(
        s.req(Method::POST, "/connect/sessions/reconnect")
            .json(&json!({"connection_id": "nope", "integration_id": "acme-internal"})),
    )
    .await;
    assert_eq!(
        reconnect,
        (400, json!({"error": {"code": "invalid_body", "message": "ConnectionID or IntegrationId does not exists"}}))
    );
}

#[tokio::test]
async fn a_submitted_key_creates_the_connection_of_the_end_user() {
    let s = TestServer::start().await;
    seed(&s).await;
    let token = new_session(&s, json!({"end_user": end_user(), "tags": {"team": "core"}, "integrations_config_defaults": {"acme-internal": {"connection_config": {"region": "eu"}}}})).await;

    let (status, resp) = submit(&s, "api-key", "acme-internal", &token, json!({"apiKey": KEY})).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["providerConfigKey"], "acme-internal");
    let id = resp["connectionId"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "a fresh UUID: {id}");
    let c = s.sdk.get_connection("acme-internal", id).await.unwrap();
    assert_eq!(serde_json::to_value(&c.credentials).unwrap()["apiKey"], KEY);
    assert_eq!(c.end_user.as_ref().unwrap().id, "u-42");
    assert_eq!(c.tags["team"], "core");
    assert_eq!(c.tags["end_user_id"], "u-42");
    assert_eq!(c.connection_config["region"], "eu", "session defaults become the configuration");

    // BASIC integrations take a username and password.
    let (status, resp) = submit(&s, "basic", "basic-api", &token, json!({"username": "jane", "password": "pw"})).await;
    assert_eq!(status, 200, "{resp}");

    // Errors, in the contract's shapes.
    assert_eq!(
        submit(&s, "api-key", "basic-api", &token, json!({"apiKey": KEY})).await,
        (400, json!({"error": {"code": "invalid_auth_mode"}}))
    );
    assert_eq!(
        submit(&s, "api-key", "ghost", &token, json!({"apiKey": KEY})).await,
        (404, json!({"error": {"code": "unknown_provider_config"}}))
    );
    assert_error(&submit(&s, "api-key", "acme-internal", &token, json!({"apiKey": ""})).await, 400, "invalid_body");
    assert_error(
        &submit(&s, "api-key", "acme-internal", &token, json!({"apiKey": KEY, "x": 1})).await,
        400,
        "invalid_body",
    );
    let no_token =
        TestServer::send(s.http.post(s.url("/api-auth/api-key/acme-internal")).json(&json!({"apiKey": KEY}))).await;
    assert_error(&no_token, 401, "missing_public_key");
    assert_error(
        &submit(&s, "api-key", "acme-internal", "nango_connect_session_x", json!({"apiKey": KEY})).await,
        401,
        "invalid_connect_session_token_format",
    );
    let with_id = TestServer::send(
        s.http
            .post(s.url(&format!("/api-auth/api-key/acme-internal?connect_session_token={token}&connection_id=c1")))
            .json(&json!({"apiKey": KEY})),
    )
    .await;
    assert_error(&with_id, 400, "invalid_query_params");

    let limited = new_session(&s, json!({"end_user": end_user(), "allowed_integrations": ["basic-api"]})).await;
    assert_eq!(
        submit(&s, "api-key", "acme-internal", &limited, json!({"apiKey": KEY})).await,
        (400, json!({"error": {"code": "integration_not_allowed"}}))
    );
}

#[tokio::test]
async fn a_reconnect_session_replaces_the_key_of_the_same_connection() {
    let s = TestServer::start().await;
    seed(&s).await;
    let import = json!({"provider_config_key": "acme-internal", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": "old-key"}, "metadata": {"a": 1}});
    assert_eq!(TestServer::send(s.req(Method::POST, "/connections").json(&import)).await.0, 201);
    let (status, resp) = TestServer::send(
        s.req(Method::POST, "/connect/sessions/reconnect")
            .json(&json!({"connection_id": "c1", "integration_id": "acme-internal", "end_user": end_user()})),
    )
    .await;
    assert_eq!(status, 201, "{resp}");
    let token = resp["data"]["token"].as_str().unwrap();
    let (status, session) = TestServer::send(with_token(&s, Method::GET, "/connect/session", token)).await;
    assert_eq!((status, &session["data"]["isReconnecting"]), (200, &json!(true)));
    assert_eq!(session["data"]["allowed_integrations"], json!(["acme-internal"]));

    let (status, resp) = submit(&s, "api-key", "acme-internal", token, json!({"apiKey": "new-key"})).await;
    assert_eq!((status, resp["connectionId"].as_str()), (200, Some("c1")));
    let c = s.sdk.get_connection("acme-internal", "c1").await.unwrap();
    assert_eq!(serde_json::to_value(&c.credentials).unwrap()["apiKey"], "new-key");
    assert_eq!(c.metadata.map(Value::Object), Some(json!({})), "Nango resets metadata on reconnect");
    let all = s.sdk.list_connections(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1, "the same connection, not a new one");
}

#[tokio::test]
async fn the_sdk_creates_reads_and_ends_sessions() {
    let s = TestServer::start().await;
    seed(&s).await;
    let created = s
        .sdk
        .create_connect_session(CreateConnectSessionRequest {
            tags: [("team".to_owned(), "core".to_owned())].into_iter().collect(),
            allowed_integrations: vec!["acme-internal".to_owned()],
            ..Default::default()
        })
        .await
        .unwrap();
    let as_session = Nango::new(&s.base_url, &created.token).unwrap();
    let view = as_session.get_connect_session().await.unwrap();
    assert_eq!(view.allowed_integrations, ["acme-internal"]);
    assert_eq!(as_session.list_integrations().await.unwrap().len(), 1);
    let connected = s.sdk.submit_api_key(&created.token, "acme-internal", KEY).await.unwrap();
    let c = s.sdk.get_connection("acme-internal", &connected.connection_id).await.unwrap();
    assert_eq!(serde_json::to_value(&c.credentials).unwrap()["apiKey"], KEY);
    let err = s.sdk.submit_basic(&created.token, "acme-internal", "u", "p").await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_auth_mode"));
    as_session.delete_connect_session().await.unwrap();
    let err = as_session.get_connect_session().await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(401), Some("unknown_connect_session_token")));
}

#[tokio::test]
async fn the_connect_ui_is_served_self_contained() {
    let s = TestServer::start().await;
    let resp = s.http.get(s.url("/connect-ui/?session_token=x")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("connect-src 'self'") && csp.contains("default-src 'none'"), "{csp}");
    assert!(resp.headers().get("x-frame-options").is_none(), "apps may embed the Connect UI");
    let html = resp.text().await.unwrap();
    for external in ["<script src", "<link rel=\"stylesheet\"", "https://", "http://"] {
        assert!(!html.contains(external), "no external asset ({external})");
    }
}

/// Runs the browser test against `link`; returns its output when it passed.
async fn browser(link: &str, key: &str, label: &str, bad_key: Option<&str>) -> String {
    let mut vars = vec![("CONNECT_LINK", link), ("API_KEY", key), ("EXPECT_LABEL", label)];
    if let Some(bad) = bad_key {
        vars.push(("BAD_API_KEY", bad));
    }
    node_browser_test("connect-ui.test.mjs", &vars).await
}

#[tokio::test]
async fn a_person_connects_with_the_connect_ui_in_a_real_browser() {
    let s = TestServer::start().await;
    seed(&s).await;
    let (status, resp) =
        create_session(&s, json!({"end_user": end_user(), "allowed_integrations": ["acme-internal"]})).await;
    assert_eq!(status, 201);
    let key = "typed-key-6f1c2a";
    browser(resp["data"]["connect_link"].as_str().unwrap(), key, "Acme API Key", None).await;

    // The connection exists with exactly the typed key.
    let all = s.sdk.list_connections(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1, "one connection created");
    let c = s.sdk.get_connection("acme-internal", &all[0].connection_id).await.unwrap();
    assert_eq!(serde_json::to_value(&c.credentials).unwrap()["apiKey"], key);
    assert_eq!(c.end_user.unwrap().id, "u-42");
}

#[tokio::test]
async fn a_refused_key_is_shown_in_the_browser_and_the_person_tries_again() {
    // A provider whose keys are checked: the upstream accepts only `good-key`.
    let up = nango_tests::upstream::Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("providers.yaml");
    std::fs::write(
        &catalog,
        format!(
            "checked-api:\n  display_name: Checked API\n  auth_mode: API_KEY\n  proxy:\n    base_url: {}\n    headers:\n      authorization: Bearer ${{apiKey}}\n    verification:\n      endpoints: [/auth-check]\n",
            up.base_url
        ),
    )
    .unwrap();
    let s = TestServer::start_with(&[
        ("NANGO_PROVIDERS_FILE", catalog.to_str().unwrap()),
        ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}"),
    ])
    .await;
    let integration = json!({"provider": "checked-api", "unique_key": "checked"});
    assert_eq!(TestServer::send(s.req(Method::POST, "/integrations").json(&integration)).await.0, 200);
    let (status, resp) = create_session(&s, json!({"end_user": end_user()})).await;
    assert_eq!(status, 201);
    let out = browser(resp["data"]["connect_link"].as_str().unwrap(), "good-key", "API Key", Some("wrong-key")).await;
    assert!(out.contains("✔ a refused key shows an error and keeps the form"), "{out}");
    let all = s.sdk.list_connections(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1, "only the accepted key was stored");
    let c = s.sdk.get_connection("checked", &all[0].connection_id).await.unwrap();
    assert_eq!(serde_json::to_value(&c.credentials).unwrap()["apiKey"], "good-key");
}

/// A BASIC provider that describes its credentials and asks for connection settings, in
/// Nango's providers.yaml format (fields as in e.g. `zendesk-api-key` and `streamline-ai`).
/// Its base URL is fixed and it has no verification, so connections are stored as submitted.
const PORTAL_CATALOG: &str = r#"
acme-portal:
  display_name: Acme Portal
  auth_mode: BASIC
  proxy:
    base_url: https://api.acme.test
  docs_connect: https://docs.acme.test/portal/connect
  connection_config:
    region:
      type: string
      title: Region
      description: Where your Acme account is hosted.
      enum: [us, eu, ap]
      default_value: eu
    team_id:
      type: string
      title: Team ID
      description: Only for accounts with several teams.
      pattern: '^T[0-9]+$'
      optional: true
    api_version:
      type: string
      title: API version
      hidden: true
      default_value: '2024-01'
    tenant:
      type: string
      title: Tenant
      description: Set by your administrator.
    webhook_secret:
      type: string
      title: Webhook secret
      automated: true
    subdomain:
      type: string
      title: Acme Subdomain
      description: The subdomain of your Acme account.
      example: your-team
      pattern: '^[a-z0-9-]+$'
      prefix: https://
      suffix: .example.com
      order: 1
      doc_section: '#step-1-find-your-subdomain'
  credentials:
    username:
      type: string
      title: Email Address
      description: The email address you sign in with.
      example: jane@acme.test
      format: email
      doc_section: '#step-2-credentials'
    password:
      type: string
      title: API Token
      description: Your Acme API token.
      example: tok_****
      secret: true
"#;

#[tokio::test]
async fn the_connect_ui_asks_for_the_connection_config_of_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("providers.yaml");
    std::fs::write(&catalog, PORTAL_CATALOG).unwrap();
    let s = TestServer::start_with(&[("NANGO_PROVIDERS_FILE", catalog.to_str().unwrap())]).await;
    let integration = json!({"provider": "acme-portal", "unique_key": "portal"});
    assert_eq!(TestServer::send(s.req(Method::POST, "/integrations").json(&integration)).await.0, 200);
    let (status, resp) = create_session(
        &s,
        json!({"end_user": end_user(), "integrations_config_defaults": {"portal": {"connection_config": {"tenant": "t-1"}}}}),
    )
    .await;
    assert_eq!(status, 201, "{resp}");
    let link = resp["data"]["connect_link"].as_str().unwrap();
    let out = node_browser_test("connect-ui-config.test.mjs", &[("CONNECT_LINK", link)]).await;
    assert!(out.contains("✔ a valid submission sends the configuration as params and connects"), "{out}");

    // The connection holds what was typed, the select's default, the hidden field's default
    // and the session's preset value.
    let all = s.sdk.list_connections(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1, "one connection created");
    let id = &all[0].connection_id;
    let (status, c) =
        TestServer::send(s.req(Method::GET, &format!("/connections/{id}?provider_config_key=portal"))).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        c["connection_config"],
        json!({"subdomain": "acme-team", "region": "eu", "team_id": "T42", "api_version": "2024-01", "tenant": "t-1"})
    );
    assert_eq!(c["credentials"]["type"], "BASIC");
    assert_eq!(c["credentials"]["username"], "jane@acme.test");
    assert_eq!(c["credentials"]["password"], "tok-5b1e93");
    assert_eq!(c["end_user"]["id"], "u-42");
}
