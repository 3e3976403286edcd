//! Reactive cases: a case a customer raised (by phone, email or the web), recorded by an agent for the customer's
//! account, optionally related to an alert's proactive case, the outage the customer is calling about. The proactive
//! case's Customer impact shows each account's reactive cases; the dashboard compares their opening with the first
//! notice the account got.
//!
//! The form (`/cases/new`) is a plain HTML form answered with a redirect (`POST /reactive-cases`): it works without
//! JavaScript and costs the wasm nothing. A refused post comes back to the form with what was typed and the field at
//! fault (kept in the session, as the notices' forms do).

use super::{ContactChoice, ACCOUNT_SEARCH_MAX, SHORT_DESCRIPTION_MAX};
use crate::{
    domain::{Channel, Priority},
    ui::{grouped, Field, LoadError},
    AppError,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// Where the form is, and where it posts.
pub const FORM_PATH: &str = "/cases/new";
pub const POST_PATH: &str = "/reactive-cases";
/// At most this many accounts and proactive cases the form offers; a search finds the other accounts.
pub const CHOICES_MAX: u32 = 50;

/// A reactive case as the agent submits it: the form's fields, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReactiveCase {
    /// The account's id.
    pub account: String,
    /// A contact's id, or empty for none.
    pub contact: String,
    /// `phone`, `email` or `web`.
    pub channel: String,
    pub short_description: String,
    /// A priority's code, 1 to 4.
    pub priority: String,
    /// A proactive case's number, or empty for none.
    pub related: String,
}

impl NewReactiveCase {
    /// The fields by name, as the form posts them.
    pub fn from_fields(field: impl Fn(&str) -> String) -> Self {
        Self {
            account: field("account"),
            contact: field("contact"),
            channel: field("channel"),
            short_description: field("short_description"),
            priority: field("priority"),
            related: field("related"),
        }
    }

    /// The fields by name, for the form to show again.
    pub fn fields(&self) -> Vec<(String, String)> {
        [
            ("account", &self.account),
            ("contact", &self.contact),
            ("channel", &self.channel),
            ("short_description", &self.short_description),
            ("priority", &self.priority),
            ("related", &self.related),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.clone()))
        .collect()
    }
}

/// A proactive case the reactive case can be related to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedChoice {
    pub number: String,
    pub short_description: String,
    pub alert: Option<String>,
}

/// An account the form offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactiveAccount {
    pub id: i64,
    pub name: String,
    /// Covered by the related case the form was opened for: offered first.
    pub affected: bool,
}

/// What the form offers, and what it shows filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactiveCaseChoices {
    pub accounts: Vec<ReactiveAccount>,
    /// How many accounts the search matches (all of them without one); more than `accounts` holds when cut.
    pub accounts_total: u64,
    pub account_search: Option<String>,
    /// The contacts of the accounts offered.
    pub contacts: Vec<ContactChoice>,
    /// Open top-level proactive cases, newest first (and the one asked for, whatever its state).
    pub related_cases: Vec<RelatedChoice>,
    /// The fields as typed (a refused post) or as the link that opened the form set them.
    pub typed: NewReactiveCase,
    /// The last post's refusal, and the field it is about.
    pub error: Option<(Option<String>, String)>,
}

/// A reactive case recorded: its number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactiveCaseRecorded {
    pub number: String,
}

/// The form's choices: accounts named like `account_search` (the related case's accounts first), their contacts,
/// the open proactive cases; filled in with `account` and `related` when a link (Customer impact's) names them.
#[server(endpoint = "reactive_case_form", output = crate::codec::Json)]
pub async fn reactive_case_form(
    account_search: Option<String>,
    related: Option<String>,
    account: Option<String>,
) -> Result<ReactiveCaseChoices, AppError> {
    crate::access::require(crate::access::Permission::RecordReactiveCases)?;
    let store = crate::store::Store::from_context()?;
    let refused = crate::notices::server::flash::take(FORM_PATH).await;
    let typed = match &refused {
        Some(flash) => NewReactiveCase::from_fields(|name| {
            flash
                .typed
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        }),
        None => NewReactiveCase {
            account: account.unwrap_or_default(),
            related: related.unwrap_or_default(),
            priority: Priority::Moderate.code().to_string(),
            ..NewReactiveCase::default()
        },
    };
    let mut form = crate::error::with_status(store.reactive_case_form(account_search.as_deref(), typed).await)?;
    form.error = refused.and_then(|flash| flash.error.map(|message| (flash.field, message)));
    Ok(form)
}

/// `/cases/new`: Record a reactive case.
#[component]
pub fn ReactiveCasePage() -> impl IntoView {
    let query = use_query_map();
    let form = Resource::new(
        move || {
            let query = query.read();
            (query.get("account_search"), query.get("related"), query.get("account"))
        },
        |(search, related, account)| reactive_case_form(search, related, account),
    );
    view! {
        <Title text="Record a reactive case" />
        <h1 id="reactive-case-heading">"Record a reactive case"</h1>
        <p class="muted">
            "A case the customer raised: by phone, by email or on the web. Relate it to the alert's proactive case when the customer is calling about that outage."
        </p>
        <Suspense fallback=|| view! { <p role="status">"Loading the form…"</p> }>
            {move || Suspend::new(async move {
                match form.await {
                    Ok(form) => Either::Left(view! { <ReactiveCaseFormView form /> }),
                    Err(error) => Either::Right(view! { <LoadError error /> }),
                }
            })}
        </Suspense>
    }
}

/// The error the last post had about `field`, as the field shows it.
fn error_of(form: &ReactiveCaseChoices, field: &str) -> Signal<Option<String>> {
    let message = form
        .error
        .as_ref()
        .filter(|(f, _)| f.as_deref() == Some(field))
        .map(|(_, message)| message.clone());
    Signal::stored(message)
}

#[component]
fn ReactiveCaseFormView(form: ReactiveCaseChoices) -> impl IntoView {
    let typed = form.typed.clone();
    let general_error = form
        .error
        .as_ref()
        .filter(|(field, _)| field.is_none())
        .map(|(_, message)| message.clone());
    let account_count = match (form.accounts_total, form.accounts.len() as u64) {
        (total, shown) if total > shown => format!(
            "Showing {shown} of {} accounts: search to find another.",
            grouped(total)
        ),
        (0, _) => "No account matches the search.".to_owned(),
        (total, _) => format!("{} accounts.", grouped(total)),
    };
    let account_options = form
        .accounts
        .iter()
        .map(|account| {
            let value = account.id.to_string();
            let selected = typed.account == value;
            let label = if account.affected {
                format!("{} (affected)", account.name)
            } else {
                account.name.clone()
            };
            view! { <option value=value selected=selected>{label}</option> }
        })
        .collect_view();
    let contact_groups = form
        .accounts
        .iter()
        .filter_map(|account| {
            let options: Vec<_> = form
                .contacts
                .iter()
                .filter(|c| c.account_id == account.id)
                .map(|contact| {
                    let value = contact.id.to_string();
                    let selected = typed.contact == value;
                    view! { <option value=value selected=selected>{contact.name.clone()}</option> }
                })
                .collect();
            (!options.is_empty()).then(|| view! { <optgroup label=account.name.clone()>{options}</optgroup> })
        })
        .collect_view();
    let channels = Channel::ALL
        .into_iter()
        .map(|channel| {
            let id = format!("channel-{}", channel.as_str());
            let checked = typed.channel.eq_ignore_ascii_case(channel.as_str());
            view! {
                <label for=id class="choice">
                    <input
                        type="radio"
                        id=id.clone()
                        name="channel"
                        value=channel.as_str()
                        checked=checked
                        aria-describedby="channel-error"
                    />
                    {channel.label()}
                </label>
            }
        })
        .collect_view();
    let priorities = Priority::ALL
        .into_iter()
        .map(|priority| {
            let value = priority.code().to_string();
            let selected = typed.priority == value;
            view! { <option value=value selected=selected>{priority.to_string()}</option> }
        })
        .collect_view();
    let related_options = form
        .related_cases
        .iter()
        .map(|case| {
            let selected = typed.related.eq_ignore_ascii_case(&case.number);
            let label = match &case.alert {
                Some(alert) => format!("{} ({alert}): {}", case.number, case.short_description),
                None => format!("{}: {}", case.number, case.short_description),
            };
            view! { <option value=case.number.clone() selected=selected>{label}</option> }
        })
        .collect_view();
    let channel_error = error_of(&form, "channel");
    let short_description = typed.short_description.clone();
    view! {
        <form method="get" action="/cases/new" class="filters" aria-label="Find an account">
            <input type="hidden" name="related" value=typed.related.clone() />
            <label>
                "Account name"
                <input
                    type="search"
                    name="account_search"
                    maxlength=ACCOUNT_SEARCH_MAX.to_string()
                    value=form.account_search.clone().unwrap_or_default()
                />
            </label>
            <button type="submit">"Find accounts"</button>
        </form>
        <p class="muted" id="account-count">{account_count}</p>
        <form method="post" action=POST_PATH class="case-form" aria-labelledby="reactive-case-heading" novalidate>
            <p class="error" role="alert">{general_error}</p>
            <div class="form">
            <Field
                id="account"
                label="Account"
                hint="The customer who raised it."
                error=error_of(&form, "account")
                control=|aria| view! {
                    <select id=aria.id name="account" required aria-invalid=aria.invalid aria-describedby=aria.described_by>
                        <option value="">"Choose the account"</option>
                        {account_options}
                    </select>
                }
            />
            <Field
                id="contact"
                label="Contact"
                hint="Who raised it, if they are a contact of the account."
                error=error_of(&form, "contact")
                control=|aria| view! {
                    <select id=aria.id name="contact" aria-invalid=aria.invalid aria-describedby=aria.described_by>
                        <option value="">"None"</option>
                        {contact_groups}
                    </select>
                }
            />
            <fieldset class="field">
                <legend>"Channel"</legend>
                <div class="choices">{channels}</div>
                <p id="channel-error" class="field-error" role="alert">{move || channel_error.get()}</p>
            </fieldset>
            <Field
                id="short_description"
                label="Short description"
                error=error_of(&form, "short_description")
                wide=true
                control=move |aria| view! {
                    <input
                        id=aria.id
                        name="short_description"
                        type="text"
                        required
                        maxlength=SHORT_DESCRIPTION_MAX.to_string()
                        value=short_description
                        aria-invalid=aria.invalid
                        aria-describedby=aria.described_by
                    />
                }
            />
            <Field
                id="priority"
                label="Priority"
                error=error_of(&form, "priority")
                control=|aria| view! {
                    <select id=aria.id name="priority" aria-invalid=aria.invalid aria-describedby=aria.described_by>
                        {priorities}
                    </select>
                }
            />
            <Field
                id="related"
                label="Related proactive case"
                hint="The alert's proactive case the customer is calling about, if any."
                error=error_of(&form, "related")
                wide=true
                control=|aria| view! {
                    <select id=aria.id name="related" aria-invalid=aria.invalid aria-describedby=aria.described_by>
                        <option value="">"None"</option>
                        {related_options}
                    </select>
                }
            />
            <p class="form-actions">
                <button type="submit" class="primary">"Record case"</button>
                <a href="/cases">"Cancel"</a>
            </p>
            </div>
        </form>
    }
}
