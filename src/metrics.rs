//! Prometheus metrics: counters and histograms the code updates as it works,
//! and gauges read from the database when `/metrics` is scraped.

use std::sync::LazyLock;

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub job_runs: IntCounterVec,
    pub job_duration: HistogramVec,
    pub webhook_attempts: IntCounterVec,
    pub idempotent_replays: IntCounter,
    pub rate_limited: IntCounterVec,
    pub db_reads: IntCounterVec,
    pub gauges: IntGaugeVec,
    /// Seconds, as floats, for the scrape-time ages.
    pub ages: GaugeVec,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| unreachable!("{e}"));
    let _ = registry.register(Box::new(c.clone()));
    c
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str], buckets: Vec<f64>) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .unwrap_or_else(|e| unreachable!("{e}"));
    let _ = registry.register(Box::new(h.clone()));
    h
}

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let registry = Registry::new();
    let replays = IntCounter::new(
        "rapport_idempotent_replays_total",
        "Answers replayed for a repeated Idempotency-Key",
    )
    .unwrap_or_else(|e| unreachable!("{e}"));
    let _ = registry.register(Box::new(replays.clone()));
    let gauges = IntGaugeVec::new(
        Opts::new("rapport_state", "Levels read at scrape time, by `what`"),
        &["what"],
    )
    .unwrap_or_else(|e| unreachable!("{e}"));
    let _ = registry.register(Box::new(gauges.clone()));
    let ages = GaugeVec::new(
        Opts::new(
            "rapport_job_seconds_since_last_run",
            "Seconds since each job last finished, read at scrape time",
        ),
        &["job"],
    )
    .unwrap_or_else(|e| unreachable!("{e}"));
    let _ = registry.register(Box::new(ages.clone()));
    Metrics {
        http_requests: counter(
            &registry,
            "rapport_http_requests_total",
            "Requests by method, route template and status",
            &["method", "route", "status"],
        ),
        http_duration: histogram(
            &registry,
            "rapport_http_request_duration_seconds",
            "Time to answer, by method and route template",
            &["method", "route"],
            vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ],
        ),
        job_runs: counter(
            &registry,
            "rapport_job_runs_total",
            "Job runs by outcome",
            &["job", "outcome"],
        ),
        job_duration: histogram(
            &registry,
            "rapport_job_duration_seconds",
            "Job run time",
            &["job"],
            vec![0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0],
        ),
        webhook_attempts: counter(
            &registry,
            "rapport_webhook_attempts_total",
            "Webhook delivery attempts by outcome: delivered, retry, failed, refused",
            &["outcome"],
        ),
        idempotent_replays: replays,
        rate_limited: counter(
            &registry,
            "rapport_rate_limited_total",
            "Requests answered 429, by what was limited (token or ip)",
            &["by"],
        ),
        db_reads: counter(
            &registry,
            "rapport_db_reads_total",
            "Set-wide reads (reports, exports, previews) by the database that served them: primary or replica",
            &["target"],
        ),
        gauges,
        ages,
        registry,
    }
});

/// The text exposition of every metric.
pub fn render() -> String {
    let mut out = Vec::new();
    let _ = TextEncoder::new().encode(&METRICS.registry.gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}
