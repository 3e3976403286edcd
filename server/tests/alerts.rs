//! All Alerts, the alert form and their server functions.

use crate::support;

use app::{
    alerts::{AlertDetail, AlertListPage},
    domain::{AlertState, Severity},
    AppError,
};
use support::*;

#[tokio::test]
async fn get_alert_returns_the_alert_form_fields() {
    let app = TestApp::new().await;
    let reply = app.call("get_alert", &[("number", DB_HOST_ALERT)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let alert: AlertDetail = reply.parse();
    assert_eq!(alert.number, DB_HOST_ALERT);
    assert_eq!(alert.node, "db-host-01");
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.ci.as_deref(), Some("db-host-01"));
    assert_eq!(alert.case_number, None);
}

#[tokio::test]
async fn unknown_and_malformed_alert_numbers_are_not_found() {
    let app = TestApp::new().await;
    for number in ["Alert0099999", "Alert12", "<script>"] {
        let reply = app.call("get_alert", &[("number", number)]).await;
        assert_eq!(reply.status, 404, "{number}: {}", reply.body);
        assert_eq!(reply.parse::<AppError>(), AppError::not_found("Alert", number));
    }
}

async fn list_alerts(app: &TestApp, filter: &[(&str, &str)]) -> AlertListPage {
    app.call("list_alerts", filter).await.parse()
}

#[tokio::test]
async fn list_alerts_is_newest_first_filtered_and_paged() {
    let app = TestApp::new().await;
    let numbers = |page: &AlertListPage| page.rows.iter().map(|r| r.number.clone()).collect::<Vec<_>>();

    let first = list_alerts(&app, &[("filter[page]", "1")]).await;
    assert_eq!((first.total, first.pages), (27, 2));
    assert_eq!(first.rows.len(), 20);
    assert_eq!(first.rows[0].number, DB_HOST_ALERT, "newest first");
    let times: Vec<&str> = first.rows.iter().map(|r| r.last_event_at.as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    let second = list_alerts(&app, &[("filter[page]", "2")]).await;
    assert_eq!(second.rows.len(), 7);

    let critical = list_alerts(&app, &[("filter[page]", "1"), ("filter[severity]", "Critical")]).await;
    assert_eq!(
        (critical.total, numbers(&critical)),
        (1, vec![DB_HOST_ALERT.to_owned()])
    );

    let closed_count = app.count("SELECT COUNT(*) FROM alerts WHERE state = 'Closed'").await;
    let closed = list_alerts(&app, &[("filter[page]", "1"), ("filter[state]", "Closed")]).await;
    assert_eq!(i64::try_from(closed.total).expect("a count"), closed_count);
    assert!(closed.rows.iter().all(|r| r.state == AlertState::Closed));

    let text = list_alerts(&app, &[("filter[page]", "1"), ("filter[text]", "mail-relay")]).await;
    assert_eq!((text.total, numbers(&text)), (1, vec![MAIL_ALERT.to_owned()]));

    let wildcard = list_alerts(&app, &[("filter[page]", "1"), ("filter[text]", "%")]).await;
    assert_eq!(
        wildcard.total, 1,
        "a literal % matches only the description that has one"
    );
}

#[tokio::test]
async fn overlong_search_text_is_refused() {
    let app = TestApp::new().await;
    let long = "x".repeat(201);
    let reply = app
        .call("list_alerts", &[("filter[page]", "1"), ("filter[text]", &long)])
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.invalid_field(), "text");
}

#[tokio::test]
async fn the_alert_page_renders_on_the_server_and_unknown_alerts_answer_404() {
    let app = TestApp::new().await;
    let page = app.get(&format!("/alerts/{DB_HOST_ALERT}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!("<h1>{DB_HOST_ALERT}</h1>")),
        "{}",
        page.body
    );
    assert!(page.body.contains("Refresh Install Base Items"));
    assert!(page.body.contains("Affected Install Base Items"));
    assert!(page.body.contains("db-host-01 (server)"));

    let missing = app.get("/alerts/Alert0099999").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("Alert Alert0099999 was not found"),
        "{}",
        missing.body
    );

    let nowhere = app.get("/no-such-page").await;
    assert_eq!(nowhere.status, 404);
}

#[tokio::test]
async fn all_alerts_page_lists_alerts_as_links() {
    let app = TestApp::new().await;
    let page = app.get("/alerts").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!("href=\"/alerts/{DB_HOST_ALERT}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains("Page 1 of 2"));
}

#[tokio::test]
async fn a_search_typed_with_spaces_finds_what_it_says_as_the_browser_sends_it() {
    let app = TestApp::new().await;
    // The filter form is a plain GET form: the browser sends a space as `+` and a `%` as `%25`.
    let page = app.get("/alerts?state=&severity=&q=97%25+full").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!("href=\"/alerts/{DB_HOST_ALERT}\"")),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&format!("href=\"/alerts/{MAIL_ALERT}\"")),
        "only what matches"
    );
    // The box keeps the text as typed, and the pager's links carry it the same way.
    assert!(page.body.contains("value=\"97% full\""), "{}", page.body);
}

#[tokio::test]
async fn healthz_answers_when_the_database_does() {
    let app = TestApp::new().await;
    let reply = app.get("/healthz").await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok"));
}
