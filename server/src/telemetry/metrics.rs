//! This replica's counters and histograms, kept in atomics (recording costs a map read and a
//! few atomic adds) and rendered in Prometheus' text format for `GET /metrics`. When
//! OpenTelemetry export is on, each recording is also handed to the OTLP instruments.

use std::{
    collections::HashMap,
    fmt::Write as _,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0];

/// A latency histogram (cumulative buckets are computed when rendering).
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| seconds <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// Histograms keyed by a small label set, created on first use.
#[derive(Debug)]
struct Family<K> {
    map: RwLock<HashMap<K, Arc<Histogram>>>,
}

impl<K> Default for Family<K> {
    fn default() -> Self {
        Self { map: RwLock::new(HashMap::new()) }
    }
}

impl<K: std::hash::Hash + Eq + Clone + Ord> Family<K> {
    fn get(&self, key: &K) -> Arc<Histogram> {
        if let Some(h) = self.map.read().unwrap_or_else(|e| e.into_inner()).get(key) {
            return h.clone();
        }
        self.map.write().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_default().clone()
    }

    fn sorted(&self) -> Vec<(K, Arc<Histogram>)> {
        let mut all: Vec<_> =
            self.map.read().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// Every metric of this replica.
#[derive(Debug, Default)]
pub struct Metrics {
    /// API calls by (operation, status).
    requests: Family<(&'static str, u16)>,
    /// Proxied calls by (method, status), whole duration as the caller saw it (to headers).
    proxied: Family<(String, u16)>,
    /// Each upstream attempt's wait for response headers, by status (0: no response).
    upstream: Family<u16>,
    /// Function runs by (`<integration>/<function>`, outcome).
    functions: Family<(String, &'static str)>,
    retries: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    rate_limited: AtomicU64,
    webhooks_delivered: AtomicU64,
    webhooks_failed: AtomicU64,
    /// Sync runs by success.
    sync_runs: [AtomicU64; 2],
    /// Sync run durations.
    sync_durations: Histogram,
    /// Wait between a run's due time and its start.
    sync_lag: Histogram,
    /// Records added, updated, deleted by sync runs.
    sync_records: [AtomicU64; 3],
    /// Schedules due and waiting, as last seen by this replica's scheduler.
    sync_queue_depth: AtomicU64,
}

/// Values read when scraping (database pool, queues).
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub db_pool_size: u64,
    pub db_pool_idle: u64,
    pub db_pool_max: u64,
    pub webhook_outbox_pending: Option<u64>,
    pub request_log_queue: u64,
    pub request_logs_dropped: u64,
}

impl Metrics {
    /// One finished API call.
    pub fn api_call(&self, operation: &'static str, status: u16, elapsed: Duration) {
        self.requests.get(&(operation, status)).observe(elapsed);
        super::otel::record_request("api", operation, status, elapsed);
    }

    /// One finished proxied call.
    pub fn proxied(&self, method: &str, status: u16, elapsed: Duration) {
        self.proxied.get(&(method.to_owned(), status)).observe(elapsed);
        super::otel::record_request("proxy", method, status, elapsed);
    }

    /// One finished function run: `function` is `<integration>/<name>`, `outcome` `success`
    /// or the failure's code.
    pub fn function_run(&self, function: &str, outcome: &'static str, elapsed: Duration) {
        self.functions.get(&(function.to_owned(), outcome)).observe(elapsed);
    }

    /// A sync run started, `lag` after it was due.
    pub fn sync_started(&self, lag: Duration) {
        self.sync_lag.observe(lag);
    }

    /// A sync run finished.
    pub fn sync_finished(&self, success: bool, elapsed: Duration, result: &crate::model::sync::RunResult) {
        self.sync_runs[usize::from(success)].fetch_add(1, Ordering::Relaxed);
        self.sync_durations.observe(elapsed);
        for counts in result.values() {
            self.sync_records[0].fetch_add(counts.added, Ordering::Relaxed);
            self.sync_records[1].fetch_add(counts.updated, Ordering::Relaxed);
            self.sync_records[2].fetch_add(counts.deleted, Ordering::Relaxed);
        }
    }

    /// Schedules due and not yet started.
    pub fn sync_queue_depth(&self, depth: u64) {
        self.sync_queue_depth.store(depth, Ordering::Relaxed);
    }

    /// One upstream attempt; `status` is `None` when no response came.
    pub fn upstream_attempt(&self, status: Option<u16>, elapsed: Duration) {
        let status = status.unwrap_or(0);
        self.upstream.get(&status).observe(elapsed);
        super::otel::record_upstream(status, elapsed);
    }

    /// The proxy is about to send a request again.
    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        super::otel::record_retry();
    }

    /// A proxy target lookup answered from (`true`) or past (`false`) the cache.
    pub fn target_cache(&self, hit: bool) {
        let counter = if hit { &self.cache_hits } else { &self.cache_misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A request refused by the rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// A webhook delivery finished: delivered, or failed (to be retried or given up).
    pub fn webhook(&self, delivered: bool) {
        let counter = if delivered { &self.webhooks_delivered } else { &self.webhooks_failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Everything in Prometheus' text exposition format (version 0.0.4).
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(8192);
        header(&mut out, "nango_http_requests_duration_seconds", "histogram", "API calls by operation and status.");
        for ((operation, status), h) in self.requests.sorted() {
            h.render(
                &mut out,
                "nango_http_requests_duration_seconds",
                &format!("operation=\"{operation}\",status=\"{status}\""),
            );
        }
        header(
            &mut out,
            "nango_proxy_requests_duration_seconds",
            "histogram",
            "Proxied calls by method and status, until the response headers.",
        );
        for ((method, status), h) in self.proxied.sorted() {
            h.render(
                &mut out,
                "nango_proxy_requests_duration_seconds",
                &format!("method=\"{method}\",status=\"{status}\""),
            );
        }
        header(
            &mut out,
            "nango_proxy_upstream_duration_seconds",
            "histogram",
            "Each upstream attempt's wait for response headers, by upstream status (0: no response).",
        );
        for (status, h) in self.upstream.sorted() {
            h.render(&mut out, "nango_proxy_upstream_duration_seconds", &format!("status=\"{status}\""));
        }
        header(
            &mut out,
            "nango_function_runs_duration_seconds",
            "histogram",
            "Function runs by function (integration/name) and outcome (success or the error code).",
        );
        for ((function, outcome), h) in self.functions.sorted() {
            h.render(
                &mut out,
                "nango_function_runs_duration_seconds",
                &format!("function=\"{}\",outcome=\"{outcome}\"", function.replace(['\\', '"', '\n'], "_")),
            );
        }
        header(&mut out, "nango_sync_runs_total", "counter", "Sync runs by result.");
        let _ =
            writeln!(out, "nango_sync_runs_total{{result=\"success\"}} {}", self.sync_runs[1].load(Ordering::Relaxed));
        let _ =
            writeln!(out, "nango_sync_runs_total{{result=\"failure\"}} {}", self.sync_runs[0].load(Ordering::Relaxed));
        header(&mut out, "nango_sync_run_duration_seconds", "histogram", "Sync run durations.");
        self.sync_durations.render(&mut out, "nango_sync_run_duration_seconds", "");
        header(
            &mut out,
            "nango_sync_start_lag_seconds",
            "histogram",
            "Wait between a sync run's due time and its start.",
        );
        self.sync_lag.render(&mut out, "nango_sync_start_lag_seconds", "");
        header(&mut out, "nango_sync_records_total", "counter", "Records changed by sync runs, by change.");
        for (i, change) in ["added", "updated", "deleted"].iter().enumerate() {
            let _ = writeln!(
                out,
                "nango_sync_records_total{{change=\"{change}\"}} {}",
                self.sync_records[i].load(Ordering::Relaxed)
            );
        }
        header(&mut out, "nango_sync_queue_depth", "gauge", "Sync runs due and not yet started.");
        let _ = writeln!(out, "nango_sync_queue_depth {}", self.sync_queue_depth.load(Ordering::Relaxed));
        let counters = [
            ("nango_proxy_retries_total", "Upstream attempts that were retried.", &self.retries),
            ("nango_proxy_target_cache_hits_total", "Proxy targets answered from the cache.", &self.cache_hits),
            ("nango_proxy_target_cache_misses_total", "Proxy targets read from the database.", &self.cache_misses),
            ("nango_rate_limited_total", "Requests refused by the rate limit (429).", &self.rate_limited),
            (
                "nango_webhooks_delivered_total",
                "Webhook deliveries accepted by the receiver.",
                &self.webhooks_delivered,
            ),
            ("nango_webhooks_failed_total", "Webhook delivery attempts that failed.", &self.webhooks_failed),
        ];
        for (name, help, value) in counters {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        let mut gauge = |name: &str, help: &str, value: u64| {
            header(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {value}");
        };
        gauge("nango_db_pool_connections", "Open database connections of this replica.", gauges.db_pool_size);
        gauge("nango_db_pool_idle_connections", "Idle database connections of this replica.", gauges.db_pool_idle);
        gauge("nango_db_pool_max_connections", "Most database connections of this replica.", gauges.db_pool_max);
        gauge("nango_request_log_queue", "Request records waiting to be stored.", gauges.request_log_queue);
        if let Some(pending) = gauges.webhook_outbox_pending {
            gauge("nango_webhook_outbox_pending", "Webhook deliveries not yet delivered or given up.", pending);
        }
        header(&mut out, "nango_request_logs_dropped_total", "counter", "Request records dropped (queue full).");
        let _ = writeln!(out, "nango_request_logs_dropped_total {}", gauges.request_logs_dropped);
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labelled() {
        let m = Metrics::default();
        m.api_call("list_integrations", 200, Duration::from_micros(800));
        m.api_call("list_integrations", 200, Duration::from_millis(30));
        m.target_cache(true);
        let text = m.render(&Gauges::default());
        let labels = "operation=\"list_integrations\",status=\"200\"";
        assert!(text.contains(&format!("nango_http_requests_duration_seconds_bucket{{{labels},le=\"0.0005\"}} 0")));
        assert!(text.contains(&format!("nango_http_requests_duration_seconds_bucket{{{labels},le=\"0.001\"}} 1")));
        assert!(text.contains(&format!("nango_http_requests_duration_seconds_bucket{{{labels},le=\"0.05\"}} 2")));
        assert!(text.contains(&format!("nango_http_requests_duration_seconds_count{{{labels}}} 2")));
        assert!(text.contains("nango_proxy_target_cache_hits_total 1"));
    }
}
