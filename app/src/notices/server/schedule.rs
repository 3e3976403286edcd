//! The rule's initial notice: a case the rule opened with `send the initial notice` waits out the hold-down time;
//! then, if its alert is still open and not flapping, the notice goes to every affected account not yet told.

use super::{resolve_top, send_in, untold_accounts, NoticeSettings};
use crate::{
    journal::{write_journal, JournalKind},
    notices::NoticeKind,
    store::{clock, now_text, Store},
    AppError,
};

/// Who the journal says sent a notice the rule sent.
pub const RULE_ACTOR: &str = "Create Proactive Case rule";

/// The rule's notice is settled: sent, or not to be sent.
async fn settle(conn: &mut sqlx::AnyConnection, case_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET auto_notice = 'done', auto_notice_at = NULL WHERE id = $1")
        .bind(case_id)
        .execute(conn)
        .await
        .map(drop)
}

impl Store {
    /// Sends, postpones or drops each scheduled initial notice whose time has come.
    pub async fn run_auto_notices(&self, settings: &NoticeSettings) -> Result<(), AppError> {
        let due: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.number, a.state FROM cases c JOIN alerts a ON a.id = c.alert_id
             WHERE c.auto_notice = 'scheduled' AND c.auto_notice_at <= $1 ORDER BY c.auto_notice_at LIMIT 20",
        )
        .bind(now_text())
        .fetch_all(self.pool())
        .await?;
        for (number, _) in due {
            let mut tx = self.begin_write().await?;
            let case = resolve_top(&mut tx, &number).await?;
            if case.auto_notice.as_deref() != Some("scheduled") {
                continue;
            }
            let alert: String = sqlx::query_scalar("SELECT state FROM alerts WHERE id = $1")
                .bind(case.alert_id)
                .fetch_one(&mut *tx)
                .await?;
            let line = match alert.as_str() {
                "Flapping" => {
                    let at = clock::utc_text(clock::now_secs() + settings.hold_down_secs);
                    sqlx::query("UPDATE cases SET auto_notice_at = $2 WHERE id = $1")
                        .bind(case.id)
                        .bind(&at)
                        .execute(&mut *tx)
                        .await?;
                    format!("Initial notice postponed to {at} UTC: the alert is flapping.")
                }
                "Closed" => {
                    settle(&mut tx, case.id).await?;
                    "Initial notice not sent: the alert was resolved within the hold-down time.".to_owned()
                }
                _ => {
                    let chosen = untold_accounts(&mut tx, &case, settings).await?;
                    if chosen.is_empty() {
                        settle(&mut tx, case.id).await?;
                        "Initial notice not sent by the rule: no affected account can get it (see Customer impact)."
                            .to_owned()
                    } else {
                        let outcome =
                            send_in(&mut tx, &case, NoticeKind::Initial, 1, &chosen, RULE_ACTOR, settings).await?;
                        settle(&mut tx, case.id).await?;
                        tx.commit().await?;
                        tracing::info!(case = %case.number, accounts = outcome.queued.len(), "the rule sent the initial notice");
                        continue;
                    }
                }
            };
            write_journal(&mut tx, Some(case.id), None, JournalKind::Activity, RULE_ACTOR, &line).await?;
            tx.commit().await?;
        }
        Ok(())
    }
}
