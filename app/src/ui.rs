//! Small pieces several pages share.

use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

/// Sets `data-hydrated` on `<html>` once the page's islands are live. Tests and scripts wait for it rather than
/// sleeping; without JavaScript it never appears, and nothing needs it.
#[island]
pub fn HydrationMarker() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}

/// The page for a record or route that does not exist. Rendered on the server, it answers HTTP 404.
#[component]
#[allow(clippy::needless_pass_by_value)] // component props are owned
pub fn NotFound(what: &'static str, key: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let message = if key.is_empty() {
        format!("{what} not found.")
    } else {
        format!("{what} {key} was not found. Check the number, or find it in the list.")
    };
    view! {
        <Title text="Not found" />
        <section class="not-found" aria-labelledby="not-found-heading">
            <h1 id="not-found-heading">"Not found"</h1>
            <p>{message}</p>
            <p>
                <a href="/alerts">"Go to All Alerts"</a>
            </p>
        </section>
    }
}

/// A failed load: not-found errors get the not-found page, others a message saying what to do.
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    match error {
        AppError::NotFound { what, key } => {
            let what: &'static str = if what == "Case" {
                "Case"
            } else if what == "Alert" {
                "Alert"
            } else {
                "Record"
            };
            view! { <NotFound what key /> }.into_any()
        }
        other => view! {
            <p class="error" role="alert">
                {other.to_string()}
            </p>
        }
        .into_any(),
    }
}

/// A table named by the element `labelled_by`, with a header row of `columns`; `children` are its body rows.
#[component]
pub fn DataTable(labelled_by: &'static str, columns: &'static [&'static str], children: Children) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table aria-labelledby=labelled_by>
                <thead>
                    <tr>{columns.iter().map(|column| view! { <th scope="col">{*column}</th> }).collect_view()}</tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}

/// "Page 2 of 5" with Previous and Next links that keep the rest of the query.
#[component]
pub fn Pager(page: u32, pages: u32, total: u64, noun: &'static str, href: impl Fn(u32) -> String) -> impl IntoView {
    let previous = (page > 1).then(|| href(page - 1));
    let next = (page < pages).then(|| href(page + 1));
    view! {
        <nav class="pager" aria-label=format!("{noun} pages")>
            {previous.map(|href| view! { <a href=href rel="prev">"Previous page"</a> })}
            <span>{format!("Page {page} of {pages} · {total} {noun}")}</span>
            {next.map(|href| view! { <a href=href rel="next">"Next page"</a> })}
        </nav>
    }
}
