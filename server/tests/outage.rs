//! The database goes away under load (PostgreSQL: its connections cut and new ones refused, as during a restart):
//! requests are answered 503 within seconds with a clear message, never hang and never panic; `/healthz` says so;
//! the pool recovers by itself once the database is back; nothing acknowledged is lost.

use crate::support;

use axum::{body::Body, http::Request};
use std::time::{Duration, Instant};
use support::*;

fn event(key: &str) -> Request<Body> {
    let body = serde_json::json!({"events": [{"source": "Outage", "node": "mail-relay-01", "severity": 3, "message_key": key}]});
    Request::post("/ingest/v1/events")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", app::demo::DEMO_TOKEN.1))
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn healthz() -> Request<Body> {
    Request::get("/healthz").body(Body::empty()).expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_answers_503_quickly_and_the_server_recovers_with_nothing_acknowledged_lost() {
    let app = TestApp::new().await;
    let TestDatabase::Postgres { server, name } = app.database() else {
        // SQLite is a file of the server's own: it cannot go away like this (its full disk is another case).
        return;
    };
    let admin = sqlx::AnyPool::connect(server).await.expect("the server's own database");
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let key = format!("outage-before-{i}");
        assert_eq!(send(app.router.clone(), event(&key)).await.status, 200);
        acknowledged.push(key);
    }

    // Away: every connection cut, new ones refused.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
    )))
    .execute(&admin)
    .await
    .expect("refuse connections");
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .execute(&admin)
    .await
    .expect("cut connections");
    let mut refused = 0;
    for i in 0..5 {
        let started = Instant::now();
        let reply = send(app.router.clone(), event(&format!("outage-during-{i}"))).await;
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "an answer within the pool's timeout, not a hang"
        );
        if reply.status == 503 {
            assert!(reply.body.contains("The database is not answering"), "{}", reply.body);
            refused += 1;
        } else {
            assert_eq!(reply.status, 200, "either refused as 503 or stored: {}", reply.body);
            acknowledged.push(format!("outage-during-{i}"));
        }
        let health = send(app.router.clone(), healthz()).await;
        assert_eq!(health.status, 503, "/healthz says the database is away");
        assert!(health.body.contains("database unavailable"));
    }
    assert!(refused >= 4, "the database was away: {refused} of 5 refused");

    // Back: the pool reconnects by itself.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"
    )))
    .execute(&admin)
    .await
    .expect("allow connections");
    let started = Instant::now();
    while send(app.router.clone(), healthz()).await.status != 200 {
        assert!(started.elapsed() < Duration::from_secs(30), "the pool did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for i in 0..10 {
        let key = format!("outage-after-{i}");
        let reply = send(app.router.clone(), event(&key)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        acknowledged.push(key);
    }
    let stored: Vec<String> = sqlx::query_scalar("SELECT message_key FROM alerts WHERE message_key LIKE 'outage-%'")
        .fetch_all(&app.db)
        .await
        .expect("alerts");
    for key in &acknowledged {
        assert_eq!(stored.iter().filter(|k| *k == key).count(), 1, "{key} was acknowledged");
    }
    admin.close().await;
}
