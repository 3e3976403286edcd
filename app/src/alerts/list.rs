//! All Alerts: newest first, filtered by state, severity and text, paged.

use super::{list_alerts, AlertFilter, AlertListPage, AlertRow, INDEXED_SEARCH, SHORT_SEARCH_SCOPE};
use crate::{
    domain::{AlertState, Severity},
    live::{Feed, FollowRows, HasNumber, LiveRowsUpdate, RecordKind, ShownRow, Topic},
    ui::{grouped, DataTable, LoadError, Pager},
    AppError,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_location};

/// The filter in a query string, read as a browser writes a GET form's fields (a space as `+`, the rest
/// percent-encoded); the router's own map decodes `%XX` only, so a search for `db host` would look for `db+host`.
fn filter_from(search: &str) -> AlertFilter {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(search.trim_start_matches('?').as_bytes())
        .into_owned()
        .collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    AlertFilter {
        state: get("state").as_deref().and_then(AlertState::parse),
        severity: get("severity")
            .and_then(|s| s.parse().ok())
            .and_then(Severity::from_code),
        text: get("q").filter(|q| !q.trim().is_empty()),
        page: get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        since_id: None,
    }
}

/// The query string for `filter` at `page`, encoded as a GET form would be (so [`filter_from`] reads it back).
fn href(filter: &AlertFilter, page: u32) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(state) = filter.state {
        query.append_pair("state", state.as_str());
    }
    if let Some(severity) = filter.severity {
        query.append_pair("severity", &severity.code().to_string());
    }
    if let Some(text) = &filter.text {
        query.append_pair("q", text);
    }
    query.append_pair("page", &page.to_string());
    format!("/alerts?{}", query.finish())
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let search = use_location().search;
    let filter = Memo::new(move |_| filter_from(&search.read()));
    // The feed's position is taken before the list is read: whatever commits after the read reaches the page.
    let alerts = Resource::new(
        move || filter.get(),
        |filter| async move {
            let feed = Feed::new(&[Topic::All(RecordKind::Alert)]);
            list_alerts(filter).await.map(|page| (page, feed))
        },
    );

    view! {
        <Title text="All Alerts" />
        <h1 id="alerts-heading">"All Alerts"</h1>
        <Form method="GET" action="/alerts" attr:class="filters" attr:aria-label="Filter alerts">
            <label>
                "State"
                <select name="state">
                    <option value="">"Any"</option>
                    {AlertState::ALL
                        .map(|s| {
                            let selected = move || filter.read().state == Some(s);
                            view! {
                                <option value=s.as_str() selected=selected>
                                    {s.as_str()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Severity"
                <select name="severity">
                    <option value="">"Any"</option>
                    {Severity::ALL
                        .map(|s| {
                            let selected = move || filter.read().severity == Some(s);
                            view! {
                                <option value=s.code().to_string() selected=selected>
                                    {s.to_string()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Search"
                <input
                    type="search"
                    name="q"
                    maxlength="200"
                    value=move || filter.read().text.clone().unwrap_or_default()
                />
            </label>
            <button type="submit">"Apply filters"</button>
        </Form>
        <Show when=move || {
            filter.read().text.as_deref().is_some_and(|t| t.trim().chars().count() < INDEXED_SEARCH)
        }>
            <p class="hint" id="short-search">
                {format!(
                    "A search of one or two characters looks at the {} most recently raised alerts; type three or more to search them all.",
                    grouped(SHORT_SEARCH_SCOPE.unsigned_abs()),
                )}
            </p>
        </Show>
        <Transition fallback=|| view! { <p role="status">"Loading alerts…"</p> }>
            {move || Suspend::new(async move {
                match alerts.await {
                    Ok((page, feed)) => {
                        Either::Left(view! { <AlertTable page filter=filter.get_untracked() feed /> })
                    }
                    Err(error) => Either::Right(view! { <LoadError error /> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn AlertTable(page: AlertListPage, filter: AlertFilter, feed: Feed) -> impl IntoView {
    let empty = page.rows.is_empty();
    let shown = page.rows.iter().map(ShownRow::of).collect();
    let first_page = href(&filter, 1);
    let shown_filter = AlertFilter {
        page: page.page,
        since_id: page.since_id,
        ..filter.clone()
    };
    view! {
        <DataTable labelled_by="alerts-heading" columns=&["Number", "Severity", "State", "Source", "Node", "Configuration item", "Description", "Case", "Last event (UTC)"]>
            {page.rows.into_iter().map(alert_row).collect_view()}
        </DataTable>
        <LiveAlertRows filter=shown_filter shown total=page.follow_total feed first_page />
        <Show when=move || empty>
            <p role="status">"No alerts match these filters."</p>
        </Show>
        <Pager
            page=page.page
            pages=page.pages
            total=page.total
            more=page.more
            noun="alerts"
            href=move |p| href(&filter, p)
        />
    }
}

impl HasNumber for AlertRow {
    fn number(&self) -> &str {
        &self.number
    }
}

/// The shown rows whose alerts changed, rendered again, and how many alerts match `filter` now.
#[server(endpoint = "live_alert_rows", output = crate::codec::Json)]
pub async fn live_alert_rows(filter: AlertFilter, shown: Vec<ShownRow>) -> Result<LiveRowsUpdate, AppError> {
    crate::access::require(crate::access::Permission::ViewAlerts)?;
    crate::live::check_shown(&shown)?;
    let store = crate::store::Store::from_context()?;
    let numbers: Vec<String> = shown.iter().map(|row| row.number.clone()).collect();
    let result = async {
        let total = store.follow_total(&filter).await?;
        let rows = store.alert_rows(&numbers).await?;
        let rendered = rows
            .into_iter()
            .map(|row| (ShownRow::of(&row), alert_row(row).to_html()));
        Ok(LiveRowsUpdate::of(&shown, total, rendered))
    }
    .await;
    crate::error::with_status(result)
}

/// All Alerts' rows, following their alerts (see `FollowRows`).
#[island]
fn LiveAlertRows(
    filter: AlertFilter,
    shown: Vec<ShownRow>,
    total: u64,
    feed: Feed,
    first_page: String,
) -> impl IntoView {
    let fetch = move |shown| live_alert_rows(filter.clone(), shown);
    view! { <FollowRows kind=RecordKind::Alert shown total feed first_page fetch /> }
}

/// One row of All Alerts; `data-number` lets the live list find it to update it in place.
pub(crate) fn alert_row(row: AlertRow) -> impl IntoView {
    let href = format!("/alerts/{}", row.number);
    let severity_class = format!("severity severity-{}", row.severity.code());
    let number = row.number.clone();
    view! {
        <tr data-number=number>
            <th scope="row">
                <a href=href>{row.number}</a>
            </th>
            <td>
                <span class=severity_class>{row.severity.label()}</span>
            </td>
            <td>{row.state.as_str()}</td>
            <td>{row.source}</td>
            <td>{row.node}</td>
            <td>{row.ci.unwrap_or_else(|| "—".into())}</td>
            <td class="description">{row.description}</td>
            <td>{row.case_number.map(|n| view! { <a href=format!("/cases/{n}")>{n.clone()}</a> })}</td>
            <td>{row.last_event_at}</td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_links_keep_the_filters() {
        let filter = AlertFilter {
            state: Some(AlertState::Open),
            severity: Some(Severity::Critical),
            text: Some("db host&1".into()),
            page: 1,
            since_id: None,
        };
        assert_eq!(href(&filter, 2), "/alerts?state=Open&severity=1&q=db+host%261&page=2");
        assert_eq!(href(&AlertFilter::default(), 3), "/alerts?page=3");
        // What a link says is what the page reads back, whatever the text holds.
        for text in ["db host&1", "a+b", "97% full", "café = ok?"] {
            let filter = AlertFilter {
                text: Some(text.into()),
                page: 2,
                ..filter.clone()
            };
            let link = href(&filter, 2);
            assert_eq!(filter_from(link.trim_start_matches("/alerts")), filter, "{link}");
        }
    }
}
