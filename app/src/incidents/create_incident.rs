//! `Create Incident` on the alert form.

use super::IncidentCreated;
use crate::AppError;
use leptos::prelude::*;

/// Creates the alert's incident and links it in the alert's Incident field; then the active alert rules run. A
/// second request answers `Conflict` naming the existing incident.
#[server(endpoint = "create_incident", output = crate::codec::Json)]
pub async fn create_incident(alert: String) -> Result<IncidentCreated, AppError> {
    use crate::store::Store;

    let viewer = crate::access::require(crate::access::Permission::CreateIncidents)?;
    let store = Store::from_context()?;
    let result = store.create_incident(&alert, &viewer.name).await;
    crate::error::with_status(result)
}
