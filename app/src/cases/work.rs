//! The working part of the case page, hydrated in the browser: the case's state and resolution notes, the forms
//! that change them, and the two journals (work notes, internal; additional comments, customer-visible).

use super::{case_work, AddCaseNote, AssignCase, CasePages, CaseUpdate, NewNote, UpdateCase};
use crate::{
    access::{Permission, Viewer},
    domain::CaseState,
    journal::{Journal, JournalPage, NoteKind},
    live::{follow, Feed},
    ui::{Field, FieldAria, Fields, ServerForm},
    AppError,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the island shows and refreshes after each change: one page of each journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseWorkView {
    pub number: String,
    pub state: CaseState,
    pub assigned_to: Option<String>,
    pub resolution_notes: Option<String>,
    /// Work notes and activity lines (internal).
    pub work_notes: JournalPage,
    /// Additional comments (customer-visible).
    pub comments: JournalPage,
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
/// says someone else changed the case: the journals' pages shown, never the whole journal nor the case's items.
/// `items_page` is the page of items the page shows, which the journals' pagers keep.
#[island]
pub fn CaseWork(work: CaseWorkView, rights: CaseRights, feed: Feed, items_page: u32) -> impl IntoView {
    let update = ServerAction::<UpdateCase>::new();
    let assign = ServerAction::<AssignCase>::new();
    let work_note = ServerAction::<AddCaseNote>::new();
    let comment = ServerAction::<AddCaseNote>::new();
    let number = StoredValue::new(work.number.clone());
    let work = RwSignal::new(work);
    let shown_pages = move || work.with_untracked(|w| (w.work_notes.page, w.comments.page));
    let reload_at = move |(notes, comments): (u32, u32)| async move {
        if let Ok(fresh) = case_work(number.get_value(), Some(notes), Some(comments)).await {
            work.set(fresh);
        }
    };
    let reload = move || reload_at(shown_pages());
    // After a change made here, the pages shown; after one's own note, the first page of its journal, where it is.
    Effect::new(move |_| {
        if update.version().get() + assign.version().get() == 0 {
            return; // hydration: the props are current
        }
        leptos::task::spawn_local(reload());
    });
    Effect::new(move |_| {
        if work_note.version().get() == 0 {
            return;
        }
        leptos::task::spawn_local(reload_at((1, shown_pages().1)));
    });
    Effect::new(move |_| {
        if comment.version().get() == 0 {
            return;
        }
        leptos::task::spawn_local(reload_at((shown_pages().0, 1)));
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
                let (notes, comments) = work.with(|w| (w.work_notes.clone(), w.comments.clone()));
                let shown = CasePages {
                    items: items_page,
                    notes: notes.page,
                    comments: comments.page,
                };
                view! {
                    <Journal title="Work notes" page=notes href=move |p| shown.link("notes_page", p) />
                    <Journal title="Additional comments" page=comments href=move |p| shown.link("comments_page", p) />
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
