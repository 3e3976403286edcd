//! The Alert Rules page: one form per rule, which works with or without JavaScript.

use super::{list_rules, AlertRule, RuleChange, UpdateRule};
use crate::{
    domain::Severity,
    ui::{Fields, LoadError, ServerForm},
    AppError,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;

#[component]
pub fn AlertRulesPage() -> impl IntoView {
    let rules = Resource::new(|| (), |()| list_rules());
    view! {
        <Title text="Alert Rules" />
        <h1>"Alert Rules"</h1>
        <p class="muted">
            "Active rules run when an incident is created from an alert. What they do is noted in the alert's \
             activity and in the journal of any case they open."
        </p>
        <Suspense fallback=|| view! { <p role="status">"Loading the alert rules…"</p> }>
            {move || Suspend::new(async move {
                match rules.await {
                    Ok(rules) => Either::Left(
                        rules.into_iter().map(|rule| view! { <RuleEditor rule /> }).collect_view(),
                    ),
                    Err(error) => Either::Right(view! { <LoadError error /> }),
                }
            })}
        </Suspense>
    }
}

/// One rule: whether it is active and the least severe alert it acts on, saved together.
#[island]
fn RuleEditor(rule: AlertRule) -> impl IntoView {
    let update = ServerAction::<UpdateRule>::new();
    let saved = RwSignal::new(rule);
    Effect::new(move |_| {
        if let Some(Ok(rule)) = update.value().get() {
            saved.set(rule);
        }
    });
    let id = saved.with_untracked(|r| r.id);
    let notice_id = format!("rule-{id}-notice");
    let (heading, active_id, severity_id, error_id) = (
        format!("rule-{id}-name"),
        format!("rule-{id}-active"),
        format!("rule-{id}-severity"),
        format!("rule-{id}-error"),
    );
    let status = move || match update.value().get() {
        Some(Ok(rule)) => format!(
            "Rule {} saved: {}.",
            rule.name,
            if rule.active { "active" } else { "inactive" }
        ),
        _ => String::new(),
    };
    let error = move || match update.value().get() {
        Some(Err(error)) => Some(match error {
            AppError::Invalid { message, .. } => message,
            other => other.to_string(),
        }),
        _ => None,
    };
    let rule = saved.get_untracked();
    let (labelled_by, described_by) = (heading.clone(), error_id.clone());
    view! {
        <section class="rule" aria-labelledby=labelled_by>
            <h2 id=heading>{rule.name.clone()}</h2>
            <p>{rule.action.clone()}</p>
            <ServerForm
                action=update
                read=|fields: &Fields| UpdateRule {
                    input: RuleChange {
                        id: fields.text("input[id]"),
                        active: fields.optional("input[active]"),
                        min_severity: fields.text("input[min_severity]"),
                        send_initial_notice: fields.optional("input[send_initial_notice]"),
                    },
                }
                class="rule-form"
            >
                <input type="hidden" name="input[id]" value=id.to_string() />
                <div class="field checkbox">
                    <input
                        id=active_id.clone()
                        type="checkbox"
                        name="input[active]"
                        value="on"
                        checked=rule.active
                    />
                    <label for=active_id>"Active"</label>
                </div>
                <div class="field checkbox">
                    <input
                        id=notice_id.clone()
                        type="checkbox"
                        name="input[send_initial_notice]"
                        value="on"
                        checked=rule.send_initial_notice
                    />
                    <label for=notice_id>"Send the initial notice after the hold-down time"</label>
                </div>
                <div class="field">
                    <label for=severity_id.clone()>"Minimum severity"</label>
                    <select id=severity_id name="input[min_severity]" aria-describedby=described_by>
                        {Severity::ALL
                            .into_iter()
                            .filter(|s| *s != Severity::Clear)
                            .map(|s| {
                                view! {
                                    <option value=s.code().to_string() selected=s == rule.min_severity>
                                        {format!("{s} or more severe")}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <button type="submit" class="primary" disabled=move || update.pending().get()>
                    "Save"
                </button>
            </ServerForm>
            <p role="status" class="status-message">{status}</p>
            <p role="alert" class="error" id=error_id>{error}</p>
            <p class="muted">
                {move || {
                    saved.with(|r| match (&r.updated_by, &r.updated_at) {
                        (Some(by), Some(at)) => format!("Last changed by {by} at {at} UTC."),
                        _ => "Never changed.".to_owned(),
                    })
                }}
            </p>
        </section>
    }
}
