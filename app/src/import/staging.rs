//! On a SQLite file, the import runs beside the database rather than in it, so that the service keeps writing.
//!
//! SQLite has one writer at a time, and an import is one transaction (all or nothing) that takes minutes for a large
//! CMDB: the running server's sign-ins and case notes waited behind it and failed after their 10 s busy timeout, and
//! its events (retried) waited for the whole import. So an import
//! 1. copies the CMDB's tables into a staging database next to the main one (`forestall.db-import`): a read of the
//!    main database, which in WAL mode holds up no writer;
//! 2. imports the files into the staging database, row by row in one transaction, as it would into the main one,
//!    locking only the staging file: the long part;
//! 3. writes into the main database, in one short transaction, the rows the import inserted or changed (triggers in
//!    the staging database note their ids), by id, parents before children; moves the item number counter on and
//!    marks the CMDB changed.
//!
//! A failure at any step leaves the main database as it was; the staging files are removed either way (and a killed
//! import's by the next one). Only the CMDB's tables are written back, so what the service wrote meanwhile (alerts,
//! cases, their numbers, sessions) stays. The CMDB itself must not change meanwhile (by another process's demo data,
//! or an administrator's SQL), since the merge would write over that change: it refuses instead, and nothing is
//! imported. Nor do two imports overlap: the second is refused while the first holds `forestall.db-import.lock`.

use super::{advance_item_counter, ImportError, ImportReport, Progress};
use crate::store::{cmdb_changed, Store};
use sqlx::{AnyConnection, AssertSqlSafe, Connection};
use std::{
    fs::{File, OpenOptions, TryLockError},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    time::Instant,
};

/// The CMDB's tables, each after the tables its rows refer to (an account's primary contact, the one reference
/// back, is checked at commit).
const CMDB_TABLES: [&str; 7] = [
    "accounts",
    "contacts",
    "products",
    "configuration_items",
    "relationship_types",
    "ci_relationships",
    "install_base_items",
];

/// The tables an import writes, in the same order: relationship types are copied for the import to look up, never
/// written back.
const WRITTEN: [&str; 6] = [
    "accounts",
    "contacts",
    "products",
    "configuration_items",
    "ci_relationships",
    "install_base_items",
];

/// The most changed rows an import records in `cmdb_changes` for held impact graphs to apply; a larger one makes
/// them read whole, which costs less than applying it would.
const RECORDED_ROWS: i64 = 5_000;

/// The CMDB tables whose changes no trigger counts in `cmdb_state.version`; a copy of each is kept as it was, to
/// tell at the merge whether something else changed it meanwhile.
const UNCOUNTED: [&str; 3] = ["accounts", "contacts", "products"];

impl Store {
    /// Imports `present`, files of `dir`, into the SQLite file `main` (this store's) through a staging database.
    pub(super) async fn import_staged(
        &self,
        main: &Path,
        dir: &Path,
        present: &[&'static str],
        progress: &mut impl FnMut(Progress),
    ) -> Result<ImportReport, ImportError> {
        let _lock = ImportLock::take(beside(main, "-import.lock"))?;
        let staging = beside(main, "-import");
        remove_database(&staging).map_err(|reason| staging_error(&staging, reason))?;
        let imported = self.import_beside(&staging, dir, present, progress).await;
        if let Err(reason) = remove_database(&staging) {
            // The import's outcome stands; the next import removes what is left.
            tracing::warn!(path = %staging.display(), reason, "could not remove the staging database");
        }
        imported
    }

    /// Steps 1 to 3, on a staging database made at `staging`; every connection to it is closed on return, so that
    /// its files can be removed.
    async fn import_beside(
        &self,
        staging: &Path,
        dir: &Path,
        present: &[&'static str],
        progress: &mut impl FnMut(Progress),
    ) -> Result<ImportReport, ImportError> {
        let staging_store = Store::open(&format!("sqlite://{}", staging.display()))
            .await
            .map_err(|error| staging_error(staging, error.to_string()))?;
        let imported = match self.connection_apart().await {
            Ok(mut both) => {
                let imported = self
                    .stage_and_merge(&mut both, &staging_store, staging, dir, present, progress)
                    .await;
                if let Err(error) = both.close().await {
                    tracing::warn!(%error, "could not close the connection that merged the import");
                }
                imported
            }
            Err(error) => Err(error.into()),
        };
        staging_store.close().await;
        imported
    }

    /// Steps 1 to 3 on `both`, a connection to this database that is to see the staging database as `staging`.
    async fn stage_and_merge(
        &self,
        both: &mut AnyConnection,
        staging_store: &Store,
        staging: &Path,
        dir: &Path,
        present: &[&'static str],
        progress: &mut impl FnMut(Progress),
    ) -> Result<ImportReport, ImportError> {
        sqlx::query("ATTACH DATABASE $1 AS staging")
            .bind(staging.to_string_lossy().into_owned())
            .execute(&mut *both)
            .await?;
        progress(Progress::Copying);
        let copied = copy_cmdb(both).await?;
        let mut report = staging_store.import_in_one_transaction(dir, present, progress).await?;
        // Its connections would otherwise sit on the staging file while the merge locks it.
        staging_store.close().await;
        if report.changed() > 0 {
            progress(Progress::Merging);
            let started = Instant::now();
            self.merge(both, copied).await?;
            report.merge = Some(started.elapsed());
        }
        Ok(report)
    }

    /// Step 3: writes the staging database's changed rows into the main database, in one write transaction.
    async fn merge(&self, both: &mut AnyConnection, copied: Copied) -> Result<(), ImportError> {
        let mut tx = self.begin_write_on(both).await?;
        let version: i64 = sqlx::query_scalar("SELECT version FROM main.cmdb_state WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        if version != copied.version {
            return Err(ImportError::ChangedMeanwhile);
        }
        for table in UNCOUNTED {
            // Both ways, so that a row added, removed or changed counts, and under either side's collations.
            let (main, before) = (
                format!("SELECT * FROM main.{table}"),
                format!("SELECT * FROM staging.copied_{table}"),
            );
            let differing: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT (SELECT count(*) FROM ({main} EXCEPT {before})) + (SELECT count(*) FROM ({before} EXCEPT {main}))"
            )))
            .fetch_one(&mut *tx)
            .await?;
            if differing > 0 {
                return Err(ImportError::ChangedMeanwhile);
            }
        }
        // A large import is not recorded change by change (on SQLite each row would be a row of the record,
        // doubling the time other writers wait): graphs held before it read whole.
        let changed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staging.changed")
            .fetch_one(&mut *tx)
            .await?;
        let recorded = changed <= RECORDED_ROWS;
        if !recorded {
            sqlx::query("UPDATE main.cmdb_state SET recording = 0 WHERE id = 1")
                .execute(&mut *tx)
                .await?;
        }
        for table in WRITTEN {
            let columns = columns(&mut tx, table).await?;
            let list = columns.join(", ");
            let set = columns
                .iter()
                .filter(|c| c.as_str() != "\"id\"")
                .map(|c| format!("{c} = excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO main.{table} ({list})
                 SELECT {list} FROM staging.{table} WHERE id IN (SELECT id FROM staging.changed WHERE tbl = $1)
                 ON CONFLICT (id) DO UPDATE SET {set}"
            )))
            .bind(table)
            .execute(&mut *tx)
            .await?;
        }
        advance_item_counter(&mut tx).await?;
        cmdb_changed(&mut tx).await?;
        if !recorded {
            sqlx::query("UPDATE main.cmdb_state SET recording = 1, changes_since = version WHERE id = 1")
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// What the main database's CMDB was when it was copied.
struct Copied {
    version: i64,
}

/// Step 1: copies the CMDB's tables from the main database into the staging one, in one transaction, so every
/// table is read as it was at one moment.
async fn copy_cmdb(both: &mut AnyConnection) -> Result<Copied, sqlx::Error> {
    let mut tx = both.begin().await?;
    let version = sqlx::query_scalar("SELECT version FROM main.cmdb_state WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?;
    // The staging database's own rows (its migrations' relationship types) make way for the main's.
    for table in CMDB_TABLES.into_iter().rev() {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM staging.{table}")))
            .execute(&mut *tx)
            .await?;
    }
    for table in CMDB_TABLES {
        let columns = columns(&mut tx, table).await?.join(", ");
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO staging.{table} ({columns}) SELECT {columns} FROM main.{table}"
        )))
        .execute(&mut *tx)
        .await?;
    }
    for table in UNCOUNTED {
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE staging.copied_{table} AS SELECT * FROM main.{table}"
        )))
        .execute(&mut *tx)
        .await?;
    }
    // From here on the staging database notes every row the import writes, for the merge to write those alone: a
    // merge that compared whole tables would take as long for one changed row as for a new CMDB.
    sqlx::query("CREATE TABLE staging.changed (tbl TEXT NOT NULL, id INTEGER NOT NULL)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("CREATE INDEX staging.changed_by_table ON changed (tbl, id)")
        .execute(&mut *tx)
        .await?;
    for table in WRITTEN {
        for event in ["INSERT", "UPDATE"] {
            sqlx::query(AssertSqlSafe(format!(
                "CREATE TRIGGER staging.{table}_staged_{event} AFTER {event} ON {table} BEGIN
                     INSERT INTO changed (tbl, id) VALUES ('{table}', NEW.id);
                 END"
            )))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Copied { version })
}

/// The columns of the main database's `table`, quoted, in their order. Read from the schema rather than listed here,
/// so that a column added by a later migration is copied and merged with the rest.
async fn columns(conn: &mut AnyConnection, table: &str) -> Result<Vec<String>, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1, 'main') ORDER BY cid")
        .bind(table)
        .fetch_all(conn)
        .await?;
    Ok(names.into_iter().map(|name| format!("\"{name}\"")).collect())
}

/// The lock that an import holds beside its database while it runs: an advisory lock on a file, which the system
/// releases when the process ends, however it ends.
struct ImportLock {
    path: PathBuf,
    _file: File,
}

impl ImportLock {
    fn take(path: PathBuf) -> Result<Self, ImportError> {
        let error = |reason: std::io::Error| staging_error(&path, reason.to_string());
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(error)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Err(ImportError::AlreadyRunning),
                Err(TryLockError::Error(reason)) => return Err(error(reason)),
            }
            // The import before may have removed the file between its opening and its locking here; that lock is
            // on a file nobody else finds, so take the one at `path` instead.
            let locked = file.metadata().map_err(error)?;
            match std::fs::metadata(&path) {
                Ok(found) if (found.dev(), found.ino()) == (locked.dev(), locked.ino()) => {
                    return Ok(Self { path, _file: file })
                }
                Ok(_) => {}
                Err(reason) if reason.kind() == std::io::ErrorKind::NotFound => {}
                Err(reason) => return Err(error(reason)),
            }
        }
    }
}

impl Drop for ImportLock {
    fn drop(&mut self) {
        // Removed while still locked (the file closes after this), so a waiting import finds it gone and makes its
        // own.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `forestall.db` with `suffix`: `forestall.db-import`.
fn beside(main: &Path, suffix: &str) -> PathBuf {
    let mut name = main.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// Removes the SQLite database at `path` with its journals, if it is there.
fn remove_database(path: &Path) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        match std::fs::remove_file(beside(path, suffix)) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(())
}

fn staging_error(path: &Path, reason: String) -> ImportError {
    ImportError::Staging {
        path: path.to_owned(),
        reason,
    }
}
