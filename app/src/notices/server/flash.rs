//! What a form post said, for the page it redirects to: kept in the session, shown once, never put in a URL (where
//! anyone could write a message for a link to show).

use crate::notices::Flash;
use tower_sessions::Session;

const KEY: &str = "flash";

/// Keeps `flash` for the next page of this session that asks for it.
pub async fn put(session: &Session, flash: Flash) {
    if let Err(error) = session.insert(KEY, flash).await {
        tracing::warn!(%error, "could not keep a form's message in the session");
    }
}

/// The message kept for `page`, removed as it is read; `None` outside a request or for another page.
pub async fn take(page: &str) -> Option<Flash> {
    let session = leptos::prelude::use_context::<axum::http::request::Parts>()?
        .extensions
        .get::<Session>()
        .cloned()?;
    let flash: Flash = session.get(KEY).await.ok().flatten()?;
    if flash.page != page {
        return None;
    }
    if let Err(error) = session.remove::<Flash>(KEY).await {
        tracing::warn!(%error, "could not clear a form's message");
    }
    Some(flash)
}
