//! The Affected Install Base Items related list on the alert form.

use super::{AffectedSnapshot, RefreshInstallBase};
use crate::ui::{DataTable, Pager};
use leptos::{either::Either, prelude::*};

/// The related list, showing `snapshot` (kept current by the alert form after each refresh).
#[component]
pub fn AffectedItemsRegion(
    refresh: ServerAction<RefreshInstallBase>,
    snapshot: RwSignal<AffectedSnapshot>,
) -> impl IntoView {
    let progress = move || {
        if refresh.pending().get() {
            return "Tracing install base items…".to_owned();
        }
        match refresh.value().get() {
            Some(Ok(outcome)) => format!(
                "Refreshed: {} item{} of {} account{}.",
                outcome.items,
                if outcome.items == 1 { "" } else { "s" },
                outcome.accounts,
                if outcome.accounts == 1 { "" } else { "s" }
            ),
            _ => String::new(),
        }
    };
    let refused = move || match refresh.value().get() {
        Some(Err(error)) => error.to_string(),
        _ => String::new(),
    };
    view! {
        <section class="related" aria-labelledby="affected-heading" aria-busy=move || refresh.pending().get().to_string()>
            <h2 id="affected-heading">"Affected Install Base Items"</h2>
            <p id="affected-status" role="status" class="status-message">
                {progress}
            </p>
            <p role="alert" class="error">
                {refused}
            </p>
            {move || view! { <SnapshotTable snapshot=snapshot.get() /> }}
        </section>
    }
}

#[component]
fn SnapshotTable(snapshot: AffectedSnapshot) -> impl IntoView {
    let (total, accounts) = (snapshot.total, snapshot.accounts);
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let summary = match &snapshot.refreshed_at {
        None => Either::Left(view! {
            <p class="muted">"Never refreshed. Use Refresh Install Base Items to trace the items this alert affects."</p>
        }),
        Some(at) => Either::Right(view! {
            <p class="muted">
                "Last refreshed " <time>{at.clone()} " UTC"</time>
                {format!(" · {} of {}", plural(total, "item"), plural(accounts, "account"))}
            </p>
        }),
    };
    let empty = snapshot.items.is_empty() && snapshot.refreshed_at.is_some();
    // Big snapshots (tens of thousands of items) come a page at a time; the pager's links work without JavaScript.
    let pager = (snapshot.pages > 1).then(|| {
        view! {
            <Pager
                page=snapshot.page
                pages=snapshot.pages
                total=snapshot.total
                noun="items"
                href=|p| format!("?items_page={p}")
            />
        }
    });
    view! {
        {summary}
        <DataTable labelled_by="affected-heading" columns=&["Number", "Name", "Account", "Contact", "Product", "Configuration item", "Reason"]>
                    {snapshot
                        .items
                        .into_iter()
                        .map(|item| {
                            let account = if item.external {
                                item.account
                            } else {
                                format!("{} (internal)", item.account)
                            };
                            view! {
                                <tr>
                                    <th scope="row">{item.number}</th>
                                    <td>{item.name}</td>
                                    <td>{account}</td>
                                    <td>{item.contact.unwrap_or_default()}</td>
                                    <td>{item.product.unwrap_or_default()}</td>
                                    <td>{item.ci.unwrap_or_default()}</td>
                                    <td>{item.reason.to_string()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </DataTable>
        {pager}
        <Show when=move || empty>
            <p>"No active install base items are affected."</p>
        </Show>
    }
}
