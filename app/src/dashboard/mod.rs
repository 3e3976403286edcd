//! The **proactive dashboard** (`/dashboard`): over a chosen period, by week, how many alerts were raised and
//! reached customers, the share that got a proactive case, how fast (alert to case, case to first notice), the top
//! impacted accounts, and beat-the-customer: how often an affected account was told before it raised a case
//! itself. Figures come from SQL over the stored records on each request ([`figures`]); the charts are SVG drawn
//! on the server ([`charts`]), each with its table and a CSV download, so the page works without JavaScript and
//! costs the wasm nothing.

#[cfg(feature = "ssr")]
mod charts;
pub mod figures;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub(crate) mod weeks;

use crate::{
    ui::{Detail, LoadError},
    AppError,
};
use figures::{duration, AccountImpact, Spread, WeekFigures};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// Where the dashboard and its downloads are.
pub const PATH: &str = "/dashboard";
pub const CSV_PATH: &str = "/dashboard.csv";

/// A chart as the page shows it: an SVG image named by `title`, described by `summary`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub id: String,
    pub title: String,
    /// The SVG, drawn on the server (empty if it could not be: the table and summary still say it all).
    pub svg: String,
    pub summary: String,
}

/// The dashboard over its period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardView {
    /// The first week's Monday and the last week's Sunday, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    pub weeks: Vec<WeekFigures>,
    /// The whole period's figures.
    pub all: WeekFigures,
    pub top_accounts: Vec<AccountImpact>,
    pub charts: Vec<Chart>,
}

/// The dashboard over the weeks holding `from` to `to` (dates, `2026-11-30`; the 12 weeks up to now by default).
#[server(endpoint = "dashboard", output = crate::codec::Json)]
pub async fn read_dashboard(from: Option<String>, to: Option<String>) -> Result<DashboardView, AppError> {
    crate::access::require(crate::access::Permission::ViewDashboard)?;
    let store = crate::store::Store::from_context()?;
    let weeks = crate::error::with_status(server::weeks_of(from.as_deref(), to.as_deref()))?;
    crate::error::with_status(store.dashboard(weeks).await)
}

/// `/dashboard`.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let query = use_query_map();
    let asked = move || {
        let query = query.read();
        (query.get("from"), query.get("to"))
    };
    let dashboard = Resource::new(asked, |(from, to)| read_dashboard(from, to));
    let (from, to) = asked();
    view! {
        <Title text="Proactive dashboard" />
        <h1 id="dashboard-heading">"Proactive dashboard"</h1>
        <form method="get" action=PATH class="filters" aria-label="Dashboard period">
            <label>
                "From"
                <input type="date" name="from" value=from.unwrap_or_default() />
            </label>
            <label>
                "To"
                <input type="date" name="to" value=to.unwrap_or_default() />
            </label>
            <button type="submit">"Show"</button>
        </form>
        <Suspense fallback=|| view! { <p role="status">"Counting…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(view) => Either::Left(view! { <DashboardBody view /> }),
                    Err(AppError::Invalid { message, .. }) => {
                        Either::Right(Either::Left(view! { <p class="error" role="alert">{message}</p> }))
                    }
                    Err(error) => Either::Right(Either::Right(view! { <LoadError error /> })),
                }
            })}
        </Suspense>
    }
}

fn spread_text(spread: Spread) -> String {
    match (spread.median, spread.p90) {
        (Some(median), Some(p90)) => format!("{} (90th percentile {})", duration(median), duration(p90)),
        _ => "—".to_owned(),
    }
}

fn share_text(share: Option<f64>) -> String {
    share.map(|s| format!("{s:.0}%")).unwrap_or_else(|| "—".into())
}

fn or_dash(value: Option<i64>) -> String {
    value.map(duration).unwrap_or_else(|| "—".into())
}

#[component]
fn DashboardBody(view: DashboardView) -> impl IntoView {
    let all = view.all.clone();
    let csv = |table: &str| format!("{CSV_PATH}?table={table}&from={}&to={}", view.from, view.to);
    let weeks_csv = csv("weeks");
    let accounts_csv = csv("accounts");
    let period = format!(
        "{} weeks, from Monday {} to Sunday {} (UTC).",
        view.weeks.len(),
        view.from,
        view.to
    );
    let tables: Vec<AnyView> = vec![
        table_view(
            "chart-alerts",
            &["Week", "Raised", "Reached customers", "Got a proactive case", "Share"],
            &view.weeks,
            |w| {
                vec![
                    w.raised.to_string(),
                    w.reached.to_string(),
                    w.with_case.to_string(),
                    share_text(w.case_share()),
                ]
            },
        ),
        table_view(
            "chart-speed",
            &["Week", "Alert to case", "Case to first notice"],
            &view.weeks,
            |w| vec![spread_text(w.to_case), spread_text(w.to_notice)],
        ),
        table_view(
            "chart-beat",
            &[
                "Week",
                "Affected accounts",
                "Told before they called",
                "Share",
                "Median lead",
            ],
            &view.weeks,
            |w| {
                vec![
                    w.accounts.to_string(),
                    w.beaten.to_string(),
                    share_text(w.beat_share()),
                    or_dash(w.lead.median),
                ]
            },
        ),
    ];
    let charts = view
        .charts
        .into_iter()
        .zip(tables)
        .map(|(chart, table)| {
            let heading = format!("{}-heading", chart.id);
            let summary_id = format!("{}-summary", chart.id);
            let table_label = format!("{} as a table", chart.title);
            let download = format!("Download {} (CSV)", chart.title.to_lowercase());
            view! {
                <section class="related chart" aria-labelledby=heading>
                    <h2 id=heading.clone()>{chart.title}</h2>
                    <div class="chart-image" inner_html=chart.svg></div>
                    <p id=summary_id>{chart.summary}</p>
                    <details>
                        <summary>{table_label}</summary>
                        {table}
                    </details>
                    <p><a href=weeks_csv.clone() download="">{download}</a></p>
                </section>
            }
        })
        .collect_view();
    let top = view
        .top_accounts
        .iter()
        .map(|a| {
            view! {
                <tr>
                    <th scope="row">{a.account.clone()}</th>
                    <td>{format!("{:.1}", a.item_hours)}</td>
                    <td>{a.cases.to_string()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="muted">{period}</p>
        <section class="related" aria-labelledby="dashboard-totals-heading">
            <h2 id="dashboard-totals-heading">"The period at a glance"</h2>
            <dl class="fields">
                <Detail term="Alerts raised" value=all.raised.to_string() />
                <Detail term="Reached customers" value=all.reached.to_string() />
                <Detail term="Got a proactive case" value=format!("{} ({})", all.with_case, share_text(all.case_share())) />
                <Detail term="Alert to case" value=spread_text(all.to_case) />
                <Detail term="Case to first notice" value=spread_text(all.to_notice) />
                <Detail term="Beat the customer" value=format!("{} of {} accounts ({})", all.beaten, all.accounts, share_text(all.beat_share())) />
                <Detail term="Median lead before they called" value=or_dash(all.lead.median) />
            </dl>
        </section>
        {charts}
        <section class="related" aria-labelledby="top-accounts-heading">
            <h2 id="top-accounts-heading">"Top impacted accounts"</h2>
            <p class="muted">"By affected item-hours: each case's affected items of the account times the hours its alert was open in the period."</p>
            <table aria-labelledby="top-accounts-heading">
                <thead>
                    <tr>
                        <th scope="col">"Account"</th>
                        <th scope="col">"Affected item-hours"</th>
                        <th scope="col">"Proactive cases"</th>
                    </tr>
                </thead>
                <tbody>{top}</tbody>
            </table>
            <p><a href=accounts_csv download="">"Download top impacted accounts (CSV)"</a></p>
        </section>
    }
}

/// A chart's figures as a table named after it: a row per week.
fn table_view(
    chart: &'static str,
    columns: &'static [&'static str],
    weeks: &[WeekFigures],
    cells: impl Fn(&WeekFigures) -> Vec<String>,
) -> AnyView {
    let rows = weeks
        .iter()
        .map(|w| {
            let cells = cells(w).into_iter().map(|c| view! { <td>{c}</td> }).collect_view();
            view! {
                <tr>
                    <th scope="row">{w.week.clone()}</th>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    let heading = format!("{chart}-heading");
    view! {
        <table aria-labelledby=heading>
            <thead>
                <tr>{columns.iter().map(|c| view! { <th scope="col">{*c}</th> }).collect_view()}</tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
