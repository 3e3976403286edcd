//! SQLite on a disk that fills up: a small file system of the test's own (a loop-mounted 16 MiB ext4) holds the
//! database of a real `forestall serve`, with a ballast file written first. Events are posted until writes fail; the
//! failing ones are refused 507 with a clear message (SQLite's detail only in the log), none is acknowledged that is not
//! stored, reads and page loads still work, a case cannot be created half; once the ballast is deleted the same process
//! takes writes again.

use crate::{
    process::{self, http, sign_in, Server},
    support::TempDir,
};
use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// What a write on the full disk answers (`AppError::StorageFull`).
const FULL: &str =
    "The database's disk is full, so nothing was saved. Free space on the server's disk, then try again.";

/// A small ext4 file system on a loop device, mounted on a temporary folder; unmounted (which frees the loop device,
/// `-o loop` sets it to clear itself) when dropped.
struct SmallDisk {
    mount: PathBuf,
    _folder: TempDir,
}

impl SmallDisk {
    fn new(mebibytes: u32) -> Self {
        let folder = TempDir::new();
        let image = folder.path().join("disk.img");
        let mount = folder.path().join("disk");
        std::fs::create_dir(&mount).expect("mount point");
        run(
            "truncate",
            &["-s", &format!("{mebibytes}M"), image.to_str().expect("path")],
        );
        // No blocks reserved for root: the test runs as root, and full should mean full.
        run("mkfs.ext4", &["-q", "-m", "0", image.to_str().expect("path")]);
        run(
            "mount",
            &[
                "-o",
                "loop",
                image.to_str().expect("path"),
                mount.to_str().expect("path"),
            ],
        );
        Self { mount, _folder: folder }
    }

    fn path(&self) -> &Path {
        &self.mount
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let mount = self.mount.to_string_lossy().into_owned();
        let unmounted = Command::new("umount").arg(&mount).status().is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").args(["-l", &mount]).status();
        }
    }
}

/// Runs a system program; panics with its output if it fails (the test needs root, loop devices and mkfs.ext4).
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed (this test makes a small file system: it needs root and loop devices): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A batch of `count` events with long descriptions, keys `{prefix}-{i}`; their keys.
fn batch(prefix: &str, count: usize) -> (String, Vec<String>) {
    let keys: Vec<String> = (0..count).map(|i| format!("{prefix}-{i}")).collect();
    let events: Vec<serde_json::Value> = keys
        .iter()
        .map(|key| {
            serde_json::json!({"source": "Disk test", "node": "mail-relay-01", "severity": 3, "message_key": key,
                "description": format!("{key} {}", "filling the disk ".repeat(200))})
        })
        .collect();
    (serde_json::json!({ "events": events }).to_string(), keys)
}

async fn post(port: u16, body: &str) -> (u16, String) {
    let token = format!("Bearer {}", app::demo::DEMO_TOKEN.1);
    http(
        port,
        "POST /ingest/v1/events HTTP/1.1",
        &[("Content-Type", "application/json"), ("Authorization", &token)],
        body,
    )
    .await
    .expect("the server answers")
}

/// A server function's status and answer.
async fn call(port: u16, cookie: &str, function: &str, form: &str) -> (u16, String) {
    process::call(port, cookie, function, form)
        .await
        .expect("the server answers")
}

/// An HTTP answer's body, without its headers.
fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or(answer, |(_, body)| body)
}

/// The last lines of the server's log, for a failure's message.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[derive(Default)]
struct Outcomes {
    acknowledged: BTreeSet<String>,
    refused: BTreeSet<String>,
    wrong: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_refuses_writes_clearly_acknowledges_nothing_unstored_and_recovers_when_space_returns() {
    let disk = SmallDisk::new(16);
    let ballast = disk.path().join("ballast");
    std::fs::write(&ballast, vec![0x5a_u8; 3 * 1024 * 1024]).expect("ballast");
    let folder = TempDir::new();
    let log = folder.path().join("forestall.log");
    let url = format!("sqlite://{}", disk.path().join("forestall.db").display());
    let mut server = Server::start_logging(folder.path(), Some(&url), &[], &log);
    server.ready().await;
    let port = server.port;
    let cookie = sign_in(port, "operator", "demo-operator-pass").await;

    // An alert whose case will be asked for on the full disk: on db-host-01, a major case of three accounts.
    let body = serde_json::json!({"events": [{"source": "Disk test", "node": "db-host-01", "severity": 1,
        "message_key": "full-disk-case"}]})
    .to_string();
    let (status, answer) = post(port, &body).await;
    assert_eq!(status, 200, "{answer}");
    let alert = answer
        .split("\"alert\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the alert's number")
        .to_owned();
    let (status, answer) = call(port, &cookie, "refresh_install_base", &format!("alert={alert}")).await;
    assert_eq!(status, 200, "{answer}");

    // Four senders of batches, so the event writer groups them: until each is refused five times in a row.
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let senders: Vec<_> = (0..4)
        .map(|s| {
            let outcomes = outcomes.clone();
            tokio::spawn(async move {
                let mut refused_in_a_row = 0;
                for i in 0..2_000 {
                    let (body, keys) = batch(&format!("fill-{s}-{i}"), 20);
                    let (status, answer) = post(port, &body).await;
                    let mut outcomes = outcomes.lock().expect("lock");
                    match status {
                        200 => {
                            refused_in_a_row = 0;
                            outcomes.acknowledged.extend(keys);
                        }
                        507 if answer.contains(FULL) => {
                            refused_in_a_row += 1;
                            outcomes.refused.extend(keys);
                            if refused_in_a_row == 5 {
                                return;
                            }
                        }
                        _ => outcomes.wrong.push(format!("{status} {}", body_of(&answer))),
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.expect("a sender panicked");
    }
    {
        let outcomes = outcomes.lock().expect("lock");
        assert!(
            outcomes.wrong.is_empty(),
            "{} answers other than 200 or 507, e.g. {:?}; the server's log ends {}",
            outcomes.wrong.len(),
            &outcomes.wrong[..outcomes.wrong.len().min(3)],
            log_tail(&log)
        );
        assert!(
            !outcomes.acknowledged.is_empty(),
            "events were stored before the disk filled"
        );
        assert!(!outcomes.refused.is_empty(), "the disk filled");
    }

    // What room is left (in the write-ahead log a refused batch grew) takes single events, until it too is gone:
    // then single events are refused, with the clear message and nothing of SQLite's.
    let mut refused_in_a_row = 0;
    for i in 0..5_000 {
        let (body, keys) = batch(&format!("full-single-{i}"), 1);
        let (status, answer) = post(port, &body).await;
        let mut outcomes = outcomes.lock().expect("lock");
        match status {
            200 => {
                refused_in_a_row = 0;
                outcomes.acknowledged.extend(keys);
            }
            507 => {
                assert!(answer.contains(FULL), "{answer}");
                assert!(
                    !answer.contains("code: 13") && !answer.contains("database or disk"),
                    "{answer}"
                );
                refused_in_a_row += 1;
                outcomes.refused.extend(keys);
                if refused_in_a_row == 5 {
                    break;
                }
            }
            _ => panic!("a single event on the full disk: {answer}"),
        }
    }
    assert_eq!(refused_in_a_row, 5, "single events were refused once the disk was full");
    // Reads still work: health, a page, the alert's page.
    assert_eq!(
        http(port, "GET /healthz HTTP/1.1", &[], "").await.expect("healthz").0,
        200
    );
    let (status, page) = http(
        port,
        &format!("GET /alerts/{alert} HTTP/1.1"),
        &[("Cookie", &cookie)],
        "",
    )
    .await
    .expect("a page on the full disk");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&alert));
    // Signing in writes (the session, the audit line). Refused, it goes back to the sign-in page, which says so; a
    // write that small may still fit in the database's own free pages, and then the session it answers works.
    let (status, answer) = http(
        port,
        "POST /login HTTP/1.1",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "user_name=agent&password=demo-agent-pass",
    )
    .await
    .expect("sign-in on the full disk");
    assert_eq!(status, 303, "{answer}");
    if !answer.contains("location: /login?error=unavailable") {
        assert!(answer.contains("location: /cases"), "refused, or signed in: {answer}");
        let session = answer
            .lines()
            .find_map(|line| line.strip_prefix("set-cookie: "))
            .and_then(|cookie| cookie.split(';').next())
            .expect("a session cookie");
        let (status, page) = http(port, "GET /cases HTTP/1.1", &[("Cookie", session)], "")
            .await
            .expect("the signed-in page");
        assert_eq!(status, 200, "a session acknowledged is a session stored: {page}");
    }
    // A case is refused whole: nothing of it is written.
    let form = format!("input[alert]={alert}&input[short_description]=Disk+full&input[priority]=1");
    let (status, answer) = call(port, &cookie, "create_case", &form).await;
    assert_eq!(status, 507, "a case on the full disk: {answer}");
    assert!(answer.contains("StorageFull"), "{answer}");

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url)
        .await
        .expect("the database, read beside the server");
    let case_rows = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM cases c JOIN alerts a ON a.id = c.alert_id WHERE a.message_key = 'full-disk-case'",
        )
        .fetch_one(&pool)
        .await
        .expect("cases")
    };
    assert_eq!(case_rows().await, 0, "no case, and no part of one, on the full disk");

    // Space returns: the same process takes writes again, without a restart.
    std::fs::remove_file(&ballast).expect("ballast removed");
    let freed = Instant::now();
    loop {
        let (body, keys) = batch(&format!("freed-{}", freed.elapsed().as_millis()), 1);
        let (status, answer) = post(port, &body).await;
        if status == 200 {
            outcomes.lock().expect("lock").acknowledged.extend(keys);
            break;
        }
        assert_eq!(status, 507, "{answer}");
        outcomes.lock().expect("lock").refused.extend(keys);
        assert!(
            freed.elapsed() < Duration::from_secs(30),
            "writes did not resume once space was freed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for i in 0..5 {
        let (body, keys) = batch(&format!("after-{i}"), 20);
        let (status, answer) = post(port, &body).await;
        assert_eq!(status, 200, "{answer}");
        outcomes.lock().expect("lock").acknowledged.extend(keys);
    }
    let (status, answer) = call(port, &cookie, "create_case", &form).await;
    assert_eq!(status, 200, "the case once space returned: {answer}");
    let (case, case_field): (i64, Option<i64>) = sqlx::query_as(
        "SELECT c.id, a.case_id FROM cases c JOIN alerts a ON a.id = c.alert_id
         WHERE a.message_key = 'full-disk-case' AND c.parent_id IS NULL",
    )
    .fetch_one(&pool)
    .await
    .expect("the case");
    assert_eq!(Some(case), case_field, "the alert's Case field names it");
    let parts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM cases WHERE parent_id = $1),
                (SELECT COUNT(*) FROM case_accounts WHERE case_id = $1),
                (SELECT COUNT(*) FROM case_items WHERE case_id = $1)",
    )
    .bind(case)
    .fetch_one(&pool)
    .await
    .expect("the case's parts");
    assert_eq!(parts, (3, 3, 6), "the case is whole: child cases, accounts, items");
    assert!(server.running(), "forestall never exited");

    // What was acknowledged is stored, once; what was refused is not.
    let outcomes = std::mem::take(&mut *outcomes.lock().expect("lock"));
    let stored: Vec<(String, i64)> = sqlx::query_as(
        "SELECT message_key, CAST(event_count AS BIGINT) FROM alerts
         WHERE message_key LIKE 'fill-%' OR message_key LIKE 'full-single-%' OR message_key LIKE 'after-%'
         OR message_key LIKE 'freed-%'",
    )
    .fetch_all(&pool)
    .await
    .expect("alerts");
    pool.close().await;
    let keys: BTreeSet<&String> = stored.iter().map(|(key, _)| key).collect();
    assert_eq!(keys.len(), stored.len(), "no key has two alerts");
    assert!(stored.iter().all(|(_, count)| *count == 1), "no event counted twice");
    let missing: Vec<&String> = outcomes.acknowledged.iter().filter(|key| !keys.contains(key)).collect();
    assert!(missing.is_empty(), "acknowledged but not stored: {missing:?}");
    let unacknowledged: Vec<&&String> = keys
        .iter()
        .filter(|key| !outcomes.acknowledged.contains(**key))
        .collect();
    assert!(unacknowledged.is_empty(), "stored though refused: {unacknowledged:?}");
    assert_eq!(stored.len(), outcomes.acknowledged.len());

    // The log has SQLite's detail, which no answer showed.
    drop(server);
    let log_text = std::fs::read_to_string(&log).expect("the server's log");
    assert!(
        log_text.contains("disk is full") && log_text.contains("code: 13"),
        "{log_text}"
    );
    assert!(!log_text.contains("panicked"), "{log_text}");
    eprintln!(
        "full disk: {} events acknowledged, {} refused",
        outcomes.acknowledged.len(),
        outcomes.refused.len()
    );
}
