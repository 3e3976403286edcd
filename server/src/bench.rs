//! `forestall bench`: trace latency over generated CMDBs on SQLite (and PostgreSQL when given), against a plain
//! in-memory breadth-first walk over the same graph, with the import rate, the time and memory to read the impact
//! graph, and peak memory. Prints Markdown tables for BENCHMARKS.md.

use app::{
    import::{generate, Progress},
    install_base::MemoryCmdb,
    store::Store,
};
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// What `forestall bench` measures.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// CMDB sizes (CIs plus install base items), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    sizes: Vec<u64>,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Alerts per size bucket (about 10, 1,000 and 50,000 affected items).
    #[arg(long, default_value_t = 20)]
    alerts: usize,
    /// Timed runs per alert.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Also run on PostgreSQL: a server URL whose user may create databases (a database is made and dropped).
    #[arg(long)]
    postgres: Option<String>,
    /// With --postgres, measure PostgreSQL only.
    #[arg(long, requires = "postgres")]
    postgres_only: bool,
    /// Where to write generated CMDBs and SQLite files.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Keep the databases of an earlier run that imported the same size (and skip the import), instead of starting
    /// afresh.
    #[arg(long)]
    reuse: bool,
    /// Also time the trace in SQL (recursive CTEs), the reference the walk is checked against.
    #[arg(long)]
    sql: bool,
}

const BUCKETS: [(&str, usize, usize); 3] = [("~10", 5, 20), ("~1,000", 500, 2_000), ("~50,000", 25_000, 100_000)];
const MAX_HOPS: u32 = 10;

/// A bucket's label and its alerts: (CI id, items its walk reaches).
type Bucket = (&'static str, Vec<(i64, usize)>);

pub async fn run(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut table = vec![
        "| CMDB (CIs + items) | store | affected items | alerts | trace median | trace p95 | in-memory walk median | ratio | SQL trace median |"
            .to_owned(),
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|".to_owned(),
    ];
    let mut imports = vec![
        "| CMDB (CIs + items) | store | rows | import time | rows/s | reading the graph | graph memory | peak RSS |"
            .to_owned(),
        "|---:|---|---:|---:|---:|---:|---:|---:|".to_owned(),
    ];
    for &size in &args.sizes {
        let dir = args.work_dir.join(format!("cmdb-{size}-{}", args.seed));
        let started = Instant::now();
        let generated = generate(&dir, size, args.seed)?;
        eprintln!("generated {generated:?} in {:.1} s", started.elapsed().as_secs_f64());
        let mut stores = Vec::new();
        if !args.postgres_only {
            stores.push(("SQLite", sqlite_url(&args.work_dir, size, args.reuse)?));
        }
        if let Some(server) = &args.postgres {
            stores.push(("PostgreSQL", postgres_database(server, size, args.reuse).await?));
        }
        let mut memory: Option<(MemoryCmdb, Vec<Bucket>)> = None;
        for (kind, url) in stores {
            let store = Store::open(&url).await?;
            let import = if args.reuse && store.cmdb_version().await? > 0 {
                eprintln!("{kind} {size}: reusing the CMDB imported earlier");
                "| reused | – | –".to_owned()
            } else {
                let started = Instant::now();
                let report = store
                    .import_dir(&dir, |progress| {
                        if let Progress::Rows { file, rows } = progress {
                            eprint!("\r{kind} {size}: {file} {rows}      ");
                        }
                    })
                    .await?;
                let elapsed = started.elapsed();
                eprintln!();
                let rows: u64 = report.files.iter().map(|f| f.rows).sum();
                format!(
                    "| {rows} | {:.1} s | {:.0}",
                    elapsed.as_secs_f64(),
                    rows as f64 / elapsed.as_secs_f64()
                )
            };
            // The graph as Refresh reads it the first time (and after every CMDB change), and what it adds to memory.
            let started = Instant::now();
            let version = store.cmdb_version().await?;
            let graph = store.impact_graph_loaded(version).await?;
            let read = started.elapsed();
            imports.push(format!(
                "| {size} | {kind} {import} | {:.1} s | {:.1} MiB | {} MiB |",
                read.as_secs_f64(),
                graph.heap_bytes() as f64 / (1024.0 * 1024.0),
                peak_rss_mib()
            ));
            if memory.is_none() {
                let cmdb = store.memory_cmdb().await?;
                let buckets = choose_alerts(&cmdb, args.alerts);
                memory = Some((cmdb, buckets));
            }
            let Some((cmdb, buckets)) = &memory else { continue };
            for (bucket, alerts) in buckets {
                if alerts.is_empty() {
                    table.push(format!("| {size} | {kind} | {bucket} | 0 | – | – | – | – | – |"));
                    continue;
                }
                let (mut traces, mut walks, mut sql) = (Vec::new(), Vec::new(), Vec::new());
                for &(ci, _) in alerts {
                    let expected = cmdb.affected(ci, MAX_HOPS);
                    for _ in 0..args.runs {
                        // Refresh reads the CMDB's version in the query that reads the alert: the trace is the
                        // graph at that version (held, so no read) and the walk over it, reasons and paths included
                        // (`affected` is the trace's rows reduced to their item ids).
                        let started = Instant::now();
                        let traced = store.impact_graph_loaded(version).await?.affected(ci, MAX_HOPS);
                        traces.push(started.elapsed());
                        if traced != expected {
                            return Err(format!("{kind}: the trace of CI {ci} differs from the in-memory walk").into());
                        }
                        let started = Instant::now();
                        let walked = cmdb.affected(ci, MAX_HOPS);
                        walks.push(started.elapsed());
                        std::hint::black_box(walked);
                        if args.sql {
                            let started = Instant::now();
                            let in_sql = store.trace_items_sql(ci, MAX_HOPS).await?;
                            sql.push(started.elapsed());
                            if in_sql != expected {
                                return Err(format!("{kind}: the SQL trace of CI {ci} differs from the walk").into());
                            }
                        }
                    }
                }
                let mean_items = alerts.iter().map(|(_, n)| n).sum::<usize>() / alerts.len();
                let (trace_median, trace_p95, walk_median) = (
                    quantile(&mut traces, 0.5),
                    quantile(&mut traces, 0.95),
                    quantile(&mut walks, 0.5),
                );
                let sql_median = if args.sql {
                    ms(quantile(&mut sql, 0.5))
                } else {
                    "–".to_owned()
                };
                table.push(format!(
                    "| {size} | {kind} | {bucket} (mean {mean_items}) | {} | {} | {} | {} | {:.2}× | {sql_median} |",
                    alerts.len(),
                    ms(trace_median),
                    ms(trace_p95),
                    ms(walk_median),
                    trace_median.as_secs_f64() / walk_median.as_secs_f64().max(1e-9)
                ));
                eprintln!("{}", table.last().map_or("", String::as_str));
            }
            drop(graph);
            store.close().await;
        }
    }
    println!("{}\n\n{}", table.join("\n"), imports.join("\n"));
    Ok(())
}

/// Alerts for each bucket: CIs whose in-memory walk reaches a count in the bucket's range, with that count.
fn choose_alerts(cmdb: &MemoryCmdb, per_bucket: usize) -> Vec<Bucket> {
    let mut candidates: Vec<String> = Vec::new();
    candidates.extend(cmdb.names_starting("core-switch-"));
    candidates.extend(cmdb.names_starting("storage-array-"));
    candidates.extend(
        cmdb.names_starting("rack-switch-")
            .into_iter()
            .step_by(7)
            .take(per_bucket * 4),
    );
    candidates.extend(
        cmdb.names_starting("app-")
            .into_iter()
            .step_by(101)
            .take(per_bucket * 6),
    );
    let counted: Vec<(i64, usize)> = candidates
        .iter()
        .filter_map(|name| cmdb.ci(name))
        .map(|ci| (ci, cmdb.affected(ci, MAX_HOPS).len()))
        .collect();
    BUCKETS
        .iter()
        .map(|&(label, low, high)| {
            let alerts = counted
                .iter()
                .filter(|(_, n)| (low..=high).contains(n))
                .take(per_bucket)
                .copied()
                .collect();
            (label, alerts)
        })
        .collect()
}

pub(crate) fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples.get(index).copied().unwrap_or_default()
}

pub(crate) fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1e3;
    if ms < 0.1 {
        format!("{:.1} µs", ms * 1e3)
    } else {
        format!("{ms:.2} ms")
    }
}

/// A SQLite file named for `tag` (a CMDB size, say): a fresh one unless `reuse`.
pub(crate) fn sqlite_url(work_dir: &Path, tag: impl std::fmt::Display, reuse: bool) -> std::io::Result<String> {
    std::fs::create_dir_all(work_dir)?;
    let path = work_dir.join(format!("bench-{tag}.db"));
    if !reuse {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    Ok(format!("sqlite://{}", path.display()))
}

/// A PostgreSQL database named for `tag` on `server`, fresh unless `reuse` and it exists; its URL.
pub(crate) async fn postgres_database(
    server: &str,
    tag: impl std::fmt::Display,
    reuse: bool,
) -> Result<String, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(server).await?;
    let name = format!("forestall_bench_{tag}");
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&admin)
        .await?;
    if !(reuse && exists) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&admin)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await?;
    }
    admin.close().await;
    let (base, _) = server.rsplit_once('/').unwrap_or((server, ""));
    Ok(format!("{base}/{name}"))
}

/// The process's peak resident memory so far (Linux), in MiB.
fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
