//! Nango's own catalog format, one provider per feature (written here in Nango's
//! providers.yaml format, not copied from it): aliases of providers declared later and of
//! unsupported auth modes, `connection_config` in the base URL, a header and the query,
//! `base64` of credentials, a verification request built from `connection_config`, a
//! per-request signature, and an unsupported auth mode. For each: the integration, an
//! imported connection, a proxied call to a local upstream, and exactly what arrived.

use hmac::{KeyInit as _, Mac as _};
use nango_tests::{TestServer, upstream::Upstream};
use reqwest::Method;
use serde_json::{Value, json};

use crate::assert_error;

const ALLOW_LOCAL: (&str, &str) = ("NANGO_OUTBOUND_URL_POLICY", "{\"blockPrivateIps\":false}");

fn catalog(port: u16) -> String {
    format!(
        r#"# Aliases first: Nango's file aliases providers declared after them.
acme-sandbox:
  alias: acme-oauth
  display_name: Acme (sandbox)
tenant-alias:
  alias: tenant-key
  display_name: Tenant Key (alias)
acme-oauth:
  display_name: Acme
  categories: [other]
  auth_mode: OAUTH2
  authorization_url: https://acme.test/oauth/authorize
  token_url: https://acme.test/oauth/token
  proxy:
    base_url: https://api.acme.test
tenant-key:
  display_name: Tenant Key
  categories: [other]
  auth_mode: API_KEY
  a_key_we_do_not_know: {{kept: true}}
  proxy:
    base_url: http://127.0.0.1:{port}/t/${{connectionConfig.tenant}}
    headers:
      x-api-key: ${{apiKey}}
      x-region: ${{connectionConfig.region}}
      x-team: team-${{connectionConfig.team}}
    query:
      account: ${{connectionConfig.account}}
  connection_config:
    tenant:
      type: string
      title: Tenant
      pattern: ^[a-z0-9-]+$
      order: 1
    region:
      type: string
      title: Region
      enum: [eu, us]
      default_value: eu
    account:
      type: string
      title: Account
    team:
      type: string
      title: Team
      optional: true
basic-token:
  display_name: Basic token
  categories: [other]
  auth_mode: BASIC
  proxy:
    base_url: http://127.0.0.1:{port}
    headers:
      authorization: Basic ${{base64(${{credentials.username}}/token:${{credentials.password}})}}
verified-tenant:
  display_name: Verified tenant
  categories: [other]
  auth_mode: API_KEY
  proxy:
    base_url: http://127.0.0.1:{port}
    headers:
      authorization: Bearer ${{apiKey}}
    verification:
      method: GET
      base_url_override: http://${{connectionConfig.host}}:{port}
      endpoints:
        - /status/${{connectionConfig.expect}}
  connection_config:
    host:
      type: string
      title: Host
      format: hostname
    expect:
      type: string
      title: Expected status
      default_value: "200"
retrying:
  display_name: Rate-limited with its own headers
  categories: [other]
  auth_mode: API_KEY
  proxy:
    base_url: http://127.0.0.1:{port}
    retry:
      at:
        - x-ratelimit-reset
      error_code: ['418']
body-key:
  display_name: Key in the body
  categories: [other]
  auth_mode: API_KEY
  proxy:
    base_url: http://127.0.0.1:{port}
    body:
      api_key: ${{apiKey}}
      auth:
        account: ${{connectionConfig.account}}
        missing: ${{connectionConfig.nothing}}
    verification:
      method: POST
      endpoints:
        - /require-body/auth.account=a-1
      data:
        company_domain: example.com
  connection_config:
    account:
      type: string
      title: Account
    nothing:
      type: string
      title: Declared, optional, never given
      optional: true
metadata-header:
  display_name: Uses connection metadata
  categories: [other]
  auth_mode: API_KEY
  proxy:
    base_url: https://api.example.test
    headers:
      x-account: ${{metadata.account}}
duo-like:
  display_name: Duo-like signatures
  categories: [other]
  auth_mode: BASIC
  proxy:
    base_url: http://127.0.0.1:{port}
    headers:
      date: '${{now:ddd, DD MMM YYYY HH:mm:ss ZZ}}'
      authorization: "Basic ${{base64(${{credentials.username}}:${{hmacSha1Hex(${{now:ddd, DD MMM YYYY HH:mm:ss ZZ}}\n${{method}}\n${{host}}\n${{path}}\n${{params}}, ${{credentials.password}})}})}}"
"#
    )
}

async fn start(up: &Upstream) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("providers.yaml");
    let port = url::Url::parse(&up.base_url).unwrap().port().unwrap();
    std::fs::write(&path, catalog(port)).unwrap();
    let s = TestServer::start_with(&[("NANGO_PROVIDERS_FILE", path.to_str().unwrap()), ALLOW_LOCAL]).await;
    (s, dir)
}

async fn integration(s: &TestServer, provider: &str, key: &str) -> (u16, Value) {
    TestServer::send(s.req(Method::POST, "/integrations").json(&json!({"provider": provider, "unique_key": key}))).await
}

async fn proxied(s: &TestServer, key: &str, connection: &str, method: Method, path: &str, body: Option<&str>) -> Value {
    let mut req =
        s.req(method, &format!("/proxy{path}")).header("Connection-Id", connection).header("Provider-Config-Key", key);
    if let Some(body) = body {
        req = req.header("content-type", "application/x-www-form-urlencoded").body(body.to_owned());
    }
    let (status, json) = TestServer::send(req).await;
    assert_eq!(status, 200, "{json}");
    json
}

#[tokio::test]
async fn aliases_and_unsupported_auth_modes_are_listed_but_not_connectable() {
    let up = Upstream::start().await;
    let (s, _dir) = start(&up).await;
    let (status, alias) = TestServer::send(s.req(Method::GET, "/providers/acme-sandbox")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&alias["data"]["display_name"], &alias["data"]["auth_mode"], &alias["data"]["token_url"]),
        (&json!("Acme (sandbox)"), &json!("OAUTH2"), &json!("https://acme.test/oauth/token"))
    );
    assert!(alias["data"].get("alias").is_none(), "the alias is resolved, as Nango resolves it");
    let tenant = TestServer::send(s.req(Method::GET, "/providers/tenant-alias")).await.1;
    assert_eq!(
        (&tenant["data"]["auth_mode"], &tenant["data"]["a_key_we_do_not_know"]),
        (&json!("API_KEY"), &json!({"kept": true}))
    );
    for provider in ["acme-oauth", "acme-sandbox"] {
        let refused = integration(&s, provider, provider).await;
        assert_error(&refused, 400, "unsupported_auth_mode");
        let message = refused.1["error"]["message"].as_str().unwrap();
        assert!(message.contains("OAUTH2") && message.contains(provider), "{message}");
    }
    // An alias of an API_KEY provider declared after it works like its target.
    assert_eq!(integration(&s, "tenant-alias", "t").await.0, 200);
}

#[tokio::test]
async fn connection_config_reaches_the_base_url_headers_and_query() {
    let up = Upstream::start().await;
    let (s, _dir) = start(&up).await;
    assert_eq!(integration(&s, "tenant-key", "tk").await.0, 200);
    let import = |config: Value| json!({"provider_config_key": "tk", "connection_id": "c1", "credentials": {"type": "API_KEY", "apiKey": "k-1"}, "connection_config": config});
    // Refused at creation: what the schema and the templates need.
    let (status, err) = TestServer::send(
        s.req(Method::POST, "/connections").json(&import(json!({"tenant": "Not Valid", "region": "mars"}))),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    let issues: Vec<(String, String)> = err["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["path"][1].as_str().unwrap().to_owned(), i["message"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        issues,
        [
            ("tenant".to_owned(), "Incorrect Tenant".to_owned()),
            ("region".to_owned(), r#"Invalid option: expected one of "eu"|"us""#.to_owned()),
            ("account".to_owned(), "This field is required".to_owned()),
        ]
    );
    assert_eq!(err["error"]["code"], "invalid_body");

    let (status, created) = TestServer::send(
        s.req(Method::POST, "/connections").json(&import(json!({"tenant": "acme", "account": "a 1&b"}))),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert!(created["last_fetched_at"].is_string(), "a timestamp, as in Nango: {created}");
    let got = TestServer::send(s.req(Method::GET, "/connections/c1?provider_config_key=tk")).await.1;
    assert_eq!(
        got["connection_config"],
        json!({"tenant": "acme", "account": "a 1&b", "region": "eu"}),
        "defaults applied"
    );

    let echo = proxied(&s, "tk", "c1", Method::GET, "/items?x=1", None).await;
    assert_eq!(echo["path"], "/t/acme/items?x=1&account=a+1%26b");
    assert_eq!(echo["headers"]["x-api-key"], "k-1");
    assert_eq!(echo["headers"]["x-region"], "eu");
    assert!(
        echo["headers"].get("x-team").is_none(),
        "a header naming a missing optional value is left out, as in Nango"
    );
}

#[tokio::test]
async fn credentials_are_base64_encoded_as_the_template_says() {
    let up = Upstream::start().await;
    let (s, _dir) = start(&up).await;
    assert_eq!(integration(&s, "basic-token", "bt").await.0, 200);
    let import = json!({"provider_config_key": "bt", "connection_id": "c", "credentials": {"type": "BASIC", "username": "ann@acme.test", "password": "p:w"}});
    assert_eq!(TestServer::send(s.req(Method::POST, "/connections").json(&import)).await.0, 201);
    use base64::Engine as _;
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ann@acme.test/token:p:w"));
    assert_eq!(proxied(&s, "bt", "c", Method::GET, "/me", None).await["headers"]["authorization"], expected.as_str());
}

#[tokio::test]
async fn verification_requests_are_built_from_connection_config() {
    let up = Upstream::start().await;
    let (s, _dir) = start(&up).await;
    assert_eq!(integration(&s, "verified-tenant", "vt").await.0, 200);
    let import = |config: Value| json!({"provider_config_key": "vt", "connection_id": "c", "credentials": {"type": "API_KEY", "apiKey": "k"}, "connection_config": config});
    let refused = TestServer::send(
        s.req(Method::POST, "/connections").json(&import(json!({"host": "127.0.0.1", "expect": "401"}))),
    )
    .await;
    assert_error(&refused, 400, "connection_test_failed");
    let bad_host = TestServer::send(s.req(Method::POST, "/connections").json(&import(json!({"host": "a/b"})))).await;
    assert_eq!(bad_host.1["error"]["errors"][0]["message"], "Invalid hostname", "{}", bad_host.1);
    // The host comes from connection_config too: nothing listens on 127.0.0.2.
    let elsewhere =
        TestServer::send(s.req(Method::POST, "/connections").json(&import(json!({"host": "127.0.0.2"})))).await;
    assert_error(&elsewhere, 400, "connection_test_failed");
    // The default (200) makes the check pass.
    let accepted =
        TestServer::send(s.req(Method::POST, "/connections").json(&import(json!({"host": "127.0.0.1"})))).await;
    assert_eq!(accepted.0, 201, "{}", accepted.1);
}

#[tokio::test]
async fn per_request_signatures_cover_the_method_path_and_parameters() {
    let up = Upstream::start().await;
    let (s, _dir) = start(&up).await;
    assert_eq!(integration(&s, "duo-like", "duo").await.0, 200);
    let (ikey, skey) = ("DIWJ8X6AEYOR5OMC6TQ1", "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep");
    let import = json!({"provider_config_key": "duo", "connection_id": "c", "credentials": {"type": "BASIC", "username": ikey, "password": skey}});
    assert_eq!(TestServer::send(s.req(Method::POST, "/connections").json(&import)).await.0, 201);
    let host = url::Url::parse(&up.base_url).unwrap();
    let host = format!("{}:{}", host.host_str().unwrap(), host.port().unwrap());
    let check = |echo: &Value, canonical: &str| {
        let date = echo["headers"]["date"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc2822(date).is_ok(), "{date}");
        let method = echo["method"].as_str().unwrap();
        let path = echo["path"].as_str().unwrap().split('?').next().unwrap();
        let message = format!("{date}\n{method}\n{host}\n{path}\n{canonical}");
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(skey.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        use base64::Engine as _;
        let expected =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{ikey}:{signature}")));
        assert_eq!(echo["headers"]["authorization"], expected.as_str(), "{message}");
    };
    let echo = proxied(&s, "duo", "c", Method::GET, "/admin/v1/users?limit=10&account_id=D%201", None).await;
    check(&echo, "account_id=D%201&limit=10");
    // A form body is signed too (and still arrives whole).
    let echo = proxied(&s, "duo", "c", Method::POST, "/admin/v1/users", Some("username=ann&email=a%40b.c")).await;
    assert_eq!(echo["body"], "username=ann&email=a%40b.c");
    check(&echo, "email=a%40b.c&username=ann");
}

#[tokio::test]
async fn body_fields_are_merged_into_request_bodies() {
    let up = Upstream::start().await;
    let (s, _dir) = start(&up).await;
    assert_eq!(integration(&s, "body-key", "bk").await.0, 200);
    let import = |account: &str| json!({"provider_config_key": "bk", "connection_id": "c", "credentials": {"type": "API_KEY", "apiKey": "k-9"}, "connection_config": {"account": account}});
    // The verification request carries its data with the fields merged in: a wrong account fails it.
    let refused = TestServer::send(s.req(Method::POST, "/connections").json(&import("wrong"))).await;
    assert_error(&refused, 400, "connection_test_failed");
    let created = TestServer::send(s.req(Method::POST, "/connections").json(&import("a-1"))).await;
    assert_eq!(created.0, 201, "{}", created.1);

    let send = |method: Method, content_type: Option<&str>, body: &str| {
        let mut req = s.req(method, "/proxy/things").header("Connection-Id", "c").header("Provider-Config-Key", "bk");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        TestServer::send(req.body(body.to_owned()))
    };
    let (status, echo) = send(Method::POST, Some("application/json"), r#"{"q":1,"api_key":"theirs"}"#).await;
    assert_eq!(status, 200, "{echo}");
    let sent: Value = serde_json::from_str(echo["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, json!({"q": 1, "api_key": "k-9", "auth": {"account": "a-1"}}), "a missing value drops its field");
    let length: usize = echo["headers"]["content-length"].as_str().unwrap().parse().unwrap();
    assert_eq!(length, echo["body"].as_str().unwrap().len(), "the length is the merged body's");
    let (_, echo) = send(Method::PUT, Some("application/x-www-form-urlencoded"), "q=1").await;
    assert_eq!(echo["body"], "q=1&api_key=k-9&auth%5Baccount%5D=a-1");
    let (_, echo) = send(Method::DELETE, None, "").await;
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(serde_json::from_str::<Value>(echo["body"].as_str().unwrap()).unwrap()["api_key"], "k-9");
    let (_, echo) = send(Method::GET, None, "").await;
    assert_eq!(echo["body"], "", "GET requests carry no injected body");
}

#[tokio::test]
async fn the_providers_retry_rules_choose_what_is_retried_and_how_long_to_wait() {
    let up = Upstream::start().await;
    let (s, _dir) = start(&up).await;
    for (provider, key) in [("retrying", "r"), ("basic-token", "plain")] {
        assert_eq!(integration(&s, provider, key).await.0, 200);
    }
    let import =
        json!({"provider_config_key": "r", "connection_id": "c", "credentials": {"type": "API_KEY", "apiKey": "k"}});
    assert_eq!(TestServer::send(s.req(Method::POST, "/connections").json(&import)).await.0, 201);
    let import = json!({"provider_config_key": "plain", "connection_id": "c", "credentials": {"type": "BASIC", "username": "u", "password": "p"}});
    assert_eq!(TestServer::send(s.req(Method::POST, "/connections").json(&import)).await.0, 201);
    let call = |key: &str, path: &str| {
        s.req(Method::GET, &format!("/proxy{path}"))
            .header("Connection-Id", "c")
            .header("Provider-Config-Key", key)
            .header("Retries", "1")
            .send()
    };
    // 418 is retryable for this provider, after the wait its reset header names (2 s ahead).
    let started = std::time::Instant::now();
    let answer = call("r", "/flaky/teapot-reset/1").await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "ok after 2 calls");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900), "waited {:?}", started.elapsed());
    // Without the rule, a 418 is the answer.
    let answer = call("plain", "/flaky/teapot-reset/3").await.unwrap();
    assert_eq!(answer.status(), 418);
    assert_eq!(up.flaky_calls.load(std::sync::atomic::Ordering::SeqCst), 3, "not retried");
}

#[test]
fn the_report_says_which_providers_are_fully_supported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("providers.yaml");
    std::fs::write(&path, catalog(8080)).unwrap();
    let catalog = nango_server::service::provider::Catalog::load(Some(&path)).unwrap();
    let report = nango_server::service::provider::report(&catalog, false);
    let line = |name: &str| report.lines().find(|l| l.split_whitespace().next() == Some(name)).map(str::to_owned);
    assert!(line("duo-like").unwrap().contains("supported"), "{report}");
    let metadata = line("metadata-header").unwrap();
    assert!(metadata.contains("templates") && metadata.contains("${metadata.account} in proxy.headers"), "{metadata}");
    assert_eq!(line("acme-oauth"), None, "other auth modes only with --all");
    assert!(nango_server::service::provider::report(&catalog, true).contains("OAUTH2 is not implemented"));
    // The built-in three and the nine API_KEY/BASIC providers written above.
    assert!(report.contains("API_KEY and BASIC: 11, fully supported: 10"), "{report}");
    assert!(report.contains("helper hmacSha1Hex: 1 provider(s): duo-like"), "{report}");
}
