//! Follows the database's record of changes and delivers each to the hub, so a change reaches open pages whoever
//! made it: this process, another instance on the same PostgreSQL, or another process on the same SQLite file
//! (`forestall import`, `forestall demo`, a second `serve`).
//!
//! - SQLite: the `change_log` table (a row per change, appended in commit order with gapless ids, pruned from the
//!   oldest end), read by id after every commit of this process (`Store::committed`) and every [`POLL`] for other
//!   processes' commits. A gap after the cursor means rows it needed were pruned: every stream is told to resync.
//! - PostgreSQL: `LISTEN forestall_changes`. A notification is delivered at commit, to every instance. When the
//!   listening connection drops, notifications sent meanwhile are lost: every stream is then told to resync.

use super::Changes;
use crate::{
    live::{Change, RecordKind},
    store::{Backend, Store},
};
use std::time::Duration;

/// How often SQLite's change log is read for changes made by other processes.
pub const POLL: Duration = Duration::from_millis(500);
/// At most one delivery to the streams this often: changes committed meanwhile go out together, so a burst of
/// commits (ingestion at full rate) costs each stream one wake-up every 100 ms, not one a commit. A lone change goes
/// out at once. (50 ms cost ingestion 15-30% with 1,000 streams open; see BENCHMARKS.md, "Live updates".)
pub const WINDOW: Duration = Duration::from_millis(100);
/// Rows read at a time.
const BATCH: i64 = 2000;
/// Rows read for one delivery, at most (more are there: the next delivery follows at once).
const DELIVERY_ROWS: usize = 50_000;
/// How long connecting the listener may take before it is tried afresh.
const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// The PostgreSQL channel the triggers notify.
pub const CHANNEL: &str = "forestall_changes";

impl Changes {
    /// The hub for `store`, with its follower running on the current runtime until [`Changes::close`].
    pub fn start(store: &Store) -> Self {
        let changes = Changes::default();
        let follower = changes.clone();
        let store = store.clone();
        tokio::spawn(async move {
            match store.backend() {
                Backend::Sqlite => follow_log(&store, &follower).await,
                Backend::Postgres => listen(&store, &follower).await,
            }
        });
        changes
    }
}

impl Store {
    /// Changes recorded after `after`, oldest first.
    async fn changes_after(&self, after: i64) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
        sqlx::query_as("SELECT id, kind, number FROM change_log WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(BATCH)
            .fetch_all(self.pool())
            .await
    }

    async fn last_change(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM change_log")
            .fetch_one(self.pool())
            .await
    }
}

async fn follow_log(store: &Store, changes: &Changes) {
    let mut cursor = loop {
        match store.last_change().await {
            Ok(last) => break last,
            Err(error) => {
                tracing::warn!(%error, "live updates: could not read the change log; trying again");
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = changes.closed() => return,
                }
            }
        }
    };
    let mut more = false;
    let mut last_delivery: Option<tokio::time::Instant> = None;
    loop {
        if !more {
            tokio::select! {
                () = store.committed() => {}
                () = tokio::time::sleep(POLL) => {}
                () = changes.closed() => return,
            }
            // Within the window of the last delivery: let the burst gather in the log.
            if let Some(last) = last_delivery {
                tokio::select! {
                    () = tokio::time::sleep_until(last + WINDOW) => {}
                    () = changes.closed() => return,
                }
            }
        }
        let mut read = Vec::new();
        let mut rows_read = 0;
        let mut pruned = false;
        more = loop {
            let rows = match store.changes_after(cursor).await {
                Ok(rows) => rows,
                Err(error) => {
                    tracing::warn!(%error, "live updates: could not read the change log");
                    break false;
                }
            };
            let full = rows.len() as i64 == BATCH;
            if rows.first().is_some_and(|(id, ..)| *id != cursor + 1) {
                pruned = true;
            }
            rows_read += rows.len();
            for (id, kind, number) in rows {
                cursor = id;
                match RecordKind::parse(&kind) {
                    Some(kind) => read.push(Change { kind, number }),
                    None => tracing::warn!(kind, "live updates: unknown kind in the change log"),
                }
            }
            if !full || rows_read >= DELIVERY_ROWS {
                break full;
            }
        };
        if rows_read > 0 {
            last_delivery = Some(tokio::time::Instant::now());
        }
        if pruned {
            tracing::warn!("live updates: fell behind the change log's pruning; pages resync");
            changes.resync_all();
        }
        changes.deliver_all(read);
    }
}

async fn listen(store: &Store, changes: &Changes) {
    let mut connected_before = false;
    loop {
        // Bounded: sqlx's listener pool waits up to 30 s for a connection, and one made while PostgreSQL was
        // shutting down (a restart) was seen never to deliver anything; a fresh try is cheap.
        let listener = tokio::time::timeout(CONNECT_WAIT, async {
            let mut listener = sqlx::postgres::PgListener::connect(store.url()).await?;
            // A dropped connection is answered `Ok(None)` at once and this loop connects a fresh listener itself,
            // rather than sqlx reconnecting inside `try_recv`: that reconnection, made while PostgreSQL was stopping
            // for a restart, left the follower waiting on a connection that never said anything again.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        });
        let mut listener = tokio::select! {
            listener = listener => match listener.unwrap_or(Err(sqlx::Error::PoolTimedOut)) {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "live updates: could not listen for changes; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        () = changes.closed() => return,
                    }
                }
            },
            () = changes.closed() => return,
        };
        if connected_before {
            changes.resync_all();
        }
        connected_before = true;
        // Heard but not yet delivered, and when they go out (see WINDOW).
        let mut heard: Vec<Change> = Vec::new();
        let mut flush_at: Option<tokio::time::Instant> = None;
        let mut last_delivery = tokio::time::Instant::now() - WINDOW;
        loop {
            let notification = tokio::select! {
                notification = listener.try_recv() => notification,
                () = async { tokio::time::sleep_until(flush_at.unwrap_or_else(tokio::time::Instant::now)).await },
                    if flush_at.is_some() =>
                {
                    changes.deliver_all(std::mem::take(&mut heard));
                    (flush_at, last_delivery) = (None, tokio::time::Instant::now());
                    continue;
                }
                () = changes.closed() => return,
            };
            match notification {
                // This one, and every other already received.
                Ok(Some(first)) => {
                    let read: Vec<Change> = std::iter::once(first)
                        .chain(std::iter::from_fn(|| listener.next_buffered()))
                        .filter_map(|notification| {
                            let payload = notification.payload();
                            let change = payload.split_once(' ').and_then(|(kind, n)| {
                                Some(Change {
                                    kind: RecordKind::parse(kind)?,
                                    number: n.to_owned(),
                                })
                            });
                            if change.is_none() {
                                tracing::warn!(payload, "live updates: unknown notification");
                            }
                            change
                        })
                        .collect();
                    heard.extend(read);
                    let now = tokio::time::Instant::now();
                    if now >= last_delivery + WINDOW {
                        changes.deliver_all(std::mem::take(&mut heard));
                        last_delivery = now;
                    } else {
                        flush_at.get_or_insert(last_delivery + WINDOW);
                    }
                }
                // The connection dropped: what was notified meanwhile is lost, so pages resync once a fresh listener
                // is connected.
                Ok(None) => {
                    tracing::warn!("live updates: the listening connection dropped; reconnecting");
                    changes.deliver_all(std::mem::take(&mut heard));
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "live updates: listening failed; reconnecting");
                    break;
                }
            }
        }
    }
}
