//! The CMDB's impact graph, held in memory by each Forestall process and walked in Rust: a trace costs what it
//! reaches, not what the CMDB holds. The graph is read whole from the database and keyed by the CMDB's version
//! (`cmdb_state`, raised by a trigger on every change to CIs, relationships and items): a trace asks for the graph
//! at the version it read, and the graph is read again when the database has moved on.

use super::TracedItem;
use crate::store::{Backend, Store};
use futures_util::TryStreamExt;
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

/// Packs `(from, to)` pairs over `nodes` nodes into adjacency lists: where each node's list starts (one entry more
/// than `nodes`, for the end of the last), and the lists one after another, each in the pairs' order.
fn pack(nodes: usize, pairs: &[(u32, u32)]) -> (Vec<u32>, Vec<u32>) {
    let mut starts = vec![0u32; nodes + 1];
    for &(from, _) in pairs {
        starts[from as usize + 1] += 1;
    }
    for n in 0..nodes {
        starts[n + 1] += starts[n];
    }
    let mut next = starts.clone();
    let mut targets = vec![0u32; pairs.len()];
    for &(from, to) in pairs {
        let slot = &mut next[from as usize];
        targets[*slot as usize] = to;
        *slot += 1;
    }
    (starts, targets)
}

/// What a trace reads of one CI, side by side, so that reaching a CI of a big CMDB costs one cache miss rather than
/// one per array: where its dependents, its items and its name start. The next CI's entry (a last one closes the
/// list) says where they end.
#[derive(Clone, Copy, Default)]
struct CiNode {
    dependents: u32,
    items: u32,
    name: u32,
    in_maintenance: bool,
}

/// An active item: its id, and where its active children start (the next item's entry says where they end).
#[derive(Clone, Copy, Default)]
struct ItemNode {
    id: i64,
    children: u32,
}

/// The impact graph at one CMDB version. CIs and active items are numbered densely in the order of their ids, so
/// sorting by number sorts by id and the smallest number is the smallest id.
pub struct ImpactGraph {
    version: i64,
    ci_number: HashMap<i64, u32>,
    cis: Vec<CiNode>,
    names: String,
    /// Per CI, the CIs that depend on, run on or are hosted on it.
    dependents: Vec<u32>,
    /// Per CI, its active items.
    items_on: Vec<u32>,
    items: Vec<ItemNode>,
    /// Per active item, its active children.
    children: Vec<u32>,
}

/// A CI the trace reached: its number, hops from the alert's CI, and where in the reached list the CI one hop
/// closer on a shortest path is.
struct Reached {
    ci: u32,
    hops: u32,
    from: Option<usize>,
}

impl ImpactGraph {
    /// The CMDB version this graph was read at.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// CIs, impact-carrying relationships and active items held.
    pub fn size(&self) -> (usize, usize, usize) {
        (
            self.cis.len().saturating_sub(1),
            self.dependents.len(),
            self.items.len().saturating_sub(1),
        )
    }

    /// Bytes the graph holds on the heap (its arrays, names and the CI id index).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        // A hash map entry is its key and value plus one control byte.
        self.ci_number.capacity() * (size_of::<(i64, u32)>() + 1)
            + self.cis.capacity() * size_of::<CiNode>()
            + self.names.capacity()
            + (self.dependents.capacity() + self.items_on.capacity() + self.children.capacity()) * size_of::<u32>()
            + self.items.capacity() * size_of::<ItemNode>()
    }

    fn ci_dependents(&self, ci: u32) -> &[u32] {
        let (this, next) = (self.cis[ci as usize], self.cis[ci as usize + 1]);
        &self.dependents[this.dependents as usize..next.dependents as usize]
    }

    fn ci_items(&self, ci: u32) -> &[u32] {
        let (this, next) = (self.cis[ci as usize], self.cis[ci as usize + 1]);
        &self.items_on[this.items as usize..next.items as usize]
    }

    fn ci_name(&self, ci: u32) -> &str {
        let (this, next) = (self.cis[ci as usize], self.cis[ci as usize + 1]);
        &self.names[this.name as usize..next.name as usize]
    }

    fn item_children(&self, item: u32) -> &[u32] {
        let (this, next) = (self.items[item as usize], self.items[item as usize + 1]);
        &self.children[this.children as usize..next.children as usize]
    }

    /// The snapshot rows for an alert on the CI with id `root`, ordered by item id: the same rows as the SQL trace
    /// (impact goes from a CI to the CIs that depend on, run on or are hosted on it, up to `max_hops` hops; a CI in
    /// maintenance is not entered and, as the alert's CI, passes nothing on; each CI's path is a shortest one through
    /// the smallest CI id; active items on impacted CIs, then their active children; an item on an impacted CI is
    /// reported by its CI even when it is also a child).
    pub(crate) fn trace(&self, root: i64, max_hops: u32) -> Vec<TracedItem> {
        let Some(&root) = self.ci_number.get(&root) else {
            return Vec::new();
        };
        let reached = self.impacted(root, max_hops);

        let mut paths: Vec<Option<Arc<str>>> = vec![None; reached.len()];
        let mut seen: HashSet<u32> = HashSet::new();
        let mut rows: Vec<(u32, TracedItem)> = Vec::new();
        for (at, ci) in reached.iter().enumerate() {
            let items = self.ci_items(ci.ci);
            if items.is_empty() {
                continue;
            }
            let path = self.path(&reached, &mut paths, at);
            for &item in items {
                seen.insert(item);
                rows.push((
                    item,
                    TracedItem {
                        item_id: self.items[item as usize].id,
                        reason: if ci.hops == 0 { "direct" } else { "ci_path" },
                        hops: ci.hops,
                        ci_path: Some(Arc::clone(&path)),
                        via_item_id: None,
                    },
                ));
            }
        }
        // Children of reached items, breadth first; an item has one parent, so the first way there is the only one.
        let mut next = 0;
        while next < rows.len() {
            let (parent, parent_id) = (rows[next].0, rows[next].1.item_id);
            next += 1;
            for &child in self.item_children(parent) {
                if seen.insert(child) {
                    rows.push((
                        child,
                        TracedItem {
                            item_id: self.items[child as usize].id,
                            reason: "child",
                            hops: 0,
                            ci_path: None,
                            via_item_id: Some(parent_id),
                        },
                    ));
                }
            }
        }
        rows.sort_unstable_by_key(|(item, _)| *item);
        rows.into_iter().map(|(_, row)| row).collect()
    }

    /// The ids of the active items an alert on `root` affects, sorted.
    pub fn affected(&self, root: i64, max_hops: u32) -> Vec<i64> {
        self.trace(root, max_hops).into_iter().map(|row| row.item_id).collect()
    }

    /// The CIs impacted from `root`, breadth first, each once at its fewest hops with the smallest-numbered CI one
    /// hop closer as the way there.
    fn impacted(&self, root: u32, max_hops: u32) -> Vec<Reached> {
        let mut reached = vec![Reached {
            ci: root,
            hops: 0,
            from: None,
        }];
        let mut at: HashMap<u32, usize> = HashMap::from([(root, 0)]);
        let mut level = 0..1;
        for hops in 1..=max_hops {
            for from in level.clone() {
                let ci = reached[from].ci;
                if self.cis[ci as usize].in_maintenance {
                    continue;
                }
                for &dependent in self.ci_dependents(ci) {
                    if self.cis[dependent as usize].in_maintenance {
                        continue;
                    }
                    match at.get(&dependent) {
                        None => {
                            at.insert(dependent, reached.len());
                            reached.push(Reached {
                                ci: dependent,
                                hops,
                                from: Some(from),
                            });
                        }
                        // Reached on this level already, by another CI: keep the smallest as the way there.
                        Some(&other) if reached[other].hops == hops => {
                            let current = reached[other].from.map(|f| reached[f].ci);
                            if current.is_some_and(|current| ci < current) {
                                reached[other].from = Some(from);
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
            if reached.len() == level.end {
                break;
            }
            level = level.end..reached.len();
        }
        reached
    }

    /// CI names from the alert's CI to the reached CI at `at`, each CI's path built on its predecessor's (kept in
    /// `paths`), so a CI's name is read once however many paths pass through it.
    fn path(&self, reached: &[Reached], paths: &mut [Option<Arc<str>>], at: usize) -> Arc<str> {
        let mut unbuilt = vec![at];
        let mut built: Option<Arc<str>> = None;
        while let Some(&last) = unbuilt.last() {
            if let Some(path) = &paths[last] {
                built = Some(Arc::clone(path));
                unbuilt.pop();
                break;
            }
            match reached[last].from {
                Some(from) => unbuilt.push(from),
                None => break,
            }
        }
        while let Some(next) = unbuilt.pop() {
            let name = self.ci_name(reached[next].ci);
            let path: Arc<str> = match &built {
                Some(before) => Arc::from(format!("{before} → {name}")),
                None => Arc::from(name),
            };
            paths[next] = Some(Arc::clone(&path));
            built = Some(path);
        }
        built.unwrap_or_else(|| Arc::from(""))
    }
}

impl std::fmt::Debug for ImpactGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (cis, relationships, items) = self.size();
        f.debug_struct("ImpactGraph")
            .field("version", &self.version)
            .field("cis", &cis)
            .field("relationships", &relationships)
            .field("items", &items)
            .finish()
    }
}

/// The graph this process holds, and a lock so that one task reads a new one while the others wait for it.
#[derive(Debug, Default)]
struct GraphCache {
    current: std::sync::RwLock<Option<Arc<ImpactGraph>>>,
    reading: tokio::sync::Mutex<()>,
}

impl GraphCache {
    fn held(&self, at_least: i64) -> Option<Arc<ImpactGraph>> {
        let current = self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        current
            .as_ref()
            .filter(|graph| graph.version >= at_least)
            .map(Arc::clone)
    }
}

impl Store {
    /// The impact graph at CMDB version `version` or later: the one held if it is that recent, else read anew (once,
    /// however many traces ask at the same time). No tracing span here: this is on every trace's path.
    pub async fn impact_graph(&self, version: i64) -> Result<Arc<ImpactGraph>, sqlx::Error> {
        let graphs = self.cache::<GraphCache>();
        if let Some(graph) = graphs.held(version) {
            return Ok(graph);
        }
        let _reading = graphs.reading.lock().await;
        if let Some(graph) = graphs.held(version) {
            return Ok(graph);
        }
        let started = std::time::Instant::now();
        let graph = Arc::new(self.read_graph().await?);
        let (cis, relationships, items) = graph.size();
        tracing::info!(
            version = graph.version,
            cis,
            relationships,
            items,
            ms = started.elapsed().as_millis() as u64,
            "read the CMDB's impact graph"
        );
        *graphs
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&graph));
        Ok(graph)
    }

    /// The CMDB's current version.
    pub async fn cmdb_version(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT version FROM cmdb_state WHERE id = 1")
            .fetch_one(self.pool())
            .await
    }

    /// Reads the graph in one read-only transaction that sees one state of the database, so the version matches
    /// the rows. Rows are streamed: only the packed graph is kept.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    async fn read_graph(&self) -> Result<ImpactGraph, sqlx::Error> {
        let mut tx = match self.backend() {
            Backend::Sqlite => self.pool().begin().await?,
            Backend::Postgres => {
                self.pool()
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?
            }
        };
        let version: i64 = sqlx::query_scalar("SELECT version FROM cmdb_state WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;

        let mut ci_number = HashMap::new();
        let (mut names, mut name_starts, mut in_maintenance) = (String::new(), Vec::new(), Vec::new());
        {
            let mut rows = sqlx::query_as::<_, (i64, String, i64)>(
                "SELECT id, name, in_maintenance FROM configuration_items ORDER BY id",
            )
            .fetch(&mut *tx);
            while let Some((id, name, maintenance)) = rows.try_next().await? {
                ci_number.insert(id, dense(in_maintenance.len())?);
                name_starts.push(dense(names.len())?);
                names.push_str(&name);
                in_maintenance.push(maintenance != 0);
            }
        }
        name_starts.push(dense(names.len())?);
        let mut edges = Vec::new();
        {
            let mut rows = sqlx::query_as::<_, (i64, i64)>(
                "SELECT r.child_id, r.parent_id FROM ci_relationships r
                 JOIN relationship_types t ON t.id = r.type_id WHERE t.carries_impact = 1",
            )
            .fetch(&mut *tx);
            while let Some((child, parent)) = rows.try_next().await? {
                if let (Some(&from), Some(&to)) = (ci_number.get(&child), ci_number.get(&parent)) {
                    edges.push((from, to));
                }
            }
        }
        let mut item_ids = Vec::new();
        let (mut on_ci, mut parents) = (Vec::new(), Vec::new());
        {
            let mut rows = sqlx::query_as::<_, (i64, Option<i64>, Option<i64>)>(
                "SELECT id, ci_id, parent_id FROM install_base_items WHERE active = 1 ORDER BY id",
            )
            .fetch(&mut *tx);
            while let Some((id, ci, parent)) = rows.try_next().await? {
                let item = dense(item_ids.len())?;
                item_ids.push(id);
                if let Some(&ci) = ci.and_then(|ci| ci_number.get(&ci)) {
                    on_ci.push((ci, item));
                }
                if let Some(parent) = parent {
                    parents.push((parent, item));
                }
            }
        }
        tx.commit().await?;

        // Parents are item ids; only an active parent passes impact on, and active items are numbered by id.
        let parent_child: Vec<(u32, u32)> = parents
            .into_iter()
            .filter_map(|(parent, child)| {
                let parent = item_ids.binary_search(&parent).ok()?;
                Some((u32::try_from(parent).ok()?, child))
            })
            .collect();
        let (dependent_starts, dependents) = pack(in_maintenance.len(), &edges);
        let (item_starts, items_on) = pack(in_maintenance.len(), &on_ci);
        let (child_starts, children) = pack(item_ids.len(), &parent_child);
        let cis = (0..=in_maintenance.len())
            .map(|ci| CiNode {
                dependents: dependent_starts[ci],
                items: item_starts[ci],
                name: name_starts[ci],
                in_maintenance: in_maintenance.get(ci).copied().unwrap_or(false),
            })
            .collect();
        let items = (0..=item_ids.len())
            .map(|item| ItemNode {
                id: item_ids.get(item).copied().unwrap_or(0),
                children: child_starts[item],
            })
            .collect();
        Ok(ImpactGraph {
            version,
            ci_number,
            cis,
            names,
            dependents,
            items_on,
            items,
            children,
        })
    }
}

/// A position as a dense number; a CMDB of four billion CIs, items or bytes of names is beyond what this holds.
fn dense(n: usize) -> Result<u32, sqlx::Error> {
    u32::try_from(n).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}
