//! Recording a reactive case, and the choices its form offers, on the server.

use crate::{
    access::{Permission, Viewer},
    audit::{server::Audit, AuditAction},
    auth::server::see_other,
    cases::reactive::{
        NewReactiveCase, ReactiveAccount, ReactiveCaseChoices, ReactiveCaseRecorded, RelatedChoice, CHOICES_MAX,
        FORM_PATH,
    },
    domain::{CaseNumber, CasePrefix, Channel, Priority},
    journal::{write_journal as journal, JournalKind},
    notices::{server::flash, Flash},
    store::{next_number, now_text, Store},
    AppError,
};
use axum::{
    extract::State,
    response::{IntoResponse, Response},
    Extension, Form,
};
use sqlx::AnyConnection;
use tower_sessions::Session;

/// The form's input, checked before any database work.
struct CheckedReactive {
    account: i64,
    contact: Option<i64>,
    channel: Channel,
    short_description: String,
    priority: Priority,
    related: Option<CaseNumber>,
}

fn check(input: &NewReactiveCase) -> Result<CheckedReactive, AppError> {
    let account = input
        .account
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::invalid("account", "Choose the customer's account."))?;
    let contact = match input.contact.trim() {
        "" => None,
        text => Some(
            text.parse::<i64>()
                .map_err(|_| AppError::invalid("contact", "Choose a contact from the list, or None."))?,
        ),
    };
    let channel = Channel::parse(&input.channel)
        .ok_or_else(|| AppError::invalid("channel", "Choose how the customer raised it: Phone, Email or Web."))?;
    let (short_description, priority) = super::create::summary(&input.short_description, &input.priority)?;
    let related =
        match input.related.trim() {
            "" => None,
            text => Some(text.parse::<CaseNumber>().map_err(|_| {
                AppError::invalid("related", "Choose the related proactive case from the list, or None.")
            })?),
        };
    Ok(CheckedReactive {
        account,
        contact,
        channel,
        short_description,
        priority,
        related,
    })
}

/// The related case's id, if it is an alert's top-level proactive case.
async fn related_case(conn: &mut AnyConnection, number: &CaseNumber) -> Result<i64, AppError> {
    let found: Option<(i64, i64, Option<i64>)> =
        sqlx::query_as("SELECT id, proactive, parent_id FROM cases WHERE number = $1")
            .bind(number.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    match found {
        Some((id, 1, None)) => Ok(id),
        Some(_) => Err(AppError::invalid(
            "related",
            format!("{number} is not an alert's proactive case: choose one from the list, or None."),
        )),
        None => Err(AppError::invalid(
            "related",
            format!("There is no case {number}: choose one from the list, or None."),
        )),
    }
}

impl Store {
    /// Records a case the customer of `input.account` raised, in one transaction: the case, its activity line, the
    /// related proactive case's activity line and the audit entry.
    #[tracing::instrument(skip(self, input), err(Debug, level = "debug"))]
    pub async fn record_reactive_case(
        &self,
        input: &NewReactiveCase,
        actor: &str,
    ) -> Result<ReactiveCaseRecorded, AppError> {
        let case = check(input)?;
        let mut tx = self.begin_write().await?;
        let account: String = sqlx::query_scalar("SELECT name FROM accounts WHERE id = $1")
            .bind(case.account)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| AppError::invalid("account", "Choose the customer's account from the list."))?;
        if let Some(contact) = case.contact {
            let belongs: Option<i64> = sqlx::query_scalar("SELECT id FROM contacts WHERE id = $1 AND account_id = $2")
                .bind(contact)
                .bind(case.account)
                .fetch_optional(&mut *tx)
                .await?;
            if belongs.is_none() {
                return Err(AppError::invalid(
                    "contact",
                    format!("Choose a contact of {account}, or None."),
                ));
            }
        }
        let related = match &case.related {
            Some(number) => Some((related_case(&mut tx, number).await?, number)),
            None => None,
        };
        let number = next_number::<CasePrefix>(&mut tx).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cases (number, proactive, account_id, contact_id, short_description, priority, state,
                                opened_by, opened_at, channel, related_case_id)
             VALUES ($1, 0, $2, $3, $4, $5, 'New', $6, $7, $8, $9) RETURNING id",
        )
        .bind(number.to_string())
        .bind(case.account)
        .bind(case.contact)
        .bind(&case.short_description)
        .bind(i64::from(case.priority.code()))
        .bind(actor)
        .bind(now_text())
        .bind(case.channel.as_str())
        .bind(related.map(|(id, _)| id))
        .fetch_one(&mut *tx)
        .await?;
        let channel = case.channel.label().to_lowercase();
        let activity = match related {
            Some((_, proactive)) => {
                format!("Reactive case raised by {account} by {channel}, about proactive case {proactive}.")
            }
            None => format!("Reactive case raised by {account} by {channel}."),
        };
        journal(&mut tx, Some(id), None, JournalKind::Activity, actor, &activity).await?;
        if let Some((related_id, _)) = related {
            let line = format!("Reactive case {number} raised by {account} by {channel}.");
            journal(&mut tx, Some(related_id), None, JournalKind::Activity, actor, &line).await?;
        }
        Audit {
            actor,
            action: AuditAction::CaseCreated,
            record: Some(&number.to_string()),
            detail: &activity,
            address: None,
        }
        .write(&mut tx)
        .await?;
        tx.commit().await?;
        tracing::info!(case = %number, account = case.account, "reactive case recorded");
        Ok(ReactiveCaseRecorded {
            number: number.to_string(),
        })
    }

    /// The Record reactive case form's choices (see [`ReactiveCaseChoices`]), filled in with `typed`.
    pub async fn reactive_case_form(
        &self,
        account_search: Option<&str>,
        typed: NewReactiveCase,
    ) -> Result<ReactiveCaseChoices, AppError> {
        let search = super::draft::account_search(account_search);
        let mut conn = self.pool().acquire().await?;
        let related_id: Option<i64> = match typed.related.trim().parse::<CaseNumber>() {
            Ok(number) => {
                sqlx::query_scalar("SELECT id FROM cases WHERE number = $1 AND proactive = 1 AND parent_id IS NULL")
                    .bind(number.to_string())
                    .fetch_optional(&mut *conn)
                    .await?
            }
            Err(_) => None,
        };
        // The related case's accounts first, then the one a link or a refused post named, then those the search
        // finds (all accounts, without one), by name.
        let mut accounts: Vec<ReactiveAccount> = match related_id {
            Some(case) => sqlx::query_as::<_, (i64, String)>(
                "SELECT a.id, a.name FROM case_accounts ca JOIN accounts a ON a.id = ca.account_id
                 WHERE ca.case_id = $1 ORDER BY a.name LIMIT $2",
            )
            .bind(case)
            .bind(i64::from(CHOICES_MAX))
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id, name)| ReactiveAccount {
                id,
                name,
                affected: true,
            })
            .collect(),
            None => Vec::new(),
        };
        let named: Option<(i64, String)> = match typed.account.trim().parse::<i64>() {
            Ok(id) => {
                sqlx::query_as("SELECT id, name FROM accounts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
            }
            Err(_) => None,
        };
        let (found, accounts_total) = super::draft::offered_accounts(&mut conn, search.as_deref()).await?;
        for (id, name) in named.into_iter().chain(found.into_iter().map(|a| (a.id, a.name))) {
            if !accounts.iter().any(|a| a.id == id) {
                accounts.push(ReactiveAccount {
                    id,
                    name,
                    affected: false,
                });
            }
        }
        let ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
        let (contacts, _) = super::draft::contacts_of(&mut conn, &ids).await?;
        let mut related_cases: Vec<RelatedChoice> = sqlx::query_as::<_, (String, String, Option<String>)>(
            "SELECT c.number, c.short_description, a.number FROM cases c LEFT JOIN alerts a ON a.id = c.alert_id
             WHERE c.proactive = 1 AND c.parent_id IS NULL AND c.state NOT IN ('Closed', 'Canceled')
             ORDER BY c.opened_at DESC, c.id DESC LIMIT $1",
        )
        .bind(i64::from(CHOICES_MAX))
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(number, short_description, alert)| RelatedChoice {
            number,
            short_description,
            alert,
        })
        .collect();
        if let Some(id) = related_id {
            let (number, short_description, alert): (String, String, Option<String>) = sqlx::query_as(
                "SELECT c.number, c.short_description, a.number FROM cases c LEFT JOIN alerts a ON a.id = c.alert_id
                 WHERE c.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            if !related_cases.iter().any(|c| c.number == number) {
                related_cases.insert(
                    0,
                    RelatedChoice {
                        number,
                        short_description,
                        alert,
                    },
                );
            }
        }
        Ok(ReactiveCaseChoices {
            accounts,
            accounts_total,
            account_search: search,
            contacts,
            related_cases,
            typed,
            error: None,
        })
    }
}

/// `POST /reactive-cases`: Record a reactive case. Recorded, it opens the new case; refused, it goes back to the form
/// with what was typed and why.
pub async fn record(
    State(store): State<Store>,
    Extension(viewer): Extension<Viewer>,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    if !viewer.may(Permission::RecordReactiveCases) {
        return AppError::Forbidden.into_response();
    }
    let input = NewReactiveCase::from_fields(|name| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    });
    match store.record_reactive_case(&input, &viewer.name).await {
        Ok(recorded) => see_other(&format!("/cases/{}", recorded.number)),
        Err(error @ AppError::Invalid { .. }) => {
            let field = match &error {
                AppError::Invalid { field, .. } => Some(field.clone()),
                _ => None,
            };
            flash::put(
                &session,
                Flash {
                    page: FORM_PATH.to_owned(),
                    error: Some(error.to_string()),
                    field,
                    typed: input.fields(),
                    ..Flash::default()
                },
            )
            .await;
            see_other(FORM_PATH)
        }
        Err(other) => other.into_response(),
    }
}
