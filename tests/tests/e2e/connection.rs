//! `/connections` and the credential vault as users see them.

use nango_sdk::{
    ConnectionFilter, Credentials, KeyPlacement, PrivateApiGeneric,
    types::{CreateIntegrationRequest, ImportConnectionRequest, UpdateConnectionRequest},
};
use nango_tests::{TestServer, holds_part_of, sqlite_files};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::{SEED_BODY, assert_error};

const KEY: &str = "sk_live_0123456789abcdef";

async fn seed(s: &TestServer) {
    let r = TestServer::send(
        s.req(Method::POST, "/integrations").header("content-type", "application/json").body(SEED_BODY),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
}

async fn import(s: &TestServer, body: Value) -> (u16, Value) {
    TestServer::send(s.req(Method::POST, "/connections").json(&body)).await
}

fn api_key_import(id: &str, key: &str) -> ImportConnectionRequest {
    ImportConnectionRequest {
        provider_config_key: "acme-internal".into(),
        connection_id: Some(id.into()),
        credentials: Credentials::ApiKey(key.into()).into(),
        connection_config: Default::default(),
        metadata: Default::default(),
        webhook_url_override: None,
        end_user: None,
        tags: Default::default(),
    }
}

#[tokio::test]
async fn import_answers_201_with_nangos_shape_and_the_key() {
    let s = TestServer::start().await;
    seed(&s).await;
    let (status, body) = import(&s, json!({"provider_config_key": "acme-internal", "connection_id": "customer-1", "credentials": {"type": "API_KEY", "apiKey": KEY}})).await;
    assert_eq!(status, 201, "{body}");
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "connection_id",
            "provider_config_key",
            "provider",
            "errors",
            "end_user",
            "tags",
            "metadata",
            "connection_config",
            "webhook_url_override",
            "created_at",
            "updated_at",
            "last_fetched_at",
            "credentials"
        ]
    );
    assert_eq!(body["credentials"], json!({"type": "API_KEY", "apiKey": KEY}));
    assert_eq!(
        (body["provider"].as_str(), body["errors"].clone(), body["end_user"].clone()),
        (Some("private-api-generic"), json!([]), Value::Null)
    );
    assert_eq!(
        (body["metadata"].clone(), body["connection_config"].clone(), body["tags"].clone()),
        (json!({}), json!({}), json!({}))
    );
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'), "POST uses the Z form");

    // Read back: intact, `+00:00` timestamps, and the read is recorded.
    let got = s.sdk.get_connection("acme-internal", "customer-1").await.unwrap();
    assert_eq!(Credentials::try_from(&got.credentials).unwrap(), Credentials::ApiKey(KEY.into()));
    let raw = TestServer::send(s.req(Method::GET, "/connections/customer-1?provider_config_key=acme-internal")).await;
    assert!(raw.1["created_at"].as_str().unwrap().ends_with("+00:00"), "{}", raw.1);
    assert!(raw.1["last_fetched_at"].is_string());
    assert_eq!(raw.1["id"], body["id"]);
}

#[tokio::test]
async fn reimporting_replaces_the_credentials_and_keeps_the_connection() {
    let s = TestServer::start().await;
    seed(&s).await;
    let first = s
        .sdk
        .import_connection(ImportConnectionRequest {
            webhook_url_override: Some("https://hooks.example.com/a".into()),
            ..api_key_import("c", "old-key")
        })
        .await
        .unwrap();
    let second = s.sdk.import_connection(api_key_import("c", "new-key")).await.unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(second.created_at, first.created_at);
    assert_eq!(second.webhook_url_override, None, "an import without the override clears it, as in Nango");
    let got = s.sdk.get_connection("acme-internal", "c").await.unwrap();
    assert_eq!(got.credentials.api_key.as_deref(), Some("new-key"));
    assert_eq!(s.sdk.list_connections(&ConnectionFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn import_validates_like_nango() {
    let s = TestServer::start().await;
    seed(&s).await;
    let generated =
        import(&s, json!({"provider_config_key": "acme-internal", "credentials": {"type": "API_KEY", "apiKey": "k"}}))
            .await;
    assert!(nango_server::config::is_uuid_v4(generated.1["connection_id"].as_str().unwrap()), "a UUID is generated");
    let wrong_type = import(&s, json!({"provider_config_key": "acme-internal", "credentials": {"type": "BASIC", "username": "u", "password": "p"}})).await;
    assert_eq!(
        wrong_type.1,
        json!({"error": {"code": "invalid_body", "message": "Provider API_KEY does not support BASIC auth"}})
    );
    let unknown =
        import(&s, json!({"provider_config_key": "nope", "credentials": {"type": "API_KEY", "apiKey": "k"}})).await;
    assert_eq!(unknown, (404, json!({"error": {"code": "not_found", "message": "Integration does not exist"}})));
    let missing = import(&s, json!({"provider_config_key": "acme-internal", "credentials": {"type": "API_KEY"}})).await;
    assert_eq!(
        missing.1["error"]["errors"],
        json!([{"code": "invalid_type", "message": "Invalid input: expected string, received undefined", "path": ["credentials", "apiKey"]}])
    );
    let bad_type = import(&s, json!({"provider_config_key": "acme-internal", "credentials": {"type": "MAGIC"}})).await;
    assert_eq!(bad_type.1["error"]["errors"][0]["path"], json!(["credentials", "type"]));
    let long = import(
        &s,
        json!({"provider_config_key": "acme-internal", "credentials": {"type": "API_KEY", "apiKey": "k".repeat(1025)}}),
    )
    .await;
    assert_eq!(long.1["error"]["errors"][0]["code"], "too_big");
    let tags = import(&s, json!({"provider_config_key": "acme-internal", "credentials": {"type": "API_KEY", "apiKey": "k"}, "tags": {"123invalid": "x"}})).await;
    assert_eq!(
        tags.1["error"]["errors"][0],
        json!({"code": "invalid_key", "message": "Invalid key in record", "path": ["tags", "123invalid"]})
    );
    let hook = import(&s, json!({"provider_config_key": "acme-internal", "credentials": {"type": "API_KEY", "apiKey": "k"}, "webhook_url_override": "https://api.nango.dev/x"})).await;
    assert_eq!(hook.1["error"]["errors"][0]["message"], "Webhook URLs cannot point to Nango's domain (nango.dev).");
    let email = import(&s, json!({"provider_config_key": "acme-internal", "credentials": {"type": "API_KEY", "apiKey": "k"}, "end_user": {"id": "u1", "email": "nope"}})).await;
    assert_eq!(email.1["error"]["errors"][0]["path"], json!(["end_user", "email"]));
    assert_error(
        &TestServer::send(s.req(Method::POST, "/connections").header("content-type", "text/plain").body("x")).await,
        415,
        "invalid_content_type",
    );
    // Nothing of the refused imports was stored.
    assert_eq!(s.sdk.list_connections(&ConnectionFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn basic_credentials_round_trip() {
    let s = TestServer::start().await;
    s.sdk
        .create_integration(CreateIntegrationRequest {
            provider: "private-api-basic".into(),
            unique_key: "basic".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (status, body) = import(&s, json!({"provider_config_key": "basic", "connection_id": "b1", "credentials": {"type": "BASIC", "username": "alice", "password": ""}})).await;
    assert_eq!(status, 201, "{body}");
    let got = s.sdk.get_connection("basic", "b1").await.unwrap();
    assert_eq!(
        Credentials::try_from(&got.credentials).unwrap(),
        Credentials::Basic { username: "alice".into(), password: String::new() }
    );
}

#[tokio::test]
async fn end_users_tags_and_list_filters() {
    let s = TestServer::start().await;
    seed(&s).await;
    s.sdk
        .create_integration(CreateIntegrationRequest {
            provider: "private-api-bearer".into(),
            unique_key: "bearer".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let with_user = import(&s, json!({
        "provider_config_key": "acme-internal", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": "k1"},
        "end_user": {"id": "123", "display_name": "John Doe", "email": "john@example.com", "tags": {"projectId": "123"}},
        "tags": {"Plan": "gold"}
    }))
    .await;
    assert_eq!(with_user.0, 201, "{}", with_user.1);
    assert_eq!(
        with_user.1["tags"],
        json!({"end_user_id": "123", "end_user_email": "john@example.com", "end_user_display_name": "John Doe", "projectid": "123", "plan": "gold"})
    );
    assert_eq!(with_user.1["end_user"]["tags"], json!({"projectId": "123"}), "the end user's own tags keep their case");
    assert_eq!(with_user.1["end_user"]["organization"], Value::Null);
    import(&s, json!({"provider_config_key": "bearer", "connection_id": "c2", "credentials": {"type": "API_KEY", "apiKey": "k2"}})).await;
    import(&s, json!({"provider_config_key": "acme-internal", "connection_id": "c3", "credentials": {"type": "API_KEY", "apiKey": "k3"}})).await;

    let list = |q: &str| TestServer::send(s.req(Method::GET, &format!("/connections{q}")));
    let ids = |v: &Value| {
        v["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["connection_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let all = list("").await;
    assert_eq!(ids(&all.1), ["c3", "c2", "c1"], "newest first");
    let item = &all.1["connections"][2];
    assert!(item.get("credentials").is_none(), "lists never carry credentials");
    assert!(item["created"].as_str().unwrap().ends_with("+00:00"));
    assert_eq!(ids(&list("?connectionId=c2").await.1), ["c2"]);
    assert_eq!(ids(&list("?integrationId=acme-internal").await.1), ["c3", "c1"]);
    assert_eq!(ids(&list("?integrationId=bearer,%20acme-internal&limit=1&page=1").await.1), ["c2"]);
    assert_eq!(ids(&list("?endUserId=123").await.1), ["c1"]);
    assert_eq!(ids(&list("?search=JOHN").await.1), ["c1"]);
    assert_eq!(ids(&list("?tags[plan]=gold").await.1), ["c1"]);
    assert_eq!(ids(&list("?tags[plan]=silver").await.1), Vec::<String>::new());
    assert_error(&list("?foo=1").await, 400, "invalid_query_params");
    assert_error(&list("?limit=0").await, 400, "invalid_query_params");
    assert_error(&list("?limit=abc").await, 400, "invalid_query_params");
    let sdk = s
        .sdk
        .list_connections(&ConnectionFilter { integration_id: Some("bearer".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(sdk.len(), 1);
}

#[tokio::test]
async fn patch_changes_end_user_tags_and_webhook_override() {
    let s = TestServer::start().await;
    seed(&s).await;
    s.sdk.import_connection(api_key_import("c", KEY)).await.unwrap();
    let patch = |body: Value| {
        TestServer::send(s.req(Method::PATCH, "/connections/c?provider_config_key=acme-internal").json(&body))
    };
    assert_eq!(
        patch(json!({"tags": {"tier": "1"}, "webhook_url_override": "https://hooks.example.com/x"})).await,
        (200, json!({"success": true}))
    );
    let got = s.sdk.get_connection("acme-internal", "c").await.unwrap();
    assert_eq!(got.tags.get("tier"), Some(&json!("1")));
    assert_eq!(got.webhook_url_override.as_deref(), Some("https://hooks.example.com/x"));
    s.sdk
        .update_connection(
            "acme-internal",
            "c",
            UpdateConnectionRequest { webhook_url_override: Some(String::new()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(s.sdk.get_connection("acme-internal", "c").await.unwrap().webhook_url_override, None, "\"\" clears it");
    assert_eq!(
        patch(json!({"credentials": {"type": "API_KEY", "apiKey": "x"}})).await.1["error"]["errors"][0]["code"],
        "unrecognized_keys"
    );
    let missing =
        TestServer::send(s.req(Method::PATCH, "/connections/nope?provider_config_key=acme-internal").json(&json!({})))
            .await;
    assert_eq!(missing, (404, json!({"error": {"code": "not_found", "message": "Failed to find connection"}})));
    let no_integration =
        TestServer::send(s.req(Method::PATCH, "/connections/c?provider_config_key=nope").json(&json!({}))).await;
    assert_eq!(
        no_integration,
        (400, json!({"error": {"code": "unknown_provider_config", "message": "Provider does not exists"}}))
    );
    assert_eq!(
        s.sdk.get_connection("acme-internal", "c").await.unwrap().credentials.api_key.as_deref(),
        Some(KEY),
        "PATCH never touches credentials"
    );
}

#[tokio::test]
async fn get_and_delete_errors_are_nangos() {
    let s = TestServer::start().await;
    seed(&s).await;
    s.sdk.import_connection(api_key_import("c", KEY)).await.unwrap();
    let get = |q: &str| TestServer::send(s.req(Method::GET, &format!("/connections/{q}")));
    assert_error(&get("c").await, 400, "invalid_query_params");
    assert_eq!(
        get("c?provider_config_key=nope").await,
        (400, json!({"error": {"code": "unknown_provider_config", "message": "Provider does not exists"}}))
    );
    assert_eq!(
        get("x?provider_config_key=acme-internal").await,
        (404, json!({"error": {"code": "not_found", "message": "Failed to find connection"}}))
    );
    assert_eq!(get("c?provider_config_key=acme-internal&force_refresh=false&refresh_token=false").await.0, 200);
    assert_error(&get("c?provider_config_key=acme-internal&force_refresh=maybe").await, 400, "invalid_query_params");

    let del = |q: &str| TestServer::send(s.req(Method::DELETE, &format!("/connections/{q}")));
    assert_eq!(del("c?provider_config_key=acme-internal").await, (200, json!({"success": true})));
    assert_eq!(
        del("c?provider_config_key=acme-internal").await,
        (400, json!({"error": {"code": "unknown_connection"}}))
    );
    assert_error(&get("c?provider_config_key=acme-internal").await, 404, "not_found");
}

#[tokio::test]
async fn metadata_is_replaced_or_merged_all_or_nothing() {
    let s = TestServer::start().await;
    seed(&s).await;
    for id in ["a", "b"] {
        s.sdk.import_connection(api_key_import(id, KEY)).await.unwrap();
    }
    let post =
        json!({"connection_id": "a", "provider_config_key": "acme-internal", "metadata": {"x": 1, "y": {"z": true}}});
    assert_eq!(TestServer::send(s.req(Method::POST, "/connections/metadata").json(&post)).await, (201, post.clone()));
    let patch = json!({"connection_id": ["a", "b"], "provider_config_key": "acme-internal", "metadata": {"y": null, "w": "new"}});
    assert_eq!(
        TestServer::send(s.req(Method::PATCH, "/connections/metadata").json(&patch)).await,
        (200, patch.clone())
    );
    let a = s.sdk.get_connection("acme-internal", "a").await.unwrap();
    assert_eq!(Value::Object(a.metadata.unwrap()), json!({"x": 1, "y": null, "w": "new"}));
    let b = s.sdk.get_connection("acme-internal", "b").await.unwrap();
    assert_eq!(Value::Object(b.metadata.unwrap()), json!({"y": null, "w": "new"}));

    let bad = json!({"connection_id": ["a", "ghost"], "provider_config_key": "acme-internal", "metadata": {"x": 2}});
    let r = TestServer::send(s.req(Method::POST, "/connections/metadata").json(&bad)).await;
    assert_eq!(r.0, 404);
    assert_eq!(
        r.1["error"]["message"],
        "Connection with connection id ghost and provider config key acme-internal not found. Please make sure the connection exists in the Nango dashboard. No actions were taken on any of the connections as a result of this failure."
    );
    let a = s.sdk.get_connection("acme-internal", "a").await.unwrap();
    assert_eq!(a.metadata.unwrap()["x"], json!(1), "nothing was written");
    let empty = TestServer::send(
        s.req(Method::POST, "/connections/metadata")
            .json(&json!({"connection_id": "", "provider_config_key": "acme-internal", "metadata": {}})),
    )
    .await;
    assert_eq!(
        empty.1["error"]["errors"][0],
        json!({"code": "invalid_union", "message": "Invalid input", "path": ["connection_id"]})
    );
    let array = TestServer::send(
        s.req(Method::POST, "/connections/metadata")
            .json(&json!({"connection_id": "a", "provider_config_key": "acme-internal", "metadata": []})),
    )
    .await;
    assert_error(&array, 400, "invalid_body");
    s.sdk.set_metadata("acme-internal", &["b"], serde_json::Map::new()).await.unwrap();
    assert_eq!(s.sdk.get_connection("acme-internal", "b").await.unwrap().metadata, Some(serde_json::Map::new()));
}

#[tokio::test]
async fn deleting_an_integration_removes_its_connections_and_renaming_keeps_them() {
    let s = TestServer::start().await;
    seed(&s).await;
    s.sdk.import_connection(api_key_import("c", KEY)).await.unwrap();
    let renamed = TestServer::send(
        s.req(Method::PATCH, "/integrations/acme-internal").json(&json!({"unique_key": "acme-renamed"})),
    )
    .await;
    assert_eq!(renamed.0, 200, "{}", renamed.1);
    let got = s.sdk.get_connection("acme-renamed", "c").await.unwrap();
    assert_eq!((got.provider_config_key.as_str(), got.credentials.api_key.as_deref()), ("acme-renamed", Some(KEY)));
    s.sdk.delete_integration("acme-renamed").await.unwrap();
    assert!(s.sdk.list_connections(&ConnectionFilter::default()).await.unwrap().is_empty());
    let db = &s.state.ctx.db;
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT id FROM connections"))
        .await
        .unwrap();
    assert!(rows.is_empty(), "the rows are gone, not just hidden");
}

#[tokio::test]
async fn connections_are_isolated_between_environments() {
    let s = TestServer::start().await;
    seed(&s).await;
    s.sdk.import_connection(api_key_import("c", KEY)).await.unwrap();
    let prod = s.sdk_with_key(&s.prod_key);
    assert!(prod.list_connections(&ConnectionFilter::default()).await.unwrap().is_empty());
    assert_eq!(prod.get_connection("acme-internal", "c").await.unwrap_err().code(), Some("unknown_provider_config"));
    assert_eq!(prod.delete_connection("acme-internal", "c").await.unwrap_err().code(), Some("unknown_connection"));
    assert_eq!(
        prod.set_metadata("acme-internal", &["c"], serde_json::Map::new()).await.unwrap_err().code(),
        Some("unknown_connection")
    );
    // Same integration key and connection id in prod: a different connection.
    TestServer::send(
        s.http
            .post(s.url("/integrations"))
            .bearer_auth(&s.prod_key)
            .header("content-type", "application/json")
            .body(SEED_BODY),
    )
    .await;
    prod.import_connection(api_key_import("c", "prod-key")).await.unwrap();
    assert_eq!(s.sdk.get_connection("acme-internal", "c").await.unwrap().credentials.api_key.as_deref(), Some(KEY));
}

#[tokio::test]
async fn keys_are_unreadable_at_rest_and_bound_to_their_row() {
    let s = TestServer::start().await;
    seed(&s).await;
    s.sdk.import_connection(api_key_import("a", KEY)).await.unwrap();
    s.sdk.import_connection(api_key_import("b", "another-key-entirely")).await.unwrap();
    let db = &s.state.ctx.db;
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, connection_id, credentials, connection_config, metadata, tags FROM connections ORDER BY id",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let sealed: Vec<u8> = row.try_get("", "credentials").unwrap();
        assert_eq!(sealed[0], 1, "versioned envelope");
    }
    // No part of either key in any column of any table, nor in the SQLite files.
    let stored = s.stored_values().await;
    assert!(stored.iter().any(|v| v.column == "connections.credentials"), "the search covers the credentials");
    for key in [KEY, "another-key-entirely"] {
        for value in &stored {
            assert!(!holds_part_of(&value.bytes, key), "{} holds part of an API key", value.column);
        }
        if !s.is_postgres() {
            for (file, bytes) in sqlite_files(s.data_dir.path()) {
                assert!(!holds_part_of(&bytes, key), "{file} holds part of an API key");
            }
        }
    }
    // A sealed value copied onto another row does not open there: a clean error, not b's key.
    let a_id: i64 = rows[0].try_get("", "id").unwrap();
    let b_id: i64 = rows[1].try_get("", "id").unwrap();
    let copy = match backend {
        sea_orm::DatabaseBackend::Postgres => format!(
            "UPDATE connections SET credentials = (SELECT credentials FROM connections WHERE id = {a_id}) WHERE id = {b_id}"
        ),
        _ => format!(
            "UPDATE connections SET credentials = (SELECT credentials FROM connections WHERE id = {a_id}) WHERE id = {b_id}"
        ),
    };
    db.execute_unprepared(&copy).await.unwrap();
    let r = TestServer::send(s.req(Method::GET, "/connections/b?provider_config_key=acme-internal")).await;
    assert_error(&r, 500, "server_error");
    assert!(!r.1.to_string().contains(KEY), "no key in the error");
    // The untouched row still opens.
    assert_eq!(s.sdk.get_connection("acme-internal", "a").await.unwrap().credentials.api_key.as_deref(), Some(KEY));
}

#[tokio::test]
async fn concurrent_imports_of_one_id_leave_one_connection_with_one_key() {
    let s = TestServer::start().await;
    seed(&s).await;
    let keys: Vec<String> = (0..16).map(|i| format!("key-{i:02}-{}", "x".repeat(i))).collect();
    let mut tasks = Vec::new();
    for key in keys.clone() {
        let sdk = s.sdk.clone();
        tasks.push(tokio::spawn(async move { sdk.import_connection(api_key_import("same", &key)).await }));
    }
    for t in tasks {
        t.await.unwrap().expect("every import succeeds");
    }
    let list = s
        .sdk
        .list_connections(&ConnectionFilter { connection_id: Some("same".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    let got = s.sdk.get_connection("acme-internal", "same").await.unwrap();
    assert!(keys.contains(got.credentials.api_key.as_ref().unwrap()), "one of the submitted keys, intact");
}

#[tokio::test]
async fn the_integration_config_example_and_a_connection_together() {
    // The seed integration through the SDK, then a connection under it: the everyday flow.
    let s = TestServer::start().await;
    s.sdk
        .create_integration(CreateIntegrationRequest {
            provider: "private-api-generic".into(),
            unique_key: "acme-internal".into(),
            integration_config: PrivateApiGeneric::new("https://api.acme.com", "X-Api-Key")
                .key_placement(KeyPlacement::Header)
                .into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let imported = s.sdk.import_connection(api_key_import("customer-42", KEY)).await.unwrap();
    assert_eq!(imported.credentials.api_key.as_deref(), Some(KEY));
}

#[tokio::test]
async fn concurrent_metadata_merges_through_two_replicas_are_all_kept() {
    let db = nango_tests::TestDatabase::new().await;
    let key = nango_tests::new_encryption_key();
    let dev = uuid::Uuid::new_v4().to_string();
    let shared = [
        ("NANGO_DATABASE_URL", db.url.as_str()),
        ("NANGO_ENCRYPTION_KEY", key.as_str()),
        ("NANGO_SECRET_KEY_DEV", dev.as_str()),
    ];
    let a = TestServer::start_with(&shared).await;
    let b = TestServer::start_with(&shared).await;
    seed(&a).await;
    a.sdk.import_connection(api_key_import("c", KEY)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let req = if i % 2 == 0 {
            a.req(Method::PATCH, "/connections/metadata")
        } else {
            b.req(Method::PATCH, "/connections/metadata")
        };
        let body =
            json!({"connection_id": "c", "provider_config_key": "acme-internal", "metadata": {format!("k{i}"): i}});
        tasks.push(tokio::spawn(TestServer::send(req.json(&body))));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().0, 200, "every concurrent merge succeeds");
    }
    let metadata = a.sdk.get_connection("acme-internal", "c").await.unwrap().metadata.unwrap();
    let expected: serde_json::Map<String, Value> = (0..16).map(|i| (format!("k{i}"), json!(i))).collect();
    assert_eq!(metadata, expected, "no merge was lost");
}
