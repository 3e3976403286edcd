//! All Alerts and the alert form: the lists an agent starts from and the record the flow works on.

mod form;
pub(crate) mod list;
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

/// One page of All Alerts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertListPage {
    pub rows: Vec<AlertRow>,
    pub total: u64,
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
