//! `POST /login` and `POST /logout`: plain form posts answered with a redirect, so they work without JavaScript.

use super::{
    guard::{client_address, see_other, SEEN_KEY},
    users::SignInError,
    AuthSettings, USER_ID_KEY,
};
use crate::{access::Viewer, auth::SignInRefusal, store::Store};
use axum::{
    extract::{FromRequest, Request, State},
    response::Response,
    Form,
};
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    password: String,
    /// Where to go once signed in: a path on this site.
    #[serde(default)]
    next: String,
}

/// Signs in and goes to `next` (or the role's start page); a refusal goes back to the login page, which says why.
pub async fn login(
    State(store): State<Store>,
    State(settings): State<AuthSettings>,
    session: Session,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let address = client_address(&parts, settings.trusted_proxies);
    let form = match Form::<LoginForm>::from_request(Request::from_parts(parts, body), &()).await {
        Ok(Form(form)) => form,
        Err(_) => LoginForm::default(),
    };
    let next = safe_next(&form.next);
    let viewer = match store.sign_in(&form.user_name, &form.password, &address).await {
        Ok(viewer) => viewer,
        Err(SignInError::Refused(refusal)) => return back_to_login(refusal, &form.user_name, next),
        Err(SignInError::Internal(error)) => {
            tracing::error!(%error, "sign-in failed");
            return back_to_login(SignInRefusal::Unavailable, &form.user_name, next);
        }
    };
    // A new session id on sign-in, so an id planted before it (session fixation) is worth nothing.
    let stored = match session.cycle_id().await {
        Ok(()) => match session.insert(USER_ID_KEY, viewer.id).await {
            Ok(()) => session.insert(SEEN_KEY, crate::store::clock::now_secs()).await,
            Err(error) => Err(error),
        },
        Err(error) => Err(error),
    };
    // Saved here rather than by the session layer after the answer: a save that fails (a full disk) is then a
    // refusal the login page explains, not the layer's bare 500. The session is emptied so the layer does not try
    // again.
    let stored = match stored {
        Ok(()) => session.save().await,
        Err(error) => Err(error),
    };
    if let Err(error) = stored {
        tracing::error!(%error, "could not store the session");
        session.clear().await;
        return back_to_login(SignInRefusal::Unavailable, &form.user_name, next);
    }
    tracing::info!(user = %viewer.name, role = %viewer.role, "signed in");
    see_other(next.unwrap_or(viewer.role.home()))
}

/// Ends the session and goes to the login page.
pub async fn logout(
    State(store): State<Store>,
    State(settings): State<AuthSettings>,
    session: Session,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    if let Some(viewer) = parts.extensions.get::<Viewer>() {
        let address = client_address(&parts, settings.trusted_proxies);
        if let Err(error) = store.sign_out(&viewer.name, &address).await {
            tracing::error!(%error, "could not record a sign-out");
        }
    }
    if let Err(error) = session.flush().await {
        tracing::error!(%error, "could not end the session");
    }
    see_other("/login?signed_out=1")
}

fn back_to_login(refusal: SignInRefusal, user_name: &str, next: Option<&str>) -> Response {
    let mut query = refusal.query();
    let user_name: String = user_name.trim().chars().take(64).collect();
    if !user_name.is_empty() {
        query.push(("user", user_name));
    }
    if let Some(next) = next {
        query.push(("next", next.to_owned()));
    }
    see_other(&format!(
        "/login?{}",
        serde_urlencoded::to_string(query).unwrap_or_default()
    ))
}

/// `next` if it is a path on this site; anything else (another host, `//host`, a scheme) is dropped, so the login
/// page cannot be used to send someone elsewhere.
fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.starts_with("/login")
        && next.len() <= 2000
        && !next.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_followed_after_sign_in() {
        assert_eq!(
            safe_next("/alerts/Alert0010026?compose=case"),
            Some("/alerts/Alert0010026?compose=case")
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "",
            "alerts",
            "/login?next=/x",
        ] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }
}
