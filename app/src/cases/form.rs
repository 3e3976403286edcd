//! The case form the agent opens with Create Case, prefilled from the alert and its snapshot.

use super::{CaseDraft, CreateCase, NewCase};
use crate::{
    domain::Priority,
    ui::{Fields, ServerForm},
    AppError,
};
use leptos::{either::Either, prelude::*};

/// The case form for `draft`; Submit runs `create`.
#[component]
pub fn CaseComposer(draft: CaseDraft, create: ServerAction<CreateCase>) -> impl IntoView {
    view! {
        <section class="case-form" aria-labelledby="case-form-heading">
            <h2 id="case-form-heading">"New proactive case"</h2>
            <CaseFields draft create />
        </section>
    }
}

/// The message `create` returned for `field`, if its last answer was about that field.
///
/// A plain closure over the action rather than a derived signal: the form is dropped in the same update that
/// delivers a created case, and a closure owns nothing that could be disposed under it.
fn field_error(
    create: ServerAction<CreateCase>,
    field: &'static str,
) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
    move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .and_then(|e| e.message_for(field))
    }
}

#[component]
fn CaseFields(draft: CaseDraft, create: ServerAction<CreateCase>) -> impl IntoView {
    // Move keyboard focus to the field the server refused, so the agent lands where the message is.
    Effect::new(move |_| {
        if let Some(Err(AppError::Invalid { field, .. })) = create.value().get() {
            if let Some(element) = document().get_element_by_id(&format!("case-{field}")) {
                use leptos::wasm_bindgen::JsCast;
                if let Ok(element) = element.dyn_into::<leptos::web_sys::HtmlElement>() {
                    let _ = element.focus();
                }
            }
        }
    });
    let scope = match draft.affected_accounts.len() {
        0 if draft.snapshot_taken => "The alert affects no install base items; the case will cover none.".to_owned(),
        0 => "Install base items have not been traced for this alert yet: use Refresh Install Base Items first to \
              include them."
            .to_owned(),
        1 => format!("The case will cover {} affected install base item(s).", draft.items),
        n => format!(
            "The affected items belong to {n} accounts: this creates a major case with one child case per account, \
             {} install base items in all.",
            draft.items
        ),
    };
    let account_names: Vec<String> = draft
        .affected_accounts
        .iter()
        .map(|a| format!("{} ({} items)", a.name, a.items))
        .collect();
    let major = draft.affected_accounts.len() > 1;

    view! {
        <p class="hint">{scope}</p>
        <ServerForm action=create read=read_case class="form" novalidate=true>
            <input type="hidden" name="input[alert]" value=draft.alert.clone() />
            <TextField
                field="short_description"
                label="Short description"
                value=draft.short_description.clone()
                create
            />
            <div class="field">
                <label for="case-priority">"Priority"</label>
                <select id="case-priority" name="input[priority]">
                    {Priority::ALL
                        .map(|p| {
                            view! {
                                <option value=p.code().to_string() selected=p == draft.priority>
                                    {p.to_string()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <AccountField draft=draft.clone() create />
            <ContactField draft=draft.clone() create />
            <Show when=move || major>
                <ul class="account-summary" aria-label="Accounts affected">
                    {account_names.iter().map(|name| view! { <li>{name.clone()}</li> }).collect_view()}
                </ul>
            </Show>
            <div class="field wide">
                <label for="case-work_notes">"Work notes"</label>
                <textarea
                    id="case-work_notes"
                    name="input[work_notes]"
                    rows="4"
                    aria-invalid=move || field_error(create, "work_notes")().map(|_| "true")
                    aria-describedby=move || field_error(create, "work_notes")().map(|_| "case-work_notes-error")
                ></textarea>
                <FieldMessage field="work_notes" create />
            </div>
            <div class="form-actions">
                <button type="submit" class="primary" disabled=move || create.pending().get()>
                    "Submit"
                </button>
                <a href=format!("/alerts/{}", draft.alert)>"Cancel"</a>
            </div>
        </ServerForm>
    }
}

/// The case form's fields, as Submit sends them.
fn read_case(fields: &Fields) -> CreateCase {
    CreateCase {
        input: NewCase {
            alert: fields.text("input[alert]"),
            short_description: fields.text("input[short_description]"),
            priority: fields.text("input[priority]"),
            account: fields.optional("input[account]"),
            contact: fields.optional("input[contact]"),
            work_notes: fields.text("input[work_notes]"),
        },
    }
}

#[component]
fn TextField(
    field: &'static str,
    label: &'static str,
    value: String,
    create: ServerAction<CreateCase>,
) -> impl IntoView {
    let id = format!("case-{field}");
    let error = field_error(create, field);
    view! {
        <div class="field wide">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                type="text"
                name=format!("input[{field}]")
                value=value
                aria-invalid=move || error().map(|_| "true")
                aria-describedby=move || error().map(|_| format!("case-{field}-error"))
            />
            <FieldMessage field create />
        </div>
    }
}

/// A field's error, tied to it by id and announced when it appears.
#[component]
fn FieldMessage(field: &'static str, create: ServerAction<CreateCase>) -> impl IntoView {
    let error = field_error(create, field);
    view! {
        <p id=format!("case-{field}-error") class="field-error" role="alert">
            {error}
        </p>
    }
}

#[component]
fn AccountField(draft: CaseDraft, create: ServerAction<CreateCase>) -> impl IntoView {
    let error = field_error(create, "account");
    let control = match draft.affected_accounts.as_slice() {
        [] => Either::Left(view! {
            <select
                id="case-account"
                name="input[account]"
                aria-invalid=move || error().map(|_| "true")
                aria-describedby=move || error().map(|_| "case-account-error")
            >
                <option value="">"None"</option>
                {draft
                    .other_accounts
                    .iter()
                    .map(|a| view! { <option value=a.id.to_string()>{a.name.clone()}</option> })
                    .collect_view()}
            </select>
        }),
        [only] => Either::Right(view! { <input id="case-account" type="text" readonly value=only.name.clone() /> }),
        many => {
            let text = format!("{} accounts (major case)", many.len());
            Either::Right(view! { <input id="case-account" type="text" readonly value=text /> })
        }
    };
    view! {
        <div class="field">
            <label for="case-account">"Account"</label>
            {control}
            <FieldMessage field="account" create />
        </div>
    }
}

#[component]
fn ContactField(draft: CaseDraft, create: ServerAction<CreateCase>) -> impl IntoView {
    let error = field_error(create, "contact");
    let control = if draft.affected_accounts.len() > 1 {
        Either::Left(view! {
            <input
                id="case-contact"
                type="text"
                readonly
                value="Each account's primary contact"
            />
        })
    } else {
        let primary = draft.affected_accounts.first().and_then(|a| a.primary_contact);
        let labelled_by_account = draft.affected_accounts.is_empty();
        Either::Right(view! {
            <select
                id="case-contact"
                name="input[contact]"
                aria-invalid=move || error().map(|_| "true")
                aria-describedby=move || error().map(|_| "case-contact-error")
            >
                <option value="">"None"</option>
                {draft
                    .contacts
                    .iter()
                    .map(|c| {
                        let label = if labelled_by_account {
                            format!("{} ({})", c.name, c.account)
                        } else {
                            c.name.clone()
                        };
                        view! {
                            <option value=c.id.to_string() selected=Some(c.id) == primary>
                                {label}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        })
    };
    view! {
        <div class="field">
            <label for="case-contact">"Contact"</label>
            {control}
            <FieldMessage field="contact" create />
        </div>
    }
}
