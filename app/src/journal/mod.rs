//! Journal entries shown on alerts and cases, a page at a time: an alert's activity grows with every event and
//! reopen, and a big case's journal with every notice.

#[cfg(feature = "ssr")]
mod server;

#[cfg(feature = "ssr")]
pub(crate) use server::{read_journal, write_journal, JournalOf};

use crate::ui::{showing, Pager};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Journal entries per page: the newest 50, then older ones a page at a time.
pub const JOURNAL_PAGE_SIZE: u32 = 50;

/// What a journal entry is; stored as [`JournalKind::as_str`], which the schema's CHECK lists too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalKind {
    /// Internal.
    WorkNote,
    /// Customer-visible.
    Comment,
    /// What Forestall or a person did (a case opened, a state changed, an event arrived).
    Activity,
}

crate::domain::text_enum!(JournalKind {
    WorkNote => "work_note",
    Comment => "comment",
    Activity => "activity",
});

impl JournalKind {
    /// How the journal labels its entries.
    pub fn label(self) -> &'static str {
        match self {
            JournalKind::WorkNote => "Work note",
            JournalKind::Comment => "Additional comment",
            JournalKind::Activity => "Activity",
        }
    }
}

/// The two journals of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoteKind {
    /// Internal.
    WorkNote,
    /// Customer-visible.
    Comment,
}

crate::domain::text_enum!(NoteKind {
    WorkNote => "work_note",
    Comment => "comment",
});

impl From<NoteKind> for JournalKind {
    fn from(kind: NoteKind) -> Self {
        match kind {
            NoteKind::WorkNote => JournalKind::WorkNote,
            NoteKind::Comment => JournalKind::Comment,
        }
    }
}

/// One entry of a record's activity: a work note, a customer-visible comment or an activity line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct JournalEntry {
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub kind: JournalKind,
    pub author: String,
    pub created_at: String,
    pub body: String,
}

/// One page of a record's journal, newest first, with how many entries it holds in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalPage {
    pub entries: Vec<JournalEntry>,
    pub total: u64,
    /// 1-based, clamped to the pages there are.
    pub page: u32,
    pub pages: u32,
}

/// A record's journal, newest first, one page of it (`href` makes the link to another page). Bodies are text
/// nodes: nothing typed by a person becomes markup.
#[component]
pub fn Journal(#[prop(into)] title: String, page: JournalPage, href: impl Fn(u32) -> String) -> impl IntoView {
    let heading_id = format!("journal-{}", title.to_ascii_lowercase().replace(' ', "-"));
    let empty = page.entries.is_empty();
    let labelled_by = heading_id.clone();
    // Older entries a page at a time; the pager's links work without JavaScript.
    let paged = (page.pages > 1).then(|| {
        let summary = format!(
            "{}, newest first",
            showing(page.page, JOURNAL_PAGE_SIZE, page.entries.len(), page.total, "entries")
        );
        let pager = view! {
            <Pager
                page=page.page
                pages=page.pages
                total=page.total
                noun="entries"
                label=format!("{title} pages")
                href
            />
        };
        (view! { <p class="muted">{summary}</p> }, pager)
    });
    let (summary, pager) = paged.unzip();
    view! {
        <section class="journal" aria-labelledby=labelled_by>
            <h2 id=heading_id>{title}</h2>
            <Show when=move || empty>
                <p class="muted">"Nothing has been recorded yet."</p>
            </Show>
            {summary}
            <ol class="journal-entries">
                {page
                    .entries
                    .into_iter()
                    .map(|entry| {
                        let label = entry.kind.label();
                        view! {
                            <li class=format!("journal-entry {}", entry.kind.as_str())>
                                <p class="journal-meta">
                                    <span class="journal-kind">{label}</span>
                                    " · " {entry.author} " · "
                                    <time>{entry.created_at} " UTC"</time>
                                </p>
                                <p class="journal-body">{entry.body}</p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            {pager}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_kind_reads_back_from_its_stored_text_and_travels_as_the_same_text() {
        for kind in JournalKind::ALL {
            assert_eq!(JournalKind::try_from(kind.as_str().to_owned()), Ok(kind));
            assert_eq!(
                serde_json::to_string(&kind).expect("json"),
                format!("\"{}\"", kind.as_str())
            );
        }
        assert!(JournalKind::try_from("work_notes".to_owned()).is_err(), "no near miss");
        assert_eq!(JournalKind::from(NoteKind::Comment), JournalKind::Comment);
    }
}
