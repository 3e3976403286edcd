//! The Cases list, newest first.

use super::{list_cases, CaseRow};
use crate::{
    live::{Feed, LiveList, LiveRows, RecordKind, ShownRow, Topic},
    ui::{DataTable, LoadError, Pager},
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn CasesPage() -> impl IntoView {
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
        <Transition fallback=|| view! { <p role="status">"Loading cases…"</p> }>
            {move || Suspend::new(async move {
                match cases.await {
                    Ok((page, feed)) => {
                        let empty = page.rows.is_empty();
                        let shown = page.rows.iter().map(ShownRow::of).collect();
                        let list = LiveList::Cases { page: page.page };
                        Either::Left(view! {
                            <CaseTable rows=page.rows labelled_by="cases-heading" />
                            <LiveRows list shown total=page.total feed first_page="/cases".to_owned() />
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

/// A table of cases, named by the heading `labelled_by`.
#[component]
pub fn CaseTable(rows: Vec<CaseRow>, labelled_by: &'static str) -> impl IntoView {
    let link_alerts = crate::auth::viewer().is_some_and(|v| v.may(crate::auth::Permission::ViewAlerts));
    view! {
        <DataTable labelled_by=labelled_by columns=&["Number", "Short description", "Account", "Priority", "State", "Alert", "Parent case", "Opened (UTC)", "Assigned to"]>
            {rows.into_iter().map(|row| case_row(row, link_alerts)).collect_view()}
        </DataTable>
    }
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
            <td>{row.state.as_str()}</td>
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
