//! Backups of a SQLite database: `forestall backup PATH` copies it while it serves (`VACUUM INTO`, which reads one
//! consistent snapshot and holds up no writer), `forestall restore PATH` puts a copy back, but never under a server
//! that runs on it. PostgreSQL has its own tools (`pg_dump`, `pg_restore`; the README gives the commands).
//!
//! A serving process holds a shared lock on `DATABASE.serve-lock` for as long as it serves; a restore takes it
//! exclusively, so it refuses while any server runs and no server starts while it copies.

use super::{sqlite_path, Backend, Store};
use sqlx::{AnyConnection, Connection};
use std::{
    fs::{File, OpenOptions, TryLockError},
    path::{Path, PathBuf},
    time::Instant,
};

/// Why a backup or a restore did not happen; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backups of PostgreSQL are made with its own tools: pg_dump --format=custom --file=forestall.dump \"$DATABASE_URL\", \
         and restored with pg_restore --clean --if-exists --dbname=\"$DATABASE_URL\" forestall.dump (see the README)"
    )]
    Postgres,
    #[error("an in-memory database has nothing to back up or restore")]
    InMemory,
    #[error("{0} exists already: choose a new file for the backup, so that no earlier one is overwritten")]
    Exists(PathBuf),
    #[error("the backup's directory {0} does not exist: create it first")]
    NoDirectory(PathBuf),
    #[error("{0} is not a Forestall backup: {1}")]
    NotABackup(PathBuf, String),
    #[error("{0} comes from a newer Forestall (its schema has migration {1}, which this one does not know): restore it with that version")]
    Newer(PathBuf, i64),
    #[error("a Forestall server is running on {0}: stop it (every instance) before restoring, then start it again")]
    Serving(PathBuf),
    #[error("a restore of {0} is in progress: wait for it to finish")]
    Restoring(PathBuf),
    #[error("{0}")]
    Io(String),
    #[error("the database could not make the copy: {0}")]
    Database(#[from] sqlx::Error),
}

fn io(what: &str, path: &Path, error: &std::io::Error) -> BackupError {
    BackupError::Io(format!("could not {what} {}: {error}", path.display()))
}

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub seconds: f64,
}

/// The lock file beside a SQLite database.
fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".serve-lock");
    PathBuf::from(name)
}

fn open_lock(database: &Path) -> Result<File, BackupError> {
    let path = lock_path(database);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io("open", &path, &e))
}

/// Held while a process serves a SQLite database: a restore refuses while any is held.
#[derive(Debug)]
pub struct ServeLock(#[allow(dead_code)] File);

impl ServeLock {
    /// The shared lock for serving the database at `url` (`None` for PostgreSQL and in memory).
    pub fn acquire(url: &str) -> Result<Option<Self>, BackupError> {
        let Some(database) = sqlite_path(url) else {
            return Ok(None);
        };
        let file = open_lock(&database)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(Self(file))),
            Err(TryLockError::WouldBlock) => Err(BackupError::Restoring(database)),
            Err(TryLockError::Error(error)) => Err(io("lock", &lock_path(&database), &error)),
        }
    }
}

impl Store {
    /// Copies the database, as one consistent snapshot, to the new file `to`, while it serves.
    pub async fn backup_to(&self, to: &Path) -> Result<BackupReport, BackupError> {
        if self.backend == Backend::Postgres {
            return Err(BackupError::Postgres);
        }
        if self.sqlite_file().await?.is_none() {
            return Err(BackupError::InMemory);
        }
        if to.exists() {
            return Err(BackupError::Exists(to.to_owned()));
        }
        if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            return Err(BackupError::NoDirectory(dir.to_owned()));
        }
        let started = Instant::now();
        // Written beside it first, so a copy cut short (a full disk, a kill) is never taken for a backup.
        let mut partial = to.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let _ = std::fs::remove_file(&partial);
        let copied = sqlx::query("VACUUM INTO $1")
            .bind(partial.to_string_lossy().into_owned())
            .execute(self.pool())
            .await;
        if let Err(error) = copied {
            let _ = std::fs::remove_file(&partial);
            return Err(error.into());
        }
        std::fs::rename(&partial, to).map_err(|e| io("move the copy to", to, &e))?;
        let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
        Ok(BackupReport {
            path: to.to_owned(),
            bytes,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// Checks that `backup` is a whole SQLite database of a Forestall this binary can run.
async fn check_backup(backup: &Path) -> Result<(), BackupError> {
    let not = |why: String| BackupError::NotABackup(backup.to_owned(), why);
    if !backup.is_file() {
        return Err(not("there is no such file".into()));
    }
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", backup.display());
    let mut conn = AnyConnection::connect(&url).await.map_err(|e| not(e.to_string()))?;
    let integrity: Result<String, _> = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await;
    match integrity {
        Ok(ok) if ok == "ok" => {}
        Ok(problem) => return Err(not(format!("SQLite's integrity check says {problem}"))),
        Err(error) => return Err(not(error.to_string())),
    }
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(&mut conn)
        .await
        .map_err(|_| not("it has no Forestall schema".into()))?;
    let _ = conn.close().await;
    let known: Vec<i64> = sqlx::migrate!("../migrations/sqlite")
        .iter()
        .map(|m| m.version)
        .collect();
    if let Some(newer) = versions.iter().find(|v| !known.contains(v)) {
        return Err(BackupError::Newer(backup.to_owned(), *newer));
    }
    if !versions.iter().any(|v| known.contains(v)) {
        return Err(not("it has no Forestall schema".into()));
    }
    Ok(())
}

/// Puts `backup` in place of the SQLite database at `url`, refusing while a server runs on it. The database as it
/// was is kept beside it as `DATABASE.before-restore` until the next restore.
pub async fn restore(url: &str, backup: &Path) -> Result<PathBuf, BackupError> {
    if url.starts_with("postgres") {
        return Err(BackupError::Postgres);
    }
    let database = sqlite_path(url).ok_or(BackupError::InMemory)?;
    check_backup(backup).await?;
    let lock = open_lock(&database)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(BackupError::Serving(database)),
        Err(TryLockError::Error(error)) => return Err(io("lock", &lock_path(&database), &error)),
    }
    let with = |suffix: &str| {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let incoming = with(".restoring");
    std::fs::copy(backup, &incoming).map_err(|e| io("copy the backup to", &incoming, &e))?;
    File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("write", &incoming, &e))?;
    if database.exists() {
        let kept = with(".before-restore");
        std::fs::rename(&database, &kept).map_err(|e| io("set aside", &database, &e))?;
    }
    // The old database's log belongs to the old file: left, SQLite would replay it into the restored one.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with(suffix));
    }
    std::fs::rename(&incoming, &database).map_err(|e| io("put the backup in place at", &database, &e))?;
    drop(lock);
    Ok(database)
}
