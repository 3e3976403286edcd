//! Submit on the case form.

use super::{CaseCreated, NewCase};
use crate::AppError;
use leptos::prelude::*;

/// Creates the alert's proactive case (a major case with one child per account when the snapshot spans several
/// accounts), links it to the alert, and answers `Conflict` naming the existing case if the alert has one already.
#[server(endpoint = "create_case", output = crate::codec::Json)]
pub async fn create_case(input: NewCase) -> Result<CaseCreated, AppError> {
    use crate::{
        access::{require, Permission},
        store::Store,
    };

    let viewer = require(Permission::CreateCases)?;
    let store = Store::from_context()?;
    let result = store.create_proactive_case(&input, &viewer.name).await;
    crate::error::with_status(result)
}
