//! Live updates: every open page shows what changed, as it changes.
//!
//! Every write to an alert or a case leaves a trace in the database in its own transaction (triggers: a change-log
//! row on SQLite, a NOTIFY on PostgreSQL), whoever makes it. Each process follows that trace
//! ([`server::follow`]) and fans each change out through its hub ([`server::Changes`], `state::Changes`) to the
//! pages that have a stream open (`GET /live`, server-sent events, [`server::stream`]). A change says which record
//! changed, never what it holds: the page asks for the record through the same server functions and checks as any
//! other read. A page that loses its stream reconnects with backoff and receives what it missed from the hub's
//! recent changes, or, when those no longer reach back far enough (or it reconnected to another instance), is told
//! to resync and refetches what it shows.

#[cfg(feature = "hydrate")]
mod client;
mod rows;
#[cfg(feature = "ssr")]
pub mod server;

pub use rows::{check_shown, FollowRows, HasNumber, LiveRowsUpdate, ShownRow, MAX_SHOWN};

use crate::{access::Permission, AppError};
use serde::{Deserialize, Serialize};

/// What kind of record changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Alert,
    Case,
}

crate::domain::text_enum!(RecordKind {
    Alert => "alert",
    Case => "case",
});

impl RecordKind {
    /// What a viewer needs to hear of changes to this kind of record.
    pub fn permission(self) -> Permission {
        match self {
            RecordKind::Alert => Permission::ViewAlerts,
            RecordKind::Case => Permission::ViewCases,
        }
    }
}

/// A committed change to one record, as the stream sends it: which record, never what it holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Change {
    pub kind: RecordKind,
    pub number: String,
}

/// What a stream follows: every record of a kind (a list) or one record (a form).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topic {
    All(RecordKind),
    One(RecordKind, String),
}

/// At most this many topics a stream.
pub const MAX_TOPICS: usize = 8;

impl Topic {
    /// `alerts`, `cases`, `alert:Alert0010027` or `case:CS0010001`.
    pub fn parse(text: &str) -> Result<Self, AppError> {
        let invalid = || AppError::Invalid {
            field: "topics".into(),
            message: format!(
                "“{}” is not a topic: use alerts, cases, alert:NUMBER or case:NUMBER.",
                text.chars().take(60).collect::<String>()
            ),
        };
        match text {
            "alerts" => Ok(Topic::All(RecordKind::Alert)),
            "cases" => Ok(Topic::All(RecordKind::Case)),
            _ => {
                let (kind, number) = text.split_once(':').ok_or_else(invalid)?;
                let kind = RecordKind::parse(kind).ok_or_else(invalid)?;
                let well_formed = match kind {
                    RecordKind::Alert => canonical::<crate::domain::AlertPrefix>(number),
                    RecordKind::Case => canonical::<crate::domain::CasePrefix>(number),
                };
                well_formed
                    .then(|| Topic::One(kind, number.to_owned()))
                    .ok_or_else(invalid)
            }
        }
    }

    /// A comma-separated list of topics, as the stream's `topics` parameter has them.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, AppError> {
        let topics = text
            .split(',')
            .filter(|t| !t.is_empty())
            .map(Topic::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if topics.is_empty() || topics.len() > MAX_TOPICS {
            return Err(AppError::Invalid {
                field: "topics".into(),
                message: format!("Name 1 to {MAX_TOPICS} topics, separated by commas."),
            });
        }
        Ok(topics)
    }

    pub fn kind(&self) -> RecordKind {
        match self {
            Topic::All(kind) | Topic::One(kind, _) => *kind,
        }
    }

    pub fn matches(&self, change: &Change) -> bool {
        match self {
            Topic::All(kind) => *kind == change.kind,
            Topic::One(kind, number) => *kind == change.kind && *number == change.number,
        }
    }

    pub fn text(&self) -> String {
        match self {
            Topic::All(RecordKind::Alert) => "alerts".into(),
            Topic::All(RecordKind::Case) => "cases".into(),
            Topic::One(kind, number) => format!("{}:{number}", kind.as_str()),
        }
    }
}

/// Whether `text` is a record number exactly as Forestall writes it.
fn canonical<P: crate::domain::Prefix>(text: &str) -> bool {
    text.parse::<crate::domain::Number<P>>()
        .is_ok_and(|n| n.to_string() == text)
}

/// What a page follows, and from which point: made on the server as the page is rendered (before its records are
/// read, so nothing committed after the read is missed) and handed to the page's island.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feed {
    /// Comma-separated [`Topic`]s.
    pub topics: String,
    /// The hub's position when the page was rendered (empty outside a server).
    pub since: String,
}

impl Feed {
    pub fn new(topics: &[Topic]) -> Self {
        Self {
            topics: topics.iter().map(Topic::text).collect::<Vec<_>>().join(","),
            since: current_position(),
        }
    }
}

#[cfg(feature = "ssr")]
fn current_position() -> String {
    leptos::prelude::use_context::<server::Changes>()
        .map(|changes| changes.position())
        .unwrap_or_default()
}

#[cfg(not(feature = "ssr"))]
fn current_position() -> String {
    String::new()
}

/// Runs `reload` whenever a change that `relevant` picks arrives on the page's stream, or the stream says the page
/// may have missed some; one reload at a time, and one more if changes came while it ran. Nothing on the server.
#[cfg(feature = "hydrate")]
pub use client::follow;

#[cfg(not(feature = "hydrate"))]
pub fn follow<F, Fut>(_feed: &Feed, _relevant: impl Fn(&Change) -> bool + 'static, _reload: F)
where
    F: Fn() -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_parse_and_match_their_records_only() {
        let alert = Change {
            kind: RecordKind::Alert,
            number: "Alert0010027".into(),
        };
        let case = Change {
            kind: RecordKind::Case,
            number: "CS0010001".into(),
        };
        let topics = Topic::parse_list("alert:Alert0010027,cases").expect("topics");
        assert!(topics[0].matches(&alert));
        assert!(!topics[0].matches(&Change {
            number: "Alert0010026".into(),
            ..alert
        }));
        assert!(topics[1].matches(&case) && !topics[1].matches(&alert));
        assert_eq!(
            topics.iter().map(Topic::text).collect::<Vec<_>>(),
            ["alert:Alert0010027", "cases"]
        );
        for bad in ["", "users", "alert:", "alert:CS0010001", "case:x", &"alerts,".repeat(9)] {
            assert!(
                matches!(Topic::parse_list(bad), Err(AppError::Invalid { ref field, .. }) if field == "topics"),
                "{bad}"
            );
        }
    }
}
