//! What every request handler and server function shares on the server.

pub use crate::live::server::Changes;
use crate::{store::Store, AppError};
use axum::extract::FromRef;
use leptos::prelude::*;

/// The server's shared state, given to `leptos_routes_with_context` and read with [`app_state`].
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    /// Committed changes, fanned out to open pages' live streams.
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
    /// How long a live stream stays open before the server ends it and the page reconnects (with its position, so
    /// it misses nothing): behind a load balancer, streams spread over new instances this way. `None`: no limit.
    pub live_max_age: Option<std::time::Duration>,
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
