//! Refresh: trace the alert's CI on the impact graph and bring its snapshot up to date, in one transaction.

use super::TracedItem;
use crate::{
    audit::{server::Audit, AuditAction},
    domain::parse_alert_number,
    install_base::RefreshOutcome,
    store::{now_text, placeholders, Store},
    AppError,
};
use std::{collections::HashMap, fmt::Write as _};

/// Snapshot rows per INSERT statement: five parameters each and the alert's, well under both databases' limits.
const ROWS_PER_INSERT: usize = 200;

/// Item ids per DELETE statement.
const ROWS_PER_DELETE: usize = 500;

/// How often a refresh traces again when the alert was bound to another CI while it traced.
const REFRESH_ATTEMPTS: usize = 3;

/// A stored snapshot row: reason, hops, CI path, via item.
type StoredRow = (String, i64, Option<String>, Option<i64>);
/// A stored snapshot row with its item first.
type StoredItemRow = (i64, String, i64, Option<String>, Option<i64>);

/// Makes alert `id`'s snapshot `items` by writing only what differs from the stored one: a refresh that finds what
/// it found before writes no row. Rewriting every row each time left PostgreSQL a dead row per item and refresh,
/// which the snapshot's reads then stepped over (seconds, under a shift's refreshes); on SQLite it was most of a
/// refresh's time.
async fn write_changes(conn: &mut sqlx::AnyConnection, id: i64, items: &[TracedItem]) -> Result<(), AppError> {
    let stored: Vec<StoredItemRow> =
        sqlx::query_as("SELECT item_id, reason, hops, ci_path, via_item_id FROM affected_items WHERE alert_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let mut stored: HashMap<i64, StoredRow> = stored
        .into_iter()
        .map(|(item, reason, hops, path, via)| (item, (reason, hops, path, via)))
        .collect();
    let mut written = Vec::new();
    for item in items {
        let same = stored.remove(&item.item_id).is_some_and(|(reason, hops, path, via)| {
            reason == item.reason
                && hops == i64::from(item.hops)
                && path.as_deref() == item.ci_path.as_deref()
                && via == item.via_item_id
        });
        if !same {
            written.push(item);
        }
    }
    // What is gone, and what changed (deleted here, written again below).
    let mut deleted: Vec<i64> = stored.into_keys().collect();
    deleted.extend(written.iter().map(|item| item.item_id));
    deleted.sort_unstable();
    for chunk in deleted.chunks(ROWS_PER_DELETE) {
        let sql = format!(
            "DELETE FROM affected_items WHERE item_id IN ({}) AND alert_id = ${}",
            placeholders(chunk.len()),
            chunk.len() + 1
        );
        let delete = chunk
            .iter()
            .fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |query, item| query.bind(*item));
        delete.bind(id).execute(&mut *conn).await?;
    }
    for chunk in written.chunks(ROWS_PER_INSERT) {
        let mut sql =
            String::from("INSERT INTO affected_items (alert_id, item_id, reason, hops, ci_path, via_item_id) VALUES ");
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
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

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
            let started = std::time::Instant::now();
            let graph = self.impact_graph(version).await?;
            let traced = std::time::Instant::now();
            let (traced_at, items) = match graph {
                Some(graph) => (graph.version(), graph.trace(ci_id, max_hops)),
                // The graph is being read whole (at start): trace in SQL meanwhile, which gives the same rows.
                None => self.trace_in_sql(ci_id, max_hops).await?,
            };
            crate::metrics::record_duration("forestall_trace_duration_seconds", traced.elapsed());
            if let Some(outcome) = self
                .store_snapshot(id, ci_id, traced_at, &items, &number.to_string(), actor)
                .await?
            {
                crate::metrics::record_duration("forestall_refresh_duration_seconds", started.elapsed());
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
        // The alert's proactive case, if any, follows the new snapshot: read the old one first.
        let before = crate::cases::server::follow::before_refresh(&mut tx, id).await?;
        write_changes(&mut tx, id, items).await?;
        if let Some(before) = before {
            crate::cases::server::follow::follow(&mut tx, id, before, actor).await?;
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

    /// The ids of the items an alert on `ci` affects, sorted, as Refresh traces them once the graph is held
    /// (without writing): on the impact graph at the CMDB's current version, waiting for it to be read if need be.
    pub async fn trace_items(&self, ci: i64, max_hops: u32) -> Result<Vec<i64>, sqlx::Error> {
        let version = self.cmdb_version().await?;
        Ok(self.impact_graph_loaded(version).await?.affected(ci, max_hops))
    }
}
