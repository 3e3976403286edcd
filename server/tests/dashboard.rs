//! The proactive dashboard against a hand-made data set: two weeks of alerts, cases, notices and reactive cases
//! whose every figure is worked out here by hand, then read back through the dashboard's server function, its page
//! and its CSV. Bad periods are refused with a message.

use crate::support;

use app::{access::Role, dashboard::DashboardView};
use axum::{body::Body, http::Request};
use sqlx::AnyPool;
use support::*;

/// Inserts a row and answers its id.
async fn id(db: &AnyPool, sql: &str, binds: &[&str]) -> i64 {
    binds
        .iter()
        .fold(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())), |q, b| {
            q.bind(b.to_string())
        })
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn run(db: &AnyPool, sql: &str, binds: &[&str]) {
    binds
        .iter()
        .fold(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), |q, b| {
            q.bind(b.to_string())
        })
        .execute(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn account(db: &AnyPool, name: &str) -> String {
    id(
        db,
        "INSERT INTO accounts (name, kind) VALUES ($1, 'external') RETURNING id",
        &[name],
    )
    .await
    .to_string()
}

/// An alert raised at `raised`, closed at `closed` (or open), with case `case` if any.
async fn alert(db: &AnyPool, number: &str, raised: &str, closed: Option<&str>) -> String {
    let state = if closed.is_some() { "Closed" } else { "Open" };
    let id = id(
        db,
        "INSERT INTO alerts (number, source, node, message_key, severity, state, first_event_at, last_event_at, closed_at)
         VALUES ($1, 'Hand', 'hand-node', $1, 2, $2, $3, $3, NULLIF($4, '')) RETURNING id",
        &[number, state, raised, closed.unwrap_or("")],
    )
    .await;
    id.to_string()
}

/// A proactive case on `alert` (top level when `parent` is empty), opened at `opened`.
async fn case(db: &AnyPool, number: &str, alert: &str, parent: &str, account: &str, opened: &str) -> String {
    id(
        db,
        "INSERT INTO cases (number, proactive, alert_id, parent_id, account_id, short_description, priority, state,
                            opened_by, opened_at)
         VALUES ($1, 1, CAST($2 AS BIGINT), CAST(NULLIF($3, '') AS BIGINT), CAST(NULLIF($4, '') AS BIGINT), 'Hand made',
                 2, 'Open', 'hand', $5)
         RETURNING id",
        &[number, alert, parent, account, opened],
    )
    .await
    .to_string()
}

async fn covers(db: &AnyPool, case: &str, account: &str, child: &str, items: &str) {
    run(
        db,
        "INSERT INTO case_accounts (case_id, account_id, child_case_id, items, added_at)
         VALUES (CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS BIGINT), CAST($4 AS BIGINT), '2026-11-01 00:00:00')",
        &[case, account, child, items],
    )
    .await;
}

/// A notice to `account` on `case`: accepted by the mail server at `sent`, or still pending.
async fn notice(db: &AnyPool, case: &str, account: &str, child: &str, sent: Option<&str>) {
    let message_id = format!("<hand.{case}.{account}@example>");
    let (status, next) = match sent {
        Some(_) => ("sent", ""),
        None => ("pending", "2026-11-01 00:00:00"),
    };
    run(
        db,
        "INSERT INTO notices (case_id, account_id, child_case_id, kind, seq, recipients, subject, body, message_id,
                              status, next_attempt_at, created_by, created_at, sent_at)
         VALUES (CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS BIGINT), 'initial', 1, 'a@example.com', 'Subject',
                 'Body', $4, $5, NULLIF($6, ''), 'hand', '2026-11-01 00:00:00', NULLIF($7, ''))",
        &[case, account, child, &message_id, status, next, sent.unwrap_or("")],
    )
    .await;
}

async fn reactive(db: &AnyPool, number: &str, account: &str, related: &str, opened: &str) {
    run(
        db,
        "INSERT INTO cases (number, proactive, account_id, short_description, priority, state, opened_by, opened_at,
                            channel, related_case_id)
         VALUES ($1, 0, CAST($2 AS BIGINT), 'Customer called', 3, 'New', 'hand', $3, 'phone', CAST($4 AS BIGINT))",
        &[number, account, opened, related],
    )
    .await;
}

async fn link(db: &AnyPool, alert: &str, case: &str) {
    run(
        db,
        "UPDATE alerts SET case_id = CAST($1 AS BIGINT) WHERE id = CAST($2 AS BIGINT)",
        &[case, alert],
    )
    .await;
}

/// The data set. Weeks of Monday 2026-11-02 and Monday 2026-11-09:
///
/// - week 1: alert 1 (10:00–14:00) has major case C1 at 10:30 over Hand A (2 items) and Hand B (1 item); A is
///   told at 10:50 and never calls; B calls at 11:00 and is told at 11:10. Alert 2 has a snapshot with an item and
///   no case; alert 3 neither.
/// - week 2: alert 4 (from 11-10 08:00, still open) has case C2 at 09:00 over Hand C (4 items), told at 09:20, who
///   calls at 10:20; alert 5 (11-11 00:00–12:00) has case C3 at 02:00 over Hand A (1 item), its notice still queued.
/// - outside the period: alert 6 on 11-16, with a case.
async fn hand_made(app: &TestApp) {
    let db = &app.db;
    let (a, b, c) = (
        account(db, "Hand A").await,
        account(db, "Hand B").await,
        account(db, "Hand C").await,
    );
    let ci = id(
        db,
        "INSERT INTO configuration_items (name, class) VALUES ('hand-ci', 'server') RETURNING id",
        &[],
    )
    .await
    .to_string();
    let item = id(
        db,
        "INSERT INTO install_base_items (number, name, account_id, ci_id)
         VALUES ('IB9100001', 'Hand item', CAST($1 AS BIGINT), CAST($2 AS BIGINT)) RETURNING id",
        &[&a, &ci],
    )
    .await
    .to_string();

    let alert1 = alert(db, "Alert9100001", "2026-11-02 10:00:00", Some("2026-11-02 14:00:00")).await;
    let c1 = case(db, "CS9100001", &alert1, "", "", "2026-11-02 10:30:00").await;
    let k1 = case(db, "CS9100002", &alert1, &c1, &a, "2026-11-02 10:30:00").await;
    let k2 = case(db, "CS9100003", &alert1, &c1, &b, "2026-11-02 10:30:00").await;
    link(db, &alert1, &c1).await;
    covers(db, &c1, &a, &k1, "2").await;
    covers(db, &c1, &b, &k2, "1").await;
    notice(db, &c1, &a, &k1, Some("2026-11-02 10:50:00")).await;
    notice(db, &c1, &b, &k2, Some("2026-11-02 11:10:00")).await;
    reactive(db, "CS9100010", &b, &c1, "2026-11-02 11:00:00").await;

    let alert2 = alert(db, "Alert9100002", "2026-11-04 09:00:00", None).await;
    run(
        db,
        "UPDATE alerts SET ib_refreshed_at = '2026-11-04 09:05:00' WHERE id = CAST($1 AS BIGINT)",
        &[&alert2],
    )
    .await;
    run(
        db,
        "INSERT INTO affected_items (alert_id, item_id, reason, hops) VALUES (CAST($1 AS BIGINT), CAST($2 AS BIGINT), 'direct', 0)",
        &[&alert2, &item],
    )
    .await;
    alert(db, "Alert9100003", "2026-11-05 12:00:00", None).await;

    let alert4 = alert(db, "Alert9100004", "2026-11-10 08:00:00", None).await;
    let c2 = case(db, "CS9100004", &alert4, "", &c, "2026-11-10 09:00:00").await;
    link(db, &alert4, &c2).await;
    covers(db, &c2, &c, &c2, "4").await;
    notice(db, &c2, &c, &c2, Some("2026-11-10 09:20:00")).await;
    reactive(db, "CS9100011", &c, &c2, "2026-11-10 10:20:00").await;

    let alert5 = alert(db, "Alert9100005", "2026-11-11 00:00:00", Some("2026-11-11 12:00:00")).await;
    let c3 = case(db, "CS9100005", &alert5, "", &a, "2026-11-11 02:00:00").await;
    link(db, &alert5, &c3).await;
    covers(db, &c3, &a, &c3, "1").await;
    notice(db, &c3, &a, &c3, None).await;

    let alert6 = alert(db, "Alert9100006", "2026-11-16 00:00:00", None).await;
    let c4 = case(db, "CS9100006", &alert6, "", &c, "2026-11-16 00:10:00").await;
    link(db, &alert6, &c4).await;
    covers(db, &c4, &c, &c4, "9").await;
}

async fn dashboard(app: &TestApp, from: &str, to: &str) -> Reply {
    app.call("dashboard", &[("from", from), ("to", to)]).await
}

#[tokio::test]
async fn every_figure_matches_the_hand_made_set() {
    let app = TestApp::new().await;
    hand_made(&app).await;
    let reply = dashboard(&app, "2026-11-02", "2026-11-15").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let view: DashboardView = reply.parse();
    assert_eq!((view.from.as_str(), view.to.as_str()), ("2026-11-02", "2026-11-15"));
    assert_eq!(view.weeks.len(), 2);
    let (w1, w2, all) = (&view.weeks[0], &view.weeks[1], &view.all);
    assert_eq!(w1.week, "2026-11-02");
    assert_eq!((w1.raised, w1.reached, w1.with_case), (3, 2, 1));
    assert_eq!((w1.to_case.median, w1.to_case.p90), (Some(1_800), Some(1_800)));
    assert_eq!((w1.to_notice.count, w1.to_notice.median), (1, Some(1_200)));
    assert_eq!((w1.accounts, w1.beaten, w1.lead.count), (2, 1, 0));
    assert_eq!(w2.week, "2026-11-09");
    assert_eq!((w2.raised, w2.reached, w2.with_case), (2, 2, 2));
    assert_eq!((w2.to_case.median, w2.to_case.p90), (Some(3_600), Some(7_200)));
    assert_eq!((w2.to_notice.count, w2.to_notice.median), (1, Some(1_200)));
    assert_eq!((w2.accounts, w2.beaten, w2.lead.median), (2, 1, Some(3_600)));
    assert_eq!((all.raised, all.reached, all.with_case), (5, 4, 3));
    assert_eq!(all.case_share(), Some(75.0));
    assert_eq!((all.to_case.median, all.to_case.p90), (Some(3_600), Some(7_200)));
    assert_eq!((all.accounts, all.beaten), (4, 2));
    assert_eq!(all.beat_share(), Some(50.0));
    let top: Vec<(&str, f64, u64)> = view
        .top_accounts
        .iter()
        .map(|a| (a.account.as_str(), a.item_hours, a.cases))
        .collect();
    // C: 4 items from 11-10 08:00 to the period's end (11-16 00:00), 136 h; A: 2 × 4 h + 1 × 12 h; B: 1 × 4 h.
    assert_eq!(top, [("Hand C", 544.0, 1), ("Hand A", 20.0, 2), ("Hand B", 4.0, 1)]);

    // Each chart is an image named by its title and described by the summary the page prints.
    let titles: Vec<&str> = view.charts.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Alerts by week", "Time to act, by week", "Beat the customer, by week"]
    );
    for chart in &view.charts {
        assert!(
            chart.svg.contains(&format!(
                "role=\"img\" aria-label=\"{}\" aria-describedby=\"{}-summary\"",
                chart.title, chart.id
            )),
            "{}",
            chart.svg
        );
        assert!(chart.svg.trim_end().ends_with("</svg>"), "{}", chart.id);
    }
    assert!(
        view.charts[0].svg.contains("Reached customers"),
        "the legend names each series"
    );
    assert_eq!(
        view.charts[0].summary,
        "Over 2 weeks, 5 alerts were raised, 4 reached customers and 3 of those got a proactive case (75%). \
         The busiest week began 2026-11-02, with 3 alerts."
    );
    assert!(view.charts[2]
        .summary
        .starts_with("Over the period, 2 of 4 affected accounts (50%) were told before"));
}

#[tokio::test]
async fn the_page_shows_the_charts_and_tables_and_the_csv_holds_the_same_figures() {
    let mut app = TestApp::new().await;
    hand_made(&app).await;
    app.cookie = Some(app.sign_in_as(Role::SnCustomerserviceAgent).await);
    let page = app.get("/dashboard?from=2026-11-02&to=2026-11-15").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = page.body.replace("<!>", "");
    for name in ["Alerts by week", "Time to act, by week", "Beat the customer, by week"] {
        assert!(body.contains(&format!("aria-label=\"{name}\"")), "{name}");
        assert!(
            body.contains(&format!("<summary>{name} as a table</summary>")),
            "{name}"
        );
    }
    assert!(
        body.contains("<th scope=\"row\">Hand C</th><td>544.0</td><td>1</td>"),
        "{body}"
    );
    assert!(body.contains("href=\"/dashboard.csv?table=weeks&amp;from=2026-11-02&amp;to=2026-11-15\""));

    let csv = app
        .send(
            Request::get("/dashboard.csv?table=weeks&from=2026-11-02&to=2026-11-15")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(
        csv.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 4, "header, two weeks, the period: {}", csv.body);
    assert!(lines[0].starts_with("week,alerts_raised,reached_customers,with_proactive_case,"));
    assert_eq!(lines[1], "2026-11-02,3,2,1,1800,1800,1200,1200,2,1,");
    assert_eq!(lines[2], "2026-11-09,2,2,2,3600,7200,1200,1200,2,1,3600");
    assert_eq!(lines[3], "All,5,4,3,3600,7200,1200,1200,4,2,3600");
    let accounts = app
        .send(
            Request::get("/dashboard.csv?table=accounts&from=2026-11-02&to=2026-11-15")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(
        accounts.body,
        "account,affected_item_hours,proactive_cases\nHand C,544.0,1\nHand A,20.0,2\nHand B,4.0,1\n"
    );
}

#[tokio::test]
async fn bad_periods_are_refused_with_a_message() {
    let app = TestApp::new().await;
    for (from, to, field, message) in [
        (
            "2026-13-01",
            "",
            "from",
            "Enter the start as a date, such as 2026-11-30.",
        ),
        ("", "soon", "to", "Enter the end as a date, such as 2026-11-30."),
        (
            "2026-11-20",
            "2026-11-01",
            "from",
            "The start is after the end: choose a start on or before it.",
        ),
        (
            "2024-01-01",
            "2026-11-30",
            "from",
            "The dashboard shows at most 106 weeks: choose a later start or an earlier end.",
        ),
    ] {
        let reply = dashboard(&app, from, to).await;
        assert_eq!(reply.status, 422, "{from}..{to}: {}", reply.body);
        assert_eq!(reply.invalid_field(), field, "{from}..{to}");
        assert!(reply.body.contains(message), "{from}..{to}: {}", reply.body);
        let page = app.get(&format!("/dashboard?from={from}&to={to}")).await;
        assert!(page.body.contains(message), "the page says it too: {from}..{to}");
    }
    let bad_table = app
        .send(
            Request::get("/dashboard.csv?table=everything")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(bad_table.status, 422, "{}", bad_table.body);
}

#[tokio::test]
async fn the_demo_history_gives_the_dashboard_six_weeks_of_trends_and_leaves_the_live_numbers_alone() {
    let app = TestApp::new().await;
    // The default period: the 12 weeks up to this one. The demo's own alerts (fixed times) may fall in it too.
    let read = || async {
        let reply = app.call("dashboard", &[("from", ""), ("to", "")]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.parse::<DashboardView>()
    };
    let before = read().await;
    assert_eq!(app.store.seed_demo_history().await.expect("history"), 63);
    assert_eq!(app.store.seed_demo_history().await.expect("again"), 0, "written once");
    let view = read().await;
    let past = |view: &DashboardView| -> Vec<app::dashboard::figures::WeekFigures> {
        view.weeks.iter().rev().skip(1).take(6).rev().cloned().collect()
    };
    let added = |value: fn(&app::dashboard::figures::WeekFigures) -> u64| -> Vec<u64> {
        past(&view)
            .iter()
            .zip(past(&before))
            .map(|(a, b)| value(a) - value(&b))
            .collect()
    };
    assert_eq!(added(|w| w.raised), [9, 11, 8, 12, 10, 13]);
    assert_eq!(added(|w| w.with_case), [5, 7, 6, 10, 9, 12]);
    let past = past(&view);
    let medians: Vec<i64> = past.iter().map(|w| w.to_case.median.expect("cases")).collect();
    assert!(
        medians.windows(2).all(|w| w[0] > w[1]),
        "cases come faster: {medians:?}"
    );
    let (first, last) = (
        past[0].beat_share().expect("accounts"),
        past[5].beat_share().expect("accounts"),
    );
    assert!(last > first, "more customers told first: {first} then {last}");
    assert!(view.charts.iter().all(|c| c.svg.contains("</svg>")));
    // The live data's numbers are the demo's as before: the next case is CS0010001.
    app.refresh(MAIL_ALERT).await;
    let made = app.create_case(MAIL_ALERT, "Mail relay down", "").await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert!(made.body.contains("CS0010001"), "{}", made.body);
}

/// Each day's alerts and those with a case: as the triggers keep them, and as counted from the alerts.
async fn day_counts(db: &AnyPool) -> (Vec<(String, i64, i64)>, Vec<(String, i64, i64)>) {
    let kept = sqlx::query_as(
        "SELECT day, CAST(SUM(raised) AS BIGINT), CAST(SUM(with_case) AS BIGINT) FROM alert_days
         GROUP BY day HAVING SUM(raised) > 0 ORDER BY day",
    )
    .fetch_all(db)
    .await
    .expect("kept");
    let counted = sqlx::query_as(
        "SELECT substr(first_event_at, 1, 10), COUNT(*),
                CAST(SUM(CASE WHEN case_id IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT)
         FROM alerts GROUP BY substr(first_event_at, 1, 10) ORDER BY 1",
    )
    .fetch_all(db)
    .await
    .expect("counted");
    (kept, counted)
}

#[tokio::test]
async fn the_kept_day_counts_follow_every_write_to_the_alerts() {
    let app = TestApp::new().await;
    let (kept, counted) = day_counts(&app.db).await;
    assert_eq!(kept, counted, "the demo's alerts");
    hand_made(&app).await;
    let (kept, counted) = day_counts(&app.db).await;
    assert_eq!(kept, counted, "inserted, and given their cases");
    // Ingestion, a case made through the API, retention's delete, an administrator's change of a time.
    let body = serde_json::json!({"events": [
        {"source": "Days", "node": "mail-relay-01", "severity": 2, "message_key": "days-1"},
        {"source": "Days", "node": "db-host-01", "severity": 3, "message_key": "days-2"}
    ]});
    let posted = app
        .send(
            Request::post("/ingest/v1/events")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {}", app::demo::DEMO_TOKEN.1))
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    app.refresh(MAIL_ALERT).await;
    assert_eq!(app.create_case(MAIL_ALERT, "Mail relay down", "").await.status, 200);
    run(&app.db, "DELETE FROM alerts WHERE number = 'Alert9100003'", &[]).await;
    run(
        &app.db,
        "UPDATE alerts SET first_event_at = '2026-10-01 00:00:00' WHERE number = 'Alert9100002'",
        &[],
    )
    .await;
    let (kept, counted) = day_counts(&app.db).await;
    assert_eq!(kept, counted, "after ingestion, a case, a delete and a changed time");
    assert!(counted.iter().any(|(day, ..)| day == "2026-10-01"));
}
