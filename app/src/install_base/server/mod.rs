//! The trace: impacted CIs by a walk over impact-carrying relationships, then the active items on them and,
//! recursively, their active children. Refresh walks the impact graph held in memory (`graph`); the same trace in
//! SQL (`trace_sql`, recursive CTEs) is the reference the walk is checked against on both databases. The result
//! replaces the alert's snapshot in one transaction.

mod graph;

pub(crate) use graph::GraphCache;
pub use graph::ImpactGraph;

use super::{AffectedItem, AffectedSnapshot, Reason, RefreshOutcome, ITEMS_PAGE_SIZE};
use crate::{
    alerts::server::parse_alert_number,
    audit::{server::Audit, AuditAction},
    store::{now_text, Backend, Store, Window},
    AppError,
};
use sqlx::{AnyConnection, FromRow};
use std::{collections::HashMap, fmt::Write as _, sync::Arc};

/// How far impact travels from the alert's CI, in relationship hops.
pub const DEFAULT_MAX_HOPS: u32 = 10;

/// A CI the alert impacts, with one shortest way there.
#[derive(Debug, FromRow)]
struct ImpactedCi {
    id: i64,
    name: String,
    hops: i64,
    /// The CI one hop closer to the alert's CI on a shortest path (`None` for the alert's CI itself).
    from_id: Option<i64>,
}

/// An item the trace reaches: on an impacted CI (`via_item_id` is `None`) or as a child of another reached item.
#[derive(Debug, FromRow)]
struct ReachedItem {
    item_id: i64,
    ci_id: Option<i64>,
    via_item_id: Option<i64>,
}

/// One row of the new snapshot, ready to store.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TracedItem {
    pub item_id: i64,
    pub reason: &'static str,
    pub hops: u32,
    /// Shared by the items on one CI.
    pub ci_path: Option<Arc<str>>,
    pub via_item_id: Option<i64>,
}

/// Walks from `root` to every CI that depends on, runs on or is hosted on it, transitively. Each (CI, hop count,
/// predecessor) row is produced once, so a cycle ends at the depth limit; a CI in maintenance is not entered, and
/// an alert's CI in maintenance impacts only itself.
const IMPACTED_CIS_SQL: &str = "
WITH RECURSIVE walk(ci_id, hops, from_id) AS (
    SELECT CAST($1 AS BIGINT), 0, CAST(NULL AS BIGINT)
    UNION
    SELECT r.parent_id, w.hops + 1, w.ci_id
    FROM walk w
    JOIN configuration_items src ON src.id = w.ci_id AND src.in_maintenance = 0
    JOIN ci_relationships r ON r.child_id = w.ci_id
    JOIN relationship_types t ON t.id = r.type_id AND t.carries_impact = 1
    JOIN configuration_items dst ON dst.id = r.parent_id AND dst.in_maintenance = 0
    WHERE w.hops < $2
),
best AS (SELECT ci_id, MIN(hops) AS hops FROM walk GROUP BY ci_id),
-- One predecessor on a shortest path, by a join rather than a subquery per CI (which PostgreSQL ran as a scan of the
-- whole walk for each CI: quadratic in the CIs reached).
firsts AS (
    SELECT w.ci_id, MIN(w.from_id) AS from_id
    FROM walk w JOIN best b ON b.ci_id = w.ci_id AND b.hops = w.hops
    GROUP BY w.ci_id
)
SELECT b.ci_id AS id, ci.name, b.hops, f.from_id
FROM best b
JOIN firsts f ON f.ci_id = b.ci_id
JOIN configuration_items ci ON ci.id = b.ci_id";

/// Active items on the impacted CIs (given as a JSON array of ids, read by the database's own JSON function), then
/// the active children of every item reached. A parent cycle among items ends because each (item, via) pair is
/// produced once.
fn reached_items_sql(backend: Backend) -> String {
    let impacted = match backend {
        Backend::Sqlite => "SELECT CAST(value AS BIGINT) AS id FROM json_each($1)",
        Backend::Postgres => "SELECT CAST(value AS BIGINT) AS id FROM json_array_elements_text(CAST($1 AS json))",
    };
    format!(
        "
WITH RECURSIVE reached(item_id, ci_id, via_item_id) AS (
    SELECT ib.id, ib.ci_id, CAST(NULL AS BIGINT)
    FROM ({impacted}) impacted
    JOIN install_base_items ib ON ib.ci_id = impacted.id AND ib.active = 1
    UNION
    SELECT child.id, child.ci_id, r.item_id
    FROM reached r
    JOIN install_base_items child ON child.parent_id = r.item_id AND child.active = 1
)
SELECT item_id, ci_id, via_item_id FROM reached ORDER BY item_id, via_item_id IS NOT NULL, via_item_id"
    )
}

/// Traces from `root_ci` in SQL and returns the snapshot rows, one per item, ordered by item id.
pub(crate) async fn trace_sql(
    conn: &mut AnyConnection,
    backend: Backend,
    root_ci: i64,
    max_hops: u32,
) -> Result<Vec<TracedItem>, sqlx::Error> {
    let impacted: Vec<ImpactedCi> = sqlx::query_as(IMPACTED_CIS_SQL)
        .bind(root_ci)
        .bind(i64::from(max_hops))
        .fetch_all(&mut *conn)
        .await?;
    let by_id: HashMap<i64, &ImpactedCi> = impacted.iter().map(|ci| (ci.id, ci)).collect();
    let ids = format!(
        "[{}]",
        impacted
            .iter()
            .map(|ci| ci.id.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let reached: Vec<ReachedItem> = sqlx::query_as(sqlx::AssertSqlSafe(reached_items_sql(backend)))
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;

    let mut items: Vec<TracedItem> = Vec::new();
    for row in reached {
        // Rows come grouped by item with the CI-based row first: an item both on an impacted CI and a child of an
        // affected item is reported by its CI, the stronger reason.
        if items.last().is_some_and(|last| last.item_id == row.item_id) {
            continue;
        }
        let traced = match (row.via_item_id, row.ci_id.and_then(|id| by_id.get(&id))) {
            (None, Some(ci)) => {
                let hops = u32::try_from(ci.hops).unwrap_or(u32::MAX);
                TracedItem {
                    item_id: row.item_id,
                    reason: if hops == 0 { "direct" } else { "ci_path" },
                    hops,
                    ci_path: Some(Arc::from(path_to(ci, &by_id).join(" → "))),
                    via_item_id: None,
                }
            }
            (Some(via), _) => TracedItem {
                item_id: row.item_id,
                reason: "child",
                hops: 0,
                ci_path: None,
                via_item_id: Some(via),
            },
            // The first query returns only items on impacted CIs, so this cannot happen; skip rather than guess.
            (None, None) => continue,
        };
        items.push(traced);
    }
    Ok(items)
}

/// CI names from the alert's CI to `ci`, following each CI's recorded predecessor on a shortest path.
fn path_to(ci: &ImpactedCi, by_id: &HashMap<i64, &ImpactedCi>) -> Vec<String> {
    let mut names = vec![ci.name.clone()];
    let mut current = ci;
    while let Some(previous) = current.from_id.and_then(|id| by_id.get(&id)) {
        names.push(previous.name.clone());
        current = previous;
    }
    names.reverse();
    names
}

#[derive(FromRow)]
struct SnapshotRecord {
    number: String,
    name: String,
    account: String,
    account_kind: String,
    contact: Option<String>,
    product: Option<String>,
    ci: Option<String>,
    reason: String,
    hops: i64,
    ci_path: Option<String>,
    via_number: Option<String>,
}

impl SnapshotRecord {
    fn into_item(self) -> AffectedItem {
        let reason = match (self.reason.as_str(), self.via_number) {
            ("child", Some(parent)) => Reason::ChildOf { parent },
            ("direct", _) => Reason::Direct,
            _ => Reason::CiPath {
                path: self
                    .ci_path
                    .unwrap_or_default()
                    .split(" → ")
                    .map(str::to_owned)
                    .collect(),
                hops: u32::try_from(self.hops).unwrap_or(u32::MAX),
            },
        };
        AffectedItem {
            number: self.number,
            name: self.name,
            account: self.account,
            external: self.account_kind == "external",
            contact: self.contact,
            product: self.product,
            ci: self.ci,
            reason,
        }
    }
}

/// Snapshot rows per INSERT statement: five parameters each and the alert's, well under both databases' limits.
const ROWS_PER_INSERT: usize = 200;

/// How often a refresh traces again when the alert was bound to another CI while it traced.
const REFRESH_ATTEMPTS: usize = 3;

impl Store {
    /// Traces the alert's CI and replaces its snapshot in one transaction. The trace runs before that transaction,
    /// on the impact graph at the CMDB version read with the alert, so writers do not wait for it; the write checks
    /// that the alert is still on the CI that was traced.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn refresh_install_base(
        &self,
        alert: &str,
        max_hops: u32,
        actor: &str,
    ) -> Result<RefreshOutcome, AppError> {
        let number = parse_alert_number(alert)?;
        for _ in 0..REFRESH_ATTEMPTS {
            let (id, ci_id, version): (i64, Option<i64>, i64) = sqlx::query_as(
                "SELECT a.id, a.ci_id, s.version FROM alerts a CROSS JOIN cmdb_state s
                 WHERE a.number = $1 AND s.id = 1",
            )
            .bind(number.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| AppError::not_found("Alert", number.to_string()))?;
            let Some(ci_id) = ci_id else {
                return Err(AppError::invalid(
                    "configuration_item",
                    format!(
                        "{number} has no configuration item, so there are no install base items to trace. \
                         Bind the alert to a configuration item first."
                    ),
                ));
            };
            let graph = self.impact_graph(version).await?;
            let items = graph.trace(ci_id, max_hops);
            if let Some(outcome) = self
                .store_snapshot(id, ci_id, graph.version(), &items, &number.to_string(), actor)
                .await?
            {
                return Ok(outcome);
            }
            tracing::info!(%number, "the alert's CI changed while it was traced; tracing again");
        }
        Err(AppError::invalid(
            "configuration_item",
            format!("{number} kept changing its configuration item while it was traced. Try again."),
        ))
    }

    /// Replaces alert `id`'s snapshot with `items`, traced from `ci_id` at CMDB `version`; `None` (and nothing
    /// written) if the alert is no longer on that CI.
    async fn store_snapshot(
        &self,
        id: i64,
        ci_id: i64,
        version: i64,
        items: &[TracedItem],
        number: &str,
        actor: &str,
    ) -> Result<Option<RefreshOutcome>, AppError> {
        let mut tx = self.begin_write().await?;
        // First, so that two refreshes of one alert on PostgreSQL take turns on its row.
        let refreshed_at: Option<String> = sqlx::query_scalar(
            "UPDATE alerts SET ib_refreshed_at = $4, ib_cmdb_version = $2
             WHERE id = $1 AND ci_id = $3 RETURNING ib_refreshed_at",
        )
        .bind(id)
        .bind(version)
        .bind(ci_id)
        .bind(now_text())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(refreshed_at) = refreshed_at else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM affected_items WHERE alert_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for chunk in items.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO affected_items (alert_id, item_id, reason, hops, ci_path, via_item_id) VALUES ",
            );
            for n in 0..chunk.len() {
                let p = 2 + n * 5;
                let comma = if n == 0 { "" } else { ", " };
                let _ = write!(sql, "{comma}($1, ${p}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4);
            }
            let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
            for item in chunk {
                insert = insert
                    .bind(item.item_id)
                    .bind(item.reason)
                    .bind(i64::from(item.hops))
                    .bind(item.ci_path.as_deref())
                    .bind(item.via_item_id);
            }
            insert.execute(&mut *tx).await?;
        }
        let accounts: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT ib.account_id) FROM affected_items ai
             JOIN install_base_items ib ON ib.id = ai.item_id WHERE ai.alert_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        Audit {
            actor,
            action: AuditAction::InstallBaseRefreshed,
            record: Some(number),
            detail: &format!("{} items, {accounts} accounts", items.len()),
            address: None,
        }
        .write(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(Some(RefreshOutcome {
            items: items.len() as u64,
            accounts: u64::try_from(accounts).unwrap_or(0),
            refreshed_at,
        }))
    }

    /// The alert's stored snapshot, ordered by account and item number.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn affected_snapshot(&self, alert: &str, page: u32) -> Result<AffectedSnapshot, AppError> {
        let number = parse_alert_number(alert)?;
        let mut conn = self.pool().acquire().await?;
        let (id, refreshed_at, traced_version): (i64, Option<String>, Option<i64>) =
            sqlx::query_as("SELECT id, ib_refreshed_at, ib_cmdb_version FROM alerts WHERE number = $1")
                .bind(number.to_string())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| AppError::not_found("Alert", number.to_string()))?;
        let (version, cmdb_changed_at): (i64, Option<String>) =
            sqlx::query_as("SELECT version, changed_at FROM cmdb_state WHERE id = 1")
                .fetch_one(&mut *conn)
                .await?;
        let (total, accounts): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT ib.account_id) FROM affected_items ai
             JOIN install_base_items ib ON ib.id = ai.item_id WHERE ai.alert_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        let window = Window::new(total, page, ITEMS_PAGE_SIZE);
        let records: Vec<SnapshotRecord> = sqlx::query_as(
            "SELECT ib.number, ib.name, acc.name AS account, acc.kind AS account_kind, co.name AS contact,
                    p.name AS product, ci.name AS ci, ai.reason, ai.hops, ai.ci_path, via.number AS via_number
             FROM affected_items ai
             JOIN install_base_items ib ON ib.id = ai.item_id
             JOIN accounts acc ON acc.id = ib.account_id
             LEFT JOIN contacts co ON co.id = ib.contact_id
             LEFT JOIN products p ON p.id = ib.product_id
             LEFT JOIN configuration_items ci ON ci.id = ib.ci_id
             LEFT JOIN install_base_items via ON via.id = ai.via_item_id
             WHERE ai.alert_id = $1
             ORDER BY acc.name, ib.number
             LIMIT $2 OFFSET $3",
        )
        .bind(id)
        .bind(window.limit)
        .bind(window.offset)
        .fetch_all(&mut *conn)
        .await?;
        Ok(AffectedSnapshot {
            stale: refreshed_at.is_some() && traced_version.unwrap_or(0) < version,
            refreshed_at,
            items: records.into_iter().map(SnapshotRecord::into_item).collect(),
            total: window.total,
            accounts: u64::try_from(accounts).unwrap_or(0),
            page: window.page,
            pages: window.pages,
            cmdb_changed_at,
            refresh_on_open: false,
        })
    }
}

/// A plain breadth-first walk over the CMDB in hash maps: the lower bound the benchmark compares the trace with, and
/// a second reference the tests check it against. Same rules: impact goes from a CI to the CIs that depend on, run on or are hosted on
/// it; CIs in maintenance are not entered (and, as the alert's CI, do not pass impact on); at most `max_hops` hops;
/// active items on impacted CIs, then their active children.
pub struct MemoryCmdb {
    names: HashMap<String, i64>,
    maintenance: std::collections::HashSet<i64>,
    /// CI → the CIs impacted through it (one hop).
    dependents: HashMap<i64, Vec<i64>>,
    /// CI → active items on it.
    items_on: HashMap<i64, Vec<i64>>,
    /// Item → its active children.
    children: HashMap<i64, Vec<i64>>,
}

impl MemoryCmdb {
    /// The id of the CI with this name.
    pub fn ci(&self, name: &str) -> Option<i64> {
        self.names.get(&name.to_lowercase()).copied()
    }

    /// CI names starting with `prefix`, sorted.
    pub fn names_starting(&self, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = self.names.keys().filter(|n| n.starts_with(prefix)).cloned().collect();
        names.sort();
        names
    }

    /// The ids of the items an alert on `root` affects, sorted, by breadth-first walks.
    pub fn affected(&self, root: i64, max_hops: u32) -> Vec<i64> {
        let mut impacted = std::collections::HashSet::from([root]);
        let mut frontier = vec![root];
        for _ in 0..max_hops {
            let mut next = Vec::new();
            for ci in frontier {
                if self.maintenance.contains(&ci) {
                    continue;
                }
                for &dependent in self.dependents.get(&ci).into_iter().flatten() {
                    if !self.maintenance.contains(&dependent) && impacted.insert(dependent) {
                        next.push(dependent);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        let mut affected = std::collections::HashSet::new();
        let mut queue: Vec<i64> = impacted
            .iter()
            .flat_map(|ci| self.items_on.get(ci).into_iter().flatten().copied())
            .collect();
        while let Some(item) = queue.pop() {
            if affected.insert(item) {
                queue.extend(self.children.get(&item).into_iter().flatten().copied());
            }
        }
        let mut affected: Vec<i64> = affected.into_iter().collect();
        affected.sort_unstable();
        affected
    }
}

impl Store {
    /// Reads the whole impact graph into memory (see [`MemoryCmdb`]).
    pub async fn memory_cmdb(&self) -> Result<MemoryCmdb, sqlx::Error> {
        let mut conn = self.pool().acquire().await?;
        let cis: Vec<(i64, String, i64)> = sqlx::query_as("SELECT id, name, in_maintenance FROM configuration_items")
            .fetch_all(&mut *conn)
            .await?;
        let edges: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT r.child_id, r.parent_id FROM ci_relationships r
             JOIN relationship_types t ON t.id = r.type_id WHERE t.carries_impact = 1",
        )
        .fetch_all(&mut *conn)
        .await?;
        let items: Vec<(i64, Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT id, ci_id, parent_id FROM install_base_items WHERE active = 1")
                .fetch_all(&mut *conn)
                .await?;
        let mut cmdb = MemoryCmdb {
            names: HashMap::with_capacity(cis.len()),
            maintenance: std::collections::HashSet::new(),
            dependents: HashMap::new(),
            items_on: HashMap::new(),
            children: HashMap::new(),
        };
        for (id, name, maintenance) in cis {
            cmdb.names.insert(name.to_lowercase(), id);
            if maintenance != 0 {
                cmdb.maintenance.insert(id);
            }
        }
        for (child, parent) in edges {
            cmdb.dependents.entry(child).or_default().push(parent);
        }
        for (id, ci, parent) in items {
            if let Some(ci) = ci {
                cmdb.items_on.entry(ci).or_default().push(id);
            }
            if let Some(parent) = parent {
                cmdb.children.entry(parent).or_default().push(id);
            }
        }
        Ok(cmdb)
    }

    /// The ids of the items an alert on `ci` affects, sorted, as Refresh traces them (without writing): on the
    /// impact graph at the CMDB's current version.
    pub async fn trace_items(&self, ci: i64, max_hops: u32) -> Result<Vec<i64>, sqlx::Error> {
        let version = self.cmdb_version().await?;
        Ok(self.impact_graph(version).await?.affected(ci, max_hops))
    }

    /// The same, by the trace in SQL.
    pub async fn trace_items_sql(&self, ci: i64, max_hops: u32) -> Result<Vec<i64>, sqlx::Error> {
        let mut conn = self.pool().acquire().await?;
        let mut items: Vec<i64> = trace_sql(&mut conn, self.backend(), ci, max_hops)
            .await?
            .into_iter()
            .map(|item| item.item_id)
            .collect();
        items.sort_unstable();
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{demo::CmdbWriter, tests::memory_store};

    /// A small CMDB: `db` hosts `app` (Runs on), `app` is used by `svc` (Depends on), `svc` → `portal` → ... as given.
    struct Fixture {
        store: Store,
    }

    impl Fixture {
        async fn new() -> Self {
            Self {
                store: memory_store().await,
            }
        }

        async fn write(&self) -> CmdbWriter<sqlx::pool::PoolConnection<sqlx::Any>> {
            CmdbWriter::new(self.store.pool().acquire().await.expect("connection"))
        }

        /// The trace on the impact graph, after checking that the SQL trace gives the very same rows.
        async fn traced(&self, root: i64, max_hops: u32) -> Vec<TracedItem> {
            let in_sql = {
                let mut conn = self.store.pool().acquire().await.expect("connection");
                trace_sql(&mut conn, self.store.backend(), root, max_hops)
                    .await
                    .expect("trace")
            };
            let version = self.store.cmdb_version().await.expect("version");
            let graph = self.store.impact_graph(version).await.expect("graph");
            let walked = graph.trace(root, max_hops);
            assert_eq!(walked, in_sql, "the walk over the graph and the SQL trace differ");
            walked
        }
    }

    /// (item, reason, hops, CI path, via item) of each traced row.
    type Row<'a> = (i64, &'static str, u32, Option<&'a str>, Option<i64>);

    fn summary(items: &[TracedItem]) -> Vec<Row<'_>> {
        items
            .iter()
            .map(|i| (i.item_id, i.reason, i.hops, i.ci_path.as_deref(), i.via_item_id))
            .collect()
    }

    #[tokio::test]
    async fn direct_path_and_child_items_carry_their_reasons() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let host = w.ci("host", "server", false).await.expect("write");
        let db = w.ci("db", "database", false).await.expect("write");
        let app = w.ci("app", "application", false).await.expect("write");
        w.relate(db, "Runs on::Runs", host).await.expect("write");
        w.relate(app, "Depends on::Used by", db).await.expect("write");
        let on_host = w.item("on host", acme, Some(host), None, true).await.expect("write");
        let on_app = w.item("on app", acme, Some(app), None, true).await.expect("write");
        let child = w
            .item("child of app item", acme, None, Some(on_app), true)
            .await
            .expect("write");
        let grandchild = w
            .item("grandchild", acme, None, Some(child), true)
            .await
            .expect("write");
        let _inactive_child = w
            .item("inactive child", acme, None, Some(on_app), false)
            .await
            .expect("write");
        let _inactive = w
            .item("inactive on db", acme, Some(db), None, false)
            .await
            .expect("write");
        drop(w);

        let traced = fx.traced(host, DEFAULT_MAX_HOPS).await;
        assert_eq!(
            summary(&traced),
            vec![
                (on_host, "direct", 0, Some("host"), None),
                (on_app, "ci_path", 2, Some("host → db → app"), None),
                (child, "child", 0, None, Some(on_app)),
                (grandchild, "child", 0, None, Some(child)),
            ]
        );
    }

    #[tokio::test]
    async fn impact_does_not_flow_to_what_the_alert_ci_depends_on_nor_along_other_types() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let app = w.ci("app", "application", false).await.expect("write");
        let db = w.ci("db", "database", false).await.expect("write");
        let backup = w.ci("backup", "server", false).await.expect("write");
        w.relate(app, "Depends on::Used by", db).await.expect("write");
        w.relate(backup, "Connected by::Connects", app).await.expect("write");
        let on_db = w.item("on db", acme, Some(db), None, true).await.expect("write");
        let _on_backup = w
            .item("on backup", acme, Some(backup), None, true)
            .await
            .expect("write");
        let on_app = w.item("on app", acme, Some(app), None, true).await.expect("write");
        drop(w);

        // An alert on the app impacts the app only: the db it depends on is fine, and "Connected by" carries no impact.
        assert_eq!(
            summary(&fx.traced(app, 10).await),
            vec![(on_app, "direct", 0, Some("app"), None)]
        );
        // An alert on the db reaches the app that depends on it.
        let from_db: Vec<i64> = fx.traced(db, 10).await.iter().map(|i| i.item_id).collect();
        assert_eq!(from_db, vec![on_db, on_app]);
    }

    #[tokio::test]
    async fn the_depth_limit_stops_the_walk() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let mut chain = vec![w.ci("c0", "server", false).await.expect("write")];
        let mut items = Vec::new();
        for n in 1..=4 {
            let ci = w.ci(&format!("c{n}"), "application", false).await.expect("write");
            w.relate(ci, "Depends on::Used by", chain[n - 1]).await.expect("write");
            items.push(w.item(&format!("item {n}"), acme, Some(ci), None, true).await);
            chain.push(ci);
        }
        drop(w);

        let hops = |t: Vec<TracedItem>| t.iter().map(|i| i.hops).collect::<Vec<_>>();
        assert_eq!(hops(fx.traced(chain[0], 10).await), vec![1, 2, 3, 4]);
        assert_eq!(hops(fx.traced(chain[0], 2).await), vec![1, 2]);
        assert_eq!(hops(fx.traced(chain[0], 0).await), Vec::<u32>::new());
    }

    #[tokio::test]
    async fn cycles_terminate_and_each_item_appears_once_at_its_shortest_distance() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let a = w.ci("a", "application", false).await.expect("write");
        let b = w.ci("b", "application", false).await.expect("write");
        let c = w.ci("c", "application", false).await.expect("write");
        w.relate(b, "Depends on::Used by", a).await.expect("write");
        w.relate(c, "Depends on::Used by", b).await.expect("write");
        w.relate(a, "Depends on::Used by", c).await.expect("write");
        // Items whose parent links form a cycle too.
        let on_c = w.item("on c", acme, Some(c), None, true).await.expect("write");
        let looped = w.item("looped", acme, None, Some(on_c), true).await.expect("write");
        w.set_parent(on_c, looped).await.expect("write");
        drop(w);

        let traced = fx.traced(a, 10).await;
        assert_eq!(
            summary(&traced),
            vec![
                (on_c, "ci_path", 2, Some("a → b → c"), None),
                (looped, "child", 0, None, Some(on_c))
            ]
        );
    }

    #[tokio::test]
    async fn an_unknown_relationship_type_is_refused() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let a = w.ci("a", "server", false).await.expect("write");
        let b = w.ci("b", "server", false).await.expect("write");
        assert!(w.relate(a, "Likes::Liked by", b).await.is_err());
    }

    #[tokio::test]
    async fn of_two_shortest_paths_the_one_through_the_smaller_ci_id_is_shown() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let root = w.ci("root", "server", false).await.expect("write");
        let first = w.ci("first", "database", false).await.expect("write");
        let second = w.ci("second", "database", false).await.expect("write");
        let top = w.ci("top", "application", false).await.expect("write");
        // Related in the opposite order, so that neither walk meets the smaller id first by accident.
        w.relate(second, "Runs on::Runs", root).await.expect("write");
        w.relate(first, "Runs on::Runs", root).await.expect("write");
        w.relate(top, "Depends on::Used by", second).await.expect("write");
        w.relate(top, "Depends on::Used by", first).await.expect("write");
        let on_top = w.item("on top", acme, Some(top), None, true).await.expect("write");
        drop(w);

        assert_eq!(
            summary(&fx.traced(root, 10).await),
            vec![(on_top, "ci_path", 2, Some("root → first → top"), None)]
        );
    }

    #[tokio::test]
    async fn a_change_to_the_cmdb_is_traced_at_once_whoever_made_it() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let host = w.ci("host", "server", false).await.expect("write");
        let app = w.ci("app", "application", false).await.expect("write");
        let on_app = w.item("on app", acme, Some(app), None, true).await.expect("write");
        drop(w);
        assert!(fx.traced(host, 10).await.is_empty());

        // Plain SQL, as an administrator might: the graph held is replaced because the version went up.
        sqlx::query(
            "INSERT INTO ci_relationships (parent_id, type_id, child_id)
                     SELECT $1, id, $2 FROM relationship_types WHERE name = 'Runs on::Runs'",
        )
        .bind(app)
        .bind(host)
        .execute(fx.store.pool())
        .await
        .expect("relate");
        assert_eq!(
            summary(&fx.traced(host, 10).await),
            vec![(on_app, "ci_path", 1, Some("host → app"), None)]
        );
        sqlx::query("UPDATE configuration_items SET in_maintenance = 1 WHERE id = $1")
            .bind(app)
            .execute(fx.store.pool())
            .await
            .expect("maintenance");
        assert!(fx.traced(host, 10).await.is_empty());
    }

    #[tokio::test]
    async fn maintenance_stops_propagation() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let host = w.ci("host", "server", false).await.expect("write");
        let paused = w.ci("paused", "database", true).await.expect("write");
        let beyond = w.ci("beyond", "application", false).await.expect("write");
        let other = w.ci("other", "application", false).await.expect("write");
        w.relate(paused, "Runs on::Runs", host).await.expect("write");
        w.relate(beyond, "Depends on::Used by", paused).await.expect("write");
        w.relate(other, "Hosted on::Hosts", host).await.expect("write");
        let _on_paused = w
            .item("on paused", acme, Some(paused), None, true)
            .await
            .expect("write");
        let _on_beyond = w
            .item("on beyond", acme, Some(beyond), None, true)
            .await
            .expect("write");
        let on_other = w.item("on other", acme, Some(other), None, true).await.expect("write");
        let on_host = w.item("on host", acme, Some(host), None, true).await.expect("write");
        drop(w);

        let traced: Vec<i64> = fx.traced(host, 10).await.iter().map(|i| i.item_id).collect();
        assert_eq!(traced, vec![on_other, on_host]);
        // An alert on a CI in maintenance affects that CI's items but goes no further.
        let from_paused: Vec<&str> = fx.traced(paused, 10).await.iter().map(|i| i.reason).collect();
        assert_eq!(from_paused, vec!["direct"]);
    }
}
