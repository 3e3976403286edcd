//! The case lists and the case page.

use crate::{
    cases::{CaseDetail, CaseItem, CaseListPage, CaseRow, PAGE_SIZE},
    domain::{CaseNumber, CaseState, Priority},
    store::{Store, Window},
    AppError,
};
use sqlx::FromRow;

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
        }
    }
}

const CASE_ROW_SQL: &str = "
    SELECT c.number, c.short_description, c.priority, c.state, c.proactive, acc.name AS account,
           a.number AS alert, p.number AS parent, c.opened_at, c.assigned_to
    FROM cases c
    LEFT JOIN accounts acc ON acc.id = c.account_id
    LEFT JOIN alerts a ON a.id = c.alert_id
    LEFT JOIN cases p ON p.id = c.parent_id";

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
            case: record.into_row(),
            contact,
            product,
            opened_by,
            resolution_notes,
            children: children.into_iter().map(CaseRowRecord::into_row).collect(),
            items,
            journal,
        })
    }
}
