//! `GET /metrics`: Prometheus' text format, only with the metrics token (or from this machine), and read by a real
//! Prometheus (Debian's, on loopback) whose API gives the series back.

use crate::{
    process::{http, Server},
    support,
};

use axum::{body::Body, http::Request};
use std::time::{Duration, Instant};
use support::*;

fn scrape(token: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/metrics");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(Body::empty()).expect("request")
}

#[tokio::test]
async fn metrics_need_their_token_and_show_latency_by_route_events_and_the_pool() {
    let app = TestApp::with_settings(app::state::Settings {
        metrics_token: Some("scrape-secret".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(app.get("/alerts").await.status, 200);
    let body = serde_json::json!({"events": [{"source": "Metrics", "node": "mail-relay-01", "severity": 3}]});
    let event = Request::post("/ingest/v1/events")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", app::demo::DEMO_TOKEN.1))
        .body(Body::from(body.to_string()))
        .expect("request");
    assert_eq!(send(app.router.clone(), event).await.status, 200);
    app.refresh(MAIL_ALERT).await;

    let anonymous = send(app.router.clone(), scrape(None)).await;
    assert_eq!(anonymous.status, 401, "never anonymous");
    let wrong = send(app.router.clone(), scrape(Some("guess"))).await;
    assert_eq!(wrong.status, 401);
    let reply = send(app.router.clone(), scrape(Some("scrape-secret"))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for series in [
        "forestall_http_request_duration_seconds_bucket{method=\"GET\",route=\"/alerts\",status=\"2xx\"",
        "forestall_events_total{outcome=\"accepted\"}",
        "forestall_ingest_batch_events_bucket",
        "forestall_db_pool_connections",
        "forestall_refresh_duration_seconds_bucket",
        "forestall_trace_duration_seconds_bucket",
    ] {
        assert!(reply.body.contains(series), "{series} missing from:\n{}", reply.body);
    }
    // Without a token configured, only this machine is answered (the in-process call has no peer address).
    let open = TestApp::new().await;
    let refused = send(open.router.clone(), scrape(None)).await;
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("this machine only"), "{}", refused.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_forestall_and_gives_a_series_back_through_its_api() {
    let folder = TempDir::new();
    let token = "prometheus-scrape-token";
    let server = Server::start_with(folder.path(), None, &[("FORESTALL_METRICS_TOKEN", token)]);
    server.ready().await;
    let prometheus_port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let config = folder.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: forestall\n    authorization:\n      type: Bearer\n      credentials: {token}\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            server.port
        ),
    )
    .expect("config");
    let mut prometheus = std::process::Command::new("/usr/bin/prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", folder.path().join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("Debian's prometheus (scripts/ensure-tools installs it)");
    let query = "/api/v1/query?query=forestall_http_request_duration_seconds_count%7Broute%3D%22%2Fhealthz%22%7D";
    let started = Instant::now();
    let mut answer = String::new();
    while started.elapsed() < Duration::from_secs(60) {
        // Requests for Prometheus to see, then its view of them.
        let _ = http(server.port, "GET /healthz HTTP/1.1", &[], "").await;
        if let Ok((200, body)) = http(prometheus_port, &format!("GET {query} HTTP/1.1"), &[], "").await {
            if body.contains("\"__name__\":\"forestall_http_request_duration_seconds_count\"") {
                answer = body;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    assert!(
        answer.contains("\"route\":\"/healthz\""),
        "Prometheus never returned the series: {answer}"
    );
    assert!(answer.contains("\"job\":\"forestall\""), "{answer}");
}
