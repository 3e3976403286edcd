//! tower-sessions' [`SessionStore`] on Forestall's own database, so sessions live beside the data they guard (and,
//! later, are shared by every instance on one PostgreSQL).

use crate::store::Store;
use async_trait::async_trait;
use tower_sessions::{
    cookie::time::OffsetDateTime,
    session::{Id, Record},
    session_store::{Error, Result, SessionStore},
};

/// What the database keeps of a session id: its SHA-256, as for API tokens. The id itself is only in the user's
/// cookie, so a copy of the database (a backup, a read replica) signs nobody in.
fn stored_id(id: &Id) -> String {
    crate::store::digest(&id.to_string())
}

/// The signed-in user the session names, kept in its own column so a user's sessions can be ended together.
pub(super) fn user_id(record: &Record) -> Option<i64> {
    record.data.get(super::USER_ID_KEY).and_then(serde_json::Value::as_i64)
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(backend)`
fn backend(error: sqlx::Error) -> Error {
    tracing::error!(%error, "session store");
    Error::Backend("session store unavailable".into())
}

#[async_trait]
impl SessionStore for Store {
    /// Inserts a new session, choosing another id if this one is taken (ids are 128 random bits: it never is).
    async fn create(&self, record: &mut Record) -> Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(backend)?;
        loop {
            let inserted = sqlx::query(
                "INSERT INTO sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            )
            .bind(stored_id(&record.id))
            .bind(&data)
            .bind(record.expiry_date.unix_timestamp())
            .bind(user_id(record))
            .execute(self.pool())
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    /// Writes the session, unless the stored one already says the same (its expiry pushed back by less than a
    /// minute): a session saved twice in one request (sign-in saves it itself, then the session layer) writes once,
    /// so the second cannot fail where the first succeeded (a full disk) and turn a sign-in into a bare 500.
    async fn save(&self, record: &Record) -> Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        sqlx::query(
            "INSERT INTO sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at,
                                            user_id = excluded.user_id
             WHERE sessions.data IS DISTINCT FROM excluded.data
                OR sessions.user_id IS DISTINCT FROM excluded.user_id
                OR excluded.expires_at > sessions.expires_at + 60",
        )
        .bind(stored_id(&record.id))
        .bind(data)
        .bind(record.expiry_date.unix_timestamp())
        .bind(user_id(record))
        .execute(self.pool())
        .await
        .map_err(backend)
        .map(drop)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2")
                .bind(stored_id(id))
                .bind(now)
                .fetch_optional(self.pool())
                .await
                .map_err(backend)?;
        row.map(|(data, expires_at)| {
            Ok(Record {
                id: *id,
                data: serde_json::from_str(&data).map_err(|e| Error::Decode(e.to_string()))?,
                expiry_date: OffsetDateTime::from_unix_timestamp(expires_at)
                    .map_err(|e| Error::Decode(e.to_string()))?,
            })
        })
        .transpose()
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(stored_id(id))
            .execute(self.pool())
            .await
            .map_err(backend)
            .map(drop)
    }
}
