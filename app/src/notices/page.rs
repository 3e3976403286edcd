//! Customer impact (a region of the case page), Notify customers (its preview and Send), Sent notices and Notice
//! templates. Rendered on the server only; their forms are plain posts that work the same with or without
//! JavaScript.

use super::{
    list_notices, notice_templates, preview_notice, CustomerImpact, Delivery, ImpactFilter, ImpactRow, NoticeKind,
    NoticePreview, NoticeTemplate, SentNotice, SentNoticesPage as SentPage, TemplatesView,
};
use crate::{
    access::{viewer, Permission},
    ui::{DataTable, LoadError, Pager},
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// What a row's last notice says: kind, time, delivery and the server's answer.
fn last_notice_text(row: &ImpactRow) -> String {
    match &row.last {
        None => "None yet".to_owned(),
        Some(last) => {
            let kind = match last.kind {
                NoticeKind::Update => format!("Update {}", last.seq),
                other => other.label().to_owned(),
            };
            let answer = last.answer.as_deref().map(|a| format!(" — {a}")).unwrap_or_default();
            format!(
                "{kind}, {} UTC, {}{answer}",
                last.at,
                last.delivery.label().to_lowercase()
            )
        }
    }
}

/// A `Retry` for a failed notice, back to `back` afterwards.
fn retry_form(id: i64, back: String, label: String) -> impl IntoView {
    view! {
        <form method="post" action="/notices/retry" class="inline">
            <input type="hidden" name="id" value=id.to_string() />
            <input type="hidden" name="back" value=back />
            <button type="submit" aria-label=label>"Retry"</button>
        </form>
    }
}

/// The case page's **Customer impact**: a row per account the case covers, its filters, Notify customers, the
/// rule's waiting initial notice and the affected set's timeline; `may_notify` when the viewer may notify customers,
/// `may_record` when they may record a reactive case (offered for each account).
#[component]
pub fn CustomerImpactView(impact: CustomerImpact, may_notify: bool, may_record: bool) -> impl IntoView {
    let case = impact.case.clone();
    let filter = impact.filter;
    let filters = [
        (ImpactFilter::All, "All accounts"),
        (ImpactFilter::NotNotified, "Not notified"),
        (ImpactFilter::UpdateOverdue, "Update overdue"),
    ]
    .into_iter()
    .map(|(f, label)| {
        let href = match f {
            ImpactFilter::All => format!("/cases/{case}#customer-impact"),
            other => format!("/cases/{case}?impact={}#customer-impact", other.as_str()),
        };
        let current = (f == filter).then_some("true");
        view! { <a href=href aria-current=current>{label}</a> }
    })
    .collect_view();
    let summary = match (impact.accounts, impact.rows.len()) {
        (0, _) => "The case covers no customer accounts.".to_owned(),
        (all, shown) if shown as u64 == all => format!("{all} account(s)."),
        (all, shown) => format!("{shown} of {all} account(s) shown."),
    };
    let resolved = impact.alert_resolved.then(|| {
        view! { <p class="callout">"The alert is resolved: send the customers the resolution notice."</p> }
    });
    let auto = impact.auto_notice.clone().and_then(|auto| match auto.state.as_str() {
        "scheduled" => Some(
            view! {
                <div class="callout">
                    <p>
                        {format!(
                            "The rule sends the initial notice by itself at {} UTC, once the alert has stayed open (and not flapping) that long.",
                            auto.at.unwrap_or_default()
                        )}
                    </p>
                    {may_notify.then(|| view! {
                        <form method="post" action="/auto-notice" class="actions">
                            <input type="hidden" name="case" value=case.clone() />
                            <button type="submit" name="action" value="send_now">"Send now"</button>
                            <button type="submit" name="action" value="hold">"Hold"</button>
                        </form>
                    })}
                </div>
            }
            .into_any(),
        ),
        "held" => Some(
            view! { <p class="callout">"The rule's initial notice is held: an agent sends it with Notify customers."</p> }
                .into_any(),
        ),
        _ => None,
    });
    let back = format!("/cases/{case}");
    let rows = impact
        .rows
        .into_iter()
        .map(|row| {
            let status = row.status();
            let last = last_notice_text(&row);
            let retry = row
                .last
                .as_ref()
                .filter(|l| l.delivery == Delivery::Failed && may_notify)
                .map(|l| retry_form(l.id, back.clone(), format!("Retry the notice to {}", row.account)));
            let to = if row.recipients.is_empty() {
                "No contact: nothing can be sent".to_owned()
            } else {
                row.recipients.join(", ")
            };
            let due = row
                .next_update_due
                .clone()
                .map(|d| format!("{d} UTC"))
                .unwrap_or_else(|| "—".into());
            let overdue = row
                .overdue
                .then(|| view! { <strong class="badge-overdue">" Update overdue"</strong> });
            let items_href = format!("/cases/{}#case-items-heading", row.child_case);
            let reactive = if row.reactive_cases.is_empty() {
                view! { "None" }.into_any()
            } else {
                row.reactive_cases
                    .iter()
                    .map(|number| view! { <a href=format!("/cases/{number}")>{number.clone()}</a>" " })
                    .collect_view()
                    .into_any()
            };
            let record = may_record.then(|| {
                view! {
                    <a
                        href=format!("/cases/new?related={case}&account={}", row.account_id)
                        aria-label=format!("Record a reactive case for {}", row.account)
                    >
                        "Record"
                    </a>
                }
            });
            view! {
                <tr data-account=row.account.clone()>
                    <th scope="row">{row.account.clone()}</th>
                    <td>
                        <a href=items_href>{format!("{} item(s)", row.items)}</a>
                    </td>
                    <td>{to}</td>
                    <td>
                        <a href=format!("/cases/{}", row.child_case)>{row.child_case.clone()}</a>
                    </td>
                    <td class=format!("notice-{}", status.to_lowercase().replace(' ', "-"))>{status}</td>
                    <td>{last} {retry}</td>
                    <td>{due} {overdue}</td>
                    <td>{reactive} {record}</td>
                </tr>
            }
        })
        .collect_view();
    let timeline = (!impact.timeline.is_empty()).then(|| {
        view! {
            <section aria-labelledby="impact-timeline-heading">
                <h3 id="impact-timeline-heading">"Affected accounts and items over time"</h3>
                <ol class="timeline">
                    {impact
                        .timeline
                        .into_iter()
                        .map(|change| {
                            let items = match (change.items_added, change.items_removed) {
                                (0, 0) => String::new(),
                                (added, 0) => format!(", {added} item(s) added"),
                                (0, removed) => format!(", {removed} item(s) removed"),
                                (added, removed) => format!(", {added} item(s) added, {removed} removed"),
                            };
                            let detail = if change.detail.is_empty() { String::new() } else { format!(" ({})", change.detail) };
                            view! {
                                <li>
                                    {format!(
                                        "{} UTC — {}: {}{items}{detail}; refresh by {}.",
                                        change.at,
                                        change.change,
                                        change.account,
                                        change.actor
                                    )}
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            </section>
        }
    });
    let notify = may_notify.then(|| {
        view! {
            <form method="get" action=format!("/cases/{case}/notify") class="inline">
                <button type="submit" class="primary">"Notify customers"</button>
            </form>
        }
    });
    view! {
        <section class="related" id="customer-impact" aria-labelledby="customer-impact-heading">
            <h2 id="customer-impact-heading">"Customer impact"</h2>
            <p role="status" class="status-message">{impact.flash}</p>
            {resolved}
            {auto}
            <nav class="filters" aria-label="Filter the accounts">{filters}</nav>
            <p class="muted">{summary}</p>
            <DataTable
                labelled_by="customer-impact-heading"
                columns=&["Account", "Affected items", "Notice goes to", "Case", "Status", "Last notice", "Next update due", "Reactive cases"]
            >
                {rows}
            </DataTable>
            <p class="actions">
                {notify}
                <a href="/notices">"Sent notices"</a>
            </p>
            {timeline}
        </section>
    }
}

/// `/cases/:number/notify`: the notice each account would get, and Send.
#[component]
pub fn NotifyPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let preview = Resource::new(
        move || {
            (
                params.read().get("number").unwrap_or_default(),
                query.read().get("kind"),
            )
        },
        |(number, kind)| preview_notice(number, kind),
    );
    view! {
        <Title text="Notify customers" />
        <Suspense fallback=|| view! { <p role="status">"Loading the notices…"</p> }>
            {move || Suspend::new(async move {
                match preview.await {
                    Ok(preview) => Either::Left(view! { <NoticeForm preview /> }),
                    Err(error) => Either::Right(view! { <LoadError error /> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NoticeForm(preview: NoticePreview) -> impl IntoView {
    let case = preview.case.clone();
    let kinds = NoticeKind::ALL
        .into_iter()
        .map(|kind| {
            let current = (kind == preview.kind).then_some("page");
            view! {
                <a href=format!("/cases/{case}/notify?kind={}", kind.as_str()) aria-current=current>
                    {kind.label()}
                </a>
            }
        })
        .collect_view();
    let send_label = match preview.kind {
        NoticeKind::Update => format!("Send update {}", preview.seq),
        other => format!("Send {}", other.label().to_lowercase()),
    };
    let sendable = preview.rows.iter().any(|r| r.blocked.is_none());
    let rows = preview
        .rows
        .into_iter()
        .map(|row| {
            let id = format!("notify-account-{}", row.account_id);
            let why = format!("{id}-why");
            let blocked = row.blocked.is_some();
            let to = if row.recipients.is_empty() {
                "nobody".to_owned()
            } else {
                row.recipients.join(", ")
            };
            view! {
                <article class="notice-preview" aria-labelledby=format!("{id}-label")>
                    <div class="field checkbox">
                        <input
                            id=id.clone()
                            type="checkbox"
                            name="account"
                            value=row.account_id.to_string()
                            checked=row.suggested
                            disabled=blocked
                            aria-describedby=why.clone()
                        />
                        <label for=id.clone() id=format!("{id}-label")>{row.account.clone()}</label>
                    </div>
                    <p id=why class="muted">
                        {row.blocked.clone().unwrap_or_else(|| format!("To: {to}"))}
                    </p>
                    <p>
                        <strong>"Subject: "</strong>
                        {row.subject}
                    </p>
                    <pre class="notice-body" role="note" aria-label=format!("Message to {}", row.account)>{row.body}</pre>
                </article>
            }
        })
        .collect_view();
    let problem = preview.problem.map(|p| view! { <p role="alert" class="error">{p}</p> });
    view! {
        <article class="record">
            <header class="record-header">
                <p class="breadcrumb">
                    <a href="/cases">"Cases"</a>
                    " / "
                    <a href=format!("/cases/{case}")>{case.clone()}</a>
                </p>
                <h1>"Notify customers"</h1>
            </header>
            <nav class="filters" aria-label="Kind of notice">{kinds}</nav>
            <p role="alert" class="error">{preview.flash}</p>
            {problem}
            <form method="post" action="/notify" class="notify-form">
                <input type="hidden" name="case" value=case.clone() />
                <input type="hidden" name="kind" value=preview.kind.as_str() />
                <input type="hidden" name="seq" value=preview.seq.to_string() />
                <fieldset>
                    <legend>"Accounts to notify, and the message each one gets"</legend>
                    {rows}
                </fieldset>
                <p class="form-actions">
                    <button type="submit" class="primary" disabled=!sendable>{send_label}</button>
                    <a href=format!("/cases/{case}")>"Cancel"</a>
                </p>
            </form>
        </article>
    }
}

/// `/notices`: every notice, newest first, with its delivery.
#[component]
pub fn SentNoticesPage() -> impl IntoView {
    // Read before the list's await (see `cases::page::CasePage`).
    let may_retry = viewer().is_some_and(|v| v.may(Permission::NotifyCustomers));
    let query = use_query_map();
    let listing = Resource::new(
        move || query.read().get("page").and_then(|p| p.parse::<u32>().ok()),
        list_notices,
    );
    view! {
        <Title text="Sent notices" />
        <h1 id="sent-notices-heading">"Sent notices"</h1>
        <Suspense fallback=|| view! { <p role="status">"Loading the notices…"</p> }>
            {move || Suspend::new(async move {
                match listing.await {
                    Ok(listing) => Either::Left(view! { <SentTable listing may_retry /> }),
                    Err(error) => Either::Right(view! { <LoadError error /> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SentTable(listing: SentPage, may_retry: bool) -> impl IntoView {
    let rows = listing
        .notices
        .into_iter()
        .map(|notice: SentNotice| {
            let kind = match notice.kind {
                NoticeKind::Update => format!("Update {}", notice.seq),
                other => other.label().to_owned(),
            };
            let retry = (notice.delivery == Delivery::Failed && may_retry).then(|| {
                retry_form(
                    notice.id,
                    "/notices".into(),
                    format!("Retry the notice to {}", notice.account),
                )
            });
            view! {
                <tr>
                    <td>
                        <a href=format!("/cases/{}", notice.case)>{notice.case.clone()}</a>
                    </td>
                    <td>{notice.account.clone()}</td>
                    <td>{kind}</td>
                    <td>{notice.recipients}</td>
                    <td>{notice.subject}</td>
                    <td>{notice.delivery.label()} {retry}</td>
                    <td>{notice.created_at}</td>
                    <td>{notice.sent_at.unwrap_or_default()}</td>
                    <td>
                        {notice.answer.unwrap_or_default()} <br /> <code>{notice.message_id}</code>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let pager = (listing.pages > 1).then(|| {
        view! {
            <Pager
                page=listing.page
                pages=listing.pages
                total=listing.total
                noun="notices"
                href=|p| format!("/notices?page={p}")
            />
        }
    });
    let empty = (listing.total == 0).then(|| view! { <p>"No notices yet."</p> });
    view! {
        <p class="muted">{format!("Notices go to {}.", listing.delivered_to)}</p>
        <p role="status" class="status-message">{listing.flash}</p>
        <DataTable
            labelled_by="sent-notices-heading"
            columns=&["Case", "Account", "Notice", "To", "Subject", "Delivery", "Queued (UTC)", "Sent (UTC)", "Server's answer"]
        >
            {rows}
        </DataTable>
        {empty}
        {pager}
    }
}

/// `/notice-templates`: one form per kind of notice (`evt_mgmt_admin`).
#[component]
pub fn NoticeTemplatesPage() -> impl IntoView {
    let view_data = Resource::new(|| (), |()| notice_templates());
    view! {
        <Title text="Notice templates" />
        <h1>"Notice templates"</h1>
        <Suspense fallback=|| view! { <p role="status">"Loading the templates…"</p> }>
            {move || Suspend::new(async move {
                match view_data.await {
                    Ok(data) => Either::Left(view! { <TemplateForms data /> }),
                    Err(error) => Either::Right(view! { <LoadError error /> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TemplateForms(data: TemplatesView) -> impl IntoView {
    let flash = data.flash.unwrap_or_default();
    let status = flash.status.clone();
    let placeholders = data
        .placeholders
        .into_iter()
        .map(|(name, what)| {
            view! {
                <dt>
                    <code>{format!("{{{{ {name} }}}}")}</code>
                </dt>
                <dd>{what}</dd>
            }
        })
        .collect_view();
    let forms = data
        .templates
        .into_iter()
        .map(|template: NoticeTemplate| {
            let kind = template.kind;
            let draft = flash.draft.clone().filter(|(k, ..)| *k == kind);
            let error = draft.as_ref().and(flash.error.clone());
            let (subject, body, fault) = match draft {
                Some((_, subject, body, field)) => (subject, body, Some(field)),
                None => (template.subject, template.body, None),
            };
            let key = kind.as_str();
            let (heading, subject_id, body_id, error_id) = (
                format!("template-{key}-heading"),
                format!("template-{key}-subject"),
                format!("template-{key}-body"),
                format!("template-{key}-error"),
            );
            let described = |field: &str| (fault.as_deref() == Some(field)).then(|| error_id.clone());
            let invalid = |field: &str| (fault.as_deref() == Some(field)).then_some("true");
            let changed = match (template.updated_by, template.updated_at) {
                (Some(by), Some(at)) => format!("Last changed by {by} at {at} UTC."),
                _ => "The template Forestall ships with.".to_owned(),
            };
            let labelled_by = heading.clone();
            view! {
                <section class="rule" id=format!("template-{key}") aria-labelledby=labelled_by>
                    <h2 id=heading>{format!("{} template", kind.label())}</h2>
                    <form method="post" action="/notice-templates/save" class="template-form">
                        <input type="hidden" name="kind" value=key />
                        <div class="field">
                            <label for=subject_id.clone()>"Subject"</label>
                            <input
                                id=subject_id
                                name="subject"
                                value=subject
                                maxlength="200"
                                aria-invalid=invalid("subject")
                                aria-describedby=described("subject")
                            />
                        </div>
                        <div class="field">
                            <label for=body_id.clone()>"Body"</label>
                            <textarea
                                id=body_id
                                name="body"
                                rows="12"
                                aria-invalid=invalid("body")
                                aria-describedby=described("body")
                            >
                                {body}
                            </textarea>
                        </div>
                        <p role="alert" class="error" id=error_id.clone()>{error}</p>
                        <button type="submit" class="primary">{format!("Save {} template", kind.label().to_lowercase())}</button>
                    </form>
                    <p class="muted">{changed}</p>
                </section>
            }
        })
        .collect_view();
    view! {
        <p class="muted">
            "Each notice is rendered from its template (MiniJinja: placeholders in double braces, loops with for) \
             as plain text, checked when it is saved: an unknown placeholder is refused, naming it."
        </p>
        <p role="status" class="status-message">{status}</p>
        {forms}
        <section aria-labelledby="placeholders-heading">
            <h2 id="placeholders-heading">"Placeholders"</h2>
            <dl class="placeholders">{placeholders}</dl>
        </section>
    }
}
