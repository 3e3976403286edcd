//! The notices' form posts: plain HTML forms answered with a redirect (Post/Redirect/Get), so they work without
//! JavaScript and a reload never posts twice; what each did is kept in the session for the page it lands on.

use super::{flash, NoticeSettings, Outbox};
use crate::auth::server::see_other;
use crate::{
    access::{Permission, Viewer},
    notices::{Flash, NoticeKind},
    store::Store,
    AppError,
};
use axum::{
    extract::State,
    response::{IntoResponse, Response},
    Extension, Form,
};
use std::time::Duration;
use tower_sessions::Session;

/// How long Send waits for the notices' first delivery attempt before the page it redirects to is drawn.
const SETTLE: Duration = Duration::from_secs(3);

type Fields = Vec<(String, String)>;

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// The guard checked the route's permission already; each handler checks it again, as every server function does.
fn refused_role(viewer: &Viewer, permission: Permission) -> Option<Response> {
    (!viewer.may(permission)).then(|| AppError::Forbidden.into_response())
}

/// A case number as a path segment: letters and digits only, so it cannot steer the redirect.
fn case_path(number: &str) -> Option<String> {
    let number = number.trim().to_ascii_uppercase();
    (!number.is_empty() && number.len() <= 40 && number.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| format!("/cases/{number}"))
}

/// The page of the case a notifier's form names, or the answer that refuses it (a role that may not notify, a
/// number that cannot be a case's).
fn notifier_case(viewer: &Viewer, fields: &Fields) -> Result<String, Box<Response>> {
    if let Some(refusal) = refused_role(viewer, Permission::NotifyCustomers) {
        return Err(Box::new(refusal));
    }
    case_path(field(fields, "case"))
        .ok_or_else(|| Box::new(AppError::not_found("Case", field(fields, "case").to_owned()).into_response()))
}

/// Says `message` on `page` (once, the next time it is drawn) and redirects to `location`.
async fn said(session: &Session, page: String, message: String, location: &str) -> Response {
    flash::put(
        session,
        Flash {
            page,
            status: Some(message),
            ..Flash::default()
        },
    )
    .await;
    see_other(location)
}

/// Where an error goes: a page that says it, or (a record that is not there, a role that may not) the error itself.
async fn refused(session: &Session, page: String, back: String, error: AppError) -> Response {
    match error {
        AppError::Invalid { .. } | AppError::Conflict { .. } => {
            flash::put(
                session,
                Flash {
                    page,
                    error: Some(error.to_string()),
                    ..Flash::default()
                },
            )
            .await;
            see_other(&back)
        }
        other => other.into_response(),
    }
}

/// `POST /notify`: Notify customers' Send. Fields `case`, `kind`, `seq`, and one `account` per account chosen.
pub async fn send(
    State(store): State<Store>,
    State(settings): State<NoticeSettings>,
    State(outbox): State<Outbox>,
    Extension(viewer): Extension<Viewer>,
    session: Session,
    Form(fields): Form<Fields>,
) -> Response {
    let case_page = match notifier_case(&viewer, &fields) {
        Ok(page) => page,
        Err(refusal) => return *refusal,
    };
    let kind = field(&fields, "kind").to_owned();
    let notify_page = format!("{case_page}/notify");
    let back = format!(
        "{notify_page}?kind={}",
        NoticeKind::parse(&kind).map_or("", |k| k.as_str())
    );
    let Ok(seq) = field(&fields, "seq").trim().parse::<i64>() else {
        return refused(
            &session,
            notify_page,
            back,
            AppError::invalid("seq", "The preview is incomplete: open Notify customers again."),
        )
        .await;
    };
    let mut accounts = Vec::new();
    for (_, value) in fields.iter().filter(|(key, _)| key == "account") {
        match value.trim().parse::<i64>() {
            Ok(id) if !accounts.contains(&id) => accounts.push(id),
            Ok(_) => {}
            Err(_) => {
                return refused(
                    &session,
                    notify_page,
                    back,
                    AppError::invalid("accounts", "Choose accounts from the list."),
                )
                .await;
            }
        }
    }
    let number = field(&fields, "case").to_owned();
    match store
        .send_notices(&number, &kind, seq, &accounts, &viewer.name, &settings)
        .await
    {
        Ok(outcome) => {
            outbox.settle(&store, &outcome.ids, SETTLE).await;
            let location = format!("{case_page}#customer-impact");
            said(&session, case_page, outcome.message(), &location).await
        }
        Err(error) => refused(&session, notify_page, back, error).await,
    }
}

/// `POST /notices/retry`: a failed notice back into the outbox. Fields `id` and `back` (`/notices` or a case page).
pub async fn retry(
    State(store): State<Store>,
    State(outbox): State<Outbox>,
    Extension(viewer): Extension<Viewer>,
    session: Session,
    Form(fields): Form<Fields>,
) -> Response {
    if let Some(refusal) = refused_role(&viewer, Permission::NotifyCustomers) {
        return refusal;
    }
    let back = match field(&fields, "back").strip_prefix("/cases/") {
        Some(number) => case_path(number).unwrap_or_else(|| "/notices".into()),
        None => "/notices".to_owned(),
    };
    let Ok(id) = field(&fields, "id").trim().parse::<i64>() else {
        return AppError::not_found("Notice", field(&fields, "id").to_owned()).into_response();
    };
    match store.retry_notice(id, &viewer.name).await {
        Ok(message) => {
            outbox.settle(&store, &[id], SETTLE).await;
            let anchor = if back == "/notices" { "" } else { "#customer-impact" };
            let location = format!("{back}{anchor}");
            said(&session, back, message, &location).await
        }
        // A notice that is not there (any more) is said on the page it came from, like one that is not failed.
        Err(error @ AppError::NotFound { .. }) => {
            refused(&session, back.clone(), back, AppError::invalid("id", error.to_string())).await
        }
        Err(error) => refused(&session, back.clone(), back, error).await,
    }
}

/// `POST /notice-templates/save`: saves one template. Fields `kind`, `subject`, `body`; a refused one comes back as typed.
pub async fn save_template(
    State(store): State<Store>,
    Extension(viewer): Extension<Viewer>,
    session: Session,
    Form(fields): Form<Fields>,
) -> Response {
    if let Some(refusal) = refused_role(&viewer, Permission::ManageNoticeTemplates) {
        return refusal;
    }
    let (kind, subject, body) = (
        field(&fields, "kind"),
        field(&fields, "subject"),
        field(&fields, "body"),
    );
    let flash = match store.save_notice_template(kind, subject, body, &viewer.name).await {
        Ok(kind) => Flash {
            page: "/notice-templates".into(),
            status: Some(format!("{} template saved.", kind.label())),
            ..Flash::default()
        },
        Err(AppError::Invalid { field, message }) => Flash {
            page: "/notice-templates".into(),
            error: Some(message),
            draft: NoticeKind::parse(kind).map(|k| (k, subject.to_owned(), body.to_owned(), field)),
            ..Flash::default()
        },
        Err(other) => return other.into_response(),
    };
    let anchor = NoticeKind::parse(kind).map_or(String::new(), |k| format!("#template-{}", k.as_str()));
    flash::put(&session, flash).await;
    see_other(&format!("/notice-templates{anchor}"))
}

/// `POST /auto-notice`: `Send now` or `Hold` on the rule's waiting initial notice. Fields `case`, `action`.
pub async fn auto_notice(
    State(store): State<Store>,
    State(settings): State<NoticeSettings>,
    State(outbox): State<Outbox>,
    Extension(viewer): Extension<Viewer>,
    session: Session,
    Form(fields): Form<Fields>,
) -> Response {
    let case_page = match notifier_case(&viewer, &fields) {
        Ok(page) => page,
        Err(refusal) => return *refusal,
    };
    let send_now = match field(&fields, "action") {
        "send_now" => true,
        "hold" => false,
        _ => return AppError::BadRequest("action must be send_now or hold".into()).into_response(),
    };
    let back = format!("{case_page}#customer-impact");
    match store
        .auto_notice_action(field(&fields, "case"), send_now, &viewer.name, &settings)
        .await
    {
        Ok(message) => {
            outbox.wake();
            said(&session, case_page, message, &back).await
        }
        Err(error) => refused(&session, case_page, back, error).await,
    }
}
