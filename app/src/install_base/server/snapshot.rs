//! Reading an alert's stored snapshot, a page at a time.

use crate::{
    domain::parse_alert_number,
    install_base::{AffectedItem, AffectedSnapshot, Reason, ITEMS_PAGE_SIZE},
    store::{Store, Window},
    AppError,
};
use sqlx::FromRow;

#[derive(FromRow)]
struct SnapshotRecord {
    number: String,
    name: String,
    account: String,
    account_kind: String,
    contact: Option<String>,
    product: Option<String>,
    ci: Option<String>,
    reason: String,
    hops: i64,
    ci_path: Option<String>,
    via_number: Option<String>,
}

impl SnapshotRecord {
    fn into_item(self) -> AffectedItem {
        let reason = match (self.reason.as_str(), self.via_number) {
            ("child", Some(parent)) => Reason::ChildOf { parent },
            ("direct", _) => Reason::Direct,
            _ => Reason::CiPath {
                path: self
                    .ci_path
                    .unwrap_or_default()
                    .split(" → ")
                    .map(str::to_owned)
                    .collect(),
                hops: u32::try_from(self.hops).unwrap_or(u32::MAX),
            },
        };
        AffectedItem {
            number: self.number,
            name: self.name,
            account: self.account,
            external: self.account_kind == "external",
            contact: self.contact,
            product: self.product,
            ci: self.ci,
            reason,
        }
    }
}

impl Store {
    /// The alert's stored snapshot, ordered by account and item number.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn affected_snapshot(&self, alert: &str, page: u32) -> Result<AffectedSnapshot, AppError> {
        let number = parse_alert_number(alert)?;
        let mut conn = self.pool().acquire().await?;
        let (id, refreshed_at, traced_version): (i64, Option<String>, Option<i64>) =
            sqlx::query_as("SELECT id, ib_refreshed_at, ib_cmdb_version FROM alerts WHERE number = $1")
                .bind(number.to_string())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| AppError::not_found("Alert", number.to_string()))?;
        let (version, cmdb_changed_at): (i64, Option<String>) =
            sqlx::query_as("SELECT version, changed_at FROM cmdb_state WHERE id = 1")
                .fetch_one(&mut *conn)
                .await?;
        let (total, accounts): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT ib.account_id) FROM affected_items ai
             JOIN install_base_items ib ON ib.id = ai.item_id WHERE ai.alert_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        let window = Window::new(total, page, ITEMS_PAGE_SIZE);
        let records: Vec<SnapshotRecord> = sqlx::query_as(
            "SELECT ib.number, ib.name, acc.name AS account, acc.kind AS account_kind, co.name AS contact,
                    p.name AS product, ci.name AS ci, ai.reason, ai.hops, ai.ci_path, via.number AS via_number
             FROM affected_items ai
             JOIN install_base_items ib ON ib.id = ai.item_id
             JOIN accounts acc ON acc.id = ib.account_id
             LEFT JOIN contacts co ON co.id = ib.contact_id
             LEFT JOIN products p ON p.id = ib.product_id
             LEFT JOIN configuration_items ci ON ci.id = ib.ci_id
             LEFT JOIN install_base_items via ON via.id = ai.via_item_id
             WHERE ai.alert_id = $1
             ORDER BY acc.name, ib.number
             LIMIT $2 OFFSET $3",
        )
        .bind(id)
        .bind(window.limit)
        .bind(window.offset)
        .fetch_all(&mut *conn)
        .await?;
        Ok(AffectedSnapshot {
            stale: refreshed_at.is_some() && traced_version.unwrap_or(0) < version,
            refreshed_at,
            items: records.into_iter().map(SnapshotRecord::into_item).collect(),
            total: window.total,
            accounts: u64::try_from(accounts).unwrap_or(0),
            page: window.page,
            pages: window.pages,
            cmdb_changed_at,
            refresh_on_open: false,
        })
    }
}
