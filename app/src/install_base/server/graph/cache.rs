//! The graph this process holds: brought up to date from the change record when a trace asks for a newer version,
//! read whole in the background when there is none (or the record does not reach back far enough), and compacted
//! in the background when its overlay grows.

use super::{changes::Catchup, ImpactGraph};
use crate::store::Store;
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

/// CIs and items an overlay holds before the graph is compacted into fresh packed arrays.
const COMPACT_AT: usize = 4_096;

/// The graph this process holds, and what brings it up to date.
#[derive(Debug, Default)]
pub(in crate::install_base::server) struct GraphCache {
    current: std::sync::RwLock<Option<Arc<ImpactGraph>>>,
    /// One task at a time brings the held graph up to date; the others wait for it (it takes milliseconds).
    updating: tokio::sync::Mutex<()>,
    /// Whether the graph is being read whole in the background.
    loading: AtomicBool,
    /// Told when a read in the background ends, whether or not it succeeded.
    loaded: tokio::sync::Notify,
    compacting: AtomicBool,
    /// Held by a test to keep the read in the background from starting.
    #[cfg(test)]
    pub(in crate::install_base::server) hold_loading: tokio::sync::Mutex<()>,
}

impl GraphCache {
    fn held(&self) -> Option<Arc<ImpactGraph>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(Arc::clone)
    }

    fn held_at(&self, at_least: i64) -> Option<Arc<ImpactGraph>> {
        self.held().filter(|graph| graph.version >= at_least)
    }

    /// Holds `graph` unless a newer one is held already.
    fn hold(&self, graph: &Arc<ImpactGraph>) {
        let mut current = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.as_ref().is_none_or(|held| held.version <= graph.version) {
            *current = Some(Arc::clone(graph));
        }
    }
}

impl Store {
    /// The impact graph at CMDB version `version` or later, or `None` while it is being read whole (at start, or
    /// when the held graph is too far behind for the change record): the caller traces in SQL meanwhile. A held
    /// graph that is behind is brought up to date from the change record first, once however many traces ask at
    /// the same time. No tracing span here: this is on every trace's path.
    pub async fn impact_graph(&self, version: i64) -> Result<Option<Arc<ImpactGraph>>, sqlx::Error> {
        let graphs = self.cache::<GraphCache>();
        if let Some(graph) = graphs.held_at(version) {
            return Ok(Some(graph));
        }
        let _updating = graphs.updating.lock().await;
        if let Some(graph) = graphs.held_at(version) {
            return Ok(Some(graph));
        }
        if graphs.loading.load(Ordering::Acquire) {
            return Ok(None);
        }
        if let Some(behind) = graphs.held() {
            let started = std::time::Instant::now();
            if let Catchup::Applied(graph) = self.catch_up(&behind).await? {
                let graph = Arc::new(*graph);
                tracing::debug!(
                    from = behind.version,
                    to = graph.version,
                    changed = graph.changed(),
                    us = started.elapsed().as_micros() as u64,
                    "applied the CMDB's changes to the impact graph"
                );
                graphs.hold(&graph);
                if graph.changed() >= COMPACT_AT {
                    self.compact_in_background(&graphs, Arc::clone(&graph));
                }
                return Ok(Some(graph));
            }
        }
        self.load_in_background(&graphs);
        Ok(None)
    }

    /// The impact graph at version `version` or later, waiting for it to be read if need be (the benchmark, and
    /// tests that trace without writing).
    pub async fn impact_graph_loaded(&self, version: i64) -> Result<Arc<ImpactGraph>, sqlx::Error> {
        let graphs = self.cache::<GraphCache>();
        for _ in 0..2 {
            let loaded = graphs.loaded.notified();
            tokio::pin!(loaded);
            loaded.as_mut().enable();
            if let Some(graph) = self.impact_graph(version).await? {
                return Ok(graph);
            }
            if graphs.loading.load(Ordering::Acquire) {
                loaded.await;
            }
        }
        // The read in the background failed (it logged why): read here, to return the error.
        let _updating = graphs.updating.lock().await;
        let graph = Arc::new(self.read_graph().await?);
        graphs.hold(&graph);
        Ok(graph)
    }

    /// Reads the graph whole in a task of its own, unless one is reading it already.
    fn load_in_background(&self, graphs: &Arc<GraphCache>) {
        if graphs.loading.swap(true, Ordering::AcqRel) {
            return;
        }
        let (store, graphs) = (self.clone(), Arc::clone(graphs));
        tokio::spawn(async move {
            #[cfg(test)]
            drop(graphs.hold_loading.lock().await);
            let started = std::time::Instant::now();
            match store.read_graph().await {
                Ok(graph) => {
                    let (cis, relationships, items) = graph.size();
                    tracing::info!(
                        version = graph.version,
                        cis,
                        relationships,
                        items,
                        ms = started.elapsed().as_millis() as u64,
                        "read the CMDB's impact graph"
                    );
                    graphs.hold(&Arc::new(graph));
                }
                Err(error) => tracing::warn!(%error, "could not read the CMDB's impact graph"),
            }
            graphs.loading.store(false, Ordering::Release);
            graphs.loaded.notify_waiters();
        });
    }

    /// Folds `graph`'s overlay into fresh packed arrays in a task of its own, then holds the result, brought up to
    /// date with whatever changed meanwhile.
    fn compact_in_background(&self, graphs: &Arc<GraphCache>, graph: Arc<ImpactGraph>) {
        if graphs.compacting.swap(true, Ordering::AcqRel) {
            return;
        }
        let (store, graphs) = (self.clone(), Arc::clone(graphs));
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let compacted = tokio::task::spawn_blocking(move || graph.compacted()).await;
            match compacted {
                Ok(Ok(compacted)) => {
                    let _updating = graphs.updating.lock().await;
                    let held = graphs.held().map_or(0, |held| held.version);
                    let compacted = if held > compacted.version {
                        match store.catch_up(&compacted).await {
                            Ok(Catchup::Applied(caught_up)) => Some(*caught_up),
                            Ok(Catchup::ReadWhole) => None,
                            Err(error) => {
                                tracing::warn!(%error, "could not bring the compacted impact graph up to date");
                                None
                            }
                        }
                    } else {
                        Some(compacted)
                    };
                    if let Some(compacted) = compacted {
                        tracing::info!(
                            version = compacted.version,
                            ms = started.elapsed().as_millis() as u64,
                            "compacted the impact graph"
                        );
                        graphs.hold(&Arc::new(compacted));
                    }
                }
                Ok(Err(error)) => tracing::warn!(%error, "could not compact the impact graph"),
                Err(error) => tracing::warn!(%error, "compacting the impact graph failed"),
            }
            graphs.compacting.store(false, Ordering::Release);
        });
    }

    /// The CMDB's current version.
    pub async fn cmdb_version(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT version FROM cmdb_state WHERE id = 1")
            .fetch_one(self.pool())
            .await
    }
}
