//! The Cases list, newest first.

use super::{list_cases, CaseRow};
use crate::{
    live::{Feed, FollowRows, HasNumber, LiveRowsUpdate, RecordKind, ShownRow, Topic},
    ui::{DataTable, LoadError, Pager},
    AppError,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn CasesPage() -> impl IntoView {
    // Read while the page's request is sure to be there, not in the render after the list's await.
    let viewer = crate::access::viewer();
    let link_alerts = viewer
        .as_ref()
        .is_some_and(|v| v.may(crate::access::Permission::ViewAlerts));
    let may_record = viewer.is_some_and(|v| v.may(crate::access::Permission::RecordReactiveCases));
    let query = use_query_map();
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse::<u32>().ok()));
    let cases = Resource::new(
        move || page.get(),
        |page| async move {
            let feed = Feed::new(&[Topic::All(RecordKind::Case)]);
            list_cases(page).await.map(|list| (list, feed))
        },
    );
    view! {
        <Title text="Cases" />
        <h1 id="cases-heading">"Cases"</h1>
        {may_record.then(|| view! {
            <p class="actions">
                <a href=crate::cases::reactive::FORM_PATH class="button">"Record a reactive case"</a>
            </p>
        })}
        <Transition fallback=|| view! { <p role="status">"Loading cases…"</p> }>
            {move || Suspend::new(async move {
                match cases.await {
                    Ok((page, feed)) => {
                        let empty = page.rows.is_empty();
                        let shown = page.rows.iter().map(ShownRow::of).collect();
                        let shown_page = page.page;
                        Either::Left(view! {
                            <CaseTable rows=page.rows labelled_by="cases-heading" link_alerts />
                            <LiveCaseRows page=shown_page shown total=page.total feed />
                            <Show when=move || empty>
                                <p role="status">"No cases yet."</p>
                            </Show>
                            <Pager
                                page=page.page
                                pages=page.pages
                                total=page.total
                                noun="cases"
                                href=|p| format!("/cases?page={p}")
                            />
                        })
                    }
                    Err(error) => Either::Right(view! { <LoadError error /> }),
                }
            })}
        </Transition>
    }
}

/// A table of cases, named by the heading `labelled_by`; alert numbers are links when `link_alerts` (see
/// [`case_row`]).
#[component]
pub fn CaseTable(rows: Vec<CaseRow>, labelled_by: &'static str, link_alerts: bool) -> impl IntoView {
    view! {
        <DataTable labelled_by=labelled_by columns=&["Number", "Short description", "Account", "Priority", "State", "Alert", "Parent case", "Opened (UTC)", "Assigned to"]>
            {rows.into_iter().map(|row| case_row(row, link_alerts)).collect_view()}
        </DataTable>
    }
}

impl HasNumber for CaseRow {
    fn number(&self) -> &str {
        &self.number
    }
}

/// The shown rows whose cases changed, rendered again, and how many cases there are now.
#[server(endpoint = "live_case_rows", output = crate::codec::Json)]
pub async fn live_case_rows(page: u32, shown: Vec<ShownRow>) -> Result<LiveRowsUpdate, AppError> {
    use crate::access::Permission;
    let viewer = crate::access::require(Permission::ViewCases)?;
    crate::live::check_shown(&shown)?;
    let store = crate::store::Store::from_context()?;
    let numbers: Vec<String> = shown.iter().map(|row| row.number.clone()).collect();
    let link_alerts = viewer.may(Permission::ViewAlerts);
    let result = async {
        let total = store.list_cases(page).await?.total;
        let rows = store.case_rows(&numbers).await?;
        let rendered = rows
            .into_iter()
            .map(|row| (ShownRow::of(&row), case_row(row, link_alerts).to_html()));
        Ok(LiveRowsUpdate::of(&shown, total, rendered))
    }
    .await;
    crate::error::with_status(result)
}

/// The Cases list's rows, following their cases (see `FollowRows`).
#[island]
fn LiveCaseRows(page: u32, shown: Vec<ShownRow>, total: u64, feed: Feed) -> impl IntoView {
    let fetch = move |shown| live_case_rows(page, shown);
    view! { <FollowRows kind=RecordKind::Case shown total feed first_page="/cases".to_owned() fetch /> }
}

/// One row of a case table; `data-number` lets the live list find it to update it in place. Agents may not open
/// alerts: for them (`link_alerts` false) alert numbers are text, not links that would answer 403.
pub(crate) fn case_row(row: CaseRow, link_alerts: bool) -> impl IntoView {
    let (number, href) = (row.number.clone(), format!("/cases/{}", row.number));
    view! {
        <tr data-number=number>
            <th scope="row">
                <a href=href>{row.number}</a>
            </th>
            <td>{row.short_description}</td>
            <td>{row.account.unwrap_or_else(|| "Several (major case)".into())}</td>
            <td>{row.priority.to_string()}</td>
            <td>
                {row.state.as_str()}
                {row.update_overdue.then(|| view! { <strong class="badge-overdue">" · Update overdue"</strong> })}
            </td>
            <td>
                {row
                    .alert
                    .map(|a| match link_alerts {
                        true => view! { <a href=format!("/alerts/{a}")>{a.clone()}</a> }.into_any(),
                        false => a.into_any(),
                    })}
            </td>
            <td>{row.parent.map(|p| view! { <a href=format!("/cases/{p}")>{p.clone()}</a> })}</td>
            <td>{row.opened_at}</td>
            <td>{row.assigned_to.unwrap_or_default()}</td>
        </tr>
    }
}
