//! The two middlewares every request passes: [`identify`] finds the session's user, [`enforce`] applies the route's
//! access rule. A route without a rule is refused to everyone, so a new page cannot be open by omission.

use super::USER_ID_KEY;
use crate::{
    access::{Permission, Viewer},
    store::Store,
    AppError,
};
use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{header, request::Parts, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::net::SocketAddr;
use tower_sessions::Session;

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Anyone signed in. Server functions are here: each checks its own permission (see `access::require`).
    SignedIn,
    /// Signed-in users whose role has the permission.
    Needs(Permission),
    /// Machines with an API token, which the handler checks (monitoring tools have no session).
    Token,
}

/// The access rule of a route, by the pattern the router matched (`/alerts/{number}`); `None` for a route nobody
/// gave a rule, which is then refused.
pub fn route_access(pattern: &str) -> Option<Access> {
    use Permission::*;
    Some(match pattern {
        // `/metrics` checks its own token (or that the scraper is on this machine): no session is one.
        "/login" | "/healthz" | "/metrics" => Access::Public,
        "/" | "/logout" => Access::SignedIn,
        "/alerts" | "/alerts/{number}" => Access::Needs(ViewAlerts),
        "/cases" | "/cases/{number}" => Access::Needs(ViewCases),
        "/cases/new" | "/reactive-cases" => Access::Needs(RecordReactiveCases),
        "/dashboard" | "/dashboard.csv" => Access::Needs(ViewDashboard),
        "/audit" => Access::Needs(ViewAuditLog),
        // Each topic needs its own permission, which the stream checks (see `live::server::stream`).
        "/live" => Access::SignedIn,
        "/rules" => Access::Needs(ManageAlertRules),
        "/cases/{number}/notify" | "/notify" | "/notices/retry" | "/auto-notice" => Access::Needs(NotifyCustomers),
        "/notices" => Access::Needs(ViewCases),
        "/notice-templates" | "/notice-templates/save" => Access::Needs(ManageNoticeTemplates),
        api if api.starts_with("/api/") => Access::SignedIn,
        "/ingest/v1/events" | "/ingest/v1/alertmanager" | "/ingest/v1/grafana" => Access::Token,
        _ => return None,
    })
}

/// Puts the session's user, if any and still enabled, into the request's extensions as a [`Viewer`].
pub async fn identify(State(store): State<Store>, session: Session, mut request: Request, next: Next) -> Response {
    // Static files need nobody: no database read for each of them.
    if !request.uri().path().starts_with("/pkg/") {
        match session.get::<i64>(USER_ID_KEY).await {
            Ok(Some(id)) => match store.session_user(id).await {
                Ok(Some(viewer)) => {
                    keep_alive(&session).await;
                    request.extensions_mut().insert(viewer);
                }
                // Disabled or removed since signing in: the session ends here.
                Ok(None) => {
                    if let Err(error) = session.flush().await {
                        tracing::warn!(%error, "could not end a stale session");
                    }
                }
                // A database that is away answers 503 (and is logged as such), anything else 500.
                Err(error) => return error_response(&AppError::from(error)),
            },
            Ok(None) => {}
            // The database did not give the session back (the store logged why): answered as the database's
            // state says, 503 while it is away, rather than as signed out, which would send the user to a
            // sign-in that cannot work either.
            Err(tower_sessions::session::Error::Store(tower_sessions::session_store::Error::Backend(_))) => {
                let error = store.ping().await.map_or_else(AppError::from, |()| AppError::Internal);
                return error_response(&error);
            }
            Err(error) => tracing::warn!(%error, "unreadable session ignored"),
        }
    }
    next.run(request).await
}

/// Pushes a used session's idle timeout back (tower-sessions saves a session, and so its new expiry, only when its
/// data changed): the time it was last seen is rewritten when it is [`KEEP_ALIVE_EVERY_SECS`] old, so a session in
/// use does not end eight hours after sign-in, and costs one write per five minutes rather than one per request.
async fn keep_alive(session: &Session) {
    let now = crate::store::clock::now_secs();
    let seen = session.get::<i64>(SEEN_KEY).await.ok().flatten().unwrap_or(0);
    if now - seen >= KEEP_ALIVE_EVERY_SECS {
        if let Err(error) = session.insert(SEEN_KEY, now).await {
            tracing::warn!(%error, "could not extend a session");
        }
    }
}

/// The session key of when the session was last used (Unix seconds), to within [`KEEP_ALIVE_EVERY_SECS`].
pub(crate) const SEEN_KEY: &str = "seen";
/// How stale the last-used time may get before a request rewrites it (and so extends the session).
pub const KEEP_ALIVE_EVERY_SECS: i64 = 300;

/// Applies [`route_access`]: anonymous page requests go to the login page, anonymous API calls get 401, a role
/// without the permission gets 403.
pub async fn enforce(request: Request, next: Next) -> Response {
    let pattern = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_default();
    let viewer = request.extensions().get::<Viewer>().cloned();
    // A stream is read by a script, like the API: it gets 401, not the login page.
    let api = pattern.starts_with("/api/") || pattern == "/live";
    match (route_access(&pattern), viewer) {
        (Some(Access::Public | Access::Token), _) => next.run(request).await,
        (None, _) => {
            tracing::error!(pattern, "route has no access rule: refused");
            error_response(&AppError::Forbidden)
        }
        (Some(_), None) if api || request.method() != Method::GET => error_response(&AppError::Unauthorized),
        (Some(_), None) => to_login(&request),
        (Some(Access::SignedIn), Some(_)) => next.run(request).await,
        (Some(Access::Needs(permission)), Some(viewer)) if viewer.may(permission) => next.run(request).await,
        (Some(Access::Needs(permission)), Some(viewer)) => forbidden_page(&viewer, permission),
    }
}

/// Whether the session (by id) a long-lived request (a live stream) started with is still signed in as `viewer`, and the
/// user, as stored now (role changed, disabled), still passes `allowed`. A database that does not answer keeps the
/// stream: a blip should not close every page's stream at once.
pub async fn session_still_allows(
    store: &crate::store::Store,
    session: Option<tower_sessions::session::Id>,
    viewer: &Viewer,
    allowed: impl Fn(&Viewer) -> bool,
) -> bool {
    use tower_sessions::SessionStore;
    let Some(id) = session else {
        return false;
    };
    match store.load(&id).await {
        Ok(Some(record)) if super::session_store::user_id(&record) == Some(viewer.id) => {}
        Ok(_) => return false,
        Err(error) => {
            tracing::warn!(%error, "could not check a stream's session");
            return true;
        }
    }
    match store.session_user(viewer.id).await {
        Ok(Some(now)) => allowed(&now),
        Ok(None) => false,
        Err(error) => {
            tracing::warn!(%error, "could not check a stream's user");
            true
        }
    }
}

/// Server functions' errors, and the same answer from plain routes.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        error_response(&self)
    }
}

/// A 303 to the login page that comes back here after signing in.
fn to_login(request: &Request) -> Response {
    let here = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let query = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
    see_other(&format!("/login?{query}"))
}

pub(crate) fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => error_response(&AppError::Internal),
    }
}

/// The error as server functions answer it: its status and its JSON.
pub(crate) fn error_response(error: &AppError) -> Response {
    let status = StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_string(error).unwrap_or_else(|_| "\"Internal\"".into());
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A page that says the role may not open this page, and where to go instead.
fn forbidden_page(viewer: &Viewer, permission: Permission) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not allowed · Forestall</title>\
         <link rel=\"stylesheet\" href=\"/pkg/forestall.css\"></head><body><main id=\"main\" class=\"not-found\">\
         <h1>Not allowed</h1><p>{}</p><p><a href=\"{}\">Go to your start page</a></p></main></body></html>",
        viewer.why_not(permission),
        viewer.role.home()
    );
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The address a request came from. Behind `trusted_proxies` proxies, the one the outermost trusted proxy saw:
/// each proxy appends the address it was reached from to `X-Forwarded-For`, so that is the `trusted_proxies`-th
/// entry from the right; entries left of it are whatever the client chose to send, and are never used. With no
/// trusted proxy, or no usable entry, the connection's peer.
pub(crate) fn client_address(parts: &Parts, trusted_proxies: u8) -> String {
    let forwarded = (trusted_proxies > 0)
        .then(|| forwarded_address(&parts.headers, usize::from(trusted_proxies)))
        .flatten();
    forwarded
        .or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The `hops`-th address from the right of every `X-Forwarded-For` header taken together (the left-most when
/// there are fewer: then every entry was added by a trusted proxy), if it is an IP address.
fn forwarded_address(headers: &axum::http::HeaderMap, hops: usize) -> Option<String> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let chosen = entries
        .len()
        .checked_sub(hops)
        .map_or(entries.first(), |at| entries.get(at))?;
    chosen.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_routes_have_no_rule_and_pages_need_their_permission() {
        assert_eq!(route_access("/reports"), None);
        assert_eq!(
            route_access("/alerts/{number}"),
            Some(Access::Needs(Permission::ViewAlerts))
        );
        assert_eq!(route_access("/api/create_case"), Some(Access::SignedIn));
        assert_eq!(route_access("/login"), Some(Access::Public));
    }

    fn forwarded(values: &[&str], hops: u8) -> String {
        let mut request = Request::new(axum::body::Body::empty());
        for value in values {
            request
                .headers_mut()
                .append("x-forwarded-for", HeaderValue::from_str(value).expect("header"));
        }
        let (parts, _) = request.into_parts();
        client_address(&parts, hops)
    }

    #[test]
    fn the_address_is_the_one_the_trusted_proxy_added_never_one_the_client_chose() {
        // The client sent "10.9.9.7"; the proxy appended the address it saw.
        assert_eq!(forwarded(&["10.9.9.7, 127.0.0.1"], 1), "127.0.0.1");
        assert_eq!(forwarded(&["10.9.9.7, 192.0.2.4, 127.0.0.1"], 2), "192.0.2.4");
        // Two headers count as one list.
        assert_eq!(forwarded(&["10.9.9.7", "198.51.100.3"], 1), "198.51.100.3");
        // Fewer entries than proxies: every entry was added by one of them.
        assert_eq!(forwarded(&["198.51.100.3"], 3), "198.51.100.3");
        // Not an address, not trusted, or no header: the peer (none in this test).
        assert_eq!(forwarded(&["10.9.9.7, not-an-address"], 1), "unknown");
        assert_eq!(forwarded(&["10.9.9.7, 127.0.0.1"], 0), "unknown");
        assert_eq!(forwarded(&[], 1), "unknown");
    }
}
