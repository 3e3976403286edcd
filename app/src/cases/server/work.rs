//! Working a case: state changes along the lifecycle and the two journals, each change one transaction with its
//! journal and audit lines.

use crate::{
    access::Viewer,
    audit::{server::Audit, AuditAction},
    cases::{CaseUpdate, NewNote, RESOLUTION_NOTES_MAX, WORK_NOTES_MAX},
    domain::{bounded_text, CaseNumber, CaseState},
    journal::{write_journal as journal, JournalKind, NoteKind},
    store::{now_text, Store},
    AppError,
};
use sqlx::{AnyConnection, FromRow};

#[derive(FromRow)]
struct CaseForWork {
    id: i64,
    #[sqlx(try_from = "String")]
    state: CaseState,
    proactive: i64,
    resolution_notes: Option<String>,
}

/// The case as a change sees it, read inside the change's transaction; refused if it is read-only.
async fn writable_case(
    conn: &mut AnyConnection,
    number: &str,
    for_update: &'static str,
) -> Result<(CaseNumber, i64, CaseState, CaseForWork), AppError> {
    let number = number
        .parse::<CaseNumber>()
        .map_err(|_| AppError::not_found("Case", number.chars().take(40).collect::<String>()))?;
    let case: CaseForWork = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, state, proactive, resolution_notes FROM cases WHERE number = $1{for_update}"
    )))
    .bind(number.to_string())
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| AppError::not_found("Case", number.to_string()))?;
    Ok((number, case.id, case.state, case))
}

/// The audit entry of a change to case `number`, in the change's transaction.
async fn audit_case(
    conn: &mut AnyConnection,
    actor: &str,
    action: AuditAction,
    number: &CaseNumber,
    detail: &str,
) -> Result<(), sqlx::Error> {
    Audit {
        actor,
        action,
        record: Some(&number.to_string()),
        detail,
        address: None,
    }
    .write(conn)
    .await
}

fn read_only(number: &CaseNumber, state: CaseState) -> AppError {
    AppError::Conflict {
        existing: number.to_string(),
        message: format!(
            "{number} is {}: closed and canceled cases are read-only.",
            state.as_str()
        ),
    }
}

impl Store {
    /// Assigns a case to `to` (the agent who takes it) and answers who has it now; taking a case one already has
    /// changes nothing. One transaction with its activity line and audit entry.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn assign_case(&self, number: &str, to: &str) -> Result<String, AppError> {
        let mut tx = self.begin_write().await?;
        let (number, id, current, _) = writable_case(&mut tx, number, self.for_update()).await?;
        if current.is_read_only() {
            return Err(read_only(&number, current));
        }
        let before: Option<String> = sqlx::query_scalar("SELECT assigned_to FROM cases WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if before.as_deref() == Some(to) {
            return Ok(to.to_owned());
        }
        let change = match &before {
            Some(before) => format!("Assigned to {to} (was {before})."),
            None => format!("Assigned to {to}."),
        };
        journal(&mut tx, Some(id), None, JournalKind::Activity, to, &change).await?;
        sqlx::query("UPDATE cases SET assigned_to = $1, updated_at = $3 WHERE id = $2")
            .bind(to)
            .bind(id)
            .bind(now_text())
            .execute(&mut *tx)
            .await?;
        audit_case(&mut tx, to, AuditAction::CaseAssigned, &number, &change).await?;
        tx.commit().await?;
        Ok(to.to_owned())
    }

    /// Moves a case to another state; resolving or closing needs resolution notes (given now or kept from before).
    #[tracing::instrument(skip(self, input), fields(case = %input.number, state = %input.state), err(Debug, level = "debug"))]
    pub async fn update_case_state(&self, input: &CaseUpdate, actor: &str) -> Result<CaseState, AppError> {
        let target = CaseState::parse(&input.state)
            .ok_or_else(|| AppError::invalid("state", "Choose a state from the list."))?;
        let notes = bounded_text(
            "resolution_notes",
            "Resolution notes",
            &input.resolution_notes,
            0,
            RESOLUTION_NOTES_MAX,
        )?;
        let mut tx = self.begin_write().await?;
        let (number, id, current, case) = writable_case(&mut tx, &input.number, self.for_update()).await?;
        if current.is_read_only() {
            return Err(read_only(&number, current));
        }
        if !current.next_states().contains(&target) {
            let allowed: Vec<_> = current.next_states().iter().map(|s| s.as_str()).collect();
            return Err(AppError::invalid(
                "state",
                format!(
                    "A case in state {} cannot move to {}. It can move to: {}.",
                    current.as_str(),
                    target.as_str(),
                    allowed.join(", ")
                ),
            ));
        }
        let notes = Some(notes).filter(|n| !n.is_empty()).or(case.resolution_notes);
        if target.needs_resolution_notes() && notes.is_none() {
            return Err(AppError::invalid(
                "resolution_notes",
                format!(
                    "Enter resolution notes: a case cannot be {} without them.",
                    target.as_str().to_lowercase()
                ),
            ));
        }
        // The journal line first: once the case is closed, the schema accepts no more entries for it.
        let change = format!("State changed from {} to {}.", current.as_str(), target.as_str());
        journal(&mut tx, Some(id), None, JournalKind::Activity, actor, &change).await?;
        // From the state read above only: should anything have changed it since (a writer that did not lock the
        // row), this change is refused rather than applied to a case in another state.
        let changed = sqlx::query(
            "UPDATE cases SET state = $1, resolution_notes = $2, updated_at = $4 WHERE id = $3 AND state = $5",
        )
        .bind(target.as_str())
        .bind(notes.as_deref())
        .bind(id)
        .bind(now_text())
        .bind(current.as_str())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(AppError::Conflict {
                existing: number.to_string(),
                message: format!("{number} changed meanwhile. Reload it to see its state."),
            });
        }
        audit_case(&mut tx, actor, AuditAction::CaseStateChanged, &number, &change).await?;
        tx.commit().await?;
        Ok(target)
    }

    /// Adds a work note or a comment, if `viewer` may add that kind to this case.
    #[tracing::instrument(skip(self, input, viewer), fields(case = %input.number, kind = ?input.kind), err(Debug, level = "debug"))]
    pub async fn add_case_note(&self, input: &NewNote, viewer: &Viewer) -> Result<(), AppError> {
        let mut tx = self.begin_write().await?;
        let (number, id, state, case) = writable_case(&mut tx, &input.number, self.for_update()).await?;
        if !viewer.may_note(input.kind, case.proactive != 0) {
            tracing::info!(user = %viewer.name, role = %viewer.role, "refused: may not add this note");
            return Err(AppError::Forbidden);
        }
        if state.is_read_only() {
            return Err(read_only(&number, state));
        }
        let (field, label, action) = match input.kind {
            NoteKind::WorkNote => ("work_notes", "Work note", AuditAction::CaseWorkNote),
            NoteKind::Comment => ("comments", "Comment", AuditAction::CaseComment),
        };
        let text = bounded_text(field, label, &input.text, 1, WORK_NOTES_MAX)?;
        journal(&mut tx, Some(id), None, input.kind.into(), &viewer.name, &text).await?;
        audit_case(&mut tx, &viewer.name, action, &number, "").await?;
        tx.commit().await?;
        Ok(())
    }
}
