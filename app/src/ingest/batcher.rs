//! Group commit: requests that arrive while a transaction is being written wait for the next one and share it, so
//! concurrent senders of single events cost one transaction per group rather than one each. A lone request is
//! written at once; nothing waits for company.

use super::{Event, Lifecycle, Stored};
use crate::{
    store::{Backend, Store},
    AppError,
};
use std::hash::{Hash, Hasher};
use tokio::sync::{mpsc, oneshot};

/// Most events written in one transaction (a few full batches).
const GROUP_MAX_EVENTS: usize = 4_000;

/// The process's writers of events: one on SQLite, which writes one transaction at a time whatever happens; four on
/// PostgreSQL, which writes different alerts in parallel. Events of one message key always go to the same writer.
#[derive(Clone, Debug)]
pub struct Ingestor {
    writers: Vec<mpsc::Sender<Job>>,
}

const POSTGRES_WRITERS: usize = 4;

#[derive(Debug)]
struct Job {
    events: Vec<Event>,
    reply: oneshot::Sender<Result<Vec<Stored>, AppError>>,
}

impl Ingestor {
    /// Starts the writers on the current tokio runtime; they end when the last handle is dropped.
    pub fn start(store: &Store, lifecycle: Lifecycle) -> Self {
        let count = match store.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => POSTGRES_WRITERS,
        };
        let writers = (0..count)
            .map(|_| {
                let (sender, receiver) = mpsc::channel(1_024);
                tokio::spawn(write_groups(store.clone(), lifecycle, receiver));
                sender
            })
            .collect();
        Self { writers }
    }

    /// Stores the events (in the next group's transaction); the outcome of each, in order.
    pub async fn ingest(&self, events: Vec<Event>) -> Result<Vec<Stored>, AppError> {
        // A request goes to the writer of its first event's key: single events are spread by key, and a key's
        // events are written in the order they came.
        let writer = events.first().map_or(0, |event| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            event.message_key.hash(&mut hasher);
            usize::try_from(hasher.finish() % self.writers.len() as u64).unwrap_or(0)
        });
        let (reply, answer) = oneshot::channel();
        if self.writers[writer].send(Job { events, reply }).await.is_err() {
            tracing::error!("the event writer has stopped");
            return Err(AppError::Internal);
        }
        answer.await.unwrap_or_else(|_| {
            tracing::error!("the event writer dropped a request");
            Err(AppError::Internal)
        })
    }
}

async fn write_groups(store: Store, lifecycle: Lifecycle, mut receiver: mpsc::Receiver<Job>) {
    while let Some(first) = receiver.recv().await {
        let mut count = first.events.len();
        let mut jobs = vec![first];
        while count < GROUP_MAX_EVENTS {
            match receiver.try_recv() {
                Ok(job) => {
                    count += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let sizes: Vec<usize> = jobs.iter().map(|job| job.events.len()).collect();
        let events: Vec<Event> = jobs
            .iter_mut()
            .flat_map(|job| std::mem::take(&mut job.events))
            .collect();
        match store.ingest(&events, lifecycle).await {
            Ok(stored) => {
                let mut stored = stored.into_iter();
                for (job, size) in jobs.into_iter().zip(sizes) {
                    let _ = job.reply.send(Ok(stored.by_ref().take(size).collect()));
                }
            }
            // The database itself refused (away, or its disk full): every request of the group is answered so at
            // once, and so is every request that queued meanwhile, rather than each trying again on its own. On
            // PostgreSQL each try waits up to the pool's 5 s for a connection, so trying one by one would keep
            // the last of a group waiting many times that long: a hang to the sender.
            Err(error @ (AppError::Unavailable | AppError::StorageFull)) => {
                while let Ok(job) = receiver.try_recv() {
                    jobs.push(job);
                }
                for job in jobs {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
            // One request's events may be what failed the group: each is written on its own, so only it fails.
            Err(_) if jobs.len() > 1 => {
                let mut events = events.into_iter();
                for (job, size) in jobs.into_iter().zip(sizes) {
                    let own: Vec<Event> = events.by_ref().take(size).collect();
                    let _ = job.reply.send(store.ingest(&own, lifecycle).await);
                }
            }
            Err(error) => {
                for job in jobs {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}
