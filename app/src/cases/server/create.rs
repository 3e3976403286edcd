//! Create Case: the proactive case, its child cases, the alert's Case field and every journal line, in one
//! transaction.

use super::draft::{affected_accounts, alert_for_case, AlertForCase};
use crate::{
    audit::{server::Audit, AuditAction},
    cases::{AccountChoice, CaseCreated, NewCase, SHORT_DESCRIPTION_MAX, WORK_NOTES_MAX},
    domain::{bounded_text, parse_alert_number, CaseNumber, CasePrefix, Priority},
    journal::{write_journal as journal, JournalKind},
    store::{next_number, now_text, violates, Store, ONE_PROACTIVE_CASE_PER_ALERT},
    AppError,
};
use sqlx::AnyConnection;

/// Parses an optional id from a form select; empty means none.
fn optional_id(field: &str, label: &str, value: Option<&str>) -> Result<Option<i64>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::invalid(field, format!("Choose a {label} from the list."))),
    }
}

/// The input, checked before any database work: what is wrong with it is the agent's to fix.
pub(super) struct CheckedCase {
    pub(super) short_description: String,
    pub(super) priority: Priority,
    pub(super) work_notes: String,
    pub(super) account: Option<i64>,
    pub(super) contact: Option<i64>,
}

/// A case form's short description and priority, checked (the fields `short_description` and `priority`).
pub(super) fn summary(short_description: &str, priority: &str) -> Result<(String, Priority), AppError> {
    let short_description = bounded_text(
        "short_description",
        "Short description",
        short_description,
        1,
        SHORT_DESCRIPTION_MAX,
    )?;
    let priority = priority
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(Priority::from_code)
        .ok_or_else(|| AppError::invalid("priority", "Choose a priority from 1 - Critical to 4 - Low."))?;
    Ok((short_description, priority))
}

fn check(input: &NewCase) -> Result<CheckedCase, AppError> {
    let (short_description, priority) = summary(&input.short_description, &input.priority)?;
    let work_notes = bounded_text("work_notes", "Work notes", &input.work_notes, 0, WORK_NOTES_MAX)?;
    Ok(CheckedCase {
        short_description,
        priority,
        work_notes,
        account: optional_id("account", "account", input.account.as_deref())?,
        contact: optional_id("contact", "contact", input.contact.as_deref())?,
    })
}

/// Inserts one case row and returns its id and number.
#[allow(clippy::too_many_arguments)] // the columns of one row
pub(super) async fn insert_case(
    conn: &mut AnyConnection,
    alert_id: i64,
    parent: Option<i64>,
    account: Option<i64>,
    contact: Option<i64>,
    product: Option<i64>,
    case: &CheckedCase,
    actor: &str,
) -> Result<(i64, CaseNumber), sqlx::Error> {
    let number = next_number::<CasePrefix>(conn).await?;
    let id = sqlx::query_scalar(
        "INSERT INTO cases (number, proactive, alert_id, parent_id, account_id, contact_id, product_id,
                            short_description, priority, state, opened_by, opened_at)
         VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, 'New', $9, $10) RETURNING id",
    )
    .bind(number.to_string())
    .bind(alert_id)
    .bind(parent)
    .bind(account)
    .bind(contact)
    .bind(product)
    .bind(&case.short_description)
    .bind(i64::from(case.priority.code()))
    .bind(actor)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await?;
    Ok((id, number))
}

/// Links a case to the snapshot's items, all of them or one account's.
pub(super) async fn link_items(
    conn: &mut AnyConnection,
    case_id: i64,
    alert_id: i64,
    account: Option<i64>,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_items (case_id, item_id)
         SELECT $1, ai.item_id FROM affected_items ai JOIN install_base_items ib ON ib.id = ai.item_id
         WHERE ai.alert_id = $2 AND (CAST($3 AS BIGINT) IS NULL OR ib.account_id = $3)",
    )
    .bind(case_id)
    .bind(alert_id)
    .bind(account)
    .execute(conn)
    .await
    .map(|done| done.rows_affected())
}

/// Records that case `case_id` covers `account`, which hears through case `child_id` (its child case, or the case
/// itself when it is the one account), with `items` affected: Customer impact's row.
pub(super) async fn cover_account(
    conn: &mut AnyConnection,
    case_id: i64,
    account: i64,
    child_id: i64,
    items: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_accounts (case_id, account_id, child_case_id, items, affected, added_at)
         VALUES ($1, $2, $3, $4, 1, $5)",
    )
    .bind(case_id)
    .bind(account)
    .bind(child_id)
    .bind(i64::try_from(items).unwrap_or(i64::MAX))
    .bind(now_text())
    .execute(conn)
    .await
    .map(drop)
}

/// The one product all of the snapshot's items (of one account, or all) share, if they share one.
pub(super) async fn common_product(
    conn: &mut AnyConnection,
    alert_id: i64,
    account: Option<i64>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CASE WHEN COUNT(DISTINCT ib.product_id) = 1 AND COUNT(*) = COUNT(ib.product_id)
                     THEN MIN(ib.product_id) END
         FROM affected_items ai JOIN install_base_items ib ON ib.id = ai.item_id
         WHERE ai.alert_id = $1 AND (CAST($2 AS BIGINT) IS NULL OR ib.account_id = $2)",
    )
    .bind(alert_id)
    .bind(account)
    .fetch_one(conn)
    .await
}

fn conflict(alert: &str, existing: String) -> AppError {
    AppError::Conflict {
        message: format!("{alert} already has proactive case {existing}. No second case was created."),
        existing,
    }
}

/// Who the top-level case is for: the one affected account, the account the agent chose when the snapshot names
/// none, or nobody for a major case (its children carry the accounts); and the contact, who must belong to it.
async fn case_party(
    conn: &mut AnyConnection,
    accounts: &[AccountChoice],
    case: &CheckedCase,
) -> Result<(Option<i64>, Option<i64>), AppError> {
    let (account, contact) = match accounts {
        [] => (case.account, case.contact),
        [only] => (Some(only.id), case.contact.or(only.primary_contact)),
        _ => (None, None),
    };
    if let Some(contact) = contact {
        let belongs: Option<i64> =
            sqlx::query_scalar("SELECT id FROM contacts WHERE id = $1 AND account_id IS NOT DISTINCT FROM $2")
                .bind(contact)
                .bind(account)
                .fetch_optional(&mut *conn)
                .await?;
        if belongs.is_none() {
            return Err(AppError::invalid("contact", "Choose a contact of the case's account."));
        }
    }
    if let Some(account) = account.filter(|_| accounts.is_empty()) {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Err(AppError::invalid("account", "Choose an account from the list."));
        }
    }
    Ok((account, contact))
}

/// One child case per affected account under major case `parent`, each with that account's items and an activity
/// line; their numbers, in account order.
async fn open_child_cases(
    conn: &mut AnyConnection,
    alert: &AlertForCase,
    (parent_id, parent): (i64, &CaseNumber),
    accounts: &[AccountChoice],
    case: &CheckedCase,
    actor: &str,
) -> Result<Vec<String>, AppError> {
    let mut children = Vec::with_capacity(accounts.len());
    for account in accounts {
        let product = common_product(conn, alert.id, Some(account.id)).await?;
        let (child_id, child_number) = insert_case(
            conn,
            alert.id,
            Some(parent_id),
            Some(account.id),
            account.primary_contact,
            product,
            case,
            actor,
        )
        .await?;
        let child_items = link_items(conn, child_id, alert.id, Some(account.id)).await?;
        cover_account(conn, parent_id, account.id, child_id, child_items).await?;
        let body = format!(
            "Child case of major case {parent} for {}, opened from {}; covers {child_items} install base item(s).",
            account.name, alert.number
        );
        journal(conn, Some(child_id), None, JournalKind::Activity, actor, &body).await?;
        children.push(child_number.to_string());
    }
    Ok(children)
}

/// Puts the case into the alert's Case field, with the alert's activity line and the audit entry.
async fn fill_case_field(
    conn: &mut AnyConnection,
    alert: &AlertForCase,
    (case_id, number): (i64, &CaseNumber),
    children: &[String],
    actor: &str,
) -> Result<(), AppError> {
    let updated = sqlx::query("UPDATE alerts SET case_id = $1 WHERE id = $2 AND case_id IS NULL")
        .bind(case_id)
        .bind(alert.id)
        .execute(&mut *conn)
        .await?;
    if updated.rows_affected() != 1 {
        tracing::error!(alert = %alert.number, "alert gained a case inside the write lock");
        return Err(AppError::Internal);
    }
    let activity = match children {
        [] => format!("Proactive case {number} created."),
        [_] | [_, _] | [_, _, _] | [_, _, _, _] | [_, _, _, _, _] => format!(
            "Major proactive case {number} created, with child cases {}.",
            children.join(", ")
        ),
        // Hundreds of accounts would not fit an activity line (4,000 characters): the count, the range, and
        // where the list is.
        [first, .., last] => format!(
            "Major proactive case {number} created, with {} child cases, {first} to {last}: the case page lists them.",
            children.len()
        ),
    };
    journal(conn, None, Some(alert.id), JournalKind::Activity, actor, &activity).await?;
    Audit {
        actor,
        action: AuditAction::CaseCreated,
        record: Some(&number.to_string()),
        detail: &activity,
        address: None,
    }
    .write(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Creates the alert's proactive case in one transaction: the case (and one child case per account when the
    /// snapshot spans several), its item links, the work note, the alert's Case field and the alert's activity.
    #[tracing::instrument(skip(self, input), fields(alert = %input.alert), err(Debug, level = "debug"))]
    pub async fn create_proactive_case(&self, input: &NewCase, actor: &str) -> Result<CaseCreated, AppError> {
        let alert_number = parse_alert_number(&input.alert)?;
        let case = check(input)?;
        let mut tx = self.begin_write().await?;
        // On PostgreSQL the alert's row is locked first: a refresh locks it too before it replaces the snapshot, so
        // the accounts, items and children below all come from one snapshot, never half of two. (SQLite's write
        // transaction holds the whole database already.)
        let lock = self.for_update();
        if !lock.is_empty() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id FROM alerts WHERE number = $1{lock}"
            )))
            .bind(alert_number.to_string())
            .execute(&mut *tx)
            .await?;
        }
        let alert = alert_for_case(&mut tx, &alert_number.to_string()).await?;
        if let Some(existing) = alert.case_number {
            return Err(conflict(&alert.number, existing));
        }
        let accounts = affected_accounts(&mut tx, alert.id).await?;
        let (account, contact) = case_party(&mut tx, &accounts, &case).await?;

        let product = common_product(&mut tx, alert.id, account).await?;
        let (case_id, number) =
            match insert_case(&mut tx, alert.id, None, account, contact, product, &case, actor).await {
                Ok(inserted) => inserted,
                // Only a concurrent writer that bypassed the write lock (another database client) gets here: the
                // index that keeps one proactive case per alert refused this one.
                Err(error) if violates(&error, ONE_PROACTIVE_CASE_PER_ALERT) => {
                    drop(tx);
                    let existing = alert_for_case(&mut *self.pool().acquire().await?, &alert.number).await?;
                    return Err(conflict(&alert.number, existing.case_number.unwrap_or_default()));
                }
                Err(error) => return Err(error.into()),
            };
        let linked = link_items(&mut tx, case_id, alert.id, None).await?;
        if let (Some(account), 0 | 1) = (account, accounts.len()) {
            cover_account(&mut tx, case_id, account, case_id, linked).await?;
        }
        if !case.work_notes.is_empty() {
            journal(
                &mut tx,
                Some(case_id),
                None,
                JournalKind::WorkNote,
                actor,
                &case.work_notes,
            )
            .await?;
        }
        let children = if accounts.len() > 1 {
            open_child_cases(&mut tx, &alert, (case_id, &number), &accounts, &case, actor).await?
        } else {
            Vec::new()
        };
        let kind = if children.is_empty() {
            "Proactive case"
        } else {
            "Major proactive case"
        };
        let body = format!(
            "{kind} opened from {}; covers {linked} install base item(s).",
            alert.number
        );
        journal(&mut tx, Some(case_id), None, JournalKind::Activity, actor, &body).await?;
        fill_case_field(&mut tx, &alert, (case_id, &number), &children, actor).await?;
        tx.commit().await?;
        tracing::info!(alert = %alert.number, case = %number, children = children.len(), "proactive case created");
        Ok(CaseCreated {
            number: number.to_string(),
            children,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(short_description: &str, priority: &str, work_notes: &str) -> NewCase {
        NewCase {
            alert: "Alert0010001".into(),
            short_description: short_description.into(),
            priority: priority.into(),
            work_notes: work_notes.into(),
            ..NewCase::default()
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        let table = [
            (input("", "1", ""), "short_description"),
            (input(&"x".repeat(161), "1", ""), "short_description"),
            (input("ok", "0", ""), "priority"),
            (input("ok", "high", ""), "priority"),
            (input("ok", "2", &"n".repeat(4001)), "work_notes"),
            (
                NewCase {
                    contact: Some("abc".into()),
                    ..input("ok", "2", "")
                },
                "contact",
            ),
        ];
        for (case, field) in table {
            match check(&case) {
                Err(AppError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!(
                    "{field}: expected Invalid, got {:?}",
                    other.map(|c| c.short_description)
                ),
            }
        }
        let ok = check(&NewCase {
            contact: Some(" ".into()),
            ..input(" Disk full ", "2", " note ")
        })
        .expect("valid");
        assert_eq!(
            (ok.short_description.as_str(), ok.priority, ok.work_notes.as_str()),
            ("Disk full", Priority::High, "note")
        );
        assert_eq!(ok.contact, None);
    }
}
