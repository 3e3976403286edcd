//! A plain breadth-first walk over the CMDB in hash maps, for `forestall bench` (the lower bound the trace is
//! measured against) and the import test (a third reference). Not on any request's path; it lives here because it
//! reads the CMDB through the store's pool, which only this crate may hold.

use crate::store::Store;
use std::collections::HashMap;

/// A plain breadth-first walk over the CMDB in hash maps: the lower bound the benchmark compares the trace with, and
/// a second reference the tests check it against. Same rules: impact goes from a CI to the CIs that depend on, run on or are hosted on
/// it; CIs in maintenance are not entered (and, as the alert's CI, do not pass impact on); at most `max_hops` hops;
/// active items on impacted CIs, then their active children.
pub struct MemoryCmdb {
    names: HashMap<String, i64>,
    maintenance: std::collections::HashSet<i64>,
    /// CI → the CIs impacted through it (one hop).
    dependents: HashMap<i64, Vec<i64>>,
    /// CI → active items on it.
    items_on: HashMap<i64, Vec<i64>>,
    /// Item → its active children.
    children: HashMap<i64, Vec<i64>>,
}

impl MemoryCmdb {
    /// The id of the CI with this name.
    pub fn ci(&self, name: &str) -> Option<i64> {
        self.names.get(&name.to_lowercase()).copied()
    }

    /// CI names starting with `prefix`, sorted.
    pub fn names_starting(&self, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = self.names.keys().filter(|n| n.starts_with(prefix)).cloned().collect();
        names.sort();
        names
    }

    /// The ids of the items an alert on `root` affects, sorted, by breadth-first walks.
    pub fn affected(&self, root: i64, max_hops: u32) -> Vec<i64> {
        let mut impacted = std::collections::HashSet::from([root]);
        let mut frontier = vec![root];
        for _ in 0..max_hops {
            let mut next = Vec::new();
            for ci in frontier {
                if self.maintenance.contains(&ci) {
                    continue;
                }
                for &dependent in self.dependents.get(&ci).into_iter().flatten() {
                    if !self.maintenance.contains(&dependent) && impacted.insert(dependent) {
                        next.push(dependent);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        let mut affected = std::collections::HashSet::new();
        let mut queue: Vec<i64> = impacted
            .iter()
            .flat_map(|ci| self.items_on.get(ci).into_iter().flatten().copied())
            .collect();
        while let Some(item) = queue.pop() {
            if affected.insert(item) {
                queue.extend(self.children.get(&item).into_iter().flatten().copied());
            }
        }
        let mut affected: Vec<i64> = affected.into_iter().collect();
        affected.sort_unstable();
        affected
    }
}

impl Store {
    /// Reads the whole impact graph into memory (see [`MemoryCmdb`]).
    pub async fn memory_cmdb(&self) -> Result<MemoryCmdb, sqlx::Error> {
        let mut conn = self.pool().acquire().await?;
        let cis: Vec<(i64, String, i64)> = sqlx::query_as("SELECT id, name, in_maintenance FROM configuration_items")
            .fetch_all(&mut *conn)
            .await?;
        let edges: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT r.child_id, r.parent_id FROM ci_relationships r
             JOIN relationship_types t ON t.id = r.type_id WHERE t.carries_impact = 1",
        )
        .fetch_all(&mut *conn)
        .await?;
        let items: Vec<(i64, Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT id, ci_id, parent_id FROM install_base_items WHERE active = 1")
                .fetch_all(&mut *conn)
                .await?;
        let mut cmdb = MemoryCmdb {
            names: HashMap::with_capacity(cis.len()),
            maintenance: std::collections::HashSet::new(),
            dependents: HashMap::new(),
            items_on: HashMap::new(),
            children: HashMap::new(),
        };
        for (id, name, maintenance) in cis {
            cmdb.names.insert(name.to_lowercase(), id);
            if maintenance != 0 {
                cmdb.maintenance.insert(id);
            }
        }
        for (child, parent) in edges {
            cmdb.dependents.entry(child).or_default().push(parent);
        }
        for (id, ci, parent) in items {
            if let Some(ci) = ci {
                cmdb.items_on.entry(ci).or_default().push(id);
            }
            if let Some(parent) = parent {
                cmdb.children.entry(parent).or_default().push(id);
            }
        }
        Ok(cmdb)
    }
}
