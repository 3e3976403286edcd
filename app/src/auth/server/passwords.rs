//! Argon2id hashing, off the async threads (a hash takes tens of milliseconds of CPU by design).

use argon2::{
    password_hash::{rand_core::OsRng, rand_core::RngCore, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use std::{sync::OnceLock, time::Duration};
use tokio::sync::{Semaphore, SemaphorePermit};

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

/// How long a sign-in waits for a free password check before it is refused as busy.
pub const CHECK_WAIT: Duration = Duration::from_secs(2);

/// The password checks that may run at once: one per core. Each takes about 19 MiB and a core for tens of
/// milliseconds, so a burst of sign-ins, whoever sends it, uses at most this many cores and this much memory; the
/// rest wait (at most [`CHECK_WAIT`]) rather than starve the requests of signed-in users.
fn checks() -> &'static Semaphore {
    static CHECKS: OnceLock<Semaphore> = OnceLock::new();
    CHECKS.get_or_init(|| Semaphore::new(cores()))
}

/// A turn to check a password; `None` when none came free within [`CHECK_WAIT`].
pub(crate) async fn check_turn() -> Option<SemaphorePermit<'static>> {
    tokio::time::timeout(CHECK_WAIT, checks().acquire()).await.ok()?.ok()
}

pub(crate) async fn hash(password: String) -> Result<String, sqlx::Error> {
    // Adding a user or resetting a password waits its turn as long as it takes: only the CLI and admins do it.
    let _turn = checks()
        .acquire()
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("password checks closed: {e}")))?;
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
/// the answer takes as long either way and its timing does not tell which user names exist. The caller holds a
/// turn from [`check_turn`].
pub(crate) async fn verify(
    _turn: &SemaphorePermit<'static>,
    password: String,
    stored: Option<String>,
) -> Result<bool, sqlx::Error> {
    blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            tracing::error!("stored password hash unreadable");
            return Ok(false);
        };
        // The check first: `known && …` would skip it for unknown names, and answer them at once.
        let verified = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(verified && known)
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

/// A hashing job for the password threads.
type Job = Box<dyn FnOnce() + Send>;

/// Runs `work` on one of the password threads, one per core, started on first use. Their own threads rather than
/// tokio's blocking pool: the allocator keeps each thread's freed 19 MiB for that thread's next allocation, so on a
/// pool that hands work to whichever of dozens of threads is idle, memory grows with the number of threads that ever
/// hashed (400 MiB after one burst was measured); on these few threads it stays at their number times 19 MiB.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, sqlx::Error> + Send + 'static,
) -> Result<T, sqlx::Error> {
    static JOBS: OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> = OnceLock::new();
    let jobs = JOBS.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = std::sync::Arc::new(std::sync::Mutex::new(receiver));
        for n in 0..cores() {
            let receiver = std::sync::Arc::clone(&receiver);
            let started = std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job, not while hashing.
                    let job = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            if let Err(error) = started {
                tracing::error!(%error, "could not start a password thread");
            }
        }
        std::sync::Mutex::new(sender)
    });
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        // The asker may have gone (its request was dropped): nobody to tell.
        let _ = answer.send(work());
    });
    let sent = jobs
        .lock()
        .map_err(|_| sqlx::Error::Protocol("password threads unavailable".into()))?
        .send(job);
    sent.map_err(|_| sqlx::Error::Protocol("password threads stopped".into()))?;
    answered
        .await
        .map_err(|_| sqlx::Error::Protocol("password task failed".into()))?
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery".into()).await.expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        let turn = check_turn().await.expect("a free turn");
        assert!(verify(&turn, "correct horse battery".into(), Some(stored.clone()))
            .await
            .expect("verify"));
        assert!(!verify(&turn, "wrong horse battery".into(), Some(stored))
            .await
            .expect("verify"));
        assert!(!verify(&turn, "no user has this password".into(), None)
            .await
            .expect("verify"));
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
