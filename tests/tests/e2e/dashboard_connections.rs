//! The dashboard's connection pages, driven like a browser without JavaScript (signed in with
//! the secret key, forms posted with the session's CSRF token, redirects not followed). What the
//! pages change is checked through the API.

use std::time::{Duration, Instant};

use nango_tests::{
    TestServer,
    browser::{Browser, Page},
    upstream::Upstream,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    SEED_BODY,
    functions::{recorded_body, setup as functions_setup},
};

const ALLOW_LOCAL: (&str, &str) = ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}");
const KEY: &str = "sk_live_dashboard_0123456789abcdef";
const WAIT: Duration = Duration::from_secs(30);

/// A browser signed in to the dev environment, and a page of the session (for its CSRF
/// token).
async fn signed_in(s: &TestServer) -> (Browser, Page) {
    let mut b = Browser::new(&s.base_url);
    b.sign_in(&s.dev_key).await;
    let page = b.get("/dashboard/connections").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    (b, page)
}

/// The dashboard's percent-encoding of a path segment or query value (all but RFC 3986's
/// unreserved characters).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The `value` of the first input whose tag contains `marker`.
fn input_value(html: &str, marker: &str) -> String {
    let at = html.find(marker).unwrap_or_else(|| panic!("no {marker} in {html}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
    let value = tag.split_once("value=\"").unwrap_or_else(|| panic!("no value in {tag}")).1;
    unescape(&value[..value.find('"').unwrap()])
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The link of connection `key`/`id` as the list renders it.
/// The `href` of the link whose text ends with `text` (its first occurrence).
fn href_of<'a>(html: &'a str, text: &str) -> &'a str {
    let before = &html[..html.find(text).unwrap_or_else(|| panic!("no {text:?} in {html}"))];
    let start = before.rfind("href=\"").expect("a link") + "href=\"".len();
    &before[start..start + before[start..].find('"').expect("a closing quote")]
}

fn row(key: &str, id: &str) -> String {
    format!("href=\"/dashboard/connections/{}/{}\"", enc(key), enc(id))
}

async fn import(s: &TestServer, body: Value) {
    let (status, got) = TestServer::send(s.req(Method::POST, "/connections").json(&body)).await;
    assert_eq!(status, 201, "{got}");
}

async fn seed(s: &TestServer) {
    let r = TestServer::send(
        s.req(Method::POST, "/integrations").header("content-type", "application/json").body(SEED_BODY),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
}

/// A proxied call through `acme`; answers its request id.
async fn proxied(s: &TestServer, connection: &str, path: &str) -> String {
    let resp = s
        .req(Method::GET, &format!("/proxy{path}"))
        .header("Connection-Id", connection)
        .header("Provider-Config-Key", "acme")
        .send()
        .await
        .unwrap();
    resp.headers()["x-nango-request-id"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_list_shows_each_connections_status_and_filters_by_integration_end_user_search_and_auth_error() {
    let up = Upstream::start().await;
    let s = TestServer::start_with(&[ALLOW_LOCAL]).await;
    let created = TestServer::send(s.req(Method::POST, "/integrations").json(&json!({
        "provider": "private-api-generic", "unique_key": "acme",
        "integration_config": {"baseUrl": up.base_url, "keyPlacement": "query", "keyName": "api_key"}
    })))
    .await;
    assert_eq!(created.0, 200, "{}", created.1);
    seed(&s).await;
    import(
        &s,
        json!({"provider_config_key": "acme", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": KEY},
        "end_user": {"id": "u-ada", "display_name": "Ada Lovelace", "email": "ada@example.com"}}),
    )
    .await;
    import(&s, json!({"provider_config_key": "acme", "connection_id": "c2", "credentials": {"type": "API_KEY", "apiKey": KEY}}))
        .await;
    import(&s, json!({"provider_config_key": "acme-internal", "connection_id": "c3", "credentials": {"type": "API_KEY", "apiKey": KEY}}))
        .await;
    let success = proxied(&s, "c1", "/fine").await;
    let refused = proxied(&s, "c2", "/status/401").await;

    let (mut b, _) = signed_in(&s).await;
    // Call outcomes are written just after the response: wait for both to show.
    let deadline = Instant::now() + WAIT;
    let all = loop {
        let page = b.get("/dashboard/connections").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        // Last calls and the auth error link with their time (`?at=`: the detail page then
        // reads only the rows near it).
        if page.html.contains(&format!("/dashboard/logs/{}?at=", enc(&success)))
            && page.html.contains(&format!("/dashboard/logs/{}?at=", enc(&refused)))
            && page.html.contains("Auth error</a>")
        {
            let href = href_of(&page.html, "Auth error</a>");
            assert!(href.starts_with(&format!("/dashboard/logs/{}?at=", enc(&refused))), "{href}");
            assert!(!page.html.contains(&format!("/dashboard/logs/{}\"", enc(&refused))), "every link has its time");
            break page.html;
        }
        assert!(Instant::now() < deadline, "the outcomes never showed: {}", page.html);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for (key, id) in [("acme", "c1"), ("acme", "c2"), ("acme-internal", "c3")] {
        assert!(all.contains(&row(key, id)), "{id} is listed");
    }
    assert!(all.contains("Ada Lovelace"), "the end user is shown");
    assert_eq!(all.matches("Auth error</a>").count(), 1, "only c2's key is refused");
    let c2 = b.get(&format!("/dashboard/connections/{}/c2", enc("acme"))).await;
    assert!(c2.html.contains("The upstream refuses the credential"), "{}", c2.html);
    let href = href_of(&c2.html, "the call that saw it</a>");
    assert!(href.starts_with(&format!("/dashboard/logs/{}?at=", enc(&refused))), "{href}");
    assert!(!all.contains(KEY), "no credential in the list");

    let listed = |html: &str| {
        [("acme", "c1"), ("acme", "c2"), ("acme-internal", "c3")]
            .into_iter()
            .filter(|(k, i)| html.contains(&row(k, i)))
            .map(|(_, i)| i)
            .collect::<Vec<_>>()
    };
    for (query, expected) in [
        ("integration=acme-internal", vec!["c3"]),
        ("integration=acme", vec!["c1", "c2"]),
        ("search=lovelace", vec!["c1"]),
        ("search=C2", vec!["c2"]),
        ("end_user=u-ada", vec!["c1"]),
        ("auth_error=yes", vec!["c2"]),
        ("auth_error=no&integration=acme", vec!["c1"]),
        ("search=nobody", vec![]),
    ] {
        let page = b.get(&format!("/dashboard/connections?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.html);
        assert_eq!(listed(&page.html), expected, "{query}");
    }
    let filtered = b.get("/dashboard/connections?integration=acme-internal").await;
    assert!(filtered.html.contains("<option value=\"acme-internal\" selected>"), "the filter stays chosen");
    assert!(b.get("/dashboard/connections?search=nobody").await.html.contains("No connection matches"));

    // The API's validation, shown on the form.
    let bad = b.get("/dashboard/connections?page=-1").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.html.contains("Too small"), "{}", bad.html);
    s.stop().await;
}

#[tokio::test]
async fn the_list_pages_through_many_connections() {
    let s = TestServer::start().await;
    seed(&s).await;
    for i in 0..53 {
        import(
            &s,
            json!({"provider_config_key": "acme-internal", "connection_id": format!("bulk-{i:02}"),
            "credentials": {"type": "API_KEY", "apiKey": KEY}}),
        )
        .await;
    }
    let (mut b, _) = signed_in(&s).await;
    let count =
        |html: &str| html.matches(&format!("href=\"/dashboard/connections/{}/bulk", enc("acme-internal"))).count();
    let first = b.get("/dashboard/connections?integration=acme-internal").await;
    assert_eq!(count(&first.html), 50);
    assert!(first.html.contains("rel=\"next\""));
    assert!(!first.html.contains("rel=\"prev\""));
    assert!(first.html.contains(&row("acme-internal", "bulk-52")), "newest first");
    let next = input_href(&first.html, "rel=\"next\"");
    assert_eq!(next, "/dashboard/connections?integration=acme-internal&page=1", "the filter is kept");
    let second = b.get(&next).await;
    assert_eq!(count(&second.html), 3);
    assert!(second.html.contains(&row("acme-internal", "bulk-00")));
    assert!(second.html.contains("rel=\"prev\"") && !second.html.contains("rel=\"next\""));
    s.stop().await;
}

/// The `href` of the first link whose tag contains `marker`.
fn input_href(html: &str, marker: &str) -> String {
    let at = html.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
    let href = tag.split_once("href=\"").unwrap().1;
    unescape(&href[..href.find('"').unwrap()])
}

async fn metadata_of(s: &TestServer, id: &str) -> Value {
    let (status, got) =
        TestServer::send(s.req(Method::GET, &format!("/connections/{id}?provider_config_key=acme-internal"))).await;
    assert_eq!(status, 200, "{got}");
    got["metadata"].clone()
}

#[tokio::test]
async fn a_connections_page_masks_credentials_and_edits_metadata() {
    let s = TestServer::start().await;
    seed(&s).await;
    import(
        &s,
        json!({"provider_config_key": "acme-internal", "connection_id": "c1",
        "credentials": {"type": "API_KEY", "apiKey": KEY}, "metadata": {"plan": "pro"},
        "end_user": {"id": "u-ada", "display_name": "Ada Lovelace", "email": "ada@example.com"},
        "tags": {"team": "growth"}}),
    )
    .await;
    let (mut b, session) = signed_in(&s).await;
    let path = &format!("/dashboard/connections/{}/c1", enc("acme-internal"));
    let page = b.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let html = &page.html;
    assert!(!html.contains(KEY) && !html.contains("sk_live_dashboard"), "the key is never shown in clear");
    assert!(html.contains("••••••••cdef"), "the key is masked: {html}");
    assert!(html.contains("API_KEY"));
    // Basic auth: the username and the password are masked too.
    let basic = json!({"provider": "private-api-basic", "unique_key": "basic-api"});
    assert_eq!(TestServer::send(s.req(Method::POST, "/integrations").json(&basic)).await.0, 200);
    import(
        &s,
        json!({"provider_config_key": "basic-api", "connection_id": "b1",
        "credentials": {"type": "BASIC", "username": "ann@acme.test", "password": "hunter2-correct-horse"}}),
    )
    .await;
    let basic = b.get(&format!("/dashboard/connections/{}/b1", enc("basic-api"))).await;
    assert_eq!(basic.status, StatusCode::OK, "{}", basic.html);
    assert!(basic.html.contains("BASIC") && basic.html.contains("••••••••orse"), "{}", basic.html);
    assert!(!basic.html.contains("hunter2") && !basic.html.contains("ann@acme"), "{}", basic.html);
    for shown in
        ["Ada Lovelace", "u-ada", "ada@example.com", "growth", "end_user_id", "&quot;plan&quot;: &quot;pro&quot;"]
    {
        assert!(html.contains(shown), "{shown} is on the page");
    }
    assert!(html.contains("No sync is deployed"), "no function deployed");

    // Bad JSON: the message next to the field, the text kept, nothing saved.
    let broken = "{\"plan\": \"enterprise\",";
    let refused = b.submit(&session, &format!("{path}/metadata"), &[("metadata", broken)]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.html.contains("This is not valid JSON"), "{}", refused.html);
    assert!(refused.html.contains("aria-invalid=\"true\""));
    assert!(refused.html.contains("{&quot;plan&quot;: &quot;enterprise&quot;,</textarea>"), "the text is kept");
    let array = b.submit(&session, &format!("{path}/metadata"), &[("metadata", "[1, 2]")]).await;
    assert_eq!(array.status, StatusCode::BAD_REQUEST);
    assert!(array.html.contains("Metadata must be a JSON object"), "{}", array.html);
    assert!(array.html.contains("[1, 2]</textarea>"));
    assert_eq!(metadata_of(&s, "c1").await, json!({"plan": "pro"}));

    // Without the form's token: refused.
    let forged = b.post(&format!("{path}/metadata"), &[("metadata", "{}")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Good JSON replaces the metadata, as `POST /connections/metadata` does.
    let saved = b
        .submit(&session, &format!("{path}/metadata"), &[("metadata", "{\"seats\": 12, \"nested\": {\"a\": [1]}}")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let to = saved.location.unwrap();
    assert_eq!(to, format!("{path}?done=metadata#metadata"));
    assert_eq!(metadata_of(&s, "c1").await, json!({"seats": 12, "nested": {"a": [1]}}));
    let after = b.get(to.split('#').next().unwrap()).await;
    assert!(after.html.contains("The metadata was saved."));
    assert!(after.html.contains("&quot;seats&quot;: 12"));

    let missing = b.get("/dashboard/connections/acme-internal/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.html.contains("There is no connection"));
    s.stop().await;
}

#[tokio::test]
async fn deleting_a_connection_takes_a_confirmation() {
    let s = TestServer::start().await;
    seed(&s).await;
    // An id with a slash and a space still has its own page.
    let id = "team/ada 1";
    import(&s, json!({"provider_config_key": "acme-internal", "connection_id": id, "credentials": {"type": "API_KEY", "apiKey": KEY}}))
        .await;
    let exists = |s: &TestServer| {
        let req = s.req(Method::GET, &format!("/connections?connectionId={}", enc(id)));
        async move { TestServer::send(req).await.1["connections"].as_array().map_or(0, Vec::len) }
    };
    let (mut b, session) = signed_in(&s).await;
    let path = format!("/dashboard/connections/{}/{}", enc("acme-internal"), enc(id));
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains(&format!("href=\"{path}/delete\"")));

    let confirm = b.get(&format!("{path}/delete")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.html.contains("type=\"checkbox\" name=\"confirm\" value=\"yes\" required"), "{}", confirm.html);
    assert!(confirm.html.contains("data-confirm"));

    // Unticked: nothing deleted, the page says why.
    let unticked = b.submit(&session, &format!("{path}/delete"), &[]).await;
    assert_eq!(unticked.status, StatusCode::BAD_REQUEST);
    assert!(unticked.html.contains("Tick the box"));
    assert_eq!(exists(&s).await, 1);
    let forged = b.post(&format!("{path}/delete"), &[("confirm", "yes")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(exists(&s).await, 1);

    let deleted = b.submit(&session, &format!("{path}/delete"), &[("confirm", "yes")]).await;
    assert_eq!(
        (deleted.status, deleted.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/dashboard/connections?deleted=1"))
    );
    assert_eq!(exists(&s).await, 0);
    let list = b.get("/dashboard/connections?deleted=1").await;
    assert!(list.html.contains("The connection was deleted."));
    assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test]
async fn a_connect_link_is_created_for_an_end_user_and_opens_its_session() {
    let s = TestServer::start().await;
    seed(&s).await;
    let (mut b, _) = signed_in(&s).await;
    let form = b.get("/dashboard/connections/connect-link?integration=acme-internal").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.html.contains("value=\"acme-internal\" checked"), "the integration is preselected");

    // The API's validation, next to the fields.
    let bad = b
        .submit(
            &form,
            "/dashboard/connections/connect-link",
            &[("end_user.id", "u-42"), ("end_user.email", "not-an-email"), ("integration", "acme-internal")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.html.contains("Invalid email address"), "{}", bad.html);
    assert!(bad.html.contains("value=\"not-an-email\""), "the values are kept");
    let unknown = b
        .submit(&form, "/dashboard/connections/connect-link", &[("end_user.id", "u-42"), ("integration", "nope")])
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.html.contains("Integration does not exist"), "{}", unknown.html);
    let forged = b.post("/dashboard/connections/connect-link", &[("end_user.id", "u-42")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let created = b
        .submit(
            &form,
            "/dashboard/connections/connect-link",
            &[
                ("end_user.id", "u-42"),
                ("end_user.email", "jane@acme.com"),
                ("end_user.display_name", "Jane"),
                ("organization.id", "org-1"),
                ("integration", "acme-internal"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.html);
    assert!(created.html.contains("data-copy=\"connect-link\" hidden"), "a copy button, hidden without script");
    let link = input_value(&created.html, "id=\"connect-link\"");
    let token = link.split_once("?session_token=").unwrap_or_else(|| panic!("a Connect link: {link}")).1;
    assert!(token.starts_with("nango_connect_session_"), "{link}");
    let (status, connect) =
        TestServer::send(s.http.request(Method::GET, s.url("/connect/session")).bearer_auth(token)).await;
    assert_eq!(status, 200, "{connect}");
    assert_eq!(connect["data"]["endUser"]["id"], "u-42");
    assert_eq!(connect["data"]["endUser"]["email"], "jane@acme.com");
    assert_eq!(connect["data"]["endUser"]["organization"]["id"], "org-1");
    assert_eq!(connect["data"]["allowed_integrations"], json!(["acme-internal"]));
    s.stop().await;
}

async fn sync_status(s: &TestServer, sync: &str) -> Value {
    let path = format!("/sync/status?syncs={sync}&provider_config_key=acme-fn&connection_id=c1");
    let (code, body) = TestServer::send(s.req(Method::GET, &path)).await;
    assert_eq!(code, 200, "{body}");
    body["syncs"][0].clone()
}

#[tokio::test]
async fn a_connections_syncs_show_their_status_and_are_triggered_paused_and_started() {
    let upstream = Upstream::start().await;
    let s = TestServer::start_with(&[ALLOW_LOCAL]).await;
    functions_setup(&s, &upstream).await;
    let deployed = TestServer::send(s.req(Method::POST, "/sync/deploy").json(&recorded_body())).await;
    assert_eq!(deployed.0, 200, "{}", deployed.1);
    let (mut b, session) = signed_in(&s).await;
    let path = &format!("/dashboard/connections/{}/c1", enc("acme-fn"));
    let syncs = format!("{path}/syncs");
    let page = b.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    for name in ["items", "contacts", "checked", "broken"] {
        assert!(page.html.contains(&format!("<th scope=\"row\">{name}</th>")), "{name} is listed");
    }
    assert!(page.html.contains(&format!(
        "href=\"/dashboard/records?integration={}&amp;connection=c1&amp;model=Item\"",
        enc("acme-fn")
    )));

    let paused = b.submit(&session, &syncs, &[("sync", "items"), ("action", "pause")]).await;
    assert_eq!(
        (paused.status, paused.location.as_deref()),
        (StatusCode::SEE_OTHER, Some(&*format!("{path}?done=paused&sync=items#syncs")))
    );
    assert_eq!(sync_status(&s, "items").await["status"], "PAUSED");
    let shown = b.get(&format!("{path}?done=paused&sync=items")).await;
    assert!(shown.html.contains("Sync items was paused"));
    assert!(
        shown.html.contains("value=\"start\">Start<span class=\"visually-hidden\"> items</span>"),
        "{}",
        shown.html
    );

    let started = b.submit(&session, &syncs, &[("sync", "items"), ("action", "start")]).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    assert_ne!(sync_status(&s, "items").await["status"], "PAUSED");

    let before = sync_status(&s, "items").await["finishedAt"].clone();
    let triggered = b.submit(&session, &syncs, &[("sync", "items"), ("action", "trigger")]).await;
    assert_eq!(triggered.status, StatusCode::SEE_OTHER);
    let deadline = Instant::now() + WAIT;
    loop {
        let st = sync_status(&s, "items").await;
        if st["status"] != "RUNNING" && st["finishedAt"].is_string() && st["finishedAt"] != before {
            break;
        }
        assert!(Instant::now() < deadline, "the triggered run never finished: {st}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ran = b.get(path).await;
    assert!(ran.html.contains("INITIAL") || ran.html.contains("INCREMENTAL"), "the last run is shown");

    // What cannot be done says why, on the connection's page.
    let missing = b.submit(&session, &syncs, &[("sync", "nope"), ("action", "trigger")]).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.html.contains("There is no sync named “nope”"), "{}", missing.html);
    let odd = b.submit(&session, &syncs, &[("sync", "items"), ("action", "explode")]).await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST);
    assert!(odd.html.contains("Choose to trigger, pause or start"));
    let forged = b.post(&syncs, &[("sync", "items"), ("action", "pause")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_ne!(sync_status(&s, "items").await["status"], "PAUSED");
    s.stop().await;
}

#[tokio::test]
async fn metadata_edits_keep_the_apis_metadata_limit() {
    let s = TestServer::start_with(&[("NANGO_METADATA_BODY_LIMIT", "2kb")]).await;
    seed(&s).await;
    import(
        &s,
        json!({"provider_config_key": "acme-internal", "connection_id": "c1",
        "credentials": {"type": "API_KEY", "apiKey": KEY}, "metadata": {"plan": "pro"}}),
    )
    .await;
    let (mut b, session) = signed_in(&s).await;
    let path = format!("/dashboard/connections/{}/c1/metadata", enc("acme-internal"));
    let big = format!("{{\"notes\": \"{}\"}}", "x".repeat(3000));
    let refused = b.submit(&session, &path, &[("metadata", &big)]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.html.contains("at most 2048 bytes (NANGO_METADATA_BODY_LIMIT)"), "{}", refused.html);
    assert_eq!(metadata_of(&s, "c1").await, json!({"plan": "pro"}), "nothing saved");
    let small = b.submit(&session, &path, &[("metadata", "{\"plan\": \"team\"}")]).await;
    assert_eq!(small.status, StatusCode::SEE_OTHER, "{}", small.html);
    assert_eq!(metadata_of(&s, "c1").await, json!({"plan": "team"}));
}
