//! The case lists and the case page.

use crate::{
    cases::{
        CaseDetail, CaseItem, CaseItemsPage, CaseListPage, CasePages, CaseRow, CaseWorkView, CASE_ITEMS_PAGE_SIZE,
        PAGE_SIZE,
    },
    domain::{CaseNumber, CaseState, Priority},
    journal::{read_journal, JournalOf, JournalPage},
    store::{Store, Window},
    AppError,
};
use sqlx::{AnyConnection, FromRow};

#[derive(FromRow)]
struct CaseRowRecord {
    number: String,
    short_description: String,
    #[sqlx(try_from = "i64")]
    priority: Priority,
    #[sqlx(try_from = "String")]
    state: CaseState,
    proactive: i64,
    account: Option<String>,
    alert: Option<String>,
    parent: Option<String>,
    opened_at: String,
    assigned_to: Option<String>,
    /// The earliest update due to an account still affected.
    update_due: Option<String>,
}

impl CaseRowRecord {
    fn into_row(self) -> CaseRow {
        CaseRow {
            priority: self.priority,
            state: self.state,
            number: self.number,
            short_description: self.short_description,
            proactive: self.proactive != 0,
            account: self.account,
            alert: self.alert,
            parent: self.parent,
            opened_at: self.opened_at,
            assigned_to: self.assigned_to,
            update_overdue: self
                .update_due
                .is_some_and(|due| due < crate::store::now_text() && !self.state.is_read_only()),
        }
    }
}

const CASE_ROW_SQL: &str = "
    SELECT c.number, c.short_description, c.priority, c.state, c.proactive, acc.name AS account,
           a.number AS alert, p.number AS parent, c.opened_at, c.assigned_to,
           (SELECT MIN(ca.next_update_due) FROM case_accounts ca
            WHERE (ca.case_id = c.id OR ca.child_case_id = c.id) AND ca.affected = 1) AS update_due
    FROM cases c
    LEFT JOIN accounts acc ON acc.id = c.account_id
    LEFT JOIN alerts a ON a.id = c.alert_id
    LEFT JOIN cases p ON p.id = c.parent_id";

/// The case as its work area shows it.
#[derive(FromRow)]
struct CaseWorkRecord {
    id: i64,
    #[sqlx(try_from = "String")]
    state: CaseState,
    assigned_to: Option<String>,
    resolution_notes: Option<String>,
}

/// The case's number, parsed, or the not-found answer for what was asked.
fn case_number(number: &str) -> Result<CaseNumber, AppError> {
    number
        .parse::<CaseNumber>()
        .map_err(|_| AppError::not_found("Case", number.chars().take(40).collect::<String>()))
}

/// The pages asked for of the case's two journals.
async fn case_journals(
    conn: &mut AnyConnection,
    case_id: i64,
    pages: CasePages,
) -> Result<(JournalPage, JournalPage), sqlx::Error> {
    let notes = read_journal(conn, JournalOf::CaseNotes(case_id), pages.notes).await?;
    let comments = read_journal(conn, JournalOf::CaseComments(case_id), pages.comments).await?;
    Ok((notes, comments))
}

/// One page of the items the case covers, by account and number.
async fn case_items(conn: &mut AnyConnection, case_id: i64, page: u32) -> Result<CaseItemsPage, sqlx::Error> {
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_items WHERE case_id = $1")
        .bind(case_id)
        .fetch_one(&mut *conn)
        .await?;
    let window = Window::new(total, page, CASE_ITEMS_PAGE_SIZE);
    let items = sqlx::query_as::<_, (String, String, String)>(
        "SELECT ib.number, ib.name, acc.name FROM case_items ci
         JOIN install_base_items ib ON ib.id = ci.item_id JOIN accounts acc ON acc.id = ib.account_id
         WHERE ci.case_id = $1 ORDER BY acc.name, ib.number LIMIT $2 OFFSET $3",
    )
    .bind(case_id)
    .bind(window.limit)
    .bind(window.offset)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|(number, name, account)| CaseItem { number, name, account })
    .collect();
    Ok(CaseItemsPage {
        items,
        total: window.total,
        page: window.page,
        pages: window.pages,
    })
}

impl Store {
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
        let rows = records.into_iter().map(CaseRowRecord::into_row).collect();
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
            crate::store::placeholders(numbers.len())
        );
        let query = numbers
            .iter()
            .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |query, number| {
                query.bind(number)
            });
        let records: Vec<CaseRowRecord> = query.fetch_all(self.pool()).await?;
        Ok(records.into_iter().map(CaseRowRecord::into_row).collect())
    }

    /// The case page: the case, its children, and the pages asked for of its items and journals.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn case_detail(&self, number: &str, pages: CasePages) -> Result<CaseDetail, AppError> {
        let number = case_number(number)?;
        let mut conn = self.pool().acquire().await?;
        let record: CaseRowRecord = sqlx::query_as(sqlx::AssertSqlSafe(format!("{CASE_ROW_SQL} WHERE c.number = $1")))
            .bind(number.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| AppError::not_found("Case", number.to_string()))?;
        #[allow(clippy::type_complexity)] // the columns of one row
        let (id, contact, product, opened_by, resolution_notes, channel, related): (
            i64,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = sqlx::query_as(
            "SELECT c.id, co.name, p.name, c.opened_by, c.resolution_notes, c.channel, r.number FROM cases c
             LEFT JOIN contacts co ON co.id = c.contact_id LEFT JOIN products p ON p.id = c.product_id
             LEFT JOIN cases r ON r.id = c.related_case_id
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
        let items = case_items(&mut conn, id, pages.items).await?;
        let (work_notes, comments) = case_journals(&mut conn, id, pages).await?;
        Ok(CaseDetail {
            case: record.into_row(),
            channel: channel.as_deref().and_then(crate::domain::Channel::parse),
            related,
            contact,
            product,
            opened_by,
            resolution_notes,
            children: children.into_iter().map(CaseRowRecord::into_row).collect(),
            items,
            work_notes,
            comments,
        })
    }

    /// The case page's work area, with the pages asked for of its journals: what a live update reads again.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn case_work(&self, number: &str, pages: CasePages) -> Result<CaseWorkView, AppError> {
        let number = case_number(number)?;
        let mut conn = self.pool().acquire().await?;
        let case: CaseWorkRecord =
            sqlx::query_as("SELECT id, state, assigned_to, resolution_notes FROM cases WHERE number = $1")
                .bind(number.to_string())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| AppError::not_found("Case", number.to_string()))?;
        let (work_notes, comments) = case_journals(&mut conn, case.id, pages).await?;
        Ok(CaseWorkView {
            number: number.to_string(),
            state: case.state,
            assigned_to: case.assigned_to,
            resolution_notes: case.resolution_notes,
            work_notes,
            comments,
        })
    }
}
