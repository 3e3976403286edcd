//! The alert form's Impact map: the demo's db-host-01 alert drawn whole (its CI, the CIs reached by hop, where
//! maintenance stopped the spread, the accounts with their items) with a text alternative naming them; a trace too
//! big to draw whole collapsed into CI groups and the top accounts; an alert not yet traced says so.

use crate::support;

use app::install_base::ImpactMap;
use support::*;

async fn map(app: &TestApp, alert: &str) -> ImpactMap {
    let reply = app.call("impact_map", &[("alert", alert)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.parse()
}

#[tokio::test]
async fn the_demo_alerts_map_names_its_ci_the_reached_cis_the_stop_in_maintenance_and_the_accounts() {
    let app = TestApp::new().await;
    let before = map(&app, DB_HOST_ALERT).await;
    assert!(before.svg.is_empty());
    assert!(before.summary.starts_with("Nothing to draw yet"), "{}", before.summary);

    app.refresh(DB_HOST_ALERT).await;
    let drawn = map(&app, DB_HOST_ALERT).await;
    assert!(!drawn.collapsed);
    assert!(
        drawn
            .svg
            .starts_with("<svg role=\"img\" aria-label=\"Impact map\" aria-describedby=\"impact-map-summary\""),
        "{}",
        &drawn.svg[..drawn.svg.len().min(300)]
    );
    for label in [
        "db-host-01 (alert)",
        "ledger-db",
        "Acme Corporation",
        "Globex Industries",
        "Forestall IT",
        "reporting-app (in maintenance: stopped here)",
    ] {
        assert!(drawn.svg.contains(label), "{label} in the picture");
    }
    assert!(
        drawn.summary.starts_with("From db-host-01, the impact reaches"),
        "{}",
        drawn.summary
    );
    assert!(drawn.summary.contains("of 3 accounts"), "{}", drawn.summary);
    assert!(
        drawn
            .summary
            .contains("It stopped at 1 CI in maintenance: reporting-app."),
        "{}",
        drawn.summary
    );

    // On the alert page, beside the affected items.
    let page = app.get(&format!("/alerts/{DB_HOST_ALERT}")).await;
    assert!(
        page.body.contains("<h2 id=\"impact-map-heading\">Impact map</h2>"),
        "the region is there"
    );
    assert!(page.body.contains("aria-describedby=\"impact-map-summary\""));
}

#[tokio::test]
async fn a_trace_too_big_to_draw_whole_is_collapsed_into_groups_and_the_top_accounts() {
    let app = TestApp::new().await;
    let db = &app.db;
    // A hub that 60 applications depend on, each with an item of one of 20 accounts.
    let hub: i64 =
        sqlx::query_scalar("INSERT INTO configuration_items (name, class) VALUES ('hub-01', 'network') RETURNING id")
            .fetch_one(db)
            .await
            .expect("hub");
    let depends: i64 = sqlx::query_scalar("SELECT id FROM relationship_types WHERE name = 'Depends on::Used by'")
        .fetch_one(db)
        .await
        .expect("type");
    let mut accounts = Vec::new();
    for a in 0..20 {
        let id: i64 = sqlx::query_scalar("INSERT INTO accounts (name, kind) VALUES ($1, 'external') RETURNING id")
            .bind(format!("Big account {a:02}"))
            .fetch_one(db)
            .await
            .expect("account");
        accounts.push(id);
    }
    for n in 0..60 {
        let app_ci: i64 =
            sqlx::query_scalar("INSERT INTO configuration_items (name, class) VALUES ($1, 'application') RETURNING id")
                .bind(format!("hub-app-{n:02}"))
                .fetch_one(db)
                .await
                .expect("app");
        sqlx::query("INSERT INTO ci_relationships (parent_id, child_id, type_id) VALUES ($1, $2, $3)")
            .bind(app_ci)
            .bind(hub)
            .bind(depends)
            .execute(db)
            .await
            .expect("relationship");
        sqlx::query("INSERT INTO install_base_items (number, name, account_id, ci_id) VALUES ($1, $2, $3, $4)")
            .bind(format!("IB{:07}", 9_200_000 + n))
            .bind(format!("Hub item {n}"))
            .bind(accounts[n as usize % 20])
            .bind(app_ci)
            .execute(db)
            .await
            .expect("item");
    }
    let body =
        serde_json::json!({"events": [{"source": "Big", "node": "hub-01", "severity": 2, "message_key": "hub"}]});
    let posted = app
        .send(
            axum::http::Request::post("/ingest/v1/events")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {}", app::demo::DEMO_TOKEN.1))
                .body(axum::body::Body::from(body.to_string()))
                .expect("request"),
        )
        .await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    let alert = posted.parse::<IngestAnswer>().results[0].alert();
    let traced = app.refresh(&alert).await;
    assert_eq!(traced.items, 60);
    let drawn = map(&app, &alert).await;
    assert!(drawn.collapsed);
    assert!(
        drawn.svg.contains("60 application CIs · hop 1"),
        "CIs grouped by hop and class"
    );
    assert!(
        drawn.svg.contains("8 more accounts · 24 items"),
        "the accounts past the top 12 counted"
    );
    assert!(!drawn.svg.contains("hub-app-07"), "no CI drawn one by one");
    assert!(drawn.summary.contains("60 items of 20 accounts"), "{}", drawn.summary);
    assert!(
        drawn.summary.contains("groups the CIs by hop and class"),
        "{}",
        drawn.summary
    );
}
