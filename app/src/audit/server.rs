//! Writing and reading the audit log.

use super::{AuditAction, AuditEntry, AuditPageData, PAGE_SIZE};
use crate::{
    store::{now_text, Store, Window},
    AppError,
};
use sqlx::{AnyConnection, FromRow};

/// What one audit line says, written inside the transaction of the change it records.
pub(crate) struct Audit<'a> {
    pub actor: &'a str,
    pub action: AuditAction,
    pub record: Option<&'a str>,
    pub detail: &'a str,
    pub address: Option<&'a str>,
}

impl Audit<'_> {
    pub(crate) async fn write(&self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, record, detail, address) VALUES ($6, $1, $2, $3, $4, $5)",
        )
        .bind(truncate(self.actor, 160))
        .bind(self.action.as_str())
        .bind(self.record)
        .bind(truncate(self.detail, 1000))
        .bind(self.address.map(|a| truncate(a, 100)))
        .bind(now_text())
        .execute(conn)
        .await
        .map(drop)
    }
}

/// At most `max` characters of `text`, so an over-long typed user name is still recorded.
fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[derive(FromRow)]
struct AuditRecord {
    at: String,
    actor: String,
    #[sqlx(try_from = "String")]
    action: AuditAction,
    record: Option<String>,
    detail: String,
    address: Option<String>,
}

impl Store {
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn audit_page(&self, page: u32) -> Result<AuditPageData, AppError> {
        let mut conn = self.pool().acquire().await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&mut *conn)
            .await?;
        let window = Window::new(total, page, PAGE_SIZE);
        let records: Vec<AuditRecord> = sqlx::query_as(
            "SELECT at, actor, action, record, detail, address FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2",
        )
        .bind(window.limit)
        .bind(window.offset)
        .fetch_all(&mut *conn)
        .await?;
        let entries = records
            .into_iter()
            .map(|r| AuditEntry {
                at: r.at,
                actor: r.actor,
                action: r.action,
                record: r.record,
                detail: r.detail,
                address: r.address,
            })
            .collect();
        Ok(AuditPageData {
            entries,
            total: window.total,
            page: window.page,
            pages: window.pages,
        })
    }
}
