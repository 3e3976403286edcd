//! Alerts in from monitoring: the three endpoints with payloads as the tools send them, one alert per problem,
//! closing, reopening and flapping, CI binding, tokens, and every kind of bad input.

use crate::support;

use axum::{body::Body, http::Request};
use serde_json::{json, Value};
use support::*;

const EVENTS: &str = "/ingest/v1/events";
const ALERTMANAGER: &str = "/ingest/v1/alertmanager";
const GRAFANA: &str = "/ingest/v1/grafana";

/// A test app and a fresh API token for it.
async fn app_with_token() -> (TestApp, String) {
    let app = TestApp::new().await;
    let token = app.store.create_token("monitoring", "test").await.expect("token");
    (app, token)
}

fn post(path: &str, token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut request = Request::post(path).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(body.into()).expect("request")
}

async fn send_json(app: &TestApp, path: &str, token: &str, body: &Value) -> Reply {
    send(app.router.clone(), post(path, Some(token), body.to_string())).await
}

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture JSON")
}

/// An alert as the database holds it.
#[derive(Debug, sqlx::FromRow)]
struct AlertRow {
    number: String,
    state: String,
    event_count: i64,
    /// The name of the CI it is bound to, if any.
    ci: Option<String>,
    first_event_at: String,
    last_event_at: String,
}

/// The alert with this message key that is not closed.
async fn open_alert(app: &TestApp, key: &str) -> Option<AlertRow> {
    sqlx::query_as(
        "SELECT a.number, a.state, a.event_count, ci.name AS ci, a.first_event_at, a.last_event_at
         FROM alerts a LEFT JOIN configuration_items ci ON ci.id = a.ci_id
         WHERE a.message_key = $1 AND a.state <> 'Closed'",
    )
    .bind(key)
    .fetch_optional(&app.db)
    .await
    .expect("alert")
}

async fn alert_state(app: &TestApp, number: &str) -> String {
    sqlx::query_scalar("SELECT state FROM alerts WHERE number = $1")
        .bind(number)
        .fetch_one(&app.db)
        .await
        .expect("state")
}

/// What the request's first (or only) event did; panics if it was refused.
fn status(reply: &Reply) -> EventStatus {
    let answer: IngestAnswer = reply.parse();
    let first = answer
        .results
        .first()
        .unwrap_or_else(|| panic!("no results: {}", reply.body));
    first.status.unwrap_or_else(|| panic!("refused: {}", reply.body))
}

fn event(key: &str, severity: i64) -> Value {
    json!({"source": "Nagios", "node": "mail-relay-01", "type": "Queue", "resource": "smtp",
           "message_key": key, "severity": severity, "description": "SMTP queue growing"})
}

#[tokio::test]
async fn alertmanager_and_grafana_payloads_raise_alerts_bound_to_their_ci() {
    let (app, token) = app_with_token().await;
    sqlx::query("UPDATE configuration_items SET ip = '10.20.30.40' WHERE name = 'ledger-db'")
        .execute(&app.db)
        .await
        .expect("give ledger-db an ip");

    let reply = send_json(&app, ALERTMANAGER, &token, &fixture("alertmanager-v4.json")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer: IngestAnswer = reply.parse();
    assert_eq!((answer.accepted, answer.rejected), (2, 0));
    assert_eq!(answer.results[0].status, Some(EventStatus::Created));
    // Bound by fqdn (the port dropped), and by ip.
    let alert = open_alert(&app, "alertmanager:8c1e3b2a9d4f0a11").await.expect("alert");
    assert_eq!(answer.results[0].alert.as_ref(), Some(&alert.number));
    assert_eq!(
        (alert.state.as_str(), alert.event_count, alert.ci.as_deref()),
        ("Open", 1, Some("db-host-01"))
    );
    assert_eq!(alert.first_event_at, "2026-11-27 02:58:00");
    let by_ip = open_alert(&app, "alertmanager:5f0a77c3e2b1d9e4").await.expect("alert");
    assert_eq!(by_ip.ci.as_deref(), Some("ledger-db"));

    // Grafana: bound by name whatever its case; the time's offset is read into UTC.
    let reply = send_json(&app, GRAFANA, &token, &fixture("grafana.json")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let alert = open_alert(&app, "grafana:b2c9f4e1a07d3c55").await.expect("alert");
    assert_eq!(
        (alert.ci.as_deref(), alert.first_event_at.as_str()),
        (Some("mail-relay-01"), "2026-11-27 02:00:00")
    );
    let page = app.get(&format!("/alerts/{}", alert.number)).await;
    assert!(page.body.contains("SMTP queue above 500 messages"), "{}", page.body);
    assert!(page.body.contains("2 - Major"));

    // The same payload again is the same problem: counted, not raised again.
    send_json(&app, ALERTMANAGER, &token, &fixture("alertmanager-v4.json")).await;
    let alert = open_alert(&app, "alertmanager:8c1e3b2a9d4f0a11").await.expect("alert");
    assert_eq!(alert.event_count, 2);

    // Resolved, as Alertmanager sends it: the alert closes.
    let mut resolved = fixture("alertmanager-v4.json");
    resolved["status"] = json!("resolved");
    resolved["alerts"][0]["status"] = json!("resolved");
    resolved["alerts"][0]["endsAt"] = json!("2026-11-27T03:20:00Z");
    resolved["alerts"].as_array_mut().expect("alerts").truncate(1);
    let reply = send_json(&app, ALERTMANAGER, &token, &resolved).await;
    assert_eq!(status(&reply), EventStatus::Closed, "{}", reply.body);
    assert!(open_alert(&app, "alertmanager:8c1e3b2a9d4f0a11").await.is_none());
}

#[tokio::test]
async fn an_unbound_alert_says_so_on_its_form() {
    let (app, token) = app_with_token().await;
    let reply = send_json(
        &app,
        EVENTS,
        &token,
        &json!({"source": "Zabbix", "node": "printer-7", "severity": "Minor", "description": "Toner low"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let number = reply.parse::<IngestAnswer>().results[0].alert();
    let page = app.get(&format!("/alerts/{number}")).await;
    assert!(
        page.body.contains("no configuration item matched the node"),
        "{}",
        page.body
    );
    assert!(page.body.contains("no configuration item has that name, fqdn or ip"));
}

#[tokio::test]
async fn events_with_one_key_update_one_alert_and_a_resolved_event_closes_it() {
    let (app, token) = app_with_token().await;
    let alerts = "SELECT COUNT(*) FROM alerts";
    let before = app.count(alerts).await;
    for (severity, at) in [
        (3, "2026-11-27T03:05:00Z"),
        (2, "2026-11-27T03:00:00Z"),
        (1, "2026-11-27T03:10:00Z"),
    ] {
        let mut event = event("queue-1", severity);
        event["time_of_event"] = json!(at);
        let reply = send_json(&app, EVENTS, &token, &event).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    assert_eq!(app.count(alerts).await, before + 1);
    let alert = open_alert(&app, "queue-1").await.expect("alert");
    assert_eq!(
        (alert.state.as_str(), alert.event_count, alert.ci.as_deref()),
        ("Open", 3, Some("mail-relay-01"))
    );
    // Events out of order still span first to last.
    assert_eq!(
        (alert.first_event_at.as_str(), alert.last_event_at.as_str()),
        ("2026-11-27 03:00:00", "2026-11-27 03:10:00")
    );
    let number = alert.number;
    let severity: i64 = sqlx::query_scalar("SELECT severity FROM alerts WHERE number = $1")
        .bind(&number)
        .fetch_one(&app.db)
        .await
        .expect("severity");
    assert_eq!(severity, 1, "the latest event's severity");

    // A proactive case for it, then the problem clears: the alert closes and the case, still open, hears of it.
    app.refresh(&number).await;
    let made = app.create_case(&number, "Mail relay queue", "").await;
    assert_eq!(made.status, 200, "{}", made.body);
    let mut clear = event("queue-1", 0);
    clear["severity"] = json!("Clear");
    clear["resolution_state"] = json!("Closing");
    let reply = send_json(&app, EVENTS, &token, &clear).await;
    assert_eq!(status(&reply), EventStatus::Closed, "{}", reply.body);
    assert_eq!(alert_state(&app, &number).await, "Closed");
    let (case_state, note): (String, String) = sqlx::query_as(
        "SELECT c.state, j.body FROM cases c JOIN alerts a ON a.case_id = c.id
         JOIN journal_entries j ON j.case_id = c.id AND j.kind = 'work_note'
         WHERE a.number = $1 ORDER BY j.id DESC LIMIT 1",
    )
    .bind(&number)
    .fetch_one(&app.db)
    .await
    .expect("case note");
    assert_eq!(case_state, "New");
    assert!(note.contains(&format!("Alert {number} resolved")), "{note}");

    // A resolved event for a problem nobody raised changes nothing.
    let reply = send_json(
        &app,
        EVENTS,
        &token,
        &json!({"source": "Nagios", "node": "x", "severity": 0}),
    )
    .await;
    assert_eq!(status(&reply), EventStatus::Ignored);
    assert_eq!(reply.parse::<IngestAnswer>().results[0].alert, None);
    assert_eq!(app.count(alerts).await, before + 1);
}

#[tokio::test]
async fn a_closed_alert_reopens_within_the_interval_flaps_when_too_often_and_later_makes_a_new_alert() {
    let (app, token) = app_with_token().await;
    assert_eq!(
        status(&send_json(&app, EVENTS, &token, &event("flappy", 2)).await),
        EventStatus::Created
    );
    let number = open_alert(&app, "flappy").await.expect("alert").number;
    // Settings::default: three reopens within an hour are flapping.
    for expected in [EventStatus::Reopened, EventStatus::Reopened, EventStatus::Flapping] {
        assert_eq!(
            status(&send_json(&app, EVENTS, &token, &event("flappy", 0)).await),
            EventStatus::Closed
        );
        assert_eq!(
            status(&send_json(&app, EVENTS, &token, &event("flappy", 2)).await),
            expected
        );
    }
    assert_eq!(alert_state(&app, &number).await, "Flapping");
    assert_eq!(open_alert(&app, "flappy").await.expect("alert").event_count, 7);

    // Closed longer ago than the reopen interval: a new event is a new alert.
    send_json(&app, EVENTS, &token, &event("flappy", 0)).await;
    sqlx::query("UPDATE alerts SET closed_at = '2000-01-01 00:00:00' WHERE number = $1")
        .bind(&number)
        .execute(&app.db)
        .await
        .expect("age the close");
    assert_eq!(
        status(&send_json(&app, EVENTS, &token, &event("flappy", 2)).await),
        EventStatus::Created
    );
    let fresh = open_alert(&app, "flappy").await.expect("alert");
    assert_ne!(fresh.number, number);
    assert_eq!(
        (fresh.state.as_str(), alert_state(&app, &number).await.as_str()),
        ("Open", "Closed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_identical_events_sent_at_once_make_one_alert_with_event_count_fifty() {
    let (app, token) = app_with_token().await;
    let body = event("storm", 1).to_string();
    let sends: Vec<_> = (0..50)
        .map(|_| tokio::spawn(send(app.router.clone(), post(EVENTS, Some(&token), body.clone()))))
        .collect();
    for sent in sends {
        let reply = sent.await.expect("request task");
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let alerts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE message_key = 'storm'")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(alerts, 1);
    let alert = open_alert(&app, "storm").await.expect("alert");
    assert_eq!((alert.state.as_str(), alert.event_count), ("Open", 50));
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_stored() {
    let (app, token) = app_with_token().await;
    let stored = "SELECT COUNT(*) FROM alerts";
    let before = app.count(stored).await;

    let reply = send(
        app.router.clone(),
        post(EVENTS, Some(&token), r#"{"source": "Nagios", "#),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let refusal: ApiError = reply.parse();
    assert!(
        refusal
            .error
            .starts_with("The request could not be read: the body is not valid JSON"),
        "{refusal:?}"
    );
    assert_eq!(refusal.field, None);

    let good = event("bad-input", 2);
    let with = |name: &str, value: Value| {
        let mut event = good.clone();
        event[name] = value;
        event
    };
    let table = [
        (with("source", json!(12)), "source"),
        (with("node", json!(null)), "node"),
        (with("severity", json!("Apocalyptic")), "severity"),
        (with("source", json!("s".repeat(101))), "source"),
        (with("node", json!("n".repeat(101))), "node"),
        (with("type", json!("t".repeat(101))), "type"),
        (with("resource", json!("r".repeat(101))), "resource"),
        (with("message_key", json!("k".repeat(1025))), "message_key"),
        (with("description", json!("d".repeat(4001))), "description"),
        (with("time_of_event", json!(1732676400)), "time_of_event"),
        (with("description", json!("disk\0full")), "description"),
    ];
    for (event, field) in table {
        let reply = send_json(&app, EVENTS, &token, &event).await;
        assert_eq!(reply.status, 422, "{field}: {}", reply.body);
        let refusal: ApiError = reply.parse();
        assert_eq!(refusal.field.as_deref(), Some(field), "{}", reply.body);
        assert!(!refusal.error.is_empty());
    }
    // At the limits exactly, an event is fine.
    let limits = json!({"source": "s".repeat(100), "node": "n".repeat(100), "type": "t".repeat(100),
                        "resource": "r".repeat(100), "message_key": "k".repeat(1024), "description": "d".repeat(4000),
                        "severity": 4});
    assert_eq!(app.count(stored).await, before, "nothing stored for refused events");
    assert_eq!(send_json(&app, EVENTS, &token, &limits).await.status, 200);
    assert_eq!(app.count(stored).await, before + 1);

    // A batch keeps its good events and names each bad one by index.
    let batch = json!({"events": [good, with("severity", json!(7)), with("node", json!(["a"]))]});
    let reply = send_json(&app, EVENTS, &token, &batch).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer: IngestAnswer = reply.parse();
    assert_eq!((answer.accepted, answer.rejected), (1, 2));
    let lines: Vec<_> = answer
        .results
        .iter()
        .map(|line| (line.index, line.status, line.field.as_deref()))
        .collect();
    assert_eq!(
        lines,
        [
            (0, Some(EventStatus::Created), None),
            (1, None, Some("events[1].severity")),
            (2, None, Some("events[2].node"))
        ]
    );
    assert!(answer.results[1..]
        .iter()
        .all(|line| line.error.as_ref().is_some_and(|e| !e.is_empty())));
    assert_eq!(app.count(stored).await, before + 2);
    // All bad: 422, and still nothing stored.
    let reply = send_json(&app, EVENTS, &token, &json!([with("severity", json!(-1))])).await;
    assert_eq!(reply.status, 422);
    let answer: IngestAnswer = reply.parse();
    assert_eq!((answer.accepted, answer.rejected), (0, 1));
    assert_eq!(answer.results[0].field.as_deref(), Some("[0].severity"));
    let reply = send_json(&app, ALERTMANAGER, &token, &json!({"version": "4", "alerts": "none"})).await;
    assert_eq!(
        (reply.status, reply.parse::<ApiError>().field.as_deref()),
        (422, Some("alerts"))
    );
    assert_eq!(app.count(stored).await, before + 2);
}

#[tokio::test]
async fn a_missing_wrong_or_revoked_token_gets_401_and_stores_nothing() {
    let (app, token) = app_with_token().await;
    let body = event("token-check", 3).to_string();
    let before = app.count("SELECT COUNT(*) FROM alerts").await;
    for token in [None, Some("fst_not-a-token"), Some("")] {
        let reply = send(app.router.clone(), post(EVENTS, token, body.clone())).await;
        assert_eq!(reply.status, 401, "{token:?}");
        assert_eq!(
            reply.headers.get("www-authenticate").map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
    }
    // A signed-in session is not a token.
    let reply = app.send(post(GRAFANA, None, fixture("grafana.json").to_string())).await;
    assert_eq!(reply.status, 401);

    assert_eq!(
        send(app.router.clone(), post(EVENTS, Some(&token), body.clone()))
            .await
            .status,
        200
    );
    // The demo data's published token works on a demo database.
    let demo = send(
        app.router.clone(),
        post(EVENTS, Some(app::demo::DEMO_TOKEN.1), body.clone()),
    )
    .await;
    assert_eq!(demo.status, 200, "{}", demo.body);
    app.store.revoke_token("monitoring", "test").await.expect("revoke");
    let reply = send(app.router.clone(), post(EVENTS, Some(&token), body)).await;
    assert_eq!(reply.status, 401);
    let refusal: ApiError = reply.parse();
    assert!(refusal.error.contains("revoked"), "{refusal:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM alerts").await, before + 1);
    let events: i64 = sqlx::query_scalar("SELECT event_count FROM alerts WHERE message_key = 'token-check'")
        .fetch_one(&app.db)
        .await
        .expect("alert");
    assert_eq!(events, 2, "the two accepted events only");
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_they_are_read_whole() {
    let (app, token) = app_with_token().await;
    let limit = app::ingest::handlers::BODY_LIMIT;
    // Declared too large: refused on the header alone (the body here is empty).
    let request = Request::post(EVENTS)
        .header("authorization", format!("Bearer {token}"))
        .header("content-length", (limit + 1).to_string())
        .body(Body::empty())
        .expect("request");
    let reply = send(app.router.clone(), request).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    // Undeclared, streamed: refused once it passes the limit, without reading the rest of an endless stream.
    let request = Request::post(EVENTS)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from_stream(endless_body()))
        .expect("request");
    let reply = send(app.router.clone(), request).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    let refusal: ApiError = reply.parse();
    assert!(refusal.error.contains("larger than"), "{refusal:?}");
}

/// An endless stream of 64 KiB chunks: the test hangs, and fails, if the endpoint reads it all.
fn endless_body() -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::repeat_with(|| Ok(vec![b' '; 64 * 1024]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_racing_on_one_new_problem_make_one_alert_as_instances_sharing_a_database_would() {
    // Each instance has its own event writer; here sixteen writes race outside any one writer, as theirs would.
    let app = TestApp::new().await;
    let event = app::ingest::Event {
        source: "Nagios".into(),
        node: "db-host-01".into(),
        kind: "Disk".into(),
        resource: "/data".into(),
        metric_name: String::new(),
        message_key: "race".into(),
        severity: app::domain::Severity::Major,
        description: "Disk full".into(),
        additional_info: None,
        time: None,
        resolved: false,
    };
    let writes: Vec<_> = (0..16)
        .map(|_| {
            let (store, event) = (app.store.clone(), event.clone());
            tokio::spawn(async move { store.ingest(&[event], Default::default()).await })
        })
        .collect();
    let mut created = 0;
    for write in writes {
        let stored = write.await.expect("task").expect("stored");
        created += usize::from(stored[0].outcome == app::ingest::Outcome::Created);
    }
    assert_eq!(created, 1);
    let alert = open_alert(&app, "race").await.expect("alert");
    assert_eq!(
        (alert.state.as_str(), alert.event_count, alert.ci.as_deref()),
        ("Open", 16, Some("db-host-01"))
    );
}

#[tokio::test]
async fn late_or_replayed_deliveries_of_an_earlier_episode_neither_close_nor_reopen() {
    let (app, token) = app_with_token().await;
    let at = |time: &str, resolved: bool| {
        let mut event = event("episodes", 2);
        event["time_of_event"] = json!(time);
        if resolved {
            event["resolution_state"] = json!("Closing");
        }
        event
    };
    // Episode one fires at 03:00 and resolves at 03:20.
    assert_eq!(
        status(&send_json(&app, EVENTS, &token, &at("2026-11-27T03:00:00Z", false)).await),
        EventStatus::Created
    );
    assert_eq!(
        status(&send_json(&app, EVENTS, &token, &at("2026-11-27T03:20:00Z", true)).await),
        EventStatus::Closed
    );
    let number: String = sqlx::query_scalar("SELECT number FROM alerts WHERE message_key = 'episodes'")
        .fetch_one(&app.db)
        .await
        .expect("alert");
    // Its firing, delivered again late, does not reopen it.
    assert_eq!(
        status(&send_json(&app, EVENTS, &token, &at("2026-11-27T03:00:00Z", false)).await),
        EventStatus::Ignored
    );
    assert_eq!(alert_state(&app, &number).await, "Closed");
    // Episode two fires at 03:40; episode one's resolve, delivered again, does not close it.
    assert_eq!(
        status(&send_json(&app, EVENTS, &token, &at("2026-11-27T03:40:00Z", false)).await),
        EventStatus::Reopened
    );
    assert_eq!(
        status(&send_json(&app, EVENTS, &token, &at("2026-11-27T03:20:00Z", true)).await),
        EventStatus::Ignored
    );
    assert_eq!(alert_state(&app, &number).await, "Reopen");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alerts WHERE message_key = 'episodes'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_token_name_taken_in_another_case_is_refused_as_taken_on_either_database() {
    let app = TestApp::new().await;
    app.store.create_token("monitoring", "test").await.expect("token");
    // The database's unique index refuses it; the refusal is read by that index's name, not by "some duplicate".
    let again = app.store.create_token("Monitoring", "test").await;
    assert!(
        matches!(again, Err(app::ingest::TokenError::Exists(ref name)) if name == "Monitoring"),
        "{again:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE lower(name) = 'monitoring'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_event_dated_in_the_future_is_taken_as_arrived_so_its_alert_can_still_close() {
    let (app, token) = app_with_token().await;
    // A device whose clock is decades ahead.
    let mut firing = event("clock-ahead", 2);
    firing["time_of_event"] = json!("2099-01-01T00:00:00Z");
    let reply = send_json(&app, EVENTS, &token, &firing).await;
    assert_eq!(status(&reply), EventStatus::Created, "{}", reply.body);
    let alert = open_alert(&app, "clock-ahead").await.expect("alert");
    assert!(
        alert.last_event_at.as_str() < "2030",
        "the future time is not kept: {}",
        alert.last_event_at
    );
    // The problem clears (the resolving event says when: now); the alert closes.
    let mut clear = event("clock-ahead", 0);
    clear["severity"] = json!("Clear");
    let reply = send_json(&app, EVENTS, &token, &clear).await;
    assert_eq!(status(&reply), EventStatus::Closed, "{}", reply.body);
    assert_eq!(alert_state(&app, &alert.number).await, "Closed");
}
