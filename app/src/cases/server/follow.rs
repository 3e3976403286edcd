//! The affected set follows the CMDB: a refresh of an alert that has a proactive case compares the new snapshot
//! with the case's accounts, in the refresh's transaction. A newly affected account gets a child case of its own
//! (a single-account case becomes a major case when a second account appears); an account no longer affected is
//! marked so, never removed; every change is a line of the case's impact timeline.

use super::create::{common_product, insert_case, link_items, CheckedCase};
use crate::{
    audit::{server::Audit, AuditAction},
    domain::{CaseState, Priority},
    journal::{write_journal, JournalKind},
    store::{now_text, placeholders},
    AppError,
};
use sqlx::AnyConnection;
use std::collections::{BTreeMap, BTreeSet};

/// Item ids by account.
type ByAccount = BTreeMap<i64, BTreeSet<i64>>;

/// The proactive case a refresh compares against, and the snapshot before it.
pub(crate) struct Before {
    case_id: i64,
    number: String,
    short_description: String,
    priority: Priority,
    items: ByAccount,
}

/// The alert's snapshot, by account.
async fn snapshot(conn: &mut AnyConnection, alert_id: i64) -> Result<ByAccount, sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT ib.account_id, ai.item_id FROM affected_items ai JOIN install_base_items ib ON ib.id = ai.item_id
         WHERE ai.alert_id = $1",
    )
    .bind(alert_id)
    .fetch_all(conn)
    .await?;
    let mut by_account = ByAccount::new();
    for (account, item) in rows {
        by_account.entry(account).or_default().insert(item);
    }
    Ok(by_account)
}

/// What a refresh of `alert_id` compares with afterwards: `None` when the alert has no proactive case, or the case
/// is closed (read-only).
pub(crate) async fn before_refresh(conn: &mut AnyConnection, alert_id: i64) -> Result<Option<Before>, sqlx::Error> {
    let case: Option<(i64, String, String, i64, String)> = sqlx::query_as(
        "SELECT c.id, c.number, c.short_description, c.priority, c.state FROM alerts a
         JOIN cases c ON c.id = a.case_id WHERE a.id = $1",
    )
    .bind(alert_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((case_id, number, short_description, priority, state)) = case else {
        return Ok(None);
    };
    if CaseState::parse(&state).is_some_and(CaseState::is_read_only) {
        return Ok(None);
    }
    Ok(Some(Before {
        case_id,
        number,
        short_description,
        priority: Priority::from_code(priority).unwrap_or(Priority::Moderate),
        items: snapshot(conn, alert_id).await?,
    }))
}

/// Up to five of `ids`' item numbers, for the timeline.
async fn some_numbers(conn: &mut AnyConnection, ids: &BTreeSet<i64>) -> Result<String, sqlx::Error> {
    let first: Vec<i64> = ids.iter().copied().take(5).collect();
    if first.is_empty() {
        return Ok(String::new());
    }
    let sql = format!(
        "SELECT number FROM install_base_items WHERE id IN ({}) ORDER BY number",
        placeholders(first.len())
    );
    let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
    for id in &first {
        query = query.bind(*id);
    }
    let numbers = query.fetch_all(conn).await?;
    let more = ids.len().saturating_sub(first.len());
    Ok(if more > 0 {
        format!("{} and {more} more", numbers.join(", "))
    } else {
        numbers.join(", ")
    })
}

/// A child case for `account` under the case, with the snapshot's items of that account; its id, number and items.
async fn open_child(
    conn: &mut AnyConnection,
    alert_id: i64,
    before: &Before,
    account: i64,
    actor: &str,
) -> Result<(i64, String, u64), AppError> {
    let (name, primary_contact): (String, Option<i64>) =
        sqlx::query_as("SELECT name, primary_contact_id FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_one(&mut *conn)
            .await?;
    let product = common_product(conn, alert_id, Some(account)).await?;
    let draft = CheckedCase {
        short_description: before.short_description.clone(),
        priority: before.priority,
        work_notes: String::new(),
        account: Some(account),
        contact: primary_contact,
    };
    let (id, number) = insert_case(
        conn,
        alert_id,
        Some(before.case_id),
        Some(account),
        primary_contact,
        product,
        &draft,
        actor,
    )
    .await?;
    let items = link_items(conn, id, alert_id, Some(account)).await?;
    let body = format!(
        "Child case of major case {} for {name}, opened when a refresh found the account affected; covers {items} install base item(s).",
        before.number
    );
    write_journal(conn, Some(id), None, JournalKind::Activity, actor, &body).await?;
    Ok((id, number.to_string(), items))
}

/// One line of the timeline.
#[allow(clippy::too_many_arguments)] // the columns of one row
async fn record(
    conn: &mut AnyConnection,
    case_id: i64,
    actor: &str,
    account: i64,
    change: &str,
    added: usize,
    removed: usize,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_impact_changes (case_id, at, actor, account_id, change, items_added, items_removed, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(case_id)
    .bind(now_text())
    .bind(actor)
    .bind(account)
    .bind(change)
    .bind(added as i64)
    .bind(removed as i64)
    .bind(detail.chars().take(1000).collect::<String>())
    .execute(conn)
    .await
    .map(drop)
}

/// Adds the items newly affected to the account's case (and the major case above it).
async fn cover_items(conn: &mut AnyConnection, case_ids: &[i64], items: &BTreeSet<i64>) -> Result<(), sqlx::Error> {
    for case_id in case_ids {
        for item in items {
            sqlx::query(
                "INSERT INTO case_items (case_id, item_id) SELECT $1, $2
                 WHERE NOT EXISTS (SELECT 1 FROM case_items WHERE case_id = $1 AND item_id = $2)",
            )
            .bind(case_id)
            .bind(item)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Compares the snapshot just written with `before` and the case's accounts, and records what changed.
pub(crate) async fn follow(
    conn: &mut AnyConnection,
    alert_id: i64,
    before: Before,
    actor: &str,
) -> Result<(), AppError> {
    let after = snapshot(conn, alert_id).await?;
    let covered: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT account_id, child_case_id, affected FROM case_accounts WHERE case_id = $1 ORDER BY account_id",
    )
    .bind(before.case_id)
    .fetch_all(&mut *conn)
    .await?;
    let empty = BTreeSet::new();
    let mut lines = Vec::new();
    let new_accounts: Vec<i64> = after
        .keys()
        .copied()
        .filter(|account| !covered.iter().any(|(a, ..)| a == account))
        .collect();
    if !new_accounts.is_empty() {
        // The case's own account moves to a child case of its own: the case becomes a major case.
        if let [(account, child, _)] = covered.as_slice() {
            if *child == before.case_id {
                let (child_id, child_number, _) = open_child(conn, alert_id, &before, *account, actor).await?;
                sqlx::query("UPDATE case_accounts SET child_case_id = $3 WHERE case_id = $1 AND account_id = $2")
                    .bind(before.case_id)
                    .bind(account)
                    .bind(child_id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("UPDATE cases SET account_id = NULL, contact_id = NULL WHERE id = $1")
                    .bind(before.case_id)
                    .execute(&mut *conn)
                    .await?;
                lines.push(format!(
                    "{} is now a major case: its first account's notices go to child case {child_number}.",
                    before.number
                ));
            }
        }
        for account in &new_accounts {
            let (child_id, child_number, items) = open_child(conn, alert_id, &before, *account, actor).await?;
            sqlx::query(
                "INSERT INTO case_accounts (case_id, account_id, child_case_id, items, affected, added_at)
                 VALUES ($1, $2, $3, $4, 1, $5)",
            )
            .bind(before.case_id)
            .bind(account)
            .bind(child_id)
            .bind(i64::try_from(items).unwrap_or(i64::MAX))
            .bind(now_text())
            .execute(&mut *conn)
            .await?;
            let new = after.get(account).unwrap_or(&empty);
            cover_items(conn, &[before.case_id], new).await?;
            let detail = format!("child case {child_number}; items {}", some_numbers(conn, new).await?);
            record(conn, before.case_id, actor, *account, "added", new.len(), 0, &detail).await?;
            lines.push(format!("account added with child case {child_number}"));
        }
    }
    for (account, child, affected) in covered {
        let old = before.items.get(&account).unwrap_or(&empty);
        let new = after.get(&account);
        let added: BTreeSet<i64> = new.map(|n| n.difference(old).copied().collect()).unwrap_or_default();
        let removed: BTreeSet<i64> = match new {
            Some(n) => old.difference(n).copied().collect(),
            None => old.clone(),
        };
        let change = match (affected == 1, new) {
            (true, None) => "removed",
            (false, Some(_)) => "returned",
            (true, Some(_)) if !added.is_empty() || !removed.is_empty() => "items",
            _ => continue,
        };
        let count = new.map_or(0, BTreeSet::len) as i64;
        sqlx::query(
            "UPDATE case_accounts SET items = $3, affected = $4, removed_at = CASE WHEN $4 = 1 THEN NULL ELSE $5 END
             WHERE case_id = $1 AND account_id = $2",
        )
        .bind(before.case_id)
        .bind(account)
        .bind(count)
        .bind(i64::from(new.is_some()))
        .bind(now_text())
        .execute(&mut *conn)
        .await?;
        let mut targets = vec![child];
        if child != before.case_id {
            targets.push(before.case_id);
        }
        cover_items(conn, &targets, &added).await?;
        let mut detail = Vec::new();
        if !added.is_empty() {
            detail.push(format!("added {}", some_numbers(conn, &added).await?));
        }
        if !removed.is_empty() {
            detail.push(format!("removed {}", some_numbers(conn, &removed).await?));
        }
        record(
            conn,
            before.case_id,
            actor,
            account,
            change,
            added.len(),
            removed.len(),
            &detail.join("; "),
        )
        .await?;
        lines.push(match change {
            "removed" => "account no longer affected".to_owned(),
            "returned" => "account affected again".to_owned(),
            _ => format!("{} item(s) added, {} removed", added.len(), removed.len()),
        });
    }
    if lines.is_empty() {
        return Ok(());
    }
    let summary = format!("Refresh by {actor} changed the affected set: {}.", lines.join("; "));
    let summary: String = summary.chars().take(4000).collect();
    write_journal(conn, Some(before.case_id), None, JournalKind::Activity, actor, &summary).await?;
    Audit {
        actor,
        action: AuditAction::CaseImpactChanged,
        record: Some(&before.number),
        detail: &summary.chars().take(1000).collect::<String>(),
        address: None,
    }
    .write(conn)
    .await?;
    Ok(())
}
