//! The case page: its fields, the items it covers, its child cases and its journal.

use super::{
    get_case,
    list::CaseTable,
    work::{CaseRights, CaseWork, CaseWorkView},
    CaseDetail,
};
use crate::{
    access::{viewer, Permission},
    live::{Feed, RecordKind, Topic},
    ui::LoadError,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn CasePage() -> impl IntoView {
    let params = use_params_map();
    let number = Memo::new(move |_| params.read().get("number").unwrap_or_default());
    let case = Resource::new(
        move || number.get(),
        |number| async move {
            // Before the case is read: whatever commits after the read reaches the open page.
            let feed = Feed::new(&[Topic::One(RecordKind::Case, number.clone())]);
            get_case(number).await.map(|detail| (detail, feed))
        },
    );
    view! {
        <Suspense fallback=|| view! { <p role="status">"Loading case…"</p> }>
            {move || Suspend::new(async move {
                match case.await {
                    Ok((detail, feed)) => Either::Left(view! { <CaseView detail feed /> }),
                    Err(error) => Either::Right(view! { <LoadError error /> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CaseView(detail: CaseDetail, feed: Feed) -> impl IntoView {
    let case = detail.case;
    let kind = match (case.proactive, detail.children.is_empty(), case.parent.is_some()) {
        (_, false, _) => "Major proactive case",
        (true, true, true) => "Child case",
        (true, true, false) => "Proactive case",
        (false, ..) => "Case",
    };
    let has_children = !detail.children.is_empty();
    let viewer = viewer();
    let rights = viewer.as_ref().map(|v| CaseRights::of(v, case.proactive));
    let link_alerts = viewer.is_some_and(|v| v.may(Permission::ViewAlerts));
    let work = CaseWorkView {
        number: case.number.clone(),
        state: case.state,
        assigned_to: case.assigned_to.clone(),
        resolution_notes: detail.resolution_notes,
        journal: detail.journal,
    };
    let children = detail.children;
    view! {
        <Title text=case.number.clone() />
        <article class="record">
            <header class="record-header">
                <p class="breadcrumb">
                    <a href="/cases">"Cases"</a>
                    {format!(" / {kind}")}
                </p>
                <h1>{case.number.clone()}</h1>
            </header>
            <dl class="fields">
                <Item term="Short description" value=case.short_description.clone() />
                <Item term="Account" value=case.account.clone().unwrap_or_else(|| "Several (see child cases)".into()) />
                <Item term="Contact" value=detail.contact.unwrap_or_default() />
                <Item term="Product" value=detail.product.unwrap_or_default() />
                <Item term="Priority" value=case.priority.to_string() />
                <Item term="Proactive" value=(if case.proactive { "Yes" } else { "No" }).to_owned() />
                <Item term="Opened by" value=detail.opened_by />
                <Item term="Opened (UTC)" value=case.opened_at.clone() />
                <div class="field">
                    <dt>"Alert"</dt>
                    <dd>
                        {case
                            .alert
                            .map(|a| match link_alerts {
                                true => view! { <a href=format!("/alerts/{a}")>{a.clone()}</a> }.into_any(),
                                false => a.into_any(),
                            })}
                    </dd>
                </div>
                <div class="field">
                    <dt>"Parent case"</dt>
                    <dd>{case.parent.map(|p| view! { <a href=format!("/cases/{p}")>{p.clone()}</a> })}</dd>
                </div>
            </dl>
            <Show when=move || has_children>
                <section class="related" aria-labelledby="children-heading">
                    <h2 id="children-heading">"Child cases"</h2>
                    <CaseTable rows=children.clone() labelled_by="children-heading" />
                </section>
            </Show>
            <section class="related" aria-labelledby="case-items-heading">
                <h2 id="case-items-heading">"Install base items"</h2>
                <ul class="plain">
                    {detail
                        .items
                        .into_iter()
                        .map(|item| view! { <li>{format!("{} · {} · {}", item.number, item.name, item.account)}</li> })
                        .collect_view()}
                </ul>
            </section>
            {rights.map(|rights| view! { <CaseWork work rights feed /> })}
        </article>
    }
}

#[component]
fn Item(term: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="field">
            <dt>{term}</dt>
            <dd>{value}</dd>
        </div>
    }
}
