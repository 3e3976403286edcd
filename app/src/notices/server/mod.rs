//! Customer impact, Notify customers and the notice templates, on the server.

pub mod flash;
pub mod handlers;
pub mod outbox;
pub mod render;
mod schedule;

use super::{
    AutoNotice, CustomerImpact, Delivery, ImpactChange, ImpactFilter, ImpactRow, LastNotice, NoticeKind, NoticePreview,
    NoticeTemplate, PreviewRow, SentNotice, SentNoticesPage, NOTICES_PAGE_SIZE,
};
use crate::{
    audit::{server::Audit, AuditAction},
    domain::{AlertState, CaseState, Priority, Severity},
    journal::{write_journal, JournalKind},
    store::{clock, now_text, Store, Window},
    AppError,
};
pub use outbox::{Outbox, Transport};
use render::{AlertFacts, CaseFacts, ItemFacts, Named, NoticeContext, ITEMS_LISTED};
use sqlx::AnyConnection;
use std::{collections::HashMap, fmt::Write as _};

/// How notices are sent and how often updates are due.
#[derive(Clone, Debug)]
pub struct NoticeSettings {
    /// Minutes from a notice to the next update that is due, by the case's priority (1 to 4).
    pub cadence_minutes: [i64; 4],
    /// How long the rule's initial notice waits for the alert to stay open (and not flap), in seconds.
    pub hold_down_secs: i64,
    /// The notices' From, as `Name <address>`.
    pub mail_from: String,
    pub transport: Transport,
    /// Attempts before a notice is marked failed.
    pub max_attempts: i64,
    /// The first retry's wait, in seconds; each one after waits twice as long.
    pub retry_after_secs: i64,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        Self {
            cadence_minutes: [60, 240, 1440, 4320],
            hold_down_secs: 300,
            mail_from: "Forestall <notices@forestall.invalid>".into(),
            transport: Transport::Folder("notices".into()),
            max_attempts: 5,
            retry_after_secs: 30,
        }
    }
}

impl NoticeSettings {
    /// The request's settings (the defaults outside a server, in tests of pages).
    pub fn from_context() -> Self {
        leptos::prelude::use_context::<NoticeSettings>().unwrap_or_default()
    }

    /// When an update is due after a notice sent now, for a case of `priority`.
    pub fn next_update_due(&self, priority: Priority) -> String {
        let minutes = self.cadence_minutes[usize::from(priority.code().clamp(1, 4) - 1)];
        clock::utc_text(clock::now_secs() + minutes * 60)
    }

    /// The domain notices' Message-IDs are made in: the From address's.
    fn id_domain(&self) -> String {
        self.mail_from
            .rsplit('@')
            .next()
            .map(|d| d.trim_end_matches('>').trim().to_owned())
            .filter(|d| !d.is_empty() && !d.contains(['<', ' ']))
            .unwrap_or_else(|| "forestall.invalid".into())
    }
}

/// The case a Customer impact or a send is about: the top-level proactive case.
#[derive(sqlx::FromRow)]
struct TopCase {
    id: i64,
    number: String,
    parent_id: Option<i64>,
    #[sqlx(try_from = "i64")]
    priority: Priority,
    #[sqlx(try_from = "String")]
    state: CaseState,
    alert_id: Option<i64>,
    auto_notice: Option<String>,
    auto_notice_at: Option<String>,
}

async fn top_case(conn: &mut AnyConnection, number: &str) -> Result<TopCase, AppError> {
    sqlx::query_as(
        "SELECT id, number, parent_id, priority, state, alert_id, auto_notice, auto_notice_at FROM cases
         WHERE number = $1",
    )
    .bind(number.trim().to_ascii_uppercase())
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| AppError::not_found("Case", number.trim().to_owned()))
}

/// An account of the case, with what its notices need.
#[derive(sqlx::FromRow)]
struct CaseAccount {
    account_id: i64,
    account: String,
    items: i64,
    child_id: i64,
    child_number: String,
    child_short_description: String,
    #[sqlx(try_from = "i64")]
    child_priority: Priority,
    #[sqlx(try_from = "String")]
    child_state: CaseState,
    affected: i64,
    next_update_due: Option<String>,
}

async fn case_accounts(conn: &mut AnyConnection, case_id: i64) -> Result<Vec<CaseAccount>, sqlx::Error> {
    sqlx::query_as(
        "SELECT ca.account_id, a.name AS account, ca.items, k.id AS child_id, k.number AS child_number,
                k.short_description AS child_short_description, k.priority AS child_priority,
                k.state AS child_state, ca.affected, ca.next_update_due
         FROM case_accounts ca JOIN accounts a ON a.id = ca.account_id JOIN cases k ON k.id = ca.child_case_id
         WHERE ca.case_id = $1 ORDER BY a.name",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await
}

/// The reactive cases related to case `case_id`, by account, oldest first.
async fn reactive_cases(conn: &mut AnyConnection, case_id: i64) -> Result<HashMap<i64, Vec<String>>, sqlx::Error> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT account_id, number FROM cases WHERE related_case_id = $1 ORDER BY account_id, opened_at, id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?;
    let mut by_account: HashMap<i64, Vec<String>> = HashMap::new();
    for (account, number) in rows {
        by_account.entry(account).or_default().push(number);
    }
    Ok(by_account)
}

/// Each of the case's accounts' recipients, `Name <address>`: the primary contact first, then those marked.
async fn recipients(conn: &mut AnyConnection, case_id: i64) -> Result<HashMap<i64, Vec<String>>, sqlx::Error> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT c.account_id, c.name, c.email FROM case_accounts ca
         JOIN accounts a ON a.id = ca.account_id JOIN contacts c ON c.account_id = a.id
         WHERE ca.case_id = $1 AND (c.id = a.primary_contact_id OR c.notify = 1)
         ORDER BY c.account_id, CASE WHEN c.id = a.primary_contact_id THEN 0 ELSE 1 END, c.name, c.id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?;
    let mut by_account: HashMap<i64, Vec<String>> = HashMap::new();
    for (account, name, email) in rows {
        by_account.entry(account).or_default().push(mailbox(&name, &email));
    }
    Ok(by_account)
}

/// `Name <address>`, the name quoted when it holds what an address header would read otherwise.
fn mailbox(name: &str, email: &str) -> String {
    let name = name.replace(['"', '\\', '\r', '\n'], "");
    if name.chars().any(|c| ",;:<>@()[].".contains(c)) {
        format!("\"{name}\" <{email}>")
    } else {
        format!("{name} <{email}>")
    }
}

/// The name part of a `Name <address>`.
fn display_name(mailbox: &str) -> String {
    mailbox
        .split(" <")
        .next()
        .unwrap_or(mailbox)
        .trim_matches('"')
        .to_owned()
}

/// Every notice of the case, oldest first.
#[derive(sqlx::FromRow)]
struct NoticeRecord {
    id: i64,
    account_id: i64,
    #[sqlx(try_from = "String")]
    kind: NoticeKind,
    seq: i64,
    #[sqlx(try_from = "String")]
    status: Delivery,
    at: String,
    answer: Option<String>,
    attempts: i64,
    created_by: String,
}

async fn notices_of(conn: &mut AnyConnection, case_id: i64) -> Result<Vec<NoticeRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, account_id, kind, seq, status, COALESCE(sent_at, created_at) AS at, answer, attempts, created_by
         FROM notices WHERE case_id = $1 ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await
}

impl NoticeRecord {
    fn last(&self) -> LastNotice {
        LastNotice {
            id: self.id,
            kind: self.kind,
            seq: self.seq,
            delivery: self.status,
            at: self.at.clone(),
            answer: self.answer.clone(),
            attempts: self.attempts,
        }
    }
}

/// A row of Sent notices as read.
#[derive(sqlx::FromRow)]
struct SentRecord {
    id: i64,
    case_number: String,
    account: String,
    #[sqlx(try_from = "String")]
    kind: NoticeKind,
    seq: i64,
    recipients: String,
    subject: String,
    message_id: String,
    #[sqlx(try_from = "String")]
    status: Delivery,
    created_at: String,
    sent_at: Option<String>,
    answer: Option<String>,
    attempts: i64,
}

#[derive(sqlx::FromRow)]
struct TemplateRecord {
    #[sqlx(try_from = "String")]
    kind: NoticeKind,
    subject: String,
    body: String,
    updated_by: Option<String>,
    updated_at: Option<String>,
}

/// The top-level case of `number` (a child case's parent), for Notify customers.
async fn resolve_top(conn: &mut AnyConnection, number: &str) -> Result<TopCase, AppError> {
    let case = top_case(conn, number).await?;
    if case.alert_id.is_none() {
        return Err(AppError::invalid(
            "case",
            format!(
                "{} is not a proactive case: it has no customers to notify.",
                case.number
            ),
        ));
    }
    match case.parent_id {
        None => Ok(case),
        Some(parent) => {
            let parent: String = sqlx::query_scalar("SELECT number FROM cases WHERE id = $1")
                .bind(parent)
                .fetch_one(&mut *conn)
                .await?;
            Err(AppError::invalid(
                "case",
                format!(
                    "{} is a child case: notify its customers from major case {parent}.",
                    case.number
                ),
            ))
        }
    }
}

/// The facts of the alert a case came from.
async fn alert_facts(conn: &mut AnyConnection, alert_id: i64) -> Result<(AlertFacts, AlertState), sqlx::Error> {
    let (number, description, severity, state, node): (String, String, i64, String, String) =
        sqlx::query_as("SELECT number, description, severity, state, node FROM alerts WHERE id = $1")
            .bind(alert_id)
            .fetch_one(conn)
            .await?;
    let state = AlertState::parse(&state).unwrap_or(AlertState::Open);
    Ok((
        AlertFacts {
            number,
            description,
            severity: Severity::from_code(severity).map(|s| s.to_string()).unwrap_or_default(),
            state: state.as_str().to_owned(),
            node,
        },
        state,
    ))
}

/// The account's affected items in the alert's snapshot, at most [`ITEMS_LISTED`].
async fn listed_items(conn: &mut AnyConnection, alert_id: i64, account: i64) -> Result<Vec<ItemFacts>, sqlx::Error> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT ib.number, ib.name, p.name FROM affected_items ai
         JOIN install_base_items ib ON ib.id = ai.item_id LEFT JOIN products p ON p.id = ib.product_id
         WHERE ai.alert_id = $1 AND ib.account_id = $2 ORDER BY ib.number LIMIT $3",
    )
    .bind(alert_id)
    .bind(account)
    .bind(ITEMS_LISTED as i64)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(number, name, product)| ItemFacts {
            number,
            name,
            product: product.unwrap_or_default(),
        })
        .collect())
}

/// The kind Notify customers offers first: the resolution once the alert is resolved, the initial notice while an
/// affected account has not had one, an update otherwise.
fn default_kind(alert: AlertState, accounts: &[CaseAccount], notices: &[NoticeRecord]) -> NoticeKind {
    if alert == AlertState::Closed {
        return NoticeKind::Resolution;
    }
    let untold = accounts.iter().any(|a| {
        a.affected == 1
            && !notices
                .iter()
                .any(|n| n.account_id == a.account_id && n.kind == NoticeKind::Initial)
    });
    if untold {
        NoticeKind::Initial
    } else {
        NoticeKind::Update
    }
}

/// The preview, built inside whatever transaction reads it (Send builds it again inside its own).
async fn build_preview(
    conn: &mut AnyConnection,
    case: &TopCase,
    kind: Option<NoticeKind>,
    settings: &NoticeSettings,
) -> Result<NoticePreview, AppError> {
    let alert_id = case.alert_id.ok_or(AppError::Internal)?;
    let accounts = case_accounts(conn, case.id).await?;
    let notices = notices_of(conn, case.id).await?;
    let mut recipients = recipients(conn, case.id).await?;
    let (alert, alert_state) = alert_facts(conn, alert_id).await?;
    let kind = kind.unwrap_or_else(|| default_kind(alert_state, &accounts, &notices));
    let seq = match kind {
        NoticeKind::Update => {
            notices
                .iter()
                .filter(|n| n.kind == NoticeKind::Update)
                .map(|n| n.seq)
                .max()
                .unwrap_or(0)
                + 1
        }
        _ => 1,
    };
    let (subject_template, body_template): (String, String) =
        sqlx::query_as("SELECT subject, body FROM notice_templates WHERE kind = $1")
            .bind(kind.as_str())
            .fetch_one(&mut *conn)
            .await?;
    let next_update_due = match kind {
        NoticeKind::Resolution => "no further update: this is the last notice".to_owned(),
        _ => settings.next_update_due(case.priority),
    };
    let mut rows = Vec::with_capacity(accounts.len());
    let mut problem = None;
    for account in &accounts {
        let to = recipients.remove(&account.account_id).unwrap_or_default();
        let told = |k: NoticeKind| {
            notices
                .iter()
                .any(|n| n.account_id == account.account_id && n.kind == k)
        };
        let already = notices
            .iter()
            .find(|n| n.account_id == account.account_id && n.kind == kind && n.seq == seq);
        let blocked = if let Some(sent) = already {
            Some(format!(
                "Already sent: {} by {} at {} UTC ({}).",
                label_seq(kind, seq),
                sent.created_by,
                sent.at,
                sent.status.label().to_lowercase()
            ))
        } else if to.is_empty() {
            Some(
                "No contact to send to: give the account a primary contact, or mark a contact to receive notices."
                    .to_owned(),
            )
        } else if account.child_state.is_read_only() {
            Some(format!(
                "Its case {} is {}.",
                account.child_number,
                account.child_state.as_str().to_lowercase()
            ))
        } else if account.affected == 0 && !(kind == NoticeKind::Resolution && told(NoticeKind::Initial)) {
            Some("No longer affected.".to_owned())
        } else {
            None
        };
        let suggested = blocked.is_none()
            && match kind {
                NoticeKind::Initial => account.affected == 1,
                NoticeKind::Update => {
                    account.affected == 1 && told(NoticeKind::Initial) && !told(NoticeKind::Resolution)
                }
                NoticeKind::Resolution => told(NoticeKind::Initial),
            };
        let context = NoticeContext {
            case: CaseFacts {
                number: account.child_number.clone(),
                short_description: account.child_short_description.clone(),
                priority: account.child_priority.to_string(),
                state: account.child_state.as_str().to_owned(),
            },
            alert: alert.clone(),
            account: Named {
                name: account.account.clone(),
            },
            contact: Named {
                name: to.first().map(|m| display_name(m)).unwrap_or_default(),
            },
            items: listed_items(conn, alert_id, account.account_id).await?,
            item_count: account.items,
            update_number: seq,
            next_update_due: next_update_due.clone(),
        };
        let (subject, body) = match render::render(&subject_template, &body_template, &context) {
            Ok(rendered) => rendered,
            Err(error) => {
                problem = Some(format!(
                        "The {} template cannot be rendered for {}: {error} An evt_mgmt_admin can fix it on Notice templates.",
                        kind.label().to_lowercase(),
                        account.account
                    ));
                (String::new(), String::new())
            }
        };
        let blocked = blocked.or_else(|| {
            (journal_text(&subject, &body).chars().count() > 4000)
                .then(|| "The message is longer than 4,000 characters: shorten the template.".to_owned())
        });
        rows.push(PreviewRow {
            account_id: account.account_id,
            account: account.account.clone(),
            recipients: to,
            subject,
            body,
            suggested: suggested && blocked.is_none(),
            blocked,
        });
    }
    if case.state.is_read_only() {
        problem = Some(format!(
            "{} is {}: no notice can be sent from it.",
            case.number,
            case.state.as_str().to_lowercase()
        ));
    }
    Ok(NoticePreview {
        case: case.number.clone(),
        kind,
        seq,
        rows,
        problem,
        flash: None,
    })
}

/// The accounts the initial notice goes to by default: affected, not yet told, with someone to tell.
async fn untold_accounts(
    conn: &mut AnyConnection,
    case: &TopCase,
    settings: &NoticeSettings,
) -> Result<Vec<i64>, AppError> {
    let preview = build_preview(conn, case, Some(NoticeKind::Initial), settings).await?;
    Ok(preview
        .rows
        .iter()
        .filter(|r| r.suggested)
        .map(|r| r.account_id)
        .collect())
}

/// `Update 2`, `Initial notice`.
pub fn label_seq(kind: NoticeKind, seq: i64) -> String {
    match kind {
        NoticeKind::Update => format!("update {seq}"),
        other => other.label().to_lowercase(),
    }
}

/// What the child case's additional comments say a notice said.
fn journal_text(subject: &str, body: &str) -> String {
    format!("Notice sent to the customer. Subject: {subject}\n\n{body}")
}

/// What one Send did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendOutcome {
    pub kind: Option<NoticeKind>,
    pub seq: i64,
    /// Accounts a notice was queued for.
    pub queued: Vec<String>,
    /// Accounts that had this notice already, with who sent it and when.
    pub already: Vec<String>,
    /// Accounts chosen that could not get it, with why.
    pub skipped: Vec<String>,
    /// The notices queued, for the caller to wait on.
    pub ids: Vec<i64>,
}

impl SendOutcome {
    /// What the page says about it.
    pub fn message(&self) -> String {
        let what = self.kind.map(|k| label_seq(k, self.seq)).unwrap_or_default();
        let mut text = String::new();
        if !self.queued.is_empty() {
            let _ = write!(text, "{} sent to {}.", capitalise(&what), self.queued.join(", "));
        }
        if !self.already.is_empty() {
            let _ = write!(
                text,
                "{}Nothing was sent twice: {}",
                if text.is_empty() { "" } else { " " },
                self.already.join(" ")
            );
        }
        if !self.skipped.is_empty() {
            let _ = write!(
                text,
                "{}Not sent: {}",
                if text.is_empty() { "" } else { " " },
                self.skipped.join(" ")
            );
        }
        text
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Sends what Notify customers previewed: a notice of `kind` (number `seq`) to each of `accounts` that may get it,
/// in one transaction with its additional comment on the account's case and the audit entry. A notice an account
/// has had already (another agent, a double click, a retry) is not made again: the outcome says who sent it.
async fn send_in(
    conn: &mut AnyConnection,
    case: &TopCase,
    kind: NoticeKind,
    seq: i64,
    accounts: &[i64],
    actor: &str,
    settings: &NoticeSettings,
) -> Result<SendOutcome, AppError> {
    if accounts.is_empty() {
        return Err(AppError::invalid("accounts", "Choose at least one account to notify."));
    }
    let preview = build_preview(conn, case, Some(kind), settings).await?;
    if let Some(problem) = preview.problem {
        return Err(AppError::invalid("kind", problem));
    }
    if seq != preview.seq && !(kind == NoticeKind::Update && seq < preview.seq) {
        return Err(AppError::invalid(
            "seq",
            format!(
                "The preview is out of date: send {} instead.",
                label_seq(kind, preview.seq)
            ),
        ));
    }
    let mut outcome = SendOutcome {
        kind: Some(kind),
        seq,
        ..SendOutcome::default()
    };
    let now = now_text();
    let next_due = (kind != NoticeKind::Resolution).then(|| settings.next_update_due(case.priority));
    for &account in accounts {
        let Some(row) = preview.rows.iter().find(|r| r.account_id == account) else {
            return Err(AppError::invalid("accounts", "Choose accounts of this case only."));
        };
        // An older update's number: it was sent, to this account or not; nothing goes out again under it.
        let already_sent = seq < preview.seq;
        match &row.blocked {
            Some(reason) if reason.starts_with("Already sent") => {
                outcome.already.push(format!("{}: {reason}", row.account));
                continue;
            }
            Some(reason) => {
                outcome.skipped.push(format!("{}: {reason}", row.account));
                continue;
            }
            None if already_sent => {
                outcome.already.push(format!(
                    "{}: {} went out already; preview again.",
                    row.account,
                    label_seq(kind, seq)
                ));
                continue;
            }
            None => {}
        }
        let child_id: i64 =
            sqlx::query_scalar("SELECT child_case_id FROM case_accounts WHERE case_id = $1 AND account_id = $2")
                .bind(case.id)
                .bind(account)
                .fetch_one(&mut *conn)
                .await?;
        let message_id = format!(
            "<{}.{account}.{}.{seq}@{}>",
            case.number.to_ascii_lowercase(),
            kind.as_str(),
            settings.id_domain()
        );
        let inserted = sqlx::query(
            "INSERT INTO notices (case_id, account_id, child_case_id, kind, seq, recipients, subject, body,
                                  message_id, status, attempts, next_attempt_at, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $11, $10)
             ON CONFLICT (case_id, account_id, kind, seq) DO NOTHING",
        )
        .bind(case.id)
        .bind(account)
        .bind(child_id)
        .bind(kind.as_str())
        .bind(seq)
        .bind(row.recipients.join("\n"))
        .bind(&row.subject)
        .bind(&row.body)
        .bind(&message_id)
        .bind(&now)
        .bind(actor)
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 0 {
            outcome
                .already
                .push(format!("{}: {} was sent already.", row.account, label_seq(kind, seq)));
            continue;
        }
        let id: i64 = sqlx::query_scalar("SELECT id FROM notices WHERE message_id = $1")
            .bind(&message_id)
            .fetch_one(&mut *conn)
            .await?;
        write_journal(
            conn,
            Some(child_id),
            None,
            JournalKind::Comment,
            actor,
            &journal_text(&row.subject, &row.body),
        )
        .await?;
        sqlx::query("UPDATE case_accounts SET next_update_due = $3 WHERE case_id = $1 AND account_id = $2")
            .bind(case.id)
            .bind(account)
            .bind(next_due.as_deref())
            .execute(&mut *conn)
            .await?;
        outcome.queued.push(row.account.clone());
        outcome.ids.push(id);
    }
    if !outcome.queued.is_empty() {
        let names = outcome.queued.join(", ");
        let line = format!(
            "{} sent to {} account(s) by {actor}: {}",
            capitalise(&label_seq(kind, seq)),
            outcome.queued.len(),
            truncate(&names, 800)
        );
        write_journal(
            conn,
            Some(case.id),
            None,
            JournalKind::Activity,
            actor,
            &truncate(&line, 4000),
        )
        .await?;
        Audit {
            actor,
            action: AuditAction::CustomersNotified,
            record: Some(&case.number),
            detail: &truncate(&line, 1000),
            address: None,
        }
        .write(conn)
        .await?;
        if kind == NoticeKind::Initial && case.auto_notice.as_deref() == Some("scheduled") {
            sqlx::query("UPDATE cases SET auto_notice = 'done', auto_notice_at = NULL WHERE id = $1")
                .bind(case.id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(outcome)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

impl Store {
    /// The case's Customer impact: one row per account it covers, the filter applied, and its timeline.
    pub async fn customer_impact(&self, number: &str, filter: ImpactFilter) -> Result<CustomerImpact, AppError> {
        let mut conn = self.pool().acquire().await?;
        let mut case = top_case(&mut conn, number).await?;
        // A child case shows its own account's row of its major case.
        let only_child = case.parent_id.map(|_| case.id);
        if let Some(parent) = case.parent_id {
            let number: String = sqlx::query_scalar("SELECT number FROM cases WHERE id = $1")
                .bind(parent)
                .fetch_one(&mut *conn)
                .await?;
            case = top_case(&mut conn, &number).await?;
        }
        let accounts = case_accounts(&mut conn, case.id).await?;
        let notices = notices_of(&mut conn, case.id).await?;
        let mut recipients = recipients(&mut conn, case.id).await?;
        let mut reactive = reactive_cases(&mut conn, case.id).await?;
        let alert_resolved = match case.alert_id {
            Some(alert) => {
                let state: String = sqlx::query_scalar("SELECT state FROM alerts WHERE id = $1")
                    .bind(alert)
                    .fetch_one(&mut *conn)
                    .await?;
                state == AlertState::Closed.as_str()
            }
            None => false,
        };
        let now = now_text();
        let all: Vec<ImpactRow> = accounts
            .into_iter()
            .filter(|a| only_child.is_none_or(|child| a.child_id == child))
            .map(|a| {
                let last = notices
                    .iter()
                    .rev()
                    .find(|n| n.account_id == a.account_id)
                    .map(NoticeRecord::last);
                let affected = a.affected == 1;
                let overdue = affected && a.next_update_due.as_deref().is_some_and(|due| due < now.as_str());
                ImpactRow {
                    recipients: recipients.remove(&a.account_id).unwrap_or_default(),
                    reactive_cases: reactive.remove(&a.account_id).unwrap_or_default(),
                    account_id: a.account_id,
                    account: a.account,
                    items: a.items,
                    child_case: a.child_number,
                    affected,
                    last,
                    next_update_due: a.next_update_due.filter(|_| affected),
                    overdue,
                }
            })
            .collect();
        let accounts_total = all.len() as u64;
        let rows = all
            .into_iter()
            .filter(|row| match filter {
                ImpactFilter::All => true,
                ImpactFilter::NotNotified => row.affected && row.last.is_none(),
                ImpactFilter::UpdateOverdue => row.overdue,
            })
            .collect();
        let timeline = sqlx::query_as::<_, (String, String, String, String, i64, i64, String)>(
            "SELECT ch.at, ch.actor, a.name, ch.change, ch.items_added, ch.items_removed, ch.detail
             FROM case_impact_changes ch JOIN accounts a ON a.id = ch.account_id
             WHERE ch.case_id = $1 ORDER BY ch.id DESC LIMIT 200",
        )
        .bind(case.id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(
            |(at, actor, account, change, items_added, items_removed, detail)| ImpactChange {
                at,
                actor,
                account,
                change: match change.as_str() {
                    "added" => "Account added",
                    "removed" => "Account no longer affected",
                    "returned" => "Account affected again",
                    _ => "Items changed",
                }
                .to_owned(),
                items_added,
                items_removed,
                detail,
            },
        )
        .collect();
        Ok(CustomerImpact {
            case: case.number,
            rows,
            accounts: accounts_total,
            filter,
            timeline,
            alert_resolved,
            auto_notice: case.auto_notice.map(|state| AutoNotice {
                state,
                at: case.auto_notice_at,
            }),
            flash: None,
        })
    }

    /// Notify customers' preview for the case `number`.
    pub async fn notice_preview(
        &self,
        number: &str,
        kind: Option<&str>,
        settings: &NoticeSettings,
    ) -> Result<NoticePreview, AppError> {
        let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
            None => None,
            Some(text) => Some(NoticeKind::parse(text).ok_or_else(|| {
                AppError::invalid("kind", "Choose the initial notice, an update or the resolution notice.")
            })?),
        };
        let mut conn = self.pool().acquire().await?;
        let case = resolve_top(&mut conn, number).await?;
        build_preview(&mut conn, &case, kind, settings).await
    }

    /// Sends the notice of `kind` (number `seq`) to `accounts` of case `number`, in one transaction.
    #[tracing::instrument(skip(self, settings), err(Debug, level = "debug"))]
    pub async fn send_notices(
        &self,
        number: &str,
        kind: &str,
        seq: i64,
        accounts: &[i64],
        actor: &str,
        settings: &NoticeSettings,
    ) -> Result<SendOutcome, AppError> {
        let kind = NoticeKind::parse(kind).ok_or_else(|| {
            AppError::invalid("kind", "Choose the initial notice, an update or the resolution notice.")
        })?;
        if seq < 1 || (kind != NoticeKind::Update && seq != 1) {
            return Err(AppError::invalid(
                "seq",
                "The notice's number is not one this case can send.",
            ));
        }
        let mut tx = self.begin_write().await?;
        let case = resolve_top(&mut tx, number).await?;
        // Two agents on PostgreSQL take turns on the case's row: the second reads what the first sent.
        let lock = self.for_update();
        if !lock.is_empty() {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT id FROM cases WHERE id = $1{lock}")))
                .bind(case.id)
                .execute(&mut *tx)
                .await?;
        }
        let outcome = send_in(&mut tx, &case, kind, seq, accounts, actor, settings).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Puts a failed notice back into the outbox.
    pub async fn retry_notice(&self, id: i64, actor: &str) -> Result<String, AppError> {
        let mut tx = self.begin_write().await?;
        let found: Option<(String, String, String)> = sqlx::query_as(
            "SELECT c.number, a.name, n.status FROM notices n JOIN cases c ON c.id = n.case_id
             JOIN accounts a ON a.id = n.account_id WHERE n.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((case, account, status)) = found else {
            return Err(AppError::not_found("Notice", id.to_string()));
        };
        let updated = sqlx::query(
            "UPDATE notices SET status = 'pending', next_attempt_at = $2, attempts = 0 WHERE id = $1 AND status = 'failed'",
        )
        .bind(id)
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(AppError::Conflict {
                existing: id.to_string(),
                message: format!(
                    "The notice to {account} is {} now, not failed: there is nothing to retry.",
                    Delivery::parse(&status).map_or("queued", |d| d.label()).to_lowercase()
                ),
            });
        }
        let detail = format!("Notice to {account} queued again.");
        Audit {
            actor,
            action: AuditAction::NoticeRetried,
            record: Some(&case),
            detail: &detail,
            address: None,
        }
        .write(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(detail)
    }

    /// One page of the notices, newest first.
    pub async fn sent_notices(&self, page: u32, settings: &NoticeSettings) -> Result<SentNoticesPage, AppError> {
        let mut conn = self.pool().acquire().await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notices")
            .fetch_one(&mut *conn)
            .await?;
        let window = Window::new(total, page, NOTICES_PAGE_SIZE);
        let notices: Vec<SentNotice> = sqlx::query_as::<_, SentRecord>(
            "SELECT n.id, c.number AS case_number, a.name AS account, n.kind, n.seq, n.recipients, n.subject,
                    n.message_id, n.status, n.created_at, n.sent_at, n.answer, n.attempts
             FROM notices n JOIN cases c ON c.id = n.child_case_id JOIN accounts a ON a.id = n.account_id
             ORDER BY n.created_at DESC, n.id DESC LIMIT $1 OFFSET $2",
        )
        .bind(window.limit)
        .bind(window.offset)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|n| SentNotice {
            id: n.id,
            case: n.case_number,
            account: n.account,
            kind: n.kind,
            seq: n.seq,
            recipients: n.recipients.replace('\n', ", "),
            subject: n.subject,
            message_id: n.message_id,
            delivery: n.status,
            created_at: n.created_at,
            sent_at: n.sent_at,
            answer: n.answer,
            attempts: n.attempts,
        })
        .collect();
        Ok(SentNoticesPage {
            notices,
            total: window.total,
            page: window.page,
            pages: window.pages,
            delivered_to: settings.transport.describe(),
            flash: None,
        })
    }

    pub async fn notice_templates(&self) -> Result<Vec<NoticeTemplate>, AppError> {
        let rows: Vec<TemplateRecord> = sqlx::query_as(
            "SELECT kind, subject, body, updated_by, updated_at FROM notice_templates
             ORDER BY CASE kind WHEN 'initial' THEN 1 WHEN 'update' THEN 2 ELSE 3 END",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|t| NoticeTemplate {
                kind: t.kind,
                subject: t.subject,
                body: t.body,
                updated_by: t.updated_by,
                updated_at: t.updated_at,
            })
            .collect())
    }

    /// Saves a template once it parses, uses only known placeholders and renders a sample notice; audited.
    pub async fn save_notice_template(
        &self,
        kind: &str,
        subject: &str,
        body: &str,
        actor: &str,
    ) -> Result<NoticeKind, AppError> {
        let kind = NoticeKind::parse(kind)
            .ok_or_else(|| AppError::invalid("kind", "Choose the initial notice, update or resolution template."))?;
        let (subject, body) = (subject.trim(), body.trim_end().replace("\r\n", "\n"));
        render::check(subject, &body)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE notice_templates SET subject = $2, body = $3, updated_by = $4, updated_at = $5 WHERE kind = $1",
        )
        .bind(kind.as_str())
        .bind(subject)
        .bind(&body)
        .bind(actor)
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        Audit {
            actor,
            action: AuditAction::NoticeTemplateChanged,
            record: None,
            detail: &format!("{} template saved", kind.label()),
            address: None,
        }
        .write(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(kind)
    }

    /// `Send now` (the rule's initial notice, at once, from the agent) and `Hold` (not by itself: an agent sends
    /// it) on a case whose initial notice waits out its hold-down.
    pub async fn auto_notice_action(
        &self,
        number: &str,
        send_now: bool,
        actor: &str,
        settings: &NoticeSettings,
    ) -> Result<String, AppError> {
        let mut tx = self.begin_write().await?;
        let case = resolve_top(&mut tx, number).await?;
        if case.auto_notice.as_deref() != Some("scheduled") {
            return Err(AppError::Conflict {
                existing: case.number.clone(),
                message: format!("{}'s initial notice is not waiting to go out any more.", case.number),
            });
        }
        let message = if send_now {
            let chosen = untold_accounts(&mut tx, &case, settings).await?;
            if chosen.is_empty() {
                return Err(AppError::invalid(
                    "accounts",
                    "No account can get the initial notice now.",
                ));
            }
            send_in(&mut tx, &case, NoticeKind::Initial, 1, &chosen, actor, settings)
                .await?
                .message()
        } else {
            sqlx::query("UPDATE cases SET auto_notice = 'held', auto_notice_at = NULL WHERE id = $1")
                .bind(case.id)
                .execute(&mut *tx)
                .await?;
            let line = format!("Initial notice held by {actor}: it goes out when an agent sends it.");
            write_journal(&mut tx, Some(case.id), None, JournalKind::Activity, actor, &line).await?;
            line
        };
        Audit {
            actor,
            action: AuditAction::AutoNoticeChanged,
            record: Some(&case.number),
            detail: &truncate(&message, 1000),
            address: None,
        }
        .write(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_quote_names_that_would_break_the_header() {
        assert_eq!(mailbox("Alice Moreau", "a@x.example"), "Alice Moreau <a@x.example>");
        assert_eq!(
            mailbox("Moreau, Alice", "a@x.example"),
            "\"Moreau, Alice\" <a@x.example>"
        );
        assert_eq!(display_name("\"Moreau, Alice\" <a@x.example>"), "Moreau, Alice");
    }

    #[test]
    fn the_outcome_says_what_went_and_what_had_gone_already() {
        let outcome = SendOutcome {
            kind: Some(NoticeKind::Update),
            seq: 2,
            queued: vec!["Acme".into()],
            already: vec!["Globex: Already sent: update 2 by alice.".into()],
            ..SendOutcome::default()
        };
        assert_eq!(
            outcome.message(),
            "Update 2 sent to Acme. Nothing was sent twice: Globex: Already sent: update 2 by alice."
        );
    }
}
