//! Cross-site protection and security headers for every response.

use axum::{
    extract::Request,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::nonce::Nonce;

/// Refuses a state-changing request (anything but GET, HEAD, OPTIONS) that a browser says came from another site,
/// by `Sec-Fetch-Site` or, for browsers that do not send it, by `Origin`. Requests without either (curl, scripts)
/// carry no cookies a page could have borrowed, and go through.
///
/// The live stream is refused the same way although it is a GET: it is read with the session's cookie, and what it
/// says (which records change, when) is for Forestall's own pages only.
pub async fn same_origin_writes(request: Request, next: Next) -> Response {
    let reads = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && request.uri().path() != app::live::server::PATH;
    if reads || same_origin(request.headers()) {
        return next.run(request).await;
    }
    tracing::warn!(method = %request.method(), path = request.uri().path(), "cross-site request refused");
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Cross-site request refused: Forestall accepts changes only from its own pages.",
    )
        .into_response()
}

fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        // "none": typed in the address bar or a bookmark, which a form post never is, but a user action all the same.
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    // The scheme may differ behind a TLS-terminating proxy; the host and port may not.
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// The most a form post or server-function call may send: the longest note (4,000 characters) percent-encoded is
/// 36 KiB. Event ingestion has its own, larger limit (`ingest::handlers::BODY_LIMIT`).
pub const FORM_BODY_LIMIT: usize = 256 * 1024;

/// Refuses a body over [`FORM_BODY_LIMIT`] with 413: on its declared length before reading any of it, else as soon
/// as it passes the limit; the handler then gets the body whole. Sign-in and server functions so never read, or
/// hash, more than this much of what an anonymous client sends.
pub async fn form_body_limit(request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/ingest/") || request.method() == Method::GET {
        return next.run(request).await;
    }
    let too_large = || {
        app::AppError::TooLarge(format!(
            "The request is larger than {} KiB, the most a form may send.",
            FORM_BODY_LIMIT / 1024
        ))
        .into_response()
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > FORM_BODY_LIMIT) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, FORM_BODY_LIMIT).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(error) => {
            let over_limit =
                std::error::Error::source(&error).is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if over_limit {
                too_large()
            } else {
                tracing::warn!(%error, "a request's body could not be read");
                app::AppError::BadRequest("The request's body could not be read.".into()).into_response()
            }
        }
    }
}

/// Sends a path with a trailing slash (`/audit/`) to the path without it (308, which keeps the method and body),
/// so every request reaches its route, and its route's access rule, by one spelling: the fallback renderer matches
/// trailing slashes leniently and would otherwise render the page outside the guard.
pub async fn canonical_paths(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let location = match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        if let Ok(location) = HeaderValue::from_str(&location) {
            return (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, location)]).into_response();
        }
    }
    next.run(request).await
}

/// Gives the request a fresh script nonce (the page's hydration scripts carry it) and sets the security headers on
/// the response. `secure` adds HSTS, for deployments served over https.
pub async fn security_headers(secure: bool, mut request: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    // Only the site's static files may be kept: pages and server functions' answers hold records, which no
    // browser or proxy cache should keep (to be shown after sign-out, or to the next user of a shared machine).
    let cacheable = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    if !cacheable {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Same-origin requests keep the full Referer: a form posted without JavaScript is sent back to its page by it.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn writes_from_other_sites_are_told_apart_from_our_own() {
        let table = [
            (vec![("sec-fetch-site", "same-origin")], true),
            (vec![("sec-fetch-site", "cross-site")], false),
            (vec![("sec-fetch-site", "same-site")], false),
            (
                vec![
                    ("origin", "http://forestall.example:3000"),
                    ("host", "forestall.example:3000"),
                ],
                true,
            ),
            (
                vec![("origin", "https://evil.example"), ("host", "forestall.example:3000")],
                false,
            ),
            (vec![("origin", "null"), ("host", "forestall.example")], false),
            (vec![("host", "forestall.example")], true),
        ];
        for (pairs, expected) in table {
            assert_eq!(same_origin(&headers(&pairs)), expected, "{pairs:?}");
        }
    }
}
