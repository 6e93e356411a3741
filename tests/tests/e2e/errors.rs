//! Wire-level error handling: the envelope for every failure, Nango's middleware order, no 5xx.

use nango_tests::TestServer;
use reqwest::Method;
use serde_json::json;

use crate::{SEED_BODY, assert_error};

#[tokio::test]
async fn malformed_json_is_invalid_json_before_authentication() {
    let s = TestServer::start().await;
    for body in ["{bad", "\"a string\"", "null", "12"] {
        let r =
            TestServer::send(s.http.post(s.url("/integrations")).header("content-type", "application/json").body(body))
                .await;
        assert_error(&r, 400, "invalid_json");
        assert!(r.1["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn non_json_content_types_get_415_before_authentication() {
    let s = TestServer::start().await;
    for method in [Method::GET, Method::POST, Method::PATCH] {
        let r = TestServer::send(
            s.http.request(method, s.url("/integrations")).header("content-type", "application/octet-stream").body("x"),
        )
        .await;
        assert_error(&r, 415, "invalid_content_type");
        assert_eq!(r.1["error"]["message"], "Content-Type header must be application/json");
    }
    let form = TestServer::send(
        s.req(Method::POST, "/providers").header("content-type", "application/x-www-form-urlencoded").body("a=b"),
    )
    .await;
    assert_error(&form, 415, "invalid_content_type");
    // JSON with a charset, and a JSON content type on a GET (the Node client sends one), pass.
    let ok =
        TestServer::send(s.req(Method::GET, "/integrations").header("content-type", "application/json; charset=utf-8"))
            .await;
    assert_eq!(ok.0, 200);
}

#[tokio::test]
async fn a_body_without_content_type_is_undefined_as_in_nango() {
    let s = TestServer::start().await;
    let r = TestServer::send(s.req(Method::POST, "/integrations").body(SEED_BODY)).await;
    assert_error(&r, 400, "invalid_body");
    assert_eq!(
        r.1["error"]["errors"],
        json!([{"code": "invalid_type", "message": "Invalid input: expected object, received undefined", "path": []}])
    );
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let s = TestServer::start_with(&[("NANGO_SERVER_PUBLIC_BODY_LIMIT", "1kb")]).await;
    let big =
        json!({"provider": "private-api-generic", "unique_key": "x", "custom": {"a": "b".repeat(2000)}}).to_string();
    let r = TestServer::send(
        s.req(Method::POST, "/integrations").header("content-type", "application/json").body(big.clone()),
    )
    .await;
    assert_error(&r, 413, "payload_too_large");
    // Also when the length is not declared up front (chunked upload).
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(big.into_bytes())]);
    let r = TestServer::send(
        s.req(Method::POST, "/integrations")
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream)),
    )
    .await;
    assert_error(&r, 413, "payload_too_large");
    let small = TestServer::send(
        s.req(Method::POST, "/integrations").header("content-type", "application/json").body(SEED_BODY),
    )
    .await;
    assert_eq!(small.0, 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_a_404_envelope() {
    let s = TestServer::start().await;
    let r = TestServer::send(s.req(Method::PUT, "/integrations")).await;
    assert_error(&r, 404, "not_found");
    assert_eq!(r.1["error"]["message"], "Cannot PUT /integrations");
    assert_error(&TestServer::send(s.req(Method::GET, "/no/such/route")).await, 404, "not_found");
}

#[tokio::test]
async fn paths_are_case_insensitive_and_tolerate_a_trailing_slash() {
    let s = TestServer::start().await;
    assert_eq!(TestServer::send(s.req(Method::GET, "/Integrations/")).await.0, 200);
    assert_eq!(TestServer::send(s.req(Method::GET, "/PROVIDERS")).await.0, 200);
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let s = TestServer::start().await;
    for path in ["/health", "/integrations", "/nope"] {
        let resp = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(resp.headers()["referrer-policy"], "strict-origin", "{path}");
    }
    let preflight = crate::preflight(&s, "/integrations", "POST", "authorization,content-type").await;
    assert!(preflight.status().is_success(), "CORS preflight needs no auth");
    assert!(preflight.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn odd_inputs_never_cause_a_server_error() {
    let s = TestServer::start().await;
    let bodies = [
        json!([]),
        json!({"provider": null, "unique_key": 1}),
        json!({"provider": "private-api-generic", "unique_key": "k", "integration_config": null}),
        json!({"provider": "private-api-generic", "unique_key": "k", "integration_config": {"baseUrl": {"nested": true}}}),
        json!({"provider": "private-api-generic", "unique_key": "k", "credentials": "x"}),
        json!({"provider": "private-api-generic", "unique_key": "k", "credentials": {"type": "OAUTH2"}}),
        json!({"provider": "x".repeat(10_000), "unique_key": "é🦀\u{0}"}),
        json!({"provider": "private-api-generic", "unique_key": "k", "integration_config": {"keyName": "k", "baseUrl": "https://[::1"}}),
    ];
    for body in bodies {
        for (method, path) in [(Method::POST, "/integrations"), (Method::PATCH, "/integrations/k")] {
            let r = TestServer::send(s.req(method.clone(), path).json(&body)).await;
            assert!((400..500).contains(&r.0), "{method} {path} {body} -> {} {}", r.0, r.1);
            assert!(r.1["error"]["code"].is_string(), "envelope for {body}");
        }
    }
    for path in [
        "/integrations/%FF",
        "/integrations/a%2Fb",
        "/providers/%00",
        "/integrations/x?include[a]=b",
        "/providers?search=%",
    ] {
        let r = TestServer::send(s.req(Method::GET, path)).await;
        assert!((400..500).contains(&r.0), "{path} -> {} {}", r.0, r.1);
    }
}

#[tokio::test]
async fn connection_writes_have_a_smaller_body_limit_of_their_own() {
    let s = TestServer::start_with(&[("NANGO_METADATA_BODY_LIMIT", "2kb")]).await;
    let seeded = TestServer::send(
        s.req(Method::POST, "/integrations").json(&serde_json::from_str::<serde_json::Value>(SEED_BODY).unwrap()),
    )
    .await;
    assert_eq!(seeded.0, 200, "{}", seeded.1);
    let c1 = json!({"provider_config_key": "acme-internal", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": "k"}});
    let imported = TestServer::send(s.req(Method::POST, "/connections").json(&c1)).await;
    assert!(imported.0 < 300, "{}", imported.1);
    let padding = "m".repeat(3000);
    let metadata = json!({"connection_id": "c1", "provider_config_key": "acme-internal", "metadata": {"big": padding}});
    let import = json!({"provider_config_key": "acme-internal", "connection_id": "c2",
        "credentials": {"type": "API_KEY", "apiKey": "k"}, "metadata": {"big": padding}});
    for (method, path, body) in [
        (Method::POST, "/connections/metadata", &metadata),
        (Method::PATCH, "/connections/metadata", &metadata),
        (Method::POST, "/connection/metadata", &metadata),
        (Method::POST, "/connection/c1/metadata?provider_config_key=acme-internal", &json!({"big": padding})),
        (Method::POST, "/connections", &import),
        (Method::PATCH, "/connections/c1?provider_config_key=acme-internal", &json!({"metadata": {"big": padding}})),
    ] {
        let r = TestServer::send(s.req(method.clone(), path).json(body)).await;
        assert_error(&r, 413, "payload_too_large");
        let message = r.1["error"]["message"].as_str().unwrap();
        assert!(message.contains("2048 bytes (NANGO_METADATA_BODY_LIMIT)"), "{method} {path}: {message}");
    }
    // Other routes keep the general limit.
    let big = json!({"provider": "private-api-generic", "unique_key": "big", "custom": {"a": padding}});
    let r = TestServer::send(s.req(Method::POST, "/integrations").json(&big)).await;
    assert_ne!(r.0, 413, "the integration body is read and judged on its content: {}", r.1);
    assert_eq!(r.1["error"]["code"], "invalid_body");
    // And a write under the limit goes through.
    let small = json!({"connection_id": "c1", "provider_config_key": "acme-internal", "metadata": {"small": true}});
    let r = TestServer::send(s.req(Method::POST, "/connections/metadata").json(&small)).await;
    assert!(r.0 < 300, "{} {}", r.0, r.1);
}
