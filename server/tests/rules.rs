//! Incidents (one per alert) and the alert rule `Create Proactive Case`, end to end: an alert posted by
//! Alertmanager, the rule turned on by an event management admin, an incident created by an operator, the case the
//! rule opens, and the work note the case gets when the alert resolves.

use crate::support;

use app::{
    access::Role,
    alerts::AlertDetail,
    cases::CaseDetail,
    domain::{CaseState, Priority},
    incidents::IncidentCreated,
    journal::JournalKind,
    rules::AlertRule,
};
use axum::{body::Body, http::Request};
use serde_json::{json, Value};
use support::*;

async fn post_webhook(app: &TestApp, token: &str, payload: &Value) -> IngestAnswer {
    let request = Request::post("/ingest/v1/alertmanager")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(payload.to_string()))
        .expect("request");
    let reply = send(app.router.clone(), request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.parse()
}

async fn get_case(app: &TestApp, number: &str) -> CaseDetail {
    app.call("get_case", &[("number", number)]).await.parse()
}

/// Alertmanager's payload for one alert on `instance`.
fn node_down(status: &str, instance: &str, severity: &str) -> Value {
    json!({"version": "4", "status": status, "receiver": "forestall", "alerts": [{
        "status": status, "fingerprint": format!("down-{instance}"),
        "labels": {"alertname": "NodeDown", "instance": format!("{instance}:9100"), "severity": severity},
        "annotations": {"summary": format!("{instance} is down")},
        "startsAt": "2026-11-27T03:00:00Z", "endsAt": if status == "resolved" { "2026-11-27T03:30:00Z" } else { "0001-01-01T00:00:00Z" }
    }]})
}

/// As `role`, sets the rule active or not with a minimum severity.
async fn set_rule(app: &mut TestApp, active: bool, min_severity: &str) -> Reply {
    let own = app.cookie.take();
    app.cookie = Some(app.sign_in_as(Role::EvtMgmtAdmin).await);
    let mut form = vec![("input[id]", "1"), ("input[min_severity]", min_severity)];
    if active {
        form.push(("input[active]", "on"));
    }
    let reply = app.call("update_rule", &form).await;
    app.cookie = own;
    reply
}

async fn case_of(app: &TestApp, alert: &str) -> Option<String> {
    sqlx::query_scalar("SELECT c.number FROM alerts a JOIN cases c ON c.id = a.case_id WHERE a.number = $1")
        .bind(alert)
        .fetch_optional(&app.db)
        .await
        .expect("case")
}

async fn alert_activity(app: &TestApp, alert: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT j.author, j.body FROM journal_entries j JOIN alerts a ON a.id = j.alert_id
         WHERE a.number = $1 ORDER BY j.id",
    )
    .bind(alert)
    .fetch_all(&app.db)
    .await
    .expect("activity")
}

#[tokio::test]
async fn an_alert_gets_at_most_one_incident_shown_in_its_incident_field() {
    let app = TestApp::new().await;
    let reply = app.call("create_incident", &[("alert", DB_HOST_ALERT)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let created: IncidentCreated = reply.parse();
    assert_eq!(created.number, "INC0010001");
    assert_eq!(created.case, None, "the rule is inactive until an admin turns it on");

    let alert: AlertDetail = app.call("get_alert", &[("number", DB_HOST_ALERT)]).await.parse();
    assert_eq!(alert.incident_number.as_deref(), Some("INC0010001"));
    let page = app.get(&format!("/alerts/{DB_HOST_ALERT}")).await;
    assert!(page.body.contains("INC0010001"));

    let again = app.call("create_incident", &[("alert", DB_HOST_ALERT)]).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("INC0010001"), "{}", again.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'incident_created'")
            .await,
        1
    );
    let unknown = app.call("create_incident", &[("alert", "Alert9999999")]).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn with_the_rule_active_an_incident_from_a_webhook_alert_opens_its_proactive_case() {
    let mut app = TestApp::new().await;
    let token = app.store.create_token("alertmanager", "test").await.expect("token");
    let answer = post_webhook(&app, &token, &node_down("firing", "db-host-01.example.net", "critical")).await;
    let alert = answer.results[0].alert();

    // Only an event management admin may change the rule, and a bad severity is refused by field.
    let reply = app
        .call(
            "update_rule",
            &[
                ("input[id]", "1"),
                ("input[active]", "on"),
                ("input[min_severity]", "2"),
            ],
        )
        .await;
    assert_eq!(reply.status, 403, "operators may not manage rules");
    let reply = set_rule(&mut app, true, "9").await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.invalid_field(), "min_severity");
    let reply = set_rule(&mut app, true, "2").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let rule: AlertRule = reply.parse();
    assert!(rule.active, "{rule:?}");

    let created = app.call("create_incident", &[("alert", &alert)]).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let case = created.parse::<IncidentCreated>().case.expect("the rule's case");
    assert_eq!(case_of(&app, &alert).await.as_deref(), Some(case.as_str()));

    // The same trace and case as the agent's flow: db-host-01 reaches Acme, Globex and the internal account, so
    // this is a major case with a child case per account, opened by the rule.
    let detail = get_case(&app, &case).await;
    assert_eq!(detail.opened_by, "Alert rule: Create Proactive Case");
    assert!(detail.children.len() >= 2, "{detail:?}");
    assert_eq!(detail.case.priority, Priority::Critical);
    assert!(
        detail
            .work_notes
            .entries
            .iter()
            .any(|e| e.kind == JournalKind::WorkNote
                && e.body.contains("Created by the alert rule “Create Proactive Case”")),
        "{detail:?}"
    );
    let refreshed: Option<String> = sqlx::query_scalar("SELECT ib_refreshed_at FROM alerts WHERE number = $1")
        .bind(&alert)
        .fetch_one(&app.db)
        .await
        .expect("alert");
    assert!(refreshed.is_some(), "the rule traced the install base");

    // The alert resolves: it closes; the case stays open and its journal says so.
    let answer = post_webhook(
        &app,
        &token,
        &node_down("resolved", "db-host-01.example.net", "critical"),
    )
    .await;
    assert_eq!(answer.results[0].status, Some(EventStatus::Closed));
    let detail = get_case(&app, &case).await;
    assert_eq!(detail.case.state, CaseState::New);
    // Newest first: the journal's latest entry is the resolve's.
    assert!(
        detail
            .work_notes
            .entries
            .first()
            .is_some_and(|e| e.body.contains(&format!("Alert {alert} resolved"))),
        "{detail:?}"
    );
}

#[tokio::test]
async fn the_rule_leaves_alerts_alone_when_inactive_below_its_severity_or_without_external_customers() {
    let mut app = TestApp::new().await;
    let token = app.store.create_token("alertmanager", "test").await.expect("token");
    let raise = |instance: &'static str, severity: &'static str| node_down("firing", instance, severity);

    // Inactive: an incident, no case.
    let answer = post_webhook(&app, &token, &raise("mail-relay-01", "critical")).await;
    let inactive = answer.results[0].alert();
    let created: IncidentCreated = app.call("create_incident", &[("alert", &inactive)]).await.parse();
    assert_eq!(created.case, None);
    assert_eq!(case_of(&app, &inactive).await, None);

    // Active from Major up: a Warning alert is below it.
    assert_eq!(set_rule(&mut app, true, "2").await.status, 200);
    let answer = post_webhook(&app, &token, &raise("payments-app", "warning")).await;
    let warning = answer.results[0].alert();
    app.call("create_incident", &[("alert", &warning)]).await;
    assert_eq!(case_of(&app, &warning).await, None);

    // Only the internal account's items affected: the rule says why it made no case.
    sqlx::query("INSERT INTO configuration_items (name, class) VALUES ('intranet-01', 'server')")
        .execute(&app.db)
        .await
        .expect("ci");
    sqlx::query(
        "INSERT INTO install_base_items (number, name, account_id, ci_id)
         SELECT 'IB0099001', 'Intranet', acc.id, ci.id FROM accounts acc, configuration_items ci
         WHERE acc.name = 'Forestall IT' AND ci.name = 'intranet-01'",
    )
    .execute(&app.db)
    .await
    .expect("item");
    let answer = post_webhook(&app, &token, &raise("intranet-01", "critical")).await;
    let internal = answer.results[0].alert();
    let created: IncidentCreated = app.call("create_incident", &[("alert", &internal)]).await.parse();
    assert_eq!(created.case, None);
    assert_eq!(case_of(&app, &internal).await, None);
    let activity = alert_activity(&app, &internal).await;
    assert!(
        activity
            .iter()
            .any(|(author, body)| author == "Alert rule: Create Proactive Case"
                && body.contains("No external customer's install base items are affected")),
        "{activity:?}"
    );

    // Turned off again, audited both times.
    assert!(!set_rule(&mut app, false, "2").await.parse::<AlertRule>().active);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'alert_rule_changed'")
            .await,
        2
    );
}

#[tokio::test]
async fn the_alert_rules_page_is_for_event_management_admins() {
    let mut app = TestApp::new().await;
    let page = app.get("/rules").await;
    assert_eq!(page.status, 403, "operators may not open it");
    app.cookie = Some(app.sign_in_as(Role::EvtMgmtAdmin).await);
    let page = app.get("/rules").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Create Proactive Case"));
    assert!(
        page.body.contains(">Alert Rules</a>"),
        "the admin's navigation links it"
    );
}
