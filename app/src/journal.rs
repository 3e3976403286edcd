//! Journal entries shown on alerts and cases.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One entry of a record's activity: a work note, a customer-visible comment or an activity line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct JournalEntry {
    pub kind: String,
    pub author: String,
    pub created_at: String,
    pub body: String,
}

impl JournalEntry {
    fn kind_label(&self) -> &'static str {
        match self.kind.as_str() {
            "work_note" => "Work note",
            "comment" => "Additional comment",
            _ => "Activity",
        }
    }
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
                        let label = entry.kind_label();
                        view! {
                            <li class=format!("journal-entry {}", entry.kind)>
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
