//! Backups: `forestall backup` copies a SQLite database while it takes events, and what it copied is every event
//! acknowledged before it began; `forestall restore` checks what it restores and refuses under a running server.

use crate::support;

use app::store::{
    backup::{restore, BackupError, ServeLock},
    Store,
};
use axum::{body::Body, http::Request};
use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    Arc,
};
use support::*;

fn event(i: usize) -> Request<Body> {
    let body = serde_json::json!({"events": [{
        "source": "Backup test", "node": "mail-relay-01", "severity": 3,
        "message_key": format!("backup-{i}"), "description": format!("event {i}")
    }]});
    Request::post("/ingest/v1/events")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", app::demo::DEMO_TOKEN.1))
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_ingestion_restores_every_event_acknowledged_before_it_began() {
    let app = TestApp::new().await;
    let folder = TempDir::new();
    let copy = folder.path().join("forestall-backup.db");
    if app.database().sqlite_file().is_none() {
        let refused = app.store.backup_to(&copy).await;
        assert!(matches!(refused, Err(BackupError::Postgres)), "{refused:?}");
        assert!(BackupError::Postgres.to_string().contains("pg_dump"));
        return;
    }
    // Monitoring posts one event after another, each a new alert, and counts those answered 200.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (router, acknowledged, stop) = (app.router.clone(), acknowledged.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 5_000 {
                let reply = send(router.clone(), event(i)).await;
                assert_eq!(reply.status, 200, "{}", reply.body);
                i += 1;
                acknowledged.store(i, Ordering::SeqCst);
            }
        })
    };
    while acknowledged.load(Ordering::SeqCst) < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = acknowledged.load(Ordering::SeqCst);
    let report = app.store.backup_to(&copy).await.expect("backup");
    let during = acknowledged.load(Ordering::SeqCst);
    assert!(report.bytes > 0);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    sender.await.expect("sender");
    assert!(
        during > before,
        "events went on being taken during the backup ({before} then {during})"
    );
    assert!(!folder.path().join("forestall-backup.db.partial").exists());

    // Restored as another database: every event acknowledged before the backup began is there, once.
    let target = folder.path().join("restored.db");
    let url = format!("sqlite://{}", target.display());
    restore(&url, &copy).await.expect("restore");
    let restored = Store::open(&url).await.expect("open the restored database");
    drop(restored);
    let pool = sqlx::AnyPool::connect(&url).await.expect("pool");
    let keys: Vec<String> = sqlx::query_scalar("SELECT message_key FROM alerts WHERE message_key LIKE 'backup-%'")
        .fetch_all(&pool)
        .await
        .expect("alerts");
    for i in 0..before {
        assert_eq!(
            keys.iter().filter(|k| **k == format!("backup-{i}")).count(),
            1,
            "event {i} was acknowledged before the backup began"
        );
    }
    assert!(keys.len() <= during + 1, "nothing the backup could not have seen");
}

#[tokio::test]
async fn restore_refuses_under_a_running_server_and_anything_but_a_backup() {
    let folder = TempDir::new();
    let source = folder.path().join("source.db");
    let source_url = format!("sqlite://{}", source.display());
    let store = Store::open(&source_url).await.expect("open");
    store.seed_demo().await.expect("demo");
    let copy = folder.path().join("copy.db");
    store.backup_to(&copy).await.expect("backup");
    let again = store.backup_to(&copy).await;
    assert!(
        matches!(again, Err(BackupError::Exists(_))),
        "an earlier backup is never overwritten: {again:?}"
    );
    let nowhere = store.backup_to(&folder.path().join("missing/copy.db")).await;
    assert!(matches!(nowhere, Err(BackupError::NoDirectory(_))), "{nowhere:?}");

    let target = folder.path().join("live.db");
    let url = format!("sqlite://{}", target.display());
    let live = Store::open(&url).await.expect("open the target");
    let serving = ServeLock::acquire(&url).expect("lock").expect("a SQLite file");
    let refused = restore(&url, &copy).await;
    assert!(matches!(refused, Err(BackupError::Serving(_))), "{refused:?}");
    let pool = sqlx::AnyPool::connect(&url).await.expect("pool");
    let alerts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(alerts, 0, "the served database is untouched");
    pool.close().await;
    drop(serving);
    live.close().await;

    let junk = folder.path().join("junk.db");
    std::fs::write(&junk, "not a database").expect("write");
    let refused = restore(&url, &junk).await;
    assert!(matches!(refused, Err(BackupError::NotABackup(..))), "{refused:?}");

    restore(&url, &copy).await.expect("restore");
    assert!(
        folder.path().join("live.db.before-restore").exists(),
        "the database as it was is kept"
    );
    let pool = sqlx::AnyPool::connect(&url).await.expect("pool");
    let alerts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(alerts, 27, "the demo's alerts, from the backup");
}

#[test]
fn the_command_line_backs_up_refuses_postgres_with_the_commands_to_use_and_restores() {
    let folder = TempDir::new();
    let run = |args: &[&str], url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_forestall"))
            .args(args)
            .env("DATABASE_URL", url)
            .env("FORESTALL_LOG", "off")
            .output()
            .expect("forestall runs")
    };
    let url = format!("sqlite://{}", folder.path().join("cli.db").display());
    assert!(run(&["demo"], &url).status.success());
    let copy = folder.path().join("cli-backup.db");
    let backed = run(&["backup", copy.to_str().expect("path")], &url);
    assert!(backed.status.success(), "{}", String::from_utf8_lossy(&backed.stderr));
    assert!(String::from_utf8_lossy(&backed.stdout).starts_with("Backed up to"));
    let restored = run(&["restore", copy.to_str().expect("path")], &url);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );

    let postgres = run(&["backup", "x.dump"], "postgres://nobody@127.0.0.1:1/none");
    assert!(!postgres.status.success());
    let said = String::from_utf8_lossy(&postgres.stderr);
    assert!(said.contains("pg_dump") && said.contains("pg_restore"), "{said}");
}
