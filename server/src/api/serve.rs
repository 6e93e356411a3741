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

use super::{listener::Limited, proxy};
use crate::AppState;

/// A response body: poem's, or one the proxy streams from the upstream.
pub type ResponseBody = Either<BoxBody<Bytes, std::io::Error>, proxy::UpstreamBody>;

/// What every connection shares.
struct Shared {
    state: AppState,
    app: BoxEndpoint<'static, poem::Response>,
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
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    drain: Duration,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let max_connections = state.config.max_connections.unwrap_or_else(super::listener::default_max_connections);
    let http = builder(state.config.header_read_timeout);
    let app = crate::app(state.clone()).map_to_response().boxed();
    let shared = Arc::new(Shared { state, app, local });
    let mut acceptor = Limited::new(listener, max_connections);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, remote) = tokio::select! {
            accepted = acceptor.accept() => accepted?,
            () = &mut shutdown => break,
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
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {
            tracing::warn!(after = ?drain, "requests still in flight at the end of the shutdown timeout");
        }
    }
    Ok(())
}
