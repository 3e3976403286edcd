//! Lists that follow their records (All Alerts, Cases): a changed row is redrawn in place, where it stands, and new
//! records are announced (`2 new alerts`, button `Show`) rather than pushed in under the pointer. The rows are
//! rendered on the server, by the same code that rendered the page, so the browser's code only swaps them in.

use super::{follow, Change, Feed, RecordKind};
use crate::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// At most this many rows a list asks about at once (a page holds 20).
pub const MAX_SHOWN: usize = 50;

/// A row the page shows: its record's number and a fingerprint of what it shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownRow {
    pub number: String,
    pub fingerprint: String,
}

impl ShownRow {
    /// The row of a list DTO (`AlertRow`, `CaseRow`); what it shows is what its `Debug` says.
    pub fn of<R: std::fmt::Debug + HasNumber>(row: &R) -> Self {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        format!("{row:?}").hash(&mut hasher);
        Self {
            number: row.number().to_owned(),
            fingerprint: format!("{:x}", hasher.finish()),
        }
    }
}

/// A list row's record number.
pub trait HasNumber {
    fn number(&self) -> &str;
}

/// A row that changed since the page showed it, rendered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedRow {
    pub row: ShownRow,
    /// The whole `<tr>`, rendered (and escaped) on the server.
    pub html: String,
}

/// What changed in a list since the page was drawn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRowsUpdate {
    /// The shown rows whose record changed.
    pub changed: Vec<ChangedRow>,
    /// How many records the list has now (with its filters).
    pub total: u64,
}

impl LiveRowsUpdate {
    /// The update of a list whose rows are now `rendered` (each with the row it renders) and its total `total`:
    /// the rows that differ from what the page shows.
    pub fn of(shown: &[ShownRow], total: u64, rendered: impl IntoIterator<Item = (ShownRow, String)>) -> Self {
        let changed = rendered
            .into_iter()
            .filter(|(row, _)| !shown.contains(row))
            .map(|(row, html)| ChangedRow { row, html })
            .collect();
        Self { changed, total }
    }
}

/// Refuses a page that asks about more rows than a list shows.
pub fn check_shown(shown: &[ShownRow]) -> Result<(), AppError> {
    if shown.len() > MAX_SHOWN {
        return Err(AppError::invalid(
            "shown",
            format!("Ask about at most {MAX_SHOWN} rows."),
        ));
    }
    Ok(())
}

/// Keeps a server-rendered list's rows in step with their records, and announces new ones. Used inside a list's
/// island, which gives `fetch`: its server function, asked with the rows the page shows now.
#[component]
pub fn FollowRows<F, Fut>(
    kind: RecordKind,
    shown: Vec<ShownRow>,
    /// The list's total when the page was drawn.
    total: u64,
    feed: Feed,
    /// Where `Show` goes: the list's first page, with its filters.
    first_page: String,
    fetch: F,
) -> impl IntoView
where
    F: Fn(Vec<ShownRow>) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = Result<LiveRowsUpdate, AppError>> + 'static,
{
    let fresh = RwSignal::new(0u64);
    let shown = StoredValue::new(shown);
    Effect::new(move |_| {
        let fetch = fetch.clone();
        follow(
            &feed,
            move |change: &Change| change.kind == kind,
            move || {
                let fetch = fetch.clone();
                async move {
                    let Ok(update) = fetch(shown.get_value()).await else {
                        return;
                    };
                    for changed in update.changed {
                        swap_row(&changed);
                        shown.update_value(|rows| {
                            if let Some(row) = rows.iter_mut().find(|r| r.number == changed.row.number) {
                                *row = changed.row;
                            }
                        });
                    }
                    fresh.set(update.total.saturating_sub(total));
                }
            },
        );
    });
    let (one, many) = match kind {
        RecordKind::Alert => ("alert", "alerts"),
        RecordKind::Case => ("case", "cases"),
    };
    view! {
        <div class="live-news">
            <p role="status" aria-live="polite">
                {move || match fresh.get() {
                    0 => String::new(),
                    1 => format!("1 new {one}"),
                    n => format!("{n} new {many}"),
                }}
            </p>
            <Show when=move || { fresh.get() > 0 }>
                <button type="button" on:click={
                    let first_page = first_page.clone();
                    move |_| show(&first_page)
                }>
                    "Show"
                </button>
            </Show>
        </div>
    }
}

/// Goes to the list's first page, where the new records are.
fn show(first_page: &str) {
    #[cfg(feature = "hydrate")]
    let _ = window().location().set_href(first_page);
    #[cfg(not(feature = "hydrate"))]
    let _ = first_page;
}

/// Puts a row rendered on the server in place of the page's row for the same record.
fn swap_row(changed: &ChangedRow) {
    #[cfg(feature = "hydrate")]
    {
        let selector = format!("tr[data-number=\"{}\"]", changed.row.number);
        if let Ok(Some(row)) = document().query_selector(&selector) {
            row.set_outer_html(&changed.html);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = changed;
}
