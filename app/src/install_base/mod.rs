//! Which customers' install base items an alert affects: the trace, its stored snapshot and the related list.

mod affected_list;
mod map;
#[cfg(feature = "ssr")]
mod server;

pub use affected_list::AffectedItemsRegion;
pub use map::{read_impact_map, ImpactMap, ImpactMapView};
#[cfg(feature = "ssr")]
pub use server::{ImpactGraph, MemoryCmdb, TracedItem, DEFAULT_MAX_HOPS};

use crate::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Why an item is in an alert's snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// The item's CI is the alert's CI.
    Direct,
    /// The item's CI depends on the alert's CI through `path` (CI names from the alert's CI to the item's).
    CiPath { path: Vec<String>, hops: u32 },
    /// The item is a child of an affected item.
    ChildOf { parent: String },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Direct => f.write_str("Direct: on the alert's configuration item"),
            Self::CiPath { path, hops } => {
                let plural = if *hops == 1 { "hop" } else { "hops" };
                write!(f, "Via {} ({hops} {plural})", path.join(" → "))
            }
            Self::ChildOf { parent } => write!(f, "Child of {parent}"),
        }
    }
}

/// One row of the Affected Install Base Items list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedItem {
    pub number: String,
    pub name: String,
    pub account: String,
    pub external: bool,
    pub contact: Option<String>,
    pub product: Option<String>,
    pub ci: Option<String>,
    pub reason: Reason,
}

/// Affected items per page of the related list.
pub const ITEMS_PAGE_SIZE: u32 = 50;

/// One page of the alert's stored snapshot, with its totals and whether the CMDB changed since it was taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedSnapshot {
    /// When the snapshot was taken; `None` if the alert was never traced.
    pub refreshed_at: Option<String>,
    /// This page's items, ordered by account and item number.
    pub items: Vec<AffectedItem>,
    /// Items and accounts in the whole snapshot.
    pub total: u64,
    pub accounts: u64,
    pub page: u32,
    pub pages: u32,
    /// The CMDB changed after the snapshot was taken: a refresh may find other items.
    pub stale: bool,
    /// When the CMDB last changed, if it has.
    pub cmdb_changed_at: Option<String>,
    /// This server refreshes stale snapshots when an alert is opened (and the viewer may refresh).
    pub refresh_on_open: bool,
}

/// What a refresh found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshOutcome {
    pub items: u64,
    pub accounts: u64,
    pub refreshed_at: String,
}

/// Whether an alert's snapshot is refreshed when the alert is opened and the CMDB changed since it was taken (the
/// server's `--refresh-stale-on-open`).
#[derive(Clone, Copy, Debug, Default)]
pub struct RefreshStaleOnOpen(pub bool);

/// Traces the alert's CI through the CMDB and stores the affected items as the alert's new snapshot.
#[server(endpoint = "refresh_install_base", output = crate::codec::Json)]
pub async fn refresh_install_base(alert: String) -> Result<RefreshOutcome, AppError> {
    let viewer = crate::access::require(crate::access::Permission::RefreshInstallBase)?;
    let outcome = crate::store::Store::from_context()?
        .refresh_install_base(&alert, server::DEFAULT_MAX_HOPS, &viewer.name)
        .await;
    crate::error::with_status(outcome)
}

/// One page (1-based; default the first) of the alert's stored snapshot of affected install base items.
#[server(endpoint = "affected_items", output = crate::codec::Json)]
pub async fn affected_items(alert: String, page: Option<u32>) -> Result<AffectedSnapshot, AppError> {
    let viewer = crate::access::require(crate::access::Permission::ViewAlerts)?;
    // A refresh writes, and a GET must not write on another site's behalf: only a navigation the browser says
    // started on Forestall's own pages (or from the address bar or a bookmark) refreshes. Requests that do not
    // say (old browsers, scripts) show the stale notice and the Refresh button instead.
    let own_navigation = use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        matches!(
            parts
                .headers
                .get("sec-fetch-site")
                .map(axum::http::HeaderValue::as_bytes),
            Some(b"same-origin" | b"none")
        )
    });
    let refresh_stale_on_open = own_navigation && use_context::<RefreshStaleOnOpen>().is_some_and(|setting| setting.0);
    let snapshot = crate::store::Store::from_context()?
        .affected_snapshot(&alert, page.unwrap_or(1))
        .await
        .map(|mut snapshot| {
            snapshot.refresh_on_open =
                refresh_stale_on_open && viewer.may(crate::access::Permission::RefreshInstallBase);
            snapshot
        });
    crate::error::with_status(snapshot)
}
