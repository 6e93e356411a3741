//! `/integrations`: normal flows through the SDK, wire details through raw HTTP.

use std::collections::HashMap;

use nango_sdk::{
    KeyPlacement, PrivateApiGeneric, PrivateApiGenericPatch,
    types::{CreateIntegrationRequest, IntegrationInclude, UpdateIntegrationRequest},
};
use nango_tests::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{SEED_BODY, assert_error};

/// The stored (decrypted) configuration of an integration of the dev environment.
async fn stored_config(s: &TestServer, key: &str) -> HashMap<String, String> {
    let env = nango_server::db::repo::environment::find_by_name(&s.state.ctx.db, "dev").await.unwrap().unwrap();
    let record = nango_server::db::repo::integration::find(&s.state.ctx.db, &s.state.ctx.cipher, env.id, key)
        .await
        .unwrap()
        .unwrap();
    record.settings.custom.into_iter().collect()
}

fn seed_request() -> CreateIntegrationRequest {
    CreateIntegrationRequest {
        provider: "private-api-generic".into(),
        unique_key: "acme-internal".into(),
        display_name: Some("Acme Internal API".into()),
        integration_config: PrivateApiGeneric::new("https://api.acme.com", "Authorization")
            .key_placement(KeyPlacement::Header)
            .value_template("Api-Key ${apiKey}")
            .key_label("Acme API Key")
            .into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_seed_curl_example_works_verbatim() {
    let s = TestServer::start().await;
    let resp = s
        .http
        .post(s.url("/integrations"))
        .header("Authorization", format!("Bearer {}", s.dev_key))
        .header("Content-Type", "application/json")
        .body(SEED_BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json; charset=utf-8");
    let body: Value = resp.json().await.unwrap();
    let data = &body["data"];
    let keys: Vec<&str> = data.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "unique_key",
            "provider",
            "display_name",
            "logo",
            "credentials_label",
            "forward_webhooks",
            "created_at",
            "updated_at"
        ],
        "Nango's fields, in Nango's order"
    );
    assert_eq!(data["unique_key"], "acme-internal");
    assert_eq!(data["provider"], "private-api-generic");
    assert_eq!(data["display_name"], "Acme Internal API");
    assert_eq!(data["logo"], s.url("/images/template-logos/private-api-generic.svg"));
    assert_eq!(data["credentials_label"], json!({"apiKey": "Acme API Key"}));
    assert_eq!(data["forward_webhooks"], true);
    let created = data["created_at"].as_str().unwrap();
    assert!(created.len() == 24 && created.ends_with('Z'), "ISO-8601 with milliseconds: {created}");
    assert_eq!(data["created_at"], data["updated_at"]);
    assert!(!body.to_string().contains("api.acme.com"), "configuration values are never returned");
    assert_eq!(
        stored_config(&s, "acme-internal").await,
        HashMap::from([
            ("baseUrl".into(), "https://api.acme.com".into()),
            ("keyPlacement".into(), "header".into()),
            ("keyName".into(), "Authorization".into()),
            ("valueTemplate".into(), "Api-Key ${apiKey}".into()),
            ("keyLabel".into(), "Acme API Key".into()),
        ])
    );

    // "then PATCH /integrations/acme-internal with only the fields to change"
    let patched = TestServer::send(
        s.req(Method::PATCH, "/integrations/acme-internal")
            .header("Content-Type", "application/json")
            .body(r#"{"integration_config":{"keyPlacement":"query","keyName":"api_key"}}"#),
    )
    .await;
    assert_eq!(patched.0, 200, "{}", patched.1);
    assert_eq!(patched.1["data"]["credentials_label"], json!({"apiKey": "Acme API Key"}));
    assert!(patched.1["data"]["updated_at"].as_str().unwrap() >= created);
    assert_eq!(patched.1["data"]["created_at"], created);
    let stored = stored_config(&s, "acme-internal").await;
    assert_eq!(stored["keyPlacement"], "query");
    assert_eq!(stored["keyName"], "api_key");
    assert_eq!(stored["valueTemplate"], "Api-Key ${apiKey}", "fields not sent are kept");
    assert_eq!(stored["baseUrl"], "https://api.acme.com");
}

#[tokio::test]
async fn sdk_create_get_list_update_delete() {
    let s = TestServer::start().await;
    let created = s.sdk.create_integration(seed_request()).await.unwrap();
    assert_eq!(created.unique_key, "acme-internal");
    assert_eq!(created.credentials_label.as_ref().unwrap().api_key, "Acme API Key");

    let basic = s
        .sdk
        .create_integration(CreateIntegrationRequest {
            provider: "private-api-basic".into(),
            unique_key: "basic".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(basic.display_name, "Private API (Basic Auth)", "display name falls back to the provider's");
    assert!(basic.credentials_label.is_none());

    let got = s
        .sdk
        .get_integration("acme-internal", &[IntegrationInclude::Webhook, IntegrationInclude::Credentials])
        .await
        .unwrap();
    assert_eq!(got.webhook_url, None);
    assert_eq!(got.credentials, None);
    assert_eq!(got.created_at, created.created_at);

    // Ordered by provider, then creation.
    let listed: Vec<String> = s.sdk.list_integrations().await.unwrap().into_iter().map(|i| i.unique_key).collect();
    assert_eq!(listed, ["basic", "acme-internal"]);

    let updated = s
        .sdk
        .update_integration(
            "acme-internal",
            UpdateIntegrationRequest {
                display_name: Some("Acme v2".into()),
                forward_webhooks: Some(false),
                integration_config: PrivateApiGenericPatch::default().key_label("Acme Key v2").into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.display_name, "Acme v2");
    assert!(!updated.forward_webhooks);
    assert_eq!(updated.credentials_label.unwrap().api_key, "Acme Key v2");

    s.sdk.delete_integration("acme-internal").await.unwrap();
    let gone = s.sdk.get_integration("acme-internal", &[]).await.unwrap_err();
    assert_eq!((gone.status(), gone.code()), (Some(404), Some("not_found")));
    // The key can be reused.
    s.sdk.create_integration(seed_request()).await.unwrap();
}

#[tokio::test]
async fn defaults_are_applied_on_create() {
    let s = TestServer::start().await;
    let r = TestServer::send(s.req(Method::POST, "/integrations").json(&json!({
        "provider": "private-api-generic", "unique_key": "tmp-int",
        "integration_config": {"baseUrl": "http://127.0.0.1:18080", "keyName": "X-Api-Key"}
    })))
    .await;
    assert_eq!(r.0, 200);
    assert_eq!(r.1["data"]["display_name"], "Private API (Generic)");
    assert_eq!(r.1["data"]["credentials_label"], json!({"apiKey": "API Key"}));
    let stored = stored_config(&s, "tmp-int").await;
    assert_eq!(
        (stored["keyPlacement"].as_str(), stored["valueTemplate"].as_str(), stored["keyLabel"].as_str()),
        ("header", "${apiKey}", "API Key")
    );
}

#[tokio::test]
async fn create_follows_nangos_rules_and_messages() {
    let s = TestServer::start().await;
    let post = |body: Value| TestServer::send(s.req(Method::POST, "/integrations").json(&body));
    assert_eq!(post(serde_json::from_str(SEED_BODY).unwrap()).await.0, 200);

    let dup = post(serde_json::from_str(SEED_BODY).unwrap()).await;
    assert_eq!(
        dup.1,
        json!({"error": {"code": "invalid_body", "errors": [{"code": "invalid_string", "message": "Unique key already exists", "path": ["uniqueKey"]}]}})
    );
    let err = s.sdk.create_integration(seed_request()).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), Some("invalid_body")));
    assert_eq!(err.issues()[0].path, ["uniqueKey"]);

    let unknown = post(json!({"provider": "no-such-provider", "unique_key": "x1"})).await;
    assert_eq!(
        unknown.1,
        json!({"error": {"code": "invalid_body", "errors": [{"code": "invalid_string", "message": "Invalid provider", "path": ["provider"]}]}})
    );
    let bad_config = post(json!({"provider": "private-api-generic", "unique_key": "acme-bad", "integration_config": {"baseUrl": "ftp://x", "valueTemplate": "nokey", "bogus": "1"}})).await;
    assert_eq!(
        bad_config.1,
        json!({"error": {"code": "invalid_body", "message": "Unknown field bogus, Key name is required, Value template has an invalid format, Base URL has an invalid format"}})
    );
    let extra = post(json!({"provider": "private-api-generic", "unique_key": "x2", "foo": 1})).await;
    assert_eq!(
        extra.1,
        json!({"error": {"code": "invalid_body", "errors": [{"code": "unrecognized_keys", "message": "Unrecognized key: \"foo\"", "path": []}]}})
    );
    let too_long = post(json!({"provider": "private-api-generic", "unique_key": "x3", "integration_config": {"keyName": "k", "baseUrl": format!("https://a/{}", "x".repeat(8200))}})).await;
    assert_eq!(too_long.1["error"]["errors"][0]["code"], "too_big");
    assert_eq!(too_long.1["error"]["errors"][0]["path"], json!(["integration_config", "baseUrl"]));
    let invalid =
        post(json!({"unique_key": "bad key!", "display_name": true, "credentials": {"type": "API_KEY"}})).await;
    let codes: Vec<(&str, Value)> = invalid.1["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["code"].as_str().unwrap(), i["path"].clone()))
        .collect();
    assert_eq!(
        codes,
        [
            ("invalid_type", json!(["provider"])),
            ("invalid_format", json!(["unique_key"])),
            ("invalid_type", json!(["display_name"])),
            ("invalid_union", json!(["credentials", "type"]))
        ]
    );
    let mismatch = post(json!({"provider": "private-api-generic", "unique_key": "x4", "credentials": {"type": "OAUTH2", "client_id": "a", "client_secret": "b"}})).await;
    assert_eq!(mismatch.1["error"]["message"], "incompatible credentials auth type and provider auth");
    let custom = post(json!({"provider": "private-api-generic", "unique_key": "x5", "custom": {"a": "b"}})).await;
    assert_eq!(
        custom.1["error"]["message"],
        "This provider uses integration_config; set its values there instead of custom"
    );
    let no_schema =
        post(json!({"provider": "private-api-basic", "unique_key": "x6", "integration_config": {"a": "b"}})).await;
    assert_eq!(no_schema.1["error"]["message"], "This provider does not accept integration configuration");
    assert_error(
        &TestServer::send(s.req(Method::POST, "/integrations?env=dev").body(SEED_BODY)).await,
        400,
        "invalid_query_params",
    );
    // Nothing of the failed attempts was stored.
    assert_eq!(s.sdk.list_integrations().await.unwrap().len(), 1);
}

#[tokio::test]
async fn update_merges_validates_and_renames() {
    let s = TestServer::start().await;
    s.sdk.create_integration(seed_request()).await.unwrap();
    let patch =
        |key: &str, body: Value| TestServer::send(s.req(Method::PATCH, &format!("/integrations/{key}")).json(&body));

    let required = patch("acme-internal", json!({"integration_config": {"keyName": ""}})).await;
    assert_eq!(required.1, json!({"error": {"code": "invalid_body", "message": "Key name is required"}}));
    let template = patch("acme-internal", json!({"integration_config": {"valueTemplate": "Bearer"}})).await;
    assert_eq!(template.1["error"]["message"], "Value template has an invalid format");
    let placement = patch("acme-internal", json!({"integration_config": {"keyPlacement": "body"}})).await;
    assert_eq!(placement.1["error"]["message"], "Key placement must be one of: header, query");
    assert_eq!(stored_config(&s, "acme-internal").await["keyName"], "Authorization", "refused patches change nothing");

    let cleared = patch("acme-internal", json!({"integration_config": {"keyLabel": ""}})).await;
    assert_eq!(cleared.0, 200);
    assert!(cleared.1["data"].get("credentials_label").is_none(), "an empty keyLabel removes the label");
    assert_eq!(stored_config(&s, "acme-internal").await["keyLabel"], "");

    let provider = patch("acme-internal", json!({"provider": "private-api-bearer"})).await;
    assert_eq!(provider.1["error"]["errors"][0]["code"], "unrecognized_keys");
    assert_eq!(patch("acme-internal", json!({})).await.0, 200, "an empty patch is valid");

    s.sdk
        .create_integration(CreateIntegrationRequest {
            provider: "private-api-bearer".into(),
            unique_key: "other".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let taken = patch("acme-internal", json!({"unique_key": "other"})).await;
    assert_eq!(
        taken.1,
        json!({"error": {"code": "invalid_body", "message": "uniqueKey is already used by another integration"}})
    );

    let renamed = patch("acme-internal", json!({"unique_key": "acme-renamed"})).await;
    assert_eq!(renamed.1["data"]["unique_key"], "acme-renamed");
    let old = TestServer::send(s.req(Method::GET, "/integrations/acme-internal")).await;
    assert_eq!(
        old.1,
        json!({"error": {"code": "not_found", "message": "Integration \"acme-internal\" does not exist"}})
    );
    assert_eq!(
        stored_config(&s, "acme-renamed").await["baseUrl"],
        "https://api.acme.com",
        "settings follow the rename"
    );
    assert_error(&patch("missing", json!({})).await, 404, "not_found");
}

#[tokio::test]
async fn concurrent_patches_of_different_fields_are_all_kept() {
    let s = TestServer::start().await;
    s.sdk.create_integration(seed_request()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let sdk = s.sdk.clone();
        tasks.push(tokio::spawn(async move {
            let patch = if i % 2 == 0 {
                PrivateApiGenericPatch::default().key_name(format!("X-Key-{i}"))
            } else {
                PrivateApiGenericPatch::default().base_url(format!("https://api{i}.acme.com"))
            };
            sdk.update_integration(
                "acme-internal",
                UpdateIntegrationRequest { integration_config: patch.into(), ..Default::default() },
            )
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every concurrent patch succeeds");
    }
    let stored = stored_config(&s, "acme-internal").await;
    assert!(stored["keyName"].starts_with("X-Key-"), "{stored:?}");
    assert!(stored["baseUrl"].starts_with("https://api"), "{stored:?}");
    assert_eq!(stored["valueTemplate"], "Api-Key ${apiKey}");
}

#[tokio::test]
async fn get_validates_query_then_path() {
    let s = TestServer::start().await;
    s.sdk.create_integration(seed_request()).await.unwrap();
    let get = |path: &str| TestServer::send(s.req(Method::GET, path));
    let both = get("/integrations/acme-internal?include=credentials&include=webhook").await;
    assert_eq!(both.1["data"]["webhook_url"], Value::Null);
    assert_eq!(both.1["data"]["credentials"], Value::Null);
    assert!(both.1["data"].as_object().unwrap().contains_key("webhook_url"));
    let plain = get("/integrations/acme-internal").await;
    assert!(!plain.1["data"].as_object().unwrap().contains_key("webhook_url"));
    assert_eq!(get("/integrations/acme-internal?include[]=webhook").await.0, 200);
    for bad in ["include=foo", "include=", "include=webhook,credentials", "include[]=webhook&include[]=foo"] {
        let r = get(&format!("/integrations/acme-internal?{bad}")).await;
        assert_eq!(
            r.1,
            json!({"error": {"code": "invalid_query_params", "errors": [{"code": "invalid_union", "message": "Invalid input", "path": ["include"]}]}}),
            "{bad}"
        );
    }
    let unknown = get("/integrations/acme-internal?foo=bar").await;
    assert_eq!(unknown.1["error"]["errors"][0]["code"], "unrecognized_keys");
    // Query is checked before the path.
    assert_error(&get("/integrations/bad!key?foo=bar").await, 400, "invalid_query_params");
    assert_error(&get("/integrations/bad!key").await, 400, "invalid_uri_params");
    assert_eq!(
        get("/integrations/acme%20internal").await.1["error"]["message"],
        "Integration \"acme internal\" does not exist"
    );
}

#[tokio::test]
async fn delete_answers_success_then_404() {
    let s = TestServer::start().await;
    s.sdk.create_integration(seed_request()).await.unwrap();
    let first = TestServer::send(s.req(Method::DELETE, "/integrations/acme-internal")).await;
    assert_eq!(first, (200, json!({"success": true})));
    let second = TestServer::send(s.req(Method::DELETE, "/integrations/acme-internal")).await;
    assert_eq!(second, (404, json!({"error": {"code": "not_found", "message": "Integration does not exist"}})));
}

#[tokio::test]
async fn concurrent_patches_through_two_replicas_are_all_kept() {
    // Two replicas over one database: their writers cannot take turns, so each must re-read
    // and re-apply when the other got in first.
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
    a.sdk.create_integration(seed_request()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let sdk = if i % 2 == 0 { a.sdk.clone() } else { b.sdk.clone() };
        tasks.push(tokio::spawn(async move {
            let patch = PrivateApiGenericPatch::default().key_label(format!("Key {i}"));
            let patch = if i % 3 == 0 { patch.key_name(format!("X-Key-{i}")) } else { patch };
            let request = UpdateIntegrationRequest { integration_config: patch.into(), ..Default::default() };
            sdk.update_integration("acme-internal", request).await.map(|_| i)
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every concurrent patch succeeds");
    }
    // Every write was applied on top of the one before: none was lost to a stale read.
    let env = nango_server::db::repo::environment::find_by_name(&a.state.ctx.db, "dev").await.unwrap().unwrap();
    let record =
        nango_server::db::repo::integration::find(&a.state.ctx.db, &a.state.ctx.cipher, env.id, "acme-internal")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(record.revision, 1 + 12, "one revision per patch");
    let stored = stored_config(&a, "acme-internal").await;
    assert!(stored["keyName"].starts_with("X-Key-"), "{stored:?}");
    assert!(stored["keyLabel"].starts_with("Key "), "{stored:?}");
    assert_eq!(stored["baseUrl"], "https://api.acme.com");
}

#[tokio::test]
async fn placement_settings_are_checked_when_saved_not_when_used() {
    let s = TestServer::start().await;
    let create = |config: serde_json::Value| {
        s.req(Method::POST, "/integrations").json(&json!({
            "provider": "private-api-generic", "unique_key": "acme", "integration_config": config
        }))
    };
    for (config, field) in [
        (json!({"baseUrl": "https://api.acme.com", "keyName": "Host"}), "keyName"),
        (json!({"baseUrl": "https://api.acme.com", "keyName": "Content-Length"}), "keyName"),
        (json!({"baseUrl": "https://api.acme.com", "keyName": "transfer-encoding"}), "keyName"),
        (json!({"baseUrl": "https://api.acme.com", "keyName": "Connection"}), "keyName"),
        (json!({"baseUrl": "https://api.acme.com", "keyName": "X-Key\r\nX-Evil: 1"}), "keyName"),
        (json!({"baseUrl": "https://api.acme.com", "keyName": "X Key"}), "keyName"),
        (json!({"baseUrl": "https://api.acme.com", "keyName": "X:Key"}), "keyName"),
        (
            json!({"baseUrl": "https://api.acme.com", "keyName": "X-Key", "valueTemplate": "Api-Key ${apiKey}\r\nX-Evil: 1"}),
            "valueTemplate",
        ),
        (json!({"baseUrl": "https://api.acme.com/\n", "keyName": "X-Key"}), "baseUrl"),
        (json!({"baseUrl": "https://api.acme.com", "keyName": "key\u{0}", "keyPlacement": "query"}), "keyName"),
    ] {
        let refused = TestServer::send(create(config.clone())).await;
        assert_error(&refused, 400, "invalid_body");
        assert_eq!(
            refused.1["error"]["errors"][0]["path"],
            json!(["integration_config", field]),
            "{config}: {}",
            refused.1
        );
    }
    // A query parameter may be called anything without control characters.
    let ok = TestServer::send(create(
        json!({"baseUrl": "https://api.acme.com", "keyName": "api key", "keyPlacement": "query"}),
    ))
    .await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    // Switching to a header placement re-checks the stored name.
    let patched = TestServer::send(
        s.req(Method::PATCH, "/integrations/acme").json(&json!({"integration_config": {"keyPlacement": "header"}})),
    )
    .await;
    assert_error(&patched, 400, "invalid_body");
    assert_eq!(patched.1["error"]["errors"][0]["path"], json!(["integration_config", "keyName"]));

    // A key with CR/LF/NUL is refused when imported, naming the credential.
    let fixed = TestServer::send(
        s.req(Method::PATCH, "/integrations/acme").json(&json!({"integration_config": {"keyName": "X-Key"}})),
    )
    .await;
    assert_eq!(fixed.0, 200, "{}", fixed.1);
    let import = TestServer::send(s.req(Method::POST, "/connections").json(&json!({
        "provider_config_key": "acme", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": "k\r\nX-Evil: 1"}
    })))
    .await;
    assert_error(&import, 400, "invalid_body");
    assert_eq!(import.1["error"]["errors"][0]["path"], json!(["credentials", "apiKey"]), "{}", import.1);
}
