//! Alert rules: the `Alert Rules` page where `evt_mgmt_admin` turns rules on and off, and (on the server) the rule
//! `Create Proactive Case`, which opens an alert's proactive case when an incident is created from it.

mod page;
#[cfg(feature = "ssr")]
mod server;

pub use page::AlertRulesPage;

use crate::{domain::Severity, AppError};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A rule as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRule {
    pub id: i64,
    pub name: String,
    /// What it does, as the page says it.
    pub action: String,
    pub active: bool,
    /// The least severe alert it acts on.
    pub min_severity: Severity,
    /// The rule also sends the initial notice, once the alert has stayed open for the hold-down time.
    #[serde(default)]
    pub send_initial_notice: bool,
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
}

/// A change to a rule from the page's form: texts as posted, parsed on the server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleChange {
    pub id: String,
    /// A checkbox: present ("on") when ticked.
    pub active: Option<String>,
    /// 1 to 5.
    pub min_severity: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    pub send_initial_notice: Option<String>,
}

/// The alert rules (`evt_mgmt_admin` only).
#[server(endpoint = "list_rules", output = crate::codec::Json)]
pub async fn list_rules() -> Result<Vec<AlertRule>, AppError> {
    crate::access::require(crate::access::Permission::ManageAlertRules)?;
    let store = crate::store::Store::from_context()?;
    crate::error::with_status(store.list_rules().await)
}

/// Activates or deactivates a rule and sets its minimum severity (`evt_mgmt_admin` only); audited.
#[server(endpoint = "update_rule", output = crate::codec::Json)]
pub async fn update_rule(input: RuleChange) -> Result<AlertRule, AppError> {
    let viewer = crate::access::require(crate::access::Permission::ManageAlertRules)?;
    let store = crate::store::Store::from_context()?;
    crate::error::with_status(store.update_rule(&input, &viewer.name).await)
}
