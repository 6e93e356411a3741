//! The dashboard's functions pages, driven like a browser without JavaScript: the deployed
//! functions, running an action with a JSON input, and the records browser. Functions are
//! deployed by posting the deploy body the CLI recorded for the fixture project (no CLI run).

use nango_tests::{
    TestServer,
    browser::{Browser, Page},
    upstream::Upstream,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::functions::{recorded_body, setup};

/// The text of a page as a person reads it (maud escapes `&`, `<`, `>` and `"`).
fn text(page: &Page) -> String {
    page.html.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// A server with `acme-fn` (on `upstream`), connection `c1` and the fixture project deployed,
/// and a browser signed in to it.
async fn deployed(upstream: &Upstream, vars: &[(&str, &str)]) -> (TestServer, Browser) {
    let mut vars = vars.to_vec();
    vars.push(("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}"));
    let s = TestServer::start_with(&vars).await;
    setup(&s, upstream).await;
    let deployed = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&recorded_body())).await;
    assert_eq!(deployed.0, 200, "{}", deployed.1);
    let mut b = Browser::new(&s.base_url);
    b.sign_in(&s.dev_key).await;
    (s, b)
}

#[tokio::test]
async fn the_functions_page_lists_deployed_actions_and_syncs_with_their_versions() {
    let upstream = Upstream::start().await;
    let (s, mut b) = deployed(&upstream, &[]).await;

    let all = b.get("/dashboard/functions").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.html);
    let t = text(&all);
    for name in ["echo", "fetch-item", "fail", "items", "contacts"] {
        assert!(t.contains(&format!("<strong>{name}</strong>")), "{name} is listed:\n{t}");
    }
    assert!(t.contains("<span class=\"badge kind-action\">action</span>"), "{t}");
    assert!(t.contains("<span class=\"badge kind-sync\">sync</span>"), "{t}");
    assert!(t.contains("<code>1.0.0</code>"), "the version is shown");
    assert!(t.contains("every hour") && t.contains("starts by itself"), "the sync's frequency and auto start");
    assert!(t.contains("<time datetime="), "deploy times are shown");
    // Actions can be run; a sync's models lead to its records.
    assert!(t.contains("href=\"/dashboard/functions/acme%2Dfn/echo/run\""), "{t}");
    assert!(!t.contains("/dashboard/functions/acme%2Dfn/items/run"), "a sync has no Run link");
    assert!(t.contains("href=\"/dashboard/records?integration=acme%2Dfn&model=Item\""), "{t}");

    // Filtered by integration; an unknown one is a 404.
    let one = b.get("/dashboard/functions?integration=acme-fn").await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(text(&one).contains("<option value=\"acme-fn\" selected>"), "the filter is kept");
    assert_eq!(b.get("/dashboard/functions?integration=nope").await.status, StatusCode::NOT_FOUND);

    // A redeploy with a changed bundle bumps the version, and the page shows it.
    let mut changed = recorded_body();
    let echo = changed["flowConfigs"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["syncName"] == "echo")
        .expect("echo in the fixture");
    echo["version"] = Value::Null;
    let js = echo["fileBody"]["js"].as_str().unwrap().to_owned();
    echo["fileBody"]["js"] = json!(format!("{js}\n// changed"));
    let redeployed = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&changed)).await;
    assert_eq!(redeployed.0, 200, "{}", redeployed.1);
    let after = text(&b.get("/dashboard/functions?integration=acme-fn").await);
    assert!(after.contains("<code>1.0.1</code>"), "the bumped version is shown:\n{after}");

    // Nothing deployed in the other environment.
    let mut prod = Browser::new(&s.base_url);
    prod.sign_in(&s.prod_key).await;
    assert!(text(&prod.get("/dashboard/functions").await).contains("No function is deployed"));
}
