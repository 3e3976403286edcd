//! Wires Forestall's app into axum. The binary (`main.rs`) adds configuration and the CLI; tests drive [`router`]
//! in-process.

pub mod render;
pub mod security;

use app::{
    auth::server as auth,
    ingest::{handlers as ingest, Ingestor},
    notices::server::{handlers as notices, Outbox},
    state::{AppState, Changes, Settings},
    store::Store,
    App,
};
use axum::{
    extract::State,
    http::{Method, StatusCode},
    middleware::{from_fn, from_fn_with_state},
    routing::{get, post, MethodRouter},
    Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::{cookie::time::Duration, cookie::SameSite, Expiry, SessionManagerLayer};

/// How long a session lasts without being used.
pub const SESSION_IDLE: Duration = Duration::hours(8);

/// The whole HTTP surface: pages, server functions under `/api`, sign-in, static files from the site root, `/healthz`.
///
/// Every route passes the guard (`auth::enforce`), which looks up the route's access rule; static files and the
/// not-found page are outside it and show nothing that needs a session.
pub fn router(state: AppState) -> Router {
    let _ = app::metrics::handle();
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let secure = state.settings.secure_cookies;
    let sessions = SessionManagerLayer::new(state.store.clone())
        // Behind https the cookie is `__Host-` prefixed: browsers then refuse it unless it is Secure, for this
        // host only and for every path, so neither another subdomain nor plain http can set or shadow it.
        .with_name(if secure {
            "__Host-forestall_session"
        } else {
            "forestall_session"
        })
        .with_path("/")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE));
    plain_routes()
        .into_iter()
        .fold(Router::new(), |router, (_, path, route)| router.route(path, route))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || state.provide_parts()
            },
            move || app::shell(options.clone()),
        )
        .route_layer(from_fn(auth::enforce))
        // Outside the guard: a refused request's latency counts too.
        .route_layer(from_fn(app::metrics::track))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        // Every page (the not-found one too) is rendered to its end, even for a browser that has gone.
        .layer(from_fn(render::to_the_end))
        .layer(from_fn_with_state(state.clone(), auth::identify))
        .layer(sessions)
        .layer(from_fn(security::form_body_limit))
        .layer(from_fn(security::same_origin_writes))
        .layer(from_fn(security::canonical_paths))
        .layer(from_fn(move |request, next| {
            security::security_headers(secure, request, next)
        }))
        .with_state(state)
}

/// The routes outside Leptos: health, the live stream, sign-in and sign-out, and the ingestion endpoints. Public so the access test can list every route.
pub fn plain_routes() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/healthz", get(healthz)),
        (Method::GET, app::metrics::PATH, get(app::metrics::scrape)),
        (Method::GET, app::live::server::PATH, get(app::live::server::stream)),
        (Method::POST, "/login", post(auth::login)),
        (Method::POST, "/logout", post(auth::logout)),
        (Method::POST, "/ingest/v1/events", post(ingest::events)),
        (Method::POST, "/ingest/v1/alertmanager", post(ingest::alertmanager)),
        (Method::POST, "/ingest/v1/grafana", post(ingest::grafana)),
        (
            Method::POST,
            app::cases::reactive::POST_PATH,
            post(app::cases::record_reactive_case),
        ),
        (Method::GET, app::dashboard::CSV_PATH, get(app::dashboard::server::csv)),
        (Method::POST, "/notify", post(notices::send)),
        (Method::POST, "/notices/retry", post(notices::retry)),
        (Method::POST, "/notice-templates/save", post(notices::save_template)),
        (Method::POST, "/auto-notice", post(notices::auto_notice)),
    ]
}

/// The state for `store` with the given Leptos options and settings; starts the event writer on the current runtime.
pub fn app_state(leptos_options: LeptosOptions, store: Store, settings: Settings) -> AppState {
    AppState {
        ingestor: Ingestor::start(&store, settings.lifecycle),
        changes: Changes::start(&store),
        outbox: Outbox::start(&store, settings.notices.clone()),
        leptos_options,
        store,
        settings,
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

/// A listener on `addr` whose connections send each write at once (`TCP_NODELAY`): a server-rendered page goes out
/// in several writes, and without it the second waited for the client's delayed acknowledgement of the first, 40 ms
/// on Linux, on every page.
pub async fn listen(addr: std::net::SocketAddr) -> std::io::Result<NoDelayListener> {
    use axum::serve::ListenerExt;
    Ok(tokio::net::TcpListener::bind(addr).await?.tap_io(no_delay))
}

/// What [`listen`] answers.
pub type NoDelayListener = axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)>;

fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::warn!(%error, "could not set TCP_NODELAY on a connection");
    }
}
