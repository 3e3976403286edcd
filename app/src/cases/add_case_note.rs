//! `Post work note` and `Post comment` on the case page.

use super::NewNote;
use crate::AppError;
use leptos::prelude::*;

/// Adds a work note (internal) or an additional comment (customer-visible) to the case. Agents may add either to
/// any case; operators only work notes, and only to proactive cases.
#[server(endpoint = "add_case_note", output = crate::codec::Json)]
pub async fn add_case_note(input: NewNote) -> Result<(), AppError> {
    use crate::{auth::require_session, state::app_state};

    let viewer = require_session()?;
    let state = app_state()?;
    let result = state.store.add_case_note(&input, &viewer).await;
    crate::error::with_status(result)
}
