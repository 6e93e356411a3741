//! What operators see: log output (text or JSON on stderr), Prometheus metrics
//! ([`metrics`]) and OpenTelemetry export ([`otel`]).
//!
//! Logs and spans are separate on purpose: the log output shows events only (one per call,
//! see `api::guard` and `api::proxy`), spans exist only for the OTLP exporter. When export is
//! off no layer wants spans, so `tracing` skips creating them on the hot path.

pub mod metrics;
pub mod otel;

pub use metrics::{Gauges, Metrics};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber (logs with `log_filter`, an `EnvFilter` directive, and
/// spans for OTLP when `otel` is set); returns the exporters to flush at shutdown. Must run
/// inside the server's runtime.
pub fn init(
    log_filter: &str,
    log_format: LogFormat,
    otel: Option<&otel::OtelConfig>,
) -> Result<Option<otel::Exporters>, String> {
    use tracing_subscriber::{
        EnvFilter, Layer, filter::FilterExt, filter::filter_fn, layer::SubscriberExt, util::SubscriberInitExt,
    };
    let filter = EnvFilter::try_new(log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = match log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr).boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi).boxed(),
    };
    let logs = fmt.with_filter(filter.and(filter_fn(|meta| meta.is_event())));
    let registry = tracing_subscriber::registry().with(logs);
    let Some(otel_config) = otel else {
        registry.try_init().map_err(|e| e.to_string())?;
        return Ok(None);
    };
    let (exporters, layer) = otel::start(otel_config)?;
    let spans =
        layer.map(|l| l.with_filter(filter_fn(|meta| meta.is_span() && meta.target().starts_with("nango_server"))));
    registry.with(spans).try_init().map_err(|e| e.to_string())?;
    Ok(Some(exporters))
}
