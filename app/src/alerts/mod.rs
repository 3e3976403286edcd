//! All Alerts and the alert form: the lists an agent starts from and the record the flow works on.

mod form;
pub(crate) mod list;
#[cfg(feature = "ssr")]
pub mod retention;
#[cfg(feature = "ssr")]
pub(crate) mod server;

pub use form::AlertPage;
pub use list::AlertsPage;

use crate::{
    domain::{AlertState, Severity},
    journal::JournalPage,
    AppError,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Alerts per page of All Alerts.
pub const PAGE_SIZE: u32 = 20;

/// What All Alerts is filtered by; every part is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    pub severity: Option<Severity>,
    pub text: Option<String>,
    /// 1-based; 0 means the first page. Never optional, so an unfiltered request still names the filter.
    pub page: u32,
    /// A live list past [`COUNT_CAP`] counts the alerts newer than this id (the newest when its page was drawn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_id: Option<i64>,
}

/// One row of All Alerts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRow {
    pub number: String,
    pub severity: Severity,
    pub state: AlertState,
    pub source: String,
    pub node: String,
    pub ci: Option<String>,
    pub description: String,
    pub case_number: Option<String>,
    pub last_event_at: String,
}

/// All Alerts counts matches up to this many; past it the page says `more than 10,000` rather than count a year of
/// alerts on every page.
pub const COUNT_CAP: u64 = 10_000;

/// A search of fewer characters than this cannot use the trigram indexes: it reads the alerts instead, only the
/// [`SHORT_SEARCH_SCOPE`] most recently raised (a scan of a year of alerts takes over a second).
pub const INDEXED_SEARCH: usize = 3;
/// How many of the newest alerts a search of one or two characters reads.
pub const SHORT_SEARCH_SCOPE: i64 = 50_000;

/// One page of All Alerts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertListPage {
    pub rows: Vec<AlertRow>,
    /// How many alerts match, or [`COUNT_CAP`] when `more`.
    pub total: u64,
    /// More than [`COUNT_CAP`] alerts match: `total` is a lower bound and `pages` is one past this page while it is
    /// full.
    pub more: bool,
    /// The count the live list compares with to announce new alerts (see `Store::follow_total`): `total` itself
    /// unless `more`.
    pub follow_total: u64,
    /// When `more`: the newest alert's id as the page was read, which the live list counts new alerts from.
    pub since_id: Option<i64>,
    pub page: u32,
    pub pages: u32,
}

/// Everything the alert form shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDetail {
    pub number: String,
    pub source: String,
    pub node: String,
    pub kind: String,
    pub resource: String,
    pub metric_name: String,
    pub message_key: String,
    pub description: String,
    pub severity: Severity,
    pub state: AlertState,
    pub ci: Option<String>,
    pub ci_class: Option<String>,
    pub case_number: Option<String>,
    pub incident_number: Option<String>,
    pub event_count: i64,
    pub first_event_at: String,
    pub last_event_at: String,
    pub ib_refreshed_at: Option<String>,
}

/// One page of All Alerts, newest first.
#[server(endpoint = "list_alerts", output = crate::codec::Json)]
pub async fn list_alerts(filter: AlertFilter) -> Result<AlertListPage, AppError> {
    crate::access::require(crate::access::Permission::ViewAlerts)?;
    let store = crate::store::Store::from_context()?;
    crate::error::with_status(store.list_alerts(&filter).await)
}

/// The alert with this number.
#[server(endpoint = "get_alert", output = crate::codec::Json)]
pub async fn get_alert(number: String) -> Result<AlertDetail, AppError> {
    crate::access::require(crate::access::Permission::ViewAlerts)?;
    let store = crate::store::Store::from_context()?;
    crate::error::with_status(store.alert_detail(&number).await)
}

/// One page (1-based; default the first) of the alert's activity, newest first.
#[server(endpoint = "alert_journal", output = crate::codec::Json)]
pub async fn alert_journal(number: String, page: Option<u32>) -> Result<JournalPage, AppError> {
    crate::access::require(crate::access::Permission::ViewAlerts)?;
    let store = crate::store::Store::from_context()?;
    crate::error::with_status(store.alert_journal(&number, page.unwrap_or(1)).await)
}
