//! `GET /live?topics=…&since=…`: the stream an open page reads (server-sent events). Each event names the records
//! that changed (`event: changes`, `data: [{"kind":"alert","number":"Alert0010027"}]`, what the server read at once, at most every 100 ms) or
//! tells the page to refetch what it shows (`event: resync`); its id is the hub's position, which the page hands back when it reconnects (as
//! `Last-Event-ID`, or `since`). The guard lets only signed-in users through; each topic needs the permission to view
//! its records, and the session and role are checked again while the stream is open.

use super::{Changes, Delivery};
use crate::{
    access::Viewer,
    auth::server::session_still_allows,
    live::{Change, Topic},
    store::Store,
    AppError,
};
use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{
        sse::{Event, Sse},
        IntoResponse, Response,
    },
    Extension,
};
use futures_util::stream;
use serde::Deserialize;
use std::{borrow::Cow, collections::VecDeque, convert::Infallible, sync::Arc, time::Duration};
use tokio::sync::{
    broadcast::{
        error::{RecvError, TryRecvError},
        Receiver,
    },
    watch,
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

/// How long a stream stays open before the server ends it and the page reconnects (with its position, so it misses
/// nothing): behind a load balancer, streams spread over new instances this way. `None`: no limit.
#[derive(Clone, Copy, Debug, Default)]
pub struct MaxStreamAge(pub Option<Duration>);

pub async fn stream(
    State(store): State<Store>,
    State(changes): State<Changes>,
    State(MaxStreamAge(max_age)): State<MaxStreamAge>,
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
    let subscription = changes.subscribe(since);
    let mut pending = VecDeque::from([Event::default().retry(RETRY)]);
    if subscription.resync {
        pending.push_back(resync(&changes, subscription.after));
    }
    let now = tokio::time::Instant::now();
    let following = Following {
        ends: max_age.map(|age| now + age),
        pending,
        after: subscription.after,
        receiver: subscription.receiver,
        closing: changes.closing(),
        recheck_at: now + RECHECK,
        keep_alive_at: now + KEEP_ALIVE,
        quiet_until: None,
        store,
        session: session.id(),
        viewer,
        topics,
        changes,
        _open: OpenStream::new(),
    };
    let mut following = following;
    for missed in subscription.missed {
        if let Some(say) = following.say(std::slice::from_ref(&missed)) {
            let event = following.event(say, missed.seq());
            following.pending.push_back(event);
        }
    }
    let events = stream::unfold(following, |mut following| async move {
        following
            .next()
            .await
            .map(|event| (Ok::<_, Infallible>(event), following))
    });
    let mut response = Sse::new(events).into_response();
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
    /// True once the server shuts down.
    closing: watch::Receiver<bool>,
    /// When the session and role are checked next.
    recheck_at: tokio::time::Instant,
    /// When a comment goes out if nothing else has (any event moves it on).
    keep_alive_at: tokio::time::Instant,
    /// After a `resync`, the stream is quiet until then: see [`QUIET_AFTER_RESYNC`].
    quiet_until: Option<tokio::time::Instant>,
    store: Store,
    /// Kept by id only: an idle stream should not hold the session's record.
    session: Option<tower_sessions::session::Id>,
    viewer: Viewer,
    topics: Vec<Topic>,
    changes: Changes,
    /// Counts the stream among the open ones while it lives.
    _open: OpenStream,
}

/// One of the open live streams (`forestall_live_streams`), for as long as it is alive.
struct OpenStream;

impl OpenStream {
    fn new() -> Self {
        metrics::gauge!("forestall_live_streams").increment(1.0);
        OpenStream
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics::gauge!("forestall_live_streams").decrement(1.0);
    }
}

/// What a stream says of deliveries that concern it.
enum Say<'a> {
    /// The records that changed, as the event's JSON text.
    Names(Cow<'a, str>),
    /// Too many to name, or some may be missing: refetch what you show.
    Resync,
}

/// After telling a page to resync, a stream waits this long before it says anything more, gathering meanwhile.
/// A resync means a burst (or a gap); the page refetches at most every 500 ms anyway, so under full ingestion each
/// stream wakes twice a second instead of at every delivery, and a quiet moment's change still goes out at once.
pub const QUIET_AFTER_RESYNC: Duration = Duration::from_millis(500);

impl Following {
    /// The next event to send, or `None` to end the stream (shutdown, sign-out, a role that may no longer see it).
    ///
    /// One timer for all that is due by time (the end, the re-check, the keep-alive, the end of a quiet spell): an
    /// idle stream holds one sleep, not four (see BENCHMARKS.md, "Live updates", memory per idle stream).
    async fn next(&mut self) -> Option<Event> {
        let event = self.next_unstamped().await?;
        self.keep_alive_at = tokio::time::Instant::now() + KEEP_ALIVE;
        Some(event)
    }

    async fn next_unstamped(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let now = tokio::time::Instant::now();
            if *self.closing.borrow() || self.ends.is_some_and(|at| at <= now) {
                return None;
            }
            if self.quiet_until.is_some_and(|at| at <= now) {
                // The deliveries waited in the channel meanwhile: gathered now, as one event.
                self.quiet_until = None;
                if let Some(event) = self.gathered(Vec::new()) {
                    return Some(event);
                }
                continue;
            }
            if self.recheck_at <= now {
                self.recheck_at = now + RECHECK;
                // Boxed: the check's database futures are large, and an idle stream should not carry their room.
                let allowed = Box::pin(session_still_allows(
                    &self.store,
                    self.session,
                    &self.viewer,
                    |viewer| self.topics.iter().all(|topic| viewer.may(topic.kind().permission())),
                ));
                if !allowed.await {
                    return None;
                }
                continue;
            }
            if self.keep_alive_at <= now {
                // A comment line: proxies and browsers keep the stream open.
                return Some(Event::default().comment(""));
            }
            let wake = [
                self.ends,
                self.quiet_until,
                Some(self.recheck_at),
                Some(self.keep_alive_at),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(self.keep_alive_at);
            let quiet = self.quiet_until.is_some();
            tokio::select! {
                changed = self.closing.changed() => if changed.is_err() {
                    return None;
                },
                () = tokio::time::sleep_until(wake) => {}
                // Not read during a quiet spell.
                received = self.receiver.recv(), if !quiet => match received {
                    Ok(delivery) => {
                        if delivery.seq() > self.after {
                            self.after = delivery.seq();
                            if let Some(event) = self.gathered(vec![delivery]) {
                                return Some(event);
                            }
                        }
                    }
                    // Fell behind by more than the hub keeps: what was skipped is unknown, so the page refetches.
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::debug!(skipped, "live stream fell behind; resync");
                        return Some(self.event(Say::Resync, self.after));
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }

    /// `deliveries` and every other already waiting, as one event, if they concern the stream.
    fn gathered(&mut self, mut deliveries: Vec<Arc<Delivery>>) -> Option<Event> {
        loop {
            match self.receiver.try_recv() {
                Ok(delivery) if delivery.seq() > self.after => {
                    self.after = delivery.seq();
                    deliveries.push(delivery);
                }
                Ok(_) => {}
                Err(TryRecvError::Empty) => break,
                // Fell behind: the page refetches what it shows.
                Err(TryRecvError::Lagged(_)) => return Some(self.event(Say::Resync, self.after)),
                Err(TryRecvError::Closed) => break,
            }
        }
        let say = self.say(&deliveries)?;
        Some(self.event(say, self.after))
    }

    /// What the stream says of `deliveries` (one, or several that were waiting at once): the records it follows
    /// that changed, or resync when there are too many to name; nothing if none concerns it.
    fn say<'a>(&self, deliveries: &'a [Arc<Delivery>]) -> Option<Say<'a>> {
        let batches = deliveries
            .iter()
            .map(|delivery| match &**delivery {
                Delivery::Changes { changes, .. } => Some(changes),
                Delivery::Resync { .. } => None,
            })
            .collect::<Option<Vec<_>>>();
        let Some(batches) = batches else {
            return Some(Say::Resync);
        };
        // A list page's stream hearing one delivery (nearly always): the text is the batch's, encoded once for all.
        if let ([Topic::All(kind)], [batch]) = (self.topics.as_slice(), batches.as_slice()) {
            return match batch.of(*kind).len() {
                0 => None,
                n if n > MAX_NAMED => Some(Say::Resync),
                _ => Some(Say::Names(Cow::Borrowed(batch.json(*kind)))),
            };
        }
        let mut gathered: Vec<Change> = Vec::new();
        for batch in batches {
            for topic in &self.topics {
                match topic {
                    Topic::All(kind) => {
                        let of = batch.of(*kind);
                        if of.len() > MAX_NAMED {
                            return Some(Say::Resync);
                        }
                        gathered.extend_from_slice(of);
                    }
                    Topic::One(kind, number) if batch.contains(*kind, number) => gathered.push(Change {
                        kind: *kind,
                        number: number.clone(),
                    }),
                    Topic::One(..) => {}
                }
            }
        }
        gathered.sort_unstable();
        gathered.dedup();
        match gathered.len() {
            0 => None,
            n if n > MAX_NAMED => Some(Say::Resync),
            _ => Some(Say::Names(Cow::Owned(
                serde_json::to_string(&gathered).unwrap_or_default(),
            ))),
        }
    }

    /// The event that says `say`, positioned at `seq`.
    fn event(&mut self, say: Say<'_>, seq: u64) -> Event {
        match say {
            Say::Names(text) => Event::default()
                .event("changes")
                .id(self.changes.position_at(seq))
                .data(text),
            Say::Resync => {
                self.quiet_until = Some(tokio::time::Instant::now() + QUIET_AFTER_RESYNC);
                resync(&self.changes, seq)
            }
        }
    }
}
