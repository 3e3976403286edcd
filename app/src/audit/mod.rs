//! The audit log: every write, with who did it, when, and to which record; a page for `admin`.

mod page;
#[cfg(feature = "ssr")]
pub(crate) mod server;

pub use page::AuditPage;

use crate::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Entries per page of the audit log.
pub const PAGE_SIZE: u32 = 50;

/// What was done; stored by [`AuditAction::as_str`], which the schema's CHECK lists too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    Login,
    LoginFailed,
    LoginThrottled,
    Logout,
    InstallBaseRefreshed,
    CaseCreated,
    CaseStateChanged,
    CaseWorkNote,
    CaseComment,
    UserAdded,
    UserRoleChanged,
    UserPasswordReset,
    UserDisabled,
    UserEnabled,
    TokenCreated,
    TokenRevoked,
    IncidentCreated,
    AlertRuleChanged,
    CaseAssigned,
    CustomersNotified,
    NoticeRetried,
    NoticeTemplateChanged,
    CaseImpactChanged,
    AutoNoticeChanged,
}

crate::domain::text_enum!(AuditAction {
    Login => "login",
    LoginFailed => "login_failed",
    LoginThrottled => "login_throttled",
    Logout => "logout",
    InstallBaseRefreshed => "install_base_refreshed",
    CaseCreated => "case_created",
    CaseStateChanged => "case_state_changed",
    CaseWorkNote => "case_work_note",
    CaseComment => "case_comment",
    UserAdded => "user_added",
    UserRoleChanged => "user_role_changed",
    UserPasswordReset => "user_password_reset",
    UserDisabled => "user_disabled",
    UserEnabled => "user_enabled",
    TokenCreated => "token_created",
    TokenRevoked => "token_revoked",
    IncidentCreated => "incident_created",
    AlertRuleChanged => "alert_rule_changed",
    CaseAssigned => "case_assigned",
    CustomersNotified => "customers_notified",
    NoticeRetried => "notice_retried",
    NoticeTemplateChanged => "notice_template_changed",
    CaseImpactChanged => "case_impact_changed",
    AutoNoticeChanged => "auto_notice_changed",
});

impl AuditAction {
    /// How the audit page names the action.
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::Login => "Signed in",
            AuditAction::LoginFailed => "Failed sign-in",
            AuditAction::LoginThrottled => "Sign-in refused (too many failures)",
            AuditAction::Logout => "Signed out",
            AuditAction::InstallBaseRefreshed => "Install base items refreshed",
            AuditAction::CaseCreated => "Case created",
            AuditAction::CaseStateChanged => "Case state changed",
            AuditAction::CaseWorkNote => "Work note added",
            AuditAction::CaseComment => "Additional comment added",
            AuditAction::UserAdded => "User added",
            AuditAction::UserRoleChanged => "Role changed",
            AuditAction::UserPasswordReset => "Password reset",
            AuditAction::UserDisabled => "User disabled",
            AuditAction::UserEnabled => "User enabled",
            AuditAction::TokenCreated => "API token created",
            AuditAction::TokenRevoked => "API token revoked",
            AuditAction::IncidentCreated => "Incident created",
            AuditAction::AlertRuleChanged => "Alert rule changed",
            AuditAction::CaseAssigned => "Case assigned",
            AuditAction::CustomersNotified => "Customers notified",
            AuditAction::NoticeRetried => "Notice retried",
            AuditAction::NoticeTemplateChanged => "Notice template changed",
            AuditAction::CaseImpactChanged => "Case's affected accounts changed",
            AuditAction::AutoNoticeChanged => "Rule's initial notice sent now or held",
        }
    }
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: AuditAction,
    pub record: Option<String>,
    pub detail: String,
    pub address: Option<String>,
}

/// One page of the audit log, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPageData {
    pub entries: Vec<AuditEntry>,
    pub total: u64,
    pub page: u32,
    pub pages: u32,
}

/// One page of the audit log, newest first (`admin` only).
#[server(endpoint = "list_audit", output = crate::codec::Json)]
pub async fn list_audit(page: Option<u32>) -> Result<AuditPageData, AppError> {
    crate::access::require(crate::access::Permission::ViewAuditLog)?;
    let store = crate::store::Store::from_context()?;
    crate::error::with_status(store.audit_page(page.unwrap_or(1)).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_its_stored_name() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("deleted_everything"), None);
    }
}
