//! Retention (`forestall serve --retain-closed-alerts DAYS`): closed alerts that no case or incident names are
//! removed once they have been closed that long, with their activity and install base snapshots. A batch is one
//! short transaction of at most [`BATCH`] alerts, and the task yields between batches, so ingestion and agents'
//! writes wait at most one batch (on SQLite, where writers queue, that is the figure BENCHMARKS.md gives).

use crate::store::{clock, Backend, Store};
use std::time::Duration;

/// Alerts removed per transaction.
pub const BATCH: i64 = 50;
/// How often the task looks for alerts past their time.
const EVERY: Duration = Duration::from_secs(600);
/// The pause between two batches, for the writers queued behind one.
const BETWEEN_BATCHES: Duration = Duration::from_millis(20);

/// Closed alerts that may go: closed before the cutoff, with no case (a major case's children name the alert too)
/// and no incident. Oldest first, through `alerts_prunable`, which `{indexed}` names on SQLite: its planner took the
/// unique index on `case_id` for `case_id IS NULL` (which nearly every alert is) and sorted the year, 0.36 s a
/// batch at a million alerts, against 0.5 ms through `alerts_prunable`.
const PRUNABLE: &str = "SELECT a.id FROM alerts a {indexed}
     WHERE a.state = 'Closed' AND a.case_id IS NULL AND a.closed_at < $1
       AND a.incident_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.alert_id = a.id)
       AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.alert_id = a.id)
     ORDER BY a.closed_at, a.id
     LIMIT $2";

impl Store {
    /// Removes one batch of the closed alerts that closed before `cutoff` (UTC text, as the alerts keep times);
    /// how many it removed.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn prune_closed_alerts(&self, cutoff: &str) -> Result<u64, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let indexed = match self.backend() {
            Backend::Sqlite => "INDEXED BY alerts_prunable",
            Backend::Postgres => "",
        };
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(PRUNABLE.replace("{indexed}", indexed)))
            .bind(cutoff)
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        // Activity and snapshots go with their alert (ON DELETE CASCADE), the search entries by trigger. The live
        // change log keeps its rows (its ids stay gapless; it is pruned from its oldest end): a page that shows the
        // alert keeps its row until it is reloaded.
        let removed = sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM alerts WHERE id IN ({list})")))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        metrics::counter!("forestall_alerts_pruned_total").increment(removed);
        Ok(removed)
    }

    /// Removes every closed alert that closed more than `days` days ago, a batch at a time; how many.
    pub async fn prune_all_closed_alerts(&self, days: u32) -> Result<u64, sqlx::Error> {
        let cutoff = clock::utc_text(clock::now_secs() - i64::from(days) * 86_400);
        let mut removed = 0;
        loop {
            let batch = self.prune_closed_alerts(&cutoff).await?;
            removed += batch;
            if batch < BATCH.unsigned_abs() {
                return Ok(removed);
            }
            tokio::time::sleep(BETWEEN_BATCHES).await;
        }
    }
}

/// Runs retention every ten minutes, from now on, in the background.
pub fn start(store: Store, days: u32) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            match store.prune_all_closed_alerts(days).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, days, "removed closed alerts past their retention"),
                Err(error) => tracing::warn!(%error, "retention of closed alerts failed; it tries again later"),
            }
        }
    });
}
