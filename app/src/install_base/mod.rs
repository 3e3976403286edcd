//! Which customers' install base items an alert affects: the trace, its stored snapshot and the related list.

mod affected_list;
#[cfg(feature = "ssr")]
mod server;

pub use affected_list::AffectedItemsRegion;
#[cfg(feature = "ssr")]
pub use server::DEFAULT_MAX_HOPS;

use crate::{
    auth::{require, Permission},
    AppError,
};
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

/// The alert's stored snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedSnapshot {
    /// When the snapshot was taken; `None` if the alert was never traced.
    pub refreshed_at: Option<String>,
    pub items: Vec<AffectedItem>,
}

impl AffectedSnapshot {
    /// The distinct accounts of the items, in list order.
    pub fn accounts(&self) -> Vec<&str> {
        let mut accounts: Vec<&str> = Vec::new();
        for item in &self.items {
            if !accounts.contains(&item.account.as_str()) {
                accounts.push(&item.account);
            }
        }
        accounts
    }
}

/// What a refresh found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshOutcome {
    pub items: u64,
    pub accounts: u64,
    pub refreshed_at: String,
}

/// Traces the alert's CI through the CMDB and stores the affected items as the alert's new snapshot.
#[server(endpoint = "refresh_install_base")]
pub async fn refresh_install_base(alert: String) -> Result<RefreshOutcome, AppError> {
    let viewer = require(Permission::RefreshInstallBase)?;
    let state = crate::state::app_state()?;
    let outcome = state
        .store
        .refresh_install_base(&alert, server::DEFAULT_MAX_HOPS, &viewer.name)
        .await;
    if outcome.is_ok() {
        state
            .changes
            .publish(crate::state::RecordChange::AlertUpdated { number: alert });
    }
    crate::error::with_status(outcome)
}

/// The alert's stored snapshot of affected install base items.
#[server(endpoint = "affected_items")]
pub async fn affected_items(alert: String) -> Result<AffectedSnapshot, AppError> {
    require(Permission::ViewAlerts)?;
    let state = crate::state::app_state()?;
    crate::error::with_status(state.store.affected_snapshot(&alert).await)
}
