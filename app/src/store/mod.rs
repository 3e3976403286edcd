//! Every query Forestall runs goes through [`Store`]; the feature modules add their queries to it in their own
//! `server.rs`. Components and server functions never see SQL or a pool, so a PostgreSQL store can be put beside this
//! one without touching them.

pub(crate) mod demo;

use crate::domain::{Number, Prefix};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqliteConnection, SqlitePool, Transaction,
};
use std::{str::FromStr, time::Duration};

pub use demo::{DemoSummary, DEMO_USERS};

/// Names the database kind in URLs that Forestall accepts, for messages.
pub const SUPPORTED_URLS: &str = "sqlite://PATH (SQLite file, created if missing) or sqlite::memory:";

/// Timestamps are stored as UTC text that sorts as it reads: `2026-11-26 21:30:05`.
pub(crate) const NOW_SQL: &str = "strftime('%Y-%m-%d %H:%M:%S', 'now')";

/// The database behind Forestall.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("DATABASE_URL “{0}” is not supported: use {SUPPORTED_URLS}")]
    Unsupported(String),
    #[error("could not open the database: {0}")]
    Connect(#[from] sqlx::Error),
    #[error("could not bring the database schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        if !url.starts_with("sqlite:") {
            return Err(OpenError::Unsupported(url.to_owned()));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Writers queue behind each other instead of failing: a transaction waits up to this long for the lock.
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = SqlitePoolOptions::new()
            // One in-memory database lives in one connection; a file is shared by several.
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(1)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a transaction that writes. It takes SQLite's write lock at once (`BEGIN IMMEDIATE`), so two writers
    /// queue instead of both reading the same state and one failing when it upgrades to a write.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(drop)
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Allocates the next number for `P` inside the caller's transaction: if the transaction rolls back, so does the
/// allocation; once it commits, the number is never handed out again.
pub(crate) async fn next_number<P: Prefix>(tx: &mut SqliteConnection) -> Result<Number<P>, sqlx::Error> {
    let seq: i64 =
        sqlx::query_scalar("UPDATE number_counters SET next = next + 1 WHERE prefix = ?1 RETURNING next - 1")
            .bind(P::PREFIX)
            .fetch_one(tx)
            .await?;
    let seq = u32::try_from(seq).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Number::from_seq(seq))
}

/// Which rows a page of a list shows, from the list's total and the page asked for (clamped to what exists).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub total: u64,
    pub page: u32,
    pub pages: u32,
    pub limit: i64,
    pub offset: i64,
}

impl Window {
    pub fn new(total: i64, page: u32, page_size: u32) -> Self {
        let total = u64::try_from(total).unwrap_or(0);
        let pages = u32::try_from(total.div_ceil(u64::from(page_size)))
            .unwrap_or(u32::MAX)
            .max(1);
        let page = page.clamp(1, pages);
        Self {
            total,
            page,
            pages,
            limit: i64::from(page_size),
            offset: i64::from(page - 1) * i64::from(page_size),
        }
    }
}

/// Whether `error` is a violation of a unique constraint or index.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{AlertPrefix, CasePrefix};

    pub async fn memory_store() -> Store {
        Store::open("sqlite::memory:").await.expect("in-memory store")
    }

    #[tokio::test]
    async fn numbers_are_monotonic_per_prefix_and_not_reused_after_commit() {
        let store = memory_store().await;
        let mut tx = store.begin_write().await.expect("tx");
        let first = next_number::<CasePrefix>(&mut tx).await.expect("number");
        let second = next_number::<CasePrefix>(&mut tx).await.expect("number");
        let alert = next_number::<AlertPrefix>(&mut tx).await.expect("number");
        tx.commit().await.expect("commit");
        assert_eq!(first.to_string(), "CS0010001");
        assert_eq!(second.to_string(), "CS0010002");
        assert_eq!(alert.to_string(), "Alert0010001");

        // A rolled-back allocation leaves the counter where the last commit put it.
        let mut tx = store.begin_write().await.expect("tx");
        let rolled_back = next_number::<CasePrefix>(&mut tx).await.expect("number");
        tx.rollback().await.expect("rollback");
        let mut tx = store.begin_write().await.expect("tx");
        let third = next_number::<CasePrefix>(&mut tx).await.expect("number");
        tx.commit().await.expect("commit");
        assert_eq!(rolled_back, third);
        assert_eq!(third.to_string(), "CS0010003");
    }

    #[test]
    fn windows_clamp_the_page_to_what_exists() {
        assert_eq!(
            Window::new(27, 2, 20),
            Window {
                total: 27,
                page: 2,
                pages: 2,
                limit: 20,
                offset: 20
            }
        );
        assert_eq!(Window::new(27, 9, 20).page, 2);
        assert_eq!(
            Window::new(0, 0, 20),
            Window {
                total: 0,
                page: 1,
                pages: 1,
                limit: 20,
                offset: 0
            }
        );
    }

    #[tokio::test]
    async fn only_sqlite_urls_are_accepted_for_now() {
        let error = Store::open("mysql://localhost/forestall")
            .await
            .expect_err("unsupported");
        assert!(matches!(error, OpenError::Unsupported(_)));
    }
}
