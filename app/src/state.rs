//! What every request handler and server function shares on the server.

use crate::{store::Store, AppError};
use axum::extract::FromRef;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// The server's shared state, given to `leptos_routes_with_context` and read with [`app_state`].
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    pub changes: Changes,
    pub settings: Settings,
    /// The process's writer of events from monitoring (group commit).
    pub ingestor: crate::ingest::Ingestor,
}

/// Deployment settings the request handlers read.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Take the client's address from `X-Forwarded-For` (only behind a proxy that sets it), for sign-in throttling
    /// and the audit log.
    pub trust_forwarded_for: bool,
    /// Mark the session cookie Secure and send HSTS: for deployments served over https.
    pub secure_cookies: bool,
    /// Refresh an alert's install base snapshot when it is opened and the CMDB changed since it was taken.
    pub refresh_stale_on_open: bool,
    /// When a closed alert reopens and when it is flapping.
    pub lifecycle: crate::ingest::Lifecycle,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The state of the current request, inside a server function.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        AppError::Internal
    })
}

/// A record that changed: the one place every write reports to, so a live push to open pages can subscribe here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordChange {
    AlertUpdated { number: String },
    CaseCreated { number: String, alert: Option<String> },
    CaseUpdated { number: String },
}

/// Fan-out of [`RecordChange`]s to whoever listens (none yet but tests; a push channel later).
#[derive(Clone, Debug)]
pub struct Changes {
    sender: broadcast::Sender<RecordChange>,
}

impl Default for Changes {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl Changes {
    /// Reports a committed change. Nobody listening is fine: the change is already stored.
    pub fn publish(&self, change: RecordChange) {
        tracing::debug!(?change, "record changed");
        let _ = self.sender.send(change);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<RecordChange> {
        self.sender.subscribe()
    }
}
