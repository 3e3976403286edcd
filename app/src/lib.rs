//! Forestall's application: routes, pages and server functions, shared by the server (`ssr`) and the browser
//! (`hydrate`).

pub mod access;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod cases;
mod codec;
pub mod dashboard;
#[cfg(feature = "ssr")]
pub mod demo;
pub mod domain;
pub mod error;
#[cfg(feature = "ssr")]
pub mod import;
pub mod incidents;
#[cfg(feature = "ssr")]
pub mod ingest;
pub mod install_base;
pub mod journal;
pub mod live;
#[cfg(feature = "ssr")]
pub mod metrics;
pub mod notices;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod store;
mod ui;

pub use error::AppError;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Redirect, Route, Router, Routes, A},
    path, SsrMode,
};

/// Hydrates the page's islands. Called from `frontend` so that the linker takes in `app`'s code, and with it the
/// hydrate functions its islands export to the page's JS (nothing in the wasm calls those itself).
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    leptos::mount::hydrate_islands();
}

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The Content-Security-Policy allows inline scripts only with this request's nonce (see the server's security
    // headers): Leptos puts it on the hydration scripts it writes.
    #[cfg(feature = "ssr")]
    if let Some(nonce) = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<leptos::nonce::Nonce>().cloned())
    {
        provide_context(nonce);
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                // No favicon to fetch: an empty one keeps the browser from asking for /favicon.ico.
                <link rel="icon" href="data:," />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The agent workspace.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Pages stream in order (lists) or render whole (records, so a missing one can answer 404): either way the HTML
    // is complete without JavaScript.

    view! {
        <Stylesheet id="leptos" href="/pkg/forestall.css" />
        <Title formatter=|title: String| format!("{title} · Forestall") />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <ui::HydrationMarker />
            <header class="topbar">
                <span class="brand">"Forestall"</span>
                <Navigation />
            </header>
            <main id="main" tabindex="-1">
                <Routes fallback=|| view! { <ui::NotFound what="Page" key=String::new() /> }>
                    <Route path=path!("/") view=Home />
                    <Route path=path!("/login") view=auth::LoginPage />
                    <Route path=path!("/audit") view=audit::AuditPage ssr=SsrMode::InOrder />
                    <Route path=path!("/rules") view=rules::AlertRulesPage ssr=SsrMode::Async />
                    <Route path=path!("/alerts") view=alerts::AlertsPage ssr=SsrMode::InOrder />
                    <Route path=path!("/alerts/:number") view=alerts::AlertPage ssr=SsrMode::Async />
                    <Route path=path!("/cases") view=cases::CasesPage ssr=SsrMode::InOrder />
                    <Route path=path!("/dashboard") view=dashboard::DashboardPage ssr=SsrMode::Async />
                    <Route path=path!("/cases/new") view=cases::ReactiveCasePage ssr=SsrMode::Async />
                    <Route path=path!("/cases/:number") view=cases::CasePage ssr=SsrMode::Async />
                    // Async: each reads (and clears) what the last form post said before the response starts.
                    <Route path=path!("/cases/:number/notify") view=notices::NotifyPage ssr=SsrMode::Async />
                    <Route path=path!("/notices") view=notices::SentNoticesPage ssr=SsrMode::Async />
                    <Route path=path!("/notice-templates") view=notices::NoticeTemplatesPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

/// The workspace links the signed-in user's role may open, who they are, and Log out.
#[component]
fn Navigation() -> impl IntoView {
    use access::Permission;
    let viewer = access::viewer();
    let may = |permission| viewer.as_ref().is_some_and(|v| v.may(permission));
    let links = [
        (Permission::ViewAlerts, "/alerts", "All Alerts"),
        (Permission::ViewCases, "/cases", "Cases"),
        (Permission::ViewCases, "/notices", "Sent notices"),
        (Permission::ViewDashboard, "/dashboard", "Dashboard"),
        (Permission::ManageAlertRules, "/rules", "Alert Rules"),
        (
            Permission::ManageNoticeTemplates,
            "/notice-templates",
            "Notice templates",
        ),
        (Permission::ViewAuditLog, "/audit", "Audit log"),
    ];
    view! {
        <nav aria-label="Workspace">
            {links
                .into_iter()
                .filter(|(permission, ..)| may(*permission))
                .map(|(_, href, label)| view! { <A href=href>{label}</A> })
                .collect_view()}
        </nav>
        {viewer
            .map(|viewer| {
                view! {
                    <div class="session">
                        <span class="who">{viewer.name} " · " {viewer.role.as_str()}</span>
                        <form method="post" action="/logout" class="inline">
                            <button type="submit">"Log out"</button>
                        </form>
                    </div>
                }
            })}
    }
}

/// `/`: the signed-in user's start page.
#[component]
fn Home() -> impl IntoView {
    let home = access::viewer().map_or("/login", |viewer| viewer.role.home());
    view! { <Redirect path=home /> }
}
