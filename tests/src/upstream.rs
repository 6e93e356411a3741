//! A local upstream API for proxy tests, on 127.0.0.1:0: echoes requests, answers chosen
//! statuses, fails a given number of times, is slow, streams large bodies, redirects, checks a
//! key (`/auth-check`).

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU32, AtomicU64, Ordering},
};

use futures_util::StreamExt;
use poem::{
    Body, EndpointExt, Request, Response, Route, Server, handler,
    http::StatusCode,
    listener::TcpAcceptor,
    web::{Data, Path},
};

/// A running upstream; stops on drop.
pub struct Upstream {
    pub base_url: String,
    /// Requests received by `/flaky`.
    pub flaky_calls: Arc<AtomicU32>,
    /// Bytes received by `/upload`.
    pub uploaded: Arc<AtomicU64>,
    /// Requests answered by the echo (every path without its own route).
    echoed: Arc<AtomicU64>,
    /// What `/items` serves (ITEMS items at start); tests change it to see syncs follow.
    pub items: Arc<Mutex<Vec<serde_json::Value>>>,
    /// What `/contacts` serves (none at start).
    pub contacts: Arc<Mutex<Vec<serde_json::Value>>>,
    /// `/contacts` answers 500 to a request with this cursor while it is set.
    pub contacts_fail_at: Arc<Mutex<Option<String>>>,
    /// The query strings `/contacts` received, in order.
    pub contacts_queries: Arc<Mutex<Vec<String>>>,
    /// When set, the next `/contacts` request hangs for two minutes (and clears it).
    pub contacts_hang_once: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct State {
    flaky_calls: Arc<AtomicU32>,
    uploaded: Arc<AtomicU64>,
    echoed: Arc<AtomicU64>,
    items: Arc<Mutex<Vec<serde_json::Value>>>,
    contacts: Arc<Mutex<Vec<serde_json::Value>>>,
    contacts_fail_at: Arc<Mutex<Option<String>>>,
    contacts_queries: Arc<Mutex<Vec<String>>>,
    contacts_hang_once: Arc<std::sync::atomic::AtomicBool>,
    base_url: String,
}

#[handler]
async fn echo(req: &Request, body: Body, state: Data<&State>) -> Response {
    state.echoed.fetch_add(1, Ordering::SeqCst);
    let headers: serde_json::Map<String, serde_json::Value> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), serde_json::Value::String(v.to_str().unwrap_or_default().to_owned())))
        .collect();
    let body = body.into_string().await.unwrap_or_default();
    let path = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let json = serde_json::json!({"method": req.method().as_str(), "path": path, "headers": headers, "body": body});
    Response::builder().header("x-upstream", "echo").content_type("application/json").body(json.to_string())
}

/// 200 for `Authorization: Bearer good-key`, 401 otherwise (a credential check).
#[handler]
fn auth_check(req: &Request) -> Response {
    let good = req.headers().get("authorization").is_some_and(|v| v == "Bearer good-key");
    Response::builder().status(if good { StatusCode::OK } else { StatusCode::UNAUTHORIZED }).finish()
}

#[handler]
fn status(Path(code): Path<u16>) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
    let mut r = Response::builder().status(status).header("x-upstream", "status").header("x-ratelimit-remaining", "7");
    if code == 201 {
        r = r.header("location", "/things/1");
    }
    if code == 204 || code == 304 {
        r.finish()
    } else {
        r.content_type("application/json").body(format!("{{\"status\":{code}}}"))
    }
}

/// Fails with 503 (`Retry-After: 1`) or 500 until the `n`-th call.
#[handler]
fn flaky(Path((kind, n)): Path<(String, u32)>, state: Data<&State>) -> Response {
    let call = state.flaky_calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call <= n {
        return match kind.as_str() {
            "retry-after" => {
                Response::builder().status(StatusCode::SERVICE_UNAVAILABLE).header("retry-after", "1").body("busy")
            }
            // A provider-specific status and reset header (for `proxy.retry` rules).
            "teapot-reset" => {
                let reset = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 2;
                Response::builder()
                    .status(StatusCode::IM_A_TEAPOT)
                    .header("x-ratelimit-reset", reset.to_string())
                    .body("brewing")
            }
            "long-retry-after" => {
                Response::builder().status(StatusCode::TOO_MANY_REQUESTS).header("retry-after", "3600").body("later")
            }
            _ => Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).body("oops"),
        };
    }
    Response::builder().body(format!("ok after {call} calls"))
}

#[handler]
async fn slow() -> &'static str {
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    "finally"
}

/// Streams `mib` MiB of zeros in 64 KiB chunks.
#[handler]
fn big(Path(mib): Path<u64>) -> Response {
    let chunk = bytes::Bytes::from(vec![0u8; 64 * 1024]);
    let stream = futures_util::stream::iter((0..mib * 16).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    Response::builder().content_type("application/octet-stream").body(Body::from_bytes_stream(stream))
}

/// Counts the bytes of a streamed upload.
#[handler]
async fn upload(body: Body, state: Data<&State>) -> String {
    let mut stream = body.into_bytes_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        total += chunk.map(|c| c.len() as u64).unwrap_or(0);
    }
    state.uploaded.store(total, Ordering::SeqCst);
    total.to_string()
}

/// 200 when the JSON body holds `needle` (a `key=value` pair at its top level, or `key.sub=value`
/// one level down), 400 otherwise: a verification request whose body matters.
#[handler]
async fn require_body(Path(needle): Path<String>, body: Body) -> Response {
    let body: serde_json::Value =
        serde_json::from_slice(&body.into_vec().await.unwrap_or_default()).unwrap_or_default();
    let (path, expected) = needle.split_once('=').unwrap_or((&needle, ""));
    let found = path.split('.').try_fold(&body, |v, key| v.get(key)).and_then(|v| v.as_str()) == Some(expected);
    Response::builder().status(if found { StatusCode::OK } else { StatusCode::BAD_REQUEST }).finish()
}

#[handler]
fn redirect(Path(to): Path<String>, state: Data<&State>) -> Response {
    let location = match to.as_str() {
        "same" => format!("{}/echo/after-redirect", state.base_url),
        _ => "http://203.0.113.7/elsewhere".to_owned(),
    };
    Response::builder().status(StatusCode::FOUND).header("location", location).finish()
}

/// Items upstream has (`/items`, `/items/:id`), for the functions' fixtures.
pub const ITEMS: usize = 25;

#[handler]
/// `GET /items?cursor=&limit=`: cursor pagination over [`ITEMS`] items (`{items, next}`, `next`
/// empty on the last page); the API key must arrive in `x-api-key`.
fn items(req: &Request, state: Data<&State>) -> Response {
    let query: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes()).into_owned().collect();
    let start: usize = query.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(10).clamp(1, 100);
    let all = state.items.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let end = (start + limit).min(all.len());
    let page: Vec<serde_json::Value> = all.get(start..end).unwrap_or_default().to_vec();
    let next = if end < all.len() { end.to_string() } else { String::new() };
    let body = serde_json::json!({"items": page, "next": next, "key": req.headers().get("x-api-key").and_then(|v| v.to_str().ok())});
    Response::builder().content_type("application/json").body(body.to_string())
}

/// `GET /contacts?cursor=&limit=&since=`: cursor pagination over [`Upstream::contacts`] whose
/// `updated_at` is at or after `since` (`{items, next}`); 500 at [`Upstream::contacts_fail_at`].
#[handler]
async fn contacts(req: &Request, state: Data<&State>) -> Response {
    let raw = req.uri().query().unwrap_or_default().to_owned();
    state.contacts_queries.lock().unwrap_or_else(|e| e.into_inner()).push(raw.clone());
    if state.contacts_hang_once.swap(false, Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_secs(120)).await;
    }
    let query: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let cursor = query.get("cursor").cloned().unwrap_or_default();
    if state.contacts_fail_at.lock().unwrap_or_else(|e| e.into_inner()).as_deref() == Some(cursor.as_str()) {
        return Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).body("contacts are down");
    }
    let since = query.get("since").cloned().unwrap_or_default();
    let start: usize = cursor.parse().unwrap_or(0);
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(10).clamp(1, 1000);
    let all: Vec<serde_json::Value> = state
        .contacts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|c| c["updated_at"].as_str().unwrap_or_default() >= since.as_str())
        .cloned()
        .collect();
    let end = (start + limit).min(all.len());
    let page = all.get(start..end).unwrap_or_default().to_vec();
    let next = if end < all.len() { end.to_string() } else { String::new() };
    Response::builder()
        .content_type("application/json")
        .body(serde_json::json!({"items": page, "next": next}).to_string())
}

#[handler]
/// `GET /items/:id`: one item, or 404 `{"error": "no such item"}`.
fn item(Path(id): Path<String>) -> Response {
    match id.parse::<usize>() {
        Ok(i) if i < ITEMS => Response::builder()
            .content_type("application/json")
            .body(serde_json::json!({"id": id, "name": format!("item {i}"), "n": i}).to_string()),
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .content_type("application/json")
            .header("x-ratelimit-remaining", "42")
            .body(r#"{"error":"no such item"}"#),
    }
}

impl Upstream {
    /// Starts the upstream.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = State {
            flaky_calls: Arc::default(),
            uploaded: Arc::default(),
            echoed: Arc::default(),
            items: Arc::new(Mutex::new(
                (0..ITEMS)
                    .map(|i| serde_json::json!({"id": i.to_string(), "name": format!("item {i}"), "n": i}))
                    .collect(),
            )),
            contacts: Arc::default(),
            contacts_fail_at: Arc::default(),
            contacts_queries: Arc::default(),
            contacts_hang_once: Arc::default(),
            base_url: base_url.clone(),
        };
        let app = Route::new()
            .at("/status/:code", status)
            .at("/flaky/:kind/:n", flaky)
            .at("/slow", slow)
            .at("/big/:mib", big)
            .at("/upload", upload)
            .at("/redirect/:to", redirect)
            .at("/auth-check", auth_check)
            .at("/require-body/:needle", require_body)
            .at("/items", items)
            .at("/items/:id", item)
            .at("/contacts", contacts)
            .at("/*path", echo)
            .at("/", echo)
            .data(state.clone());
        let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
        let task = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app.map_to_response()).await;
        });
        Self {
            base_url,
            flaky_calls: state.flaky_calls,
            uploaded: state.uploaded,
            echoed: state.echoed,
            items: state.items,
            contacts: state.contacts,
            contacts_fail_at: state.contacts_fail_at,
            contacts_queries: state.contacts_queries,
            contacts_hang_once: state.contacts_hang_once,
            task,
        }
    }

    /// Requests the echo answered so far.
    pub fn hits(&self) -> u64 {
        self.echoed.load(Ordering::SeqCst)
    }

    /// `base_url + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}
