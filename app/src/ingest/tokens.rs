//! API tokens, which monitoring tools send as `Authorization: Bearer …`. A token is shown once, when created; only
//! its SHA-256 is stored. Revoking one refuses it from the next request on.

use crate::{
    audit::{server::Audit, AuditAction},
    auth::server::passwords::random_text,
    store::{now_text, violates, Store, TOKEN_NAME},
};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Tokens found valid, by hash: their name and when they were checked. `generation` goes up with every revocation
/// here, so a lookup that started before one does not put its (now stale) answer back.
#[derive(Debug, Default)]
struct TokenCache {
    entries: HashMap<String, (String, Instant)>,
    generation: u64,
}
/// How long a token found valid is taken on trust.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(1);
/// Most tokens remembered (there are a handful: one per monitoring tool).
const TOKEN_CACHE_MAX: usize = 1_000;

/// In front of every token, so one is recognised when it turns up in a log or a repository.
pub const TOKEN_PREFIX: &str = "fst_";
const MAX_NAME_CHARS: usize = 64;

/// Why a token command was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a token name needs 1 to {MAX_NAME_CHARS} characters with no spaces at either end")]
    InvalidName,
    #[error("a token named “{0}” exists already")]
    Exists(String),
    #[error("there is no token named “{0}”")]
    NoSuchToken(String),
    #[error("the token “{0}” was revoked already")]
    AlreadyRevoked(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A token as `forestall token list` shows it (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenInfo {
    pub name: String,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

fn hash(token: &str) -> String {
    crate::store::digest(token)
}

fn check_name(name: &str) -> Result<(), TokenError> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.trim() != name {
        return Err(TokenError::InvalidName);
    }
    Ok(())
}

/// Stores `token` under `name`, audited: for `forestall token create` and the demo data's published token.
pub(crate) async fn insert_token(
    conn: &mut sqlx::AnyConnection,
    name: &str,
    token: &str,
    actor: &str,
) -> Result<(), TokenError> {
    check_name(name)?;
    let inserted =
        sqlx::query("INSERT INTO api_tokens (name, token_hash, created_by, created_at) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(hash(token))
            .bind(actor)
            .bind(now_text())
            .execute(&mut *conn)
            .await;
    match inserted {
        Err(error) if violates(&error, TOKEN_NAME) => return Err(TokenError::Exists(name.to_owned())),
        other => other?,
    };
    audit(actor, AuditAction::TokenCreated, name).write(conn).await?;
    Ok(())
}

fn audit<'a>(actor: &'a str, action: AuditAction, name: &'a str) -> Audit<'a> {
    Audit {
        actor,
        action,
        record: Some(name),
        detail: "",
        address: None,
    }
}

impl Store {
    /// Creates a token named `name`; the token, to be shown once.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn create_token(&self, name: &str, actor: &str) -> Result<String, TokenError> {
        let token = format!("{TOKEN_PREFIX}{}", random_text(40));
        self.add_token(name, &token, actor).await?;
        Ok(token)
    }

    /// Stores `token` under `name`, for [`Store::create_token`].
    async fn add_token(&self, name: &str, token: &str, actor: &str) -> Result<(), TokenError> {
        let mut tx = self.begin_write().await?;
        insert_token(&mut tx, name, token, actor).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes the token named `name`: requests that send it are refused from now on.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn revoke_token(&self, name: &str, actor: &str) -> Result<(), TokenError> {
        let mut tx = self.begin_write().await?;
        // One statement decides, so of two revocations at once only one succeeds (and is audited).
        let revoked =
            sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE lower(name) = lower($1) AND revoked_at IS NULL")
                .bind(name)
                .bind(now_text())
                .execute(&mut *tx)
                .await?;
        if revoked.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM api_tokens WHERE lower(name) = lower($1)")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match exists {
                Some(_) => TokenError::AlreadyRevoked(name.to_owned()),
                None => TokenError::NoSuchToken(name.to_owned()),
            });
        }
        audit(actor, AuditAction::TokenRevoked, name).write(&mut tx).await?;
        tx.commit().await?;
        self.forget_cached_tokens();
        Ok(())
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, sqlx::Error> {
        sqlx::query_as("SELECT name, created_by, created_at, revoked_at FROM api_tokens ORDER BY lower(name)")
            .fetch_all(self.pool())
            .await
    }

    /// The name of the token, if it is one and not revoked. A token found valid is taken on trust for
    /// [`TOKEN_CACHE_TTL`] after, sparing a monitoring tool's every request a database round trip: a revocation by this
    /// process applies at once, one by another process (the CLI, another instance) within that second.
    pub async fn token_name(&self, token: &str) -> Result<Option<String>, sqlx::Error> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let hashed = hash(token);
        let cache = self.cache::<Mutex<TokenCache>>();
        let generation = match cache.lock() {
            Ok(cache) => match cache.entries.get(&hashed) {
                Some((name, checked)) if checked.elapsed() < TOKEN_CACHE_TTL => return Ok(Some(name.clone())),
                _ => cache.generation,
            },
            Err(_) => u64::MAX,
        };
        let name: Option<String> =
            sqlx::query_scalar("SELECT name FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(&hashed)
                .fetch_optional(self.pool())
                .await?;
        if let (Some(name), Ok(mut cache)) = (&name, cache.lock()) {
            if cache.generation == generation {
                if cache.entries.len() >= TOKEN_CACHE_MAX {
                    cache.entries.clear();
                }
                cache.entries.insert(hashed, (name.clone(), Instant::now()));
            }
        }
        Ok(name)
    }

    fn forget_cached_tokens(&self) {
        if let Ok(mut cache) = self.cache::<Mutex<TokenCache>>().lock() {
            cache.entries.clear();
            cache.generation += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::memory_store;

    #[tokio::test]
    async fn a_token_works_until_revoked_and_only_its_hash_is_kept() {
        let store = memory_store().await;
        let token = store.create_token("prometheus", "test").await.expect("created");
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() == TOKEN_PREFIX.len() + 40);
        assert_eq!(
            store.token_name(&token).await.expect("read").as_deref(),
            Some("prometheus")
        );
        assert_eq!(store.token_name(&format!("{token}x")).await.expect("read"), None);
        let stored: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
            .fetch_one(store.pool())
            .await
            .expect("row");
        assert!(!stored.contains(&token[TOKEN_PREFIX.len()..]));

        assert!(matches!(
            store.create_token("Prometheus", "test").await,
            Err(TokenError::Exists(_))
        ));
        assert!(matches!(
            store.create_token(" x", "test").await,
            Err(TokenError::InvalidName)
        ));
        store.revoke_token("PROMETHEUS", "test").await.expect("revoked");
        assert_eq!(store.token_name(&token).await.expect("read"), None);
        assert!(matches!(
            store.revoke_token("prometheus", "test").await,
            Err(TokenError::AlreadyRevoked(_))
        ));
        assert!(matches!(
            store.revoke_token("grafana", "test").await,
            Err(TokenError::NoSuchToken(_))
        ));
        let listed = store.list_tokens().await.expect("list");
        assert_eq!(listed.len(), 1);
        assert!(listed[0].revoked_at.is_some());
    }

    #[tokio::test]
    async fn a_revocation_by_another_process_applies_within_the_second_of_trust() {
        let store = memory_store().await;
        let token = store.create_token("grafana", "test").await.expect("created");
        assert_eq!(
            store.token_name(&token).await.expect("read").as_deref(),
            Some("grafana")
        );
        // Revoked by another process (the CLI, another instance): straight in the database, not through this store.
        sqlx::query("UPDATE api_tokens SET revoked_at = '2026-11-27 05:00:00' WHERE name = 'grafana'")
            .execute(store.pool())
            .await
            .expect("revoke");
        tokio::time::sleep(TOKEN_CACHE_TTL + Duration::from_millis(100)).await;
        assert_eq!(store.token_name(&token).await.expect("read"), None);
    }
}
