//! The vault across restarts: a wrong key refuses to start, and key rotation keeps every
//! secret readable.

use nango_sdk::{Credentials, types::ImportConnectionRequest};
use nango_tests::{TestDatabase, TestServer, new_encryption_key};
use reqwest::Method;

use crate::SEED_BODY;

async fn seeded(db: &TestDatabase, key: &str) -> TestServer {
    let s = TestServer::start_with(&[("NANGO_DATABASE_URL", &db.url), ("NANGO_ENCRYPTION_KEY", key)]).await;
    let r = TestServer::send(
        s.req(Method::POST, "/integrations").header("content-type", "application/json").body(SEED_BODY),
    )
    .await;
    assert_eq!(r.0, 200);
    s.sdk
        .import_connection(ImportConnectionRequest {
            provider_config_key: "acme-internal".into(),
            connection_id: Some("c".into()),
            credentials: Credentials::ApiKey("the-key".into()).into(),
            connection_config: Default::default(),
            metadata: Default::default(),
            webhook_url_override: None,
            end_user: None,
            tags: Default::default(),
        })
        .await
        .unwrap();
    s
}

fn config(db: &TestDatabase, vars: &[(&str, &str)]) -> nango_server::Config {
    let dir = tempfile::tempdir().unwrap().keep();
    let mut all: Vec<(String, String)> = vec![
        ("NANGO_DATABASE_URL".into(), db.url.clone()),
        ("NANGO_DATA_DIR".into(), dir.display().to_string()),
        ("NANGO_SECRET_KEY_DEV".into(), uuid::Uuid::new_v4().to_string()),
    ];
    all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    nango_server::Config::from_lookup(|name| all.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap()
}

#[tokio::test]
async fn a_key_that_cannot_open_the_data_refuses_to_start() {
    let db = TestDatabase::new().await;
    let old = new_encryption_key();
    seeded(&db, &old).await.stop().await;
    let err = nango_server::prepare(config(&db, &[("NANGO_ENCRYPTION_KEY", &new_encryption_key())])).await.unwrap_err();
    let message = nango_server::error::ErrorChain(&err).to_string();
    assert!(message.contains("NANGO_ENCRYPTION_KEY cannot open"), "{message}");
    // The right key still starts.
    nango_server::prepare(config(&db, &[("NANGO_ENCRYPTION_KEY", &old)])).await.expect("the sealing key starts");
}

#[tokio::test]
async fn key_rotation_reseals_everything_and_the_old_key_can_go() {
    let db = TestDatabase::new().await;
    let old = new_encryption_key();
    let new = new_encryption_key();
    seeded(&db, &old).await.stop().await;

    // New primary, old key still listed: serves, then rotates online.
    let s = TestServer::start_with(&[
        ("NANGO_DATABASE_URL", &db.url),
        ("NANGO_ENCRYPTION_KEY", &new),
        ("NANGO_ENCRYPTION_KEY_PREVIOUS", &old),
    ])
    .await;
    assert_eq!(
        s.sdk.get_connection("acme-internal", "c").await.unwrap().credentials.api_key.as_deref(),
        Some("the-key")
    );
    let pending = nango_server::db::repo::vault::pending(&s.state.ctx.db, &s.state.ctx.cipher).await.unwrap();
    assert_eq!(
        pending, 3,
        "the integration, the connection and the webhook signing key are still sealed with the old key"
    );
    let report = nango_server::rotate_keys(&s.state, s.data_dir.path()).await.unwrap();
    assert_eq!((report.resealed, report.current), (3, 0));
    let again = nango_server::rotate_keys(&s.state, s.data_dir.path()).await.unwrap();
    assert_eq!((again.resealed, again.current), (0, 3), "a second run has nothing left to do");
    s.stop().await;

    // Only the new key: everything opens. Only the old key: refused.
    let s = TestServer::start_with(&[("NANGO_DATABASE_URL", &db.url), ("NANGO_ENCRYPTION_KEY", &new)]).await;
    assert_eq!(
        s.sdk.get_connection("acme-internal", "c").await.unwrap().credentials.api_key.as_deref(),
        Some("the-key")
    );
    assert_eq!(
        s.sdk.get_integration("acme-internal", &[]).await.unwrap().credentials_label.unwrap().api_key,
        "Acme API Key"
    );
    let (status, webhook) = TestServer::send(s.req(reqwest::Method::GET, "/environment/webhook")).await;
    assert_eq!(status, 200, "the signing key opens with the new key: {webhook}");
    s.stop().await;
    assert!(nango_server::prepare(config(&db, &[("NANGO_ENCRYPTION_KEY", &old)])).await.is_err());
}
