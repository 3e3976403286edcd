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
struct Server {
    child: Child,
    port: u16,
    url: String,
}

impl Server {
    fn start(folder: &std::path::Path, url: Option<&str>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let url = url.map_or_else(|| format!("sqlite://{}", folder.join("served.db").display()), str::to_owned);
        let child = Command::new(env!("CARGO_BIN_EXE_forestall"))
            .args(["serve", "--demo", "--addr", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", &url)
            .env("FORESTALL_LOG", "warn")
            .env("FORESTALL_OUTBOX_DIR", folder.join("notices"))
            .env("LEPTOS_SITE_ROOT", folder)
            .env("LEPTOS_OUTPUT_NAME", "forestall")
            .stdout(Stdio::null())
            .spawn()
            .expect("forestall serve starts");
        Self { child, port, url }
    }

    /// Waits until `/healthz` answers 200.
    async fn ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok((200, _)) = http(self.port, "GET /healthz HTTP/1.1", &[], "").await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not become healthy within 60 s");
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
async fn http(port: u16, request_line: &str, headers: &[(&str, &str)], body: &str) -> std::io::Result<(u16, String)> {
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
    matches!(http(port, "POST /ingest/v1/events HTTP/1.1", &headers, &body).await, Ok((200, _)))
}

/// `senders` tasks posting events one after another until the server stops answering; the keys acknowledged.
fn monitoring(port: u16, senders: usize, prefix: &str) -> (Arc<Mutex<BTreeSet<String>>>, Vec<tokio::task::JoinHandle<()>>) {
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
    let login = "user_name=operator&password=demo-operator-pass";
    let (status, answer) = http(
        port,
        "POST /login HTTP/1.1",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        login,
    )
    .await
    .expect("sign in");
    assert_eq!(status, 303, "{answer}");
    let cookie = answer
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let request = format!(
        "GET /live?topics=alerts HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\nCookie: {cookie}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("stream request");
    let mut first = [0u8; 64];
    let read = stream.read(&mut first).await.expect("stream answers");
    assert!(String::from_utf8_lossy(&first[..read]).starts_with("HTTP/1.1 200"), "the stream opened");

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
