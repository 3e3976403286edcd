//! The demo's past: six weeks of closed alerts on the demo's CIs, the proactive cases opened for most of them, the
//! notices sent to their accounts and the reactive cases some customers raised, so the dashboard of a fresh
//! `scripts/serve` shows trends (faster cases, earlier notices, more customers told before they call) rather than
//! one week of a few alerts. Written with its own number range (`Alert0009…`, `CS0009…`), below the counters the
//! live data starts from, so every number the README and the tests name stays as it is.

use crate::store::{clock, Store};

/// Weeks of history before the current one.
const WEEKS: i64 = 6;
/// What each past week had: (alerts raised, of which got a case, minutes from alert to case, minutes from case to
/// the notices, minutes from case to a reactive case) — cases faster and notices earlier as the weeks go on.
const WEEKLY: [(i64, i64, i64, i64, i64); WEEKS as usize] = [
    (9, 5, 55, 70, 40),
    (11, 7, 42, 50, 45),
    (8, 6, 30, 35, 50),
    (12, 10, 21, 25, 55),
    (10, 9, 14, 18, 60),
    (13, 12, 9, 12, 65),
];
/// The demo CIs history's alerts are on, with a description each.
const ON: [(&str, &str); 4] = [
    ("db-host-01", "Disk latency above 200 ms"),
    ("mail-relay-01", "SMTP queue above 500 messages"),
    ("edge-router-07", "Packet loss above 5% on uplink"),
    ("payments-app", "HTTP 5xx rate above 2%"),
];

impl Store {
    /// Writes the demo's history into a database holding the demo data and no history yet, in one transaction;
    /// answers how many alerts it wrote (0 when there was nothing to do).
    pub async fn seed_demo_history(&self) -> Result<u64, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let written: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE number LIKE 'Alert0009%'")
            .fetch_one(&mut *tx)
            .await?;
        let accounts: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, name FROM accounts WHERE name IN ('Acme Corporation', 'Globex Industries', 'Initech',
                                                          'Umbrella Health') ORDER BY name",
        )
        .fetch_all(&mut *tx)
        .await?;
        if written > 0 || accounts.len() < 4 {
            return Ok(0);
        }
        let this_week = crate::dashboard::weeks::monday(clock::now_secs());
        let mut alerts = 0u64;
        for (week, &(raised, with_case, to_case, to_notice, to_call)) in WEEKLY.iter().enumerate() {
            let monday = this_week - (WEEKS - week as i64) * 7 * 86_400;
            for n in 0..raised {
                let seq = week as i64 * 20 + n + 1;
                let (ci, description) = ON[(seq % ON.len() as i64) as usize];
                let ci_id: i64 = sqlx::query_scalar("SELECT id FROM configuration_items WHERE name = $1")
                    .bind(ci)
                    .fetch_one(&mut *tx)
                    .await?;
                // Spread over the working week, each open for two to seven hours.
                let raised_at = monday + (n % 5) * 86_400 + (8 + n % 9) * 3_600 + n * 7 * 60;
                let closed_at = raised_at + (2 + n % 6) * 3_600;
                let number = format!("Alert{:07}", 9_000 + seq);
                let alert_id: i64 = sqlx::query_scalar(
                    "INSERT INTO alerts (number, source, node, message_key, description, severity, state, ci_id,
                                         event_count, first_event_at, last_event_at, closed_at)
                     VALUES ($1, 'Nagios', $2, $3, $4, $5, 'Closed', $6, $7, $8, $9, $9) RETURNING id",
                )
                .bind(&number)
                .bind(ci)
                .bind(format!("history-{seq}"))
                .bind(format!("{description} on {ci}"))
                .bind(1 + seq % 3)
                .bind(ci_id)
                .bind(2 + seq % 9)
                .bind(clock::utc_text(raised_at))
                .bind(clock::utc_text(closed_at))
                .fetch_one(&mut *tx)
                .await?;
                alerts += 1;
                if n >= with_case {
                    continue;
                }
                // Its case, a few minutes later (fewer as the weeks go on), for one account or two.
                let opened = raised_at + (to_case + n * 3) * 60;
                let (first, second) = (&accounts[(seq % 4) as usize], &accounts[((seq + 1) % 4) as usize]);
                let parties: Vec<&(i64, String)> = if n % 3 == 0 { vec![first, second] } else { vec![first] };
                let case: i64 = sqlx::query_scalar(
                    "INSERT INTO cases (number, proactive, alert_id, account_id, short_description, priority, state,
                                        resolution_notes, opened_by, opened_at)
                     VALUES ($1, 1, $2, $3, $4, 2, 'Closed', 'Resolved at the source.', 'operator', $5) RETURNING id",
                )
                .bind(format!("CS{:07}", 9_000 + seq))
                .bind(alert_id)
                .bind((parties.len() == 1).then_some(first.0))
                .bind(format!("{description} on {ci}"))
                .bind(clock::utc_text(opened))
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("UPDATE alerts SET case_id = $1 WHERE id = $2")
                    .bind(case)
                    .bind(alert_id)
                    .execute(&mut *tx)
                    .await?;
                for (k, (account, name)) in parties.iter().enumerate() {
                    let child = if parties.len() == 1 {
                        case
                    } else {
                        sqlx::query_scalar(
                            "INSERT INTO cases (number, proactive, alert_id, parent_id, account_id, short_description,
                                                priority, state, resolution_notes, opened_by, opened_at)
                             VALUES ($1, 1, $2, $3, $4, $5, 2, 'Closed', 'Resolved at the source.', 'operator', $6)
                             RETURNING id",
                        )
                        .bind(format!("CS{:07}", 9_200 + seq * 2 + k as i64))
                        .bind(alert_id)
                        .bind(case)
                        .bind(account)
                        .bind(format!("{description} on {ci}"))
                        .bind(clock::utc_text(opened))
                        .fetch_one(&mut *tx)
                        .await?
                    };
                    sqlx::query(
                        "INSERT INTO case_accounts (case_id, account_id, child_case_id, items, added_at)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(case)
                    .bind(account)
                    .bind(child)
                    .bind(1 + (seq + k as i64) % 6)
                    .bind(clock::utc_text(opened))
                    .execute(&mut *tx)
                    .await?;
                    let told = opened + (to_notice + k as i64 * 5) * 60;
                    sqlx::query(
                        "INSERT INTO notices (case_id, account_id, child_case_id, kind, seq, recipients, subject, body,
                                              message_id, status, attempts, created_by, created_at, sent_at, answer)
                         VALUES ($1, $2, $3, 'initial', 1, $4, $5, $6, $7, 'sent', 1, 'agent', $8, $8,
                                 '250 2.0.0 queued (demo history)')",
                    )
                    .bind(case)
                    .bind(account)
                    .bind(child)
                    .bind(format!(
                        "Service desk <service@{}.example>",
                        name.split(' ').next().unwrap_or("customer").to_lowercase()
                    ))
                    .bind(format!("Service notice: {description}"))
                    .bind(format!(
                        "We are working on {description} on {ci}, which affects your services."
                    ))
                    .bind(format!("<demo-history.{seq}.{k}@forestall.example>"))
                    .bind(clock::utc_text(told))
                    .execute(&mut *tx)
                    .await?;
                    // Every third account calls: before the notice in the early weeks, after it later on.
                    if (seq + k as i64) % 3 == 0 {
                        sqlx::query(
                            "INSERT INTO cases (number, proactive, account_id, short_description, priority, state,
                                                resolution_notes, opened_by, opened_at, channel, related_case_id)
                             VALUES ($1, 0, $2, $3, 3, 'Closed', 'Answered with the notice.', 'agent', $4, $5, $6)",
                        )
                        .bind(format!("CS{:07}", 9_500 + seq * 2 + k as i64))
                        .bind(account)
                        .bind(format!("Customer reports: {description}"))
                        .bind(clock::utc_text(opened + to_call * 60))
                        .bind(["phone", "email", "web"][(seq % 3) as usize])
                        .bind(case)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(alerts)
    }
}
