//! Auth webhooks: settings API, Nango's body and signatures, and the durable outbox (retries,
//! restarts, several replicas).

use std::{path::Path, time::Duration};

use nango_tests::{TestDatabase, TestServer, holds_part_of, receiver::Receiver};
use reqwest::Method;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::{SEED_BODY, assert_error};

const WAIT: Duration = Duration::from_secs(15);
const ALLOW_LOCAL: (&str, &str) = ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}");

async fn seed(s: &TestServer) {
    let r = TestServer::send(
        s.req(Method::POST, "/integrations").header("content-type", "application/json").body(SEED_BODY),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
}

async fn import(s: &TestServer, id: &str) {
    let body = json!({"provider_config_key": "acme-internal", "connection_id": id, "credentials": {"type": "API_KEY", "apiKey": "k"}, "tags": {"team": "core"}});
    let r = TestServer::send(s.req(Method::POST, "/connections").json(&body)).await;
    assert_eq!(r.0, 201, "{}", r.1);
}

async fn signing_key(s: &TestServer) -> String {
    let (status, settings) = TestServer::send(s.req(Method::GET, "/environment/webhook")).await;
    assert_eq!(status, 200, "{settings}");
    settings["signing_key"].as_str().unwrap().to_owned()
}

async fn outbox(s: &TestServer) -> Vec<nango_server::db::entity::webhook_outbox::Model> {
    nango_server::db::entity::webhook_outbox::Entity::find().all(&s.state.ctx.db).await.unwrap()
}

/// Waits until every queued delivery is settled (delivered or given up).
async fn settled(s: &TestServer) -> Vec<nango_server::db::entity::webhook_outbox::Model> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let rows = outbox(s).await;
        if rows.iter().all(|r| r.delivered_at.is_some() || r.failed_at.is_some()) {
            return rows;
        }
        assert!(tokio::time::Instant::now() < deadline, "deliveries still pending: {rows:?}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn settings_are_read_changed_and_the_key_rotated() {
    let s = TestServer::start().await;
    let (status, got) = TestServer::send(s.req(Method::GET, "/environment/webhook")).await;
    assert_eq!(status, 200);
    assert_eq!((got["primary_url"].clone(), got["on_auth_creation"].clone()), (Value::Null, json!(true)));
    let key = got["signing_key"].as_str().unwrap().to_owned();
    assert_eq!(signing_key(&s).await, key, "created once, then stable");

    let patch = json!({"primary_url": "https://hooks.example.com/a", "secondary_url": "https://backup.example.com/b", "on_auth_refresh_error": false});
    let (status, updated) = TestServer::send(s.req(Method::PATCH, "/environment/webhook").json(&patch)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["primary_url"], "https://hooks.example.com/a");
    assert_eq!(updated["on_auth_refresh_error"], false);
    assert_eq!(updated["on_auth_creation"], true, "untouched");
    let cleared =
        TestServer::send(s.req(Method::PATCH, "/environment/webhook").json(&json!({"secondary_url": null}))).await;
    assert_eq!(cleared.1["secondary_url"], Value::Null);
    assert_error(
        &TestServer::send(s.req(Method::PATCH, "/environment/webhook").json(&json!({"primary_url": "not a url"})))
            .await,
        400,
        "invalid_body",
    );
    assert_error(
        &TestServer::send(s.req(Method::PATCH, "/environment/webhook").json(&json!({"on_auth_creation": "yes"}))).await,
        400,
        "invalid_body",
    );

    let (status, rotated) = TestServer::send(s.req(Method::POST, "/environment/webhook-signing-key/rotate")).await;
    assert_eq!(status, 200);
    assert_ne!(rotated["signing_key"], json!(key));
    assert_eq!(signing_key(&s).await, rotated["signing_key"].as_str().unwrap());

    // The same through the SDK.
    let via_sdk = s.sdk.get_webhook_settings().await.unwrap();
    assert_eq!(via_sdk.signing_key, rotated["signing_key"].as_str().unwrap());
    let changed = s
        .sdk
        .update_webhook_settings(nango_sdk::types::UpdateWebhookSettingsRequest {
            on_auth_creation: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!changed.on_auth_creation);
    let again = s.sdk.rotate_webhook_signing_key().await.unwrap();
    assert_ne!(again.signing_key, via_sdk.signing_key);

    // The key is sealed at rest: no part of it in any column of any table.
    let stored = s.stored_values().await;
    assert!(stored.iter().any(|v| v.column == "webhook_settings.signing_key"), "the search covers the sealed keys");
    for value in &stored {
        assert!(!holds_part_of(&value.bytes, &again.signing_key), "{} holds part of the signing key", value.column);
    }
}

#[tokio::test]
async fn an_import_sends_one_signed_auth_webhook_that_nangos_client_accepts() {
    let receiver = Receiver::start(0).await;
    let s = TestServer::start_with(&[("NANGO_WEBHOOK_URL_DEV", receiver.url.as_str()), ALLOW_LOCAL]).await;
    seed(&s).await;
    import(&s, "c1").await;
    let hook = receiver.next(WAIT).await.expect("the auth webhook");
    let key = signing_key(&s).await;
    assert_eq!(hook.header("content-type"), "application/json");
    assert!(nango_sdk::webhook::verify(&key, &hook.body, hook.header("x-nango-hmac-sha256")), "HMAC signature");
    assert_eq!(
        hook.json(),
        json!({
            "authMode": "API_KEY", "connectionId": "c1", "environment": "dev", "from": "nango",
            "operation": "creation", "provider": "private-api-generic", "providerConfigKey": "acme-internal",
            "success": true, "tags": {"team": "core"}, "type": "auth"
        })
    );
    let raw = String::from_utf8(hook.body.clone()).unwrap();
    assert!(raw.starts_with("{\"authMode\":"), "keys sorted: {raw}");

    // The official Node client verifies both signatures.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("node/verify-webhook.mjs");
    let output = tokio::process::Command::new("node")
        .arg(script)
        .env("WEBHOOK_BODY", &raw)
        .env("WEBHOOK_HMAC", hook.header("x-nango-hmac-sha256"))
        .env("WEBHOOK_SIGNATURE", hook.header("x-nango-signature"))
        .env("WEBHOOK_SIGNING_KEY", &key)
        .output()
        .await
        .expect("node is installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.matches("valid ").count(), 3, "{stdout}");

    // Re-importing is an override; a connection's own webhook URL replaces the environment's.
    import(&s, "c1").await;
    assert_eq!(receiver.next(WAIT).await.expect("override webhook").json()["operation"], "override");
    let other = Receiver::start(0).await;
    let body = json!({"provider_config_key": "acme-internal", "connection_id": "c2", "credentials": {"type": "API_KEY", "apiKey": "k"}, "webhook_url_override": other.url});
    assert_eq!(TestServer::send(s.req(Method::POST, "/connections").json(&body)).await.0, 201);
    assert_eq!(other.next(WAIT).await.expect("to the override").json()["connectionId"], "c2");
    // Deleting sends nothing.
    let del = TestServer::send(s.req(Method::DELETE, "/connections/c1?provider_config_key=acme-internal")).await;
    assert_eq!(del.0, 200);
    let rows = settled(&s).await;
    assert_eq!(rows.len(), 3, "creation, override, creation to the override URL");
    assert!(receiver.drain().await.is_empty() && other.drain().await.is_empty(), "each sent once");
}

#[tokio::test]
async fn a_connect_ui_creation_names_the_end_user() {
    let receiver = Receiver::start(0).await;
    let s = TestServer::start_with(&[("NANGO_WEBHOOK_URL_DEV", receiver.url.as_str()), ALLOW_LOCAL]).await;
    seed(&s).await;
    let session = json!({"end_user": {"id": "u-7", "email": "ann@acme.com", "tags": {"plan": "pro"}}, "organization": {"id": "org-9"}});
    let (status, created) = TestServer::send(s.req(Method::POST, "/connect/sessions").json(&session)).await;
    assert_eq!(status, 201);
    let token = created["data"]["token"].as_str().unwrap();
    let url = s.url(&format!("/api-auth/api-key/acme-internal?connect_session_token={token}"));
    let (status, done) = TestServer::send(s.http.post(url).json(&json!({"apiKey": "typed"}))).await;
    assert_eq!(status, 200, "{done}");
    let hook = receiver.next(WAIT).await.expect("the auth webhook").json();
    assert_eq!(hook["connectionId"], done["connectionId"]);
    assert_eq!(
        hook["endUser"],
        json!({"endUserId": "u-7", "endUserEmail": "ann@acme.com", "organizationId": "org-9", "tags": {"plan": "pro"}})
    );
}

#[tokio::test]
async fn a_failing_receiver_gets_the_webhook_once_it_recovers() {
    let receiver = Receiver::start(2).await;
    let s = TestServer::start_with(&[
        ("NANGO_WEBHOOK_URL_DEV", receiver.url.as_str()),
        ("NANGO_WEBHOOK_RETRY_DELAY_MS", "20"),
        ALLOW_LOCAL,
    ])
    .await;
    seed(&s).await;
    import(&s, "c1").await;
    let statuses: Vec<(u16, Vec<u8>, String)> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            let r = receiver.next(WAIT).await.expect("an attempt");
            let id = r.header("x-nango-delivery-id").to_owned();
            v.push((r.status, r.body, id));
        }
        v
    };
    assert_eq!(statuses.iter().map(|(s, _, _)| *s).collect::<Vec<_>>(), [503, 503, 200]);
    assert!(statuses.windows(2).all(|w| w[0].1 == w[1].1), "the same body each time");
    assert!(statuses[0].2.starts_with("whd_"), "a delivery id: {:?}", statuses[0].2);
    assert!(statuses.windows(2).all(|w| w[0].2 == w[1].2), "the same delivery id on every attempt");
    let rows = settled(&s).await;
    assert_eq!((rows.len(), rows[0].attempts, rows[0].delivered_at.is_some()), (1, 3, true));
    assert!(receiver.drain().await.is_empty(), "nothing sent after the success");
}

#[tokio::test]
async fn an_unreachable_receiver_is_retried_then_given_up() {
    let s = TestServer::start_with(&[
        ("NANGO_WEBHOOK_URL_DEV", "http://127.0.0.1:9/closed"),
        ("NANGO_WEBHOOK_RETRY_DELAY_MS", "10"),
        ("NANGO_WEBHOOK_MAX_ATTEMPTS", "3"),
        ALLOW_LOCAL,
    ])
    .await;
    seed(&s).await;
    import(&s, "c1").await;
    let rows = settled(&s).await;
    assert_eq!(rows[0].attempts, 3, "network errors are retried up to the limit");
    assert!(rows[0].failed_at.is_some() && rows[0].last_error.is_some(), "given up, kept with its error");
}

#[tokio::test]
async fn a_pending_webhook_survives_a_restart() {
    let db = TestDatabase::new().await;
    let key = nango_tests::new_encryption_key();
    let dev = uuid::Uuid::new_v4().to_string();
    let receiver = Receiver::start(u32::MAX).await;
    let vars = |delay: &'static str| {
        vec![
            ("NANGO_DATABASE_URL", db.url.clone()),
            ("NANGO_ENCRYPTION_KEY", key.clone()),
            ("NANGO_SECRET_KEY_DEV", dev.clone()),
            ("NANGO_WEBHOOK_URL_DEV", receiver.url.clone()),
            ("NANGO_WEBHOOK_RETRY_DELAY_MS", delay.to_owned()),
            ("NANGO_WEBHOOK_POLL_MS", "20".to_owned()),
            (ALLOW_LOCAL.0, ALLOW_LOCAL.1.to_owned()),
        ]
    };
    let owned = vars("300");
    let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = TestServer::start_with(&borrowed).await;
    seed(&a).await;
    import(&a, "c1").await;
    assert_eq!(receiver.next(WAIT).await.expect("first attempt").status, 503);
    a.stop().await;

    // The receiver recovers; a new server over the same database delivers the queued webhook.
    receiver.fail_next(0);
    let b = TestServer::start_with(&borrowed).await;
    let hook = receiver.next(WAIT).await.expect("delivered after the restart");
    assert_eq!((hook.status, hook.json()["connectionId"].clone()), (200, json!("c1")));
    let rows = settled(&b).await;
    assert_eq!((rows.len(), rows[0].delivered_at.is_some()), (1, true));
}

#[tokio::test]
async fn two_replicas_deliver_each_webhook_exactly_once() {
    let db = TestDatabase::new().await;
    let key = nango_tests::new_encryption_key();
    let dev = uuid::Uuid::new_v4().to_string();
    let receiver = Receiver::start(0).await;
    let shared = [
        ("NANGO_DATABASE_URL", db.url.as_str()),
        ("NANGO_ENCRYPTION_KEY", key.as_str()),
        ("NANGO_SECRET_KEY_DEV", dev.as_str()),
        ("NANGO_WEBHOOK_URL_DEV", receiver.url.as_str()),
        ("NANGO_WEBHOOK_POLL_MS", "10"),
        ALLOW_LOCAL,
    ];
    let a = TestServer::start_with(&shared).await;
    let b = TestServer::start_with(&shared).await;
    seed(&a).await;
    for i in 0..20 {
        import(if i % 2 == 0 { &a } else { &b }, &format!("c{i}")).await;
    }
    let rows = settled(&a).await;
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| r.delivered_at.is_some() && r.attempts == 1), "{rows:?}");
    let mut ids: Vec<String> =
        receiver.drain().await.iter().map(|r| r.json()["connectionId"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
    expected.sort();
    assert_eq!(ids, expected, "each webhook received exactly once");
    drop(b);
}

#[tokio::test]
async fn an_import_whose_webhook_cannot_be_queued_is_not_stored() {
    use sea_orm::ConnectionTrait;
    let receiver = Receiver::start(0).await;
    let s = TestServer::start_with(&[("NANGO_WEBHOOK_URL_DEV", receiver.url.as_str()), ALLOW_LOCAL]).await;
    seed(&s).await;
    // The outbox cannot take a row (as if the server died between the two writes).
    s.state.ctx.db.execute_unprepared("DROP TABLE webhook_outbox").await.expect("drop the outbox");
    let body = json!({"provider_config_key": "acme-internal", "connection_id": "lost", "credentials": {"type": "API_KEY", "apiKey": "k"}});
    let refused = TestServer::send(s.req(Method::POST, "/connections").json(&body)).await;
    assert_eq!(refused.0, 500, "{}", refused.1);
    let read = TestServer::send(s.req(Method::GET, "/connections/lost?provider_config_key=acme-internal")).await;
    assert_eq!(read.0, 404, "the connection was not stored without its webhook: {}", read.1);
}
