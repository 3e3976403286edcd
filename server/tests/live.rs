//! Live updates: the stream an open page reads (`GET /live`), in-process. Each change is made the way a user or a
//! tool makes it, and the stream must hear of it, in time, and only when the viewer may see it.

use crate::support;

use app::{
    access::Role,
    live::{Change, RecordKind},
    state::Settings,
    store::Store,
};
use axum::{body::Body, http::Request, Router};
use http_body_util::BodyExt;
use std::time::Duration;
use support::*;
use tower::ServiceExt;

/// How long a change may take to reach a stream here (the target is well under a second; CI machines are shared).
const WITHIN: Duration = Duration::from_secs(5);

/// One server-sent event.
#[derive(Debug)]
struct Sse {
    event: String,
    id: String,
    data: String,
}

impl Sse {
    /// The records a `changes` event names (what changed within its gathering window).
    fn changes(&self) -> Vec<Change> {
        assert_eq!(self.event, "changes", "{self:?}");
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("not changes ({e}): {self:?}"))
    }
}

/// An open stream's events, as a browser's EventSource would read them.
struct Events {
    body: Body,
    buffer: String,
}

impl Events {
    async fn open(
        router: &Router,
        cookie: Option<&str>,
        query: &str,
        last_event_id: Option<&str>,
    ) -> (u16, Option<Self>) {
        let mut request = Request::get(format!("/live?{query}")).header("accept", "text/event-stream");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let status = response.status().as_u16();
        let ok = status == 200;
        if ok {
            assert_eq!(
                response.headers().get("content-type").and_then(|v| v.to_str().ok()),
                Some("text/event-stream")
            );
        }
        (
            status,
            ok.then(|| Self {
                body: response.into_body(),
                buffer: String::new(),
            }),
        )
    }

    /// The next event with a name (retry hints and keep-alives are skipped), or `None` if the stream ended or none
    /// came within `within`.
    async fn next_within(&mut self, within: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        event = Some(value.trim().to_owned());
                    } else if let Some(value) = line.strip_prefix("id:") {
                        id = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim());
                    }
                }
                if let Some(event) = event {
                    return Some(Sse { event, id, data });
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame()).await.ok()??.ok()?;
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }

    async fn next(&mut self) -> Sse {
        self.next_within(WITHIN)
            .await
            .expect("an event within the time allowed")
    }

    /// Every event that comes within `within`.
    async fn drain(&mut self, within: Duration) -> Vec<Sse> {
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + within;
        while let Some(event) = self
            .next_within(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            events.push(event);
        }
        events
    }
}

fn alert(number: &str) -> Change {
    Change {
        kind: RecordKind::Alert,
        number: number.into(),
    }
}

#[tokio::test]
async fn an_open_stream_hears_of_each_change_to_what_it_follows_and_of_nothing_else() {
    let app = TestApp::new().await;
    let topics = format!("topics=alert:{DB_HOST_ALERT}");
    let (status, events) = Events::open(&app.router, app.cookie.as_deref(), &topics, None).await;
    assert_eq!(status, 200);
    let mut events = events.expect("stream");

    // A change to another alert first: the stream must skip it and name only the one it follows.
    app.refresh(MAIL_ALERT).await;
    app.refresh(DB_HOST_ALERT).await;
    assert_eq!(events.next().await.changes(), [alert(DB_HOST_ALERT)]);

    // The case: its number lands in the alert's Case field, so the alert changed.
    let made = app
        .create_case(DB_HOST_ALERT, "Database host down", "Calling the DBA.")
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let event = events.next().await;
    assert_eq!(event.changes(), [alert(DB_HOST_ALERT)]);
    assert!(!event.id.is_empty(), "each event carries the position to resume from");
    // Nothing about the other alert followed.
    for event in events.drain(Duration::from_millis(700)).await {
        assert_eq!(event.changes(), [alert(DB_HOST_ALERT)]);
    }
}

#[tokio::test]
async fn what_a_role_may_not_see_is_never_sent() {
    let app = TestApp::new().await;
    let agent = app.sign_in_as(Role::SnCustomerserviceAgent).await;
    let admin = app.sign_in_as(Role::Admin).await;
    // Agents may not view alerts, administrators neither alerts nor cases: refused outright.
    for (cookie, topics) in [
        (&agent, "topics=alerts"),
        (&agent, "topics=cases,alerts"),
        (&admin, "topics=cases"),
    ] {
        let (status, events) = Events::open(&app.router, Some(cookie), topics, None).await;
        assert_eq!(status, 403, "{topics}");
        assert!(events.is_none());
    }
    // Nobody signed in, another site's page, or topics that are not topics.
    assert_eq!(Events::open(&app.router, None, "topics=alerts", None).await.0, 401);
    let cross_site = Request::get("/live?topics=alerts")
        .header("cookie", app.cookie.as_deref().expect("cookie"))
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .expect("request");
    assert_eq!(send_head(app.router.clone(), cross_site).await.status, 403);
    for bad in ["", "topics=", "topics=users", "topics=alert:CS0010001"] {
        let reply = app.get(&format!("/live?{bad}")).await;
        assert_eq!(reply.status, 422, "{bad}: {}", reply.body);
        let error: app::AppError = reply.parse();
        assert!(error.message_for("topics").is_some(), "{error:?}");
    }

    // The agent's stream of cases hears of the case and never of the alert it was made from.
    let (status, events) = Events::open(&app.router, Some(&agent), "topics=cases", None).await;
    assert_eq!(status, 200);
    let mut events = events.expect("stream");
    app.refresh(MAIL_ALERT).await;
    let made = app.create_case(MAIL_ALERT, "Mail relay down", "").await;
    assert_eq!(made.status, 200, "{}", made.body);
    let mut heard = events.next().await.changes();
    for event in events.drain(Duration::from_millis(700)).await {
        heard.extend(event.changes());
    }
    assert!(
        !heard.is_empty() && heard.iter().all(|c| c.kind == RecordKind::Case),
        "{heard:?}"
    );
}

#[tokio::test]
async fn a_page_that_reconnects_gets_what_it_missed_or_is_told_to_resync() {
    let app = TestApp::new().await;
    let topics = format!("topics=alert:{DB_HOST_ALERT}");
    let cookie = app.cookie.as_deref();
    let (_, events) = Events::open(&app.router, cookie, &topics, None).await;
    let mut events = events.expect("stream");
    app.refresh(DB_HOST_ALERT).await;
    let last_seen = events.next().await.id;
    drop(events); // the network blips

    // While the page is away: a change to another alert, then one to its alert (another page, still connected,
    // shows when the server has delivered both).
    let (_, watcher) = Events::open(&app.router, cookie, "topics=alerts", None).await;
    let mut watcher = watcher.expect("stream");
    app.refresh(MAIL_ALERT).await;
    app.refresh(DB_HOST_ALERT).await;
    while !watcher.next().await.changes().contains(&alert(DB_HOST_ALERT)) {}

    // The browser reconnects with the last id it saw: the missed change comes, and nothing about the other alert.
    let (_, events) = Events::open(&app.router, cookie, &topics, Some(&last_seen)).await;
    let mut events = events.expect("stream");
    assert_eq!(events.next().await.changes(), [alert(DB_HOST_ALERT)]);
    for event in events.drain(Duration::from_millis(500)).await {
        assert_eq!(event.changes(), [alert(DB_HOST_ALERT)]);
    }

    // A position this instance never gave (another instance's, or one from before a restart): resync.
    let (_, events) = Events::open(&app.router, cookie, &format!("{topics}&since=1f-3"), None).await;
    assert_eq!(events.expect("stream").next().await.event, "resync");
}

#[tokio::test]
async fn another_instance_on_the_same_database_pushes_what_the_first_committed() {
    let app = TestApp::new().await;
    // Instance B: its own store, hub and follower on the same database (on SQLite, as a second process would be).
    let store = Store::open(&app.url).await.expect("second instance");
    let b = server::router(server::app_state(test_options(), store, Settings::default()));
    // Sessions live in the database: the operator's cookie from A signs in on B as well.
    let (status, events) = Events::open(
        &b,
        app.cookie.as_deref(),
        &format!("topics=alert:{MAIL_ALERT},cases"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let mut events = events.expect("stream on B");

    // A makes the case.
    app.refresh(MAIL_ALERT).await;
    let made = app.create_case(MAIL_ALERT, "Mail relay down", "").await;
    assert_eq!(made.status, 200, "{}", made.body);
    let case: app::cases::CaseCreated = made.parse();
    let case = Change {
        kind: RecordKind::Case,
        number: case.number,
    };
    let mut heard = Vec::new();
    while !(heard.contains(&case) && heard.contains(&alert(MAIL_ALERT))) {
        heard.extend(events.next().await.changes());
    }

    // An administrator's SQL, outside any Forestall process, reaches B too.
    sqlx::query("UPDATE alerts SET severity = 2 WHERE number = $1")
        .bind(MAIL_ALERT)
        .execute(&app.db)
        .await
        .expect("update");
    loop {
        if events.next().await.changes().contains(&alert(MAIL_ALERT)) {
            break;
        }
    }
}

#[tokio::test]
async fn a_burst_too_big_to_name_tells_a_list_to_refetch_and_still_names_a_followed_alert() {
    let app = TestApp::new().await;
    let (_, list) = Events::open(&app.router, app.cookie.as_deref(), "topics=alerts", None).await;
    let (_, form) = Events::open(
        &app.router,
        app.cookie.as_deref(),
        &format!("topics=alert:{DB_HOST_ALERT},cases"),
        None,
    )
    .await;
    let (mut list, mut form) = (list.expect("list stream"), form.expect("form stream"));

    // 150 alerts change in one transaction, as the database reports them (the follower does not read the alerts).
    let burst = if app.url.starts_with("postgres") {
        "SELECT pg_notify('forestall_changes', 'alert ' || number) FROM (SELECT 'Alert' || n AS number \
         FROM generate_series(9000001, 9000149) AS n UNION ALL SELECT $1) AS burst"
    } else {
        "WITH RECURSIVE n(i) AS (SELECT 9000001 UNION ALL SELECT i + 1 FROM n WHERE i < 9000149) \
         INSERT INTO change_log (kind, number) SELECT 'alert', 'Alert' || i FROM n UNION ALL SELECT 'alert', $1"
    };
    sqlx::query(burst)
        .bind(DB_HOST_ALERT)
        .execute(&app.db)
        .await
        .expect("burst");

    // The list cannot be told 150 names in one event: it hears `resync` (and refetches its rows).
    loop {
        let event = list.next().await;
        if event.event == "resync" {
            break;
        }
        assert!(event.changes().len() <= 100, "an event names at most 100 records");
    }
    // The form follows one alert: it hears that one by name, and nothing else.
    assert_eq!(form.next().await.changes(), [alert(DB_HOST_ALERT)]);
    assert!(form.drain(Duration::from_millis(700)).await.is_empty());

    // After its quiet spell the list hears the next change by name again: nothing waiting was dropped.
    app.refresh(MAIL_ALERT).await;
    loop {
        let event = list.next().await;
        if event.event == "changes" && event.changes().contains(&alert(MAIL_ALERT)) {
            break;
        }
    }
}

#[tokio::test]
async fn a_second_process_that_falls_behind_the_change_logs_pruning_tells_its_pages_to_refetch() {
    let app = TestApp::new().await;
    if app.url.starts_with("postgres") {
        return; // PostgreSQL keeps no change log: a lost connection is the gap, tested with the follower.
    }
    let store = Store::open(&app.url).await.expect("second process");
    let b = server::router(server::app_state(test_options(), store, Settings::default()));
    let (_, events) = Events::open(
        &b,
        app.cookie.as_deref(),
        &format!("topics=alert:{DB_HOST_ALERT}"),
        None,
    )
    .await;
    let mut events = events.expect("stream on B");
    // Another process appends 101,000 changes in one commit, before B reads again: the oldest of them, which B
    // needed, are pruned as the log grows.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 101000) \
         INSERT INTO change_log (kind, number) SELECT 'alert', 'Alert' || (9000000 + i % 50) FROM n",
    )
    .execute(&app.db)
    .await
    .expect("burst");
    let gap: i64 = sqlx::query_scalar("SELECT MIN(id) - 1 FROM change_log")
        .fetch_one(&app.db)
        .await
        .expect("oldest");
    assert!(gap > 0, "the log was pruned");
    assert_eq!(events.next().await.event, "resync");
}

#[tokio::test]
async fn shutting_down_ends_every_stream() {
    let app = TestApp::new().await;
    let (_, events) = Events::open(&app.router, app.cookie.as_deref(), "topics=alerts,cases", None).await;
    let mut events = events.expect("stream");
    app.changes.close();
    let ended = tokio::time::timeout(WITHIN, async { while events.next_within(WITHIN).await.is_some() {} }).await;
    assert!(ended.is_ok(), "the stream is still open after the shutdown");
    assert_eq!(app.changes.streams(), 0);
}

/// A live list's form: the list's own fields (its filter or page) and the rows the page shows.
fn live_rows_form(list: &[(&str, &str)], shown: &[app::live::ShownRow]) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    for (i, row) in shown.iter().enumerate() {
        form.push((format!("shown[{i}][number]"), row.number.clone()));
        form.push((format!("shown[{i}][fingerprint]"), row.fingerprint.clone()));
    }
    form
}

async fn live_rows(app: &TestApp, endpoint: &str, cookie: &str, form: &[(String, String)]) -> Reply {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    send(app.router.clone(), {
        let mut request = server_fn_request(endpoint, &form);
        request.headers_mut().insert("cookie", cookie.parse().expect("cookie"));
        request
    })
    .await
}

/// The server functions All Alerts and Cases follow their rows with.
const ALERT_ROWS: &str = "live_alert_rows";
const CASE_ROWS: &str = "live_case_rows";

#[tokio::test]
async fn a_live_list_gets_only_its_changed_rows_rendered_and_the_count_of_new_records() {
    let app = TestApp::new().await;
    let operator = app.cookie.clone().expect("operator");
    let page: app::alerts::AlertListPage = app.call("list_alerts", &[("filter[page]", "1")]).await.parse();
    let shown: Vec<_> = page.rows.iter().map(app::live::ShownRow::of).collect();
    assert!(
        shown.iter().any(|row| row.number == DB_HOST_ALERT),
        "the alert is on the first page"
    );
    let list = [("filter[page]", "1")];

    // Nothing changed yet: nothing to redraw, nothing new.
    let reply = live_rows(&app, ALERT_ROWS, &operator, &live_rows_form(&list, &shown)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let update: app::live::LiveRowsUpdate = reply.parse();
    assert_eq!(update.changed, []);
    assert_eq!(update.total, page.total);

    // The alert gets its case, and monitoring raises a new alert.
    app.refresh(DB_HOST_ALERT).await;
    let made = app.create_case(DB_HOST_ALERT, "Database host down", "").await;
    let case: app::cases::CaseCreated = made.parse();
    let token = app.store.create_token("monitoring", "test").await.expect("token");
    let posted = send(
        app.router.clone(),
        Request::post("/ingest/v1/events")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(
                r#"{"source": "Nagios", "node": "mail-relay-01", "severity": 2, "message_key": "live-new"}"#,
            ))
            .expect("request"),
    )
    .await;
    assert_eq!(posted.status, 200, "{}", posted.body);

    // Only the changed row comes back, rendered as the page renders it, with the case link in its Case cell.
    let reply = live_rows(&app, ALERT_ROWS, &operator, &live_rows_form(&list, &shown)).await;
    let update: app::live::LiveRowsUpdate = reply.parse();
    assert_eq!(update.total, page.total + 1, "one new alert");
    assert_eq!(update.changed.len(), 1, "{:?}", update.changed);
    let changed = &update.changed[0];
    assert_eq!(changed.row.number, DB_HOST_ALERT);
    assert!(
        changed
            .html
            .starts_with(&format!(r#"<tr data-number="{DB_HOST_ALERT}""#)),
        "{}",
        changed.html
    );
    assert!(
        changed
            .html
            .contains(&format!(r#"<a href="/cases/{0}">{0}</a>"#, case.number)),
        "{}",
        changed.html
    );

    // An agent may follow the Cases list but not All Alerts.
    let agent = app.sign_in_as(Role::SnCustomerserviceAgent).await;
    assert_eq!(
        live_rows(&app, ALERT_ROWS, &agent, &live_rows_form(&list, &shown))
            .await
            .status,
        403
    );
    let cases: app::cases::CaseListPage = app.call("list_cases", &[]).await.parse();
    let shown: Vec<_> = cases.rows.iter().map(app::live::ShownRow::of).collect();
    let reply = live_rows(&app, CASE_ROWS, &agent, &live_rows_form(&[("page", "1")], &shown)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let update: app::live::LiveRowsUpdate = reply.parse();
    assert_eq!((update.changed.len(), update.total), (0, cases.total));
}
