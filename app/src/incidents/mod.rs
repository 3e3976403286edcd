//! Incidents raised from alerts: `Create Incident` on the alert form, at most one incident per alert. Creating one
//! runs the alert rules (the `rules` module), which may open the alert's proactive case.

mod create_incident;
#[cfg(feature = "ssr")]
pub(crate) mod server;

pub use create_incident::{create_incident, CreateIncident};

use serde::{Deserialize, Serialize};

/// The answer to Create Incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentCreated {
    pub number: String,
    /// The proactive case the `Create Proactive Case` rule opened for the alert, if it did.
    pub case: Option<String>,
}
