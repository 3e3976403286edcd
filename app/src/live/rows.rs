//! Lists that follow their records (All Alerts, Cases): a changed row is redrawn in place, where it stands, and new
//! records are announced (`2 new alerts`, button `Show`) rather than pushed in under the pointer. The rows are
//! rendered on the server, by the same code that rendered the page, so the browser's code only swaps them in.

use super::{follow, Change, Feed, RecordKind};
use crate::{alerts::AlertFilter, AppError};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// At most this many rows a list asks about at once (a page holds 20).
pub const MAX_SHOWN: usize = 50;

/// Which list a page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiveList {
    Alerts(AlertFilter),
    Cases { page: u32 },
}

impl LiveList {
    fn kind(&self) -> RecordKind {
        match self {
            LiveList::Alerts(_) => RecordKind::Alert,
            LiveList::Cases { .. } => RecordKind::Case,
        }
    }
}

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

impl HasNumber for crate::alerts::AlertRow {
    fn number(&self) -> &str {
        &self.number
    }
}

impl HasNumber for crate::cases::CaseRow {
    fn number(&self) -> &str {
        &self.number
    }
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

/// The rows of `shown` whose records changed, rendered again, and the list's total now.
#[server(endpoint = "live_rows", output = crate::codec::Json)]
pub async fn live_rows(list: LiveList, shown: Vec<ShownRow>) -> Result<LiveRowsUpdate, AppError> {
    use crate::auth::{require, Permission};
    let viewer = require(list.kind().permission())?;
    let state = crate::state::app_state()?;
    if shown.len() > MAX_SHOWN {
        return Err(AppError::invalid(
            "shown",
            format!("Ask about at most {MAX_SHOWN} rows."),
        ));
    }
    let numbers: Vec<String> = shown.iter().map(|row| row.number.clone()).collect();
    let result = async {
        let (total, rendered): (u64, Vec<(ShownRow, String)>) = match &list {
            LiveList::Alerts(filter) => {
                let total = state.store.list_alerts(filter).await?.total;
                let rows = state.store.alert_rows(&numbers).await?;
                let rendered = rows
                    .into_iter()
                    .map(|row| (ShownRow::of(&row), crate::alerts::list::alert_row(row).to_html()))
                    .collect();
                (total, rendered)
            }
            LiveList::Cases { page } => {
                let total = state.store.list_cases(*page).await?.total;
                let link_alerts = viewer.may(Permission::ViewAlerts);
                let rows = state.store.case_rows(&numbers).await?;
                let rendered = rows
                    .into_iter()
                    .map(|row| {
                        (
                            ShownRow::of(&row),
                            crate::cases::list::case_row(row, link_alerts).to_html(),
                        )
                    })
                    .collect();
                (total, rendered)
            }
        };
        let changed = rendered
            .into_iter()
            .filter(|(row, _)| !shown.contains(row))
            .map(|(row, html)| ChangedRow { row, html })
            .collect();
        Ok(LiveRowsUpdate { changed, total })
    }
    .await;
    crate::error::with_status(result)
}

/// Keeps a server-rendered list's rows in step with their records, and announces new ones.
#[island]
pub fn LiveRows(
    list: LiveList,
    shown: Vec<ShownRow>,
    /// The list's total when the page was drawn.
    total: u64,
    feed: Feed,
    /// Where `Show` goes: the list's first page, with its filters.
    first_page: String,
) -> impl IntoView {
    let kind = list.kind();
    let fresh = RwSignal::new(0u64);
    let shown = StoredValue::new(shown);
    let list = StoredValue::new(list);
    Effect::new(move |_| {
        follow(
            &feed,
            move |change: &Change| change.kind == kind,
            move || async move {
                let Ok(update) = live_rows(list.get_value(), shown.get_value()).await else {
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
