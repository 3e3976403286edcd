//! `forestall bench-changes`: the refresh right after a one-row change to a generated CMDB (a CI put in
//! maintenance, a relationship added, an item deactivated), which brings the held impact graph up to date from the
//! change record, against reading the graph whole. Prints a Markdown table for BENCHMARKS.md.

use crate::bench::{ms, postgres_database, quantile, sqlite_url};
use app::{import::generate, store::Store};
use sqlx::AnyPool;
use std::{path::PathBuf, time::Instant};

/// What `forestall bench-changes` measures.
#[derive(Debug, clap::Args)]
pub struct ChangesBenchArgs {
    /// CMDB size (CIs plus install base items).
    #[arg(long, default_value_t = 1_000_000)]
    size: u64,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Changes of each kind, each followed by a refresh.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Also run on PostgreSQL: a server URL whose user may create databases.
    #[arg(long)]
    postgres: Option<String>,
    /// With --postgres, measure PostgreSQL only.
    #[arg(long, requires = "postgres")]
    postgres_only: bool,
    /// Where generated CMDBs and SQLite files are (the same as `forestall bench`'s, so its databases serve).
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Keep the databases of an earlier run (of this or `forestall bench`) that imported the same size.
    #[arg(long)]
    reuse: bool,
}

const ALERT: &str = "Alert0990001";
const MAX_HOPS: u32 = 10;

pub async fn run(args: ChangesBenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let size = args.size;
    let mut table = vec![
        "| CMDB | store | change | runs | refresh median | refresh p95 | bringing the graph up to date, median | \
         read whole instead |"
            .to_owned(),
        "|---:|---|---|---:|---:|---:|---:|---:|".to_owned(),
    ];
    let mut record = vec!["| CMDB | store | import | change record after the import | its size |".to_owned()];
    record.push("|---:|---|---:|---:|---:|".to_owned());
    let dir = args.work_dir.join(format!("cmdb-{size}-{}", args.seed));
    generate(&dir, size, args.seed)?;
    let mut stores = Vec::new();
    if !args.postgres_only {
        stores.push(("SQLite", sqlite_url(&args.work_dir, size, args.reuse)?));
    }
    if let Some(server) = &args.postgres {
        stores.push(("PostgreSQL", postgres_database(server, size, args.reuse).await?));
    }
    for (kind, url) in stores {
        let store = Store::open(&url).await?;
        let db = AnyPool::connect(&url).await?;
        let import = if args.reuse && store.cmdb_version().await? > 0 {
            "reused".to_owned()
        } else {
            let started = Instant::now();
            store.import_dir(&dir, |_| {}).await?;
            format!("{:.1} s", started.elapsed().as_secs_f64())
        };
        let (rows, bytes) = change_record(&db, kind).await?;
        record.push(format!("| {size} | {kind} | {import} | {rows} rows | {bytes} |"));
        eprintln!("{}", record.last().map_or("", String::as_str));

        let started = Instant::now();
        let graph = store.impact_graph_loaded(store.cmdb_version().await?).await?;
        let read_whole = started.elapsed();
        eprintln!("{kind}: read the graph whole in {}", ms(read_whole));

        let id = |name: &'static str| {
            let db = db.clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT id FROM configuration_items WHERE name = $1")
                    .bind(name)
                    .fetch_one(&db)
                    .await
            }
        };
        let (rack, host, app) = (
            id("rack-switch-00000").await?,
            id("host-0000000").await?,
            id("app-0000001").await?,
        );
        sqlx::query(
            "INSERT INTO alerts (number, source, node, type, resource, metric_name, message_key, description,
                                 severity, state, ci_id, event_count, first_event_at, last_event_at)
             VALUES ($1, 'bench', 'rack-switch-00000', 'Threshold', 'port', 'errors', 'bench|rack', 'Bench alert',
                     2, 'Open', $2, 1, '2026-12-01 10:00:00', '2026-12-01 10:00:00')
             ON CONFLICT (number) DO UPDATE SET ci_id = excluded.ci_id",
        )
        .bind(ALERT)
        .bind(rack)
        .execute(&db)
        .await?;
        let traced = graph.trace(rack, MAX_HOPS);
        let item = traced
            .last()
            .map(|row| row.item_id)
            .ok_or("the rack switch reaches no item")?;
        eprintln!("{kind}: the alert's CI reaches {} items", traced.len());
        drop(graph);
        store.refresh_install_base(ALERT, MAX_HOPS, "bench").await?;

        let changes: [(&str, [String; 2]); 3] = [
            (
                "a CI put in maintenance (and back)",
                [
                    format!("UPDATE configuration_items SET in_maintenance = 1 WHERE id = {host}"),
                    format!("UPDATE configuration_items SET in_maintenance = 0 WHERE id = {host}"),
                ],
            ),
            (
                "a relationship added (and removed)",
                [
                    format!(
                        "INSERT INTO ci_relationships (parent_id, type_id, child_id)
                         SELECT {app}, id, {rack} FROM relationship_types WHERE name = 'Depends on::Used by'"
                    ),
                    format!("DELETE FROM ci_relationships WHERE parent_id = {app} AND child_id = {rack}"),
                ],
            ),
            (
                "an item deactivated (and back)",
                [
                    format!("UPDATE install_base_items SET active = 0 WHERE id = {item}"),
                    format!("UPDATE install_base_items SET active = 1 WHERE id = {item}"),
                ],
            ),
        ];
        for (change, statements) in &changes {
            let (mut refreshes, mut catch_ups) = (Vec::new(), Vec::new());
            for run in 0..args.runs * 2 {
                sqlx::query(sqlx::AssertSqlSafe(statements[run % 2].clone()))
                    .execute(&db)
                    .await?;
                if run < args.runs {
                    // The refresh as an operator's click runs it: read the alert and the version, bring the graph up
                    // to date, trace, write the snapshot.
                    let started = Instant::now();
                    store.refresh_install_base(ALERT, MAX_HOPS, "bench").await?;
                    refreshes.push(started.elapsed());
                } else {
                    // Only the part that read the graph whole before: bringing it up to date, and the trace.
                    let started = Instant::now();
                    let version = store.cmdb_version().await?;
                    let graph = store.impact_graph(version).await?.ok_or("the graph was read whole")?;
                    std::hint::black_box(graph.trace(rack, MAX_HOPS));
                    catch_ups.push(started.elapsed());
                }
            }
            let graph = store.impact_graph_loaded(store.cmdb_version().await?).await?;
            if graph.trace(rack, MAX_HOPS) != store.trace_in_sql(rack, MAX_HOPS).await?.1 {
                return Err(format!("{kind}: after {change}, the graph and the SQL trace differ").into());
            }
            if graph.base_version() == graph.version() && graph.changed() == 0 {
                eprintln!("{kind}: the graph was compacted or read whole during the runs");
            }
            table.push(format!(
                "| {size} | {kind} | {change} | {} | {} | {} | {} | {} |",
                args.runs,
                ms(quantile(&mut refreshes, 0.5)),
                ms(quantile(&mut refreshes, 0.95)),
                ms(quantile(&mut catch_ups, 0.5)),
                ms(read_whole),
            ));
            eprintln!("{}", table.last().map_or("", String::as_str));
        }
        let graph = store.impact_graph_loaded(store.cmdb_version().await?).await?;
        eprintln!(
            "{kind}: graph {:.1} MiB, {} CIs and items in its overlay",
            graph.heap_bytes() as f64 / (1024.0 * 1024.0),
            graph.changed()
        );
        let (rows, bytes) = change_record(&db, kind).await?;
        eprintln!("{kind}: change record after the runs: {rows} rows, {bytes}");
        db.close().await;
        store.close().await;
    }
    println!("{}\n\n{}", table.join("\n"), record.join("\n"));
    Ok(())
}

/// Rows in `cmdb_changes`, and its size on disk with its index.
async fn change_record(db: &AnyPool, kind: &str) -> Result<(i64, String), sqlx::Error> {
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cmdb_changes")
        .fetch_one(db)
        .await?;
    let sql = if kind == "PostgreSQL" {
        "SELECT CAST(pg_total_relation_size('cmdb_changes') AS BIGINT)"
    } else {
        "SELECT CAST(SUM(pgsize) AS BIGINT) FROM dbstat WHERE name IN ('cmdb_changes', 'cmdb_changes_version')"
    };
    let bytes: i64 = sqlx::query_scalar(sql).fetch_one(db).await?;
    Ok((rows, format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))))
}
