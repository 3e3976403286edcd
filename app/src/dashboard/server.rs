//! The dashboard's queries, and its CSV downloads.

use super::{
    charts,
    figures::MAX_WEEKS,
    weeks::{self, date_secs, AccountRow, CaseRow, DayRow, Weeks},
    DashboardView,
};
use crate::{
    access::{Permission, Viewer},
    store::{now_text, Store},
    AppError,
};
use axum::{
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    Extension,
};
use serde::Deserialize;

/// The period asked for: dates as a form sends them, either left out.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The weeks `from` to `to` name (the 12 weeks up to this one by default), or what is wrong with them.
pub fn weeks_of(from: Option<&str>, to: Option<&str>) -> Result<Weeks, AppError> {
    let date = |field: &str, label: &str, text: Option<&str>| -> Result<Option<i64>, AppError> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => date_secs(text)
                .map(Some)
                .ok_or_else(|| AppError::invalid(field, format!("Enter the {label} as a date, such as 2026-11-30."))),
        }
    };
    let to = date("to", "end", to)?.unwrap_or_else(crate::store::clock::now_secs);
    let from = date("from", "start", from)?.unwrap_or(to - 11 * 7 * 86_400);
    if from > to {
        return Err(AppError::invalid(
            "from",
            "The start is after the end: choose a start on or before it.",
        ));
    }
    let weeks = Weeks::of(from, to);
    if weeks.count() > MAX_WEEKS {
        return Err(AppError::invalid(
            "from",
            format!("The dashboard shows at most {MAX_WEEKS} weeks: choose a later start or an earlier end."),
        ));
    }
    Ok(weeks)
}

impl Store {
    /// The dashboard over `weeks`: three queries over the alerts raised in it, their cases, notices and the
    /// reactive cases about them (see [`figures`]), and the charts drawn from their figures.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn dashboard(&self, weeks: Weeks) -> Result<DashboardView, AppError> {
        let (start, end) = weeks.bounds();
        let mut conn = self.pool().acquire().await?;
        // Raised and with a case: the day counts the triggers keep (alert_days); reached without a case: the few
        // refreshed alerts with items in their snapshot.
        let counted: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT day, SUM(raised), SUM(with_case) FROM alert_days WHERE day >= $1 AND day < $2 GROUP BY day",
        )
        .bind(&start[..10])
        .bind(&end[..10])
        .fetch_all(&mut *conn)
        .await?;
        let reached: Vec<(String, i64)> = sqlx::query_as(
            "SELECT substr(a.first_event_at, 1, 10), COUNT(*) FROM alerts a
             WHERE a.ib_refreshed_at IS NOT NULL AND a.case_id IS NULL
               AND a.first_event_at >= $1 AND a.first_event_at < $2
               AND EXISTS (SELECT 1 FROM affected_items ai WHERE ai.alert_id = a.id)
             GROUP BY substr(a.first_event_at, 1, 10)",
        )
        .bind(&start)
        .bind(&end)
        .fetch_all(&mut *conn)
        .await?;
        let days: Vec<DayRow> = counted
            .into_iter()
            .map(|(day, raised, with_case)| {
                let without_case = reached.iter().find(|(d, _)| *d == day).map_or(0, |(_, n)| *n);
                (day, raised, with_case + without_case, with_case)
            })
            .collect();
        let cases: Vec<CaseRow> = sqlx::query_as(
            "SELECT a.first_event_at, c.opened_at,
                    (SELECT MIN(n.sent_at) FROM notices n WHERE n.case_id = c.id AND n.status = 'sent')
             FROM cases c JOIN alerts a ON a.case_id = c.id
             WHERE c.proactive = 1 AND c.parent_id IS NULL AND a.first_event_at >= $1 AND a.first_event_at < $2",
        )
        .bind(&start)
        .bind(&end)
        .fetch_all(&mut *conn)
        .await?;
        let accounts: Vec<AccountRow> = sqlx::query_as(
            "SELECT a.first_event_at, COALESCE(a.closed_at, $3), acc.name, ca.items,
                    (SELECT MIN(n.sent_at) FROM notices n
                     WHERE n.case_id = ca.case_id AND n.account_id = ca.account_id AND n.status = 'sent'),
                    (SELECT MIN(r.opened_at) FROM cases r
                     WHERE r.related_case_id = ca.case_id AND r.account_id = ca.account_id)
             FROM case_accounts ca JOIN alerts a ON a.case_id = ca.case_id JOIN accounts acc ON acc.id = ca.account_id
             WHERE a.first_event_at >= $1 AND a.first_event_at < $2",
        )
        .bind(&start)
        .bind(&end)
        .bind(now_text())
        .fetch_all(&mut *conn)
        .await?;
        drop(conn);
        let (weekly, all, top_accounts) = weeks::compute(weeks, &days, &cases, &accounts);
        let charts = vec![
            charts::alerts(&weekly, &all),
            charts::speed(&weekly, &all),
            charts::beat(&weekly, &all),
        ];
        Ok(DashboardView {
            from: weekly.first().map(|w| w.week.clone()).unwrap_or_default(),
            to: crate::store::clock::utc_text(weeks.last + 6 * 86_400)[..10].to_owned(),
            weeks: weekly,
            all,
            top_accounts,
            charts,
        })
    }
}

/// Which table a CSV download holds.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CsvTable {
    Weeks,
    Accounts,
}

#[derive(Debug, Deserialize)]
pub struct CsvQuery {
    table: CsvTable,
    #[serde(flatten)]
    period: PeriodQuery,
}

/// A duration's seconds for a CSV cell, empty when there is none.
fn cell(value: Option<i64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The table's rows as CSV, with a header row; the weeks' last row is the whole period (`All`).
fn table_csv(table: CsvTable, view: &DashboardView) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    match table {
        CsvTable::Weeks => {
            out.write_record([
                "week",
                "alerts_raised",
                "reached_customers",
                "with_proactive_case",
                "alert_to_case_median_s",
                "alert_to_case_p90_s",
                "case_to_first_notice_median_s",
                "case_to_first_notice_p90_s",
                "affected_accounts",
                "told_before_they_called",
                "lead_median_s",
            ])?;
            for w in view.weeks.iter().chain([&view.all]) {
                out.write_record([
                    w.week.clone(),
                    w.raised.to_string(),
                    w.reached.to_string(),
                    w.with_case.to_string(),
                    cell(w.to_case.median),
                    cell(w.to_case.p90),
                    cell(w.to_notice.median),
                    cell(w.to_notice.p90),
                    w.accounts.to_string(),
                    w.beaten.to_string(),
                    cell(w.lead.median),
                ])?;
            }
        }
        CsvTable::Accounts => {
            out.write_record(["account", "affected_item_hours", "proactive_cases"])?;
            for a in &view.top_accounts {
                out.write_record([a.account.clone(), format!("{:.1}", a.item_hours), a.cases.to_string()])?;
            }
        }
    }
    Ok(out.into_inner()?)
}

/// `GET /dashboard.csv?table=weeks|accounts&from=…&to=…`: a dashboard table as CSV, durations in seconds.
pub async fn csv(
    State(store): State<Store>,
    Extension(viewer): Extension<Viewer>,
    query: Result<Query<CsvQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if !viewer.may(Permission::ViewDashboard) {
        return AppError::Forbidden.into_response();
    }
    let Ok(Query(query)) = query else {
        return AppError::invalid("table", "Ask for table=weeks or table=accounts.").into_response();
    };
    let view = match weeks_of(query.period.from.as_deref(), query.period.to.as_deref()) {
        Ok(weeks) => store.dashboard(weeks).await,
        Err(error) => Err(error),
    };
    let view = match view {
        Ok(view) => view,
        Err(error) => return error.into_response(),
    };
    let body = match table_csv(query.table, &view) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "the dashboard's CSV could not be written");
            return AppError::Internal.into_response();
        }
    };
    let name = match query.table {
        CsvTable::Weeks => "weeks",
        CsvTable::Accounts => "accounts",
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"forestall-{name}-{}-{}.csv\"",
                    view.from, view.to
                ),
            ),
        ],
        body,
    )
        .into_response()
}
