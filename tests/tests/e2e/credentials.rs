//! Credential checks: a provider's verification request before a key is stored, and the
//! auth error a 401 through the proxy records (one webhook, cleared by the next success).

use std::time::Duration;

use nango_tests::{TestServer, receiver::Receiver, upstream::Upstream};
use reqwest::Method;
use serde_json::{Value, json};

use crate::assert_error;

const WAIT: Duration = Duration::from_secs(15);
const ALLOW_LOCAL: (&str, &str) = ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}");
const REFUSED: &str = "The given credentials were found to be invalid. Please check the credentials and try again.";

async fn proxy(s: &TestServer, path: &str) -> reqwest::Response {
    s.http
        .get(s.url(&format!("/proxy{path}")))
        .bearer_auth(&s.dev_key)
        .header("Provider-Config-Key", "acme")
        .header("Connection-Id", "c")
        .send()
        .await
        .unwrap()
}

async fn errors(s: &TestServer) -> Value {
    let (status, c) = TestServer::send(s.req(Method::GET, "/connections/c?provider_config_key=acme")).await;
    assert_eq!(status, 200, "{c}");
    c["errors"].clone()
}

#[tokio::test]
async fn an_upstream_401_marks_the_connection_and_notifies_once() {
    let up = Upstream::start().await;
    let receiver = Receiver::start(0).await;
    let s = TestServer::start_with(&[("NANGO_WEBHOOK_URL_DEV", receiver.url.as_str()), ALLOW_LOCAL]).await;
    let integration = json!({"provider": "private-api-generic", "unique_key": "acme", "integration_config": {"baseUrl": up.base_url, "keyName": "Authorization", "valueTemplate": "Bearer ${apiKey}"}});
    assert_eq!(TestServer::send(s.req(Method::POST, "/integrations").json(&integration)).await.0, 200);
    let import = json!({"provider_config_key": "acme", "connection_id": "c", "credentials": {"type": "API_KEY", "apiKey": "revoked-key"}});
    assert_eq!(TestServer::send(s.req(Method::POST, "/connections").json(&import)).await.0, 201);
    assert_eq!(receiver.next(WAIT).await.expect("creation webhook").json()["operation"], "creation");
    assert_eq!(errors(&s).await, json!([]));

    let refused = proxy(&s, "/auth-check").await;
    assert_eq!(refused.status(), 401, "the upstream's answer reaches the caller");
    let request_id = refused.headers()["x-nango-request-id"].to_str().unwrap().to_owned();
    assert_eq!(errors(&s).await, json!([{"type": "auth", "log_id": request_id}]));
    let hook = receiver.next(WAIT).await.expect("failure webhook").json();
    assert_eq!(
        (hook["operation"].clone(), hook["success"].clone(), hook["error"].clone()),
        (json!("refresh"), json!(false), json!({"type": "connection_test_failed", "description": REFUSED}))
    );
    // More refusals: still one error, no second webhook.
    for _ in 0..3 {
        assert_eq!(proxy(&s, "/auth-check").await.status(), 401);
    }
    assert_eq!(errors(&s).await, json!([{"type": "auth", "log_id": request_id}]), "the first refusal is kept");

    // The next successful call clears it.
    assert_eq!(proxy(&s, "/anything").await.status(), 200);
    assert_eq!(errors(&s).await, json!([]));
    let list = TestServer::send(s.req(Method::GET, "/connections")).await;
    assert_eq!(list.1["connections"][0]["errors"], json!([]));
    // Every queued webhook went out; none besides the two seen.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        use sea_orm::EntityTrait;
        let rows = nango_server::db::entity::webhook_outbox::Entity::find().all(&s.state.ctx.db).await.unwrap();
        if rows.iter().all(|r| r.delivered_at.is_some()) {
            assert_eq!(rows.len(), 2, "creation and one failure");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(receiver.drain().await.is_empty());
}

#[tokio::test]
async fn a_declared_verification_checks_keys_before_they_are_stored() {
    let up = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("providers.yaml");
    std::fs::write(
        &catalog,
        format!(
            "checked-api:\n  display_name: Checked API\n  auth_mode: API_KEY\n  proxy:\n    base_url: {}\n    headers:\n      authorization: Bearer ${{apiKey}}\n    verification:\n      method: GET\n      endpoints:\n        - /status/500\n        - /auth-check\n",
            up.base_url
        ),
    )
    .unwrap();
    let s = TestServer::start_with(&[("NANGO_PROVIDERS_FILE", catalog.to_str().unwrap()), ALLOW_LOCAL]).await;
    let integration = json!({"provider": "checked-api", "unique_key": "acme"});
    assert_eq!(TestServer::send(s.req(Method::POST, "/integrations").json(&integration)).await.0, 200);

    let import = |key: &str| json!({"provider_config_key": "acme", "connection_id": "c", "credentials": {"type": "API_KEY", "apiKey": key}});
    let bad = TestServer::send(s.req(Method::POST, "/connections").json(&import("wrong-key"))).await;
    assert_eq!(bad, (400, json!({"error": {"code": "connection_test_failed", "message": REFUSED}})));
    assert_error(
        &TestServer::send(s.req(Method::GET, "/connections/c?provider_config_key=acme")).await,
        404,
        "not_found",
    );
    // Any endpoint answering 2xx accepts the key (the first one fails here).
    assert_eq!(TestServer::send(s.req(Method::POST, "/connections").json(&import("good-key"))).await.0, 201);

    // The Connect UI's submission is checked the same way.
    let (_, session) =
        TestServer::send(s.req(Method::POST, "/connect/sessions").json(&json!({"tags": {"t": "x"}}))).await;
    let token = session["data"]["token"].as_str().unwrap();
    let submit = |key: &'static str| {
        s.http
            .post(s.url(&format!("/api-auth/api-key/acme?connect_session_token={token}")))
            .json(&json!({"apiKey": key}))
    };
    assert_error(&TestServer::send(submit("wrong-key")).await, 400, "connection_test_failed");
    assert_eq!(TestServer::send(submit("good-key")).await.0, 200);
}
