//! `Assign to me` on the case page: the agent takes the case.

use crate::AppError;
use leptos::prelude::*;

/// Assigns the case to the signed-in agent and answers who has it now. Taking a case one already has changes nothing;
/// closed and canceled cases refuse with `Conflict`.
#[server(endpoint = "assign_case", output = crate::codec::Json)]
pub async fn assign_case(number: String) -> Result<String, AppError> {
    use crate::{
        access::{require, Permission},
        store::Store,
    };

    let viewer = require(Permission::WorkCases)?;
    let store = Store::from_context()?;
    let result = store.assign_case(&number, &viewer.name).await;
    crate::error::with_status(result)
}
