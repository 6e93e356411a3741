//! The floor `bench/run.sh` measures the proxy against: a minimal reverse proxy on the same
//! HTTP stack as the server's fast path (hyper 1's HTTP/1 server, hyper-util's pooled client,
//! the same worker count, each worker thread a single-threaded runtime accepting from the
//! shared listener with an upstream pool of its own), with nothing else: no authentication,
//! rate limit, metrics, request id, call history or SSRF policy. It forwards `/proxy/<path>`
//! to `<upstream>/<path>` and injects one header, as the nginx reference does. Not a product:
//! a ruler for the machine of the day, so that the benchmark can say what the proxy's own
//! work costs on top of it.
//!
//!     bare_proxy <listen port> <upstream base URL, http://host:port> [worker threads]
//!
//! With `BARE_SHARED=1` it runs on one work-stealing runtime with one shared pool instead
//! (the server's design before `api::serve` gave each worker its own runtime), for comparing
//! the two.

use std::{convert::Infallible, net::SocketAddr};

use http::{HeaderValue, Request, Response, Uri, header::AUTHORIZATION};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioIo, TokioTimer},
};

type Upstream = Client<HttpConnector, Incoming>;

async fn forward(
    client: &Upstream,
    base: &str,
    mut req: Request<Incoming>,
) -> Response<http_body_util::Either<Incoming, String>> {
    let bad = |status: u16, msg: &str| {
        let mut resp = Response::new(http_body_util::Either::Right(msg.to_owned()));
        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
        resp
    };
    let Some(rest) = req.uri().path_and_query().map(|pq| pq.as_str()).and_then(|pq| pq.strip_prefix("/proxy")) else {
        return bad(404, "not found\n");
    };
    let Ok(uri) = format!("{base}{rest}").parse::<Uri>() else {
        return bad(400, "bad path\n");
    };
    *req.uri_mut() = uri;
    req.headers_mut().remove(http::header::HOST);
    req.headers_mut().insert(AUTHORIZATION, HeaderValue::from_static("Api-Key bench-key"));
    match client.request(req).await {
        Ok(resp) => resp.map(http_body_util::Either::Left),
        Err(_) => bad(502, "upstream error\n"),
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(base)) = (args.next(), args.next()) else {
        eprintln!("usage: bare_proxy <listen port> <upstream base URL> [worker threads]");
        std::process::exit(2);
    };
    let port: u16 = port.parse().map_err(std::io::Error::other)?;
    let workers: usize = args.next().map_or(Ok(2), |w| w.parse()).map_err(std::io::Error::other)?;
    let base: &'static str = Box::leak(base.trim_end_matches('/').to_owned().into_boxed_str());
    let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    listener.set_nonblocking(true)?;
    if std::env::var_os("BARE_SHARED").is_some() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()?;
        return runtime.block_on(serve(listener, base));
    }
    let threads = (0..workers)
        .map(|_| {
            let listener = listener.try_clone()?;
            Ok(std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(serve(listener, base))
            }))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    for thread in threads {
        thread.join().map_err(|_| std::io::Error::other("a worker thread panicked"))??;
    }
    Ok(())
}

/// Accepts from `listener` and serves its connections with a pool of this runtime's own.
async fn serve(listener: std::net::TcpListener, base: &'static str) -> std::io::Result<()> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: &'static Upstream = Box::leak(Box::new(
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .pool_timer(TokioTimer::new())
            .build(connector),
    ));
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).keep_alive(true);
    loop {
        let (io, _) = listener.accept().await?;
        io.set_nodelay(true)?;
        let service = service_fn(move |req| async move { Ok::<_, Infallible>(forward(client, base, req).await) });
        let conn = http.serve_connection(TokioIo::new(io), service);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
