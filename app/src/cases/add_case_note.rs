//! `Post work note` and `Post comment` on the case page.

use super::NewNote;
use crate::AppError;
use leptos::prelude::*;

/// Adds a work note (internal) or an additional comment (customer-visible) to the case. Agents may add either to
/// any case; operators only work notes, and only to proactive cases.
#[server(endpoint = "add_case_note", output = crate::codec::Json)]
pub async fn add_case_note(input: NewNote) -> Result<(), AppError> {
    use crate::{access::require_session, store::Store};

    let viewer = require_session()?;
    let store = Store::from_context()?;
    let result = store.add_case_note(&input, &viewer).await;
    crate::error::with_status(result)
}
