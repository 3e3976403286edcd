//! The HTTP endpoints monitoring posts to. Each checks the API token before reading the body, refuses a body over
//! [`BODY_LIMIT`] before reading it whole, and answers JSON: per event what it did, or what is wrong with it.

use super::Ingestor;
use super::{
    event::FieldError,
    formats::{self, Payload},
    record::Stored,
};
use crate::store::Store;
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

fn error(status: StatusCode, message: &str, field: Option<&str>) -> Response {
    (status, Json(json!({ "error": message, "field": field }))).into_response()
}

async fn ingest(
    store: &Store,
    ingestor: &Ingestor,
    headers: &HeaderMap,
    body: Body,
    read: impl Fn(&Value) -> Result<Payload, FieldError>,
) -> Response {
    let token = match authenticate(store, headers).await {
        Ok(token) => token,
        Err(response) => return response,
    };
    let bytes = match read_body(headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("The body is not valid JSON: {e}."),
                None,
            )
        }
    };
    let payload = match read(&value) {
        Ok(payload) => payload,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, &e.message, Some(&e.field)),
    };
    if payload.single {
        if let Some(Err(e)) = payload.events.first() {
            return error(StatusCode::UNPROCESSABLE_ENTITY, &e.message, Some(&e.field));
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
    let stored = match good.is_empty() {
        true => Vec::new(),
        false => match ingestor.ingest(good).await {
            Ok(stored) if stored.len() == accepted => stored,
            Ok(_) => {
                tracing::error!("the writer answered a different number of outcomes than events");
                let internal = crate::AppError::Internal.to_string();
                return error(StatusCode::INTERNAL_SERVER_ERROR, &internal, None);
            }
            Err(e) => {
                let status = StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return error(status, &e.to_string(), None);
            }
        },
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
    (
        status,
        Json(json!({ "accepted": accepted, "rejected": rejected, "results": results })),
    )
        .into_response()
}

/// The name of the request's token, or the 401 that refuses it.
async fn authenticate(store: &Store, headers: &HeaderMap) -> Result<String, Response> {
    let unauthorized = |message: &str| {
        let mut response = error(StatusCode::UNAUTHORIZED, message, None);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        response
    };
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
    match store.token_name(token).await {
        Ok(Some(name)) => Ok(name),
        Ok(None) => Err(unauthorized("The API token is not valid, or it was revoked.")),
        Err(e) => {
            tracing::error!(error = %e, "could not check an API token");
            Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &crate::AppError::Internal.to_string(),
                None,
            ))
        }
    }
}

/// The body, at most [`BODY_LIMIT`] bytes: a declared length over it is refused before anything is read, and an
/// undeclared one as soon as it passes it.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, Response> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "The body is larger than {} MiB: send fewer events per request.",
                BODY_LIMIT / (1024 * 1024)
            ),
            None,
        )
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
            error(StatusCode::BAD_REQUEST, "The body could not be read.", None)
        }
    })
}
