//! The server's connections, driven with hyper directly: HTTP/1.1 with keep-alive, a timeout
//! for request headers (which is also the keep-alive idle timeout), the connection cap and
//! accept back-off of [`super::listener`], and graceful shutdown. Each request goes either to
//! the proxy's fast path ([`super::proxy::fast`], ahead of poem's router and middleware) or to
//! the poem application.

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::{Either, combinators::BoxBody};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use poem::{
    Addr, Endpoint as _, EndpointExt as _,
    endpoint::BoxEndpoint,
    http::uri::Scheme,
    web::{LocalAddr, RemoteAddr},
};

use super::{
    listener::{Cap, Limited},
    proxy,
};
use crate::AppState;

/// A response body: poem's, or one the proxy streams from the upstream.
pub type ResponseBody = Either<BoxBody<Bytes, std::io::Error>, proxy::UpstreamBody>;

/// What every connection of one serving thread shares.
struct Shared {
    /// The thread's state: the server's, with the thread's own upstream pool.
    state: AppState,
    app: Arc<BoxEndpoint<'static, poem::Response>>,
    local: SocketAddr,
}

/// The HTTP/1 connection settings.
fn builder(header_read_timeout: Duration) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout).keep_alive(true);
    builder
}

async fn respond(shared: &Shared, req: http::Request<Incoming>, remote: SocketAddr) -> http::Response<ResponseBody> {
    if proxy::takes_fast_path(&req) {
        return proxy::fast(&shared.state, req).await;
    }
    let (local, remote) = (LocalAddr(Addr::from(shared.local)), RemoteAddr(Addr::from(remote)));
    let req = poem::Request::from((req, local, remote, Scheme::HTTP));
    let resp = shared.app.get_response(req).await;
    http::Response::<BoxBody<Bytes, std::io::Error>>::from(resp).map(Either::Left)
}

/// Serves `state`'s application on `listener` until `shutdown` resolves; then stops
/// accepting, lets in-flight requests and streams finish for up to `drain`, and returns.
///
/// Connections are served by `NANGO_WORKER_THREADS` threads (default: one per CPU core), each
/// with a single-threaded runtime of its own that accepts from the shared listener and keeps
/// its own pool of upstream connections: a request, its upstream call and the tasks driving
/// both connections run on one thread, with no hand-off between threads per request (on the
/// work-stealing runtime this replaced, those hand-offs were about a fifth of a proxied call's
/// CPU; docs/performance.md). The caller's runtime keeps the background work.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    drain: Duration,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let max_connections = state.config.max_connections.unwrap_or_else(super::listener::default_max_connections);
    let threads =
        state.config.worker_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let listener = listener.into_std()?;
    let cap = Cap::new(max_connections);
    let app = Arc::new(crate::app(state.clone()).map_to_response().boxed());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut served = Vec::with_capacity(threads);
    for i in 0..threads {
        let mut state = state.clone();
        state.ctx.http = state.ctx.http.with_own_proxy_pool(threads);
        let shared = Shared { state, app: app.clone(), local };
        let started = match listener.try_clone() {
            Ok(listener) => start_thread(i, shared, listener, cap.clone(), stopping.clone(), drain).await,
            Err(e) => Err(e),
        };
        match started {
            Ok(finished) => served.push(finished),
            // A thread that cannot start (out of descriptors, say) fails the start of the
            // server, rather than leaving it to serve with fewer threads than configured.
            Err(e) => {
                let _ = stop.send(true);
                let message = format!("cannot start serving thread {} of {threads} (NANGO_WORKER_THREADS): {e}", i + 1);
                return Err(std::io::Error::new(e.kind(), message));
            }
        }
    }
    drop(listener);
    shutdown.await;
    let _ = stop.send(true);
    for finished in served {
        finished.await.map_err(|_| std::io::Error::other("a serving thread ended without an answer"))?;
    }
    Ok(())
}

/// Starts serving thread `i` and waits until it accepts; answers what resolves once it has
/// drained its connections.
async fn start_thread(
    i: usize,
    shared: Shared,
    listener: std::net::TcpListener,
    cap: Arc<Cap>,
    stopping: tokio::sync::watch::Receiver<bool>,
    drain: Duration,
) -> std::io::Result<tokio::sync::oneshot::Receiver<()>> {
    let mut alive = shared.state.ctx.alive.subscribe();
    let (ready, started) = tokio::sync::oneshot::channel();
    let (done, finished) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name(format!("nango-http-{i}")).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        runtime.block_on(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => listener,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            serve_thread(shared, Limited::new(listener, cap), stopping, drain).await;
            let _ = done.send(());
            // Connections opened by this thread's tasks (to the database, to webhook
            // targets) are driven by its runtime wherever they are used next: it runs
            // until the server's context is gone.
            while alive.changed().await.is_ok() {}
        });
    })?;
    started.await.unwrap_or_else(|_| Err(std::io::Error::other("the thread ended at its start")))?;
    Ok(finished)
}

/// One serving thread: accepts until `stopping`, then drains its connections for up to
/// `drain`.
async fn serve_thread(
    shared: Shared,
    mut acceptor: Limited,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    drain: Duration,
) {
    let http = builder(shared.state.config.header_read_timeout);
    let shared = Arc::new(shared);
    let graceful = GracefulShutdown::new();
    loop {
        let (io, remote) = tokio::select! {
            accepted = acceptor.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::error!(error = %e, "the connection cap is gone; this thread stops accepting");
                    break;
                }
            },
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        let shared = shared.clone();
        let service = service_fn(move |req| {
            let shared = shared.clone();
            async move { Ok::<_, Infallible>(respond(&shared, req, remote).await) }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                // Clients closing mid-request, header timeouts: normal life of a server.
                tracing::debug!(error = %e, "client connection ended with an error");
            }
        });
    }
    drop(acceptor);
    drop(shared);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {
            tracing::warn!(after = ?drain, "requests still in flight at the end of the shutdown timeout");
        }
    }
}
