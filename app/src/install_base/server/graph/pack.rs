//! Packing a graph into arrays: from the rows read whole (`read`), or from a graph and its overlay (compaction).

use super::{CiNode, ImpactGraph, ItemNode, Packed, Patched, View};
use std::sync::Arc;

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

/// A graph's parts before packing, CIs and items numbered densely in the order of their ids.
#[derive(Default)]
pub(super) struct Parts {
    pub ci_ids: Vec<i64>,
    pub names: String,
    pub name_starts: Vec<u32>,
    pub in_maintenance: Vec<bool>,
    /// (CI, a CI that depends on, runs on or is hosted on it).
    pub edges: Vec<(u32, u32)>,
    pub item_ids: Vec<i64>,
    /// (CI, an active item on it).
    pub on_ci: Vec<(u32, u32)>,
    /// (active item, an active child of it).
    pub parent_child: Vec<(u32, u32)>,
}

impl Parts {
    /// Adds the next CI (its id larger than every one before).
    pub fn push_ci(&mut self, id: i64, name: &str, in_maintenance: bool) -> Result<u32, std::num::TryFromIntError> {
        let number = u32::try_from(self.ci_ids.len())?;
        self.ci_ids.push(id);
        self.name_starts.push(u32::try_from(self.names.len())?);
        self.names.push_str(name);
        self.in_maintenance.push(in_maintenance);
        Ok(number)
    }

    pub fn pack(mut self, version: i64) -> Result<Packed, std::num::TryFromIntError> {
        let ci_count = self.ci_ids.len();
        self.name_starts.push(u32::try_from(self.names.len())?);
        let (dependent_starts, dependents) = pack(ci_count, &self.edges);
        let (item_starts, items_on) = pack(ci_count, &self.on_ci);
        let (child_starts, children) = pack(self.item_ids.len(), &self.parent_child);
        let cis = (0..=ci_count)
            .map(|ci| CiNode {
                dependents: dependent_starts[ci],
                items: item_starts[ci],
                name: self.name_starts[ci],
                in_maintenance: self.in_maintenance.get(ci).copied().unwrap_or(false),
            })
            .collect();
        let items = (0..=self.item_ids.len())
            .map(|item| ItemNode {
                id: self.item_ids.get(item).copied().unwrap_or(0),
                children: child_starts[item],
            })
            .collect();
        Ok(Packed {
            version,
            ci_ids: self.ci_ids,
            cis,
            names: self.names,
            dependents,
            items_on,
            items,
            children,
        })
    }
}

impl ImpactGraph {
    /// The same graph in fresh packed arrays, its overlay folded in: what a read of the whole CMDB at this version
    /// would give, without reading it.
    /// Fails only if the graph has grown past four billion CIs, items or bytes of names.
    pub fn compacted(&self) -> Result<ImpactGraph, std::num::TryFromIntError> {
        let Some(overlay) = &self.overlay else {
            return Ok(ImpactGraph {
                version: self.version,
                base: Arc::clone(&self.base),
                overlay: None,
            });
        };
        let view = Patched {
            base: &self.base,
            overlay,
        };
        let none = u32::MAX;
        // CIs present now, by id; the old numbers renumbered densely.
        let mut cis: Vec<(i64, u32)> = (0..overlay.next_ci)
            .filter(|&ci| view.ci(ci).is_none_or(|state| state.present))
            .map(|ci| (view.ci_id(ci), ci))
            .collect();
        cis.sort_unstable();
        let mut ci_renumbered = vec![none; overlay.next_ci as usize];
        let mut parts = Parts::default();
        for &(id, ci) in &cis {
            let in_maintenance = view
                .ci(ci)
                .map_or_else(|| self.base.cis[ci as usize].in_maintenance, |s| s.in_maintenance);
            ci_renumbered[ci as usize] = parts.push_ci(id, view.name(ci), in_maintenance)?;
        }
        // Active items now, by id.
        let mut items: Vec<(i64, u32)> = (0..overlay.next_item)
            .filter(|&item| view.item(item).is_none_or(|state| state.active))
            .map(|item| (view.item_id(item), item))
            .collect();
        items.sort_unstable();
        let mut item_renumbered = vec![none; overlay.next_item as usize];
        for (new, &(id, item)) in items.iter().enumerate() {
            item_renumbered[item as usize] = u32::try_from(new)?;
            parts.item_ids.push(id);
        }
        for &(_, ci) in &cis {
            let from = ci_renumbered[ci as usize];
            for &to in view.dependents(ci) {
                if let Some(&to) = ci_renumbered.get(to as usize).filter(|&&to| to != none) {
                    parts.edges.push((from, to));
                }
            }
            for &item in view.items_on(ci) {
                if let Some(&item) = item_renumbered.get(item as usize).filter(|&&item| item != none) {
                    parts.on_ci.push((from, item));
                }
            }
        }
        for &(_, item) in &items {
            let parent = item_renumbered[item as usize];
            for &child in view.children(item) {
                if let Some(&child) = item_renumbered.get(child as usize).filter(|&&child| child != none) {
                    parts.parent_child.push((parent, child));
                }
            }
        }
        Ok(ImpactGraph {
            version: self.version,
            base: Arc::new(parts.pack(self.version)?),
            overlay: None,
        })
    }
}
