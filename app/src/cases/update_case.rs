//! `Update case` on the case page: a state change along the lifecycle.

use super::CaseUpdate;
use crate::{domain::CaseState, AppError};
use leptos::prelude::*;

/// Moves the case to another state (resolving or closing needs resolution notes) and answers its new state.
/// Closed and canceled cases refuse with `Conflict`.
#[server(endpoint = "update_case", output = crate::codec::Json)]
pub async fn update_case(input: CaseUpdate) -> Result<CaseState, AppError> {
    use crate::{
        access::{require, Permission},
        store::Store,
    };

    let viewer = require(Permission::WorkCases)?;
    let store = Store::from_context()?;
    let result = store.update_case_state(&input, &viewer.name).await;
    crate::error::with_status(result)
}
