//! Signing in: the login page, and (on the server) users, sessions, sign-in throttling and the request guard.
//! What a signed-in user may do is `access`'s.

mod login;
#[cfg(feature = "ssr")]
pub mod server;

pub use login::{LoginPage, SignInRefusal};
