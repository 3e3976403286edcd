//! The case form the agent opens with Create Case, prefilled from the alert and its snapshot.

use super::{prefill_case, CaseDraft, CreateCase, NewCase, ACCOUNT_SEARCH_MAX};
use crate::{
    domain::Priority,
    ui::{Field, FieldAria, Fields, ServerForm},
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
    // Without an affected account the agent names one: found by name, a bounded list at a time.
    let searching = draft.affected_accounts.is_empty();
    let alert = draft.alert.clone();
    let found = RwSignal::new(draft.clone());

    view! {
        <p class="hint">{scope}</p>
        <Show when=move || searching>
            <AccountSearch alert=alert.clone() found />
        </Show>
        <ServerForm action=create read=read_case class="form" novalidate=true>
            <input type="hidden" name="input[alert]" value=draft.alert.clone() />
            <Field
                id="case-short_description"
                label="Short description"
                error=field_error(create, "short_description")
                wide=true
                control={
                    let value = draft.short_description.clone();
                    move |aria: FieldAria| {
                        view! {
                            <input
                                id=aria.id
                                type="text"
                                name="input[short_description]"
                                value=value
                                aria-invalid=aria.invalid
                                aria-describedby=aria.described_by
                            />
                        }
                    }
                }
            />
            <Field
                id="case-priority"
                label="Priority"
                control=move |aria: FieldAria| {
                    let chosen = draft.priority;
                    view! {
                        <select id=aria.id name="input[priority]">
                            {Priority::ALL
                                .map(|p| {
                                    view! {
                                        <option value=p.code().to_string() selected=p == chosen>
                                            {p.to_string()}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                    }
                }
            />
            {move || {
                let draft = found.get();
                view! {
                    <AccountField draft=draft.clone() create />
                    <ContactField draft create />
                }
            }}
            <Show when=move || major>
                <ul class="account-summary" aria-label="Accounts affected">
                    {account_names.iter().map(|name| view! { <li>{name.clone()}</li> }).collect_view()}
                </ul>
            </Show>
            <Field
                id="case-work_notes"
                label="Work notes"
                error=field_error(create, "work_notes")
                wide=true
                control=|aria: FieldAria| {
                    view! {
                        <textarea
                            id=aria.id
                            name="input[work_notes]"
                            rows="4"
                            aria-invalid=aria.invalid
                            aria-describedby=aria.described_by
                        ></textarea>
                    }
                }
            />
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

/// Finds accounts by name for the Account list, when the snapshot names none. Without JavaScript it is a plain GET
/// of the alert page's case form with `account_search`; with it, the lists change in place and what the agent
/// typed in the case form stays.
#[component]
fn AccountSearch(alert: String, found: RwSignal<CaseDraft>) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let pending = RwSignal::new(false);
    let action = format!("/alerts/{alert}");
    let alert = StoredValue::new(alert);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let search = input.get().map(|input| input.value());
        pending.set(true);
        leptos::task::spawn_local(async move {
            if let Ok(fresh) = prefill_case(alert.get_value(), search).await {
                found.set(fresh);
            }
            pending.set(false);
        });
    };
    let value = found.with_untracked(|d| d.account_search.clone().unwrap_or_default());
    view! {
        <form method="get" action=action role="search" aria-label="Find an account" class="account-search" on:submit=submit>
            <input type="hidden" name="compose" value="case" />
            <label for="case-account-search">"Account name"</label>
            <input
                id="case-account-search"
                type="search"
                name="account_search"
                maxlength=ACCOUNT_SEARCH_MAX.to_string()
                value=value
                node_ref=input
            />
            <button type="submit" disabled=move || pending.get()>"Find"</button>
        </form>
    }
}

#[component]
fn AccountField(draft: CaseDraft, create: ServerAction<CreateCase>) -> impl IntoView {
    let hint = draft
        .accounts_hint
        .clone()
        .filter(|_| draft.affected_accounts.is_empty());
    let control = move |aria: FieldAria| match draft.affected_accounts.as_slice() {
        [] => Either::Left(view! {
            <select
                id=aria.id
                name="input[account]"
                aria-invalid=aria.invalid
                aria-describedby=aria.described_by
            >
                <option value="">"None"</option>
                {draft
                    .other_accounts
                    .iter()
                    .map(|a| view! { <option value=a.id.to_string()>{a.name.clone()}</option> })
                    .collect_view()}
            </select>
        }),
        [only] => Either::Right(view! { <input id=aria.id type="text" readonly value=only.name.clone() /> }),
        many => {
            let text = format!("{} accounts (major case)", many.len());
            Either::Right(view! { <input id=aria.id type="text" readonly value=text /> })
        }
    };
    view! { <Field id="case-account" label="Account" hint=hint error=field_error(create, "account") control /> }
}

#[component]
fn ContactField(draft: CaseDraft, create: ServerAction<CreateCase>) -> impl IntoView {
    let hint = draft.contacts_hint.clone();
    let control = move |aria: FieldAria| {
        if draft.affected_accounts.len() > 1 {
            Either::Left(view! {
                <input
                    id=aria.id
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
                    id=aria.id
                    name="input[contact]"
                    aria-invalid=aria.invalid
                    aria-describedby=aria.described_by
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
        }
    };
    view! { <Field id="case-contact" label="Contact" hint=hint error=field_error(create, "contact") control /> }
}
