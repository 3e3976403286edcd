//! The server side of signing in: users and passwords, the session store, throttling, the login and logout
//! handlers, and the guard every request passes.

mod guard;
mod handlers;
pub(crate) mod passwords;
mod session_store;
pub(crate) mod users;

pub(crate) use guard::see_other;
pub use guard::{enforce, identify, route_access, session_still_allows, Access};
pub use handlers::{login, logout};
pub use passwords::{check_password_rules, generate_password};
pub use users::{SignInError, UserError, UserRow};

/// How sign-in reads the request.
#[derive(Clone, Copy, Debug, Default)]
pub struct AuthSettings {
    /// How many proxies in front of Forestall append to `X-Forwarded-For` (0: trust none, use the peer), for
    /// sign-in throttling and the audit log.
    pub trusted_proxies: u8,
}

/// The session key under which the signed-in user's id is kept.
pub(crate) const USER_ID_KEY: &str = "user_id";
