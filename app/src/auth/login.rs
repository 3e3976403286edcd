//! The login page: a plain form that posts to `/login`, so signing in works with or without JavaScript.

use crate::{
    access::viewer,
    ui::{Field, FieldAria},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a sign-in was refused. None of them tells whether the user name exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInRefusal {
    Missing,
    /// A wrong password, an unknown user, or a disabled one: one answer for all three, so it tells nothing.
    Wrong,
    /// Too many sign-ins at once: no password check came free in time.
    Busy,
    Throttled {
        minutes: i64,
    },
    /// The server failed; its log has the cause.
    Unavailable,
}

impl SignInRefusal {
    /// The query parameters `/login` is redirected to after this refusal.
    pub fn query(self) -> Vec<(&'static str, String)> {
        let code = match self {
            Self::Missing => "missing",
            Self::Wrong => "wrong",
            Self::Busy => "busy",
            Self::Throttled { minutes } => return vec![("error", "throttled".into()), ("wait", minutes.to_string())],
            Self::Unavailable => "unavailable",
        };
        vec![("error", code.into())]
    }

    /// The refusal a `/login?error=…` URL names.
    pub fn from_query(error: &str, wait: Option<&str>) -> Option<Self> {
        Some(match error {
            "missing" => Self::Missing,
            "wrong" => Self::Wrong,
            "busy" => Self::Busy,
            "throttled" => Self::Throttled {
                minutes: wait.and_then(|w| w.parse().ok()).unwrap_or(15).clamp(1, 60),
            },
            "unavailable" => Self::Unavailable,
            _ => return None,
        })
    }
}

impl fmt::Display for SignInRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("Enter your user name and your password."),
            Self::Wrong => f.write_str("The user name or password is wrong."),
            Self::Busy => f.write_str("Too many sign-ins at once. Wait a moment and try again."),
            Self::Throttled { minutes } => write!(
                f,
                "Too many failed sign-ins. Wait {minutes} minute{} and try again.",
                if *minutes == 1 { "" } else { "s" }
            ),
            Self::Unavailable => f.write_str("Signing in failed on the server. It has been logged; please try again."),
        }
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let query = query.get_untracked();
    if let Some(viewer) = viewer() {
        return view! { <Redirect path=viewer.role.home() /> }.into_any();
    }
    let refusal = query
        .get("error")
        .and_then(|error| SignInRefusal::from_query(&error, query.get("wait").as_deref()));
    let signed_out = query.get("signed_out").is_some();
    let user_name = query.get("user").unwrap_or_default();
    let next = query.get("next").unwrap_or_default();
    let has_error = refusal.is_some();
    // Focus goes where the user has to type next: the password after a refusal that kept the name.
    let focus_password = has_error && !user_name.is_empty();
    view! {
        <Title text="Log in" />
        <section class="login" aria-labelledby="login-heading">
            <h1 id="login-heading">"Log in to Forestall"</h1>
            {signed_out.then(|| view! { <p role="status" class="status-message">"You have signed out."</p> })}
            {refusal.map(|refusal| view! { <p role="alert" class="error" id="login-error">{refusal.to_string()}</p> })}
            <form method="post" action="/login" class="login-form">
                <input type="hidden" name="next" value=next />
                <Field
                    id="login-user"
                    label="User name"
                    form_error=has_error.then_some("login-error")
                    control=move |aria: FieldAria| {
                        view! {
                            <input
                                id=aria.id
                                name="user_name"
                                type="text"
                                autocomplete="username"
                                required
                                maxlength="64"
                                value=user_name
                                autofocus=!focus_password
                                aria-describedby=aria.described_by
                                aria-invalid=aria.invalid
                            />
                        }
                    }
                />
                <Field
                    id="login-password"
                    label="Password"
                    form_error=has_error.then_some("login-error")
                    control=move |aria: FieldAria| {
                        view! {
                            <input
                                id=aria.id
                                name="password"
                                type="password"
                                autocomplete="current-password"
                                required
                                maxlength="256"
                                autofocus=focus_password
                                aria-describedby=aria.described_by
                                aria-invalid=aria.invalid
                            />
                        }
                    }
                />
                <button type="submit" class="primary">
                    "Log in"
                </button>
            </form>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_survive_the_redirect_to_the_login_page() {
        for refusal in [
            SignInRefusal::Missing,
            SignInRefusal::Wrong,
            SignInRefusal::Busy,
            SignInRefusal::Throttled { minutes: 7 },
            SignInRefusal::Unavailable,
        ] {
            let query = refusal.query();
            let wait = query.iter().find(|(k, _)| *k == "wait").map(|(_, v)| v.as_str());
            assert_eq!(SignInRefusal::from_query(&query[0].1, wait), Some(refusal));
        }
        assert_eq!(SignInRefusal::from_query("<script>", None), None);
        assert_eq!(
            SignInRefusal::Throttled { minutes: 1 }.to_string(),
            "Too many failed sign-ins. Wait 1 minute and try again."
        );
    }
}
