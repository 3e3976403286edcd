//! PostgreSQL restarted for real while monitoring posts events: a private PostgreSQL 15 cluster of the test's own
//! (so stopping it stops nobody else), the real `forestall serve` on it, several senders posting throughout, and
//! `pg_ctl stop -m fast` … `pg_ctl start` in the middle. While it is down every answer is 503 with the clear message,
//! within the pool's wait plus a margin; `/healthz` says the database is unavailable; the process never dies. Once it
//! is back the same process answers 200 again, its live stream and page loads work, and every event it acknowledged
//! is stored exactly once.

use crate::{
    process::{http, sign_in, Server},
    support::TempDir,
};
use std::{
    collections::BTreeSet,
    path::PathBuf,
    process::Command,
    sync::{
        atomic::{AtomicBool, AtomicU8, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the pool waits for a connection (`Store::open`, PostgreSQL)...
const POOL_WAIT: Duration = Duration::from_secs(5);
/// ...and what an answer may take beyond it on a busy two-core machine before it counts as a hang.
const MARGIN: Duration = Duration::from_secs(10);
/// The message a refused request carries (`AppError::Unavailable`).
const AWAY: &str = "The database is not answering just now, so nothing was done. Try again in a moment.";

/// The directory of PostgreSQL's server programs (`initdb`, `pg_ctl`): Debian's for version 15, else what
/// `pg_config --bindir` says. The test needs them and fails if they are missing: it must not pass by skipping.
fn postgres_bin() -> PathBuf {
    let debian = PathBuf::from("/usr/lib/postgresql/15/bin");
    if debian.join("pg_ctl").exists() {
        return debian;
    }
    let configured = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    match configured {
        Some(bin) if bin.join("initdb").exists() && bin.join("pg_ctl").exists() => bin,
        _ => panic!(
            "this test runs a PostgreSQL server of its own and needs its programs (initdb, pg_ctl) in \
             /usr/lib/postgresql/15/bin or `pg_config --bindir`: install postgresql-15"
        ),
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// A private PostgreSQL cluster in a temporary folder, on a free port of 127.0.0.1; stopped and removed when dropped,
/// whatever the test did.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_root: bool,
    /// Holds the cluster's files; dropped after the cluster is stopped.
    _folder: TempDir,
}

impl Cluster {
    fn start() -> Self {
        let bin = postgres_bin();
        let as_root = running_as_root();
        let folder = TempDir::new();
        let home = folder.path().join("pg");
        std::fs::create_dir(&home).expect("the cluster's folder");
        if as_root {
            // initdb refuses to run as root: the cluster is the postgres user's.
            let owned = Command::new("chown")
                .args(["postgres:postgres", home.to_str().expect("path")])
                .status()
                .expect("chown");
            assert!(owned.success(), "chown the cluster's folder to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let cluster = Self {
            bin,
            data: home.join("data"),
            port,
            as_root,
            _folder: folder,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                cluster.data.to_str().expect("path"),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
        );
        cluster.start_again();
        cluster
    }

    /// Runs one of PostgreSQL's programs as the cluster's owner; panics with its output if it fails.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = match self.as_root {
            true => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(&path);
                command
            }
            false => Command::new(&path),
        };
        let output = command.args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data.to_str().expect("path");
        let mut all = vec!["-D", data, "-w", "-t", "60"];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    /// Starts the server and waits until it accepts connections.
    fn start_again(&self) {
        let socket_dir = self.data.parent().expect("home").to_str().expect("path").to_owned();
        let log = self.data.parent().expect("home").join("postgres.log");
        let options = format!("-p {} -k {socket_dir} -c listen_addresses=127.0.0.1", self.port);
        self.pg_ctl(&["-l", log.to_str().expect("path"), "-o", &options, "start"]);
    }

    /// `pg_ctl stop -m fast`: open connections are ended and the server shuts down cleanly, as a restart does.
    fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let path = self.bin.join("pg_ctl");
        let mut command = match self.as_root {
            true => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(&path);
                command
            }
            false => Command::new(&path),
        };
        let _ = command.args(["-D", &data, "-m", "immediate", "-w", "stop"]).output();
    }
}

/// Where the test is: senders note it at the start and the end of each request.
const BEFORE: u8 = 0;
const STOPPING: u8 = 1;
const DOWN: u8 = 2;
const BACK: u8 = 3;

#[derive(Default)]
struct Outcomes {
    acknowledged: BTreeSet<String>,
    /// Answers 503 with the message.
    refused: usize,
    /// Requests sent and answered while the cluster was fully stopped.
    while_down: usize,
    /// Anything else: another status, a 503 without the message, a 200 while down, an answer that took too long.
    wrong: Vec<String>,
    slowest: Duration,
}

/// `senders` tasks posting one event each after another until `stop` (or a bound on count and time).
fn monitoring(
    port: u16,
    senders: usize,
    phase: &Arc<AtomicU8>,
    stop: &Arc<AtomicBool>,
) -> (Arc<Mutex<Outcomes>>, Vec<tokio::task::JoinHandle<()>>) {
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let token = format!("Bearer {}", app::demo::DEMO_TOKEN.1);
    let tasks = (0..senders)
        .map(|s| {
            let (outcomes, phase, stop, token) = (outcomes.clone(), phase.clone(), stop.clone(), token.clone());
            tokio::spawn(async move {
                let began = Instant::now();
                for i in 0..20_000 {
                    if stop.load(Ordering::SeqCst) || began.elapsed() > Duration::from_secs(240) {
                        return;
                    }
                    let key = format!("restart-{s}-{i}");
                    let body = serde_json::json!({"events": [{
                        "source": "Restart test", "node": "mail-relay-01", "severity": 3, "message_key": key
                    }]})
                    .to_string();
                    let headers = [("Content-Type", "application/json"), ("Authorization", token.as_str())];
                    let sent_in = phase.load(Ordering::SeqCst);
                    let started = Instant::now();
                    let answer = tokio::time::timeout(
                        Duration::from_secs(60),
                        http(port, "POST /ingest/v1/events HTTP/1.1", &headers, &body),
                    )
                    .await;
                    let took = started.elapsed();
                    let answered_in = phase.load(Ordering::SeqCst);
                    let down = sent_in == DOWN && answered_in == DOWN;
                    let refused = {
                        let mut outcomes = outcomes.lock().expect("lock");
                        outcomes.slowest = outcomes.slowest.max(took);
                        if took > POOL_WAIT + MARGIN {
                            outcomes.wrong.push(format!("{key}: answered after {took:?}"));
                        }
                        outcomes.while_down += usize::from(down);
                        match answer {
                            Ok(Ok((200, _))) if !down => {
                                outcomes.acknowledged.insert(key);
                                false
                            }
                            Ok(Ok((503, answer))) if answer.contains(AWAY) => {
                                outcomes.refused += 1;
                                true
                            }
                            Ok(Ok((status, answer))) => {
                                outcomes.wrong.push(format!("{key} (down: {down}): {status} {answer}"));
                                false
                            }
                            Ok(Err(error)) => {
                                outcomes.wrong.push(format!("{key}: no answer: {error}"));
                                true
                            }
                            Err(_) => {
                                outcomes.wrong.push(format!("{key}: no answer within 60 s"));
                                true
                            }
                        }
                    };
                    if refused {
                        // As monitoring does: wait a moment, then go on.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            })
        })
        .collect();
    (outcomes, tasks)
}

/// Waits for `condition`, at most `limit`, saying `what` if it never holds.
async fn until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what} (waited {limit:?})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn healthz(port: u16) -> (u16, String, Duration) {
    let started = Instant::now();
    let (status, answer) = http(port, "GET /healthz HTTP/1.1", &[], "")
        .await
        .expect("/healthz answers");
    (status, answer, started.elapsed())
}

/// Reads the open stream until it has said `needle`, at most `limit`; what it said, if not.
async fn stream_says(stream: &mut tokio::net::TcpStream, needle: &str, limit: Duration) -> Result<(), String> {
    let mut heard = String::new();
    let found = tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        while !heard.contains(needle) {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return false,
                Ok(read) => heard.push_str(&String::from_utf8_lossy(&buffer[..read])),
            }
        }
        true
    })
    .await
    .unwrap_or(false);
    match found {
        true => Ok(()),
        false => Err(heard),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_answers_503_while_down_recovers_by_itself_and_loses_nothing_acknowledged() {
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.expect("cluster");
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&cluster.url("postgres"))
        .await
        .expect("the cluster answers");
    sqlx::query("CREATE DATABASE forestall")
        .execute(&admin)
        .await
        .expect("database");
    admin.close().await;
    let url = cluster.url("forestall");

    let folder = TempDir::new();
    let log = folder.path().join("forestall.log");
    let mut server = Server::start_logging(folder.path(), Some(&url), &[], &log);
    server.ready().await;
    let port = server.port;

    // A page's live stream, open across the restart.
    let cookie = sign_in(port, "operator", "demo-operator-pass").await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!(
        "GET /live?topics=alerts HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\nCookie: {cookie}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("stream request");
    if let Err(heard) = stream_says(&mut stream, "HTTP/1.1 200", Duration::from_secs(10)).await {
        panic!("the stream did not open: {heard}");
    }

    let phase = Arc::new(AtomicU8::new(BEFORE));
    let stop = Arc::new(AtomicBool::new(false));
    let (outcomes, senders) = monitoring(port, 4, &phase, &stop);
    let acknowledged = || outcomes.lock().expect("lock").acknowledged.len();
    until(
        Duration::from_secs(60),
        "events acknowledged before the restart",
        || acknowledged() >= 40,
    )
    .await;

    // Down: a fast shutdown, as `systemctl restart postgresql` does; a few seconds away.
    phase.store(STOPPING, Ordering::SeqCst);
    let stopping = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    });
    let cluster = stopping.await.expect("stop");
    phase.store(DOWN, Ordering::SeqCst);
    let down_since = Instant::now();
    let mut health_checks = 0;
    while down_since.elapsed() < Duration::from_secs(6) {
        let (status, answer, took) = healthz(port).await;
        assert_eq!(status, 503, "/healthz while PostgreSQL is down: {answer}");
        assert!(answer.contains("database unavailable"), "{answer}");
        assert!(took < POOL_WAIT + MARGIN, "/healthz answered after {took:?}");
        health_checks += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (status, answer) = http(port, "GET /alerts HTTP/1.1", &[("Cookie", &cookie)], "")
        .await
        .expect("a page while down");
    assert_eq!(status, 503, "a page while PostgreSQL is down: {answer}");
    assert!(server.running(), "forestall is still running while PostgreSQL is down");
    phase.store(BACK, Ordering::SeqCst);
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.start_again();
        cluster
    })
    .await
    .expect("start");

    // Back: the same forestall process recovers by itself.
    let back_since = Instant::now();
    while healthz(port).await.0 != 200 {
        assert!(
            back_since.elapsed() < Duration::from_secs(60),
            "the pool did not recover within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before_back = acknowledged();
    until(Duration::from_secs(60), "events acknowledged after the restart", || {
        acknowledged() >= before_back + 40
    })
    .await;

    stop.store(true, Ordering::SeqCst);
    for sender in senders {
        sender.await.expect("a sender panicked");
    }

    // The background tasks came back too: an event posted now is written by the batcher, heard by the change
    // follower (its listening connection was cut) and named on the stream opened before the restart. (Not while the
    // senders run: at full rate a stream says `resync` rather than naming more than 100 alerts at a time.) The
    // follower listens again a moment after the pool is back, and what it missed meanwhile reaches the stream as a
    // `resync`: so events are posted until one is named, a few seconds apart, at most for a minute.
    let token = format!("Bearer {}", app::demo::DEMO_TOKEN.1);
    let mut named = None;
    let mut heard = String::new();
    for attempt in 0..20 {
        let body = serde_json::json!({"events": [{"source": "Restart test", "node": "mail-relay-01", "severity": 2,
            "message_key": format!("after restart {attempt}")}]})
        .to_string();
        let (status, answer) = http(
            port,
            "POST /ingest/v1/events HTTP/1.1",
            &[("Content-Type", "application/json"), ("Authorization", &token)],
            &body,
        )
        .await
        .expect("an event after the restart");
        assert_eq!(status, 200, "{answer}");
        let number = answer
            .split("\"alert\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the alert's number")
            .to_owned();
        match stream_says(&mut stream, &number, Duration::from_secs(3)).await {
            Ok(()) => {
                named = Some(number);
                break;
            }
            Err(said) => heard.push_str(&said),
        }
    }
    let Some(number) = named else {
        let end = &heard[heard.len().saturating_sub(1500)..];
        panic!("the live stream opened before the restart named none of the alerts posted after it; it said {end:?}");
    };
    let (status, page) = http(
        port,
        &format!("GET /alerts/{number} HTTP/1.1"),
        &[("Cookie", &cookie)],
        "",
    )
    .await
    .expect("a page after the restart");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&number), "the alert's page shows it");

    assert!(server.running(), "forestall never exited");
    let outcomes = std::mem::take(&mut *outcomes.lock().expect("lock"));
    assert!(
        outcomes.wrong.is_empty(),
        "every answer is 200, or 503 with the message within {:?}: {} were not, e.g. {:?}",
        POOL_WAIT + MARGIN,
        outcomes.wrong.len(),
        &outcomes.wrong[..outcomes.wrong.len().min(10)]
    );
    assert!(
        outcomes.while_down > 0 && outcomes.refused >= outcomes.while_down,
        "requests were refused while down"
    );
    assert!(health_checks > 0);
    let log_text = std::fs::read_to_string(&log).expect("the server's log");
    assert!(!log_text.contains("panicked"), "a task panicked: {log_text}");

    // Every acknowledged event is stored, once: one alert per key, counted once.
    let pool = sqlx::AnyPool::connect(&url)
        .await
        .expect("the cluster after the restart");
    let stored: Vec<(String, i64)> = sqlx::query_as(
        "SELECT message_key, CAST(event_count AS BIGINT) FROM alerts WHERE message_key LIKE 'restart-%-%'",
    )
    .fetch_all(&pool)
    .await
    .expect("alerts");
    pool.close().await;
    let keys: BTreeSet<&String> = stored.iter().map(|(key, _)| key).collect();
    assert_eq!(keys.len(), stored.len(), "no key has two alerts");
    let twice: Vec<&(String, i64)> = stored.iter().filter(|(_, count)| *count != 1).collect();
    assert!(twice.is_empty(), "events counted twice: {twice:?}");
    let missing: Vec<&String> = outcomes.acknowledged.iter().filter(|key| !keys.contains(key)).collect();
    assert!(missing.is_empty(), "acknowledged but not stored: {missing:?}");
    eprintln!(
        "restart: {} acknowledged, {} refused ({} while fully down), slowest answer {:?}",
        outcomes.acknowledged.len(),
        outcomes.refused,
        outcomes.while_down,
        outcomes.slowest
    );
    drop(server);
    drop(cluster);
}
