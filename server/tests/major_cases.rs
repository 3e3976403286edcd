//! Cases at scale and under races: a major case for hundreds of accounts, and writers that meet on one alert or
//! one case at once (run on PostgreSQL too, where nothing but row locks keeps them apart).

use crate::support;

use app::{cases::CaseCreated, cases::CaseUpdate};
use support::*;

/// Imports `accounts` accounts with `items_each` install base items each on one new CI, and raises an alert
/// `alert` on that CI.
async fn accounts_on_one_ci(app: &TestApp, ci: &str, accounts: usize, items_each: usize, alert: &str) {
    let folder = TempDir::new();
    let dir = folder.path();
    let mut account_rows = String::from("name,kind\n");
    let mut item_rows = String::from("number,name,account,ci\n");
    for a in 0..accounts {
        account_rows.push_str(&format!("{ci} customer {a:03},external\n"));
        for i in 0..items_each {
            item_rows.push_str(&format!(
                "IB09{a:03}{i:02},{ci} item {a}-{i},{ci} customer {a:03},{ci}\n"
            ));
        }
    }
    std::fs::write(dir.join("accounts.csv"), account_rows).expect("write");
    std::fs::write(
        dir.join("configuration_items.csv"),
        format!("name,class\n{ci},server\n"),
    )
    .expect("write");
    std::fs::write(dir.join("install_base_items.csv"), item_rows).expect("write");
    app.store.import_dir(dir, |_| {}).await.expect("import");
    raise_alert(app, ci, alert).await;
}

async fn raise_alert(app: &TestApp, ci: &str, alert: &str) {
    sqlx::query(
        "INSERT INTO alerts (number, source, node, message_key, severity, state, ci_id, first_event_at, last_event_at)
         SELECT $1, 'Test', $2, $1, 2, 'Open', id, '2026-11-27 00:00:00', '2026-11-27 00:00:00'
         FROM configuration_items WHERE name = $2",
    )
    .bind(alert)
    .bind(ci)
    .execute(&app.db)
    .await
    .expect("alert");
}

#[tokio::test]
async fn a_major_case_for_four_hundred_accounts_is_created_and_its_activity_stays_readable() {
    let app = TestApp::new().await;
    accounts_on_one_ci(&app, "core-switch-01", 410, 1, "Alert0095001").await;
    let outcome = app.refresh("Alert0095001").await;
    assert_eq!(outcome.accounts, 410);
    let reply = app.create_case("Alert0095001", "Core switch down", "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let created: CaseCreated = reply.parse();
    assert_eq!(created.children.len(), 410);

    let activity: String = sqlx::query_scalar(
        "SELECT j.body FROM journal_entries j JOIN alerts a ON a.id = j.alert_id
         WHERE a.number = 'Alert0095001' AND j.kind = 'activity' ORDER BY j.id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("the alert's activity");
    let (first, last) = (&created.children[0], &created.children[409]);
    assert_eq!(
        activity,
        format!(
            "Major proactive case {} created, with 410 child cases, {first} to {last}: the case page lists them.",
            created.number
        )
    );
    // The Case field holds the major case.
    let case: String = sqlx::query_scalar(
        "SELECT c.number FROM alerts a JOIN cases c ON c.id = a.case_id WHERE a.number = 'Alert0095001'",
    )
    .fetch_one(&app.db)
    .await
    .expect("case field");
    assert_eq!(case, created.number);
}

/// The accounts of the items linked to case `number`, sorted.
async fn accounts_of_case_items(app: &TestApp, number: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT DISTINCT acc.name FROM cases c JOIN case_items ci ON ci.case_id = c.id
         JOIN install_base_items ib ON ib.id = ci.item_id JOIN accounts acc ON acc.id = ib.account_id
         WHERE c.number = $1 ORDER BY acc.name",
    )
    .bind(number)
    .fetch_all(&app.db)
    .await
    .expect("accounts")
}

/// Replaces the alert's snapshot with the items of the accounts named, in one transaction that first takes the
/// alert's row, as a refresh does.
async fn replace_snapshot(app: &TestApp, alert: &str, accounts: &[String]) {
    let mut tx = app.db.begin().await.expect("begin");
    sqlx::query("UPDATE alerts SET ib_refreshed_at = '2026-12-01 00:00:00' WHERE number = $1")
        .bind(alert)
        .execute(&mut *tx)
        .await
        .expect("lock the alert");
    sqlx::query("DELETE FROM affected_items WHERE alert_id = (SELECT id FROM alerts WHERE number = $1)")
        .bind(alert)
        .execute(&mut *tx)
        .await
        .expect("delete");
    for account in accounts {
        sqlx::query(
            "INSERT INTO affected_items (alert_id, item_id, reason, hops)
             SELECT a.id, ib.id, 'direct', 0 FROM alerts a, install_base_items ib
             JOIN accounts acc ON acc.id = ib.account_id WHERE a.number = $1 AND acc.name = $2",
        )
        .bind(alert)
        .bind(account)
        .execute(&mut *tx)
        .await
        .expect("insert");
    }
    tx.commit().await.expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_case_created_while_a_refresh_commits_comes_from_one_snapshot_not_two() {
    let app = TestApp::new().await;
    accounts_on_one_ci(&app, "race-host-01", 6, 2, "Alert0096000").await;
    let names = |range: std::ops::Range<usize>| -> Vec<String> {
        range.map(|a| format!("race-host-01 customer {a:03}")).collect()
    };
    let (before, after) = (names(0..3), names(3..6));
    for round in 1..=25 {
        let alert = format!("Alert00961{round:02}");
        raise_alert(&app, "race-host-01", &alert).await;
        replace_snapshot(&app, &alert, &before).await;
        let (created, ()) = tokio::join!(
            app.create_case(&alert, "Race host down", ""),
            replace_snapshot(&app, &alert, &after)
        );
        assert_eq!(created.status, 200, "{}", created.body);
        let created: CaseCreated = created.parse();
        let mut child_accounts = Vec::new();
        for child in &created.children {
            child_accounts.extend(accounts_of_case_items(&app, child).await);
        }
        child_accounts.sort();
        let linked = accounts_of_case_items(&app, &created.number).await;
        assert!(
            linked == before || linked == after,
            "round {round}: the case's items span two snapshots: {linked:?}"
        );
        assert_eq!(
            child_accounts, linked,
            "round {round}: children from one snapshot, items from another"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_state_changes_from_one_state_at_once_do_not_both_succeed() {
    let app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    let created: CaseCreated = app.create_case(MAIL_ALERT, "Mail relay down", "").await.parse();
    let change = |state: &str| CaseUpdate {
        number: created.number.clone(),
        state: state.into(),
        resolution_notes: "Relay restarted.".into(),
    };
    for round in 1..=25 {
        sqlx::query("UPDATE cases SET state = 'New' WHERE number = $1")
            .bind(&created.number)
            .execute(&app.db)
            .await
            .expect("back to New");
        // Two agents open the New case and both move it to Open.
        let (one, other) = (change("Open"), change("Open"));
        let (first, second) = tokio::join!(
            app.store.update_case_state(&one, "agent"),
            app.store.update_case_state(&other, "operator")
        );
        assert!(
            first.is_ok() != second.is_ok(),
            "round {round}: exactly one change from New succeeds: {first:?} {second:?}"
        );
        let changes_from_new: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM journal_entries j JOIN cases c ON c.id = j.case_id
             WHERE c.number = $1 AND j.body LIKE 'State changed from New %'",
        )
        .bind(&created.number)
        .fetch_one(&app.db)
        .await
        .expect("count");
        assert_eq!(
            changes_from_new, round,
            "round {round}: one change from New recorded per round"
        );
    }
}
