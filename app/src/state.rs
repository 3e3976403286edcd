//! What the server shares between requests, put together from each feature's part. Nothing below this module knows
//! `AppState`: axum handlers take their part with `State<Part>` (through [`FromRef`]), server functions and pages
//! read it from their request's context ([`AppState::provide_parts`]).

pub use crate::live::server::Changes;
use crate::{auth::server::AuthSettings, install_base::RefreshStaleOnOpen, live::server::MaxStreamAge, store::Store};
use axum::extract::FromRef;
use leptos::prelude::*;

/// The server's shared state, given to `leptos_routes_with_context`.
#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    /// Committed changes, fanned out to open pages' live streams.
    pub changes: Changes,
    pub settings: Settings,
    /// The process's writer of events from monitoring (group commit).
    pub ingestor: crate::ingest::Ingestor,
    /// The notices' delivery task.
    pub outbox: crate::notices::server::Outbox,
}

/// Deployment settings the request handlers read.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// How many proxies in front of Forestall append to `X-Forwarded-For`; the client's address is the one the
    /// outermost of them added (0: no proxy is trusted, the connection's peer is the client). For sign-in throttling
    /// and the audit log.
    pub trusted_proxies: u8,
    /// Mark the session cookie Secure and send HSTS: for deployments served over https.
    pub secure_cookies: bool,
    /// Refresh an alert's install base snapshot when it is opened and the CMDB changed since it was taken.
    pub refresh_stale_on_open: bool,
    /// When a closed alert reopens and when it is flapping.
    pub lifecycle: crate::ingest::Lifecycle,
    /// How long a live stream stays open before the server ends it and the page reconnects (with its position, so
    /// it misses nothing): behind a load balancer, streams spread over new instances this way. `None`: no limit.
    pub live_max_age: Option<std::time::Duration>,
    /// The bearer token `/metrics` wants; without one it answers loopback peers only.
    pub metrics_token: Option<String>,
    /// Customer notices: where they go, the update cadence, the rule's hold-down.
    pub notices: crate::notices::server::NoticeSettings,
}

impl AppState {
    /// Puts what server functions and server-rendered pages read into the current request's context, each part
    /// under its own type.
    pub fn provide_parts(&self) {
        provide_context(self.store.clone());
        provide_context(self.changes.clone());
        provide_context(RefreshStaleOnOpen(self.settings.refresh_stale_on_open));
        provide_context(self.settings.notices.clone());
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

impl FromRef<AppState> for Changes {
    fn from_ref(state: &AppState) -> Self {
        state.changes.clone()
    }
}

impl FromRef<AppState> for crate::ingest::Ingestor {
    fn from_ref(state: &AppState) -> Self {
        state.ingestor.clone()
    }
}

impl FromRef<AppState> for AuthSettings {
    fn from_ref(state: &AppState) -> Self {
        AuthSettings {
            trusted_proxies: state.settings.trusted_proxies,
        }
    }
}

impl FromRef<AppState> for MaxStreamAge {
    fn from_ref(state: &AppState) -> Self {
        MaxStreamAge(state.settings.live_max_age)
    }
}

impl FromRef<AppState> for crate::notices::server::NoticeSettings {
    fn from_ref(state: &AppState) -> Self {
        state.settings.notices.clone()
    }
}

impl FromRef<AppState> for crate::notices::server::Outbox {
    fn from_ref(state: &AppState) -> Self {
        state.outbox.clone()
    }
}

impl FromRef<AppState> for crate::metrics::MetricsAccess {
    fn from_ref(state: &AppState) -> Self {
        crate::metrics::MetricsAccess {
            token: state.settings.metrics_token.clone(),
        }
    }
}
