//! `forestall bench-alerts`: All Alerts over a year of alerts. Writes `--alerts` alerts (a year of them, one every
//! few seconds, nearly all closed, with an activity line each and a case on one in 500) into a fresh database with
//! the demo data, starts the real server on a local port, signs in, and times `GET /alerts` with each filter and a
//! few searches, `--runs` times each, in turn. Then, with `--prune`, removes the alerts closed in the year's first
//! month as `--retain-closed-alerts` does and reports its longest batch (the longest any writer waits for it).
//! Prints the Markdown tables of BENCHMARKS.md.

use crate::{
    bench::{ms, postgres_database, quantile, sqlite_url},
    bench_live::{sign_in, start_server},
};
use app::store::{Backend, Store};
use std::{path::PathBuf, time::Instant};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

#[derive(Debug, clap::Args)]
pub struct AlertsBenchArgs {
    /// Alerts to write.
    #[arg(long, default_value_t = 1_000_000)]
    alerts: u32,
    /// Requests per measured page.
    #[arg(long, default_value_t = 40)]
    runs: usize,
    /// Also run on PostgreSQL: a server URL whose user may create databases (a database is made, kept for --reuse).
    #[arg(long)]
    postgres: Option<String>,
    /// Measure the databases an earlier run wrote rather than write them again.
    #[arg(long)]
    reuse: bool,
    /// Then remove the alerts closed in the year's first month, as retention does, timing each batch.
    #[arg(long)]
    prune: bool,
    /// Where to put the SQLite file.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
}

/// The generated year starts here: 2025-12-01 00:00:00 UTC.
const YEAR_START: i64 = 1_764_547_200;
const YEAR_SECS: i64 = 365 * 86_400;
/// Alerts written per transaction.
const CHUNK: u32 = 50_000;

/// The measured pages: what each is, and its query.
const PAGES: &[(&str, &str)] = &[
    ("first page", "/alerts"),
    ("page 50", "/alerts?page=50"),
    ("state Open", "/alerts?state=Open"),
    ("state Closed", "/alerts?state=Closed"),
    ("state Flapping", "/alerts?state=Flapping"),
    ("severity 1 (Critical)", "/alerts?severity=1"),
    ("state Open, severity 2", "/alerts?state=Open&severity=2"),
    ("search a node (200 matches)", "/alerts?q=gen-node-04321"),
    ("search a word (1 in 7 alerts)", "/alerts?q=latency"),
    ("search a number", "/alerts?q=Alert2500000"),
    ("search a CI's name", "/alerts?q=db-host-01"),
    ("search, nothing matches", "/alerts?q=no+such+thing"),
    ("search two characters", "/alerts?q=zq"),
    ("state Closed + search", "/alerts?state=Closed&q=latency"),
    // The proactive dashboard over the whole generated year (53 weeks).
    ("dashboard, the year", "/dashboard?from=2025-12-01&to=2026-11-30"),
];

pub async fn run(args: AlertsBenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut stores = vec![(
        "SQLite",
        sqlite_url(&args.work_dir, format!("alerts-{}", args.alerts), args.reuse)?,
    )];
    if let Some(server) = &args.postgres {
        stores.push((
            "PostgreSQL",
            postgres_database(server, format!("alerts_{}", args.alerts), args.reuse).await?,
        ));
    }
    let mut table = vec![
        "| store | page | p50 | p95 | max | what it shows |".to_owned(),
        "|---|---|---:|---:|---:|---|".to_owned(),
    ];
    let mut prune_rows = Vec::new();
    for (kind, url) in stores {
        let store = Store::open(&url).await?;
        let pool = sqlx::AnyPool::connect(&url).await?;
        let alerts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts")
            .fetch_one(&pool)
            .await?;
        if !args.reuse || alerts < i64::from(args.alerts) {
            store.seed_demo().await?;
            let started = Instant::now();
            generate(&pool, store.backend(), args.alerts).await?;
            eprintln!(
                "{kind}: wrote {} alerts in {:.0} s",
                args.alerts,
                started.elapsed().as_secs_f64()
            );
        }
        let (addr, _changes, server) = start_server(&store).await?;
        let cookie = sign_in(addr).await?;
        let mut client = Page::connect(addr).await?;
        for (what, path) in PAGES {
            // One unmeasured request first: the measured ones are the pages an agent loads all day.
            client.get(path, &cookie).await?;
            let mut times = Vec::with_capacity(args.runs);
            let mut shows = String::new();
            for _ in 0..args.runs {
                let started = Instant::now();
                let body = client.get(path, &cookie).await?;
                times.push(started.elapsed());
                shows = pager_text(&body);
            }
            table.push(format!(
                "| {kind} | {what} (`{path}`) | {} | {} | {} | {shows} |",
                ms(quantile(&mut times, 0.5)),
                ms(quantile(&mut times, 0.95)),
                ms(quantile(&mut times, 1.0)),
            ));
        }
        server.abort();
        // Each store's rows as they are measured, so a later store's failure loses none.
        eprintln!("{}", table[table.len() - PAGES.len()..].join("\n"));
        if args.prune {
            prune_rows.push(prune(&store, &pool, kind, args.alerts).await?);
            eprintln!("{}", prune_rows.last().map_or("", String::as_str));
        }
        store.close().await;
    }
    println!("{}", table.join("\n"));
    if !prune_rows.is_empty() {
        println!();
        println!("| store | removed | batches | total | longest batch | median batch |");
        println!("|---|---:|---:|---:|---:|---:|");
        for row in prune_rows {
            println!("{row}");
        }
    }
    Ok(())
}

/// What the page's pager says (`Page 1 · more than 10,000 alerts`), or that nothing matched.
fn pager_text(body: &str) -> String {
    if body.contains("No alerts match these filters.") {
        return "no alerts".into();
    }
    // The pager's text, wherever the streamed page puts it (its tags may arrive escaped in a script).
    body.match_indices("Page ")
        .map(|(at, _)| &body[at..])
        .find(|rest| rest[5..].starts_with(|c: char| c.is_ascii_digit()))
        .and_then(|rest| rest.split(['<', '\\']).next())
        .unwrap_or("?")
        .to_owned()
}

/// Writes `n` alerts spread over [`YEAR_START`]'s year, newest last, in chunks of [`CHUNK`].
async fn generate(pool: &sqlx::AnyPool, backend: Backend, n: u32) -> Result<(), sqlx::Error> {
    let step = (YEAR_SECS / i64::from(n.max(1))).max(1);
    let time = |column: &str| match backend {
        Backend::Sqlite => format!("strftime('%Y-%m-%d %H:%M:%S', {YEAR_START} + {column} * {step}, 'unixepoch')"),
        Backend::Postgres => format!(
            "to_char(to_timestamp({YEAR_START} + {column} * {step}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
        ),
    };
    let at = time("i");
    // A stored time plus some minutes, on either database.
    let plus = |column: &str, minutes: &str| match backend {
        Backend::Sqlite => format!("strftime('%Y-%m-%d %H:%M:%S', {column}, '+' || ({minutes}) || ' minutes')"),
        Backend::Postgres => {
            format!("to_char(CAST({column} AS TIMESTAMP) + ({minutes}) * INTERVAL '1 minute', 'YYYY-MM-DD HH24:MI:SS')")
        }
    };
    let case_opened = plus("first_event_at", "5 + id % 30");
    let notice_sent = plus("c.opened_at", "10 + c.id % 40");
    let reactive_opened = plus("c.opened_at", "15 + c.id % 50");
    let (first_ci, last_ci): (i64, i64) =
        sqlx::query_as("SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM configuration_items")
            .fetch_one(pool)
            .await?;
    let ci_span = (last_ci - first_ci + 1).max(1);
    let mut from = 1;
    while from <= n {
        let to = (from + CHUNK - 1).min(n);
        let mut tx = pool.begin().await?;
        // Nearly all closed; a few open, reopened or flapping, at the end of the year (as a live system has them).
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH RECURSIVE k(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM k WHERE i < {to})
             INSERT INTO alerts (number, source, node, message_key, description, severity, state, ci_id,
                                 event_count, first_event_at, last_event_at, closed_at)
             SELECT 'Alert' || CAST(2000000 + i AS TEXT),
                    CASE i % 4 WHEN 0 THEN 'Zabbix' WHEN 1 THEN 'Prometheus' WHEN 2 THEN 'Nagios' ELSE 'Grafana' END,
                    'gen-node-' || substr(CAST(100000 + i % 5000 AS TEXT), 2),
                    'gen-' || CAST(i AS TEXT),
                    CASE i % 7 WHEN 0 THEN 'Response latency above 2 s on the front end'
                               WHEN 1 THEN 'Disk usage above 90% on /var'
                               WHEN 2 THEN 'Interface down on uplink port'
                               WHEN 3 THEN 'Certificate expires within 14 days'
                               WHEN 4 THEN 'Memory pressure: swap in use'
                               WHEN 5 THEN 'Backup job failed'
                               ELSE 'Service check timed out' END
                        || ' (#' || CAST(i AS TEXT) || ')',
                    1 + (i * 7) % 5,
                    CASE WHEN i <= {n} - 2000 THEN 'Closed'
                         WHEN i % 10 = 0 THEN 'Flapping' WHEN i % 10 = 1 THEN 'Reopen' ELSE 'Open' END,
                    CASE WHEN i % 3 <> 0 THEN
                        (SELECT id FROM configuration_items WHERE id >= {first_ci} + (i * 13) % {ci_span} ORDER BY id LIMIT 1) END,
                    1 + i % 40, {at}, {at},
                    CASE WHEN i <= {n} - 2000 THEN {at} END
             FROM k"
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO journal_entries (alert_id, kind, author, created_at, body)
             SELECT id, 'activity', source, first_event_at, 'Raised by ' || source || ': ' || description
             FROM alerts WHERE number >= 'Alert{}' AND number <= 'Alert{}'",
            2_000_000 + from,
            2_000_000 + to
        )))
        .execute(&mut *tx)
        .await?;
        // A case on one alert in 500.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO cases (number, proactive, alert_id, short_description, priority, state, resolution_notes,
                                opened_by, opened_at)
             SELECT 'CS' || CAST(5000000 + (id % 10000000) AS TEXT), 1, id, substr(description, 1, 160), 2,
                    CASE WHEN state = 'Closed' THEN 'Closed' ELSE 'Open' END,
                    CASE WHEN state = 'Closed' THEN 'Fixed at the source.' END, 'agent', {case_opened}
             FROM alerts WHERE number >= 'Alert{}' AND number <= 'Alert{}' AND CAST(substr(number, 6) AS BIGINT) % 500 = 0",
            2_000_000 + from,
            2_000_000 + to
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE alerts SET case_id = (SELECT c.id FROM cases c WHERE c.alert_id = alerts.id AND c.proactive = 1)
             WHERE number >= 'Alert{}' AND number <= 'Alert{}' AND CAST(substr(number, 6) AS BIGINT) % 500 = 0",
            2_000_000 + from,
            2_000_000 + to
        )))
        .execute(&mut *tx)
        .await?;
        // What the dashboard reads of each case: the account it covers (one of the demo's, 1–40 items), the notice
        // it was sent (two cases in three) and a reactive case the account raised (one in four; before or after
        // the notice, as the minutes fall).
        let cases_here = format!(
            "FROM cases c JOIN alerts a ON a.id = c.alert_id
             WHERE a.number >= 'Alert{}' AND a.number <= 'Alert{}' AND c.proactive = 1",
            2_000_000 + from,
            2_000_000 + to
        );
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO case_accounts (case_id, account_id, child_case_id, items, affected, added_at)
             SELECT c.id, (SELECT MIN(id) FROM accounts) + c.id % 5, c.id, 1 + c.id % 40, 1, c.opened_at {cases_here}"
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO notices (case_id, account_id, child_case_id, kind, seq, recipients, subject, body, message_id,
                                  status, attempts, created_by, created_at, sent_at)
             SELECT c.id, (SELECT MIN(id) FROM accounts) + c.id % 5, c.id, 'initial', 1, 'customer@example.com',
                    'Service notice', 'We are working on it.', '<bench.' || CAST(c.id AS TEXT) || '@forestall>',
                    'sent', 1, 'agent', {notice_sent}, {notice_sent}
             {cases_here} AND c.id % 3 <> 0"
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO cases (number, proactive, account_id, short_description, priority, state, opened_by, opened_at,
                                channel, related_case_id)
             SELECT 'CS' || CAST(8000000 + c.id AS TEXT), 0, (SELECT MIN(id) FROM accounts) + c.id % 5,
                    'Customer called about the outage', 3, 'New', 'agent', {reactive_opened}, 'phone', c.id
             {cases_here} AND c.id % 4 = 0"
        )))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        eprint!("\r{to} of {n} alerts");
        from = to + 1;
    }
    eprintln!();
    if backend == Backend::Postgres {
        sqlx::query("ANALYZE").execute(pool).await?;
    }
    Ok(())
}

/// Removes the alerts closed in the year's first month, timing each batch.
async fn prune(store: &Store, pool: &sqlx::AnyPool, kind: &str, n: u32) -> Result<String, sqlx::Error> {
    // The close time of the alert a twelfth of the way through the year.
    let cutoff: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT closed_at FROM alerts WHERE number = 'Alert{}'",
        2_000_000 + n / 12
    )))
    .fetch_one(pool)
    .await?;
    let (mut removed, mut batches) = (0u64, Vec::new());
    let started = Instant::now();
    loop {
        let batch = Instant::now();
        let n = store.prune_closed_alerts(&cutoff).await?;
        batches.push(batch.elapsed());
        removed += n;
        if n == 0 {
            break;
        }
    }
    let total = started.elapsed();
    Ok(format!(
        "| {kind} | {removed} | {} | {:.1} s | {} | {} |",
        batches.len(),
        total.as_secs_f64(),
        ms(quantile(&mut batches, 1.0)),
        ms(quantile(&mut batches, 0.5)),
    ))
}

/// A keep-alive connection that GETs pages with a session cookie.
struct Page {
    stream: BufReader<TcpStream>,
}

impl Page {
    async fn connect(addr: std::net::SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }

    /// The page's body; fails unless it is a 200.
    async fn get(&mut self, path: &str, cookie: &str) -> std::io::Result<String> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\nSec-Fetch-Site: same-origin\r\n\r\n"
        );
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut status = String::new();
        self.stream.read_line(&mut status).await?;
        let (mut length, mut chunked) = (None, false);
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok();
                }
                if name.eq_ignore_ascii_case("transfer-encoding") && value.trim().eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let body = match (length, chunked) {
            (Some(length), _) => {
                let mut body = vec![0; length];
                self.stream.read_exact(&mut body).await?;
                body
            }
            (None, true) => self.read_chunks().await?,
            (None, false) => return Err(std::io::Error::other("an answer without a length")),
        };
        let body = String::from_utf8_lossy(&body).into_owned();
        if !status.starts_with("HTTP/1.1 200") {
            return Err(std::io::Error::other(format!("{path}: {}", status.trim_end())));
        }
        Ok(body)
    }

    async fn read_chunks(&mut self) -> std::io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            self.stream.read_line(&mut size).await?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(std::io::Error::other)?;
            let mut chunk = vec![0; size + 2];
            self.stream.read_exact(&mut chunk).await?;
            if size == 0 {
                return Ok(body);
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
}
