//! The real `forestall` binary, stopped: SIGTERM while monitoring posts events and a page holds its live stream
//! (it stops taking connections, finishes what is in flight, ends the stream and exits, losing nothing it
//! acknowledged), and `kill -9` at a random point of ingestion at full rate (every acknowledged event is there after
//! a restart, none twice).

use crate::support;

use std::{
    collections::BTreeSet,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use support::TempDir;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A `forestall serve` process on a SQLite file of its own, with the demo data.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    url: String,
}

impl Server {
    fn start(folder: &std::path::Path, url: Option<&str>) -> Self {
        Self::start_with(folder, url, &[])
    }

    /// As [`Server::start`], with more of the environment.
    pub(crate) fn start_with(folder: &std::path::Path, url: Option<&str>, env: &[(&str, &str)]) -> Self {
        Self::spawn(folder, url, env, Stdio::null(), Stdio::inherit())
    }

    /// As [`Server::start_with`], its log (stdout) and anything on stderr (a panic's message) written to `log`, to be
    /// read back.
    pub(crate) fn start_logging(
        folder: &std::path::Path,
        url: Option<&str>,
        env: &[(&str, &str)],
        log: &std::path::Path,
    ) -> Self {
        let file = std::fs::File::create(log).expect("the server's log file");
        let also = file.try_clone().expect("the log file, twice");
        Self::spawn(folder, url, env, Stdio::from(file), Stdio::from(also))
    }

    fn spawn(folder: &std::path::Path, url: Option<&str>, env: &[(&str, &str)], stdout: Stdio, stderr: Stdio) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let url = url.map_or_else(
            || format!("sqlite://{}", folder.join("served.db").display()),
            str::to_owned,
        );
        let child = Command::new(env!("CARGO_BIN_EXE_forestall"))
            .args(["serve", "--demo", "--addr", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", &url)
            .env("FORESTALL_LOG", "warn")
            .env("FORESTALL_OUTBOX_DIR", folder.join("notices"))
            .env("LEPTOS_SITE_ROOT", folder)
            .env("LEPTOS_OUTPUT_NAME", "forestall")
            .envs(env.iter().copied())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("forestall serve starts");
        Self { child, port, url }
    }

    /// Waits until `/healthz` answers 200.
    pub(crate) async fn ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok((200, _)) = http(self.port, "GET /healthz HTTP/1.1", &[], "").await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not become healthy within 60 s");
    }

    /// Whether the process is still running (it has not exited, panicked or been killed).
    pub(crate) fn running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{name}");
    }

    /// Waits for the process to end, at most `limit`; its exit status.
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(started.elapsed() < limit, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on a connection of its own (`Connection: close`): the status and the whole answer.
pub(crate) async fn http(
    port: u16,
    request_line: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut request = format!("{request_line}\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {answer:?}")))?;
    Ok((status, answer))
}

/// Posts the event with key `key`; whether the server acknowledged it (200).
async fn post_event(port: u16, key: &str) -> bool {
    let body = serde_json::json!({"events": [{
        "source": "Process test", "node": "mail-relay-01", "severity": 3, "message_key": key, "description": key
    }]})
    .to_string();
    let token = format!("Bearer {}", app::demo::DEMO_TOKEN.1);
    let headers = [("Content-Type", "application/json"), ("Authorization", token.as_str())];
    matches!(
        http(port, "POST /ingest/v1/events HTTP/1.1", &headers, &body).await,
        Ok((200, _))
    )
}

/// `senders` tasks posting events one after another until the server stops answering; the keys acknowledged.
fn monitoring(
    port: u16,
    senders: usize,
    prefix: &str,
) -> (Arc<Mutex<BTreeSet<String>>>, Vec<tokio::task::JoinHandle<()>>) {
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let tasks = (0..senders)
        .map(|s| {
            let (acknowledged, prefix) = (acknowledged.clone(), prefix.to_owned());
            tokio::spawn(async move {
                let mut failures = 0;
                for i in 0..100_000 {
                    let key = format!("{prefix}-{s}-{i}");
                    if post_event(port, &key).await {
                        acknowledged.lock().expect("lock").insert(key);
                        failures = 0;
                    } else {
                        failures += 1;
                        if failures > 20 {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect();
    (acknowledged, tasks)
}

/// Every key in `acknowledged` is one alert of the database at `url`.
async fn all_there_once(url: &str, prefix: &str, acknowledged: &BTreeSet<String>) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("pool");
    let stored: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT message_key FROM alerts WHERE message_key LIKE '{prefix}-%'"
    )))
    .fetch_all(&pool)
    .await
    .expect("alerts");
    let unique: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "no event stored twice");
    let missing: Vec<&String> = acknowledged.iter().filter(|k| !unique.contains(k)).collect();
    assert!(missing.is_empty(), "acknowledged but not stored: {missing:?}");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_what_is_in_flight_ends_the_streams_and_loses_nothing_acknowledged() {
    let folder = TempDir::new();
    let mut server = Server::start(folder.path(), None);
    server.ready().await;
    let port = server.port;

    // A page's live stream, signed in as the operator.
    let cookie = sign_in(port, "operator", "demo-operator-pass").await;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let request = format!(
        "GET /live?topics=alerts HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\nCookie: {cookie}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("stream request");
    let mut first = [0u8; 64];
    let read = stream.read(&mut first).await.expect("stream answers");
    assert!(
        String::from_utf8_lossy(&first[..read]).starts_with("HTTP/1.1 200"),
        "the stream opened"
    );

    let (acknowledged, senders) = monitoring(port, 4, "term");
    while acknowledged.lock().expect("lock").len() < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.signal("TERM");
    // The stream ends (the server does not wait for the page to leave).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await
    })
    .await;
    assert!(ended.is_ok(), "the live stream was not ended within 10 s of SIGTERM");
    let status = server.wait(Duration::from_secs(20));
    assert!(status.success(), "exit {status:?}");
    for sender in senders {
        sender.await.expect("sender");
    }
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "nothing listens any more"
    );
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(acknowledged.len() >= 100);
    all_there_once(&server.url, "term", &acknowledged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_ingestion_at_full_rate_loses_no_acknowledged_event_and_stores_none_twice() {
    let folder = TempDir::new();
    let url = format!("sqlite://{}", folder.path().join("killed.db").display());
    let mut acknowledged_in_all = BTreeSet::new();
    // Three kills, each at another point: after a random number of acknowledged events.
    for (round, after) in [(0, 37_usize), (1, 211), (2, 503)] {
        let mut server = Server::start(folder.path(), Some(&url));
        server.ready().await;
        let prefix = format!("kill{round}");
        let (acknowledged, senders) = monitoring(server.port, 8, &prefix);
        let jitter = Duration::from_millis(u64::from(std::process::id() % 50));
        while acknowledged.lock().expect("lock").len() < after {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(jitter).await;
        server.signal("KILL");
        let status = server.wait(Duration::from_secs(10));
        assert!(!status.success(), "killed");
        for sender in senders {
            sender.await.expect("sender");
        }
        let acknowledged = acknowledged.lock().expect("lock").clone();
        assert!(acknowledged.len() >= after);
        // Started again on the same file: SQLite recovers the log; every acknowledged event is there, once.
        let again = Server::start(folder.path(), Some(&url));
        again.ready().await;
        all_there_once(&url, &prefix, &acknowledged).await;
        acknowledged_in_all.extend(acknowledged);
        drop(again);
    }
    assert!(acknowledged_in_all.len() >= 37 + 211 + 503);
}

/// Signs in as `user` and answers the session cookie.
pub(crate) async fn sign_in(port: u16, user: &str, password: &str) -> String {
    let form = format!("user_name={user}&password={password}");
    let (status, answer) = http(
        port,
        "POST /login HTTP/1.1",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    )
    .await
    .expect("sign in");
    assert_eq!(status, 303, "{answer}");
    answer
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

/// A server function's status and answer, as a signed-in user's form posts it.
pub(crate) async fn call(port: u16, cookie: &str, function: &str, form: &str) -> std::io::Result<(u16, String)> {
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept", "application/json"),
        ("Cookie", cookie),
    ];
    http(port, &format!("POST /api/{function} HTTP/1.1"), &headers, form).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_case_creation_leaves_each_case_whole_or_not_there_at_all() {
    let folder = TempDir::new();
    let url = format!("sqlite://{}", folder.path().join("cases.db").display());
    let mut server = Server::start(folder.path(), Some(&url));
    server.ready().await;
    let port = server.port;
    // Alerts on db-host-01: each one's case is a major case of three accounts.
    let mut alerts = Vec::new();
    for i in 0..60 {
        let body = serde_json::json!({"events": [{"source": "Kill test", "node": "db-host-01", "severity": 1,
            "message_key": format!("case-kill-{i}")}]})
        .to_string();
        let token = format!("Bearer {}", app::demo::DEMO_TOKEN.1);
        let (status, answer) = http(
            port,
            "POST /ingest/v1/events HTTP/1.1",
            &[("Content-Type", "application/json"), ("Authorization", &token)],
            &body,
        )
        .await
        .expect("event");
        assert_eq!(status, 200);
        let number = answer
            .split("\"alert\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("alert")
            .to_owned();
        alerts.push(number);
    }
    let cookie = sign_in(port, "operator", "demo-operator-pass").await;
    let created = Arc::new(Mutex::new(0_usize));
    let worker = {
        let (cookie, created, alerts) = (cookie.clone(), created.clone(), alerts.clone());
        tokio::spawn(async move {
            for alert in alerts {
                if call(port, &cookie, "refresh_install_base", &format!("alert={alert}"))
                    .await
                    .ok()
                    .map(|(status, _)| status)
                    != Some(200)
                {
                    return;
                }
                let form = format!("input[alert]={alert}&input[short_description]=Disk+full&input[priority]=1");
                match call(port, &cookie, "create_case", &form)
                    .await
                    .ok()
                    .map(|(status, _)| status)
                {
                    Some(200) => *created.lock().expect("lock") += 1,
                    _ => return,
                }
            }
        })
    };
    while *created.lock().expect("lock") < 10 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(u64::from(std::process::id() % 40))).await;
    server.signal("KILL");
    server.wait(Duration::from_secs(10));
    worker.await.expect("worker");
    let acknowledged = *created.lock().expect("lock");

    let again = Server::start(folder.path(), Some(&url));
    again.ready().await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.expect("pool");
    // Every case is whole: its alert's Case field, three child cases, the accounts, the items, the journal lines.
    let cases: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT c.id, a.case_id FROM cases c JOIN alerts a ON a.id = c.alert_id
         WHERE c.parent_id IS NULL AND a.message_key LIKE 'case-kill-%'",
    )
    .fetch_all(&pool)
    .await
    .expect("cases");
    assert!(
        cases.len() >= acknowledged,
        "{} cases, {acknowledged} acknowledged",
        cases.len()
    );
    for (id, case_field) in &cases {
        assert_eq!(Some(*id), *case_field, "the alert's Case field names its case");
        let counts: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM cases WHERE parent_id = $1),
                    (SELECT COUNT(*) FROM case_accounts WHERE case_id = $1),
                    (SELECT COUNT(*) FROM case_items WHERE case_id = $1),
                    (SELECT COUNT(*) FROM journal_entries WHERE case_id = $1 AND kind = 'activity')",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("counts");
        assert_eq!(counts, (3, 3, 6, 1), "case {id}: children, accounts, items, activity");
    }
    let half: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM alerts a WHERE a.message_key LIKE 'case-kill-%' AND a.case_id IS NULL
         AND EXISTS (SELECT 1 FROM cases c WHERE c.alert_id = a.id)",
    )
    .fetch_one(&pool)
    .await
    .expect("orphans");
    assert_eq!(half, 0, "no case without its alert's Case field");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_an_import_imports_all_of_it_or_nothing() {
    let folder = TempDir::new();
    let url = format!("sqlite://{}", folder.path().join("import.db").display());
    let cmdb = folder.path().join("cmdb");
    let generated = Command::new(env!("CARGO_BIN_EXE_forestall"))
        .args(["gen", cmdb.to_str().expect("path"), "--size", "30000"])
        .env("FORESTALL_LOG", "off")
        .output()
        .expect("gen");
    assert!(generated.status.success());
    let demo = Command::new(env!("CARGO_BIN_EXE_forestall"))
        .arg("demo")
        .env("DATABASE_URL", &url)
        .env("FORESTALL_LOG", "off")
        .output()
        .expect("demo");
    assert!(demo.status.success());
    sqlx::any::install_default_drivers();
    let items = || async {
        let pool = sqlx::AnyPool::connect(&url).await.expect("pool");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM install_base_items")
            .fetch_one(&pool)
            .await
            .expect("n");
        pool.close().await;
        n
    };
    let before = items().await;
    let mut outcomes = BTreeSet::new();
    // Killed at several points of the import, then let run to the end once.
    for delay in [150_u64, 600, 1500] {
        let mut import = Command::new(env!("CARGO_BIN_EXE_forestall"))
            .args(["import", cmdb.to_str().expect("path")])
            .env("DATABASE_URL", &url)
            .env("FORESTALL_LOG", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("import");
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let _ = import.kill();
        let _ = import.wait();
        outcomes.insert(items().await);
    }
    let finished = Command::new(env!("CARGO_BIN_EXE_forestall"))
        .args(["import", cmdb.to_str().expect("path")])
        .env("DATABASE_URL", &url)
        .env("FORESTALL_LOG", "off")
        .output()
        .expect("import");
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    let after = items().await;
    assert!(
        after > before + 10_000,
        "the generated CMDB was imported: {before} then {after}"
    );
    let half: Vec<&i64> = outcomes.iter().filter(|n| **n != before && **n != after).collect();
    assert!(
        half.is_empty(),
        "half an import after a kill: {half:?} (before {before}, whole {after})"
    );
    assert!(
        outcomes.contains(&before),
        "at least one kill came before the import committed"
    );
}
