//! Alerts in from monitoring: Prometheus Alertmanager's and Grafana's webhooks and a generic JSON event API, each
//! authenticated by an API token. Payloads are read into [`Event`]s ([`formats`]), and events update one alert per
//! problem ([`record`]).

pub mod batcher;
pub mod event;
pub mod formats;
pub mod handlers;
pub mod record;
pub mod tokens;

pub use batcher::Ingestor;
pub use event::{Event, FieldError};
pub use record::{Lifecycle, Outcome, Stored};
pub use tokens::{TokenError, TokenInfo, TOKEN_PREFIX};
