//! The served document and reference page.

use nango_tests::TestServer;

#[tokio::test]
async fn the_served_document_is_the_checked_in_one_and_needs_no_auth() {
    let s = TestServer::start().await;
    let resp = s.http.get(s.url("/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let served_text = resp.text().await.unwrap();
    let served: serde_json::Value = serde_json::from_str(&served_text).unwrap();
    let checked_in: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/nango.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(served, checked_in);
    for path in ["/docs", "/docs/"] {
        let page = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        let page = page.text().await.unwrap();
        assert!(page.contains("<html"), "the API reference page is HTML");
        // The page shows the served document (examples, enums), not poem-openapi's own rendering.
        assert!(page.contains(&served_text), "{path} inlines the document /openapi.json serves");
    }
    let health = s.http.get(s.url("/health")).send().await.unwrap();
    assert_eq!(health.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"result": "ok"}));
    let logo = s.http.get(s.url("/images/template-logos/private-api-generic.svg")).send().await.unwrap();
    assert_eq!(logo.headers()["content-type"], "image/svg+xml");
}
