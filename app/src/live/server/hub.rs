//! [`Changes`]: the process's hub of committed changes. The follower (`follow.rs`) delivers each change it reads
//! from the database here; every open stream subscribes. The hub numbers what it delivers and keeps the most
//! recent deliveries, so a stream that reconnects with the last number it saw gets exactly what it missed.

use super::super::{Change, RecordKind};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, OnceLock},
    time::{SystemTime, UNIX_EPOCH},
};
use tokio::sync::{broadcast, watch};

/// How many recent deliveries the hub keeps for streams that reconnect (at most; see [`KEPT_CHANGES`]).
pub const RECENT: usize = 4096;
/// The deliveries kept hold at most this many changes together: at full ingestion a delivery names a thousand alerts
/// or more, and 4,096 of them would hold hundreds of megabytes.
pub const KEPT_CHANGES: usize = 100_000;
/// How far a stream may fall behind the live deliveries before it is told to resync (at one delivery every 100 ms,
/// over 25 seconds: a stream that slow has a page that refetches anyway).
pub const BACKLOG: usize = 256;

/// The changes of one delivery, each record once, sorted by kind and number, so what every stream asks of them (how
/// many alerts, is this case among them, the alerts as the event's text) costs a lookup, not a pass per stream.
#[derive(Debug, Default)]
pub struct Batch {
    changes: Vec<Change>,
    /// Where the cases start in `changes` (kinds sort alerts first).
    cases_from: usize,
    /// Each kind's changes as JSON, encoded by the first stream that sends them as they are.
    json: [OnceLock<String>; 2],
}

impl Batch {
    pub fn new(mut changes: Vec<Change>) -> Self {
        changes.sort_unstable();
        changes.dedup();
        let cases_from = changes.partition_point(|change| change.kind == RecordKind::Alert);
        Self {
            changes,
            cases_from,
            json: Default::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Every change, alerts first.
    pub fn all(&self) -> &[Change] {
        &self.changes
    }

    /// The changes to records of `kind`.
    pub fn of(&self, kind: RecordKind) -> &[Change] {
        match kind {
            RecordKind::Alert => &self.changes[..self.cases_from],
            RecordKind::Case => &self.changes[self.cases_from..],
        }
    }

    pub fn contains(&self, kind: RecordKind, number: &str) -> bool {
        self.of(kind)
            .binary_search_by(|change| change.number.as_str().cmp(number))
            .is_ok()
    }

    /// [`of(kind)`](Self::of) as a JSON array, encoded once for every stream.
    pub fn json(&self, kind: RecordKind) -> &str {
        self.json[kind as usize].get_or_init(|| serde_json::to_string(self.of(kind)).unwrap_or_default())
    }
}

/// One thing the hub sent to every stream, numbered in the order it was sent.
#[derive(Debug)]
pub enum Delivery {
    /// The changes the follower read at once (one commit's, or more): one delivery for all, so a burst costs each
    /// stream one wake-up, not one per record.
    Changes { seq: u64, changes: Batch },
    /// Something may have been missed (the database's notifications were interrupted): refetch what you show.
    Resync { seq: u64 },
}

impl Delivery {
    pub fn seq(&self) -> u64 {
        match self {
            Delivery::Changes { seq, .. } | Delivery::Resync { seq } => *seq,
        }
    }
}

/// Where a stream starts: what it missed since the position it gave, and the live deliveries after that.
pub struct Subscription {
    pub missed: Vec<Arc<Delivery>>,
    /// The position given is not one this hub can replay from (another instance's, or too old): resync first.
    pub resync: bool,
    pub receiver: broadcast::Receiver<Arc<Delivery>>,
    /// Live deliveries numbered up to this were in `missed` or before the position given.
    pub after: u64,
}

/// The hub (cheap to clone; every clone is the same hub).
#[derive(Clone, Debug)]
pub struct Changes {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Tells this process's positions from another's (or an earlier run's).
    epoch: u64,
    recent: Mutex<Recent>,
    sender: broadcast::Sender<Arc<Delivery>>,
    closed: watch::Sender<bool>,
}

#[derive(Debug, Default)]
struct Recent {
    last_seq: u64,
    deliveries: VecDeque<Arc<Delivery>>,
    /// How many changes `deliveries` hold together.
    kept_changes: usize,
}

impl Delivery {
    fn len(&self) -> usize {
        match self {
            Delivery::Changes { changes, .. } => changes.all().len(),
            Delivery::Resync { .. } => 0,
        }
    }
}

impl Default for Changes {
    fn default() -> Self {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                epoch,
                recent: Mutex::default(),
                sender: broadcast::channel(BACKLOG).0,
                closed: watch::channel(false).0,
            }),
        }
    }
}

impl Changes {
    /// The position of the last delivery, as a page hands it back when it (re)connects: `EPOCH-SEQ`.
    pub fn position(&self) -> String {
        self.position_at(self.lock().last_seq)
    }

    pub fn position_at(&self, seq: u64) -> String {
        format!("{:x}-{seq}", self.inner.epoch)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.inner
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends a committed change to every stream.
    pub fn deliver(&self, kind: RecordKind, number: String) {
        self.deliver_all(vec![Change { kind, number }]);
    }

    /// Sends committed changes to every stream, as one delivery.
    pub fn deliver_all(&self, changes: Vec<Change>) {
        let changes = Batch::new(changes);
        if !changes.is_empty() {
            self.send(|seq| Delivery::Changes { seq, changes });
        }
    }

    /// Tells every stream it may have missed changes.
    pub fn resync_all(&self) {
        self.send(|seq| Delivery::Resync { seq });
    }

    fn send(&self, make: impl FnOnce(u64) -> Delivery) {
        // Numbering, keeping and sending under one lock, so a subscriber sees each delivery exactly once: either in
        // what it missed or live.
        let mut recent = self.lock();
        recent.last_seq += 1;
        let delivery = Arc::new(make(recent.last_seq));
        recent.kept_changes += delivery.len();
        recent.deliveries.push_back(Arc::clone(&delivery));
        while recent.deliveries.len() > RECENT || (recent.kept_changes > KEPT_CHANGES && recent.deliveries.len() > 1) {
            if let Some(oldest) = recent.deliveries.pop_front() {
                recent.kept_changes -= oldest.len();
            }
        }
        tracing::trace!(?delivery, "live delivery");
        let _ = self.inner.sender.send(delivery);
    }

    /// Starts a stream from `since` (a position this or another hub gave, or none for "from now").
    pub fn subscribe(&self, since: Option<&str>) -> Subscription {
        let recent = self.lock();
        let receiver = self.inner.sender.subscribe();
        let oldest = recent.deliveries.front().map_or(recent.last_seq + 1, |d| d.seq());
        let given = since.map(|text| {
            text.split_once('-')
                .filter(|(epoch, _)| u64::from_str_radix(epoch, 16).ok() == Some(self.inner.epoch))
                .and_then(|(_, seq)| seq.parse::<u64>().ok())
                .filter(|seq| *seq + 1 >= oldest && *seq <= recent.last_seq)
        });
        match given {
            None => Subscription {
                missed: Vec::new(),
                resync: false,
                receiver,
                after: recent.last_seq,
            },
            Some(None) => Subscription {
                missed: Vec::new(),
                resync: true,
                receiver,
                after: recent.last_seq,
            },
            Some(Some(seq)) => Subscription {
                missed: recent.deliveries.iter().filter(|d| d.seq() > seq).cloned().collect(),
                resync: false,
                receiver,
                after: recent.last_seq,
            },
        }
    }

    /// Ends every stream (at shutdown) and the follower.
    pub fn close(&self) {
        let _ = self.inner.closed.send(true);
    }

    /// True once [`close`](Self::close) was called, and told when it is.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.inner.closed.subscribe()
    }

    /// Resolves once [`close`](Self::close) was called.
    pub async fn closed(&self) {
        let mut closed = self.inner.closed.subscribe();
        let _ = closed.wait_for(|closed| *closed).await;
    }

    /// How many streams are open.
    pub fn streams(&self) -> usize {
        self.inner.sender.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(deliveries: &[Arc<Delivery>]) -> Vec<String> {
        deliveries
            .iter()
            .map(|d| match &**d {
                Delivery::Changes { changes, .. } => changes.all()[0].number.clone(),
                Delivery::Resync { .. } => "resync".into(),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_stream_that_comes_back_gets_what_it_missed_and_nothing_twice() {
        let hub = Changes::default();
        hub.deliver(RecordKind::Alert, "Alert0010001".into());
        let position = hub.position();
        hub.deliver(RecordKind::Alert, "Alert0010002".into());
        hub.resync_all();

        let mut back = hub.subscribe(Some(&position));
        assert!(!back.resync);
        assert_eq!(numbers(&back.missed), ["Alert0010002", "resync"]);
        hub.deliver(RecordKind::Case, "CS0010001".into());
        let live = back.receiver.recv().await.expect("live");
        assert!(live.seq() > back.after);
        assert_eq!(numbers(&[live]), ["CS0010001"]);

        // From now: nothing missed.
        let fresh = hub.subscribe(None);
        assert!(fresh.missed.is_empty() && !fresh.resync);
    }

    #[test]
    fn a_position_this_hub_cannot_replay_from_asks_for_a_resync() {
        let hub = Changes::default();
        let other = Changes {
            inner: Arc::new(Inner {
                epoch: 7,
                recent: Mutex::default(),
                sender: broadcast::channel(4).0,
                closed: watch::channel(false).0,
            }),
        };
        other.deliver(RecordKind::Alert, "Alert0010001".into());
        assert!(
            hub.subscribe(Some(&other.position())).resync,
            "another instance's position"
        );
        assert!(hub.subscribe(Some("garbage")).resync);
        hub.deliver(RecordKind::Alert, "Alert0010001".into());
        let old = hub.position_at(0);
        for _ in 0..RECENT {
            hub.deliver(RecordKind::Alert, "Alert0010002".into());
        }
        assert!(hub.subscribe(Some(&old)).resync, "older than what the hub keeps");
        assert!(!hub.subscribe(Some(&hub.position_at(1))).resync, "the oldest kept");
    }

    fn change(kind: RecordKind, number: &str) -> Change {
        Change {
            kind,
            number: number.into(),
        }
    }

    #[test]
    fn a_batch_names_each_record_once_and_answers_by_kind() {
        let batch = Batch::new(vec![
            change(RecordKind::Case, "CS0010002"),
            change(RecordKind::Alert, "Alert0010009"),
            change(RecordKind::Alert, "Alert0010001"),
            change(RecordKind::Alert, "Alert0010009"),
        ]);
        assert_eq!(batch.all().len(), 3, "the repeated alert once");
        assert_eq!(batch.of(RecordKind::Alert).len(), 2);
        assert!(batch.contains(RecordKind::Alert, "Alert0010009"));
        assert!(!batch.contains(RecordKind::Case, "Alert0010009"), "by kind");
        assert!(batch.contains(RecordKind::Case, "CS0010002"));
        assert_eq!(
            batch.json(RecordKind::Alert),
            r#"[{"kind":"alert","number":"Alert0010001"},{"kind":"alert","number":"Alert0010009"}]"#
        );
        assert_eq!(
            batch.json(RecordKind::Case),
            r#"[{"kind":"case","number":"CS0010002"}]"#
        );
    }

    #[test]
    fn the_replay_keeps_a_bounded_number_of_changes() {
        let hub = Changes::default();
        let big = |n: usize| {
            (0..n)
                .map(|i| change(RecordKind::Alert, &format!("Alert{i:07}")))
                .collect()
        };
        for _ in 0..5 {
            hub.deliver_all(big(KEPT_CHANGES / 2));
        }
        let recent = hub.lock();
        assert!(recent.kept_changes <= KEPT_CHANGES, "{} kept", recent.kept_changes);
        assert_eq!(recent.deliveries.len(), 2, "the newest deliveries stay");
        assert_eq!(recent.deliveries.back().map(|d| d.seq()), Some(5));
    }
}
