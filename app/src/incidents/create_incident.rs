//! `Create Incident` on the alert form.

use super::IncidentCreated;
use crate::AppError;
use leptos::prelude::*;

/// Creates the alert's incident and links it in the alert's Incident field; then the active alert rules run. A
/// second request answers `Conflict` naming the existing incident.
#[server(endpoint = "create_incident", output = crate::codec::Json)]
pub async fn create_incident(alert: String) -> Result<IncidentCreated, AppError> {
    use crate::state::app_state;

    let viewer = crate::auth::require(crate::auth::Permission::CreateIncidents)?;
    let state = app_state()?;
    let result = state.store.create_incident(&alert, &viewer.name).await;
    crate::error::with_status(result)
}
