//! Wires Forestall's app into axum. The binary (`main.rs`) adds configuration and the CLI; tests drive [`router`]
//! in-process.

use app::{
    state::{AppState, Changes},
    store::Store,
    App,
};
use axum::{extract::State, http::StatusCode, routing::get, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

/// The whole HTTP surface: pages, server functions under `/api`, static files from the site root, `/healthz`.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .leptos_routes(&state, routes, move || app::shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .with_state(state)
}

/// The state for `store` with the given Leptos options.
pub fn app_state(leptos_options: LeptosOptions, store: Store) -> AppState {
    AppState {
        leptos_options,
        store,
        changes: Changes::default(),
    }
}

/// 200 when the server can reach its database, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
