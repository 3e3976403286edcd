//! The HTTP endpoints monitoring posts to. Each checks the API token before reading the body, refuses a body over
//! [`BODY_LIMIT`] before reading it whole, and answers JSON: per event what it did, or what is wrong with it.

use super::Ingestor;
use super::{
    event::FieldError,
    formats::{self, Payload},
    record::Stored,
};
use crate::{store::Store, AppError};
use axum::{
    body::{to_bytes, Body},
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::{json, Value};

/// Largest body accepted: a full batch of events with long descriptions fits.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// `POST /ingest/v1/events`: the generic event API, one event or a batch.
pub async fn events(
    State(store): State<Store>,
    State(ingestor): State<Ingestor>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingest(&store, &ingestor, &headers, body, formats::generic).await
}

/// `POST /ingest/v1/alertmanager`: Prometheus Alertmanager's webhook, version 4.
pub async fn alertmanager(
    State(store): State<Store>,
    State(ingestor): State<Ingestor>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingest(&store, &ingestor, &headers, body, |v| {
        formats::webhook(formats::ALERTMANAGER, v)
    })
    .await
}

/// `POST /ingest/v1/grafana`: Grafana's alerting webhook.
pub async fn grafana(
    State(store): State<Store>,
    State(ingestor): State<Ingestor>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    ingest(&store, &ingestor, &headers, body, |v| {
        formats::webhook(formats::GRAFANA, v)
    })
    .await
}

/// One event's line in the answer.
#[derive(Serialize)]
struct EventResult {
    index: usize,
    #[serde(flatten)]
    result: EventAnswer,
}

#[derive(Serialize)]
#[serde(untagged)]
enum EventAnswer {
    Stored(Stored),
    Rejected(FieldError),
}

impl From<FieldError> for AppError {
    fn from(error: FieldError) -> Self {
        AppError::Invalid {
            field: error.field,
            message: error.message,
        }
    }
}

/// An error as the ingestion API answers it: the error's status, and `{"error": message, "field": field}`, the shape
/// monitoring tools read (server functions answer the same [`AppError`] as its JSON).
fn refuse(error: &AppError) -> Response {
    let status = StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let field = match error {
        AppError::Invalid { field, .. } => Some(field.as_str()),
        _ => None,
    };
    let mut response = (status, Json(json!({ "error": error.to_string(), "field": field }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    }
    response
}

async fn ingest(
    store: &Store,
    ingestor: &Ingestor,
    headers: &HeaderMap,
    body: Body,
    read: impl Fn(&Value) -> Result<Payload, FieldError>,
) -> Response {
    match try_ingest(store, ingestor, headers, body, read).await {
        Ok(response) => response,
        Err(error) => refuse(&error),
    }
}

async fn try_ingest(
    store: &Store,
    ingestor: &Ingestor,
    headers: &HeaderMap,
    body: Body,
    read: impl Fn(&Value) -> Result<Payload, FieldError>,
) -> Result<Response, AppError> {
    let token = authenticate(store, headers).await?;
    let bytes = read_body(headers, body).await?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| AppError::BadRequest(format!("the body is not valid JSON: {e}.")))?;
    let payload = read(&value)?;
    if payload.single {
        if let Some(Err(e)) = payload.events.first() {
            return Err(e.clone().into());
        }
    }
    let total = payload.events.len();
    let mut good = Vec::with_capacity(total);
    let mut rejections = Vec::with_capacity(total);
    for event in payload.events {
        match event {
            Ok(event) => {
                good.push(event);
                rejections.push(None);
            }
            Err(rejected) => rejections.push(Some(rejected)),
        }
    }
    let accepted = good.len();
    metrics::histogram!("forestall_ingest_batch_events").record(total as f64);
    metrics::counter!("forestall_events_total", "outcome" => "accepted").increment(accepted as u64);
    metrics::counter!("forestall_events_total", "outcome" => "rejected").increment((total - accepted) as u64);
    let stored = match good.is_empty() {
        true => Vec::new(),
        false => {
            let stored = ingestor.ingest(good).await?;
            if stored.len() != accepted {
                tracing::error!("the writer answered a different number of outcomes than events");
                return Err(AppError::Internal);
            }
            stored
        }
    };
    tracing::debug!(token, events = total, stored = accepted, "events ingested");
    let mut stored = stored.into_iter();
    let results: Vec<EventResult> = rejections
        .into_iter()
        .enumerate()
        .filter_map(|(index, rejected)| {
            let result = match rejected {
                Some(rejected) => EventAnswer::Rejected(rejected),
                None => EventAnswer::Stored(stored.next()?),
            };
            Some(EventResult { index, result })
        })
        .collect();
    let rejected = results.len() - accepted;
    let status = if accepted == 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({ "accepted": accepted, "rejected": rejected, "results": results })),
    )
        .into_response())
}

/// The name of the request's token, or why it is refused.
async fn authenticate(store: &Store, headers: &HeaderMap) -> Result<String, AppError> {
    let unauthorized = |message: &str| AppError::TokenRefused(message.to_owned());
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
    else {
        return Err(unauthorized(
            "An API token is required: send Authorization: Bearer <token> (forestall token create NAME).",
        ));
    };
    store
        .token_name(token)
        .await?
        .ok_or_else(|| unauthorized("The API token is not valid, or it was revoked."))
}

/// The body, at most [`BODY_LIMIT`] bytes: a declared length over it is refused before anything is read, and an
/// undeclared one as soon as it passes it.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, AppError> {
    let too_large = || {
        AppError::TooLarge(format!(
            "The body is larger than {} MiB: send fewer events per request.",
            BODY_LIMIT / (1024 * 1024)
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT) {
        return Err(too_large());
    }
    to_bytes(body, BODY_LIMIT).await.map_err(|e| {
        let over_limit =
            std::error::Error::source(&e).is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if over_limit {
            too_large()
        } else {
            tracing::debug!(error = %e, "event body unreadable");
            AppError::BadRequest("the body could not be read.".to_owned())
        }
    })
}
