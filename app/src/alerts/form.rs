//! The alert form: the alert's fields, its Case and Incident, the actions, the case form when composing, the
//! Affected Install Base Items and the activity.

use super::{alert_journal, get_alert, AlertDetail};
use crate::{
    access::{viewer, Permission},
    cases::{prefill_case, CaseComposer, CaseDraft, CreateCase},
    incidents::CreateIncident,
    install_base::{
        affected_items, read_impact_map, refresh_install_base, AffectedItemsRegion, AffectedSnapshot, ImpactMapView,
        RefreshInstallBase,
    },
    journal::{Journal, JournalPage},
    live::{follow, Feed, RecordKind, Topic},
    ui::{pages_query, Fields, LoadError, ServerForm},
    AppError,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn AlertPage() -> impl IntoView {
    let params = use_params_map();
    let number = Memo::new(move |_| params.read().get("number").unwrap_or_default());
    let query = use_query_map();
    let rights = viewer().map(|v| AlertRights::of(&v)).unwrap_or_default();
    let may_create = rights.may_create_case;
    let composing = Memo::new(move |_| may_create && query.read().get("compose").as_deref() == Some("case"));
    let page_of = move |name: &str| query.read().get(name).and_then(|p| p.parse::<u32>().ok());
    let items_page = Memo::new(move |_| page_of("items_page"));
    let activity_page = Memo::new(move |_| page_of("activity_page"));
    let account_search = Memo::new(move |_| query.read().get("account_search"));
    // Everything the form starts with is loaded here, on the server, and handed to the island as props: the island
    // then hydrates at once, with no loading of its own before its controls are live.
    let page = Resource::new(
        move || {
            let pages = (items_page.get(), activity_page.get());
            (number.get(), composing.get(), pages, account_search.get())
        },
        |(number, composing, (items_page, activity_page), account_search)| async move {
            // Before the alert is read: whatever commits after the read reaches the open page.
            let feed = Feed::new(&[Topic::One(RecordKind::Alert, number.clone())]);
            let mut alert = get_alert(number.clone()).await?;
            let mut snapshot = affected_items(number.clone(), items_page).await?;
            if snapshot.stale && snapshot.refresh_on_open {
                // The CMDB changed since the snapshot and this server refreshes on open: trace again first.
                refresh_install_base(number.clone()).await?;
                snapshot = affected_items(number.clone(), items_page).await?;
                alert = get_alert(number.clone()).await?;
            }
            let journal = alert_journal(number.clone(), activity_page).await?;
            let map = read_impact_map(number.clone()).await?;
            let draft = match composing && alert.case_number.is_none() {
                true => Some(prefill_case(number, account_search).await?),
                false => None,
            };
            Ok::<_, AppError>((alert, snapshot, journal, draft, feed, map))
        },
    );
    view! {
        <Suspense fallback=|| view! { <p role="status">"Loading alert…"</p> }>
            {move || {
                let rights = rights.clone();
                Suspend::new(async move {
                match page.await {
                    Ok((alert, snapshot, journal, draft, feed, map)) => {
                        Either::Left(view! {
                            <Title text=alert.number.clone() />
                            <AlertForm alert snapshot journal draft rights feed />
                            <ImpactMapView map />
                        })
                    }
                    Err(error) => Either::Right(view! { <LoadError error /> }),
                }
            })
            }}
        </Suspense>
    }
}

/// What the signed-in user may do on the alert form, decided on the server from their role.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlertRights {
    pub may_refresh: bool,
    pub may_create_case: bool,
    pub may_create_incident: bool,
    /// Said on the form when an action is missing.
    pub why_not: Option<String>,
}

impl AlertRights {
    fn of(viewer: &crate::access::Viewer) -> Self {
        let may_refresh = viewer.may(Permission::RefreshInstallBase);
        let may_create_case = viewer.may(Permission::CreateCases);
        let why_not = (!may_refresh || !may_create_case).then(|| {
            format!(
                "Your role, {}, may view this alert but not {}.",
                viewer.role,
                match (may_refresh, may_create_case) {
                    (false, false) => "refresh its install base items or create a case",
                    (false, true) => "refresh its install base items",
                    _ => "create a case",
                }
            )
        });
        Self {
            may_refresh,
            may_create_case,
            may_create_incident: viewer.may(Permission::CreateIncidents),
            why_not,
        }
    }
}

/// The interactive part of the alert page, hydrated in the browser: its actions, the Case field, the case form,
/// the affected items and the activity follow the actions taken here and, through the page's live stream, every
/// change anyone else makes to the alert.
#[island]
fn AlertForm(
    alert: AlertDetail,
    snapshot: AffectedSnapshot,
    /// One page of the alert's activity (`?activity_page=`).
    journal: JournalPage,
    /// The prefilled case form, when the agent asked for it (`?compose=case`).
    draft: Option<CaseDraft>,
    rights: AlertRights,
    feed: Feed,
) -> impl IntoView {
    let refresh = ServerAction::<RefreshInstallBase>::new();
    let create = ServerAction::<CreateCase>::new();
    let incident = ServerAction::<CreateIncident>::new();
    let number = alert.number.clone();
    let alert = RwSignal::new(alert);
    let snapshot = RwSignal::new(snapshot);
    let journal = RwSignal::new(journal);
    let draft = RwSignal::new(draft);
    let versions = Signal::derive(move || refresh.version().get() + create.version().get() + incident.version().get());
    reload_after_changes(
        number.clone(),
        &feed,
        versions,
        Reloaded {
            alert,
            snapshot,
            journal,
            draft,
        },
    );

    // The Case field follows the submit at once: the new case's number, or the existing one a conflict names; or
    // the case the Create Proactive Case rule opened along with an incident; or the case someone else made.
    let case_number = Signal::derive(move || match (create.value().get(), incident.value().get()) {
        (Some(Ok(created)), _) => Some(created.number),
        (Some(Err(AppError::Conflict { existing, .. })), _) => Some(existing),
        (_, Some(Ok(created))) if created.case.is_some() => created.case,
        _ => alert.with(|a| a.case_number.clone()),
    });
    let incident_number = Signal::derive(move || match incident.value().get() {
        Some(Ok(created)) => Some(created.number),
        Some(Err(AppError::Conflict { existing, .. })) => Some(existing),
        _ => alert.with(|a| a.incident_number.clone()),
    });
    let self_href = format!("/alerts/{number}");
    let compose_href = format!("{self_href}?compose=case");
    // Copy handles to the texts the conditional actions render, since they may render more than once.
    let (heading, hidden_number) = (number.clone(), StoredValue::new(number));
    let (self_href, compose_href) = (StoredValue::new(self_href), StoredValue::new(compose_href));
    let ci_text = move || {
        alert.with(|alert| match (&alert.ci, &alert.ci_class) {
            (Some(name), Some(class)) => format!("{name} ({class})"),
            (Some(name), None) => name.clone(),
            _ => "None: no configuration item matched the node".to_owned(),
        })
    };
    let text = move |field: fn(&AlertDetail) -> String| Signal::derive(move || alert.with(field));

    view! {
        <article class="record">
            <header class="record-header">
                <p class="breadcrumb">
                    <a href="/alerts">"All Alerts"</a>
                    " / Alert"
                </p>
                <h1>{heading}</h1>
                {rights.why_not.map(|why| view! { <p class="muted" id="alert-rights">{why}</p> })}
                <div class="actions">
                    <Show when=move || rights.may_refresh>
                    <ServerForm action=refresh read=|f: &Fields| RefreshInstallBase { alert: f.text("alert") } class="inline">
                        <input type="hidden" name="alert" value=hidden_number.get_value() />
                        <button
                            type="submit"
                            class="primary"
                            aria-describedby="alert-stale affected-status"
                            disabled=move || refresh.pending().get()
                        >
                            "Refresh Install Base Items"
                        </button>
                    </ServerForm>
                    </Show>
                    // Once the alert has its case, the Case field's link takes the place of Create Case.
                    <Show when=move || rights.may_create_case && case_number.get().is_none()>
                    // A plain GET form: it opens the case form with or without JavaScript.
                    <form method="get" action=self_href.get_value() class="inline">
                        <input type="hidden" name="compose" value="case" />
                        <button type="submit">"Create Case"</button>
                    </form>
                    <MoreActions compose_href=compose_href.get_value() />
                    </Show>
                    <Show when=move || rights.may_create_incident && incident_number.get().is_none()>
                    <ServerForm action=incident read=|f: &Fields| CreateIncident { alert: f.text("alert") } class="inline">
                        <input type="hidden" name="alert" value=hidden_number.get_value() />
                        <button type="submit" disabled=move || incident.pending().get()>
                            "Create Incident"
                        </button>
                    </ServerForm>
                    </Show>
                </div>
            </header>
            <p id="alert-stale" class="notice" hidden=move || !snapshot.with(|s| s.stale)>
                {move || {
                    snapshot.with(|s| {
                        s.stale.then(|| {
                            format!(
                                "The CMDB changed after this snapshot was taken (CMDB updated {} UTC): use Refresh \
                                 Install Base Items to trace the affected items again.",
                                s.cmdb_changed_at.clone().unwrap_or_default()
                            )
                        })
                    })
                }}
            </p>
            <CaseOutcome create />
            <IncidentOutcome incident />
            <div class="fields">
                <Field id="alert-number" label="Number" value=text(|a| a.number.clone()) />
                <Field id="alert-severity" label="Severity" value=text(|a| a.severity.to_string()) />
                <Field id="alert-state" label="State" value=text(|a| a.state.as_str().to_owned()) />
                <Field id="alert-source" label="Source" value=text(|a| a.source.clone()) />
                <Field id="alert-node" label="Node" value=text(|a| a.node.clone()) />
                <Field id="alert-ci" label="Configuration item" value=Signal::derive(ci_text) />
                <Field id="alert-type" label="Type" value=text(|a| a.kind.clone()) />
                <Field id="alert-resource" label="Resource" value=text(|a| a.resource.clone()) />
                <Field id="alert-events" label="Event count" value=text(|a| a.event_count.to_string()) />
                <Field id="alert-last-event" label="Last event (UTC)" value=text(|a| a.last_event_at.clone()) />
                <div class="field">
                    <label id="alert-case-label" for="alert-case">
                        "Case"
                    </label>
                    <output id="alert-case" aria-labelledby="alert-case-label">
                        {move || {
                            case_number
                                .get()
                                .map(|n| view! { <a href=format!("/cases/{n}")>{n.clone()}</a> })
                        }}
                    </output>
                </div>
                <div class="field">
                    <label id="alert-incident-label" for="alert-incident">
                        "Incident"
                    </label>
                    <output id="alert-incident" aria-labelledby="alert-incident-label">
                        {move || incident_number.get()}
                    </output>
                </div>
                <div class="field wide">
                    <label for="alert-description">"Description"</label>
                    <textarea id="alert-description" readonly rows="2" prop:value=text(|a| a.description.clone())>
                        {alert.get_untracked().description}
                    </textarea>
                </div>
            </div>
            {move || {
                draft
                    .get()
                    .filter(|_| case_number.get().is_none())
                    .map(|draft| view! { <CaseComposer draft create /> })
            }}
            <AffectedItemsRegion refresh snapshot />
            {move || {
                // Paging the activity keeps the page of affected items shown.
                let items_page = snapshot.with(|s| s.page);
                view! {
                    <Journal
                        title="Activity"
                        page=journal.get()
                        href=move |p| pages_query("activity_page", p, &[("items_page", items_page)])
                    />
                }
            }}
        </article>
    }
}

/// What the alert form shows that a change can make stale.
#[derive(Clone, Copy)]
struct Reloaded {
    alert: RwSignal<AlertDetail>,
    snapshot: RwSignal<AffectedSnapshot>,
    journal: RwSignal<JournalPage>,
    draft: RwSignal<Option<CaseDraft>>,
}

/// Reloads the alert, its snapshot (and the case form's prefill), and its activity once an action here is done and
/// whenever the page's stream says the alert changed (or that the page may have missed a change): the pages shown,
/// never the whole journal (an alert that reopens often has thousands of activity lines).
fn reload_after_changes(number: String, feed: &Feed, versions: Signal<usize>, shown: Reloaded) {
    let number = StoredValue::new(number);
    let reload = move || async move {
        let number = number.get_value();
        if let Ok(fresh) = get_alert(number.clone()).await {
            shown.alert.set(fresh);
        }
        let items_page = shown.snapshot.with_untracked(|s| s.page);
        if let Ok(fresh) = affected_items(number.clone(), Some(items_page)).await {
            shown.snapshot.set(fresh);
        }
        if let Some(search) = shown
            .draft
            .with_untracked(|d| d.as_ref().map(|d| d.account_search.clone()))
        {
            if let Ok(fresh) = prefill_case(number.clone(), search).await {
                shown.draft.set(Some(fresh));
            }
        }
        let activity_page = shown.journal.with_untracked(|j| j.page);
        if let Ok(fresh) = alert_journal(number, Some(activity_page)).await {
            shown.journal.set(fresh);
        }
    };
    Effect::new(move |_| {
        if versions.get() == 0 {
            return; // the first run, at hydration: the props are current
        }
        leptos::task::spawn_local(reload());
    });
    let feed = feed.clone();
    Effect::new(move |_| follow(&feed, |_| true, reload));
}

/// A read-only alert field, labelled so `getByLabel` finds it.
#[component]
fn Field(id: &'static str, label: &'static str, value: Signal<String>) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id type="text" readonly value=value />
        </div>
    }
}

/// The answer to Submit: a status for a created case, an alert for a refusal that is not about one field.
#[component]
fn CaseOutcome(create: ServerAction<CreateCase>) -> impl IntoView {
    let created = move || match create.value().get() {
        Some(Ok(created)) if created.children.is_empty() => {
            format!("Case {} created", created.number)
        }
        Some(Ok(created)) => {
            format!(
                "Case {} created, with child cases {}",
                created.number,
                created.children.join(", ")
            )
        }
        _ => String::new(),
    };
    let refused = move || match create.value().get() {
        // Field errors are shown beside their field.
        Some(Err(AppError::Invalid { .. })) => None,
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };
    view! { <Outcome status=Signal::derive(created) refused=Signal::derive(refused) /> }
}

/// The answer to Create Incident: its number, and the case the rule opened, if it did.
#[component]
fn IncidentOutcome(incident: ServerAction<CreateIncident>) -> impl IntoView {
    let created = move || match incident.value().get() {
        Some(Ok(created)) => match created.case {
            Some(case) => format!(
                "Incident {} created. The Create Proactive Case rule opened case {case}.",
                created.number
            ),
            None => format!("Incident {} created", created.number),
        },
        _ => String::new(),
    };
    let refused = move || match incident.value().get() {
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };
    view! { <Outcome status=Signal::derive(created) refused=Signal::derive(refused) /> }
}

/// An action's answer: a status when it succeeded, an alert when it was refused.
#[component]
fn Outcome(status: Signal<String>, refused: Signal<Option<String>>) -> impl IntoView {
    view! {
        <div class="outcome">
            <p role="status" class="status-message">
                {status}
            </p>
            <p role="alert" class="error">
                {refused}
            </p>
        </div>
    }
}

/// The `More actions` menu: the same actions, for agents who look for them there.
#[component]
fn MoreActions(compose_href: String) -> impl IntoView {
    let open = RwSignal::new(false);
    let first_item = NodeRef::<leptos::html::A>::new();
    Effect::new(move |_| {
        if open.get() {
            if let Some(item) = first_item.get() {
                let _ = item.focus();
            }
        }
    });
    view! {
        <div
            class="menu"
            on:keydown=move |event| {
                if event.key() == "Escape" {
                    open.set(false);
                }
            }
        >
            <button
                type="button"
                aria-haspopup="menu"
                aria-controls="more-actions-menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                "More actions"
            </button>
            <ul id="more-actions-menu" role="menu" aria-label="More actions" hidden=move || !open.get()>
                <li role="none">
                    <a role="menuitem" href=compose_href node_ref=first_item on:click=move |_| open.set(false)>
                        "Create Case"
                    </a>
                </li>
            </ul>
        </div>
    }
}
