//! Rule queries, and the rule `Create Proactive Case`: the agent's trace and case creation, run by the server.

use super::{AlertRule, RuleChange};
use crate::{
    audit::{server::Audit, AuditAction},
    cases::NewCase,
    domain::{AlertState, Severity},
    install_base::DEFAULT_MAX_HOPS,
    journal::{write_journal, JournalKind},
    store::{now_text, Store},
    AppError,
};

#[derive(sqlx::FromRow)]
struct RuleRecord {
    id: i64,
    name: String,
    action: String,
    active: i64,
    #[sqlx(try_from = "i64")]
    min_severity: Severity,
    send_initial_notice: i64,
    updated_by: Option<String>,
    updated_at: Option<String>,
}

impl RuleRecord {
    fn into_rule(self) -> AlertRule {
        AlertRule {
            action: match self.action.as_str() {
                "create_proactive_case" => "Create Proactive Case when an incident is created from an open alert \
                                            that affects external customers' install base items"
                    .to_owned(),
                other => other.to_owned(),
            },
            min_severity: self.min_severity,
            send_initial_notice: self.send_initial_notice != 0,
            id: self.id,
            name: self.name,
            active: self.active != 0,
            updated_by: self.updated_by,
            updated_at: self.updated_at,
        }
    }
}

const RULE_SQL: &str =
    "SELECT id, name, action, active, min_severity, send_initial_notice, updated_by, updated_at FROM alert_rules";

/// The alert's facts the rule decides on.
#[derive(sqlx::FromRow)]
struct AlertFacts {
    id: i64,
    #[sqlx(try_from = "String")]
    state: AlertState,
    #[sqlx(try_from = "i64")]
    severity: Severity,
    ci_id: Option<i64>,
    case_id: Option<i64>,
}

impl Store {
    pub async fn list_rules(&self) -> Result<Vec<AlertRule>, AppError> {
        let records: Vec<RuleRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{RULE_SQL} ORDER BY name")))
            .fetch_all(self.pool())
            .await?;
        Ok(records.into_iter().map(RuleRecord::into_rule).collect())
    }

    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn update_rule(&self, change: &RuleChange, actor: &str) -> Result<AlertRule, AppError> {
        let id: i64 = change
            .id
            .trim()
            .parse()
            .map_err(|_| AppError::not_found("Alert rule", change.id.clone()))?;
        let min_severity = change
            .min_severity
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(Severity::from_code)
            .filter(|s| *s != Severity::Clear)
            .ok_or_else(|| {
                AppError::invalid(
                    "min_severity",
                    "Choose a minimum severity from 1 - Critical to 5 - Info.",
                )
            })?;
        let ticked = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.is_empty() && v != "false");
        let (active, send_initial_notice) = (ticked(&change.active), ticked(&change.send_initial_notice));
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE alert_rules SET active = $1, min_severity = $2, updated_by = $3, updated_at = $5,
                                    send_initial_notice = $6 WHERE id = $4",
        )
        .bind(i64::from(active))
        .bind(i64::from(min_severity.code()))
        .bind(actor)
        .bind(id)
        .bind(now_text())
        .bind(i64::from(send_initial_notice))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(AppError::not_found("Alert rule", id.to_string()));
        }
        let record: RuleRecord = sqlx::query_as(sqlx::AssertSqlSafe(format!("{RULE_SQL} WHERE id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let detail = format!(
            "{}, minimum severity {min_severity}{}",
            if active { "active" } else { "inactive" },
            if send_initial_notice {
                ", sends the initial notice after the hold-down"
            } else {
                ""
            }
        );
        Audit {
            actor,
            action: AuditAction::AlertRuleChanged,
            record: Some(&record.name),
            detail: &detail,
            address: None,
        }
        .write(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(record.into_rule())
    }

    /// Runs the rule `Create Proactive Case`, if active, for an incident just created from `alert`: the case it
    /// opened, if it opened one. The incident stands whatever happens here; a failure is logged and noted on the
    /// alert.
    pub(crate) async fn apply_case_rule(&self, alert: &str, incident: &str) -> Option<String> {
        match self.try_case_rule(alert, incident).await {
            Ok(case) => case,
            Err(error) => {
                tracing::error!(%alert, %incident, ?error, "the Create Proactive Case rule failed");
                let note = async {
                    let mut conn = self.pool().acquire().await?;
                    let id: i64 = sqlx::query_scalar("SELECT id FROM alerts WHERE number = $1")
                        .bind(alert)
                        .fetch_one(&mut *conn)
                        .await?;
                    let body = format!("The Create Proactive Case rule could not run for incident {incident}: {error}");
                    write_journal(&mut conn, None, Some(id), JournalKind::Activity, "Alert rules", &body).await
                };
                if let Err(error) = note.await {
                    tracing::error!(%error, "could not note the rule's failure on the alert");
                }
                None
            }
        }
    }

    async fn try_case_rule(&self, alert: &str, incident: &str) -> Result<Option<String>, AppError> {
        let rule: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT name, min_severity, send_initial_notice FROM alert_rules
             WHERE action = 'create_proactive_case' AND active = 1",
        )
        .fetch_optional(self.pool())
        .await?;
        let Some((name, min_severity, send_initial_notice)) = rule else {
            return Ok(None);
        };
        let actor = format!("Alert rule: {name}");
        let facts: AlertFacts =
            sqlx::query_as("SELECT id, state, severity, ci_id, case_id FROM alerts WHERE number = $1")
                .bind(alert)
                .fetch_optional(self.pool())
                .await?
                .ok_or_else(|| AppError::not_found("Alert", alert))?;
        // Closed alerts, alerts with a case already, and alerts below the rule's severity are not the rule's.
        if facts.state == AlertState::Closed
            || facts.case_id.is_some()
            || facts.severity == Severity::Clear
            || i64::from(facts.severity.code()) > min_severity
        {
            return Ok(None);
        }
        let author = actor.as_str();
        let say = |body: String| async move {
            let mut conn = self.pool().acquire().await?;
            write_journal(&mut conn, None, Some(facts.id), JournalKind::Activity, author, &body)
                .await
                .map_err(AppError::from)
        };
        if facts.ci_id.is_none() {
            say(
                "No configuration item is bound to this alert, so no install base items could be traced; no case \
                 was created."
                    .to_owned(),
            )
            .await?;
            return Ok(None);
        }
        self.refresh_install_base(alert, DEFAULT_MAX_HOPS, &actor).await?;
        let draft = self.case_draft(alert, None).await?;
        if !draft.affected_accounts.iter().any(|account| account.external) {
            say("No external customer's install base items are affected; no case was created.".to_owned()).await?;
            return Ok(None);
        }
        let input = NewCase {
            alert: alert.to_owned(),
            short_description: draft.short_description,
            priority: draft.priority.code().to_string(),
            work_notes: format!(
                "Created by the alert rule “{name}” when incident {incident} was created from {alert}."
            ),
            ..NewCase::default()
        };
        match self.create_proactive_case(&input, &actor).await {
            Ok(created) => {
                if send_initial_notice == 1 {
                    self.schedule_initial_notice(&created.number, &actor).await?;
                }
                Ok(Some(created.number))
            }
            // An agent was quicker: their case stands, and is the alert's one case.
            Err(AppError::Conflict { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The rule's initial notice for its new case waits out the hold-down time (`NoticeSettings`), then goes out
    /// unless the alert resolved or is flapping; the case page shows when, with `Send now` and `Hold`.
    async fn schedule_initial_notice(&self, case: &str, actor: &str) -> Result<(), AppError> {
        let hold_down = crate::notices::server::NoticeSettings::from_context().hold_down_secs;
        let at = crate::store::clock::utc_text(crate::store::clock::now_secs() + hold_down);
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "UPDATE cases SET auto_notice = 'scheduled', auto_notice_at = $2 WHERE number = $1 RETURNING id",
        )
        .bind(case)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?;
        let body = format!(
            "The initial notice goes out by itself at {at} UTC if the alert is still open and not flapping then."
        );
        write_journal(&mut tx, Some(id), None, JournalKind::Activity, actor, &body).await?;
        tx.commit().await?;
        Ok(())
    }
}
