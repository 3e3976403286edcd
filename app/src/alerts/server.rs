//! Alert queries.

use super::{AlertDetail, AlertFilter, AlertListPage, AlertRow, PAGE_SIZE};
use crate::{
    domain::{parse_alert_number, AlertNumber, AlertState, Severity},
    journal::{read_journal, JournalOf, JournalPage},
    store::{like_pattern, placeholders, Store, Window},
    AppError,
};
use sqlx::{AnyConnection, FromRow};

#[derive(FromRow)]
struct AlertRowRecord {
    number: String,
    #[sqlx(try_from = "i64")]
    severity: Severity,
    #[sqlx(try_from = "String")]
    state: AlertState,
    source: String,
    node: String,
    ci: Option<String>,
    description: String,
    case_number: Option<String>,
    last_event_at: String,
}

impl AlertRowRecord {
    fn into_row(self) -> AlertRow {
        AlertRow {
            severity: self.severity,
            state: self.state,
            number: self.number,
            source: self.source,
            node: self.node,
            ci: self.ci,
            description: self.description,
            case_number: self.case_number,
            last_event_at: self.last_event_at,
        }
    }
}

const ROW_COLUMNS: &str = "SELECT a.number, a.severity, a.state, a.source, a.node, ci.name AS ci, a.description,
                    c.number AS case_number, a.last_event_at";

#[derive(FromRow)]
struct AlertDetailRecord {
    number: String,
    source: String,
    node: String,
    kind: String,
    resource: String,
    metric_name: String,
    message_key: String,
    description: String,
    #[sqlx(try_from = "i64")]
    severity: Severity,
    #[sqlx(try_from = "String")]
    state: AlertState,
    ci: Option<String>,
    ci_class: Option<String>,
    case_number: Option<String>,
    incident_number: Option<String>,
    event_count: i64,
    first_event_at: String,
    last_event_at: String,
    ib_refreshed_at: Option<String>,
}

/// The row id of the alert with this number.
pub(crate) async fn alert_id(conn: &mut AnyConnection, number: &AlertNumber) -> Result<i64, AppError> {
    sqlx::query_scalar("SELECT id FROM alerts WHERE number = $1")
        .bind(number.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found("Alert", number.to_string()))
}

const FILTER_SQL: &str = "
    FROM alerts a
    LEFT JOIN configuration_items ci ON ci.id = a.ci_id
    LEFT JOIN cases c ON c.id = a.case_id
    WHERE (CAST($1 AS TEXT) IS NULL OR a.state = $1)
      AND (CAST($2 AS BIGINT) IS NULL OR a.severity = $2)
      AND (CAST($3 AS TEXT) IS NULL
           OR lower(a.number) LIKE $3 ESCAPE '\\' OR lower(a.node) LIKE $3 ESCAPE '\\'
           OR lower(a.source) LIKE $3 ESCAPE '\\' OR lower(a.description) LIKE $3 ESCAPE '\\'
           OR lower(ci.name) LIKE $3 ESCAPE '\\')";

impl Store {
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn list_alerts(&self, filter: &AlertFilter) -> Result<AlertListPage, AppError> {
        let text = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if text.is_some_and(|t| t.chars().count() > 200) {
            return Err(AppError::invalid("text", "Search text is limited to 200 characters."));
        }
        let state = filter.state.map(AlertState::as_str);
        let severity = filter.severity.map(|s| i64::from(s.code()));
        // Lower-cased on both sides: the search ignores case on either database.
        let pattern = text.map(|t| like_pattern(&t.to_lowercase()));

        let mut conn = self.pool().acquire().await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {FILTER_SQL}")))
            .bind(state)
            .bind(severity)
            .bind(pattern.as_deref())
            .fetch_one(&mut *conn)
            .await?;
        let window = Window::new(total, filter.page, PAGE_SIZE);
        let records: Vec<AlertRowRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{ROW_COLUMNS}
             {FILTER_SQL}
             ORDER BY a.last_event_at DESC, a.id DESC
             LIMIT $4 OFFSET $5"
        )))
        .bind(state)
        .bind(severity)
        .bind(pattern.as_deref())
        .bind(window.limit)
        .bind(window.offset)
        .fetch_all(&mut *conn)
        .await?;

        let rows = records.into_iter().map(AlertRowRecord::into_row).collect();
        Ok(AlertListPage {
            rows,
            total: window.total,
            page: window.page,
            pages: window.pages,
        })
    }

    /// All Alerts' rows of the alerts with these numbers (those that exist), for a list that updates its rows in
    /// place.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn alert_rows(&self, numbers: &[String]) -> Result<Vec<AlertRow>, AppError> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{ROW_COLUMNS} FROM alerts a
             LEFT JOIN configuration_items ci ON ci.id = a.ci_id
             LEFT JOIN cases c ON c.id = a.case_id
             WHERE a.number IN ({})",
            placeholders(numbers.len())
        );
        let query = numbers
            .iter()
            .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |query, number| {
                query.bind(number)
            });
        let records: Vec<AlertRowRecord> = query.fetch_all(self.pool()).await?;
        Ok(records.into_iter().map(AlertRowRecord::into_row).collect())
    }

    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn alert_detail(&self, number: &str) -> Result<AlertDetail, AppError> {
        let number = parse_alert_number(number)?;
        let record: AlertDetailRecord = sqlx::query_as(
            "SELECT a.number, a.source, a.node, a.type AS kind, a.resource, a.metric_name, a.message_key,
                    a.description, a.severity, a.state, ci.name AS ci, ci.class AS ci_class,
                    c.number AS case_number, i.number AS incident_number, a.event_count,
                    a.first_event_at, a.last_event_at, a.ib_refreshed_at
             FROM alerts a
             LEFT JOIN configuration_items ci ON ci.id = a.ci_id
             LEFT JOIN cases c ON c.id = a.case_id
             LEFT JOIN incidents i ON i.id = a.incident_id
             WHERE a.number = $1",
        )
        .bind(number.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| AppError::not_found("Alert", number.to_string()))?;
        Ok(AlertDetail {
            severity: record.severity,
            state: record.state,
            number: record.number,
            source: record.source,
            node: record.node,
            kind: record.kind,
            resource: record.resource,
            metric_name: record.metric_name,
            message_key: record.message_key,
            description: record.description,
            ci: record.ci,
            ci_class: record.ci_class,
            case_number: record.case_number,
            incident_number: record.incident_number,
            event_count: record.event_count,
            first_event_at: record.first_event_at,
            last_event_at: record.last_event_at,
            ib_refreshed_at: record.ib_refreshed_at,
        })
    }

    /// One page of the alert's activity, newest first.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn alert_journal(&self, number: &str, page: u32) -> Result<JournalPage, AppError> {
        let number = parse_alert_number(number)?;
        let mut conn = self.pool().acquire().await?;
        let id = alert_id(&mut conn, &number).await?;
        Ok(read_journal(&mut conn, JournalOf::Alert(id), page).await?)
    }
}
