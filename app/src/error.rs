//! The one error type of Forestall's server functions and API.
//!
//! Domain variants carry what a user may see; [`AppError::Internal`] carries nothing, because its cause (a database
//! error, a bug) is logged on the server where it happened and never sent to a browser.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// Everything a server function can answer instead of its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The record does not exist. `what` is a user-facing noun ("Alert"), `key` what was asked for.
    #[error("{what} {key} was not found.")]
    NotFound { what: String, key: String },
    /// Nobody is signed in, or the session has ended.
    #[error("You are not signed in, or your session has ended. Sign in to continue.")]
    Unauthorized,
    /// The caller's role may not do this.
    #[error("Your role does not allow this.")]
    Forbidden,
    /// The request would contradict a record that already exists; `existing` names it (a case number, say).
    #[error("{message}")]
    Conflict { existing: String, message: String },
    /// One input is wrong; `field` is the form field's name, `message` says what to change.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The request could not be read at all (a malformed form or body).
    #[error("The request could not be read: {0}")]
    BadRequest(String),
    /// A machine's request came without a valid API token; the message says which and what to do.
    #[error("{0}")]
    TokenRefused(String),
    /// The request's body is larger than the endpoint takes; the message says the limit.
    #[error("{0}")]
    TooLarge(String),
    /// The browser could not reach the server, or could not read its answer.
    #[error("The server could not be reached: {0}")]
    Unreachable(String),
    /// The database does not answer (restarting, unreachable, out of connections): nothing was done; try again.
    #[error("The database is not answering just now, so nothing was done. Try again in a moment.")]
    Unavailable,
    /// The database's disk is full (SQLite's `SQLITE_FULL`): nothing was saved, and nothing will be until space is
    /// freed on the server. Reads still work.
    #[error("The database's disk is full, so nothing was saved. Free space on the server's disk, then try again.")]
    StorageFull,
    /// Anything else. Its detail is in the server log.
    #[error("Something went wrong on the server. It has been logged; please try again.")]
    Internal,
}

impl AppError {
    pub fn not_found(what: &str, key: impl Into<String>) -> Self {
        Self::NotFound {
            what: what.to_owned(),
            key: key.into(),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The message for `field` when this error is about that form field.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }

    /// The HTTP status that goes with the error.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::NotFound { .. } => 404,
            Self::Unauthorized | Self::TokenRefused(_) => 401,
            Self::Forbidden => 403,
            Self::Conflict { .. } => 409,
            Self::Invalid { .. } => 422,
            Self::BadRequest(_) => 400,
            Self::TooLarge(_) => 413,
            Self::Unreachable(_) => 502,
            Self::Unavailable => 503,
            // 507 Insufficient Storage, not 503: retrying soon will not help; someone has to free space.
            Self::StorageFull => 507,
            Self::Internal => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => Self::BadRequest(m),
            ServerFnErrorErr::Request(m) | ServerFnErrorErr::Response(m) => Self::Unreachable(m),
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failed");
                #[cfg(not(feature = "ssr"))]
                let _ = other;
                Self::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if database_away(&error) {
            tracing::warn!(%error, "the database does not answer");
            return Self::Unavailable;
        }
        if disk_full(&error) {
            tracing::error!(%error, "the database's disk is full: writes are refused until space is freed");
            return Self::StorageFull;
        }
        tracing::error!(%error, "database error");
        Self::Internal
    }
}

/// Whether `error` says the database is away (down, restarting, unreachable, its connections used up) rather than
/// that the request or the code is wrong: PostgreSQL's connection and shutdown errors (SQLSTATE classes 08 and 57P),
/// and the pool's own.
#[cfg(feature = "ssr")]
pub fn database_away(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            db.code()
                .is_some_and(|code| code.starts_with("08") || code.starts_with("57P") || code == "3D000")
                || db.message().contains("not currently accepting connections")
        }
        sqlx::Error::Protocol(message) => message.contains("connection") || message.contains("closed"),
        _ => false,
    }
}

/// Whether `error` says the database's disk is full: SQLite's "database or disk is full" (`SQLITE_FULL`, result code
/// 13, in its primary or any extended form), or PostgreSQL's `disk_full` (SQLSTATE 53100, "could not extend file").
/// Either way the write was not done, and the transaction it was part of was rolled back.
#[cfg(feature = "ssr")]
pub fn disk_full(error: &sqlx::Error) -> bool {
    const SQLITE_FULL: i32 = 13;
    const POSTGRES_DISK_FULL: &str = "53100";
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        return sqlx::error::DatabaseError::code(sqlite)
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == SQLITE_FULL);
    }
    db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some_and(|postgres| postgres.code() == POSTGRES_DISK_FULL)
}

#[cfg(feature = "ssr")]
impl From<sqlx::migrate::MigrateError> for AppError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        tracing::error!(%error, "migration failed");
        Self::Internal
    }
}

/// Sets the HTTP status of the current server-function response from its outcome, so API clients and tests see 404,
/// 409 or 422 rather than a blanket 500. Not for a form a browser posted without JavaScript: server_fn answers it
/// with a redirect back to the form, the error in the URL, where the form shows it; a status would turn that
/// redirect into a page of JSON.
#[cfg(feature = "ssr")]
pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        let posted_by_a_form = leptos::prelude::use_context::<axum::http::request::Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(axum::http::header::ACCEPT)
                .and_then(|accept| accept.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"))
        });
        if posted_by_a_form {
            return result;
        }
        if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            let status = axum::http::StatusCode::from_u16(error.status_code())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            options.set_status(status);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_say_nothing_of_their_cause() {
        let json = serde_json_like(&AppError::Internal);
        assert_eq!(json, "Internal");
        assert!(!AppError::Internal.to_string().contains("sqlite"));
    }

    #[test]
    fn field_messages_are_tied_to_their_field() {
        let error = AppError::invalid("short_description", "Enter a short description.");
        assert_eq!(
            error.message_for("short_description").as_deref(),
            Some("Enter a short description.")
        );
        assert_eq!(error.message_for("work_notes"), None);
        assert_eq!(error.status_code(), 422);
    }

    /// A real `SQLITE_FULL`: a database capped at the pages it has (`max_page_count`) refuses a row that needs one
    /// more, as a full disk does.
    #[cfg(feature = "ssr")]
    #[tokio::test]
    async fn a_full_sqlite_database_is_storage_full_and_its_message_says_so_without_sqlite_s_detail() {
        use sqlx::{Connection, Executor};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect("sqlite::memory:").await.expect("memory");
        conn.execute("CREATE TABLE t (x BLOB)").await.expect("table");
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&mut conn)
            .await
            .expect("pages");
        conn.execute(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {pages}")))
            .await
            .expect("cap");
        let error = sqlx::query("INSERT INTO t VALUES (zeroblob(100000))")
            .execute(&mut conn)
            .await
            .expect_err("no room");
        assert!(disk_full(&error), "{error}");
        assert!(!database_away(&error));
        let app_error = AppError::from(error);
        assert_eq!(app_error, AppError::StorageFull);
        assert_eq!(app_error.status_code(), 507);
        let message = app_error.to_string();
        assert!(message.contains("disk is full"), "{message}");
        assert!(
            !message.contains("code") && !message.contains("database or disk"),
            "{message}"
        );
    }

    #[cfg(feature = "ssr")]
    #[tokio::test]
    async fn other_sqlite_errors_are_not_a_full_disk() {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect("sqlite::memory:").await.expect("memory");
        let error = sqlx::query("SELECT * FROM missing")
            .execute(&mut conn)
            .await
            .expect_err("no table");
        assert!(!disk_full(&error));
        assert_eq!(AppError::from(error), AppError::Internal);
    }

    fn serde_json_like(error: &AppError) -> String {
        let bytes = error.ser();
        String::from_utf8(bytes.to_vec())
            .expect("utf-8")
            .trim_matches('"')
            .to_owned()
    }
}
