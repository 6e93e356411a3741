//! `nango-server [serve|migrate|healthcheck|help]`: parse the command line, load the
//! configuration, call the library.

use std::process::ExitCode;

use nango_server::Config;

const USAGE: &str = "usage: nango-server [serve|migrate|rotate-key|healthcheck|catalog-report|help]

  serve        run the server (default); migrates the database first
  migrate      apply pending database migrations and exit
  rotate-key   re-encrypt every stored secret under NANGO_ENCRYPTION_KEY (older keys in
               NANGO_ENCRYPTION_KEY_PREVIOUS); online, resumable; see docs/key-rotation.md
  healthcheck  exit 0 when the server on SERVER_PORT answers GET /health (for containers)
  catalog-report [--all] [FILE]
               load the provider catalog (built-in, with FILE or NANGO_PROVIDERS_FILE over
               it) and print, per API_KEY/BASIC provider (--all: every provider), whether
               its connections can be made and proxied here, then the counts
  help         print this help and the configuration variables";

/// `catalog-report [--all] [FILE]`: loads the built-in catalog with FILE (or
/// `NANGO_PROVIDERS_FILE`) over it and prints, per provider, whether its connections can be
/// made and proxied here, then the counts.
fn catalog_report() -> ExitCode {
    let mut all = false;
    let mut file = None;
    for arg in std::env::args().skip(2) {
        if arg == "--all" {
            all = true;
        } else {
            file = Some(std::path::PathBuf::from(arg));
        }
    }
    let file = file.or_else(|| std::env::var_os("NANGO_PROVIDERS_FILE").map(Into::into));
    match nango_server::service::provider::Catalog::load(file.as_deref()) {
        Ok(catalog) => {
            print!("{}", nango_server::service::provider::report(&catalog, all));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("nango-server: cannot load the provider catalog: {}", nango_server::error::ErrorChain(&e));
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".to_owned());
    if matches!(command.as_str(), "help" | "-h" | "--help") {
        print_help();
        return ExitCode::SUCCESS;
    }
    if command == "catalog-report" {
        return catalog_report();
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("nango-server: {e}");
            return ExitCode::from(2);
        }
    };
    // One TLS provider for the process (ring), installed before any client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Requests are served by threads of their own (`NANGO_WORKER_THREADS`, see `api::serve`);
    // this runtime, on the main thread, runs the background work (call history, webhooks,
    // schedulers, functions' host calls): one thread keeps up with it, and no more threads
    // means no more malloc arenas.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nango-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        // Telemetry export only for the server itself.
        let mut config = config;
        if command != "serve" {
            config.otel = None;
        }
        let exporters = match nango_server::telemetry::init(&config.log_filter, config.log_format, config.otel.as_ref())
        {
            Ok(exporters) => exporters,
            Err(e) => return Err(anyhow::anyhow!("cannot start telemetry: {e}")),
        };
        let result = match command.as_str() {
            "serve" => serve(config).await,
            "migrate" => migrate(config).await,
            "rotate-key" => rotate_key(config).await,
            "healthcheck" => healthcheck(config.port).await,
            other => Err(anyhow::anyhow!("unknown command `{other}`\n\n{USAGE}")),
        };
        if let Some(exporters) = exporters {
            exporters.shutdown().await;
        }
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("nango-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    print!("{USAGE}\n\nconfiguration (environment variables):\n{}", nango_server::config::help());
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = std::net::SocketAddr::new(config.bind_address, config.port);
    let state = nango_server::prepare(config).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (SERVER_PORT): {e}"))?;
    tracing::info!(%addr, "nango-server listening; API reference at /docs, OpenAPI document at /openapi.json");
    nango_server::run(state, listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = nango_server::connect(&config).await?;
    nango_server::db::migrate(&db).await?;
    tracing::info!("database is up to date");
    Ok(())
}

async fn rotate_key(config: Config) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    let state = nango_server::prepare(config).await?;
    let report = nango_server::rotate_keys(&state, &data_dir).await?;
    tracing::info!(
        resealed = report.resealed,
        already_current = report.current,
        "every stored secret is sealed with the primary key; NANGO_ENCRYPTION_KEY_PREVIOUS can be removed"
    );
    Ok(())
}

async fn healthcheck(port: u16) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n").await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    if response.starts_with(b"HTTP/1.0 200") || response.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        anyhow::bail!("GET /health did not answer 200")
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
