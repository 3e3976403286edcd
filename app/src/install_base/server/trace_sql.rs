//! The trace in SQL: recursive CTEs over the CMDB, on either database. Refresh walks the graph instead; this is the
//! reference every trace test checks the walk against.

use super::TracedItem;
use crate::store::{Backend, Store};
use sqlx::{AnyConnection, FromRow};
use std::{collections::HashMap, sync::Arc};

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

impl Store {
    /// Traces from `root_ci` in SQL in one snapshot of the database, as Refresh does while the impact graph is being
    /// read: the CMDB's version in that snapshot, and the snapshot rows ordered by item id.
    pub async fn trace_in_sql(&self, root_ci: i64, max_hops: u32) -> Result<(i64, Vec<TracedItem>), sqlx::Error> {
        let mut tx = self.begin_snapshot().await?;
        let version: i64 = sqlx::query_scalar("SELECT version FROM cmdb_state WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let items = trace_sql(&mut tx, self.backend(), root_ci, max_hops).await?;
        tx.commit().await?;
        Ok((version, items))
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
