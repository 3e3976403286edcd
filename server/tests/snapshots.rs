//! The affected items snapshot at scale and over time: paged when big, stale once the CMDB changes, refreshed on open
//! when the server is told to.

use crate::support;

use app::{access::Role, install_base::AffectedSnapshot, state::Settings, store::Backend};
use support::*;

async fn snapshot(app: &TestApp, alert: &str, page: &str) -> AffectedSnapshot {
    let reply = app.call("affected_items", &[("alert", alert), ("page", page)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.parse()
}

#[tokio::test]
async fn a_cmdb_change_makes_earlier_snapshots_stale_until_refreshed() {
    let app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    let fresh = snapshot(&app, MAIL_ALERT, "1").await;
    assert!(!fresh.stale, "{fresh:?}");
    let page = app.get(&format!("/alerts/{MAIL_ALERT}")).await;
    assert!(!page.body.contains("The CMDB changed after this snapshot"));

    app.store.import_dir(&example(), |_| {}).await.expect("import");
    let stale = snapshot(&app, MAIL_ALERT, "1").await;
    assert!(stale.stale, "{stale:?}");
    assert!(
        stale.cmdb_changed_at.as_ref().is_some_and(|at| at.len() == 19),
        "{stale:?}"
    );
    let page = app.get(&format!("/alerts/{MAIL_ALERT}")).await;
    assert!(
        page.body.contains("The CMDB changed after this snapshot was taken"),
        "{}",
        page.body
    );
    // A never-traced alert is not called stale: it says it was never refreshed.
    assert!(!snapshot(&app, DB_HOST_ALERT, "1").await.stale);

    app.refresh(MAIL_ALERT).await;
    assert!(!snapshot(&app, MAIL_ALERT, "1").await.stale);
    // Importing the same files again changes nothing, so nothing becomes stale.
    app.store.import_dir(&example(), |_| {}).await.expect("import again");
    assert!(!snapshot(&app, MAIL_ALERT, "1").await.stale);
}

#[tokio::test]
async fn with_refresh_on_open_a_stale_snapshot_is_traced_again_when_an_operator_opens_the_alert() {
    let mut app = TestApp::with_settings(Settings {
        refresh_stale_on_open: true,
        ..Settings::default()
    })
    .await;
    app.refresh(MAIL_ALERT).await;
    app.store.import_dir(&example(), |_| {}).await.expect("import");
    let refreshes = "SELECT COUNT(*) FROM audit_log WHERE action = 'install_base_refreshed'";

    // A viewer may not refresh: the page says the snapshot is stale and nothing is traced.
    let operator = app.cookie.take();
    app.cookie = Some(app.sign_in_as(Role::EvtMgmtUser).await);
    let page = app.get(&format!("/alerts/{MAIL_ALERT}")).await;
    assert!(page.body.contains("The CMDB changed after this snapshot was taken"));
    assert_eq!(app.count(refreshes).await, 1);

    app.cookie = operator;
    // A link on another site (or a request that does not say where it comes from) refreshes nothing: a GET
    // must not write on someone else's behalf.
    for site in [Some("cross-site"), Some("same-site"), None] {
        let page = app.send(alert_page_from(site)).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("The CMDB changed after this snapshot was taken"),
            "{site:?}"
        );
        assert_eq!(app.count(refreshes).await, 1, "{site:?}");
    }
    // Opened from Forestall's own pages, it is traced again first.
    let page = app.send(alert_page_from(Some("same-origin"))).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("The CMDB changed after this snapshot"),
        "refreshed on open"
    );
    assert_eq!(app.count(refreshes).await, 2);
    assert!(!snapshot(&app, MAIL_ALERT, "1").await.stale);
}

/// A browser's GET of the mail alert's page, from where `Sec-Fetch-Site` says.
fn alert_page_from(site: Option<&str>) -> axum::http::Request<axum::body::Body> {
    let mut request = axum::http::Request::get(format!("/alerts/{MAIL_ALERT}")).header("accept", "text/html");
    if let Some(site) = site {
        request = request.header("sec-fetch-site", site);
    }
    request.body(axum::body::Body::empty()).expect("request")
}

#[tokio::test]
async fn a_big_snapshot_comes_a_page_at_a_time_with_its_totals() {
    let app = TestApp::new().await;
    // 120 items of two accounts on one CI, imported, and an alert on that CI.
    let folder = TempDir::new();
    let dir = folder.path();
    std::fs::write(
        dir.join("accounts.csv"),
        "name,kind\nBig One,external\nBig Two,external\n",
    )
    .expect("write");
    std::fs::write(dir.join("configuration_items.csv"), "name,class\nbig-host-01,server\n").expect("write");
    let mut items = String::from("number,name,account,ci\n");
    for n in 1..=120 {
        let account = if n % 3 == 0 { "Big Two" } else { "Big One" };
        items.push_str(&format!("IB02{n:05},Big item {n:03},{account},big-host-01\n"));
    }
    std::fs::write(dir.join("install_base_items.csv"), items).expect("write");
    app.store.import_dir(dir, |_| {}).await.expect("import");
    sqlx::query(
        "INSERT INTO alerts (number, source, node, message_key, severity, state, ci_id, first_event_at, last_event_at)
         SELECT 'Alert0090001', 'Test', 'big-host-01', 'big', 2, 'Open', id, '2026-11-27 00:00:00',
                '2026-11-27 00:00:00'
         FROM configuration_items WHERE name = 'big-host-01'",
    )
    .execute(&app.db)
    .await
    .expect("alert");

    let outcome = app.refresh("Alert0090001").await;
    assert_eq!((outcome.items, outcome.accounts), (120, 2));
    let first = snapshot(&app, "Alert0090001", "1").await;
    assert_eq!(first.items.len(), 50);
    assert_eq!((first.total, first.accounts, first.pages), (120, 2, 3));
    let last = snapshot(&app, "Alert0090001", "3").await;
    assert_eq!(last.items.len(), 20);
    assert_eq!(
        snapshot(&app, "Alert0090001", "99").await.page,
        3,
        "a page past the end shows the last"
    );

    let page = app.get("/alerts/Alert0090001?items_page=2").await;
    assert!(page.body.contains("Page 2 of 3 · 120 items"), "{}", page.body);
    assert!(page.body.contains("120 items of 2 accounts"));
}

/// Records in a table of the test's own every snapshot row deleted or inserted from now on: `("delete" | "insert",
/// item number)`, read with [`snapshot_writes`].
async fn watch_snapshot_writes(app: &TestApp) {
    let statements: &[&str] = match app.store.backend() {
        Backend::Sqlite => &[
            "CREATE TABLE snapshot_writes (op TEXT NOT NULL, item_id INTEGER NOT NULL)",
            "CREATE TRIGGER snapshot_insert AFTER INSERT ON affected_items BEGIN
                 INSERT INTO snapshot_writes VALUES ('insert', NEW.item_id); END",
            "CREATE TRIGGER snapshot_delete AFTER DELETE ON affected_items BEGIN
                 INSERT INTO snapshot_writes VALUES ('delete', OLD.item_id); END",
        ],
        Backend::Postgres => &[
            "CREATE TABLE snapshot_writes (op TEXT NOT NULL, item_id BIGINT NOT NULL)",
            "CREATE FUNCTION snapshot_written() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                 IF TG_OP = 'INSERT' THEN INSERT INTO snapshot_writes VALUES ('insert', NEW.item_id);
                 ELSE INSERT INTO snapshot_writes VALUES ('delete', OLD.item_id); END IF;
                 RETURN NULL; END $$",
            "CREATE TRIGGER snapshot_written AFTER INSERT OR DELETE ON affected_items
                 FOR EACH ROW EXECUTE FUNCTION snapshot_written()",
        ],
    };
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(*sql))
            .execute(&app.db)
            .await
            .expect(sql);
    }
}

/// The snapshot rows written since [`watch_snapshot_writes`] or the last call, and forgets them.
async fn snapshot_writes(app: &TestApp) -> Vec<(String, String)> {
    let mut writes: Vec<(String, String)> =
        sqlx::query_as("SELECT w.op, ib.number FROM snapshot_writes w JOIN install_base_items ib ON ib.id = w.item_id")
            .fetch_all(&app.db)
            .await
            .expect("writes");
    writes.sort();
    sqlx::query("DELETE FROM snapshot_writes")
        .execute(&app.db)
        .await
        .expect("forget");
    writes
}

async fn snapshot_numbers(app: &TestApp, alert: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT ib.number FROM affected_items ai JOIN install_base_items ib ON ib.id = ai.item_id
         WHERE ai.alert_id = (SELECT id FROM alerts WHERE number = $1) ORDER BY ib.number",
    )
    .bind(alert)
    .fetch_all(&app.db)
    .await
    .expect("snapshot rows")
}

#[tokio::test]
async fn a_refresh_writes_only_the_snapshot_rows_that_changed() {
    let app = TestApp::new().await;
    watch_snapshot_writes(&app).await;
    app.refresh(MAIL_ALERT).await;
    let first = snapshot_numbers(&app, MAIL_ALERT).await;
    assert!(first.len() > 1, "{first:?}");
    let written = snapshot_writes(&app).await;
    assert_eq!(
        written.len(),
        first.len(),
        "the first refresh inserts each row: {written:?}"
    );

    // Nothing changed: nothing written.
    let outcome = app.refresh(MAIL_ALERT).await;
    assert_eq!(outcome.items, first.len() as u64);
    assert_eq!(snapshot_numbers(&app, MAIL_ALERT).await, first);
    assert_eq!(snapshot_writes(&app).await, Vec::<(String, String)>::new());

    // One item the alert reaches through its CI (and nothing through it) is deactivated; a new one is put on that CI.
    let (gone,): (String,) = sqlx::query_as(
        "SELECT ib.number FROM affected_items ai JOIN install_base_items ib ON ib.id = ai.item_id
         WHERE ai.alert_id = (SELECT id FROM alerts WHERE number = $1) AND ai.reason <> 'child'
           AND NOT EXISTS (SELECT 1 FROM install_base_items c WHERE c.parent_id = ib.id)
         ORDER BY ib.number LIMIT 1",
    )
    .bind(MAIL_ALERT)
    .fetch_one(&app.db)
    .await
    .expect("an item reached through its CI");
    sqlx::query("UPDATE install_base_items SET active = 0 WHERE number = $1")
        .bind(gone.clone())
        .execute(&app.db)
        .await
        .expect("deactivate");
    sqlx::query(
        "INSERT INTO install_base_items (number, name, account_id, ci_id)
         SELECT 'IB0999001', 'Added beside it', account_id, ci_id FROM install_base_items WHERE number = $1",
    )
    .bind(gone.clone())
    .execute(&app.db)
    .await
    .expect("add an item");

    let outcome = app.refresh(MAIL_ALERT).await;
    let mut expected: Vec<String> = first.iter().filter(|n| **n != gone).cloned().collect();
    expected.push("IB0999001".to_owned());
    expected.sort();
    assert_eq!(snapshot_numbers(&app, MAIL_ALERT).await, expected);
    assert_eq!(outcome.items, expected.len() as u64);
    assert_eq!(
        snapshot_writes(&app).await,
        vec![
            ("delete".to_owned(), gone),
            ("insert".to_owned(), "IB0999001".to_owned())
        ],
        "only the row that went and the one that came are written"
    );
    let listed = snapshot(&app, MAIL_ALERT, "1").await;
    assert_eq!(listed.total, expected.len() as u64);
}
