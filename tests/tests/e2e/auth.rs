//! Authentication exactly as Nango's, environment isolation, and keys at rest.

use nango_tests::{TestServer, holds_part_of, sqlite_files};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::{SEED_BODY, assert_error};

#[tokio::test]
async fn missing_malformed_and_unknown_keys_get_nangos_401s() {
    let s = TestServer::start().await;
    let get = |auth: Option<&str>| {
        let mut req = s.http.get(s.url("/integrations"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        TestServer::send(req)
    };
    let missing = get(None).await;
    assert_error(&missing, 401, "missing_auth_header");
    assert_eq!(
        missing.1,
        json!({"error": {"code": "missing_auth_header", "message": "Authentication failed. The request is missing the Authorization header.", "payload": {}}})
    );
    assert_error(&get(Some("Bearer not-a-uuid")).await, 401, "invalid_secret_key_format");
    assert_error(&get(Some(&format!("bearer {}", s.dev_key))).await, 401, "invalid_secret_key_format");
    let unknown = get(Some("Bearer 11111111-2222-4333-8444-555555555555")).await;
    assert_error(&unknown, 401, "unknown_account");
    assert_eq!(unknown.1["error"]["payload"], json!({}));
    // Nango takes the text after the last "Bearer ", so a bare key works too.
    assert_eq!(get(Some(&s.dev_key)).await.0, 200);
    assert_eq!(get(Some(&format!("Bearer {}", s.dev_key.to_uppercase()))).await.0, 401, "keys are compared exactly");
}

#[tokio::test]
async fn connect_session_tokens_are_refused_where_nango_refuses_them() {
    let s = TestServer::start().await;
    let token = format!("nango_connect_session_{}", "a".repeat(64));
    let list = TestServer::send(s.http.get(s.url("/integrations")).bearer_auth(&token)).await;
    assert_error(&list, 401, "unknown_connect_session_token");
    let bad = TestServer::send(s.http.get(s.url("/providers")).bearer_auth("nango_connect_session_xyz")).await;
    assert_error(&bad, 401, "invalid_connect_session_token_format");
    let one = TestServer::send(s.http.get(s.url("/integrations/x")).bearer_auth(&token)).await;
    assert_error(&one, 401, "invalid_secret_key_format");
}

#[tokio::test]
async fn environments_are_isolated() {
    let s = TestServer::start().await;
    let created = TestServer::send(
        s.req(Method::POST, "/integrations").header("content-type", "application/json").body(SEED_BODY),
    )
    .await;
    assert_eq!(created.0, 200, "{}", created.1);
    let prod = s.sdk_with_key(&s.prod_key);
    assert!(prod.list_integrations().await.unwrap().is_empty(), "prod sees no dev integration");
    assert_eq!(prod.get_integration("acme-internal", &[]).await.unwrap_err().code(), Some("not_found"));
    let patch =
        nango_sdk::types::UpdateIntegrationRequest { display_name: Some("hijacked".into()), ..Default::default() };
    assert_eq!(prod.update_integration("acme-internal", patch).await.unwrap_err().code(), Some("not_found"));
    assert_eq!(prod.delete_integration("acme-internal").await.unwrap_err().code(), Some("not_found"));
    // The same key can exist independently in prod.
    let own = TestServer::send(
        s.http
            .post(s.url("/integrations"))
            .bearer_auth(&s.prod_key)
            .header("content-type", "application/json")
            .body(SEED_BODY),
    )
    .await;
    assert_eq!(own.0, 200);
    let dev = s.sdk.get_integration("acme-internal", &[]).await.unwrap();
    assert_eq!(dev.display_name, "Acme Internal API", "dev's integration is untouched");
    assert_eq!(s.sdk.list_integrations().await.unwrap().len(), 1);
}

#[tokio::test]
async fn secret_keys_are_stored_only_as_keyed_hashes() {
    let s = TestServer::start().await;
    // Calls with each key first, so that their request logs are among what is searched.
    for key in [&s.dev_key, &s.prod_key] {
        assert_eq!(TestServer::send(s.http.get(s.url("/integrations")).bearer_auth(key)).await.0, 200);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while TestServer::send(s.http.get(s.url("/logs?type=api")).bearer_auth(key)).await.1["data"]
            .as_array()
            .is_none_or(Vec::is_empty)
        {
            assert!(std::time::Instant::now() < deadline, "the call was not logged");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    let db = &s.state.ctx.db;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT name, secret_key_hash FROM environments ORDER BY name",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let hashes: Vec<Vec<u8>> = rows.iter().map(|row| row.try_get("", "secret_key_hash").unwrap()).collect();
    assert!(hashes.iter().all(|h| h.len() == 32) && hashes[0] != hashes[1], "one 32-byte hash per key");

    // No part of either key anywhere in the database: every column of every table.
    let stored = s.stored_values().await;
    assert!(
        stored.iter().any(|v| v.column.starts_with("request_logs.")),
        "the search covers the request logs: {stored:?}"
    );
    for key in [&s.dev_key, &s.prod_key] {
        for value in &stored {
            assert!(!holds_part_of(&value.bytes, key), "{} holds part of a secret key", value.column);
        }
        if !s.is_postgres() {
            for (file, bytes) in sqlite_files(s.data_dir.path()) {
                assert!(!holds_part_of(&bytes, key), "{file} holds part of a secret key");
            }
        }
    }
}

#[tokio::test]
async fn without_configured_keys_a_dev_key_is_generated_once_and_written_privately() {
    let s = TestServer::start_with(&[
        ("NANGO_SECRET_KEY_DEV", ""),
        ("NANGO_SECRET_KEY_PROD", ""),
        ("NANGO_ENCRYPTION_KEY", ""),
        ("NANGO_DATABASE_URL", ""),
    ])
    .await;
    let key_file = s.data_dir.path().join("encryption.key");
    assert!(
        std::fs::read_to_string(&key_file).is_ok_and(|k| k.trim().len() == 44),
        "an encryption key is generated (base64 of 32 bytes)"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let path = nango_server::secret_key_file(s.data_dir.path(), "dev");
    let key = std::fs::read_to_string(&path).expect("generated key file").trim().to_owned();
    assert!(nango_server::config::is_uuid_v4(&key));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let ok = TestServer::send(s.http.get(s.url("/integrations")).bearer_auth(&key)).await;
    assert_eq!(ok.0, 200);
    // A second start on the same database keeps the key (no new file, same key works).
    let again = nango_server::service::environment::ensure(&s.state.ctx, "dev", None, true).await.unwrap();
    assert_eq!(again, Some(nango_server::service::environment::Provisioned::Kept));
    let prod = nango_server::service::environment::ensure(&s.state.ctx, "prod", None, false).await.unwrap();
    assert_eq!(prod, None, "prod exists only when its key is configured");
}

#[cfg(unix)]
#[tokio::test]
async fn the_embedded_data_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("fresh").join("data");
    let s = TestServer::start_with(&[
        ("NANGO_DATA_DIR", dir.to_str().unwrap()),
        ("NANGO_SECRET_KEY_DEV", ""),
        ("NANGO_ENCRYPTION_KEY", ""),
        ("NANGO_DATABASE_URL", ""),
    ])
    .await;
    let key = std::fs::read_to_string(nango_server::secret_key_file(&dir, "dev")).unwrap().trim().to_owned();
    let ok = TestServer::send(s.http.get(s.url("/integrations")).bearer_auth(&key)).await;
    assert_eq!(ok.0, 200);
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
    };
    assert_eq!(mode(&dir), 0o700, "the data directory");
    for name in ["nango.db", "nango.db-wal", "nango.db-shm", "encryption.key", "secret-key-dev"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    s.stop().await;
}
