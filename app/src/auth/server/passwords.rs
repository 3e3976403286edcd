//! Argon2id hashing, off the async threads (a hash takes tens of milliseconds of CPU by design).

use argon2::{
    password_hash::{rand_core::OsRng, rand_core::RngCore, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use std::sync::OnceLock;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Why a new password is refused, or `Ok`.
pub fn check_password_rules(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(format!("A password needs at least {MIN_PASSWORD_CHARS} characters."))
    } else if chars > MAX_PASSWORD_CHARS {
        Err(format!("A password may have at most {MAX_PASSWORD_CHARS} characters."))
    } else {
        Ok(())
    }
}

/// A random password of 20 letters and digits, for `forestall user add` when none is given.
pub fn generate_password() -> String {
    random_text(20)
}

/// `len` random letters and digits (57 of them: none that read alike), from the operating system's generator.
pub fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut text = String::with_capacity(len);
    while text.len() < len {
        let byte = (OsRng.next_u32() & 0xff) as u8;
        // Rejection sampling keeps every character equally likely.
        if usize::from(byte) < 256 - 256 % ALPHABET.len() {
            text.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
        }
    }
    text
}

pub(crate) async fn hash(password: String) -> Result<String, sqlx::Error> {
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| sqlx::Error::Protocol(format!("password hashing failed: {e}")))
    })
    .await
}

/// Whether `password` matches `stored`. With no stored hash (an unknown user) it checks against a dummy hash, so
/// the answer takes as long either way and its timing does not tell which user names exist.
pub(crate) async fn verify(password: String, stored: Option<String>) -> Result<bool, sqlx::Error> {
    blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            tracing::error!("stored password hash unreadable");
            return Ok(false);
        };
        Ok(known && Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"no user has this password", &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, sqlx::Error> + Send + 'static,
) -> Result<T, sqlx::Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("password task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery".into()).await.expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(stored.clone()))
            .await
            .expect("verify"));
        assert!(!verify("wrong horse battery".into(), Some(stored))
            .await
            .expect("verify"));
        assert!(!verify("no user has this password".into(), None).await.expect("verify"));
    }

    #[test]
    fn password_rules_say_what_is_wrong() {
        assert!(check_password_rules("short")
            .expect_err("short")
            .contains("at least 10"));
        assert!(check_password_rules(&"x".repeat(257)).is_err());
        assert_eq!(check_password_rules("long enough!"), Ok(()));
        let generated = generate_password();
        assert_eq!(generated.len(), 20);
        assert!(generated.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(generated, generate_password());
    }
}
