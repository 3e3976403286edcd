//! Every query Forestall runs goes through [`Store`]; the feature modules add their queries to it in their own
//! `server.rs`. Components and server functions never see SQL or a pool. The store runs on SQLite or PostgreSQL
//! through sqlx's `Any` driver, with one set of queries both understand and one set of migrations for each.

pub mod backup;
pub(crate) mod clock;

use crate::domain::{Number, Prefix};
use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    AnyConnection, AnyPool, Connection, Executor, Transaction,
};
use std::{str::FromStr, sync::Arc};

/// Names the database kinds in URLs that Forestall accepts, for messages.
pub const SUPPORTED_URLS: &str =
    "sqlite://PATH (SQLite file, created if missing), sqlite::memory:, or postgres://USER@HOST:PORT/DATABASE";

/// Which database is behind the store. Queries are written for both; the few places that differ ask this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The current UTC time as `2026-11-26 21:30:05`, bound as a parameter wherever a row is stamped (never written
/// into the statement's text): timestamps are stored as UTC text that sorts as it reads, the same on both databases.
pub(crate) fn now_text() -> String {
    clock::utc_text(clock::now_secs())
}

/// `$1, $2, …` for `count` parameters.
pub(crate) fn placeholders(count: usize) -> String {
    (1..=count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// `%text%` for `LIKE … ESCAPE '\'`, with LIKE's own wildcards in the text taken literally.
pub(crate) fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The database behind Forestall.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// What the store was opened with, for connections outside the pool (PostgreSQL's listener for live updates).
    url: Arc<str>,
    /// Told after every write transaction commits, so whoever follows the database's changes (live updates) reads
    /// them at once rather than at its next poll.
    commits: Arc<tokio::sync::Notify>,
    /// SQLite's writers queue here, in order (see [`Store::begin_write`]).
    write_gate: Arc<tokio::sync::Mutex<()>>,
    /// What features keep beside the database (the impact graph as last read, API tokens checked lately).
    caches: Arc<Caches>,
}

impl Store {
    /// The store, inside a server function or a page rendered on the server: the router puts it into every
    /// request's context (`AppState::provide_parts`).
    pub fn from_context() -> Result<Store, crate::AppError> {
        leptos::prelude::use_context::<Store>().ok_or_else(|| {
            tracing::error!("the store is missing from the request's context");
            crate::AppError::Internal
        })
    }
}

/// One value per type, made on first use: each feature's cache, held by the store without the store knowing it, so
/// that the store stays below every feature and each store opened (a test may open two on one database) has its own.
#[derive(Default)]
struct Caches(std::sync::Mutex<std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>>);

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Caches")
    }
}

impl Store {
    /// This store's cache of type `T`, made the first time it is asked for.
    pub(crate) fn cache<T: std::any::Any + Default + Send + Sync>(&self) -> Arc<T> {
        let mut caches = self.caches.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let cache = caches
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        Arc::clone(cache)
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("a cache is kept under its own type"))
    }
}

/// A write transaction; on SQLite it holds the store's write gate until it ends. It derefs to the connection, as a
/// `Transaction` does. `'c` is `'static` on a pooled connection and the connection's borrow on one held apart
/// ([`Store::begin_write_on`]).
pub(crate) struct WriteTx<'c> {
    tx: Transaction<'c, sqlx::Any>,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    commits: Arc<tokio::sync::Notify>,
}

impl WriteTx<'_> {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await?;
        self.commits.notify_one();
        Ok(())
    }

    #[cfg(test)]
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("DATABASE_URL “{0}” is not supported: use {SUPPORTED_URLS}")]
    Unsupported(String),
    #[error(
        "the SQLite database's directory {0} does not exist: create it, or set DATABASE_URL (--database-url) to a file in a directory that does"
    )]
    NoDirectory(std::path::PathBuf),
    #[error(
        "cannot reach PostgreSQL at {at}: {reason}. Check that it is running and that DATABASE_URL (--database-url) names it"
    )]
    Unreachable { at: String, reason: String },
    #[error("PostgreSQL at {at} refused the connection: {reason}. Check the user, password and database in DATABASE_URL (--database-url)")]
    Refused { at: String, reason: String },
    #[error("could not open the database: {0}")]
    Connect(#[from] sqlx::Error),
    #[error("could not bring the database schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// SQLite's `synchronous`: when a commit waits for the disk (see the README, "Crashes and power cuts").
/// FULL by default: measured on the ingestion benchmark it costs a fifth of the single-event rate and nothing
/// batched (BENCHMARKS.md), and with it nothing acknowledged is lost to a power cut either.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// In WAL mode, a commit is safe from a process crash at once and from a power cut once the log is checkpointed:
    /// the last commits before a power cut may be lost, never half of one.
    Normal,
    /// Every commit waits for the disk: safe from a power cut too.
    #[default]
    Full,
}

impl Synchronous {
    fn pragmas(self) -> &'static str {
        match self {
            Synchronous::Normal => {
                "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"
            }
            Synchronous::Full => "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
        }
    }
}

/// `url` without Forestall's own `synchronous=normal|full` parameter, and the setting it chose.
fn synchronous_of(url: &str) -> Result<(String, Synchronous), OpenError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), Synchronous::default()));
    };
    let mut chosen = Synchronous::default();
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("synchronous", value)) => {
                chosen = match value.to_ascii_lowercase().as_str() {
                    "normal" => Synchronous::Normal,
                    "full" => Synchronous::Full,
                    _ => return Err(OpenError::Unsupported(format!("{url} (synchronous is normal or full)"))),
                }
            }
            _ => kept.push(pair),
        }
    }
    Ok(match kept.is_empty() {
        true => (base.to_owned(), chosen),
        false => (format!("{base}?{}", kept.join("&")), chosen),
    })
}

/// The file of the SQLite database `url` names; `None` for PostgreSQL and in memory.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    if rest.contains(":memory:") || rest.contains("mode=memory") {
        return None;
    }
    let path = rest.trim_start_matches("//").split('?').next().unwrap_or_default();
    (!path.is_empty()).then(|| path.into())
}

/// How long opening a PostgreSQL database waits for its first connection.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `postgres://user:secret@host:5432/db` as `host:5432/db`: where, without who.
fn without_credentials(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.rsplit_once('@').map_or(rest, |(_, at)| at).to_owned()
}

impl Store {
    /// Opens (creating a SQLite file if needed) the database at `url` and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        sqlx::any::install_default_drivers();
        let (url, synchronous) = synchronous_of(url)?;
        let url = url.as_str();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let in_memory = rest.contains(":memory:") || rest.contains("mode=memory");
            let url = match (in_memory, rest.contains("mode=")) {
                (false, false) => format!("sqlite:{rest}{}mode=rwc", if rest.contains('?') { '&' } else { '?' }),
                _ => url.to_owned(),
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(OpenError::Unsupported(url.to_owned()));
        };
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if let Some(path) = sqlite_path(&url) {
            if let Some(directory) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
                return Err(OpenError::NoDirectory(directory.to_owned()));
            }
        }
        let options = AnyConnectOptions::from_str(&url)?;
        if backend == Backend::Postgres {
            // One connection first, so what is wrong is said plainly (the pool would only say it timed out).
            let probe = tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect_with(&options)).await;
            let at = without_credentials(&url);
            match probe {
                Ok(Ok(connection)) => {
                    let _ = connection.close().await;
                }
                Ok(Err(sqlx::Error::Database(error))) => {
                    let reason = error.message().to_owned();
                    return Err(OpenError::Refused { at, reason });
                }
                Ok(Err(error)) => {
                    let reason = error.to_string();
                    return Err(OpenError::Unreachable { at, reason });
                }
                Err(_) => {
                    let reason = format!("no answer within {} s", CONNECT_TIMEOUT.as_secs());
                    return Err(OpenError::Unreachable { at, reason });
                }
            }
        }
        let pool = AnyPoolOptions::new()
            // One in-memory SQLite database lives in one connection; a file is shared by several; a server by more,
            // since PostgreSQL's event writers (see `ingest::batcher`) each hold one while requests read beside them.
            .max_connections(match (in_memory, backend) {
                (true, _) => 1,
                (false, Backend::Sqlite) => 8,
                (false, Backend::Postgres) => 16,
            })
            .min_connections(1)
            // A database that is away answers requests with 503 within seconds, never a hang.
            .acquire_timeout(match backend {
                Backend::Sqlite => std::time::Duration::from_secs(30),
                Backend::Postgres => std::time::Duration::from_secs(5),
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Writers queue behind each other (up to 10 s) instead of failing; foreign keys are enforced.
                        conn.execute(synchronous.pragmas()).await?;
                    }
                    Ok(())
                })
            })
            // A transaction SQLite ended by itself (a full disk rolls it back) makes sqlx's own rollback fail, and
            // sqlx then counts the connection as still inside it: every later BEGIN on it would fail, long after
            // space is freed. Once its queued rollback has run (the ping waits for it), such a connection is closed.
            .after_release(|conn, _| {
                Box::pin(async move {
                    if !conn.is_in_transaction() {
                        return Ok(true);
                    }
                    conn.ping().await?;
                    let clean = !conn.is_in_transaction();
                    if !clean {
                        tracing::warn!("a connection left inside a transaction that had ended: closed");
                    }
                    Ok(clean)
                })
            })
            .connect_with(options)
            .await?;
        match backend {
            Backend::Sqlite => {
                if !in_memory {
                    pool.execute("PRAGMA journal_mode = WAL").await?;
                }
                sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            }
            Backend::Postgres => sqlx::migrate!("../migrations/postgres").run(&pool).await?,
        }
        Ok(Self {
            pool,
            backend,
            url: url.into(),
            commits: Arc::default(),
            write_gate: Arc::default(),
            caches: Arc::default(),
        })
    }

    /// The pool's connections, open and idle, for `/metrics`.
    pub fn pool_use(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// What a `SELECT` that is about to change the rows it reads ends with: ` FOR UPDATE` on PostgreSQL, so a
    /// concurrent writer of those rows waits for this transaction (and then reads what it wrote); nothing on SQLite,
    /// whose write transactions take the whole database's lock at `BEGIN IMMEDIATE`.
    pub(crate) fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Resolves after the next write transaction of this store commits (or at once if one committed since the last
    /// call: a commit is never missed between two calls).
    pub(crate) async fn committed(&self) {
        self.commits.notified().await;
    }

    /// Starts a transaction that writes. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so two
    /// writers queue instead of both reading the same state and one failing when it upgrades to a write; and before
    /// that it passes the store's write gate, so writers of this process wait their turn in order rather than each
    /// holding a connection and sleeping in SQLite's busy handler, whose growing back-off made the slowest requests
    /// wait many times longer than the rest. On PostgreSQL, rows are locked as they are written and unique indexes
    /// settle races.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx<'static>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let gate = Arc::clone(&self.write_gate).lock_owned().await;
                Ok(WriteTx {
                    tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                    _gate: Some(gate),
                    commits: Arc::clone(&self.commits),
                })
            }
            Backend::Postgres => Ok(WriteTx {
                tx: self.pool.begin().await?,
                _gate: None,
                commits: Arc::clone(&self.commits),
            }),
        }
    }

    /// [`Store::begin_write`] on a connection held apart from the pool ([`Store::connection_apart`]): the same
    /// gate, the same immediate lock on SQLite.
    pub(crate) async fn begin_write_on<'c>(&self, conn: &'c mut AnyConnection) -> Result<WriteTx<'c>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let gate = Arc::clone(&self.write_gate).lock_owned().await;
                Ok(WriteTx {
                    tx: conn.begin_with("BEGIN IMMEDIATE").await?,
                    _gate: Some(gate),
                    commits: Arc::clone(&self.commits),
                })
            }
            Backend::Postgres => Ok(WriteTx {
                tx: conn.begin().await?,
                _gate: None,
                commits: Arc::clone(&self.commits),
            }),
        }
    }

    /// A connection to this database, set up as the pool's are, that is not returned to the pool: for work that
    /// changes a connection's state for good (`ATTACH`, which SQLite refuses inside a transaction), so that no
    /// other query is ever run on it. Close it when done.
    pub(crate) async fn connection_apart(&self) -> Result<AnyConnection, sqlx::Error> {
        Ok(self.pool.acquire().await?.detach())
    }

    /// The file of a SQLite database, as SQLite names it; `None` in memory and on PostgreSQL.
    pub(crate) async fn sqlite_file(&self) -> Result<Option<std::path::PathBuf>, sqlx::Error> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let file: String = sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&self.pool)
            .await?;
        Ok((!file.is_empty()).then(|| file.into()))
    }

    /// Refreshes PostgreSQL's planner statistics after a bulk change. SQLite is left without statistics: with
    /// them (`ANALYZE`) it chose a plan for the trace that was 200 times slower on a 100k CMDB.
    pub async fn analyze(&self) -> Result<(), sqlx::Error> {
        match self.backend {
            Backend::Sqlite => Ok(()),
            Backend::Postgres => sqlx::query(
                "ANALYZE configuration_items, ci_relationships, install_base_items, accounts, contacts, products",
            )
            .execute(&self.pool)
            .await
            .map(drop),
        }
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

/// Records that the CMDB changed, inside the changing transaction: snapshots taken before are stale from then on.
pub(crate) async fn cmdb_changed(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cmdb_state SET version = version + 1, changed_at = $1 WHERE id = 1")
        .bind(now_text())
        .execute(conn)
        .await
        .map(drop)
}

/// Allocates the next number for `P` inside the caller's transaction: if the transaction rolls back, so does the
/// allocation; once it commits, the number is never handed out again.
pub(crate) async fn next_number<P: Prefix>(tx: &mut AnyConnection) -> Result<Number<P>, sqlx::Error> {
    let seq: i64 =
        sqlx::query_scalar("UPDATE number_counters SET next = next + 1 WHERE prefix = $1 RETURNING next - 1")
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

/// A unique constraint or index, as each database names it when a write violates it: PostgreSQL by the
/// constraint's (or index's) name, SQLite by `table.column` in its message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UniqueKey {
    pub postgres: &'static str,
    pub sqlite: &'static str,
}

/// One proactive (parent) case per alert.
pub(crate) const ONE_PROACTIVE_CASE_PER_ALERT: UniqueKey = UniqueKey {
    postgres: "cases_one_proactive_per_alert",
    sqlite: "cases.alert_id",
};
/// One incident per alert.
pub(crate) const ONE_INCIDENT_PER_ALERT: UniqueKey = UniqueKey {
    postgres: "incidents_alert_id_key",
    sqlite: "incidents.alert_id",
};
/// API token names, case-insensitively.
pub(crate) const TOKEN_NAME: UniqueKey = UniqueKey {
    postgres: "api_tokens_name",
    sqlite: "api_tokens.name",
};

/// Whether `error` is a violation of `key` in particular: a duplicate of anything else (a record number, say) is
/// not what the caller's message would say it is.
pub(crate) fn violates(error: &sqlx::Error, key: UniqueKey) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    if db.kind() != sqlx::error::ErrorKind::UniqueViolation {
        return false;
    }
    match db.constraint() {
        Some(name) => name == key.postgres,
        None => db
            .message()
            .strip_prefix("UNIQUE constraint failed: ")
            .is_some_and(|columns| columns == key.sqlite),
    }
}

/// Whether `error` is a violation of any unique constraint or index (for retrying a write that lost a race).
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// The SHA-256 of `secret` in hex: how secrets that only their holder should know (API tokens, session ids) are
/// kept, so the database alone cannot be used to act as their holder.
pub(crate) fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{AlertPrefix, CasePrefix};

    pub async fn memory_store() -> Store {
        Store::open("sqlite::memory:").await.expect("in-memory store")
    }

    #[tokio::test]
    async fn sqlite_commits_wait_for_the_disk_unless_the_url_says_normal() {
        let folder = std::env::temp_dir().join(format!("forestall-sync-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        for (query, expected) in [("", 2_i64), ("?synchronous=normal", 1), ("?synchronous=FULL", 2)] {
            let url = format!("sqlite://{}{query}", folder.join("sync.db").display());
            let store = Store::open(&url).await.expect("open");
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(store.pool())
                .await
                .expect("pragma");
            assert_eq!(level, expected, "{url}: 1 is NORMAL, 2 FULL");
            store.close().await;
        }
        let refused = Store::open(&format!(
            "sqlite://{}?synchronous=off",
            folder.join("sync.db").display()
        ))
        .await;
        assert!(
            matches!(refused, Err(OpenError::Unsupported(_))),
            "{:?}",
            refused.map(|_| ())
        );
        let _ = std::fs::remove_dir_all(&folder);
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

    #[tokio::test]
    async fn a_violation_is_read_by_the_key_it_broke_not_by_any_duplicate() {
        let store = memory_store().await;
        let insert = |name: &'static str, hash: char| {
            let store = store.clone();
            async move {
                sqlx::query(
                    "INSERT INTO api_tokens (name, token_hash, created_by, created_at) VALUES ($1, $2, 'test', $3)",
                )
                .bind(name)
                .bind(hash.to_string().repeat(64))
                .bind(now_text())
                .execute(store.pool())
                .await
            }
        };
        insert("first", 'a').await.expect("first");
        let same_name = insert("FIRST", 'b').await.expect_err("same name");
        assert!(violates(&same_name, TOKEN_NAME), "{same_name}");
        assert!(!violates(&same_name, ONE_INCIDENT_PER_ALERT));
        let same_hash = insert("second", 'a').await.expect_err("same hash");
        assert!(
            is_unique_violation(&same_hash) && !violates(&same_hash, TOKEN_NAME),
            "{same_hash}"
        );
    }

    #[test]
    fn like_wildcards_in_search_text_are_literal() {
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn now_is_utc_text_that_sorts_as_it_reads() {
        let now = now_text();
        assert_eq!(now.len(), 19, "{now}");
        assert!(
            now.as_str() > "2026-01-01 00:00:00" && now.as_str() < "2100-01-01 00:00:00",
            "{now}"
        );
        assert_eq!(&now[4..5], "-");
        assert_eq!(&now[10..11], " ");
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
    async fn unknown_database_urls_are_refused_with_the_supported_ones() {
        let error = Store::open("mysql://localhost/forestall")
            .await
            .expect_err("unsupported");
        assert!(matches!(error, OpenError::Unsupported(_)));
    }
}
