//! Journal entries shown on alerts and cases.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

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

#[cfg(feature = "ssr")]
/// Adds an entry, stamped now, to a case's journal or an alert's (exactly one of the two).
pub(crate) async fn write_journal(
    conn: &mut sqlx::AnyConnection,
    case_id: Option<i64>,
    alert_id: Option<i64>,
    kind: JournalKind,
    author: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO journal_entries (case_id, alert_id, kind, author, created_at, body)
         VALUES ($1, $2, $3, $4, $6, $5)",
    )
    .bind(case_id)
    .bind(alert_id)
    .bind(kind.as_str())
    .bind(author)
    .bind(body)
    .bind(crate::store::now_text())
    .execute(conn)
    .await
    .map(drop)
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

/// A record's journal, newest first. Bodies are text nodes: nothing typed by a person becomes markup.
#[component]
pub fn Journal(#[prop(into)] title: String, entries: Vec<JournalEntry>) -> impl IntoView {
    let heading_id = format!("journal-{}", title.to_ascii_lowercase().replace(' ', "-"));
    let empty = entries.is_empty();
    let labelled_by = heading_id.clone();
    view! {
        <section class="journal" aria-labelledby=labelled_by>
            <h2 id=heading_id>{title}</h2>
            <Show when=move || empty>
                <p class="muted">"Nothing has been recorded yet."</p>
            </Show>
            <ol class="journal-entries">
                {entries
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
