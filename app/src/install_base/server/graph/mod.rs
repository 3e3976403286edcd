//! The CMDB's impact graph, held in memory by each Forestall process and walked in Rust: a trace costs what it
//! reaches, not what the CMDB holds. The graph is keyed by the CMDB's version (`cmdb_state`, raised by triggers on
//! every change to CIs, relationships and items): a trace asks for the graph at the version it read.
//!
//! When the database has moved on, the graph is not read again: the same triggers record what changed
//! (`cmdb_changes`), and the held graph applies the changes since its version, reading only the changed rows
//! (`changes`). The packed arrays read whole (`read`) stay as they are, shared by every version built on them; the
//! changes go into an overlay of the CIs and items they touched, copied for each new version, so that a trace in
//! flight keeps its own. Past a few thousand touched CIs and items the overlay is compacted into fresh packed arrays
//! in the background (`cache`).
//!
//! A graph is read whole only when there is none yet (at start) or when the held one is further behind than the
//! record reaches. Refreshes do not wait for that read: while it runs in the background they are traced in SQL
//! (`trace_sql`), the reference the walk is checked against, which gives the same rows.

mod cache;
mod changes;
mod pack;
mod read;

#[cfg(test)]
pub(super) use cache::GraphCache;

use super::TracedItem;
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

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

/// The graph as read whole (or compacted) at one version, in packed arrays. CIs and active items are numbered
/// densely in the order of their ids, so that comparing numbers compares ids.
struct Packed {
    version: i64,
    /// Per CI number, its id (so ascending: a CI's number is found by binary search).
    ci_ids: Vec<i64>,
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

impl Packed {
    fn ci_count(&self) -> usize {
        self.ci_ids.len()
    }

    fn item_count(&self) -> usize {
        self.items.len().saturating_sub(1)
    }

    fn ci_number(&self, id: i64) -> Option<u32> {
        self.ci_ids.binary_search(&id).ok().and_then(|n| u32::try_from(n).ok())
    }

    fn item_number(&self, id: i64) -> Option<u32> {
        self.items[..self.item_count()]
            .binary_search_by_key(&id, |item| item.id)
            .ok()
            .and_then(|n| u32::try_from(n).ok())
    }

    fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.ci_ids.capacity() * size_of::<i64>()
            + self.cis.capacity() * size_of::<CiNode>()
            + self.names.capacity()
            + (self.dependents.capacity() + self.items_on.capacity() + self.children.capacity()) * size_of::<u32>()
            + self.items.capacity() * size_of::<ItemNode>()
    }
}

/// A CI as it is now, when it changed since the packed arrays were made (or was added since).
#[derive(Clone, Debug)]
struct CiState {
    id: i64,
    /// False once deleted: its number is not used again, so relationships that still name it lead nowhere.
    present: bool,
    name: Box<str>,
    in_maintenance: bool,
    dependents: Vec<u32>,
    items: Vec<u32>,
}

/// An item as it is now, when it changed since the packed arrays were made (or was added since).
#[derive(Clone, Debug)]
struct ItemState {
    id: i64,
    /// Whether it is an active item now; only active items are on CIs' and parents' lists.
    active: bool,
    children: Vec<u32>,
}

/// Which numbers have an entry in an overlay map: a bit test, so that an unchanged CI or item costs no hash lookup.
#[derive(Clone, Debug, Default)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Self {
        Self(vec![0; len.div_ceil(64)])
    }

    fn get(&self, n: u32) -> bool {
        self.0
            .get(n as usize / 64)
            .is_some_and(|word| word >> (n % 64) & 1 == 1)
    }

    fn set(&mut self, n: u32) {
        if let Some(word) = self.0.get_mut(n as usize / 64) {
            *word |= 1 << (n % 64);
        }
    }
}

/// What changed since the packed arrays were made. Numbers past the packed arrays' are CIs and items added since.
#[derive(Clone, Debug, Default)]
struct Overlay {
    cis: HashMap<u32, CiState>,
    changed_cis: Bits,
    /// CI ids whose number is not the packed arrays': added since (`Some`), or deleted (`None`).
    ci_numbers: HashMap<i64, Option<u32>>,
    next_ci: u32,
    items: HashMap<u32, ItemState>,
    changed_items: Bits,
    /// Item ids added since, with their numbers.
    item_numbers: HashMap<i64, u32>,
    next_item: u32,
}

impl Overlay {
    fn new(base: &Packed) -> Self {
        Self {
            changed_cis: Bits::new(base.ci_count()),
            next_ci: dense_u32(base.ci_count()),
            changed_items: Bits::new(base.item_count()),
            next_item: dense_u32(base.item_count()),
            ..Self::default()
        }
    }

    fn len(&self) -> usize {
        self.cis.len() + self.items.len()
    }
}

fn dense_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What the trace reads of a graph, so that one walk serves the packed arrays alone (the common case, at full
/// speed) and the packed arrays under an overlay.
trait View {
    /// In maintenance, or deleted: not entered, and passes nothing on.
    fn blocked(&self, ci: u32) -> bool;
    fn dependents(&self, ci: u32) -> &[u32];
    fn items_on(&self, ci: u32) -> &[u32];
    fn name(&self, ci: u32) -> &str;
    /// Whether CI `a`'s id is smaller than CI `b`'s.
    fn before(&self, a: u32, b: u32) -> bool;
    fn item_id(&self, item: u32) -> i64;
    fn children(&self, item: u32) -> &[u32];
}

impl View for Packed {
    fn blocked(&self, ci: u32) -> bool {
        self.cis[ci as usize].in_maintenance
    }

    fn dependents(&self, ci: u32) -> &[u32] {
        let (this, next) = (self.cis[ci as usize], self.cis[ci as usize + 1]);
        &self.dependents[this.dependents as usize..next.dependents as usize]
    }

    fn items_on(&self, ci: u32) -> &[u32] {
        let (this, next) = (self.cis[ci as usize], self.cis[ci as usize + 1]);
        &self.items_on[this.items as usize..next.items as usize]
    }

    fn name(&self, ci: u32) -> &str {
        let (this, next) = (self.cis[ci as usize], self.cis[ci as usize + 1]);
        &self.names[this.name as usize..next.name as usize]
    }

    fn before(&self, a: u32, b: u32) -> bool {
        a < b
    }

    fn item_id(&self, item: u32) -> i64 {
        self.items[item as usize].id
    }

    fn children(&self, item: u32) -> &[u32] {
        let (this, next) = (self.items[item as usize], self.items[item as usize + 1]);
        &self.children[this.children as usize..next.children as usize]
    }
}

/// The packed arrays under an overlay.
struct Patched<'a> {
    base: &'a Packed,
    overlay: &'a Overlay,
}

impl Patched<'_> {
    fn ci(&self, ci: u32) -> Option<&CiState> {
        if (ci as usize) < self.base.ci_count() && !self.overlay.changed_cis.get(ci) {
            return None;
        }
        self.overlay.cis.get(&ci)
    }

    fn item(&self, item: u32) -> Option<&ItemState> {
        if (item as usize) < self.base.item_count() && !self.overlay.changed_items.get(item) {
            return None;
        }
        self.overlay.items.get(&item)
    }

    fn ci_id(&self, ci: u32) -> i64 {
        self.ci(ci)
            .map_or_else(|| self.base.ci_ids[ci as usize], |state| state.id)
    }
}

impl View for Patched<'_> {
    fn blocked(&self, ci: u32) -> bool {
        match self.ci(ci) {
            Some(state) => !state.present || state.in_maintenance,
            None => self.base.blocked(ci),
        }
    }

    fn dependents(&self, ci: u32) -> &[u32] {
        self.ci(ci)
            .map_or_else(|| self.base.dependents(ci), |state| &state.dependents)
    }

    fn items_on(&self, ci: u32) -> &[u32] {
        self.ci(ci).map_or_else(|| self.base.items_on(ci), |state| &state.items)
    }

    fn name(&self, ci: u32) -> &str {
        self.ci(ci).map_or_else(|| self.base.name(ci), |state| &state.name)
    }

    fn before(&self, a: u32, b: u32) -> bool {
        self.ci_id(a) < self.ci_id(b)
    }

    fn item_id(&self, item: u32) -> i64 {
        self.item(item)
            .map_or_else(|| self.base.item_id(item), |state| state.id)
    }

    fn children(&self, item: u32) -> &[u32] {
        self.item(item)
            .map_or_else(|| self.base.children(item), |state| &state.children)
    }
}

/// The impact graph at one CMDB version: packed arrays read (or compacted) at that version or an earlier one, and
/// what changed since.
pub struct ImpactGraph {
    version: i64,
    base: Arc<Packed>,
    overlay: Option<Overlay>,
}

/// A CI the trace reached: its number, hops from the alert's CI, and where in the reached list the CI one hop
/// closer on a shortest path is.
struct Reached {
    ci: u32,
    hops: u32,
    from: Option<usize>,
}

impl ImpactGraph {
    /// The CMDB version this graph is at.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The version its packed arrays were read or compacted at: older than [`version`](Self::version) when
    /// changes were applied on top.
    pub fn base_version(&self) -> i64 {
        self.base.version
    }

    /// CIs and items changed since the packed arrays were made (what the overlay holds).
    pub fn changed(&self) -> usize {
        self.overlay.as_ref().map_or(0, Overlay::len)
    }

    /// CIs, impact-carrying relationships and active items in the packed arrays.
    pub fn size(&self) -> (usize, usize, usize) {
        (self.base.ci_count(), self.base.dependents.len(), self.base.item_count())
    }

    /// Bytes the graph holds on the heap: its packed arrays, names and CI ids, and roughly what the overlay adds.
    pub fn heap_bytes(&self) -> usize {
        let overlay = self.overlay.as_ref().map_or(0, |overlay| {
            let lists: usize = overlay
                .cis
                .values()
                .map(|ci| ci.name.len() + (ci.dependents.capacity() + ci.items.capacity()) * 4)
                .chain(overlay.items.values().map(|item| item.children.capacity() * 4))
                .sum();
            lists
                + overlay.len() * 64
                + (overlay.changed_cis.0.len() + overlay.changed_items.0.len()) * 8
                + (overlay.ci_numbers.len() + overlay.item_numbers.len()) * 24
        });
        self.base.heap_bytes() + overlay
    }

    /// The number of the CI with id `id`, if it is in the graph.
    fn ci_number(&self, id: i64) -> Option<u32> {
        if let Some(overlay) = &self.overlay {
            if let Some(&number) = overlay.ci_numbers.get(&id) {
                return number;
            }
        }
        self.base.ci_number(id)
    }

    /// The snapshot rows for an alert on the CI with id `root`, ordered by item id: the same rows as the SQL trace
    /// (impact goes from a CI to the CIs that depend on, run on or are hosted on it, up to `max_hops` hops; a CI in
    /// maintenance is not entered and, as the alert's CI, passes nothing on; each CI's path is a shortest one through
    /// the smallest CI id; active items on impacted CIs, then their active children; an item on an impacted CI is
    /// reported by its CI even when it is also a child).
    pub fn trace(&self, root: i64, max_hops: u32) -> Vec<TracedItem> {
        let Some(root) = self.ci_number(root) else {
            return Vec::new();
        };
        match &self.overlay {
            None => trace_on(&*self.base, root, max_hops),
            Some(overlay) => trace_on(
                &Patched {
                    base: &self.base,
                    overlay,
                },
                root,
                max_hops,
            ),
        }
    }

    /// The ids of the active items an alert on `root` affects, sorted.
    pub fn affected(&self, root: i64, max_hops: u32) -> Vec<i64> {
        self.trace(root, max_hops).into_iter().map(|row| row.item_id).collect()
    }
}

fn trace_on(view: &impl View, root: u32, max_hops: u32) -> Vec<TracedItem> {
    let reached = impacted(view, root, max_hops);

    let mut paths: Vec<Option<Arc<str>>> = vec![None; reached.len()];
    let mut seen: HashSet<u32> = HashSet::new();
    let mut rows: Vec<(u32, TracedItem)> = Vec::new();
    for (at, ci) in reached.iter().enumerate() {
        let items = view.items_on(ci.ci);
        if items.is_empty() {
            continue;
        }
        let path = path(view, &reached, &mut paths, at);
        for &item in items {
            seen.insert(item);
            rows.push((
                item,
                TracedItem {
                    item_id: view.item_id(item),
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
        for &child in view.children(parent) {
            if seen.insert(child) {
                rows.push((
                    child,
                    TracedItem {
                        item_id: view.item_id(child),
                        reason: "child",
                        hops: 0,
                        ci_path: None,
                        via_item_id: Some(parent_id),
                    },
                ));
            }
        }
    }
    rows.sort_unstable_by_key(|(_, row)| row.item_id);
    rows.into_iter().map(|(_, row)| row).collect()
}

/// The CIs impacted from `root`, breadth first, each once at its fewest hops with the smallest-id CI one hop closer
/// as the way there.
fn impacted(view: &impl View, root: u32, max_hops: u32) -> Vec<Reached> {
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
            if view.blocked(ci) {
                continue;
            }
            for &dependent in view.dependents(ci) {
                if view.blocked(dependent) {
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
                        if current.is_some_and(|current| view.before(ci, current)) {
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
fn path(view: &impl View, reached: &[Reached], paths: &mut [Option<Arc<str>>], at: usize) -> Arc<str> {
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
        let name = view.name(reached[next].ci);
        let path: Arc<str> = match &built {
            Some(before) => Arc::from(format!("{before} → {name}")),
            None => Arc::from(name),
        };
        paths[next] = Some(Arc::clone(&path));
        built = Some(path);
    }
    built.unwrap_or_else(|| Arc::from(""))
}

impl std::fmt::Debug for ImpactGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (cis, relationships, items) = self.size();
        f.debug_struct("ImpactGraph")
            .field("version", &self.version)
            .field("base_version", &self.base.version)
            .field("cis", &cis)
            .field("relationships", &relationships)
            .field("items", &items)
            .field("changed", &self.changed())
            .finish()
    }
}
