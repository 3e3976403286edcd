//! The one transaction that creates an alert's incident.

use super::IncidentCreated;
use crate::{
    audit::{server::Audit, AuditAction},
    domain::{parse_alert_number, IncidentPrefix},
    journal::{write_journal, JournalKind},
    store::{next_number, now_text, violates, Store, ONE_INCIDENT_PER_ALERT},
    AppError,
};

/// The longest short description, as for cases.
const SHORT_DESCRIPTION_MAX: usize = 160;

#[derive(sqlx::FromRow)]
struct AlertForIncident {
    id: i64,
    number: String,
    node: String,
    description: String,
    incident: Option<String>,
}

fn conflict(alert: &str, existing: String) -> AppError {
    AppError::Conflict {
        message: format!("{alert} already has incident {existing}. No second incident was created."),
        existing,
    }
}

impl Store {
    /// Creates the alert's incident, links it in the alert's Incident field and notes it in the alert's activity,
    /// in one transaction; then runs the alert rules for it. At most one incident per alert, by a unique column.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn create_incident(&self, alert: &str, actor: &str) -> Result<IncidentCreated, AppError> {
        let number = parse_alert_number(alert)?.to_string();
        let find = "SELECT a.id, a.number, a.node, a.description, i.number AS incident
                    FROM alerts a LEFT JOIN incidents i ON i.id = a.incident_id WHERE a.number = $1";
        let mut tx = self.begin_write().await?;
        let alert: AlertForIncident = sqlx::query_as(find)
            .bind(&number)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| AppError::not_found("Alert", number.clone()))?;
        if let Some(existing) = alert.incident {
            return Err(conflict(&alert.number, existing));
        }
        let short_description: String = match alert.description.lines().next().map(str::trim) {
            Some(first) if !first.is_empty() => first.to_owned(),
            _ => format!("{} on {}", alert.number, alert.node),
        }
        .chars()
        .take(SHORT_DESCRIPTION_MAX)
        .collect();
        let incident = next_number::<IncidentPrefix>(&mut tx).await?.to_string();
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO incidents (number, alert_id, short_description, state, opened_at)
             VALUES ($1, $2, $3, 'New', $4) RETURNING id",
        )
        .bind(&incident)
        .bind(alert.id)
        .bind(&short_description)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await;
        let incident_id = match inserted {
            Ok(id) => id,
            // Another database client raced us past the write lock: the unique alert_id settled it.
            Err(error) if violates(&error, ONE_INCIDENT_PER_ALERT) => {
                drop(tx);
                let existing: AlertForIncident = sqlx::query_as(find).bind(&number).fetch_one(self.pool()).await?;
                return Err(conflict(&number, existing.incident.unwrap_or_default()));
            }
            Err(error) => return Err(error.into()),
        };
        sqlx::query("UPDATE alerts SET incident_id = $1 WHERE id = $2")
            .bind(incident_id)
            .bind(alert.id)
            .execute(&mut *tx)
            .await?;
        let activity = format!("Incident {incident} created.");
        write_journal(&mut tx, None, Some(alert.id), JournalKind::Activity, actor, &activity).await?;
        Audit {
            actor,
            action: AuditAction::IncidentCreated,
            record: Some(&incident),
            detail: &format!("from {}", alert.number),
            address: None,
        }
        .write(&mut tx)
        .await?;
        tx.commit().await?;
        tracing::info!(alert = %alert.number, %incident, "incident created");
        let case = self.apply_case_rule(&alert.number, &incident).await;
        Ok(IncidentCreated { number: incident, case })
    }
}
