//! All Alerts, the alert form and their server functions.

use crate::support;

use support::*;

#[tokio::test]
async fn get_alert_returns_the_alert_form_fields() {
    let app = TestApp::new().await;
    let reply = app.call("get_alert", &[("number", DB_HOST_ALERT)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let alert = reply.json();
    assert_eq!(alert["number"], DB_HOST_ALERT);
    assert_eq!(alert["node"], "db-host-01");
    assert_eq!(alert["severity"], "Critical");
    assert_eq!(alert["ci"], "db-host-01");
    assert_eq!(alert["case_number"], serde_json::Value::Null);
}

#[tokio::test]
async fn unknown_and_malformed_alert_numbers_are_not_found() {
    let app = TestApp::new().await;
    for number in ["Alert0099999", "Alert12", "<script>"] {
        let reply = app.call("get_alert", &[("number", number)]).await;
        assert_eq!(reply.status, 404, "{number}: {}", reply.body);
        assert_eq!(reply.json()["NotFound"]["what"], "Alert");
    }
}

#[tokio::test]
async fn list_alerts_is_newest_first_filtered_and_paged() {
    let app = TestApp::new().await;
    let first = app.call("list_alerts", &[("filter[page]", "1")]).await.json();
    assert_eq!(first["total"], 27);
    assert_eq!(first["pages"], 2);
    let rows = first["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 20);
    assert_eq!(rows[0]["number"], DB_HOST_ALERT, "newest first");
    let times: Vec<&str> = rows
        .iter()
        .map(|r| r["last_event_at"].as_str().expect("time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    let second = app.call("list_alerts", &[("filter[page]", "2")]).await.json();
    assert_eq!(second["rows"].as_array().expect("rows").len(), 7);

    let critical = app
        .call(
            "list_alerts",
            &[("filter[page]", "1"), ("filter[severity]", "Critical")],
        )
        .await
        .json();
    assert_eq!(critical["total"], 1);
    assert_eq!(critical["rows"][0]["number"], DB_HOST_ALERT);

    let closed_count = app.count("SELECT COUNT(*) FROM alerts WHERE state = 'Closed'").await;
    let closed = app
        .call("list_alerts", &[("filter[page]", "1"), ("filter[state]", "Closed")])
        .await
        .json();
    assert_eq!(closed["total"], closed_count);
    assert!(closed["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .all(|r| r["state"] == "Closed"));

    let text = app
        .call("list_alerts", &[("filter[page]", "1"), ("filter[text]", "mail-relay")])
        .await
        .json();
    assert_eq!(text["total"], 1);
    assert_eq!(text["rows"][0]["number"], MAIL_ALERT);

    let wildcard = app
        .call("list_alerts", &[("filter[page]", "1"), ("filter[text]", "%")])
        .await
        .json();
    assert_eq!(
        wildcard["total"], 1,
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
    assert_eq!(reply.json()["Invalid"]["field"], "text");
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
