//! The dashboard's sessions and integration pages, driven like a browser without JavaScript.

use nango_tests::{
    TestServer,
    browser::{Browser, Page},
};
use reqwest::{Method, StatusCode};

fn has(page: &Page, text: &str) -> bool {
    page.html.contains(text)
}

#[tokio::test]
async fn signing_in_takes_a_secret_key_and_the_session_is_a_sealed_strict_cookie() {
    let s = TestServer::start().await;
    let mut b = Browser::new(&s.base_url);
    // Not signed in: every page leads to the sign-in form, remembering where to go.
    let home = b.get("/dashboard/connections").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location.as_deref(), Some("/dashboard/sign-in?next=%2Fdashboard%2Fconnections"));
    let form = b.get("/dashboard/sign-in?next=/dashboard/connections").await;
    assert_eq!(form.status, StatusCode::OK);
    let csp = form.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(!form.html.contains("<script>") && !form.html.contains("style="), "no inline script or style");

    let wrong =
        b.submit(&form, "/dashboard/sign-in", &[("next", "/dashboard/connections"), ("secret_key", "not-a-key")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(has(&wrong, "This key does not open any environment."), "{}", wrong.html);
    assert!(!has(&wrong, "not-a-key"), "a wrong key is not shown back");
    assert!(b.cookie("nango_dashboard").is_none());

    // Without the login form's own cookie (a form posted from another site), nothing happens.
    let mut stranger = Browser::new(&s.base_url);
    let forged = stranger.post("/dashboard/sign-in", &[("csrf", "x"), ("secret_key", &s.dev_key)]).await;
    assert_eq!((forged.status, stranger.cookie("nango_dashboard")), (StatusCode::SEE_OTHER, None));

    let signed =
        b.submit(&form, "/dashboard/sign-in", &[("next", "/dashboard/connections"), ("secret_key", &s.dev_key)]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.location.as_deref(), Some("/dashboard/connections"));
    let set = signed
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("nango_dashboard="))
        .unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/dashboard"), "{set}");
    let cookie = b.cookie("nango_dashboard").unwrap().to_owned();
    assert!(!cookie.contains(&s.dev_key), "the key is sealed in the cookie");
    let page = b.get("/dashboard/integrations").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.html.contains(&s.dev_key), "keys are never rendered");

    // A second key adds its environment; the switch chooses it.
    let add = b.get("/dashboard/sign-in").await;
    b.submit(&add, "/dashboard/sign-in", &[("next", "/dashboard/"), ("secret_key", &s.prod_key)]).await;
    let page = b.get("/dashboard/integrations").await;
    assert!(has(&page, ">dev</option>") && has(&page, ">prod</option>"), "{}", page.html);
    assert!(has(&page, "<option value=\"1\" selected>prod</option>"), "the added environment is active");

    // A form without the session's token is refused; signing out clears the cookie.
    let refused = b.post("/dashboard/sign-out", &[("csrf", "wrong")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let out = b.submit(&page, "/dashboard/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(b.cookie("nango_dashboard").is_none());
    assert_eq!(b.get("/dashboard/integrations").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn wrong_keys_are_rate_limited_per_address() {
    let s = TestServer::start().await;
    let mut b = Browser::new(&s.base_url);
    let form = b.get("/dashboard/sign-in").await;
    let mut last = StatusCode::OK;
    for _ in 0..11 {
        last = b.submit(&form, "/dashboard/sign-in", &[("secret_key", "nope")]).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let blocked = b.submit(&form, "/dashboard/sign-in", &[("secret_key", &s.dev_key)]).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS, "even a good key waits");
    assert!(has(&blocked, "Too many wrong keys"), "{}", blocked.html);
}

#[tokio::test]
async fn integrations_are_created_edited_and_deleted_through_forms() {
    let s = TestServer::start().await;
    let mut b = Browser::new(&s.base_url);
    b.sign_in(&s.dev_key).await;
    let empty = b.get("/dashboard/").await;
    assert!(has(&empty, "No integration yet"), "{}", empty.html);

    let form = b.get("/dashboard/integrations/new?provider=private-api-generic").await;
    for field in [
        "integration_config.baseUrl",
        "integration_config.keyPlacement",
        "integration_config.keyName",
        "integration_config.valueTemplate",
        "integration_config.keyLabel",
    ] {
        assert!(has(&form, &format!("name=\"{field}\"")), "{field} is in the form");
    }
    // The API's validation, shown next to the field, with the values kept.
    let bad = b
        .submit(
            &form,
            "/dashboard/integrations",
            &[("provider", "private-api-generic"), ("unique_key", "bad key!"), ("display_name", "Acme")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(has(&bad, "id=\"f-unique_key-error\"") && has(&bad, "aria-invalid=\"true\""), "{}", bad.html);
    assert!(has(&bad, "value=\"Acme\""), "what was typed stays");
    let created = b
        .submit(
            &form,
            "/dashboard/integrations",
            &[
                ("provider", "private-api-generic"),
                ("unique_key", "acme"),
                ("display_name", "Acme API"),
                ("integration_config.baseUrl", "https://api.acme.test"),
                ("integration_config.keyPlacement", "header"),
                ("integration_config.keyName", "X-Api-Key"),
                ("integration_config.valueTemplate", "${apiKey}"),
                ("integration_config.keyLabel", "Acme key"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let api = TestServer::send(s.req(Method::GET, "/integrations/acme")).await;
    assert_eq!(api.1["data"]["display_name"], "Acme API");
    let list = b.get("/dashboard/integrations").await;
    assert!(has(&list, "href=\"/dashboard/integrations/acme\"") && has(&list, "Acme API"), "{}", list.html);

    let show = b.get("/dashboard/integrations/acme").await;
    assert!(has(&show, "value=\"https://api.acme.test\""), "the stored settings fill the form");
    let saved = b
        .submit(
            &show,
            "/dashboard/integrations/acme",
            &[
                ("unique_key", "acme"),
                ("display_name", "Acme v2"),
                ("integration_config.baseUrl", "https://v2.acme.test"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let api = TestServer::send(s.req(Method::GET, "/integrations/acme")).await;
    assert_eq!(api.1["data"]["display_name"], "Acme v2");
    let refused = b
        .submit(
            &show,
            "/dashboard/integrations/acme",
            &[("unique_key", "acme"), ("integration_config.baseUrl", "not a url")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(has(&refused, "id=\"f-integration_config.baseUrl-error\""), "{}", refused.html);

    // Delete needs the confirmation.
    let confirm = b.get("/dashboard/integrations/acme/delete").await;
    let unconfirmed = b.submit(&confirm, "/dashboard/integrations/acme/delete", &[]).await;
    assert_eq!(unconfirmed.location.as_deref(), Some("/dashboard/integrations/acme/delete"));
    assert_eq!(TestServer::send(s.req(Method::GET, "/integrations/acme")).await.0, 200);
    let deleted = b.submit(&confirm, "/dashboard/integrations/acme/delete", &[("confirm", "yes")]).await;
    assert_eq!(deleted.location.as_deref(), Some("/dashboard/integrations"));
    assert_eq!(TestServer::send(s.req(Method::GET, "/integrations/acme")).await.0, 404);
    assert_eq!(b.get("/dashboard/integrations/acme").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dashboard_pages_stay_out_of_the_call_history() {
    let s = TestServer::start().await;
    let mut b = Browser::new(&s.base_url);
    b.sign_in(&s.dev_key).await;
    b.get("/dashboard/integrations").await;
    // An API call after the pages: once it is in the history, the pages would be too.
    assert_eq!(TestServer::send(s.req(Method::GET, "/integrations")).await.0, 200);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let logs = TestServer::send(s.req(Method::GET, "/logs")).await.1;
        let paths: Vec<String> =
            logs["data"].as_array().unwrap().iter().filter_map(|e| e["path"].as_str().map(str::to_owned)).collect();
        if paths.iter().any(|p| p == "/integrations") {
            assert!(!paths.iter().any(|p| p.starts_with("/dashboard")), "{paths:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the API call reaches the history");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_person_uses_the_dashboard_in_a_real_browser() {
    let upstream = nango_tests::upstream::Upstream::start().await;
    let s = TestServer::start_with(&[("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}")]).await;
    crate::functions::setup(&s, &upstream).await;
    let deployed = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&crate::functions::recorded_body())).await;
    assert_eq!(deployed.0, 200, "{}", deployed.1);
    // A proxied call of the connection, for its logs.
    let call =
        s.req(Method::GET, "/proxy/items").header("Connection-Id", "c1").header("Provider-Config-Key", "acme-fn");
    assert_eq!(TestServer::send(call).await.0, 200);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let logs = TestServer::send(s.req(Method::GET, "/logs?connectionId=c1")).await.1;
        if logs["data"].as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the call reaches the history");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let screenshots =
        std::env::var_os("DASHBOARD_SCREENSHOTS").map(|v| v.to_string_lossy().into_owned()).unwrap_or_default();
    let mut vars = vec![("BASE_URL", s.base_url.as_str()), ("SECRET_KEY", s.dev_key.as_str())];
    if !screenshots.is_empty() {
        vars.push(("SCREENSHOTS_DIR", screenshots.as_str()));
    }
    crate::node_browser_test("dashboard.test.mjs", &vars).await;
}
