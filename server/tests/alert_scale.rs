//! A year of alerts: All Alerts searches through trigram indexes, counts only so far, and retention removes closed
//! alerts that nothing names. (The speed is in BENCHMARKS.md, `forestall bench-alerts`.)

use crate::support;

use app::alerts::{AlertListPage, COUNT_CAP};
use axum::{body::Body, http::Request};
use support::*;

async fn list(app: &TestApp, filter: &[(&str, &str)]) -> AlertListPage {
    let mut form = filter.to_vec();
    if !filter.iter().any(|(key, _)| *key == "filter[page]") {
        form.push(("filter[page]", "1"));
    }
    let reply = app.call("list_alerts", &form).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.parse()
}

async fn found(app: &TestApp, text: &str) -> Vec<String> {
    let mut numbers: Vec<String> = list(app, &[("filter[text]", text)])
        .await
        .rows
        .into_iter()
        .map(|row| row.number)
        .collect();
    numbers.sort();
    numbers
}

fn event(key: &str, node: &str, description: &str) -> Request<Body> {
    let body = serde_json::json!({"events": [{
        "source": "Scale", "node": node, "severity": 3, "message_key": key, "description": description,
    }]});
    Request::post("/ingest/v1/events")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", app::demo::DEMO_TOKEN.1))
        .body(Body::from(body.to_string()))
        .expect("request")
}

async fn raise(app: &TestApp, key: &str, node: &str, description: &str) -> String {
    let reply = send(app.router.clone(), event(key, node, description)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let number: Option<String> = sqlx::query_scalar("SELECT number FROM alerts WHERE message_key = $1")
        .bind(key)
        .fetch_optional(&app.db)
        .await
        .expect("read");
    number.expect("the event raised an alert")
}

#[tokio::test]
async fn search_finds_any_field_ignoring_case_long_or_short_and_follows_changes() {
    let app = TestApp::new().await;
    let ours = raise(&app, "scale-search-1", "Quartz-Node-7", "Disk \"vol\" at 97 PerCent").await;

    // Indexed (three characters or more) and short searches, in each field, in any case.
    assert_eq!(found(&app, "quartz-node").await, vec![ours.clone()], "the node");
    assert_eq!(found(&app, "QUARTZ").await, vec![ours.clone()], "case is ignored");
    assert_eq!(
        found(&app, "\"vol\" at").await,
        vec![ours.clone()],
        "quotes are text, not syntax"
    );
    assert_eq!(found(&app, "percent").await, vec![ours.clone()], "the description");
    assert_eq!(found(&app, &ours).await, vec![ours.clone()], "the number");
    assert_eq!(
        found(&app, "-7").await,
        vec![ours.clone()],
        "two characters: read in order, same answer"
    );
    // A CI's name finds its alerts (the demo's db-host-01 alert is on the CI of that name).
    assert!(found(&app, "DB-HOST-0").await.contains(&DB_HOST_ALERT.to_owned()));
    // A match never spans two fields: the node's end and the source's start are not one text.
    assert!(found(&app, "7 Scale").await.is_empty());
    assert!(found(&app, "Node-7Scale").await.is_empty());

    // A new description is searched at once; the old one no longer finds the alert.
    let reply = send(
        app.router.clone(),
        event("scale-search-1", "Quartz-Node-7", "Fan tray failed"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(found(&app, "fan tray").await, vec![ours.clone()]);
    assert!(
        found(&app, "percent").await.is_empty(),
        "the old description is gone from the index"
    );
}

/// `n` closed alerts written straight to the table (numbers `Alert9…`, keys `bulk-…`), closed `closed_at`.
async fn bulk_closed_alerts(app: &TestApp, n: u32, closed_at: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {n})
         INSERT INTO alerts (number, source, node, message_key, description, severity, state, first_event_at,
                             last_event_at, closed_at)
         SELECT 'Alert9' || CAST(1000000 + i AS TEXT), 'Bulk', 'bulk-node', 'bulk-' || CAST(i AS TEXT),
                'old problem', 4, 'Closed', $1, $1, $1
         FROM k"
    )))
    .bind(closed_at)
    .execute(&app.db)
    .await
    .expect("bulk alerts");
}

#[tokio::test]
async fn past_ten_thousand_the_list_counts_no_further_yet_announces_each_new_alert() {
    let app = TestApp::new().await;
    bulk_closed_alerts(&app, 10_050, "2026-01-01 00:00:00").await;

    let first = list(&app, &[]).await;
    assert!(first.more, "more than the cap match");
    assert_eq!(first.total, COUNT_CAP);
    assert_eq!(first.pages, 2, "one page past this one while it is full");
    let page = app.get("/alerts").await;
    assert!(page.body.contains("Page 1 · more than 10,000 alerts"), "{}", page.body);
    assert!(page.body.contains("rel=\"next\""), "a next page");

    // Any page past the counted ones can be read; past the end it is empty and has no next page.
    let all = u64::try_from(app.count("SELECT COUNT(*) FROM alerts").await).expect("count");
    let last_page = u32::try_from(all.div_ceil(20)).expect("pages");
    let last = list(&app, &[("filter[page]", &last_page.to_string())]).await;
    assert_eq!(
        last.rows.len() as u64,
        all - u64::from(last_page - 1) * 20,
        "the last page's rows"
    );
    let expected = if all % 20 == 0 { last_page + 1 } else { last_page };
    assert_eq!(last.pages, expected, "no next page after the last unless it is full");
    let beyond = list(&app, &[("filter[page]", "600")]).await;
    assert!(beyond.rows.is_empty());
    assert_eq!(beyond.pages, 600, "no next page past the end");
    // A filter that matches fewer is counted exactly.
    let open = list(&app, &[("filter[state]", "Open")]).await;
    let open_count = app.count("SELECT COUNT(*) FROM alerts WHERE state = 'Open'").await;
    assert!(!open.more);
    assert_eq!(i64::try_from(open.total).expect("count"), open_count);

    // The live list is told of a new alert by a count that moves by exactly one.
    let filter = app::alerts::AlertFilter {
        since_id: first.since_id,
        ..Default::default()
    };
    assert_eq!(
        app.store.follow_total(&filter).await.expect("count"),
        first.follow_total
    );
    raise(&app, "scale-new-1", "new-node", "a new problem").await;
    assert_eq!(
        app.store.follow_total(&filter).await.expect("count"),
        first.follow_total + 1,
        "one new alert"
    );

    // A text that more than the cap hold is searched the same way (on PostgreSQL, alert by alert in the list's
    // order): the newest first, counted to the cap; with a filter that leaves few, counted exactly.
    let newest = raise(&app, "scale-old-1", "old-node", "An OLD problem, again").await;
    let common = list(&app, &[("filter[text]", "old Problem")]).await;
    assert!(common.more, "more than the cap hold the text");
    assert_eq!(common.total, COUNT_CAP);
    assert_eq!(common.rows.len(), 20);
    assert_eq!(common.rows[0].number, newest, "the newest first");
    assert!(
        common
            .rows
            .iter()
            .all(|row| row.description.to_lowercase().contains("old problem")),
        "{:?}",
        common.rows
    );
    let open = list(&app, &[("filter[text]", "old problem"), ("filter[state]", "Open")]).await;
    assert!(!open.more);
    let open_numbers: Vec<String> = open.rows.into_iter().map(|row| row.number).collect();
    assert_eq!(open_numbers, vec![newest]);
    let filter = app::alerts::AlertFilter {
        text: Some("old problem".to_owned()),
        since_id: common.since_id,
        ..Default::default()
    };
    assert_eq!(
        app.store.follow_total(&filter).await.expect("count"),
        common.follow_total
    );
    raise(&app, "scale-old-2", "old-node", "old problem once more").await;
    raise(&app, "scale-other-1", "old-node", "a different matter").await;
    assert_eq!(
        app.store.follow_total(&filter).await.expect("count"),
        common.follow_total + 1,
        "one new alert holds the text"
    );
}

#[tokio::test]
async fn retention_removes_closed_alerts_past_their_time_that_nothing_names_in_batches() {
    let app = TestApp::new().await;
    bulk_closed_alerts(&app, 450, "2025-01-01 00:00:00").await;
    // Activity on one of them goes with it.
    sqlx::query(
        "INSERT INTO journal_entries (alert_id, kind, author, created_at, body)
         SELECT id, 'activity', 'Bulk', '2025-01-01 00:00:00', 'raised' FROM alerts WHERE number = 'Alert91000001'",
    )
    .execute(&app.db)
    .await
    .expect("activity");
    // Kept: a recently closed alert, an open one, and an old closed one that a case names.
    let recent = raise(&app, "scale-recent", "n1", "closes now").await;
    let resolve = serde_json::json!({"events": [{"source": "Scale", "node": "n1", "severity": 0,
        "message_key": "scale-recent", "resolve": true}]});
    let reply = send(
        app.router.clone(),
        Request::post("/ingest/v1/events")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", app::demo::DEMO_TOKEN.1))
            .body(Body::from(resolve.to_string()))
            .expect("request"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let state: String = sqlx::query_scalar("SELECT state FROM alerts WHERE number = $1")
        .bind(&recent)
        .fetch_one(&app.db)
        .await
        .expect("state");
    assert_eq!(state, "Closed", "the resolve closed it");
    let with_case = raise(&app, "scale-case", "n2", "gets a case").await;
    let reply = app.create_case(&with_case, "Kept for its case", "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    sqlx::query("UPDATE alerts SET state = 'Closed', closed_at = '2025-01-01 00:00:00' WHERE number = $1")
        .bind(&with_case)
        .execute(&app.db)
        .await
        .expect("close it long ago");
    let open_before = app.count("SELECT COUNT(*) FROM alerts WHERE state <> 'Closed'").await;
    let all_before = app.count("SELECT COUNT(*) FROM alerts").await;

    // One batch takes at most BATCH alerts, oldest first.
    let cutoff = "2025-06-01 00:00:00";
    let first = app.store.prune_closed_alerts(cutoff).await.expect("a batch");
    assert_eq!(first, app::alerts::retention::BATCH.unsigned_abs());
    let removed = app.store.prune_all_closed_alerts(30).await.expect("retention");
    assert_eq!(
        first + removed,
        450,
        "every old closed alert that nothing names, and no other"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM alerts").await, all_before - 450);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alerts WHERE number LIKE 'Alert9%'")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alerts WHERE state <> 'Closed'").await,
        open_before
    );
    for kept in [&recent, &with_case] {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE number = $1")
            .bind(kept)
            .fetch_one(&app.db)
            .await
            .expect("count");
        assert_eq!(n, 1, "{kept} is kept");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM journal_entries WHERE alert_id IS NOT NULL AND alert_id NOT IN (SELECT id FROM alerts)")
            .await,
        0,
        "no activity is left behind"
    );
    // Their search entries went too: nothing finds them.
    assert!(found(&app, "old problem").await.is_empty());
    assert_eq!(app.store.prune_all_closed_alerts(30).await.expect("again"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_retain_closed_alerts_removes_the_old_closed_ones_at_start() {
    use crate::process::Server;
    let folder = support::TempDir::new();
    let url = format!("sqlite://{}", folder.path().join("served.db").display());
    // The database with the demo data and a hundred alerts closed long ago.
    let first = Server::start_with(folder.path(), Some(&url), &[]);
    first.ready().await;
    drop(first);
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.expect("pool");
    sqlx::query(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 100)
         INSERT INTO alerts (number, source, node, message_key, severity, state, first_event_at, last_event_at, closed_at)
         SELECT 'Alert9' || CAST(1000000 + i AS TEXT), 'Bulk', 'n', 'bulk-' || CAST(i AS TEXT), 4, 'Closed',
                '2020-01-01 00:00:00', '2020-01-01 00:00:00', '2020-01-01 00:00:00' FROM k",
    )
    .execute(&pool)
    .await
    .expect("old alerts");
    let open = "SELECT COUNT(*) FROM alerts WHERE state <> 'Closed'";
    let open_before: i64 = sqlx::query_scalar(open).fetch_one(&pool).await.expect("count");

    let server = Server::start_with(folder.path(), Some(&url), &[("FORESTALL_RETAIN_CLOSED_ALERTS", "30")]);
    server.ready().await;
    let old = "SELECT COUNT(*) FROM alerts WHERE number LIKE 'Alert9%'";
    let started = std::time::Instant::now();
    loop {
        let left: i64 = sqlx::query_scalar(old).fetch_one(&pool).await.expect("count");
        if left == 0 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "{left} old closed alerts still there after 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let open_after: i64 = sqlx::query_scalar(open).fetch_one(&pool).await.expect("count");
    assert_eq!(open_after, open_before, "no open alert is removed");
    pool.close().await;
}
