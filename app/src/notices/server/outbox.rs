//! Delivery: a task takes due notices from the outbox (the `notices` rows still pending), sends each over SMTP (or
//! writes it to a folder as an `.eml` file), and marks it sent with the server's answer, or retries it later with
//! a growing wait, or marks it failed. Nothing is marked sent that the server did not accept.
//!
//! Sends once, as far as a mail server can tell: a notice is leased before it is sent, so two instances never send
//! it at once; a crash after the server accepted it but before it was marked sends it again when the lease ends,
//! with the same `Message-ID`, which receivers use to drop the copy.

use super::NoticeSettings;
use crate::store::{clock, now_text, Store};
use lettre::{
    message::{header::ContentType, Mailbox, Mailboxes},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::{path::PathBuf, sync::Arc, time::Duration};
use tokio::sync::Notify;

/// How long a taken notice is the taker's before another may take it again (longer than an SMTP send may take).
const LEASE_SECS: i64 = 120;
/// Notices taken at a time.
const BATCH: i64 = 20;
/// How long an SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where notices go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// An SMTP server (plain SMTP, as to a relay on the same network).
    Smtp { host: String, port: u16 },
    /// A folder, one `.eml` file per notice: the embedded default and the demo's.
    Folder(PathBuf),
}

impl Transport {
    /// `smtp://host[:port]`, or `None` for a folder.
    pub fn parse(smtp_url: Option<&str>, folder: PathBuf) -> Result<Self, String> {
        let Some(url) = smtp_url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Transport::Folder(folder));
        };
        let rest = url.strip_prefix("smtp://").ok_or_else(|| {
            format!(
                "--smtp-url “{url}” is not smtp://host:port (TLS is not built in: relay through a local mail server)"
            )
        })?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|_| format!("--smtp-url “{url}”: the port is not a number from 1 to 65535"))?,
            ),
            None => (rest, 25),
        };
        if host.is_empty() || host.contains(['/', '@']) {
            return Err(format!("--smtp-url “{url}” names no host"));
        }
        Ok(Transport::Smtp {
            host: host.to_owned(),
            port,
        })
    }

    /// Where notices go, as the Sent notices page says it.
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { host, port } => format!("the SMTP server at {host}:{port}"),
            Transport::Folder(dir) => format!(
                "the folder {} (one .eml file per notice; no SMTP server is configured)",
                dir.display()
            ),
        }
    }
}

/// The From address, checked at start rather than at each notice.
pub fn check_mail_from(text: &str) -> Result<String, String> {
    text.parse::<Mailbox>().map(|_| text.to_owned()).map_err(|error| {
        format!("--mail-from “{text}” is not an address such as Support <support@example.com>: {error}")
    })
}

/// Why a send did not go through.
#[derive(Debug)]
pub struct Refusal {
    /// The server said no for good (5xx), or the notice cannot be made into a message: retrying will not help.
    pub permanent: bool,
    pub answer: String,
}

/// What sends a notice.
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

impl Mailer {
    pub fn new(transport: &Transport) -> Self {
        match transport {
            Transport::Smtp { host, port } => Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                    .port(*port)
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            Transport::Folder(dir) => Mailer::Folder(dir.clone()),
        }
    }

    /// Sends `message`, answering what the server said.
    async fn send(&self, message: Message, message_id: &str) -> Result<String, Refusal> {
        match self {
            Mailer::Smtp(transport) => match transport.send(message).await {
                Ok(response) => Ok(format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                )),
                Err(error) => Err(Refusal {
                    permanent: error.is_permanent(),
                    answer: error.to_string(),
                }),
            },
            Mailer::Folder(dir) => {
                let name: String = message_id
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
                    .collect();
                let path = dir.join(format!("{name}.eml"));
                let partial = dir.join(format!(".{name}.eml.partial"));
                let bytes = message.formatted();
                let written = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&partial, &bytes).await?;
                    tokio::fs::rename(&partial, &path).await
                }
                .await;
                match written {
                    Ok(()) => Ok(format!("Written to {}", path.display())),
                    Err(error) => Err(Refusal {
                        permanent: false,
                        answer: format!("Could not write {}: {error}", path.display()),
                    }),
                }
            }
        }
    }
}

/// A notice as the outbox sends it.
#[derive(sqlx::FromRow)]
struct Outgoing {
    id: i64,
    recipients: String,
    subject: String,
    body: String,
    message_id: String,
    attempts: i64,
}

fn build(from: &str, notice: &Outgoing) -> Result<Message, Refusal> {
    let bad = |what: String| Refusal {
        permanent: true,
        answer: what,
    };
    let from: Mailbox = from
        .parse()
        .map_err(|e| bad(format!("The From address is not valid: {e}")))?;
    let to: Mailboxes = notice
        .recipients
        .replace('\n', ", ")
        .parse()
        .map_err(|e| bad(format!("A recipient's address is not valid: {e}")))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(notice.subject.clone())
        .message_id(Some(notice.message_id.clone()))
        .header(ContentType::TEXT_PLAIN);
    for mailbox in to {
        builder = builder.to(mailbox);
    }
    builder
        .body(notice.body.clone())
        .map_err(|e| bad(format!("The notice could not be made into a message: {e}")))
}

fn cut(answer: &str) -> String {
    answer.chars().take(1000).collect()
}

impl Store {
    /// Takes the due notices (at most a batch), sends each, and marks it. Answers how many it took.
    pub async fn deliver_due(&self, mailer: &Mailer, settings: &NoticeSettings) -> Result<usize, sqlx::Error> {
        let now = now_text();
        let due: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM notices WHERE status = 'pending' AND next_attempt_at <= $1
             ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(&now)
        .bind(BATCH)
        .fetch_all(self.pool())
        .await?;
        let mut taken = 0;
        for id in due {
            // The lease: whoever moves the notice's next attempt past the lease first sends it.
            let mut tx = self.begin_write().await?;
            let leased = sqlx::query(
                "UPDATE notices SET attempts = attempts + 1, next_attempt_at = $3
                 WHERE id = $1 AND status = 'pending' AND next_attempt_at <= $2",
            )
            .bind(id)
            .bind(now_text())
            .bind(clock::utc_text(clock::now_secs() + LEASE_SECS))
            .execute(&mut *tx)
            .await?;
            let notice: Option<Outgoing> = if leased.rows_affected() == 1 {
                sqlx::query_as("SELECT id, recipients, subject, body, message_id, attempts FROM notices WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
            } else {
                None
            };
            tx.commit().await?;
            let Some(notice) = notice else { continue };
            taken += 1;
            let sent = match build(&settings.mail_from, &notice) {
                Ok(message) => mailer.send(message, &notice.message_id).await,
                Err(refusal) => Err(refusal),
            };
            self.mark(&notice, sent, settings).await?;
        }
        Ok(taken)
    }

    async fn mark(
        &self,
        notice: &Outgoing,
        sent: Result<String, Refusal>,
        settings: &NoticeSettings,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        match sent {
            Ok(answer) => {
                sqlx::query(
                    "UPDATE notices SET status = 'sent', sent_at = $2, next_attempt_at = NULL, answer = $3 WHERE id = $1",
                )
                .bind(notice.id)
                .bind(now_text())
                .bind(cut(&answer))
                .execute(&mut *tx)
                .await?;
                tracing::info!(notice = notice.id, message_id = %notice.message_id, "notice sent");
            }
            Err(refusal) if refusal.permanent || notice.attempts >= settings.max_attempts => {
                sqlx::query("UPDATE notices SET status = 'failed', next_attempt_at = NULL, answer = $2 WHERE id = $1")
                    .bind(notice.id)
                    .bind(cut(&refusal.answer))
                    .execute(&mut *tx)
                    .await?;
                tracing::warn!(notice = notice.id, answer = %refusal.answer, "notice failed");
            }
            Err(refusal) => {
                let wait = settings.retry_after_secs.max(1) << (notice.attempts - 1).clamp(0, 10);
                sqlx::query("UPDATE notices SET next_attempt_at = $2, answer = $3 WHERE id = $1")
                    .bind(notice.id)
                    .bind(clock::utc_text(clock::now_secs() + wait))
                    .bind(cut(&format!(
                        "{} (attempt {}; retrying in {wait} s)",
                        refusal.answer, notice.attempts
                    )))
                    .execute(&mut *tx)
                    .await?;
                tracing::info!(notice = notice.id, answer = %refusal.answer, wait, "notice will be retried");
            }
        }
        tx.commit().await
    }

    /// Whether each of `ids` has had an answer (sent, failed, or retrying after one).
    pub async fn notices_settled(&self, ids: &[i64]) -> Result<bool, sqlx::Error> {
        for id in ids {
            let waiting: Option<i64> =
                sqlx::query_scalar("SELECT id FROM notices WHERE id = $1 AND status = 'pending' AND answer IS NULL")
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?;
            if waiting.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The delivery task's handle: `wake` it when notices were queued.
#[derive(Clone, Debug)]
pub struct Outbox {
    wake: Arc<Notify>,
}

/// How often the task looks for due notices and schedules without being woken.
const POLL: Duration = Duration::from_secs(2);

impl Outbox {
    /// Starts the delivery task (and the hold-down schedule) on the current runtime.
    pub fn start(store: &Store, settings: NoticeSettings) -> Self {
        let wake = Arc::new(Notify::new());
        let outbox = Outbox { wake: wake.clone() };
        let store = store.clone();
        let mailer = Mailer::new(&settings.transport);
        tokio::spawn(async move {
            loop {
                if let Err(error) = store.run_auto_notices(&settings).await {
                    tracing::error!(%error, "the rule's initial notices could not be checked");
                }
                loop {
                    match store.deliver_due(&mailer, &settings).await {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(error) => {
                            tracing::error!(%error, "the outbox could not be read");
                            break;
                        }
                    }
                }
                let _ = tokio::time::timeout(POLL, wake.notified()).await;
            }
        });
        outbox
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Wakes the task and waits, at most `limit`, until each of `ids` has had its first answer: a page that
    /// redirects after Send then shows them sent (or retrying), not merely queued.
    pub async fn settle(&self, store: &Store, ids: &[i64], limit: Duration) {
        self.wake();
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if store.notices_settled(ids).await.unwrap_or(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
