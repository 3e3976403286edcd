//! Case queries, and the one transaction that creates a proactive case.

use super::{
    AccountChoice, CaseCreated, CaseDetail, CaseDraft, CaseItem, CaseListPage, CaseRow, ContactChoice, NewCase,
    PAGE_SIZE, SHORT_DESCRIPTION_MAX, WORK_NOTES_MAX,
};
use crate::{
    alerts::server::{decode_severity, parse_alert_number},
    audit::{server::Audit, AuditAction},
    domain::{bounded_text, CaseNumber, CasePrefix, CaseState, Priority},
    journal::JournalKind,
    store::{next_number, now_text, violates, write_journal as journal, Store, Window, ONE_PROACTIVE_CASE_PER_ALERT},
    AppError,
};
use sqlx::{AnyConnection, FromRow};

mod work;

#[derive(FromRow)]
struct AlertForCase {
    id: i64,
    number: String,
    description: String,
    node: String,
    severity: i64,
    case_number: Option<String>,
    ib_refreshed_at: Option<String>,
}

#[derive(FromRow)]
struct CaseRowRecord {
    number: String,
    short_description: String,
    priority: i64,
    state: String,
    proactive: i64,
    account: Option<String>,
    alert: Option<String>,
    parent: Option<String>,
    opened_at: String,
    assigned_to: Option<String>,
}

impl CaseRowRecord {
    fn into_row(self) -> Result<CaseRow, AppError> {
        Ok(CaseRow {
            priority: Priority::from_code(self.priority).ok_or(AppError::Internal)?,
            state: CaseState::parse(&self.state).ok_or(AppError::Internal)?,
            number: self.number,
            short_description: self.short_description,
            proactive: self.proactive != 0,
            account: self.account,
            alert: self.alert,
            parent: self.parent,
            opened_at: self.opened_at,
            assigned_to: self.assigned_to,
        })
    }
}

const CASE_ROW_SQL: &str = "
    SELECT c.number, c.short_description, c.priority, c.state, c.proactive, acc.name AS account,
           a.number AS alert, p.number AS parent, c.opened_at, c.assigned_to
    FROM cases c
    LEFT JOIN accounts acc ON acc.id = c.account_id
    LEFT JOIN alerts a ON a.id = c.alert_id
    LEFT JOIN cases p ON p.id = c.parent_id";

async fn alert_for_case(conn: &mut AnyConnection, alert: &str) -> Result<AlertForCase, AppError> {
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
async fn affected_accounts(conn: &mut AnyConnection, alert_id: i64) -> Result<Vec<AccountChoice>, sqlx::Error> {
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
struct CheckedCase {
    short_description: String,
    priority: Priority,
    work_notes: String,
    account: Option<i64>,
    contact: Option<i64>,
}

fn check(input: &NewCase) -> Result<CheckedCase, AppError> {
    let short_description = bounded_text(
        "short_description",
        "Short description",
        &input.short_description,
        1,
        SHORT_DESCRIPTION_MAX,
    )?;
    let priority = input
        .priority
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(Priority::from_code)
        .ok_or_else(|| AppError::invalid("priority", "Choose a priority from 1 - Critical to 4 - Low."))?;
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
async fn insert_case(
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
async fn link_items(
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

/// The one product all of the snapshot's items (of one account, or all) share, if they share one.
async fn common_product(
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
            priority: decode_severity(record.severity)?.case_priority(),
            existing_case: record.case_number,
            affected_accounts: affected,
            other_accounts,
            contacts,
            items,
            snapshot_taken: record.ib_refreshed_at.is_some(),
        })
    }

    /// Creates the alert's proactive case in one transaction: the case (and one child case per account when the
    /// snapshot spans several), its item links, the work note, the alert's Case field and the alert's activity.
    #[tracing::instrument(skip(self, input), fields(alert = %input.alert), err(Debug, level = "debug"))]
    pub async fn create_proactive_case(&self, input: &NewCase, actor: &str) -> Result<CaseCreated, AppError> {
        let alert_number = parse_alert_number(&input.alert)?;
        let case = check(input)?;
        let mut tx = self.begin_write().await?;
        let alert = alert_for_case(&mut tx, &alert_number.to_string()).await?;
        if let Some(existing) = alert.case_number {
            return Err(conflict(&alert.number, existing));
        }
        let accounts = affected_accounts(&mut tx, alert.id).await?;

        // Who the top-level case is for: the one affected account, the account the agent chose when the snapshot
        // names none, or nobody for a major case (its children carry the accounts).
        let (account, contact) = match accounts.as_slice() {
            [] => (case.account, case.contact),
            [only] => (Some(only.id), case.contact.or(only.primary_contact)),
            _ => (None, None),
        };
        if let Some(contact) = contact {
            let belongs: Option<i64> =
                sqlx::query_scalar("SELECT id FROM contacts WHERE id = $1 AND account_id IS NOT DISTINCT FROM $2")
                    .bind(contact)
                    .bind(account)
                    .fetch_optional(&mut *tx)
                    .await?;
            if belongs.is_none() {
                return Err(AppError::invalid("contact", "Choose a contact of the case's account."));
            }
        }
        if let Some(account) = account.filter(|_| accounts.is_empty()) {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
                .bind(account)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(AppError::invalid("account", "Choose an account from the list."));
            }
        }

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

        let mut children = Vec::new();
        if accounts.len() > 1 {
            for account in &accounts {
                let product = common_product(&mut tx, alert.id, Some(account.id)).await?;
                let (child_id, child_number) = insert_case(
                    &mut tx,
                    alert.id,
                    Some(case_id),
                    Some(account.id),
                    account.primary_contact,
                    product,
                    &case,
                    actor,
                )
                .await?;
                let child_items = link_items(&mut tx, child_id, alert.id, Some(account.id)).await?;
                let body = format!(
                    "Child case of major case {number} for {}, opened from {}; covers {child_items} install base item(s).",
                    account.name, alert.number
                );
                journal(&mut tx, Some(child_id), None, JournalKind::Activity, actor, &body).await?;
                children.push(child_number.to_string());
            }
        }
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

        let updated = sqlx::query("UPDATE alerts SET case_id = $1 WHERE id = $2 AND case_id IS NULL")
            .bind(case_id)
            .bind(alert.id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() != 1 {
            tracing::error!(alert = %alert.number, "alert gained a case inside the write lock");
            return Err(AppError::Internal);
        }
        let activity = if children.is_empty() {
            format!("Proactive case {number} created.")
        } else {
            format!(
                "Major proactive case {number} created, with child cases {}.",
                children.join(", ")
            )
        };
        journal(&mut tx, None, Some(alert.id), JournalKind::Activity, actor, &activity).await?;
        Audit {
            actor,
            action: AuditAction::CaseCreated,
            record: Some(&number.to_string()),
            detail: &activity,
            address: None,
        }
        .write(&mut tx)
        .await?;
        tx.commit().await?;
        tracing::info!(alert = %alert.number, case = %number, children = children.len(), "proactive case created");
        Ok(CaseCreated {
            number: number.to_string(),
            children,
        })
    }

    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn list_cases(&self, page: u32) -> Result<CaseListPage, AppError> {
        let mut conn = self.pool().acquire().await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases")
            .fetch_one(&mut *conn)
            .await?;
        let window = Window::new(total, page, PAGE_SIZE);
        let records: Vec<CaseRowRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CASE_ROW_SQL} ORDER BY c.opened_at DESC, c.id DESC LIMIT $1 OFFSET $2"
        )))
        .bind(window.limit)
        .bind(window.offset)
        .fetch_all(&mut *conn)
        .await?;
        let rows = records
            .into_iter()
            .map(CaseRowRecord::into_row)
            .collect::<Result<_, _>>()?;
        Ok(CaseListPage {
            rows,
            total: window.total,
            page: window.page,
            pages: window.pages,
        })
    }

    /// The Cases list's rows of the cases with these numbers (those that exist).
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn case_rows(&self, numbers: &[String]) -> Result<Vec<CaseRow>, AppError> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{CASE_ROW_SQL} WHERE c.number IN ({})",
            crate::alerts::server::placeholders(numbers.len())
        );
        let query = numbers
            .iter()
            .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |query, number| {
                query.bind(number)
            });
        let records: Vec<CaseRowRecord> = query.fetch_all(self.pool()).await?;
        records.into_iter().map(CaseRowRecord::into_row).collect()
    }

    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn case_detail(&self, number: &str) -> Result<CaseDetail, AppError> {
        let number = number
            .parse::<CaseNumber>()
            .map_err(|_| AppError::not_found("Case", number.chars().take(40).collect::<String>()))?;
        let mut conn = self.pool().acquire().await?;
        let record: CaseRowRecord = sqlx::query_as(sqlx::AssertSqlSafe(format!("{CASE_ROW_SQL} WHERE c.number = $1")))
            .bind(number.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| AppError::not_found("Case", number.to_string()))?;
        #[allow(clippy::type_complexity)] // the columns of one row
        let (id, contact, product, opened_by, resolution_notes): (
            i64,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
        ) = sqlx::query_as(
            "SELECT c.id, co.name, p.name, c.opened_by, c.resolution_notes FROM cases c
             LEFT JOIN contacts co ON co.id = c.contact_id LEFT JOIN products p ON p.id = c.product_id
             WHERE c.number = $1",
        )
        .bind(number.to_string())
        .fetch_one(&mut *conn)
        .await?;
        let children: Vec<CaseRowRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CASE_ROW_SQL} WHERE c.parent_id = $1 ORDER BY c.id"
        )))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let items = sqlx::query_as::<_, (String, String, String)>(
            "SELECT ib.number, ib.name, acc.name FROM case_items ci
             JOIN install_base_items ib ON ib.id = ci.item_id JOIN accounts acc ON acc.id = ib.account_id
             WHERE ci.case_id = $1 ORDER BY acc.name, ib.number",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(number, name, account)| CaseItem { number, name, account })
        .collect();
        let journal = sqlx::query_as(
            "SELECT kind, author, created_at, body FROM journal_entries WHERE case_id = $1 ORDER BY id DESC",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(CaseDetail {
            case: record.into_row()?,
            contact,
            product,
            opened_by,
            resolution_notes,
            children: children
                .into_iter()
                .map(CaseRowRecord::into_row)
                .collect::<Result<_, _>>()?,
            items,
            journal,
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
