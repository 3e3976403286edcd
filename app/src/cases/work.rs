//! The working part of the case page, hydrated in the browser: the case's state and resolution notes, the forms
//! that change them, and the two journals (work notes, internal; additional comments, customer-visible).

use super::{get_case, AddCaseNote, AssignCase, CaseDetail, CaseUpdate, NewNote, UpdateCase};
use crate::{
    access::{Permission, Viewer},
    domain::CaseState,
    journal::{Journal, JournalEntry, JournalKind, NoteKind},
    live::{follow, Feed},
    ui::{Field, FieldAria, Fields, ServerForm},
    AppError,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the island shows and refreshes after each change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseWorkView {
    pub number: String,
    pub state: CaseState,
    pub assigned_to: Option<String>,
    pub resolution_notes: Option<String>,
    pub journal: Vec<JournalEntry>,
}

impl From<CaseDetail> for CaseWorkView {
    fn from(detail: CaseDetail) -> Self {
        Self {
            number: detail.case.number,
            state: detail.case.state,
            assigned_to: detail.case.assigned_to,
            resolution_notes: detail.resolution_notes,
            journal: detail.journal,
        }
    }
}

/// What the signed-in user may do to this case, decided on the server from their role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRights {
    pub may_update: bool,
    pub may_work_note: bool,
    pub may_comment: bool,
    /// The signed-in user's name: `Assign to me` is offered unless the case is theirs already.
    pub me: String,
    /// Said on the page when some of the forms are missing.
    pub why_not: Option<String>,
}

impl CaseRights {
    pub fn of(viewer: &Viewer, proactive: bool) -> Self {
        let may_update = viewer.may(Permission::WorkCases);
        let may_work_note = viewer.may_note(NoteKind::WorkNote, proactive);
        let why_not = match (may_update, may_work_note) {
            (true, _) => None,
            (false, true) => Some(format!(
                "Your role, {}, may add work notes to this proactive case but not otherwise change it.",
                viewer.role
            )),
            (false, false) => Some(viewer.why_not(Permission::WorkCases)),
        };
        Self {
            may_update,
            may_work_note,
            may_comment: viewer.may_note(NoteKind::Comment, proactive),
            me: viewer.name.clone(),
            why_not,
        }
    }
}

/// The message of the last outcome's error if it is about `field`.
fn field_error<T>(
    outcome: impl Fn() -> Option<Result<T, AppError>> + Copy + Send + Sync + 'static,
    field: &'static str,
) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
    move || match outcome() {
        Some(Err(error)) => error.message_for(field),
        _ => None,
    }
}

/// The case's state, notes and journals, reloaded after each change made here and whenever the page's live stream
/// says someone else changed the case.
#[island]
pub fn CaseWork(work: CaseWorkView, rights: CaseRights, feed: Feed) -> impl IntoView {
    let update = ServerAction::<UpdateCase>::new();
    let assign = ServerAction::<AssignCase>::new();
    let work_note = ServerAction::<AddCaseNote>::new();
    let comment = ServerAction::<AddCaseNote>::new();
    let number = StoredValue::new(work.number.clone());
    let work = RwSignal::new(work);
    let reload = move || async move {
        if let Ok(fresh) = get_case(number.get_value()).await {
            work.set(fresh.into());
        }
    };
    Effect::new(move |_| {
        let changes =
            update.version().get() + assign.version().get() + work_note.version().get() + comment.version().get();
        if changes == 0 {
            return; // hydration: the props are current
        }
        leptos::task::spawn_local(reload());
    });
    Effect::new(move |_| follow(&feed, |_| true, reload));

    let state = move || work.with(|w| w.state);
    let read_only = move || state().is_read_only();
    let hidden_number = move || work.with(|w| w.number.clone());
    let refused = move || {
        [
            update.value().get().and_then(Result::err),
            assign.value().get().and_then(Result::err),
            work_note.value().get().and_then(Result::err),
            comment.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .find(|error| !matches!(error, AppError::Invalid { .. }))
        .map(|error| error.to_string())
    };
    let state_error = field_error(move || update.value().get(), "state");
    let notes_error = field_error(move || update.value().get(), "resolution_notes");
    let CaseRights {
        may_update,
        may_work_note,
        may_comment,
        me,
        why_not,
    } = rights;
    let me = StoredValue::new(me);
    let assigned_to = move || work.with(|w| w.assigned_to.clone());
    let mine = move || assigned_to().is_some_and(|to| me.with_value(|me| *me == to));

    view! {
        <section class="case-work" aria-labelledby="case-work-heading">
            <h2 id="case-work-heading">"Work"</h2>
            <dl class="fields">
                <div class="field">
                    <dt>"State"</dt>
                    <dd id="case-state">{move || state().as_str()}</dd>
                </div>
                <div class="field">
                    <dt>"Assigned to"</dt>
                    <dd id="case-assigned-to">{move || assigned_to().unwrap_or_else(|| "Unassigned".into())}</dd>
                </div>
                <div class="field wide">
                    <dt>"Resolution notes"</dt>
                    <dd class="journal-body">{move || work.with(|w| w.resolution_notes.clone())}</dd>
                </div>
            </dl>
            {why_not.map(|why| view! { <p class="muted" id="case-rights">{why}</p> })}
            <p role="status" class="status-message">
                {move || match update.value().get() {
                    Some(Ok(state)) => format!("Case updated: {}.", state.as_str()),
                    _ => String::new(),
                }}
                {move || match assign.value().get() {
                    Some(Ok(to)) => format!("Case assigned to {to}."),
                    _ => String::new(),
                }}
                {move || match (work_note.value().get(), comment.value().get()) {
                    (Some(Ok(())), _) => "Work note posted.",
                    (_, Some(Ok(()))) => "Comment posted.",
                    _ => "",
                }}
            </p>
            <p role="alert" class="error">
                {refused}
            </p>
            <Show when=read_only>
                <p class="muted">{move || format!("This case is {}: it is read-only.", state().as_str())}</p>
            </Show>
            <Show when=move || may_update && !read_only() && !mine()>
                <ServerForm
                    action=assign
                    read=|fields: &Fields| AssignCase { number: fields.text("number") }
                    class="case-assign"
                >
                    <input type="hidden" name="number" value=hidden_number />
                    <button type="submit" disabled=move || assign.pending().get()>"Assign to me"</button>
                </ServerForm>
            </Show>
            <Show when=move || may_update && !read_only()>
                <ServerForm action=update read=read_update class="case-update">
                    <input type="hidden" name="input[number]" value=hidden_number />
                    <Field
                        id="case-next-state"
                        label="Move to state"
                        error=Signal::derive(state_error)
                        control=move |aria: FieldAria| {
                            view! {
                                <select
                                    id=aria.id
                                    name="input[state]"
                                    aria-invalid=aria.invalid
                                    aria-describedby=aria.described_by
                                >
                                    {move || {
                                        state()
                                            .next_states()
                                            .iter()
                                            .map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> })
                                            .collect_view()
                                    }}
                                </select>
                            }
                        }
                    />
                    <Field
                        id="case-resolution-notes"
                        label="Resolution notes"
                        hint="Needed to resolve or close the case."
                        error=Signal::derive(notes_error)
                        wide=true
                        control=|aria: FieldAria| {
                            view! {
                                <textarea
                                    id=aria.id
                                    name="input[resolution_notes]"
                                    rows="3"
                                    maxlength="4000"
                                    aria-invalid=aria.invalid
                                    aria-describedby=aria.described_by
                                ></textarea>
                            }
                        }
                    />
                    <button type="submit" class="primary" disabled=move || update.pending().get()>
                        "Update case"
                    </button>
                </ServerForm>
            </Show>
            <Show when=move || may_work_note && !read_only()>
                <NoteForm
                    action=work_note
                    number=Signal::derive(hidden_number)
                    kind=NoteKind::WorkNote
                    id="case-work-note"
                    label="Work notes"
                    hint="Internal: customers do not see work notes."
                    field="work_notes"
                    button="Post work note"
                />
            </Show>
            <Show when=move || may_comment && !read_only()>
                <NoteForm
                    action=comment
                    number=Signal::derive(hidden_number)
                    kind=NoteKind::Comment
                    id="case-comment"
                    label="Additional comments"
                    hint="Customer-visible."
                    field="comments"
                    button="Post comment"
                />
            </Show>
            {move || {
                let (comments, notes): (Vec<_>, Vec<_>) = work
                    .with(|w| w.journal.clone())
                    .into_iter()
                    .partition(|entry| entry.kind == JournalKind::Comment);
                view! {
                    <Journal title="Work notes" entries=notes />
                    <Journal title="Additional comments" entries=comments />
                }
            }}
        </section>
    }
}

/// The state form's fields, as Update case sends them.
fn read_update(fields: &Fields) -> UpdateCase {
    UpdateCase {
        input: CaseUpdate {
            number: fields.text("input[number]"),
            state: fields.text("input[state]"),
            resolution_notes: fields.text("input[resolution_notes]"),
        },
    }
}

/// A work note or comment form: one textarea, its hint and error, and its button. The text clears once posted.
#[component]
#[allow(clippy::too_many_arguments)] // the texts of one form
fn NoteForm(
    action: ServerAction<AddCaseNote>,
    number: Signal<String>,
    kind: NoteKind,
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    field: &'static str,
    button: &'static str,
) -> impl IntoView {
    let text = RwSignal::new(String::new());
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            text.set(String::new());
        }
    });
    let error = field_error(move || action.value().get(), field);
    let kind_name = match kind {
        NoteKind::WorkNote => "WorkNote",
        NoteKind::Comment => "Comment",
    };
    view! {
        <ServerForm
            action
            read=move |fields: &Fields| AddCaseNote {
                input: NewNote {
                    number: fields.text("input[number]"),
                    kind,
                    text: fields.text("input[text]"),
                },
            }
            class="case-note"
        >
            <input type="hidden" name="input[number]" value=number />
            <input type="hidden" name="input[kind]" value=kind_name />
            <Field
                id
                label
                hint
                error=Signal::derive(error)
                wide=true
                control=move |aria: FieldAria| {
                    view! {
                        <textarea
                            id=aria.id
                            name="input[text]"
                            rows="3"
                            maxlength="4000"
                            prop:value=move || text.get()
                            on:input=move |event| text.set(event_target_value(&event))
                            aria-invalid=aria.invalid
                            aria-describedby=aria.described_by
                        ></textarea>
                    }
                }
            />
            <button type="submit" disabled=move || action.pending().get()>{button}</button>
        </ServerForm>
    }
}
