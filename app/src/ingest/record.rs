//! Storing events: one alert per problem. An event updates the open alert with its message key, closes it when it
//! is resolved, reopens a recently closed one (marking it Flapping when that happens too often), or raises a new
//! alert bound to the CI its node names.
//!
//! At most one alert per key is not closed, by a unique index, so concurrent events for a new problem cannot make
//! two alerts: the loser of the race finds the winner's alert and updates it.

use super::event::Event;
use crate::{
    domain::AlertPrefix,
    journal::{write_journal as journal, JournalKind},
    store::{
        clock::{now_secs, utc_text},
        is_unique_violation, next_number, Backend, Store,
    },
    AppError,
};
use serde::Serialize;
use sqlx::AnyConnection;

/// When a closed alert comes back to life, and when that is flapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    /// A new event this long after its alert closed reopens it; later, it raises a new alert.
    pub reopen_within_secs: i64,
    /// Reopens are counted over this window...
    pub flap_window_secs: i64,
    /// ...and this many of them make the alert Flapping.
    pub flap_threshold: i64,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            reopen_within_secs: 3_600,
            flap_window_secs: 3_600,
            flap_threshold: 3,
        }
    }
}

/// What an event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new alert.
    Created,
    /// Counted on the open alert with its key.
    Updated,
    /// Resolved: the open alert is closed.
    Closed,
    /// A recently closed alert is open again (state Reopen).
    Reopened,
    /// Reopened once too often in the window (state Flapping).
    Flapping,
    /// Resolved, but no alert with its key was open: nothing to do.
    Ignored,
}

/// An event's outcome and the alert it touched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stored {
    #[serde(rename = "status")]
    pub outcome: Outcome,
    pub alert: Option<String>,
}

/// How often a batch is tried again after PostgreSQL aborts it for a deadlock with a concurrent batch, or a race
/// the unique index settled against it.
const ATTEMPTS: u32 = 5;

impl Store {
    /// Stores a batch of events in one transaction, in order; the outcome of each.
    #[tracing::instrument(skip_all, fields(events = events.len()), err(Debug, level = "debug"))]
    pub async fn ingest(&self, events: &[Event], lifecycle: Lifecycle) -> Result<Vec<Stored>, AppError> {
        let mut attempt = 1;
        loop {
            match self.ingest_once(events, lifecycle).await {
                Err(error) if attempt < ATTEMPTS && retryable(&error) => {
                    tracing::debug!(%error, attempt, "event batch retried");
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(attempt))).await;
                }
                result => return result.map_err(AppError::from),
            }
        }
    }

    async fn ingest_once(&self, events: &[Event], lifecycle: Lifecycle) -> Result<Vec<Stored>, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let now = now_secs();
        // On PostgreSQL every statement is a round trip: a group of repeats of different open problems is counted
        // in one statement, and only the rest go one by one.
        let mut stored: Vec<Option<Stored>> = match self.backend() {
            Backend::Postgres if events.len() > 1 => update_many(&mut tx, events, now).await?,
            _ => vec![None; events.len()],
        };
        for (event, stored) in events.iter().zip(stored.iter_mut()) {
            if stored.is_none() {
                *stored = Some(record(&mut tx, event, now, lifecycle).await?);
            }
        }
        tx.commit().await?;
        Ok(stored.into_iter().flatten().collect())
    }
}

/// Deadlocks and serialization failures (PostgreSQL), a unique index that settled a race, a busy database.
fn retryable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            is_unique_violation(error) || matches!(db.code().as_deref(), Some("40P01" | "40001" | "5" | "517"))
        }
        _ => false,
    }
}

#[derive(sqlx::FromRow)]
struct ClosedAlert {
    id: i64,
    number: String,
    closed_at: Option<String>,
    last_event_at: String,
    flap_count: i64,
    flap_window_start: Option<String>,
}

/// How far ahead of the server's clock an event's own time may be and still be taken as it is.
pub const FUTURE_SKEW_SECS: i64 = 60;

/// When an event happened, as stored: its own time, or its arrival when it gives none or one more than
/// [`FUTURE_SKEW_SECS`] ahead. A time in the future would otherwise become the alert's last event, and every
/// resolved event before it would count as a late delivery: the alert could not close.
fn event_at(event: &Event, now: i64) -> String {
    utc_text(match event.time {
        Some(time) if time <= now + FUTURE_SKEW_SECS => time,
        _ => now,
    })
}

/// The event times an alert spans, widened by an event at `$1`.
const SPAN_SQL: &str = "last_event_at = CASE WHEN $1 > last_event_at THEN $1 ELSE last_event_at END,
                        first_event_at = CASE WHEN $1 < first_event_at THEN $1 ELSE first_event_at END";

async fn record(
    conn: &mut AnyConnection,
    event: &Event,
    now: i64,
    lifecycle: Lifecycle,
) -> Result<Stored, sqlx::Error> {
    let at = event_at(event, now);
    let now_text = utc_text(now);
    // Twice at most: a concurrent writer (on PostgreSQL) may raise or reopen the alert between our look and our write.
    for _ in 0..3 {
        // The common case, one statement: the open alert with this key takes the event.
        let touched = if event.resolved {
            close(conn, event, &at, &now_text).await?
        } else {
            update(conn, event, &at).await?
        };
        if let Some(stored) = touched {
            return Ok(stored);
        }
        if event.resolved {
            return Ok(Stored {
                outcome: Outcome::Ignored,
                alert: None,
            });
        }
        let closed: Option<ClosedAlert> = sqlx::query_as(
            "SELECT id, number, closed_at, last_event_at, flap_count, flap_window_start FROM alerts
             WHERE message_key = $1 AND state = 'Closed' ORDER BY id DESC LIMIT 1",
        )
        .bind(&event.message_key)
        .fetch_optional(&mut *conn)
        .await?;
        // A firing event dated before the closed alert's last event belongs to that earlier episode (a late or
        // replayed delivery, as Alertmanager's at-least-once sending makes): it neither reopens nor raises.
        if let Some(alert) = closed
            .as_ref()
            .filter(|a| event.time.is_some() && at.as_str() < a.last_event_at.as_str())
        {
            return Ok(Stored {
                outcome: Outcome::Ignored,
                alert: Some(alert.number.clone()),
            });
        }
        let reopen_after = utc_text(now - lifecycle.reopen_within_secs);
        if let Some(alert) = closed.filter(|a| a.closed_at.as_deref().is_some_and(|at| at >= reopen_after.as_str())) {
            if let Some(stored) = reopen(conn, &alert, event, &at, now, lifecycle).await? {
                return Ok(stored);
            }
            continue;
        }
        if let Some(stored) = raise(conn, event, &at).await? {
            return Ok(stored);
        }
    }
    tracing::error!(key = %event.message_key, "no alert could be updated or raised for an event");
    Err(sqlx::Error::Protocol("event could not be stored".into()))
}

/// [`update`] for many events in one statement (PostgreSQL): when they are all new occurrences of different keys,
/// each is counted on its key's open alert; the outcome of each, `None` for those with no open alert (to be raised or
/// reopened one by one). A group with a key twice, or a resolved event, is left to the one-by-one path, which keeps
/// their order.
async fn update_many(conn: &mut AnyConnection, events: &[Event], now: i64) -> Result<Vec<Option<Stored>>, sqlx::Error> {
    let mut keys = std::collections::HashSet::with_capacity(events.len());
    if events
        .iter()
        .any(|e| e.resolved || !keys.insert(e.message_key.as_str()))
    {
        return Ok(vec![None; events.len()]);
    }
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "key": e.message_key,
                "at": event_at(e, now),
                "severity": e.severity.code(),
                "description": e.description,
                "info": e.additional_info,
                "node": e.node,
            })
        })
        .collect();
    let updated: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE alerts AS a SET event_count = a.event_count + 1,
                last_event_at = CASE WHEN v.at > a.last_event_at THEN v.at ELSE a.last_event_at END,
                first_event_at = CASE WHEN v.at < a.first_event_at THEN v.at ELSE a.first_event_at END,
                severity = v.severity,
                description = CASE WHEN v.description = '' THEN a.description ELSE v.description END,
                additional_info = COALESCE(v.info, a.additional_info),
                ci_id = COALESCE(a.ci_id, ({}))
         FROM (SELECT e->>'key' AS key, e->>'at' AS at, CAST(e->>'severity' AS BIGINT) AS severity,
                      e->>'description' AS description, e->>'info' AS info, e->>'node' AS node
               FROM json_array_elements(CAST($1 AS json)) AS e) AS v
         WHERE a.message_key = v.key AND a.state <> 'Closed'
         RETURNING a.message_key, a.number",
        bind_ci_sql("v.node")
    )))
    .bind(serde_json::Value::Array(rows).to_string())
    .fetch_all(&mut *conn)
    .await?;
    let numbers: std::collections::HashMap<String, String> = updated.into_iter().collect();
    Ok(events
        .iter()
        .map(|e| {
            numbers.get(&e.message_key).map(|number| Stored {
                outcome: Outcome::Updated,
                alert: Some(number.clone()),
            })
        })
        .collect())
}

/// Counts the event on the open alert with its key, if there is one. An alert raised before its CI was in the CMDB
/// is bound when a later event finds the CI (the lookup runs only for unbound alerts).
async fn update(conn: &mut AnyConnection, event: &Event, at: &str) -> Result<Option<Stored>, sqlx::Error> {
    let number: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "UPDATE alerts SET event_count = event_count + 1, {SPAN_SQL}, severity = $2,
                description = CASE WHEN $3 = '' THEN description ELSE $3 END,
                additional_info = COALESCE($4, additional_info),
                ci_id = COALESCE(ci_id, ({}))
         WHERE message_key = $6 AND state <> 'Closed'
         RETURNING number",
        bind_ci_sql("$5")
    )))
    .bind(at)
    .bind(i64::from(event.severity.code()))
    .bind(&event.description)
    .bind(event.additional_info.as_deref())
    .bind(&event.node)
    .bind(&event.message_key)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(number.map(|number| Stored {
        outcome: Outcome::Updated,
        alert: Some(number),
    }))
}

/// Closes the open alert with the event's key, if there is one; its proactive case, still open, hears of it.
async fn close(conn: &mut AnyConnection, event: &Event, at: &str, now: &str) -> Result<Option<Stored>, sqlx::Error> {
    // A resolved event dated before the alert's last event is about an earlier episode (a late or replayed
    // delivery): the problem is firing again since, so it does not close the alert.
    let closed: Option<(i64, String, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE alerts SET state = 'Closed', closed_at = $2, event_count = event_count + 1, {SPAN_SQL}
         WHERE message_key = $3 AND state <> 'Closed' AND ($4 = 0 OR $1 >= last_event_at)
         RETURNING id, number, case_id"
    )))
    .bind(at)
    .bind(now)
    .bind(&event.message_key)
    .bind(i64::from(event.time.is_some()))
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, number, case_id)) = closed else {
        return Ok(None);
    };
    let body = format!("Closed: {} reported the problem resolved.", event.source);
    journal(conn, None, Some(id), JournalKind::Activity, &event.source, &body).await?;
    if let Some(case_id) = case_id {
        // The case stays open for the agent; its journal says the alert is over. A closed case is read-only.
        sqlx::query(
            "INSERT INTO journal_entries (case_id, kind, author, created_at, body)
             SELECT id, 'work_note', $2, $3, $4 FROM cases WHERE id = $1 AND state NOT IN ('Closed', 'Canceled')",
        )
        .bind(case_id)
        .bind(&event.source)
        .bind(now)
        .bind(format!(
            "Alert {number} resolved: {} reported the problem cleared at {at} UTC. This case stays open until an \
             agent closes it.",
            event.source
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(Some(Stored {
        outcome: Outcome::Closed,
        alert: Some(number),
    }))
}

/// Reopens a closed alert, or says `None` when another writer reopened it first.
async fn reopen(
    conn: &mut AnyConnection,
    alert: &ClosedAlert,
    event: &Event,
    at: &str,
    now: i64,
    lifecycle: Lifecycle,
) -> Result<Option<Stored>, sqlx::Error> {
    let window_after = utc_text(now - lifecycle.flap_window_secs);
    let (flap_count, window_start) = match &alert.flap_window_start {
        Some(start) if start.as_str() >= window_after.as_str() => (alert.flap_count + 1, start.clone()),
        _ => (1, utc_text(now)),
    };
    let (state, outcome) = if flap_count >= lifecycle.flap_threshold {
        ("Flapping", Outcome::Flapping)
    } else {
        ("Reopen", Outcome::Reopened)
    };
    let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE alerts SET state = $2, closed_at = NULL, flap_count = $3, flap_window_start = $4,
                event_count = event_count + 1, {SPAN_SQL}, severity = $5,
                description = CASE WHEN $6 = '' THEN description ELSE $6 END,
                additional_info = COALESCE($7, additional_info),
                ci_id = COALESCE(ci_id, ({}))
         WHERE id = $9 AND state = 'Closed'",
        bind_ci_sql("$8")
    )))
    .bind(at)
    .bind(state)
    .bind(flap_count)
    .bind(&window_start)
    .bind(i64::from(event.severity.code()))
    .bind(&event.description)
    .bind(event.additional_info.as_deref())
    .bind(&event.node)
    .bind(alert.id)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() != 1 {
        return Ok(None);
    }
    let body = match outcome {
        Outcome::Flapping => format!(
            "Flapping: reopened {flap_count} times within {} minutes by {} events.",
            lifecycle.flap_window_secs / 60,
            event.source
        ),
        _ => format!("Reopened: {} reported the problem again.", event.source),
    };
    journal(conn, None, Some(alert.id), JournalKind::Activity, &event.source, &body).await?;
    Ok(Some(Stored {
        outcome,
        alert: Some(alert.number.clone()),
    }))
}

/// Raises a new alert, or says `None` when a concurrent writer raised one for the key first.
async fn raise(conn: &mut AnyConnection, event: &Event, at: &str) -> Result<Option<Stored>, sqlx::Error> {
    let number = next_number::<AlertPrefix>(conn).await?;
    let raised: Option<(i64, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO alerts (number, source, node, type, resource, metric_name, message_key, description,
                             additional_info, severity, state, ci_id, event_count, first_event_at, last_event_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'Open', ({}), 1, $11, $11)
         ON CONFLICT (message_key) WHERE state <> 'Closed' DO NOTHING
         RETURNING id, ci_id",
        bind_ci_sql("$3")
    )))
    .bind(number.to_string())
    .bind(&event.source)
    .bind(&event.node)
    .bind(&event.kind)
    .bind(&event.resource)
    .bind(&event.metric_name)
    .bind(&event.message_key)
    .bind(&event.description)
    .bind(event.additional_info.as_deref())
    .bind(i64::from(event.severity.code()))
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, ci)) = raised else {
        return Ok(None);
    };
    let body = match (ci, event.node.is_empty()) {
        (Some(_), _) => format!("Alert raised by {} for {}.", event.source, event.node),
        (None, false) => format!(
            "Alert raised by {} for {}; no configuration item has that name, fqdn or ip.",
            event.source, event.node
        ),
        (None, true) => format!("Alert raised by {}; the event named no node.", event.source),
    };
    journal(conn, None, Some(id), JournalKind::Activity, &event.source, &body).await?;
    Ok(Some(Stored {
        outcome: Outcome::Created,
        alert: Some(number.to_string()),
    }))
}

/// A subquery for the CI that the node in the parameter `node` (`$3`, say) names: by name, else fqdn, else ip,
/// ignoring case.
fn bind_ci_sql(node: &str) -> String {
    format!(
        "SELECT id FROM configuration_items
         WHERE {node} <> '' AND (lower(name) = lower({node}) OR lower(fqdn) = lower({node}) OR lower(ip) = lower({node}))
         ORDER BY CASE WHEN lower(name) = lower({node}) THEN 0 WHEN lower(fqdn) = lower({node}) THEN 1 ELSE 2 END, id
         LIMIT 1"
    )
}
