//! Writing a journal entry, and reading a journal a page at a time.

use super::{JournalEntry, JournalKind, JournalPage, JOURNAL_PAGE_SIZE};
use crate::store::Window;
use sqlx::AnyConnection;

/// Adds an entry, stamped now, to a case's journal or an alert's (exactly one of the two).
pub(crate) async fn write_journal(
    conn: &mut AnyConnection,
    case_id: Option<i64>,
    alert_id: Option<i64>,
    kind: JournalKind,
    author: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO journal_entries (case_id, alert_id, kind, author, created_at, body)
         VALUES ($1, $2, $3, $4, $6, $5)",
    )
    .bind(case_id)
    .bind(alert_id)
    .bind(kind.as_str())
    .bind(author)
    .bind(body)
    .bind(crate::store::now_text())
    .execute(conn)
    .await
    .map(drop)
}

/// Which journal to read, by the record's row id.
#[derive(Clone, Copy, Debug)]
pub(crate) enum JournalOf {
    /// An alert's activity.
    Alert(i64),
    /// A case's work notes and activity lines (internal).
    CaseNotes(i64),
    /// A case's additional comments (customer-visible).
    CaseComments(i64),
}

impl JournalOf {
    /// The entries' condition, on `$1` the record's id (the journal indexes lead with it).
    fn filter(self) -> (&'static str, i64) {
        match self {
            JournalOf::Alert(id) => ("alert_id = $1", id),
            JournalOf::CaseNotes(id) => ("case_id = $1 AND kind <> 'comment'", id),
            JournalOf::CaseComments(id) => ("case_id = $1 AND kind = 'comment'", id),
        }
    }
}

/// Page `page` (1-based, clamped to what exists) of a journal, newest first, with its total.
pub(crate) async fn read_journal(
    conn: &mut AnyConnection,
    of: JournalOf,
    page: u32,
) -> Result<JournalPage, sqlx::Error> {
    let (filter, id) = of.filter();
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM journal_entries WHERE {filter}"
    )))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let window = Window::new(total, page, JOURNAL_PAGE_SIZE);
    let entries: Vec<JournalEntry> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT kind, author, created_at, body FROM journal_entries WHERE {filter}
         ORDER BY id DESC LIMIT $2 OFFSET $3"
    )))
    .bind(id)
    .bind(window.limit)
    .bind(window.offset)
    .fetch_all(conn)
    .await?;
    Ok(JournalPage {
        entries,
        total: window.total,
        page: window.page,
        pages: window.pages,
    })
}
