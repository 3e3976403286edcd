//! Refresh Install Base Items: the trace over the demo CMDB, stored as the alert's snapshot.

use crate::support;

use app::{
    install_base::{AffectedItem, AffectedSnapshot, Reason},
    AppError,
};
use support::*;

fn reason_of<'a>(items: &'a [AffectedItem], name: &str) -> &'a Reason {
    &items
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("{name} not affected: {items:?}"))
        .reason
}

#[tokio::test]
async fn refresh_traces_dependents_children_and_stops_at_maintenance() {
    let app = TestApp::new().await;
    let outcome = app.refresh(DB_HOST_ALERT).await;
    assert_eq!((outcome.items, outcome.accounts), (6, 3));

    let snapshot: AffectedSnapshot = app.call("affected_items", &[("alert", DB_HOST_ALERT)]).await.parse();
    assert_eq!(snapshot.refreshed_at, Some(outcome.refreshed_at));
    let items = &snapshot.items;
    let mut names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "Acme gateway EU node",
            "Acme ledger cluster",
            "Acme payment gateway",
            "Forestall IT database host",
            "Globex billing",
            "Globex payments portal",
        ]
    );
    assert_eq!(reason_of(items, "Forestall IT database host"), &Reason::Direct);
    assert_eq!(
        reason_of(items, "Globex payments portal"),
        &Reason::CiPath {
            path: ["db-host-01", "ledger-db", "payments-app", "payments-service"]
                .map(String::from)
                .to_vec(),
            hops: 3
        }
    );
    assert_eq!(
        reason_of(items, "Acme gateway EU node"),
        &Reason::ChildOf {
            parent: "IB0010002".into()
        }
    );
}

#[tokio::test]
async fn a_second_refresh_replaces_the_snapshot() {
    let app = TestApp::new().await;
    app.refresh(DB_HOST_ALERT).await;
    // The CMDB changes: Globex's billing item is retired.
    sqlx::query("UPDATE install_base_items SET active = 0 WHERE name = 'Globex billing'")
        .execute(&app.db)
        .await
        .expect("update");
    let outcome = app.refresh(DB_HOST_ALERT).await;
    assert_eq!(outcome.items, 5);
    assert_eq!(app.count("SELECT COUNT(*) FROM affected_items").await, 5);
}

#[tokio::test]
async fn every_instance_traces_the_cmdb_as_it_is_now_whoever_changed_it() {
    let app = TestApp::new().await;
    // A second Forestall instance on the same database, with its own impact graph in memory.
    let other = app::store::Store::open(&app.url).await.expect("second instance");
    let other_refresh = || async {
        other
            .refresh_install_base(DB_HOST_ALERT, 10, "other instance")
            .await
            .expect("refresh on the other instance")
            .items
    };
    assert_eq!(app.refresh(DB_HOST_ALERT).await.items, 6);
    assert_eq!(other_refresh().await, 6);

    // An administrator retires an item with plain SQL: both instances trace without it from then on.
    sqlx::query("UPDATE install_base_items SET active = 0 WHERE name = 'Globex billing'")
        .execute(&app.db)
        .await
        .expect("update");
    assert_eq!(other_refresh().await, 5);
    assert_eq!(app.refresh(DB_HOST_ALERT).await.items, 5);

    // The other instance imports a CMDB that hangs a new item of Initech's on the database host.
    let folder = TempDir::new();
    std::fs::write(
        folder.path().join("install_base_items.csv"),
        "number,name,account,contact,product,ci,parent,active,install_date\n\
         IB0090001,Initech reporting node,Initech,,,db-host-01,,true,\n",
    )
    .expect("write the CSV");
    other.import_dir(folder.path(), |_| {}).await.expect("import");
    let outcome = app.refresh(DB_HOST_ALERT).await;
    assert_eq!((outcome.items, outcome.accounts), (6, 4));
    other.close().await;
}

#[tokio::test]
async fn an_alert_without_a_ci_is_refused_with_a_message_and_nothing_changes() {
    let app = TestApp::new().await;
    let reply = app.call("refresh_install_base", &[("alert", NO_CI_ALERT)]).await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let AppError::Invalid { message, .. } = reply.parse::<AppError>() else {
        panic!("not Invalid: {}", reply.body)
    };
    assert!(message.contains("has no configuration item"), "{message}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alerts WHERE ib_refreshed_at IS NOT NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn an_alert_on_a_ci_nothing_depends_on_has_an_empty_snapshot() {
    let app = TestApp::new().await;
    let outcome = app.refresh(EDGE_ROUTER_ALERT).await;
    assert_eq!(outcome.items, 0);
    let snapshot: AffectedSnapshot = app
        .call("affected_items", &[("alert", EDGE_ROUTER_ALERT)])
        .await
        .parse();
    assert_eq!(
        snapshot.refreshed_at,
        Some(outcome.refreshed_at),
        "the empty result is still a snapshot with its time"
    );
    assert_eq!((snapshot.items.len(), snapshot.total), (0, 0));
}

#[tokio::test]
async fn refreshing_an_unknown_alert_is_not_found() {
    let app = TestApp::new().await;
    let reply = app.call("refresh_install_base", &[("alert", "Alert0099999")]).await;
    assert_eq!(reply.status, 404);
}
