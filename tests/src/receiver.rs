//! A local webhook receiver on 127.0.0.1:0: records every request (headers and raw body) and
//! answers 200, or 503 while it is told to fail.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use poem::{
    EndpointExt, Request, Response, Route, Server, handler, http::StatusCode, listener::TcpAcceptor, web::Data,
};
use tokio::sync::{Mutex, mpsc};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: poem::http::HeaderMap,
    pub body: Vec<u8>,
    /// The status the receiver answered.
    pub status: u16,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON webhook body")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

#[derive(Clone)]
struct State {
    failures_left: Arc<AtomicU32>,
    tx: mpsc::UnboundedSender<Received>,
}

#[handler]
async fn receive(req: &Request, body: poem::Body, state: Data<&State>) -> Response {
    let body = body.into_vec().await.unwrap_or_default();
    let failing = state.failures_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    let status = if failing { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    let _ = state.tx.send(Received { headers: req.headers().clone(), body, status: status.as_u16() });
    Response::builder().status(status).finish()
}

/// A running receiver; stops on drop.
pub struct Receiver {
    pub url: String,
    failures_left: Arc<AtomicU32>,
    rx: Mutex<mpsc::UnboundedReceiver<Received>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Starts a receiver that answers 503 to its first `failures` requests.
    pub async fn start(failures: u32) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
        let failures_left = Arc::new(AtomicU32::new(failures));
        let (tx, rx) = mpsc::unbounded_channel();
        let app = Route::new().at("/hooks", receive).data(State { failures_left: failures_left.clone(), tx });
        let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
        let task = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app.map_to_response()).await;
        });
        Self { url, failures_left, rx: Mutex::new(rx), task }
    }

    /// Makes the next `n` requests fail with 503 (0: succeed from now on).
    pub fn fail_next(&self, n: u32) {
        self.failures_left.store(n, Ordering::SeqCst);
    }

    /// The next request, waiting for it up to `within`.
    pub async fn next(&self, within: Duration) -> Option<Received> {
        tokio::time::timeout(within, self.rx.lock().await.recv()).await.ok().flatten()
    }

    /// Requests already received and not yet taken, without waiting.
    pub async fn drain(&self) -> Vec<Received> {
        let mut rx = self.rx.lock().await;
        let mut out = Vec::new();
        while let Ok(r) = rx.try_recv() {
            out.push(r);
        }
        out
    }
}
