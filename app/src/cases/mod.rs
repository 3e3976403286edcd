//! Proactive cases: the prefilled case form, case creation, the Cases list and the case page.

mod add_case_note;
mod assign_case;
mod create_case;
mod form;
pub(crate) mod list;
mod page;
pub mod reactive;
#[cfg(feature = "ssr")]
pub(crate) mod server;
mod update_case;
mod work;

pub use add_case_note::{add_case_note, AddCaseNote};
pub use assign_case::{assign_case, AssignCase};
pub use create_case::{create_case, CreateCase};
pub use form::CaseComposer;
pub use list::CasesPage;
pub use page::CasePage;
pub use reactive::ReactiveCasePage;
/// `POST /reactive-cases`, the form's post.
#[cfg(feature = "ssr")]
pub use server::reactive::record as record_reactive_case;
pub use update_case::{update_case, UpdateCase};
pub use work::CaseWorkView;

use crate::{
    domain::{CaseState, Priority},
    journal::{JournalPage, NoteKind},
    AppError,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Cases per page of the Cases list.
pub const PAGE_SIZE: u32 = 20;
/// Limits of the case form's texts, in characters.
pub const SHORT_DESCRIPTION_MAX: usize = 160;
pub const WORK_NOTES_MAX: usize = 4000;
pub const RESOLUTION_NOTES_MAX: usize = 4000;
/// Install base items per page of the case page, as the alert's Affected Install Base Items.
pub const CASE_ITEMS_PAGE_SIZE: u32 = 50;
/// At most this many accounts the case form offers when the snapshot names none; a search finds the others.
pub const ACCOUNT_CHOICES_MAX: u32 = 50;
/// At most this many contacts the case form offers.
pub const CONTACT_CHOICES_MAX: u32 = 100;
/// Limit of the case form's account search, in characters (an account's name is at most 160).
pub const ACCOUNT_SEARCH_MAX: usize = 160;

/// An account the case form can name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChoice {
    pub id: i64,
    pub name: String,
    pub external: bool,
    pub primary_contact: Option<i64>,
    /// Affected items of this account in the alert's snapshot.
    pub items: i64,
}

/// A contact the case form can name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactChoice {
    pub id: i64,
    pub name: String,
    pub account_id: i64,
    pub account: String,
}

/// The case form, prefilled from the alert and its snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDraft {
    pub alert: String,
    /// The alert's proactive case, if it has one already: then there is no form to fill.
    pub existing_case: Option<String>,
    pub short_description: String,
    pub priority: Priority,
    /// Accounts with items in the snapshot; two or more make a major case.
    pub affected_accounts: Vec<AccountChoice>,
    /// Offered when the snapshot names no account: the accounts whose name holds `account_search` (every account
    /// without one), by name, at most [`ACCOUNT_CHOICES_MAX`].
    pub other_accounts: Vec<AccountChoice>,
    /// How many accounts match `account_search` (all of them without one); more than `other_accounts` holds when
    /// the list is cut.
    pub other_accounts_total: u64,
    /// What the agent searched the accounts' names for, if anything.
    pub account_search: Option<String>,
    /// Contacts the agent may choose from, at most [`CONTACT_CHOICES_MAX`]: the one affected account's, primary
    /// contact first, or those of the accounts offered.
    pub contacts: Vec<ContactChoice>,
    /// How many contacts those accounts have; more than `contacts` holds when the list is cut.
    pub contacts_total: u64,
    pub items: i64,
    pub snapshot_taken: bool,
    /// What the Account list holds when it is offered (all that match, or how to find the others).
    pub accounts_hint: Option<String>,
    /// What the Contact list holds when it is cut.
    pub contacts_hint: Option<String>,
}

/// What the agent submits. Texts as typed; the server parses and checks every one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCase {
    pub alert: String,
    pub short_description: String,
    /// 1 to 4.
    pub priority: String,
    /// Account id; only read when the snapshot names no account.
    #[serde(default)]
    pub account: Option<String>,
    /// Contact id, or empty for none.
    #[serde(default)]
    pub contact: Option<String>,
    #[serde(default)]
    pub work_notes: String,
}

/// The case that Submit created, with its child cases when it is a major case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseCreated {
    pub number: String,
    pub children: Vec<String>,
}

/// One row of the Cases list, or of a major case's children.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRow {
    pub number: String,
    pub short_description: String,
    pub priority: Priority,
    pub state: CaseState,
    pub proactive: bool,
    pub account: Option<String>,
    pub alert: Option<String>,
    pub parent: Option<String>,
    pub opened_at: String,
    /// The agent who has the case (`Assign to me`), if anyone.
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// An affected account's next update is past due.
    #[serde(default)]
    pub update_overdue: bool,
}

/// One page of the Cases list, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseListPage {
    pub rows: Vec<CaseRow>,
    pub total: u64,
    pub page: u32,
    pub pages: u32,
}

/// An install base item a case covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseItem {
    pub number: String,
    pub name: String,
    pub account: String,
}

/// One page of the install base items a case covers, by account and number, with how many it covers in all (a
/// core switch's case covers tens of thousands).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseItemsPage {
    pub items: Vec<CaseItem>,
    pub total: u64,
    /// 1-based, clamped to the pages there are.
    pub page: u32,
    pub pages: u32,
}

/// Which page of each of the case page's lists to show, 1-based (0 or past the end: the nearest there is). The
/// page's query names them `items_page`, `notes_page` and `comments_page`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CasePages {
    pub items: u32,
    pub notes: u32,
    pub comments: u32,
}

impl CasePages {
    /// The query of a link to this page of `list` (`items_page`, `notes_page` or `comments_page`) that keeps the
    /// pages the other two lists show.
    pub fn link(self, list: &str, page: u32) -> String {
        crate::ui::pages_query(
            list,
            page,
            &[
                ("items_page", self.items),
                ("notes_page", self.notes),
                ("comments_page", self.comments),
            ],
        )
    }
}

/// Everything the case page shows, each list one page of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDetail {
    pub case: CaseRow,
    /// A reactive case's channel (how the customer raised it).
    pub channel: Option<crate::domain::Channel>,
    /// A reactive case's related proactive case.
    pub related: Option<String>,
    pub contact: Option<String>,
    pub product: Option<String>,
    pub opened_by: String,
    pub resolution_notes: Option<String>,
    pub children: Vec<CaseRow>,
    pub items: CaseItemsPage,
    /// The work notes journal: work notes and activity lines, internal.
    pub work_notes: JournalPage,
    /// The additional comments journal, customer-visible.
    pub comments: JournalPage,
}

/// A change of a case's state, as the agent submits it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseUpdate {
    pub number: String,
    /// A state's name, as listed in [`CaseState`].
    pub state: String,
    /// Required to resolve or close, unless the case has them already.
    #[serde(default)]
    pub resolution_notes: String,
}

/// A work note or an additional comment for a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNote {
    pub number: String,
    pub kind: NoteKind,
    #[serde(default)]
    pub text: String,
}

/// The case form for this alert, prefilled; when the snapshot names no account, the accounts offered are those
/// whose name holds `account_search`.
#[server(endpoint = "prefill_case", output = crate::codec::Json)]
pub async fn prefill_case(alert: String, account_search: Option<String>) -> Result<CaseDraft, AppError> {
    crate::access::require(crate::access::Permission::CreateCases)?;
    let store = crate::store::Store::from_context()?;
    crate::error::with_status(store.case_draft(&alert, account_search.as_deref()).await)
}

/// One page of cases, newest first.
#[server(endpoint = "list_cases", output = crate::codec::Json)]
pub async fn list_cases(page: Option<u32>) -> Result<CaseListPage, AppError> {
    crate::access::require(crate::access::Permission::ViewCases)?;
    let store = crate::store::Store::from_context()?;
    crate::error::with_status(store.list_cases(page.unwrap_or(1)).await)
}

/// The case with this number, with the given page (1-based; default the first) of its items and of each journal.
#[server(endpoint = "get_case", output = crate::codec::Json)]
pub async fn get_case(
    number: String,
    items_page: Option<u32>,
    notes_page: Option<u32>,
    comments_page: Option<u32>,
) -> Result<CaseDetail, AppError> {
    crate::access::require(crate::access::Permission::ViewCases)?;
    let store = crate::store::Store::from_context()?;
    let pages = CasePages {
        items: items_page.unwrap_or(1),
        notes: notes_page.unwrap_or(1),
        comments: comments_page.unwrap_or(1),
    };
    crate::error::with_status(store.case_detail(&number, pages).await)
}

/// What the case page's work area shows (state, assignment, resolution notes and a page of each journal), which
/// it reads again after every change: none of the case's items, however many it covers.
#[server(endpoint = "case_work", output = crate::codec::Json)]
pub async fn case_work(
    number: String,
    notes_page: Option<u32>,
    comments_page: Option<u32>,
) -> Result<CaseWorkView, AppError> {
    crate::access::require(crate::access::Permission::ViewCases)?;
    let store = crate::store::Store::from_context()?;
    let pages = CasePages {
        items: 1,
        notes: notes_page.unwrap_or(1),
        comments: comments_page.unwrap_or(1),
    };
    crate::error::with_status(store.case_work(&number, pages).await)
}
