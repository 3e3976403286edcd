//! The Cases list, newest first.

use super::{list_cases, CaseRow};
use crate::ui::{DataTable, LoadError, Pager};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn CasesPage() -> impl IntoView {
    let query = use_query_map();
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse::<u32>().ok()));
    let cases = Resource::new(move || page.get(), list_cases);
    view! {
        <Title text="Cases" />
        <h1 id="cases-heading">"Cases"</h1>
        <Transition fallback=|| view! { <p role="status">"Loading cases…"</p> }>
            {move || Suspend::new(async move {
                match cases.await {
                    Ok(page) => {
                        let empty = page.rows.is_empty();
                        Either::Left(view! {
                            <CaseTable rows=page.rows labelled_by="cases-heading" />
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
    // Agents may not open alerts: their alert numbers are text, not links that would answer 403.
    let link_alerts = crate::auth::viewer().is_some_and(|v| v.may(crate::auth::Permission::ViewAlerts));
    view! {
        <DataTable labelled_by=labelled_by columns=&["Number", "Short description", "Account", "Priority", "State", "Alert", "Parent case", "Opened (UTC)"]>
                    {rows
                        .into_iter()
                        .map(|row| {
                            view! {
                                <tr>
                                    <th scope="row">
                                        <a href=format!("/cases/{}", row.number)>{row.number.clone()}</a>
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
                                    <td>
                                        {row.parent.map(|p| view! { <a href=format!("/cases/{p}")>{p.clone()}</a> })}
                                    </td>
                                    <td>{row.opened_at}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </DataTable>
    }
}
