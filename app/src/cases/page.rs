//! The case page: its fields, the items it covers, its child cases and its journals, each list a page at a time
//! (`?items_page=`, `?notes_page=`, `?comments_page=`): a core switch's case covers tens of thousands of items.

use super::{
    get_case,
    list::CaseTable,
    work::{CaseRights, CaseWork, CaseWorkView},
    CaseDetail, CaseItemsPage, CasePages, CASE_ITEMS_PAGE_SIZE,
};
use crate::{
    access::{viewer, Permission, Viewer},
    live::{Feed, RecordKind, Topic},
    notices::{read_customer_impact, CustomerImpact, CustomerImpactView},
    ui::{showing, DataTable, Detail, LoadError, Pager},
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn CasePage() -> impl IntoView {
    // Who is looking, read while the request is sure to be there: the view is built after the case's await, and a
    // context lookup from a render that outlives its request can hang the worker (BENCHMARKS.md, a shift of agents).
    let viewer = viewer();
    let params = use_params_map();
    let number = Memo::new(move |_| params.read().get("number").unwrap_or_default());
    let query = use_query_map();
    let page_of = move |name: &str| query.read().get(name).and_then(|p| p.parse::<u32>().ok());
    let pages = Memo::new(move |_| (page_of("items_page"), page_of("notes_page"), page_of("comments_page")));
    let impact_filter = Memo::new(move |_| query.read().get("impact"));
    let case = Resource::new(
        move || (number.get(), pages.get(), impact_filter.get()),
        |(number, (items_page, notes_page, comments_page), filter)| async move {
            // Before the case is read: whatever commits after the read reaches the open page.
            let feed = Feed::new(&[Topic::One(RecordKind::Case, number.clone())]);
            let detail = get_case(number.clone(), items_page, notes_page, comments_page).await?;
            let impact = if detail.case.proactive {
                Some(read_customer_impact(number, filter).await?)
            } else {
                None
            };
            Ok::<_, crate::AppError>((detail, impact, feed))
        },
    );
    view! {
        <Suspense fallback=|| view! { <p role="status">"Loading case…"</p> }>
            {move || {
                let viewer = viewer.clone();
                Suspend::new(async move {
                match case.await {
                    Ok((detail, impact, feed)) => Either::Left(view! { <CaseView detail impact feed viewer /> }),
                    Err(error) => Either::Right(view! { <LoadError error /> }),
                }
            })
            }}
        </Suspense>
    }
}

#[component]
fn CaseView(detail: CaseDetail, impact: Option<CustomerImpact>, feed: Feed, viewer: Option<Viewer>) -> impl IntoView {
    let case = detail.case;
    let kind = match (case.proactive, detail.children.is_empty(), case.parent.is_some()) {
        (_, false, _) => "Major proactive case",
        (true, true, true) => "Child case",
        (true, true, false) => "Proactive case",
        (false, ..) if detail.channel.is_some() => "Reactive case",
        (false, ..) => "Case",
    };
    let reactive = detail.channel.map(|channel| {
        view! {
            <Detail term="Channel" value=channel.label().to_owned() />
            <div class="field">
                <dt>"Related proactive case"</dt>
                <dd>{detail.related.map(|r| view! { <a href=format!("/cases/{r}")>{r.clone()}</a> })}</dd>
            </div>
        }
    });
    let has_children = !detail.children.is_empty();
    let may_notify = viewer.as_ref().is_some_and(|v| v.may(Permission::NotifyCustomers));
    let may_record = viewer.as_ref().is_some_and(|v| v.may(Permission::RecordReactiveCases));
    let rights = viewer.as_ref().map(|v| CaseRights::of(v, case.proactive));
    let link_alerts = viewer.is_some_and(|v| v.may(Permission::ViewAlerts));
    // The pages shown, which every pager's links keep for the other lists.
    let shown = CasePages {
        items: detail.items.page,
        notes: detail.work_notes.page,
        comments: detail.comments.page,
    };
    let work = CaseWorkView {
        number: case.number.clone(),
        state: case.state,
        assigned_to: case.assigned_to.clone(),
        resolution_notes: detail.resolution_notes,
        work_notes: detail.work_notes,
        comments: detail.comments,
    };
    let items_page = shown.items;
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
            {case
                .update_overdue
                .then(|| {
                    view! {
                        <p class="callout overdue">
                            "Update overdue: an affected customer's next update was due. See Customer impact."
                        </p>
                    }
                })}
            <dl class="fields">
                <Detail term="Short description" value=case.short_description.clone() />
                <Detail term="Account" value=case.account.clone().unwrap_or_else(|| "Several (see child cases)".into()) />
                <Detail term="Contact" value=detail.contact.unwrap_or_default() />
                <Detail term="Product" value=detail.product.unwrap_or_default() />
                <Detail term="Priority" value=case.priority.to_string() />
                <Detail term="Proactive" value=(if case.proactive { "Yes" } else { "No" }).to_owned() />
                {reactive}
                <Detail term="Opened by" value=detail.opened_by />
                <Detail term="Opened (UTC)" value=case.opened_at.clone() />
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
                    <CaseTable rows=children.clone() labelled_by="children-heading" link_alerts />
                </section>
            </Show>
            {impact.map(|impact| view! { <CustomerImpactView impact may_notify may_record /> })}
            <CaseItems items=detail.items shown />
            {rights.map(|rights| view! { <CaseWork work rights feed items_page /> })}
        </article>
    }
}

/// The install base items the case covers, a page at a time: rendered on the server only, outside the island, so
/// the browser gets them once, as rows, and never as props.
#[component]
fn CaseItems(items: CaseItemsPage, shown: CasePages) -> impl IntoView {
    let summary = match items.total {
        0 => "The case covers no install base items.".to_owned(),
        _ => showing(
            items.page,
            CASE_ITEMS_PAGE_SIZE,
            items.items.len(),
            items.total,
            "items",
        ),
    };
    let pager = (items.pages > 1).then(|| {
        view! {
            <Pager
                page=items.page
                pages=items.pages
                total=items.total
                noun="items"
                href=move |p| shown.link("items_page", p)
            />
        }
    });
    let rows = items.items;
    let table = (!rows.is_empty()).then(move || {
        view! {
            <DataTable labelled_by="case-items-heading" columns=&["Number", "Name", "Account"]>
                {rows
                    .into_iter()
                    .map(|item| {
                        view! {
                            <tr>
                                <th scope="row">{item.number}</th>
                                <td>{item.name}</td>
                                <td>{item.account}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </DataTable>
        }
    });
    view! {
        <section class="related" aria-labelledby="case-items-heading">
            <h2 id="case-items-heading">"Install base items"</h2>
            <p class="muted">{summary}</p>
            {table}
            {pager}
        </section>
    }
}
