//! The database goes away under load (PostgreSQL: its connections cut and new ones refused, as during a restart):
//! requests are answered 503 within seconds with a clear message, never hang and never panic; `/healthz` says so;
//! the pool recovers by itself once the database is back; nothing acknowledged is lost.

use crate::support;

use axum::{body::Body, http::Request};
use std::time::{Duration, Instant};
use support::*;

fn event(key: &str) -> Request<Body> {
    let body = serde_json::json!({"events": [{"source": "Outage", "node": "mail-relay-01", "severity": 3, "message_key": key}]});
    Request::post("/ingest/v1/events")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", app::demo::DEMO_TOKEN.1))
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn healthz() -> Request<Body> {
    Request::get("/healthz").body(Body::empty()).expect("request")
}

/// The database `name` goes away as during a restart: every connection to it cut, new ones refused.
async fn away(admin: &sqlx::AnyPool, name: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
    )))
    .execute(admin)
    .await
    .expect("refuse connections");
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .execute(admin)
    .await
    .expect("cut connections");
}

/// The database `name` is back.
async fn back(admin: &sqlx::AnyPool, name: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"
    )))
    .execute(admin)
    .await
    .expect("allow connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_answers_503_quickly_and_the_server_recovers_with_nothing_acknowledged_lost() {
    let app = TestApp::new().await;
    let TestDatabase::Postgres { server, name } = app.database() else {
        // SQLite is a file of the server's own: it cannot go away like this (its full disk is another case).
        return;
    };
    let admin = sqlx::AnyPool::connect(server).await.expect("the server's own database");
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let key = format!("outage-before-{i}");
        assert_eq!(send(app.router.clone(), event(&key)).await.status, 200);
        acknowledged.push(key);
    }

    away(&admin, name).await;
    let mut refused = 0;
    for i in 0..5 {
        let started = Instant::now();
        let reply = send(app.router.clone(), event(&format!("outage-during-{i}"))).await;
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "an answer within the pool's timeout, not a hang"
        );
        if reply.status == 503 {
            assert!(reply.body.contains("The database is not answering"), "{}", reply.body);
            refused += 1;
        } else {
            assert_eq!(reply.status, 200, "either refused as 503 or stored: {}", reply.body);
            acknowledged.push(format!("outage-during-{i}"));
        }
        let health = send(app.router.clone(), healthz()).await;
        assert_eq!(health.status, 503, "/healthz says the database is away");
        assert!(health.body.contains("database unavailable"));
    }
    assert!(refused >= 4, "the database was away: {refused} of 5 refused");

    // Back: the pool reconnects by itself.
    back(&admin, name).await;
    let started = Instant::now();
    while send(app.router.clone(), healthz()).await.status != 200 {
        assert!(started.elapsed() < Duration::from_secs(30), "the pool did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for i in 0..10 {
        let key = format!("outage-after-{i}");
        let reply = send(app.router.clone(), event(&key)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        acknowledged.push(key);
    }
    let stored: Vec<String> = sqlx::query_scalar("SELECT message_key FROM alerts WHERE message_key LIKE 'outage-%'")
        .fetch_all(&app.db)
        .await
        .expect("alerts");
    for key in &acknowledged {
        assert_eq!(stored.iter().filter(|k| *k == key).count(), 1, "{key} was acknowledged");
    }
    admin.close().await;
}

/// What a write answers when the database's disk is full (`AppError::StorageFull`).
const FULL: &str =
    "The database's disk is full, so nothing was saved. Free space on the server's disk, then try again.";

/// PostgreSQL with a full disk. Filling a real cluster's disk would take the test's shared server down with it
/// (PostgreSQL stops when it cannot write its WAL), so the full disk is the error PostgreSQL raises then:
/// `disk_full` (SQLSTATE 53100), raised by triggers on tables ingestion and case creation write after their first
/// rows (a new alert's search row, a case's accounts).
/// Ingestion and case creation are refused 507 with the clear message; nothing refused is stored, the case not
/// half; once space "returns" (the triggers dropped), the same server takes both again.
#[tokio::test]
async fn postgres_with_a_full_disk_refuses_writes_with_507_stores_nothing_refused_and_recovers() {
    let app = TestApp::new().await;
    let TestDatabase::Postgres { .. } = app.database() else {
        // SQLite's full disk is a real one: full_disk.rs.
        return;
    };
    for statement in [
        "CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$",
        "CREATE TRIGGER test_disk_full BEFORE INSERT ON alert_search FOR EACH ROW EXECUTE FUNCTION test_disk_full()",
        "CREATE TRIGGER test_disk_full BEFORE INSERT ON case_accounts FOR EACH ROW EXECUTE FUNCTION test_disk_full()",
    ] {
        sqlx::query(statement).execute(&app.db).await.expect(statement);
    }
    let (alerts, cases) = (
        app.count("SELECT COUNT(*) FROM alerts").await,
        app.count("SELECT COUNT(*) FROM cases").await,
    );

    let refused = send(app.router.clone(), event("disk-full-0")).await;
    assert_eq!(refused.status, 507, "{}", refused.body);
    assert_eq!(refused.parse::<ApiError>().error, FULL);
    assert!(
        !refused.body.contains("extend file"),
        "PostgreSQL's detail stays in the log"
    );
    app.refresh(DB_HOST_ALERT).await;
    let case = app.create_case(DB_HOST_ALERT, "Ledger disk full", "").await;
    assert_eq!(case.status, 507, "{}", case.body);
    assert!(
        case.body.contains("StorageFull"),
        "the form shows FULL for it: {}",
        case.body
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alerts").await,
        alerts,
        "no alert half-written"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM cases").await,
        cases,
        "no case without its accounts"
    );
    let page = app.get(&format!("/alerts/{DB_HOST_ALERT}")).await;
    assert_eq!(page.status, 200, "reads still work");

    sqlx::query("DROP FUNCTION test_disk_full() CASCADE")
        .execute(&app.db)
        .await
        .expect("space again");
    let stored = send(app.router.clone(), event("disk-full-1")).await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    let case = app.create_case(DB_HOST_ALERT, "Ledger disk full", "").await;
    assert_eq!(case.status, 200, "{}", case.body);
    let keys: Vec<String> = sqlx::query_scalar("SELECT message_key FROM alerts WHERE message_key LIKE 'disk-full-%'")
        .fetch_all(&app.db)
        .await
        .expect("alerts");
    assert_eq!(keys, ["disk-full-1"], "only the acknowledged event is stored");
}

/// The outbox through a PostgreSQL restart: while the database is away the outbox fails without sending or losing
/// anything; a restart between the mail server taking a notice and the outbox marking it sent leaves that notice
/// leased, and once the lease runs out it is sent again with the same Message-ID (at least once, never lost: the
/// receiving side can tell the copy by its Message-ID); every other notice is sent exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_through_a_postgres_restart_loses_no_notice_and_resends_only_the_one_cut_with_its_message_id() {
    use crate::notices::{fake_smtp_with, queue_initial, Received};
    use app::notices::server::{outbox::Mailer, NoticeSettings, Transport};

    let (store, db, database) = empty_store().await;
    let TestDatabase::Postgres { server, name } = &database else {
        return;
    };
    store.seed_demo().await.expect("demo");
    let admin = sqlx::AnyPool::connect(server).await.expect("the server's own database");
    let (received_tx, mut received_rx) = tokio::sync::mpsc::channel::<Received>(1);
    let port = fake_smtp_with(0, "250", Some(received_tx)).await;
    let settings = NoticeSettings {
        transport: Transport::Smtp {
            host: "127.0.0.1".into(),
            port,
        },
        ..NoticeSettings::default()
    };
    queue_initial(&store, &settings).await;
    let mailer = Mailer::new(&settings.transport);
    // Each message's Message-ID as the mail server took it; the first one taken cuts the database before its 250.
    let taken = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let listener = tokio::spawn({
        let (taken, admin, name) = (taken.clone(), admin.clone(), name.clone());
        async move {
            while let Some((message, go)) = received_rx.recv().await {
                let id = message
                    .lines()
                    .find_map(|line| line.strip_prefix("Message-ID: "))
                    .expect("a Message-ID")
                    .to_owned();
                let first = {
                    let mut taken = taken.lock().expect("taken");
                    taken.push(id);
                    taken.len() == 1
                };
                if first {
                    away(&admin, &name).await;
                }
                let _ = go.send(());
            }
        }
    });
    let statuses = || async {
        sqlx::query_as::<_, (String, String)>("SELECT message_id, status FROM notices ORDER BY id")
            .fetch_all(&db)
            .await
            .expect("notices")
    };

    // Away before the outbox looks: it fails, sends nothing, changes nothing.
    away(&admin, name).await;
    let error = store
        .deliver_due(&mailer, &settings)
        .await
        .expect_err("the database is away");
    assert!(app::error::database_away(&error), "{error}");
    assert!(taken.lock().expect("taken").is_empty());
    back(&admin, name).await;
    assert!(statuses().await.iter().all(|(_, s)| s == "pending"));

    // The first notice is taken by the mail server, then the database goes away before it is marked.
    let error = store
        .deliver_due(&mailer, &settings)
        .await
        .expect_err("cut before the mark");
    assert!(app::error::database_away(&error), "{error}");
    back(&admin, name).await;
    let cut = taken.lock().expect("taken")[0].clone();

    // Back: the outbox goes on (as its task does, every few seconds) with the two not yet sent.
    let deadline = Instant::now() + Duration::from_secs(30);
    let sent = loop {
        match store.deliver_due(&mailer, &settings).await {
            Ok(sent) => break sent,
            Err(error) if Instant::now() < deadline => {
                assert!(app::error::database_away(&error), "{error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("the pool did not recover: {error}"),
        }
    };
    assert_eq!(sent, 2, "the cut notice is still leased");
    let rows = statuses().await;
    assert_eq!(rows.iter().filter(|(_, s)| s == "sent").count(), 2, "{rows:?}");
    assert!(rows.contains(&(cut.clone(), "pending".to_owned())), "{rows:?}");

    // Its lease runs out (two minutes, brought forward here): it is sent again, with the same Message-ID.
    sqlx::query("UPDATE notices SET next_attempt_at = '2000-01-01 00:00:00' WHERE message_id = $1")
        .bind(&cut)
        .execute(&db)
        .await
        .expect("lease over");
    assert_eq!(store.deliver_due(&mailer, &settings).await.expect("resend"), 1);
    assert_eq!(
        store.deliver_due(&mailer, &settings).await.expect("again"),
        0,
        "nothing more"
    );
    let rows = statuses().await;
    assert!(rows.iter().all(|(_, s)| s == "sent"), "{rows:?}");
    let taken = taken.lock().expect("taken").clone();
    assert_eq!(taken.len(), 4, "three notices, the cut one twice: {taken:?}");
    for (message_id, _) in &rows {
        let copies = taken.iter().filter(|id| *id == message_id).count();
        assert_eq!(
            copies,
            if *message_id == cut { 2 } else { 1 },
            "{message_id}: {taken:?}"
        );
    }
    listener.abort();
    admin.close().await;
}
