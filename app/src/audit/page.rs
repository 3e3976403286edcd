//! The Audit log page, newest first.

use super::list_audit;
use crate::ui::{DataTable, LoadError, Pager};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse::<u32>().ok()));
    let entries = Resource::new(move || page.get(), list_audit);
    view! {
        <Title text="Audit log" />
        <h1 id="audit-heading">"Audit log"</h1>
        <Transition fallback=|| view! { <p role="status">"Loading the audit log…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(page) => Either::Left(view! {
                        <DataTable
                            labelled_by="audit-heading"
                            columns=&["Time (UTC)", "Actor", "Action", "Record", "Details", "Address"]
                        >
                            {page
                                .entries
                                .into_iter()
                                .map(|entry| {
                                    view! {
                                        <tr>
                                            <td>{entry.at}</td>
                                            <td>{entry.actor}</td>
                                            <td>{entry.action.label()}</td>
                                            <td>{entry.record}</td>
                                            <td>{entry.detail}</td>
                                            <td>{entry.address}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </DataTable>
                        <Pager
                            page=page.page
                            pages=page.pages
                            total=page.total
                            noun="entries"
                            href=|p| format!("/audit?page={p}")
                        />
                    }),
                    Err(error) => Either::Right(view! { <LoadError error /> }),
                }
            })}
        </Transition>
    }
}
