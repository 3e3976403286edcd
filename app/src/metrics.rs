//! `GET /metrics`: Prometheus' text format, rendered by `metrics-exporter-prometheus` from what the `metrics` macros
//! record across the app: request latency by route, events ingested and batch sizes, open live streams, refresh and
//! trace durations, the database pool, sign-in refusals.
//!
//! Never anonymous on a public address: with `--metrics-token` set, a scrape must send it as a bearer token; without
//! one, only a scraper on the same machine (a loopback peer) is answered.

use crate::store::Store;
use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{
    net::SocketAddr,
    sync::OnceLock,
    time::{Duration, Instant},
};

pub const PATH: &str = "/metrics";

/// Request latency buckets, in seconds: page loads are expected well under 150 ms, refreshes under 300 ms.
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0];
const BATCH_BUCKETS: &[f64] = &[1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// The process's recorder, installed once (every server in a process, as in the tests, shares it).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full("forestall_ingest_batch_events".into()), BATCH_BUCKETS)
                })
                .map(PrometheusBuilder::build_recorder);
            match recorder {
                Ok(recorder) => {
                    let handle = recorder.handle();
                    if metrics::set_global_recorder(recorder).is_err() {
                        tracing::warn!("a metrics recorder was installed already; /metrics shows this one's");
                    }
                    handle
                }
                Err(error) => {
                    tracing::error!(%error, "the metrics recorder could not be built");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            }
        })
        .clone()
}

/// Who may scrape: `token` if set, else loopback peers only.
#[derive(Clone, Debug, Default)]
pub struct MetricsAccess {
    pub token: Option<String>,
}

/// Records each request's latency by method, route (the router's pattern, never the raw path) and status class.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = format!("{}xx", response.status().as_u16() / 100);
    metrics::histogram!("forestall_http_request_duration_seconds", "method" => method, "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A duration of work (refresh, trace) in seconds.
pub fn record_duration(name: &'static str, took: Duration) {
    metrics::histogram!(name).record(took.as_secs_f64());
}

/// `GET /metrics`.
pub async fn scrape(State(store): State<Store>, State(access): State<MetricsAccess>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let allowed = match &access.token {
        Some(token) => request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|sent| crate::store::digest(sent) == crate::store::digest(token)),
        None => peer.is_some_and(|addr| addr.ip().is_loopback()),
    };
    if !allowed {
        let why = match access.token {
            Some(_) => "Send the metrics token (--metrics-token) as a bearer token.",
            None => "Metrics are answered to this machine only; set --metrics-token to scrape from elsewhere.",
        };
        return (StatusCode::UNAUTHORIZED, why).into_response();
    }
    let (size, idle) = store.pool_use();
    metrics::gauge!("forestall_db_pool_connections").set(f64::from(size));
    metrics::gauge!("forestall_db_pool_idle_connections").set(idle as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle().render(),
    )
        .into_response()
}
