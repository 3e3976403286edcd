//! `forestall bench-ingest`: events per second through the generic event endpoint, batched and single, and the
//! latency of single-event requests under concurrent senders, on SQLite (and PostgreSQL when given). The server is
//! the real one, on a local port, driven over HTTP/1.1 keep-alive connections as monitoring tools drive it.
//! Prints the Markdown table of BENCHMARKS.md.

use crate::bench::{ms, postgres_database, quantile, sqlite_url};
use app::{demo::DEMO_TOKEN, store::Store};
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

#[derive(Debug, clap::Args)]
pub struct IngestBenchArgs {
    /// Events sent in batches, in all.
    #[arg(long, default_value_t = 50_000)]
    events: usize,
    /// Events per batch request.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Distinct message keys: events beyond the first of each key update its alert.
    #[arg(long, default_value_t = 2_000)]
    keys: usize,
    /// Concurrent senders of single events.
    #[arg(long, default_value_t = 32)]
    senders: usize,
    /// Single-event requests per sender.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Live streams of every alert's changes held open (and read) while events arrive, as open All Alerts pages
    /// would.
    #[arg(long, default_value_t = 0)]
    streams: usize,
    /// Also run on PostgreSQL: a server URL whose user may create databases (a database is made and dropped).
    #[arg(long)]
    postgres: Option<String>,
    /// Where to put the SQLite file.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// SQLite's synchronous setting for the run: full (Forestall's default: every commit waits for the disk) or
    /// normal, to measure what surviving a power cut costs.
    #[arg(long, default_value = "full", value_parser = ["normal", "full"])]
    synchronous: String,
}

/// Nodes the events name: CIs of the demo data (bound by name or fqdn) and hosts that bind to nothing.
const NODES: [&str; 6] = [
    "db-host-01",
    "payments-app.example.net",
    "mail-relay-01",
    "edge-router-07",
    "build-agent-3",
    "printer-7",
];

fn event(n: usize, keys: usize) -> String {
    let key = n % keys;
    format!(
        r#"{{"source":"bench","node":"{}","type":"Threshold","resource":"r{key}","message_key":"bench-{key}","severity":{},"description":"Synthetic event {n}"}}"#,
        NODES[key % NODES.len()],
        1 + n % 5
    )
}

pub async fn run(args: IngestBenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let sqlite = format!(
        "{}?synchronous={}",
        sqlite_url(&args.work_dir, "ingest", false)?,
        args.synchronous
    );
    let mut stores = vec![("SQLite", sqlite)];
    if let Some(server) = &args.postgres {
        stores.push(("PostgreSQL", postgres_database(server, "ingest", false).await?));
    }
    let mut rows = vec![
        "| store | mode | events | requests | time | events/s | p50 | p99 | max |".to_owned(),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|".to_owned(),
    ];
    for (kind, url) in stores {
        let store = Store::open(&url).await?;
        store.seed_demo().await?;
        let options = leptos::config::LeptosOptions::builder()
            .output_name("forestall")
            .site_root("target/site")
            .build();
        let router = server::router(server::app_state(options, store.clone(), Default::default()));
        let listener = server::listen("127.0.0.1:0".parse().map_err(std::io::Error::other)?).await?;
        let addr = axum::serve::Listener::local_addr(&listener)?;
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });

        let mut pages = Vec::with_capacity(args.streams);
        if args.streams > 0 {
            let cookie = crate::bench_live::sign_in(addr).await?;
            for _ in 0..args.streams {
                let mut stream = crate::bench_live::open_stream(addr, &cookie, "alerts").await?;
                pages.push(tokio::spawn(async move {
                    let mut buffer = vec![0u8; 16 * 1024];
                    while matches!(stream.read(&mut buffer).await, Ok(read) if read > 0) {}
                }));
            }
        }
        let open = match args.streams {
            0 => String::new(),
            n => format!(", {n} streams open"),
        };

        // Batched: one sender, batches of `batch` events, keys cycling so most events update an open alert.
        let mut client = Client::connect(addr).await?;
        let mut latencies = Vec::new();
        let started = Instant::now();
        let mut sent = 0;
        while sent < args.events {
            let size = args.batch.min(args.events - sent);
            let body = format!(
                r#"{{"events":[{}]}}"#,
                (sent..sent + size)
                    .map(|n| event(n, args.keys))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let began = Instant::now();
            client.post("/ingest/v1/events", &body).await?;
            latencies.push(began.elapsed());
            sent += size;
        }
        let elapsed = started.elapsed();
        rows.push(row(
            kind,
            &format!("batched ({} per request){open}", args.batch),
            args.events,
            &mut latencies,
            elapsed,
        ));

        // Single events from concurrent senders, each on its own connection.
        let started = Instant::now();
        let tasks: Vec<_> = (0..args.senders)
            .map(|sender| {
                let (requests, keys) = (args.requests, args.keys);
                tokio::spawn(async move {
                    let mut client = Client::connect(addr).await?;
                    let mut latencies = Vec::with_capacity(requests);
                    for i in 0..requests {
                        let body = event(sender * requests + i, keys);
                        let began = Instant::now();
                        client.post("/ingest/v1/events", &body).await?;
                        latencies.push(began.elapsed());
                    }
                    Ok::<_, std::io::Error>(latencies)
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await??);
        }
        let elapsed = started.elapsed();
        let events = args.senders * args.requests;
        rows.push(row(
            kind,
            &format!("single, {} senders{open}", args.senders),
            events,
            &mut latencies,
            elapsed,
        ));

        // What the database holds, read over a connection of its own.
        // (Without Forestall's own `synchronous` parameter, which sqlx does not know.)
        let check = sqlx::AnyPool::connect(url.split("?synchronous").next().unwrap_or(&url)).await?;
        let alerts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE source = 'bench'")
            .fetch_one(&check)
            .await?;
        let counted: i64 =
            sqlx::query_scalar("SELECT CAST(SUM(event_count) AS BIGINT) FROM alerts WHERE source = 'bench'")
                .fetch_one(&check)
                .await?;
        eprintln!(
            "{kind}: {alerts} alerts hold {counted} events (sent {})",
            args.events + events
        );
        if counted != i64::try_from(args.events + events)? {
            return Err(format!("{kind}: {counted} events counted, {} sent", args.events + events).into());
        }
        check.close().await;
        for page in pages {
            page.abort();
        }
        server.abort();
        store.close().await;
    }
    println!("{}", rows.join("\n"));
    Ok(())
}

fn row(kind: &str, mode: &str, events: usize, latencies: &mut [Duration], elapsed: Duration) -> String {
    let requests = latencies.len();
    let max = latencies.iter().max().copied().unwrap_or_default();
    format!(
        "| {kind} | {mode} | {events} | {requests} | {:.1} s | {:.0} | {} | {} | {} |",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        ms(quantile(latencies, 0.5)),
        ms(quantile(latencies, 0.99)),
        ms(max)
    )
}

/// A minimal HTTP/1.1 client on one keep-alive connection: enough to post JSON and read the answer.
pub(crate) struct Client {
    stream: BufReader<TcpStream>,
}

impl Client {
    pub(crate) async fn connect(addr: std::net::SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }

    /// Posts `body` and answers the answer's body; fails unless the answer is 200.
    pub(crate) async fn post(&mut self, path: &str, body: &str) -> std::io::Result<String> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            DEMO_TOKEN.1,
            body.len()
        );
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut status = String::new();
        self.stream.read_line(&mut status).await?;
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut answer = vec![0; length];
        self.stream.read_exact(&mut answer).await?;
        if !status.starts_with("HTTP/1.1 200") {
            return Err(std::io::Error::other(format!(
                "{} {}",
                status.trim_end(),
                String::from_utf8_lossy(&answer)
            )));
        }
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }
}
