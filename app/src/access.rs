//! Who may do what: roles, their permissions, and the signed-in user of the current request ([`viewer`],
//! [`require`]), which every server function checks first. Signing in, sessions and users are `auth`'s.

use crate::{journal::NoteKind, AppError};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// A user's role, as DESIGN.md's table names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Users and roles, and the audit log.
    Admin,
    /// Everything an operator may, plus the alert rules.
    EvtMgmtAdmin,
    /// Alerts: refresh install base items, create incidents and proactive cases, add work notes.
    EvtMgmtOperator,
    /// Cases: view and work them.
    SnCustomerserviceAgent,
    /// Views alerts and cases, nothing else.
    EvtMgmtUser,
}

/// What a request may want to do; each server function and page needs one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    ViewAlerts,
    RefreshInstallBase,
    CreateCases,
    CreateIncidents,
    /// Work notes on proactive cases, without otherwise changing them.
    AddWorkNotes,
    ViewCases,
    /// State, resolution notes, work notes and comments on any case.
    WorkCases,
    ManageAlertRules,
    /// Record a case a customer raised (a reactive case).
    RecordReactiveCases,
    /// The proactive dashboard.
    ViewDashboard,
    /// Notify customers, Retry a failed notice, Send now and Hold.
    NotifyCustomers,
    ManageNoticeTemplates,
    ManageUsers,
    ViewAuditLog,
}

crate::domain::text_enum!(Role {
    Admin => "admin",
    EvtMgmtAdmin => "evt_mgmt_admin",
    EvtMgmtOperator => "evt_mgmt_operator",
    SnCustomerserviceAgent => "sn_customerservice_agent",
    EvtMgmtUser => "evt_mgmt_user",
});

impl Role {
    /// DESIGN.md's role table.
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => matches!(permission, ManageUsers | ViewAuditLog | ViewDashboard),
            Role::EvtMgmtAdmin => {
                Role::EvtMgmtOperator.may(permission)
                    || matches!(permission, ManageAlertRules | NotifyCustomers | ManageNoticeTemplates)
            }
            Role::EvtMgmtOperator => matches!(
                permission,
                ViewAlerts
                    | RefreshInstallBase
                    | CreateCases
                    | CreateIncidents
                    | AddWorkNotes
                    | ViewCases
                    | ViewDashboard
            ),
            Role::SnCustomerserviceAgent => {
                matches!(
                    permission,
                    ViewCases | WorkCases | NotifyCustomers | RecordReactiveCases | ViewDashboard
                )
            }
            Role::EvtMgmtUser => matches!(permission, ViewAlerts | ViewCases),
        }
    }

    /// Where signing in lands: the first page the role may open.
    pub fn home(self) -> &'static str {
        if self.may(Permission::ViewAlerts) {
            "/alerts"
        } else if self.may(Permission::ViewCases) {
            "/cases"
        } else {
            "/audit"
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::parse(text).ok_or_else(|| {
            let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown role “{text}”: use one of {}", names.join(", "))
        })
    }
}

impl Permission {
    /// The permission as the end of "Your role may not …".
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ViewAlerts => "view alerts",
            Permission::RefreshInstallBase => "refresh install base items",
            Permission::CreateCases => "create cases",
            Permission::CreateIncidents => "create incidents",
            Permission::AddWorkNotes => "add work notes",
            Permission::ViewCases => "view cases",
            Permission::WorkCases => "work cases",
            Permission::ManageAlertRules => "manage alert rules",
            Permission::RecordReactiveCases => "record reactive cases",
            Permission::ViewDashboard => "view the dashboard",
            Permission::NotifyCustomers => "notify customers",
            Permission::ManageNoticeTemplates => "manage notice templates",
            Permission::ManageUsers => "manage users",
            Permission::ViewAuditLog => "view the audit log",
        }
    }
}

/// The signed-in user, as pages and islands see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Viewer {
    pub id: i64,
    pub name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub role: Role,
}

impl Viewer {
    pub fn may(&self, permission: Permission) -> bool {
        self.role.may(permission)
    }

    /// Why a control is missing or disabled, for the page to say.
    pub fn why_not(&self, permission: Permission) -> String {
        format!("Your role, {}, may not {}.", self.role, permission.describe())
    }

    /// Whether this user may add a note of `kind` to a case: agents to any case, operators work notes to proactive
    /// cases only.
    pub fn may_note(&self, kind: NoteKind, proactive: bool) -> bool {
        self.may(Permission::WorkCases)
            || (kind == NoteKind::WorkNote && proactive && self.may(Permission::AddWorkNotes))
    }
}

/// The signed-in user of the current request, if any (always `None` in the browser: islands get theirs as props).
pub fn viewer() -> Option<Viewer> {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Viewer>().cloned())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// The signed-in user if their role has `permission`; otherwise 401 (nobody signed in) or 403 (the role may not),
/// with the response's status set. Every server function starts here.
pub fn require(permission: Permission) -> Result<Viewer, AppError> {
    let checked = match viewer() {
        None => Err(AppError::Unauthorized),
        Some(viewer) if viewer.may(permission) => Ok(viewer),
        Some(viewer) => {
            #[cfg(feature = "ssr")]
            tracing::info!(user = %viewer.name, role = %viewer.role, ?permission, "refused: role lacks permission");
            drop(viewer);
            Err(AppError::Forbidden)
        }
    };
    #[cfg(feature = "ssr")]
    let checked = crate::error::with_status(checked);
    checked
}

/// The signed-in user, whatever their role; 401 when nobody is.
pub fn require_session() -> Result<Viewer, AppError> {
    let checked = viewer().ok_or(AppError::Unauthorized);
    #[cfg(feature = "ssr")]
    let checked = crate::error::with_status(checked);
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_may_what_the_design_table_says() {
        use Permission::*;
        let table: [(Role, &[Permission]); 5] = [
            (Role::Admin, &[ManageUsers, ViewAuditLog]),
            (
                Role::EvtMgmtAdmin,
                &[
                    ViewAlerts,
                    RefreshInstallBase,
                    CreateCases,
                    CreateIncidents,
                    AddWorkNotes,
                    ViewCases,
                    ManageAlertRules,
                    NotifyCustomers,
                    ManageNoticeTemplates,
                ],
            ),
            (
                Role::EvtMgmtOperator,
                &[
                    ViewAlerts,
                    RefreshInstallBase,
                    CreateCases,
                    CreateIncidents,
                    AddWorkNotes,
                    ViewCases,
                ],
            ),
            (Role::SnCustomerserviceAgent, &[ViewCases, WorkCases, NotifyCustomers]),
            (Role::EvtMgmtUser, &[ViewAlerts, ViewCases]),
        ];
        let all = [
            ViewAlerts,
            RefreshInstallBase,
            CreateCases,
            CreateIncidents,
            AddWorkNotes,
            ViewCases,
            WorkCases,
            ManageAlertRules,
            NotifyCustomers,
            ManageNoticeTemplates,
            ManageUsers,
            ViewAuditLog,
        ];
        for (role, allowed) in table {
            for permission in all {
                assert_eq!(
                    role.may(permission),
                    allowed.contains(&permission),
                    "{role} {permission:?}"
                );
            }
        }
    }

    #[test]
    fn role_names_round_trip_and_unknown_ones_are_explained() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        let error = "root".parse::<Role>().expect_err("unknown");
        assert!(error.contains("evt_mgmt_operator"), "{error}");
    }

    #[test]
    fn operators_may_only_add_work_notes_to_proactive_cases() {
        let viewer = |role| Viewer {
            id: 1,
            name: "x".into(),
            role,
        };
        let operator = viewer(Role::EvtMgmtOperator);
        assert!(operator.may_note(NoteKind::WorkNote, true));
        assert!(!operator.may_note(NoteKind::WorkNote, false));
        assert!(!operator.may_note(NoteKind::Comment, true));
        let agent = viewer(Role::SnCustomerserviceAgent);
        assert!(agent.may_note(NoteKind::Comment, false));
        assert!(!viewer(Role::EvtMgmtUser).may_note(NoteKind::WorkNote, true));
    }
}
