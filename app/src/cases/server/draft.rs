//! The Create Case form's draft: what the alert and its snapshot suggest.

use crate::{
    cases::{AccountChoice, CaseDraft, ContactChoice, SHORT_DESCRIPTION_MAX},
    domain::{parse_alert_number, Severity},
    store::Store,
    AppError,
};
use sqlx::{AnyConnection, FromRow};

#[derive(FromRow)]
pub(super) struct AlertForCase {
    pub(super) id: i64,
    pub(super) number: String,
    pub(super) description: String,
    pub(super) node: String,
    #[sqlx(try_from = "i64")]
    pub(super) severity: Severity,
    pub(super) case_number: Option<String>,
    pub(super) ib_refreshed_at: Option<String>,
}

pub(super) async fn alert_for_case(conn: &mut AnyConnection, alert: &str) -> Result<AlertForCase, AppError> {
    let number = parse_alert_number(alert)?;
    sqlx::query_as(
        "SELECT a.id, a.number, a.description, a.node, a.severity, c.number AS case_number, a.ib_refreshed_at
         FROM alerts a LEFT JOIN cases c ON c.id = a.case_id WHERE a.number = $1",
    )
    .bind(number.to_string())
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| AppError::not_found("Alert", number.to_string()))
}

/// Accounts with items in the alert's snapshot, with how many each, by name.
pub(super) async fn affected_accounts(
    conn: &mut AnyConnection,
    alert_id: i64,
) -> Result<Vec<AccountChoice>, sqlx::Error> {
    sqlx::query_as::<_, (i64, String, String, Option<i64>, i64)>(
        "SELECT acc.id, acc.name, acc.kind, acc.primary_contact_id, COUNT(*)
         FROM affected_items ai
         JOIN install_base_items ib ON ib.id = ai.item_id
         JOIN accounts acc ON acc.id = ib.account_id
         WHERE ai.alert_id = $1
         GROUP BY acc.id ORDER BY acc.name",
    )
    .bind(alert_id)
    .fetch_all(conn)
    .await
    .map(|rows| rows.into_iter().map(account_choice).collect())
}

fn account_choice((id, name, kind, primary_contact, items): (i64, String, String, Option<i64>, i64)) -> AccountChoice {
    AccountChoice {
        id,
        name,
        external: kind == "external",
        primary_contact,
        items,
    }
}

/// The short description a case starts with: the alert's description, cut to fit.
fn default_short_description(alert: &AlertForCase) -> String {
    let text = if alert.description.trim().is_empty() {
        format!("Proactive case for {} on {}", alert.number, alert.node)
    } else {
        alert.description.trim().to_owned()
    };
    text.chars().take(SHORT_DESCRIPTION_MAX).collect()
}

impl Store {
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn case_draft(&self, alert: &str) -> Result<CaseDraft, AppError> {
        let mut conn = self.pool().acquire().await?;
        let record = alert_for_case(&mut conn, alert).await?;
        let affected = affected_accounts(&mut conn, record.id).await?;
        let items = affected.iter().map(|a| a.items).sum();
        let other_accounts = if affected.is_empty() {
            sqlx::query_as::<_, (i64, String, String, Option<i64>, i64)>(
                "SELECT id, name, kind, primary_contact_id, 0 FROM accounts ORDER BY name",
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(account_choice)
            .collect()
        } else {
            Vec::new()
        };
        // One affected account: its contacts. None: everyone's, labelled by account. Several: each child case gets
        // its account's primary contact, so there is nothing to choose.
        let contact_account = match affected.as_slice() {
            [only] => Some(only.id),
            _ => None,
        };
        let contacts: Vec<ContactChoice> =
            if affected.len() > 1 {
                Vec::new()
            } else {
                sqlx::query_as::<_, (i64, String, i64, String)>(
                "SELECT co.id, co.name, acc.id, acc.name FROM contacts co JOIN accounts acc ON acc.id = co.account_id
                 WHERE CAST($1 AS BIGINT) IS NULL OR acc.id = $1 ORDER BY acc.name, co.name",
            )
            .bind(contact_account)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id, name, account_id, account)| ContactChoice { id, name, account_id, account })
            .collect()
            };
        Ok(CaseDraft {
            alert: record.number.clone(),
            short_description: default_short_description(&record),
            priority: record.severity.case_priority(),
            existing_case: record.case_number,
            affected_accounts: affected,
            other_accounts,
            contacts,
            items,
            snapshot_taken: record.ib_refreshed_at.is_some(),
        })
    }
}
