//! Users: adding and changing them (the CLI), finding a session's user, and signing in with throttling.

use super::passwords::{self, check_password_rules};
use crate::{
    access::{Role, Viewer},
    audit::{server::Audit, AuditAction},
    auth::SignInRefusal,
    store::{clock::now_secs, now_text, Store},
};
use sqlx::AnyConnection;

/// Failed sign-ins are counted over this window, in seconds.
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
/// Failures for one user name within the window before its sign-ins are refused.
pub const USER_FAILURE_LIMIT: i64 = 5;
/// Failures from one address within the window before its sign-ins are refused.
pub const ADDRESS_FAILURE_LIMIT: i64 = 20;
pub const MAX_NAME_CHARS: usize = 64;

/// Why a user could not be added or changed (the CLI prints it).
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a user name needs 1 to {MAX_NAME_CHARS} ASCII letters, digits or signs, with no spaces at either end")]
    InvalidName,
    #[error("{0}")]
    WeakPassword(String),
    #[error("a user named “{0}” exists already")]
    Exists(String),
    #[error("there is no user named “{0}”")]
    NoSuchUser(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A sign-in that did not succeed: refused (the page says why) or failed on the server.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("{0}")]
    Refused(SignInRefusal),
    #[error("sign-in failed: {0}")]
    Internal(#[from] sqlx::Error),
}

impl From<SignInRefusal> for SignInError {
    fn from(refusal: SignInRefusal) -> Self {
        Self::Refused(refusal)
    }
}

/// A user as `forestall user list` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
}

#[derive(sqlx::FromRow)]
struct UserRecord {
    name: String,
    #[sqlx(try_from = "String")]
    role: Role,
    disabled: i64,
    created_at: String,
}

/// A user as sign-in reads them.
#[derive(sqlx::FromRow)]
struct StoredUser {
    id: i64,
    name: String,
    #[sqlx(try_from = "String")]
    role: Role,
    password_hash: String,
    disabled: i64,
}

/// A user name is 1 to 64 printable ASCII characters (no spaces at either end), so that it folds to one key the same
/// way in Forestall, SQLite and PostgreSQL (see [`fold_name`]).
fn check_name(name: &str) -> Result<(), UserError> {
    let chars = name.chars().count();
    if chars == 0
        || chars > MAX_NAME_CHARS
        || name.trim() != name
        || !name.chars().all(|c| c.is_ascii_graphic() || c == ' ')
    {
        return Err(UserError::InvalidName);
    }
    Ok(())
}

/// The id of the user with this name, inside the caller's transaction.
async fn user_id(conn: &mut AnyConnection, name: &str) -> Result<i64, UserError> {
    sqlx::query_scalar("SELECT id FROM users WHERE lower(name) = lower($1)")
        .bind(name)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| UserError::NoSuchUser(name.to_owned()))
}

/// Who changed a user: a signed-in admin, or the operator at the command line.
fn audit<'a>(actor: &'a str, action: AuditAction, name: &'a str, detail: &'a str) -> Audit<'a> {
    Audit {
        actor,
        action,
        record: Some(name),
        detail,
        address: None,
    }
}

impl Store {
    /// Adds a user; `actor` is recorded in the audit log.
    #[tracing::instrument(skip(self, password), err(Debug, level = "debug"))]
    pub async fn add_user(&self, name: &str, role: Role, password: &str, actor: &str) -> Result<(), UserError> {
        check_name(name)?;
        check_password_rules(password).map_err(UserError::WeakPassword)?;
        let hash = passwords::hash(password.to_owned()).await?;
        let mut tx = self.begin_write().await?;
        insert_user(&mut tx, name, role, &hash, actor).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new password and ends the user's sessions.
    #[tracing::instrument(skip(self, password), err(Debug, level = "debug"))]
    pub async fn reset_password(&self, name: &str, password: &str, actor: &str) -> Result<(), UserError> {
        check_password_rules(password).map_err(UserError::WeakPassword)?;
        let hash = passwords::hash(password.to_owned()).await?;
        let mut tx = self.begin_write().await?;
        let id = user_id(&mut tx, name).await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        end_sessions(&mut tx, id).await?;
        // The break-glass path: a user locked out by failed sign-ins (someone guessing) signs in at once with the
        // new password.
        let key = fold_name(name);
        sqlx::query("DELETE FROM login_failures WHERE user_name = $1")
            .bind(&key)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM login_refusals WHERE scope = $1")
            .bind(format!("name:{key}"))
            .execute(&mut *tx)
            .await?;
        audit(actor, AuditAction::UserPasswordReset, name, "")
            .write(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disables (ending their sessions) or enables a user.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn set_user_disabled(&self, name: &str, disabled: bool, actor: &str) -> Result<(), UserError> {
        let mut tx = self.begin_write().await?;
        let id = user_id(&mut tx, name).await?;
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let action = if disabled {
            end_sessions(&mut tx, id).await?;
            AuditAction::UserDisabled
        } else {
            AuditAction::UserEnabled
        };
        audit(actor, action, name, "").write(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives a user another role; it applies to their next request, as every request reads the role afresh.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn set_user_role(&self, name: &str, role: Role, actor: &str) -> Result<(), UserError> {
        let mut tx = self.begin_write().await?;
        let id = user_id(&mut tx, name).await?;
        let old: String = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(actor, AuditAction::UserRoleChanged, name, &format!("{old} → {role}"))
            .write(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_users(&self) -> Result<Vec<UserRow>, sqlx::Error> {
        let rows: Vec<UserRecord> =
            sqlx::query_as("SELECT name, role, disabled, created_at FROM users ORDER BY lower(name)")
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|user| UserRow {
                name: user.name,
                role: user.role,
                disabled: user.disabled != 0,
                created_at: user.created_at,
            })
            .collect())
    }

    /// The enabled user with this id, as a session names them.
    pub async fn session_user(&self, id: i64) -> Result<Option<Viewer>, sqlx::Error> {
        sqlx::query_as("SELECT id, name, role FROM users WHERE id = $1 AND disabled = 0")
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// Checks a sign-in. Failures are counted per user name typed and per address; past the limits, sign-ins are
    /// refused until the window has passed.
    ///
    /// An attempt is counted as a failure *before* its password is checked, in one transaction with the check of
    /// the limits, so parallel attempts cannot all slip under a limit: of fifty at once for one name, five are
    /// checked. A success removes the count again. Password checks run a few at a time (see
    /// `passwords::check_turn`); an attempt that finds none free in time is refused as busy. Every check is in the
    /// audit log; refusals without a check are summed up there (see [`record_refusal`]).
    #[tracing::instrument(skip(self, password), err(Debug, level = "debug"))]
    pub async fn sign_in(&self, name: &str, password: &str, address: &str) -> Result<Viewer, SignInError> {
        let name = name.trim();
        if name.is_empty() || password.is_empty() {
            return Err(SignInRefusal::Missing.into());
        }
        let name: String = name.chars().take(MAX_NAME_CHARS).collect();
        let key = fold_name(&name);
        let now = now_secs();
        // Refused already: answered at once, without waiting for a check or for the write lock to count it.
        let throttle = throttled(&mut *self.pool().acquire().await?, &key, address, now).await?;
        if let Some(throttle) = throttle {
            return self.refuse(throttle, &name, address, now).await;
        }
        let Some(turn) = passwords::check_turn().await else {
            return self.refuse(Throttle::Busy, &name, address, now).await;
        };
        let mut tx = self.begin_write().await?;
        self.serialize_sign_ins(&mut tx).await?;
        if let Some(throttle) = throttled(&mut tx, &key, address, now).await? {
            record_refusal(&mut tx, &throttle, &name, address, now).await?;
            tx.commit().await?;
            return Err(throttle.refusal().into());
        }
        sqlx::query("DELETE FROM login_failures WHERE at <= $1")
            .bind(now - THROTTLE_WINDOW_SECS)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO login_failures (user_name, address, at) VALUES ($1, $2, $3)")
            .bind(&key)
            .bind(address)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        // Names are ASCII (see `check_name`): one typed otherwise names nobody, and is checked against the dummy hash.
        let user: Option<StoredUser> = if name.is_ascii() {
            sqlx::query_as("SELECT id, name, role, password_hash, disabled FROM users WHERE lower(name) = $1")
                .bind(&key)
                .fetch_optional(self.pool())
                .await?
        } else {
            None
        };
        let stored = user.as_ref().map(|user| user.password_hash.clone());
        // A password longer than any that can be set is wrong; it is not hashed, whatever its length.
        let matches = password.chars().count() <= passwords::MAX_PASSWORD_CHARS
            && passwords::verify(&turn, password.to_owned(), stored).await?;
        drop(turn);

        let mut tx = self.begin_write().await?;
        match user {
            Some(user) if matches && user.disabled == 0 => {
                sqlx::query("DELETE FROM login_failures WHERE user_name = $1")
                    .bind(&key)
                    .execute(&mut *tx)
                    .await?;
                sign_in_audit(&name, AuditAction::Login, address, "")
                    .write(&mut tx)
                    .await?;
                tx.commit().await?;
                Ok(Viewer {
                    id: user.id,
                    name: user.name,
                    role: user.role,
                })
            }
            user => {
                // A disabled user with the right password hears what a wrong password hears; the log says which.
                let detail = if matches && user.is_some() {
                    "the user is disabled"
                } else {
                    ""
                };
                sign_in_audit(&name, AuditAction::LoginFailed, address, detail)
                    .write(&mut tx)
                    .await?;
                tx.commit().await?;
                Err(SignInRefusal::Wrong.into())
            }
        }
    }

    /// Answers a refusal that needed no password check, summed up in the audit log.
    async fn refuse(&self, throttle: Throttle, name: &str, address: &str, now: i64) -> Result<Viewer, SignInError> {
        let mut tx = self.begin_write().await?;
        record_refusal(&mut tx, &throttle, name, address, now).await?;
        tx.commit().await?;
        Err(throttle.refusal().into())
    }

    /// On PostgreSQL, makes sign-ins' counting transactions take turns (they last a millisecond), so two cannot
    /// both read a count below the limit. SQLite's write lock does this already.
    async fn serialize_sign_ins(&self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        if self.backend() == crate::store::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7301)").execute(conn).await?;
        }
        Ok(())
    }

    /// Records a sign-out.
    pub async fn sign_out(&self, name: &str, address: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        sign_in_audit(name, AuditAction::Logout, address, "")
            .write(&mut tx)
            .await?;
        tx.commit().await
    }
}

/// Inserts a user whose password is already hashed, inside the caller's transaction.
pub(crate) async fn insert_user(
    conn: &mut AnyConnection,
    name: &str,
    role: Role,
    password_hash: &str,
    actor: &str,
) -> Result<(), UserError> {
    let inserted = sqlx::query(
        "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(password_hash)
    .bind(now_text())
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(UserError::Exists(name.to_owned()));
    }
    audit(actor, AuditAction::UserAdded, name, &format!("role {role}"))
        .write(conn)
        .await?;
    Ok(())
}

fn sign_in_audit<'a>(name: &'a str, action: AuditAction, address: &'a str, detail: &'a str) -> Audit<'a> {
    Audit {
        actor: name,
        action,
        record: None,
        detail,
        address: Some(address),
    }
}

/// The key failed sign-ins are counted by, and users looked up by at sign-in: ASCII letters in lower case, which is
/// what `lower()` does to an ASCII name in SQLite and PostgreSQL alike. Other characters stay as they are (no user
/// name holds one), so no spelling of a name counts apart from another that finds the same user.
pub(crate) fn fold_name(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Why a sign-in is refused without checking its password.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Throttle {
    /// Too many failures for the user name: this many minutes until the next try is checked.
    Name { key: String, minutes: i64 },
    /// Too many failures from the address.
    Address { minutes: i64 },
    /// No password check came free in time.
    Busy,
}

impl Throttle {
    fn refusal(&self) -> SignInRefusal {
        match self {
            Self::Name { minutes, .. } | Self::Address { minutes } => SignInRefusal::Throttled { minutes: *minutes },
            Self::Busy => SignInRefusal::Busy,
        }
    }

    fn minutes(&self) -> i64 {
        match self {
            Self::Name { minutes, .. } | Self::Address { minutes } => *minutes,
            Self::Busy => 0,
        }
    }

    /// What refusals are summed up by: the throttled name or address, or "busy".
    fn scope(&self, address: &str) -> String {
        match self {
            Self::Name { key, .. } => format!("name:{key}"),
            Self::Address { .. } => format!("address:{address}"),
            Self::Busy => "busy".into(),
        }
    }
}

/// Whether sign-ins for this name (folded) or from this address are refused now, and for how long.
async fn throttled(
    conn: &mut AnyConnection,
    key: &str,
    address: &str,
    now: i64,
) -> Result<Option<Throttle>, sqlx::Error> {
    let since = now - THROTTLE_WINDOW_SECS;
    let mut found = None;
    for (column, limit, value) in [
        ("user_name", USER_FAILURE_LIMIT, key),
        ("address", ADDRESS_FAILURE_LIMIT, address),
    ] {
        // The limit-th newest failure in the window: once it leaves the window, a sign-in may be tried again.
        let oldest_counted: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT at FROM login_failures WHERE {column} = $1 AND at > $2 ORDER BY at DESC LIMIT 1 OFFSET $3"
        )))
        .bind(value)
        .bind(since)
        .bind(limit - 1)
        .fetch_optional(&mut *conn)
        .await?;
        let minutes = oldest_counted.map_or(0, |at| (at + THROTTLE_WINDOW_SECS - now + 59) / 60);
        // The longer wait of the two, if both are refused.
        if minutes > found.as_ref().map_or(0, Throttle::minutes) {
            found = Some(if column == "user_name" {
                Throttle::Name {
                    key: key.to_owned(),
                    minutes,
                }
            } else {
                Throttle::Address { minutes }
            });
        }
    }
    Ok(found)
}

#[derive(sqlx::FromRow)]
struct Refusals {
    actor: String,
    address: String,
    first_at: i64,
    last_at: i64,
    refused: i64,
}

/// Records a sign-in refused without a password check. The first refusal of a scope (see [`Throttle::scope`]) is an
/// audit line; later ones only count, and once a scope has been quiet for the throttling window its count becomes
/// one more audit line ("… and 812 more refused …"). So a flood of refused attempts adds two lines per name or
/// address, not one per attempt.
async fn record_refusal(
    conn: &mut AnyConnection,
    throttle: &Throttle,
    name: &str,
    address: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    metrics::counter!("forestall_sign_in_refusals_total").increment(1);
    let quiet: Vec<Refusals> = sqlx::query_as(
        "DELETE FROM login_refusals WHERE last_at <= $1 RETURNING actor, address, first_at, last_at, refused",
    )
    .bind(now - THROTTLE_WINDOW_SECS)
    .fetch_all(&mut *conn)
    .await?;
    for ended in quiet.iter().filter(|ended| ended.refused > 1) {
        let detail = format!(
            "{} more sign-ins refused like this one, from {} to {} (Unix seconds)",
            ended.refused - 1,
            ended.first_at,
            ended.last_at
        );
        sign_in_audit(&ended.actor, AuditAction::LoginThrottled, &ended.address, &detail)
            .write(conn)
            .await?;
    }
    let scope = throttle.scope(address);
    let counted = sqlx::query("UPDATE login_refusals SET refused = refused + 1, last_at = $2 WHERE scope = $1")
        .bind(&scope)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    if counted.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO login_refusals (scope, actor, address, first_at, last_at, refused)
             VALUES ($1, $2, $3, $4, $4, 1)",
        )
        .bind(&scope)
        .bind(name.chars().take(160).collect::<String>())
        .bind(address.chars().take(100).collect::<String>())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let detail = match throttle {
            Throttle::Busy => "too many sign-ins at once; further refusals are counted, then summed up here",
            _ => "too many failed sign-ins; further refusals are counted, then summed up here",
        };
        sign_in_audit(name, AuditAction::LoginThrottled, address, detail)
            .write(conn)
            .await?;
    }
    Ok(())
}

/// Deletes every session of the user.
async fn end_sessions(conn: &mut AnyConnection, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::memory_store;

    #[tokio::test]
    async fn sign_in_accepts_the_password_and_refuses_others_alike() {
        let store = memory_store().await;
        store
            .add_user("Operator", Role::EvtMgmtOperator, "a long password", "cli")
            .await
            .expect("add");
        let viewer = store
            .sign_in("operator", "a long password", "10.0.0.1")
            .await
            .expect("sign in");
        // Names compare without case; the user is named as they were added.
        assert_eq!((viewer.name.as_str(), viewer.role), ("Operator", Role::EvtMgmtOperator));
        let wrong = store
            .sign_in("operator", "not the password", "10.0.0.1")
            .await
            .expect_err("wrong");
        let unknown = store
            .sign_in("nobody", "not the password", "10.0.0.1")
            .await
            .expect_err("unknown");
        // The same words whether or not the user exists.
        assert_eq!(wrong.to_string(), unknown.to_string());
        assert!(matches!(
            store.add_user("operator", Role::Admin, "another password", "cli").await,
            Err(UserError::Exists(_))
        ));
    }

    #[tokio::test]
    async fn many_failures_from_one_address_lock_that_address_only() {
        let store = memory_store().await;
        store
            .add_user("agent", Role::SnCustomerserviceAgent, "a long password", "cli")
            .await
            .expect("add");
        // Guessing across many user names, a few tries each: no one name reaches its limit.
        for n in 0..ADDRESS_FAILURE_LIMIT {
            let name = format!("guess{}", n % 5);
            assert!(matches!(
                store.sign_in(&name, "wrong password", "192.0.2.7").await,
                Err(SignInError::Refused(SignInRefusal::Wrong))
            ));
        }
        assert!(matches!(
            store.sign_in("agent", "a long password", "192.0.2.7").await,
            Err(SignInError::Refused(SignInRefusal::Throttled { .. }))
        ));
        assert!(
            store.sign_in("agent", "a long password", "192.0.2.8").await.is_ok(),
            "other addresses sign in"
        );
    }

    #[tokio::test]
    async fn a_reset_password_replaces_the_old_one() {
        let store = memory_store().await;
        store
            .add_user("viewer", Role::EvtMgmtUser, "the first password", "cli")
            .await
            .expect("add");
        store
            .reset_password("viewer", "the second password", "cli")
            .await
            .expect("reset");
        assert!(store.sign_in("viewer", "the first password", "10.0.0.5").await.is_err());
        assert!(store.sign_in("viewer", "the second password", "10.0.0.5").await.is_ok());
        assert!(matches!(
            store.reset_password("nobody", "the third password", "cli").await,
            Err(UserError::NoSuchUser(_))
        ));
        assert!(matches!(
            store.reset_password("viewer", "short", "cli").await,
            Err(UserError::WeakPassword(_))
        ));
    }

    #[tokio::test]
    async fn repeated_failures_lock_the_user_name_for_a_while() {
        let store = memory_store().await;
        store
            .add_user("agent", Role::SnCustomerserviceAgent, "a long password", "cli")
            .await
            .expect("add");
        for _ in 0..USER_FAILURE_LIMIT {
            assert!(matches!(
                store.sign_in("agent", "wrong password", "10.0.0.2").await,
                Err(SignInError::Refused(SignInRefusal::Wrong))
            ));
        }
        // Even the right password is refused now, from any address, with a time to wait.
        match store.sign_in("agent", "a long password", "10.0.0.3").await {
            Err(SignInError::Refused(SignInRefusal::Throttled { minutes })) => {
                assert!((1..=15).contains(&minutes), "{minutes}")
            }
            other => panic!("expected throttling, got {other:?}"),
        }
        let failures: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed'")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(failures, USER_FAILURE_LIMIT);
    }
}
