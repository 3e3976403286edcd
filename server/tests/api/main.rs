//! The server tests, as one test binary: one link instead of one per file (each file is a module here, and keeps
//! its path, so `server/tests/access.rs` is still where the access table is). Run with `scripts/test`, or
//! `cargo nextest run -p server --features app/ssr`.

#[path = "../support/mod.rs"]
mod support;

#[path = "../access.rs"]
mod access;
#[path = "../alert_scale.rs"]
mod alert_scale;
#[path = "../alerts.rs"]
mod alerts;
#[path = "../backup.rs"]
mod backup;
#[path = "../big_records.rs"]
mod big_records;
#[path = "../case_work.rs"]
mod case_work;
#[path = "../cases.rs"]
mod cases;
#[path = "../cli.rs"]
mod cli;
#[path = "../dashboard.rs"]
mod dashboard;
#[path = "../full_disk.rs"]
mod full_disk;
#[path = "../graph_changes.rs"]
mod graph_changes;
#[path = "../impact_map.rs"]
mod impact_map;
#[path = "../import.rs"]
mod import;
#[path = "../ingest.rs"]
mod ingest;
#[path = "../install_base.rs"]
mod install_base;
#[path = "../live.rs"]
mod live;
#[path = "../major_cases.rs"]
mod major_cases;
#[path = "../metrics.rs"]
mod metrics;
#[path = "../notices.rs"]
mod notices;
#[path = "../outage.rs"]
mod outage;
#[path = "../process.rs"]
mod process;
#[path = "../reactive_cases.rs"]
mod reactive_cases;
#[path = "../restart.rs"]
mod restart;
#[path = "../rules.rs"]
mod rules;
#[path = "../schema.rs"]
mod schema;
#[path = "../security.rs"]
mod security;
#[path = "../snapshots.rs"]
mod snapshots;
