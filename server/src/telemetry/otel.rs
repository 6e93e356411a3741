//! OpenTelemetry export over OTLP/HTTP (protobuf, or JSON with
//! `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`), on only when an OTLP endpoint is configured.
//!
//! Traces come from `tracing` spans through `tracing-opentelemetry`: one server span per
//! request (`api::guard`), a client span per upstream attempt and per database call on the
//! proxy path (`service::proxy`). Metrics mirror what `/metrics` shows. The exporter reads
//! the standard `OTEL_EXPORTER_OTLP_*` variables itself (endpoint per signal, headers,
//! timeout, protocol); the SDK reads `OTEL_BSP_*` and `OTEL_METRIC_EXPORT_INTERVAL`.
//!
//! Exports go through our own reqwest client on the server's runtime (no second HTTP stack,
//! no gRPC stack): the SDK's export threads hand each request to the runtime.

use std::{sync::OnceLock, time::Duration};

use opentelemetry::{
    KeyValue,
    metrics::{Counter, Histogram, MeterProvider as _},
    trace::TracerProvider as _,
};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::WithHttpConfig;
use opentelemetry_sdk::{Resource, metrics::SdkMeterProvider, trace::SdkTracerProvider};

/// What to export, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtelConfig {
    pub traces: bool,
    pub metrics: bool,
    pub service_name: String,
}

/// The running exporters; [`Exporters::shutdown`] flushes them.
#[derive(Debug)]
pub struct Exporters {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

struct Instruments {
    requests: Histogram<f64>,
    upstream: Histogram<f64>,
    retries: Counter<u64>,
}

static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

/// An OTLP HTTP client that runs each export on the server's runtime with our reqwest client.
#[derive(Debug, Clone)]
struct RuntimeClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let http = self.http.clone();
        let (parts, body) = request.into_parts();
        let task = self.runtime.spawn(async move {
            let response =
                http.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        });
        let (status, headers, body) = task.await??;
        let mut response = Response::builder().status(status).body(body)?;
        *response.headers_mut() = headers;
        Ok(response)
    }
}

/// Builds the exporters and the tracing layer. Must run inside the server's runtime.
pub fn start<S>(
    config: &OtelConfig,
) -> Result<(Exporters, Option<tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>>), String>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let client = RuntimeClient {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the OTLP HTTP client: {e}"))?,
        runtime: tokio::runtime::Handle::current(),
    };
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let mut exporters = Exporters { tracer: None, meter: None };
    let mut layer = None;
    if config.traces {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client.clone())
            .build()
            .map_err(|e| format!("cannot build the OTLP span exporter: {e}"))?;
        let provider =
            SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource.clone()).build();
        layer = Some(tracing_opentelemetry::layer().with_tracer(provider.tracer("nango-server")));
        exporters.tracer = Some(provider);
    }
    if config.metrics {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_http_client(client)
            .build()
            .map_err(|e| format!("cannot build the OTLP metric exporter: {e}"))?;
        let provider = SdkMeterProvider::builder().with_periodic_exporter(exporter).with_resource(resource).build();
        let meter = provider.meter("nango-server");
        let _ = INSTRUMENTS.set(Instruments {
            requests: meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_description("API and proxied calls, by kind, operation (or method) and status.")
                .build(),
            upstream: meter
                .f64_histogram("nango.proxy.upstream.duration")
                .with_unit("s")
                .with_description("Each upstream attempt's wait for response headers, by status (0: none).")
                .build(),
            retries: meter.u64_counter("nango.proxy.retries").with_description("Upstream attempts retried.").build(),
        });
        exporters.meter = Some(provider);
    }
    Ok((exporters, layer))
}

impl Exporters {
    /// Exports what is buffered and stops. Blocks on the SDK's threads, so it runs on the
    /// blocking pool while the runtime sends the last exports.
    pub async fn shutdown(self) {
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(tracer) = self.tracer
                && let Err(e) = tracer.shutdown()
            {
                eprintln!("nango-server: flushing traces failed: {e}");
            }
            if let Some(meter) = self.meter
                && let Err(e) = meter.shutdown()
            {
                eprintln!("nango-server: flushing metrics failed: {e}");
            }
        })
        .await;
    }
}

/// Mirrors one API or proxied call (no-op unless metrics export is on).
pub fn record_request(kind: &'static str, operation: &str, status: u16, elapsed: Duration) {
    if let Some(i) = INSTRUMENTS.get() {
        i.requests.record(
            elapsed.as_secs_f64(),
            &[
                KeyValue::new("nango.kind", kind),
                KeyValue::new("nango.operation", operation.to_owned()),
                KeyValue::new("http.response.status_code", i64::from(status)),
            ],
        );
    }
}

/// Mirrors one upstream attempt (no-op unless metrics export is on).
pub fn record_upstream(status: u16, elapsed: Duration) {
    if let Some(i) = INSTRUMENTS.get() {
        i.upstream.record(elapsed.as_secs_f64(), &[KeyValue::new("http.response.status_code", i64::from(status))]);
    }
}

/// Mirrors one retry (no-op unless metrics export is on).
pub fn record_retry() {
    if let Some(i) = INSTRUMENTS.get() {
        i.retries.add(1, &[]);
    }
}
