//! `GET /live?topics=…&since=…`: the stream an open page reads (server-sent events). Each event names the records
//! that changed (`event: changes`, `data: [{"kind":"alert","number":"Alert0010027"}]`, what the server read at once, at most every 50 ms) or
//! tells the page to refetch what it shows (`event: resync`); its id is the hub's position, which the page hands back when it reconnects (as
//! `Last-Event-ID`, or `since`). The guard lets only signed-in users through; each topic needs the permission to view
//! its records, and the session and role are checked again while the stream is open.

use super::{Changes, Delivery};
use crate::{
    auth::{server::session_still_allows, Viewer},
    live::{Change, Topic},
    state::AppState,
    AppError,
};
use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Extension,
};
use futures_util::stream;
use serde::Deserialize;
use std::{collections::VecDeque, convert::Infallible, future::Future, pin::Pin, sync::Arc, time::Duration};
use tokio::sync::broadcast::{
    error::{RecvError, TryRecvError},
    Receiver,
};
use tower_sessions::Session;

/// The stream's path.
pub const PATH: &str = "/live";
/// How often an open stream checks that its session and role still allow it.
pub const RECHECK: Duration = Duration::from_secs(20);
/// A comment line this often keeps proxies and browsers from closing an idle stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// More records than this in one gathering, and the stream says `resync` instead of naming them.
pub const MAX_NAMED: usize = 100;
/// What the browser waits before reconnecting a stream that ended.
pub const RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Default, Deserialize)]
pub struct LiveQuery {
    topics: Option<String>,
    since: Option<String>,
}

pub async fn stream(
    State(state): State<AppState>,
    viewer: Option<Extension<Viewer>>,
    session: Session,
    headers: HeaderMap,
    Query(query): Query<LiveQuery>,
) -> Response {
    let Some(Extension(viewer)) = viewer else {
        return AppError::Unauthorized.into_response();
    };
    let topics = match Topic::parse_list(query.topics.as_deref().unwrap_or_default()) {
        Ok(topics) => topics,
        Err(error) => return error.into_response(),
    };
    if topics.iter().any(|topic| !viewer.may(topic.kind().permission())) {
        return AppError::Forbidden.into_response();
    }
    let since = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .or(query.since.as_deref());
    let changes = state.changes.clone();
    let subscription = changes.subscribe(since);
    let mut pending = VecDeque::from([Event::default().retry(RETRY)]);
    if subscription.resync {
        pending.push_back(resync(&changes, subscription.after));
    }
    let ends = state.settings.live_max_age.map(|age| tokio::time::Instant::now() + age);
    let following = Following {
        ends,
        pending,
        after: subscription.after,
        receiver: subscription.receiver,
        closed: Box::pin({
            let changes = changes.clone();
            async move { changes.closed().await }
        }),
        recheck: tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK),
        store: state.store.clone(),
        session: session.id(),
        viewer,
        topics,
        changes,
    };
    let mut following = following;
    for missed in subscription.missed {
        if let Some(event) = following.event_for(&missed) {
            following.pending.push_back(event);
        }
    }
    let events = stream::unfold(following, |mut following| async move {
        following
            .next()
            .await
            .map(|event| (Ok::<_, Infallible>(event), following))
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // nginx and others buffer responses unless told not to; a buffered stream arrives late or never.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

fn resync(changes: &Changes, seq: u64) -> Event {
    Event::default().event("resync").id(changes.position_at(seq)).data("{}")
}

/// One open stream's state.
struct Following {
    /// When the stream ends by itself (the page reconnects), if it does.
    ends: Option<tokio::time::Instant>,
    pending: VecDeque<Event>,
    /// Live deliveries up to this were sent already (or are before where the stream started).
    after: u64,
    receiver: Receiver<Arc<Delivery>>,
    closed: Pin<Box<dyn Future<Output = ()> + Send>>,
    recheck: tokio::time::Interval,
    store: crate::store::Store,
    /// Kept by id only: an idle stream should not hold the session's record.
    session: Option<tower_sessions::session::Id>,
    viewer: Viewer,
    topics: Vec<Topic>,
    changes: Changes,
}

impl Following {
    /// The next event to send, or `None` to end the stream (shutdown, sign-out, a role that may no longer see it).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let ends = self.ends;
            tokio::select! {
                () = &mut self.closed => return None,
                () = async move {
                    if let Some(at) = ends {
                        tokio::time::sleep_until(at).await;
                    }
                }, if ends.is_some() => return None,
                _ = self.recheck.tick() => {
                    // Boxed: the check's database futures are large, and an idle stream should not carry their
                    // room while it waits (see BENCHMARKS.md, "Live updates").
                    let allowed = Box::pin(session_still_allows(&self.store, self.session, &self.viewer, |viewer| {
                        self.topics.iter().all(|topic| viewer.may(topic.kind().permission()))
                    }));
                    if !allowed.await {
                        return None;
                    }
                }
                received = self.receiver.recv() => match received {
                    Ok(delivery) => {
                        if delivery.seq() > self.after {
                            self.after = delivery.seq();
                            if let Some(event) = self.gathered_from(&delivery) {
                                return Some(event);
                            }
                        }
                    }
                    // Fell behind by more than the hub keeps: what was skipped is unknown, so the page refetches.
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::debug!(skipped, "live stream fell behind; resync");
                        return Some(resync(&self.changes, self.after));
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }

    /// Adds what of `delivery` this stream follows to `gathered`; `false` when the page must resync instead.
    fn gather(&self, delivery: &Delivery, gathered: &mut Vec<Change>) -> bool {
        match delivery {
            Delivery::Changes { changes, .. } => {
                for change in changes {
                    if self.topics.iter().any(|topic| topic.matches(change)) && !gathered.contains(change) {
                        if gathered.len() == MAX_NAMED {
                            return false;
                        }
                        gathered.push(change.clone());
                    }
                }
                true
            }
            Delivery::Resync { .. } => false,
        }
    }

    /// The event for `delivery` (what the stream missed while away), if it concerns the stream.
    fn event_for(&self, delivery: &Delivery) -> Option<Event> {
        let mut gathered = Vec::new();
        if !self.gather(delivery, &mut gathered) {
            return Some(resync(&self.changes, delivery.seq()));
        }
        (!gathered.is_empty()).then(|| self.changes_event(&gathered, delivery.seq()))
    }

    fn changes_event(&self, gathered: &[Change], seq: u64) -> Event {
        Event::default()
            .event("changes")
            .id(self.changes.position_at(seq))
            .data(serde_json::to_string(gathered).unwrap_or_default())
    }

    /// After a first delivery that concerns the stream, gathers what else is already waiting into one event.
    fn gathered_from(&mut self, first: &Delivery) -> Option<Event> {
        let mut gathered = Vec::new();
        let mut complete = self.gather(first, &mut gathered);
        while complete {
            match self.receiver.try_recv() {
                Ok(delivery) if delivery.seq() > self.after => {
                    self.after = delivery.seq();
                    complete = self.gather(&delivery, &mut gathered);
                }
                Ok(_) => {}
                Err(TryRecvError::Empty) => break,
                Err(_) => complete = false,
            }
        }
        match complete {
            true => (!gathered.is_empty()).then(|| self.changes_event(&gathered, self.after)),
            // Too many records, or fell behind: the page refetches what it shows.
            false => Some(resync(&self.changes, self.after)),
        }
    }
}
