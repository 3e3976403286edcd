//! Group commit: requests that arrive while a transaction is being written wait for the next one and share it, so
//! concurrent senders of single events cost one transaction per group rather than one each. A lone request is
//! written at once; nothing waits for company.

use super::{Event, Lifecycle, Stored};
use crate::{store::Store, AppError};
use tokio::sync::{mpsc, oneshot};

/// Most events written in one transaction (a few full batches).
const GROUP_MAX_EVENTS: usize = 4_000;

/// The process's one writer of events.
#[derive(Clone, Debug)]
pub struct Ingestor {
    sender: mpsc::Sender<Job>,
}

#[derive(Debug)]
struct Job {
    events: Vec<Event>,
    reply: oneshot::Sender<Result<Vec<Stored>, AppError>>,
}

impl Ingestor {
    /// Starts the writer on the current tokio runtime; it ends when the last handle is dropped.
    pub fn start(store: Store, lifecycle: Lifecycle) -> Self {
        let (sender, receiver) = mpsc::channel(1_024);
        tokio::spawn(write_groups(store, lifecycle, receiver));
        Self { sender }
    }

    /// Stores the events (in the next group's transaction); the outcome of each, in order.
    pub async fn ingest(&self, events: Vec<Event>) -> Result<Vec<Stored>, AppError> {
        let (reply, answer) = oneshot::channel();
        if self.sender.send(Job { events, reply }).await.is_err() {
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
            Err(error) => {
                for job in jobs {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}
