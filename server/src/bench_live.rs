//! `forestall bench-live`: live updates at scale. A real server on a local port, `--streams` pages each with a
//! stream of every alert's changes open (`GET /live?topics=alerts`, one TCP connection each, as browsers hold
//! them), then a burst of `--changes` new alerts posted to the ingestion API by `--senders` monitoring tools. For
//! every stream and every alert: the time from the request that committed it being sent to the stream reading its
//! change (an upper bound on commit-to-delivery), whether every stream got every change, and the memory the
//! process took per open stream. Prints the Markdown table of BENCHMARKS.md.

use crate::{
    bench::{ms, postgres_database, quantile, sqlite_url},
    bench_ingest::Client,
};
use app::{demo::DEMO_USERS, store::Store};
use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::Mutex,
};

#[derive(Debug, clap::Args)]
pub struct LiveBenchArgs {
    /// Streams held open.
    #[arg(long, default_value_t = 1_000)]
    streams: usize,
    /// New alerts posted in the burst, each a change every stream must receive.
    #[arg(long, default_value_t = 1_000)]
    changes: usize,
    /// Concurrent senders of the burst, each on its own connection.
    #[arg(long, default_value_t = 16)]
    senders: usize,
    /// New alerts per second, all senders together; 0 for as fast as they can. (As fast as they can, SQLite commits
    /// hundreds within one 100 ms delivery, more than a stream names in one event: the streams are told to resync,
    /// which this bench cannot count as delivered by name.)
    #[arg(long, default_value_t = 0)]
    rate: u32,
    /// Also run on PostgreSQL: a server URL whose user may create databases (a database is made and dropped).
    #[arg(long)]
    postgres: Option<String>,
    /// Where to put the SQLite file.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
}

/// How long the streams may take to receive the whole burst before the bench gives up and reports the loss.
const DEADLINE: Duration = Duration::from_secs(60);

pub async fn run(args: LiveBenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut stores = vec![("SQLite", sqlite_url(&args.work_dir, "live", false)?)];
    if let Some(server) = &args.postgres {
        stores.push(("PostgreSQL", postgres_database(server, "live", false).await?));
    }
    let mut rows = vec![
        "| store | streams | changes | deliveries | lost | resyncs | p50 | p99 | max | memory per idle stream | burst sent in |"
            .to_owned(),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".to_owned(),
    ];
    for (kind, url) in stores {
        let store = Store::open(&url).await?;
        store.seed_demo().await?;
        let (addr, changes, server) = start_server(&store).await?;
        let cookie = sign_in(addr).await?;

        let before = resident_bytes()?;
        let mut streams = Vec::with_capacity(args.streams);
        for _ in 0..args.streams {
            streams.push(open_stream(addr, &cookie, "alerts").await?);
        }
        while changes.streams() < args.streams {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let per_stream = resident_bytes()?.saturating_sub(before) / args.streams as u64;

        // Every stream reads on its own task from here on, noting when each alert's change arrives.
        let readers: Vec<_> = streams
            .into_iter()
            .map(|stream| tokio::spawn(read_changes(stream, args.changes)))
            .collect();
        let sent: Arc<Mutex<HashMap<u32, Instant>>> = Arc::default();
        let burst = Instant::now();
        let senders: Vec<_> = (0..args.senders)
            .map(|sender| {
                let sent = Arc::clone(&sent);
                let count = args.changes / args.senders + usize::from(sender < args.changes % args.senders);
                // Each sender's share of the rate: one request every `senders / rate` seconds.
                let every = (args.rate > 0).then(|| Duration::from_secs_f64(args.senders as f64 / f64::from(args.rate)));
                tokio::spawn(async move {
                    let mut client = Client::connect(addr).await?;
                    let start = tokio::time::Instant::now();
                    for i in 0..count {
                        if let Some(every) = every {
                            tokio::time::sleep_until(start + every * i as u32).await;
                        }
                        let body = format!(
                            r#"{{"source":"bench","node":"mail-relay-01","type":"Live","message_key":"live-{sender}-{i}","severity":2,"description":"Burst {sender}/{i}"}}"#
                        );
                        let began = Instant::now();
                        let answer = client.post("/ingest/v1/events", &body).await?;
                        let number = alert_seq(&answer)
                            .ok_or_else(|| std::io::Error::other(format!("no alert in {answer}")))?;
                        sent.lock().await.insert(number, began);
                    }
                    Ok::<_, std::io::Error>(())
                })
            })
            .collect();
        for sender in senders {
            sender.await??;
        }
        let burst_sent = burst.elapsed();
        let sent = sent.lock().await.clone();

        let mut latencies = Vec::with_capacity(args.streams * args.changes);
        let (mut lost, mut resyncs) = (0, 0);
        for reader in readers {
            let heard = reader.await??;
            resyncs += heard.resyncs;
            let mut got = 0;
            for (number, at) in heard.changes {
                if let Some(began) = sent.get(&number) {
                    got += 1;
                    latencies.push(at.saturating_duration_since(*began));
                }
            }
            lost += args.changes.saturating_sub(got);
        }
        let deliveries = latencies.len();
        let max = latencies.iter().max().copied().unwrap_or_default();
        rows.push(format!(
            "| {kind} | {} | {} | {deliveries} | {lost} | {resyncs} | {} | {} | {} | {:.1} KiB | {} |",
            args.streams,
            args.changes,
            ms(quantile(&mut latencies, 0.5)),
            ms(quantile(&mut latencies, 0.99)),
            ms(max),
            per_stream as f64 / 1024.0,
            ms(burst_sent),
        ));
        changes.close();
        server.abort();
        store.close().await;
    }
    println!("{}", rows.join("\n"));
    Ok(())
}

/// The real router on 127.0.0.1 and a free port, serving until aborted.
pub(crate) async fn start_server(
    store: &Store,
) -> std::io::Result<(
    SocketAddr,
    app::state::Changes,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    let options = leptos::config::LeptosOptions::builder()
        .output_name("forestall")
        .site_root("target/site")
        .build();
    let state = server::app_state(options, store.clone(), Default::default());
    let changes = state.changes.clone();
    let router = server::router(state);
    let listener = server::listen("127.0.0.1:0".parse().map_err(std::io::Error::other)?).await?;
    let addr = axum::serve::Listener::local_addr(&listener)?;
    let server =
        tokio::spawn(
            async move { axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await },
        );
    Ok((addr, changes, server))
}

/// Signs the demo operator in and answers the session cookie (`name=value`).
pub(crate) async fn sign_in(addr: SocketAddr) -> std::io::Result<String> {
    let (_, _, password) = DEMO_USERS
        .iter()
        .find(|(name, ..)| *name == "operator")
        .ok_or_else(|| std::io::Error::other("no demo operator"))?;
    let body = format!("user_name=operator&password={password}");
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    answer
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim().split(';').next().unwrap_or_default().to_owned())
        })
        .ok_or_else(|| std::io::Error::other(format!("sign-in failed: {}", answer.lines().next().unwrap_or(""))))
}

/// Opens `GET /live?topics=…` on a connection of its own and reads past the answer's head.
pub(crate) async fn open_stream(addr: SocketAddr, cookie: &str, topics: &str) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "GET /live?topics={topics} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nCookie: {cookie}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err(std::io::Error::other("the stream closed before its answer"));
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        return Err(std::io::Error::other(format!(
            "stream refused: {}",
            String::from_utf8_lossy(&head)
        )));
    }
    Ok(stream)
}

/// What one stream heard.
struct Heard {
    /// Each new alert's number (its digits) and when its change was read.
    changes: Vec<(u32, Instant)>,
    resyncs: usize,
}

/// Reads the stream until it has heard `expected` changes of the burst's alerts, or [`DEADLINE`].
async fn read_changes(mut stream: TcpStream, expected: usize) -> std::io::Result<Heard> {
    const MARK: &[u8] = br#""number":"Alert"#;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut heard = Heard {
        changes: Vec::with_capacity(expected),
        resyncs: 0,
    };
    let mut buffer = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    // The demo's own alerts were there before the streams opened: anything after them is the burst's.
    let mut seen = std::collections::HashSet::new();
    while heard.changes.len() < expected {
        let read = match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(read) => read?,
            Err(_) => break,
        };
        if read == 0 {
            break;
        }
        let at = Instant::now();
        buffer.extend_from_slice(&chunk[..read]);
        // Whole events only: up to the last blank line.
        let Some(end) = buffer.windows(2).rposition(|w| w == b"\n\n") else {
            continue;
        };
        let events: Vec<u8> = buffer.drain(..end + 2).collect();
        heard.resyncs += events.windows(13).filter(|w| w == b"event: resync").count();
        let mut rest = &events[..];
        while let Some(start) = rest.windows(MARK.len()).position(|w| w == MARK) {
            let digits = &rest[start + MARK.len()..];
            let number: String = digits
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .map(|&b| b as char)
                .collect();
            if let Ok(number) = number.parse::<u32>() {
                if seen.insert(number) {
                    heard.changes.push((number, at));
                }
            }
            rest = &digits[number.len()..];
        }
    }
    Ok(heard)
}

/// The digits of the alert number in an ingestion answer.
fn alert_seq(answer: &str) -> Option<u32> {
    let start = answer.find(r#""alert":"Alert"#)? + r#""alert":"Alert"#.len();
    answer[start..].split('"').next()?.parse().ok()
}

/// This process's resident memory.
pub(crate) fn resident_bytes() -> std::io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| std::io::Error::other("no VmRSS in /proc/self/status"))
}
