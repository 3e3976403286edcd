//! Telling the customers: a proactive case's **Customer impact** (who is affected, who was told what and when),
//! **Notify customers** with its preview, the notice templates, the outbox that delivers the notices (over SMTP, or
//! to a folder of `.eml` files), the update cadence and the rule's hold-down, and the affected set following the
//! CMDB after the case exists.
//!
//! The pages here are rendered on the server only and post plain forms (`handlers`): none of them adds to the wasm.

mod page;
#[cfg(feature = "ssr")]
pub mod server;

pub use page::{CustomerImpactView, NoticeTemplatesPage, NotifyPage, SentNoticesPage};

use crate::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Sent notices per page.
pub const NOTICES_PAGE_SIZE: u32 = 50;
/// Limits of a template's texts, in characters (a rendered notice is also a journal entry: at most 4,000).
pub const SUBJECT_MAX: usize = 200;
pub const BODY_MAX: usize = 3000;

/// What a notice tells the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NoticeKind {
    Initial,
    Update,
    Resolution,
}

crate::domain::text_enum!(NoticeKind {
    Initial => "initial",
    Update => "update",
    Resolution => "resolution",
});

impl NoticeKind {
    pub fn label(self) -> &'static str {
        match self {
            NoticeKind::Initial => "Initial notice",
            NoticeKind::Update => "Update",
            NoticeKind::Resolution => "Resolution notice",
        }
    }
}

/// Where a notice is on its way to the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delivery {
    /// In the outbox: not yet accepted by the mail server (retrying, if it has failed before).
    Pending,
    Sent,
    /// Given up on, with the server's answer: `Retry` puts it back in the outbox.
    Failed,
}

crate::domain::text_enum!(Delivery {
    Pending => "pending",
    Sent => "sent",
    Failed => "failed",
});

impl Delivery {
    pub fn label(self) -> &'static str {
        match self {
            Delivery::Pending => "Queued",
            Delivery::Sent => "Sent",
            Delivery::Failed => "Failed",
        }
    }
}

/// The last notice an account got (or is getting).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastNotice {
    pub id: i64,
    pub kind: NoticeKind,
    /// An update's number; 1 for the other kinds.
    pub seq: i64,
    pub delivery: Delivery,
    /// When it was sent, or queued while it is not.
    pub at: String,
    /// The mail server's last answer, or why it failed.
    pub answer: Option<String>,
    pub attempts: i64,
}

/// One row of Customer impact: an account the case covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactRow {
    pub account_id: i64,
    pub account: String,
    /// Its affected items, as of the last refresh.
    pub items: i64,
    /// Who a notice goes to, as `Name <address>`: the primary contact and the contacts marked to be told.
    pub recipients: Vec<String>,
    /// The case its notices are written to: its child case (or the case itself when it is the only account).
    pub child_case: String,
    /// False once a refresh no longer finds the account affected: it stays, marked.
    pub affected: bool,
    pub last: Option<LastNotice>,
    /// When its next update is due (UTC), once it has been told and until the resolution notice.
    pub next_update_due: Option<String>,
    pub overdue: bool,
    /// The reactive cases the account raised about this case, oldest first.
    pub reactive_cases: Vec<String>,
}

impl ImpactRow {
    /// What the row's status column says.
    pub fn status(&self) -> &'static str {
        match (&self.last, self.affected) {
            (_, false) => "No longer affected",
            (None, true) => "Not notified",
            (Some(last), true) => last.delivery.label(),
        }
    }
}

/// One change a refresh made to the case's affected set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactChange {
    pub at: String,
    pub actor: String,
    pub account: String,
    /// `Account added`, `Account no longer affected`, `Account affected again`, `Items changed`.
    pub change: String,
    pub items_added: i64,
    pub items_removed: i64,
    pub detail: String,
}

/// The rule's initial notice, waiting out its hold-down time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoNotice {
    /// `scheduled`, `held` or `done`.
    pub state: String,
    /// When it goes out, while scheduled (UTC).
    pub at: Option<String>,
}

/// Which of Customer impact's rows to show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImpactFilter {
    #[default]
    All,
    NotNotified,
    UpdateOverdue,
}

crate::domain::text_enum!(ImpactFilter {
    All => "all",
    NotNotified => "not_notified",
    UpdateOverdue => "overdue",
});

/// The case page's Customer impact region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerImpact {
    pub case: String,
    pub rows: Vec<ImpactRow>,
    /// How many accounts there are before the filter.
    pub accounts: u64,
    pub filter: ImpactFilter,
    pub timeline: Vec<ImpactChange>,
    /// The case's alert is closed: the resolution notice is what is offered.
    pub alert_resolved: bool,
    pub auto_notice: Option<AutoNotice>,
    /// What the last Send (or Retry, Send now, Hold) said, once.
    pub flash: Option<String>,
}

/// One account in Notify customers' preview.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewRow {
    pub account_id: i64,
    pub account: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body: String,
    /// Why this account cannot get this notice (no contact, already sent, case closed); otherwise it is offered,
    /// and ticked unless `suggested` is false.
    pub blocked: Option<String>,
    pub suggested: bool,
}

/// Notify customers: the notice of `kind` each account would get, before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticePreview {
    pub case: String,
    pub kind: NoticeKind,
    /// The sequence the send is for (an update's number): a second Send of the same preview sends nothing twice.
    pub seq: i64,
    pub rows: Vec<PreviewRow>,
    /// A template that failed to render, or the case's state: said instead of the form.
    pub problem: Option<String>,
    /// What the last Send said, when it sent nothing.
    pub flash: Option<String>,
}

/// A row of Sent notices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentNotice {
    pub id: i64,
    pub case: String,
    pub account: String,
    pub kind: NoticeKind,
    pub seq: i64,
    pub recipients: String,
    pub subject: String,
    pub message_id: String,
    pub delivery: Delivery,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub answer: Option<String>,
    pub attempts: i64,
}

/// One page of Sent notices, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentNoticesPage {
    pub notices: Vec<SentNotice>,
    pub total: u64,
    pub page: u32,
    pub pages: u32,
    /// Where notices go: the SMTP server, or the folder of `.eml` files.
    pub delivered_to: String,
    pub flash: Option<String>,
}

/// A notice template, as the Notice templates page edits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeTemplate {
    pub kind: NoticeKind,
    pub subject: String,
    pub body: String,
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
}

/// The Notice templates page: the templates, the placeholders they may use, and a refused draft kept as typed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplatesView {
    pub templates: Vec<NoticeTemplate>,
    pub placeholders: Vec<(String, String)>,
    pub flash: Option<Flash>,
}

/// What a form post said, kept in the session for the page it redirects to, which shows it once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// The path of the page it is for.
    pub page: String,
    pub status: Option<String>,
    pub error: Option<String>,
    /// A refused template, as typed, with the field at fault.
    pub draft: Option<(NoticeKind, String, String, String)>,
    /// The field `error` is about, when it is about one (a refused reactive case).
    #[serde(default)]
    pub field: Option<String>,
    /// A refused form's fields as typed, by name, for the form to show again.
    #[serde(default)]
    pub typed: Vec<(String, String)>,
}

/// The case's Customer impact, `filter` applied; with what the last form post on the case said.
#[server(endpoint = "customer_impact", output = crate::codec::Json)]
pub async fn read_customer_impact(number: String, filter: Option<String>) -> Result<CustomerImpact, AppError> {
    crate::access::require(crate::access::Permission::ViewCases)?;
    let store = crate::store::Store::from_context()?;
    let filter = filter.as_deref().and_then(ImpactFilter::parse).unwrap_or_default();
    let mut impact = crate::error::with_status(store.customer_impact(&number, filter).await)?;
    impact.flash = server::flash::take(&format!("/cases/{number}"))
        .await
        .and_then(|f| f.status.or(f.error));
    Ok(impact)
}

/// What a notice of `kind` would say to each of the case's accounts (Notify customers' preview).
#[server(endpoint = "notice_preview", output = crate::codec::Json)]
pub async fn preview_notice(number: String, kind: Option<String>) -> Result<NoticePreview, AppError> {
    crate::access::require(crate::access::Permission::NotifyCustomers)?;
    let store = crate::store::Store::from_context()?;
    let settings = server::NoticeSettings::from_context();
    let mut preview = crate::error::with_status(store.notice_preview(&number, kind.as_deref(), &settings).await)?;
    preview.flash = server::flash::take(&format!("/cases/{number}/notify"))
        .await
        .and_then(|f| f.error.or(f.status));
    Ok(preview)
}

/// One page of the notices sent and being sent, newest first.
#[server(endpoint = "list_notices", output = crate::codec::Json)]
pub async fn list_notices(page: Option<u32>) -> Result<SentNoticesPage, AppError> {
    crate::access::require(crate::access::Permission::ViewCases)?;
    let store = crate::store::Store::from_context()?;
    let settings = server::NoticeSettings::from_context();
    let mut listing = crate::error::with_status(store.sent_notices(page.unwrap_or(1), &settings).await)?;
    listing.flash = server::flash::take("/notices").await.and_then(|f| f.status.or(f.error));
    Ok(listing)
}

/// The notice templates (`evt_mgmt_admin`).
#[server(endpoint = "notice_templates", output = crate::codec::Json)]
pub async fn notice_templates() -> Result<TemplatesView, AppError> {
    crate::access::require(crate::access::Permission::ManageNoticeTemplates)?;
    let store = crate::store::Store::from_context()?;
    let templates = crate::error::with_status(store.notice_templates().await)?;
    Ok(TemplatesView {
        templates,
        placeholders: server::render::PLACEHOLDERS
            .iter()
            .map(|(name, what)| ((*name).to_owned(), (*what).to_owned()))
            .collect(),
        flash: server::flash::take("/notice-templates").await,
    })
}
