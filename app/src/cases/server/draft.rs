//! The Create Case form's draft: what the alert and its snapshot suggest.

use crate::ui::grouped;
use crate::{
    cases::{
        AccountChoice, CaseDraft, ContactChoice, ACCOUNT_CHOICES_MAX, ACCOUNT_SEARCH_MAX, CONTACT_CHOICES_MAX,
        SHORT_DESCRIPTION_MAX,
    },
    domain::{parse_alert_number, Severity},
    store::{like_pattern, placeholders, Store},
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

/// The accounts offered when the snapshot names none: those whose name holds `search` (all without one), by
/// name, at most [`ACCOUNT_CHOICES_MAX`]; and how many match.
pub(super) async fn offered_accounts(
    conn: &mut AnyConnection,
    search: Option<&str>,
) -> Result<(Vec<AccountChoice>, u64), sqlx::Error> {
    // Lower-cased on both sides, as All Alerts' search: it ignores case on either database.
    let pattern = search.map(|text| like_pattern(&text.to_lowercase()));
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM accounts WHERE {ACCOUNT_MATCHES}"
    )))
    .bind(pattern.as_deref())
    .fetch_one(&mut *conn)
    .await?;
    let accounts = sqlx::query_as::<_, (i64, String, String, Option<i64>, i64)>(sqlx::AssertSqlSafe(format!(
        "SELECT id, name, kind, primary_contact_id, 0 FROM accounts WHERE {ACCOUNT_MATCHES} ORDER BY name LIMIT $2"
    )))
    .bind(pattern.as_deref())
    .bind(i64::from(ACCOUNT_CHOICES_MAX))
    .fetch_all(conn)
    .await?;
    Ok((
        accounts.into_iter().map(account_choice).collect(),
        u64::try_from(total).unwrap_or(0),
    ))
}

/// An account whose name holds the search pattern `$1`, or any account when `$1` is null.
const ACCOUNT_MATCHES: &str = "(CAST($1 AS TEXT) IS NULL OR lower(name) LIKE $1 ESCAPE '\\')";

/// The contacts of `accounts`, by account and name with each account's primary contact first, at most
/// [`CONTACT_CHOICES_MAX`]; and how many they have.
pub(super) async fn contacts_of(
    conn: &mut AnyConnection,
    accounts: &[i64],
) -> Result<(Vec<ContactChoice>, u64), sqlx::Error> {
    if accounts.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let ids = placeholders(accounts.len());
    let total: i64 = accounts
        .iter()
        .fold(
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM contacts WHERE account_id IN ({ids})"
            ))),
            |query, account| query.bind(*account),
        )
        .fetch_one(&mut *conn)
        .await?;
    let limit = format!("${}", accounts.len() + 1);
    let contacts = accounts
        .iter()
        .fold(
            sqlx::query_as::<_, (i64, String, i64, String)>(sqlx::AssertSqlSafe(format!(
                "SELECT co.id, co.name, acc.id, acc.name FROM contacts co JOIN accounts acc ON acc.id = co.account_id
                 WHERE acc.id IN ({ids})
                 ORDER BY acc.name, CASE WHEN co.id = acc.primary_contact_id THEN 0 ELSE 1 END, co.name, co.id
                 LIMIT {limit}"
            ))),
            |query, account| query.bind(*account),
        )
        .bind(i64::from(CONTACT_CHOICES_MAX))
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|(id, name, account_id, account)| ContactChoice {
            id,
            name,
            account_id,
            account,
        })
        .collect();
    Ok((contacts, u64::try_from(total).unwrap_or(0)))
}

/// The search as typed, trimmed, and cut to [`ACCOUNT_SEARCH_MAX`] characters (no account's name is longer); none
/// when empty. Cut rather than refused: the search comes in the alert page's address, which should still open.
pub(super) fn account_search(search: Option<&str>) -> Option<String> {
    search
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(ACCOUNT_SEARCH_MAX).collect())
}

impl Store {
    /// The Create Case form's draft. Every list in it is bounded: without a snapshot naming an account, the form
    /// offers the first [`ACCOUNT_CHOICES_MAX`] accounts whose name holds `search` (all accounts without one), not
    /// every account there is.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn case_draft(&self, alert: &str, search: Option<&str>) -> Result<CaseDraft, AppError> {
        let search = account_search(search);
        let mut conn = self.pool().acquire().await?;
        let record = alert_for_case(&mut conn, alert).await?;
        let affected = affected_accounts(&mut conn, record.id).await?;
        let items = affected.iter().map(|a| a.items).sum();
        let (other_accounts, other_accounts_total) = if affected.is_empty() {
            offered_accounts(&mut conn, search.as_deref()).await?
        } else {
            (Vec::new(), 0)
        };
        // One affected account: its contacts. None: those of the accounts offered, labelled by account. Several:
        // each child case gets its account's primary contact, so there is nothing to choose.
        let (contacts, contacts_total) = match affected.as_slice() {
            [] => contacts_of(&mut conn, &ids(&other_accounts)).await?,
            [_] => contacts_of(&mut conn, &ids(&affected)).await?,
            _ => (Vec::new(), 0),
        };
        let mut draft = CaseDraft {
            alert: record.number.clone(),
            short_description: default_short_description(&record),
            priority: record.severity.case_priority(),
            existing_case: record.case_number,
            affected_accounts: affected,
            other_accounts,
            other_accounts_total,
            account_search: search,
            contacts,
            contacts_total,
            items,
            snapshot_taken: record.ib_refreshed_at.is_some(),
            accounts_hint: None,
            contacts_hint: None,
        };
        // Written here rather than in the browser: the form only shows them (and the wasm stays smaller).
        draft.accounts_hint = accounts_hint(&draft);
        draft.contacts_hint = contacts_hint(&draft);
        Ok(draft)
    }
}

fn ids(accounts: &[AccountChoice]) -> Vec<i64> {
    accounts.iter().map(|a| a.id).collect()
}

/// What the Account list holds when the agent chooses from it: all that match, or how to find the others.
fn accounts_hint(draft: &CaseDraft) -> Option<String> {
    let (shown, total) = (draft.other_accounts.len() as u64, draft.other_accounts_total);
    match &draft.account_search {
        Some(search) if total == 0 => Some(format!("No account's name holds “{search}”.")),
        Some(search) if shown >= total => Some(format!(
            "{} account{} whose name holds “{search}”.",
            grouped(total),
            if total == 1 { "" } else { "s" }
        )),
        _ if shown >= total => None,
        Some(search) => Some(format!(
            "The first {} of {} accounts whose name holds “{search}”: find by more of the name to narrow them.",
            grouped(shown),
            grouped(total)
        )),
        None => Some(format!(
            "The first {} of {} accounts, by name: find an account by name to choose another.",
            grouped(shown),
            grouped(total)
        )),
    }
}

/// What the Contact list holds when it is cut.
fn contacts_hint(draft: &CaseDraft) -> Option<String> {
    let (shown, total) = (draft.contacts.len() as u64, draft.contacts_total);
    (shown < total).then(|| {
        let narrow = match draft.affected_accounts.is_empty() {
            true => ", of the accounts listed: find the account to narrow them",
            false => ", the primary contact first",
        };
        format!("The first {} of {} contacts{narrow}.", grouped(shown), grouped(total))
    })
}
