//! Bringing a held graph up to date from the change record (`cmdb_changes`): the changes since its version name
//! the CIs, relationships and items that changed; only those rows are read again, in one snapshot with the
//! version, and the new graph is the old one's packed arrays under an overlay that holds them.

use super::{CiState, ImpactGraph, ItemState, Overlay, Patched, View};
use crate::store::{Backend, Store};
use sqlx::{AnyConnection, FromRow};
use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

/// The most change rows applied to a held graph; more (an import, say) and the graph is read whole, which then
/// costs about what applying them would.
const MOST_CHANGES: i64 = 5_000;

/// What the change record gives a held graph.
pub(super) enum Catchup {
    /// The graph at the database's current version (boxed: the other variant is empty).
    Applied(Box<ImpactGraph>),
    /// The record does not reach back to the graph's version, or holds more than is worth applying.
    ReadWhole,
}

/// A row of `cmdb_changes`.
#[derive(FromRow)]
struct Change {
    part: String,
    old_id: Option<i64>,
    new_id: Option<i64>,
    old_ci_id: Option<i64>,
    new_ci_id: Option<i64>,
    old_parent_id: Option<i64>,
    new_parent_id: Option<i64>,
}

/// What to read again, by id.
#[derive(Default)]
struct Dirty {
    /// CIs whose row (name, maintenance, whether it exists) changed.
    cis: BTreeSet<i64>,
    /// CIs whose impact-carrying relationships to their dependents changed.
    dependents: BTreeSet<i64>,
    /// CIs whose active items changed.
    items_on: BTreeSet<i64>,
    /// Items whose row (whether it exists and is active) changed.
    items: BTreeSet<i64>,
    /// Items whose active children changed.
    children: BTreeSet<i64>,
}

impl Dirty {
    fn of(changes: &[Change]) -> Self {
        let mut dirty = Self::default();
        for change in changes {
            let ids = [change.old_id, change.new_id].into_iter().flatten();
            match change.part.as_str() {
                "ci" => dirty.cis.extend(ids),
                "relationship" => dirty.dependents.extend(ids),
                _ => {
                    dirty.items.extend(ids);
                    dirty
                        .items_on
                        .extend([change.old_ci_id, change.new_ci_id].into_iter().flatten());
                    dirty
                        .children
                        .extend([change.old_parent_id, change.new_parent_id].into_iter().flatten());
                }
            }
        }
        dirty
    }
}

/// `ids` as a JSON array, for [`in_ids`].
fn json_ids(ids: impl IntoIterator<Item = i64>) -> String {
    let ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
    format!("[{}]", ids.join(","))
}

/// The ids of a JSON array bound as `$1`, as a subquery, read by the database's own JSON function.
fn in_ids(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "(SELECT CAST(value AS BIGINT) FROM json_each($1))",
        Backend::Postgres => "(SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS json)))",
    }
}

impl Store {
    /// The graph at the database's current version, from `graph` and the changes recorded since its version.
    pub(super) async fn catch_up(&self, graph: &ImpactGraph) -> Result<Catchup, sqlx::Error> {
        let mut tx = self.begin_snapshot().await?;
        let (version, changes_since): (i64, i64) =
            sqlx::query_as("SELECT version, changes_since FROM cmdb_state WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        if graph.version < changes_since {
            return Ok(Catchup::ReadWhole);
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cmdb_changes WHERE version > $1 AND version <= $2")
            .bind(graph.version)
            .bind(version)
            .fetch_one(&mut *tx)
            .await?;
        if count > MOST_CHANGES {
            return Ok(Catchup::ReadWhole);
        }
        let changes: Vec<Change> = sqlx::query_as(
            "SELECT part, old_id, new_id, old_ci_id, new_ci_id, old_parent_id, new_parent_id
             FROM cmdb_changes WHERE version > $1 AND version <= $2",
        )
        .bind(graph.version)
        .bind(version)
        .fetch_all(&mut *tx)
        .await?;
        let mut patch = Patch::new(graph);
        patch.apply(&mut tx, self.backend(), Dirty::of(&changes)).await?;
        tx.commit().await?;
        Ok(Catchup::Applied(Box::new(ImpactGraph {
            version: version.max(graph.version),
            base: Arc::clone(&graph.base),
            overlay: Some(patch.overlay),
        })))
    }
}

/// A graph's overlay being brought up to date.
struct Patch<'a> {
    graph: &'a ImpactGraph,
    overlay: Overlay,
}

impl<'a> Patch<'a> {
    fn new(graph: &'a ImpactGraph) -> Self {
        Self {
            graph,
            overlay: graph.overlay.clone().unwrap_or_else(|| Overlay::new(&graph.base)),
        }
    }

    fn view(&self) -> Patched<'_> {
        Patched {
            base: &self.graph.base,
            overlay: &self.overlay,
        }
    }

    fn ci_number(&self, id: i64) -> Option<u32> {
        match self.overlay.ci_numbers.get(&id) {
            Some(&number) => number,
            None => self.graph.base.ci_number(id),
        }
    }

    fn item_number(&self, id: i64) -> Option<u32> {
        self.overlay
            .item_numbers
            .get(&id)
            .copied()
            .or_else(|| self.graph.base.item_number(id))
    }

    /// CI `ci`'s entry in the overlay, made from the packed arrays the first time.
    fn ci_mut(&mut self, ci: u32) -> &mut CiState {
        if !self.overlay.cis.contains_key(&ci) {
            let view = self.view();
            let state = CiState {
                id: view.ci_id(ci),
                present: true,
                name: view.name(ci).into(),
                in_maintenance: self.graph.base.cis[ci as usize].in_maintenance,
                dependents: view.dependents(ci).to_vec(),
                items: view.items_on(ci).to_vec(),
            };
            self.overlay.changed_cis.set(ci);
            self.overlay.cis.insert(ci, state);
        }
        self.overlay
            .cis
            .get_mut(&ci)
            .unwrap_or_else(|| unreachable!("the entry was made above"))
    }

    /// Item `item`'s entry in the overlay, made from the packed arrays the first time.
    fn item_mut(&mut self, item: u32) -> &mut ItemState {
        if !self.overlay.items.contains_key(&item) {
            let view = self.view();
            let state = ItemState {
                id: view.item_id(item),
                active: true,
                children: view.children(item).to_vec(),
            };
            self.overlay.changed_items.set(item);
            self.overlay.items.insert(item, state);
        }
        self.overlay
            .items
            .get_mut(&item)
            .unwrap_or_else(|| unreachable!("the entry was made above"))
    }

    /// The number of active item `id`, numbering it if it is new to the graph (and then reading its children).
    fn active_item(&mut self, id: i64, dirty: &mut BTreeSet<i64>) -> Result<u32, sqlx::Error> {
        if let Some(item) = self.item_number(id) {
            return Ok(item);
        }
        let item = self.overlay.next_item;
        self.overlay.next_item = item.checked_add(1).ok_or_else(too_many)?;
        self.overlay.item_numbers.insert(id, item);
        self.overlay.items.insert(
            item,
            ItemState {
                id,
                active: true,
                children: Vec::new(),
            },
        );
        dirty.insert(id);
        Ok(item)
    }

    /// Reads the rows `dirty` names, in order: CIs (so that every CI a relationship or item names has its number),
    /// items, then CIs' dependents and items and items' children.
    async fn apply(&mut self, conn: &mut AnyConnection, backend: Backend, mut dirty: Dirty) -> Result<(), sqlx::Error> {
        let within = in_ids(backend);
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, name, in_maintenance FROM configuration_items WHERE id IN {within}"
        )))
        .bind(json_ids(dirty.cis.iter().copied()))
        .fetch_all(&mut *conn)
        .await?;
        let found: HashMap<i64, (String, bool)> = rows
            .into_iter()
            .map(|(id, name, maintenance)| (id, (name, maintenance != 0)))
            .collect();
        for &id in &dirty.cis {
            match (self.ci_number(id), found.get(&id)) {
                (Some(ci), Some((name, in_maintenance))) => {
                    let state = self.ci_mut(ci);
                    state.name = name.as_str().into();
                    state.in_maintenance = *in_maintenance;
                }
                (None, Some((name, in_maintenance))) => {
                    let ci = self.overlay.next_ci;
                    self.overlay.next_ci = ci.checked_add(1).ok_or_else(too_many)?;
                    self.overlay.ci_numbers.insert(id, Some(ci));
                    self.overlay.cis.insert(
                        ci,
                        CiState {
                            id,
                            present: true,
                            name: name.as_str().into(),
                            in_maintenance: *in_maintenance,
                            dependents: Vec::new(),
                            items: Vec::new(),
                        },
                    );
                    dirty.dependents.insert(id);
                    dirty.items_on.insert(id);
                }
                (Some(ci), None) => {
                    let state = self.ci_mut(ci);
                    state.present = false;
                    state.dependents = Vec::new();
                    state.items = Vec::new();
                    self.overlay.ci_numbers.insert(id, None);
                }
                (None, None) => {}
            }
        }

        let active: BTreeSet<i64> = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM install_base_items WHERE active = 1 AND id IN {within}"
        )))
        .bind(json_ids(dirty.items.iter().copied()))
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        for &id in &dirty.items {
            if active.contains(&id) {
                let item = self.active_item(id, &mut dirty.children)?;
                self.item_mut(item).active = true;
                // Active again, it passes impact on to its children: read them.
                dirty.children.insert(id);
            } else if let Some(item) = self.item_number(id) {
                let state = self.item_mut(item);
                state.active = false;
                state.children = Vec::new();
            }
        }

        let present: Vec<(i64, u32)> = dirty
            .dependents
            .iter()
            .filter_map(|&id| Some((id, self.ci_number(id)?)))
            .collect();
        let edges: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT r.child_id, r.parent_id FROM ci_relationships r
             JOIN relationship_types t ON t.id = r.type_id
             WHERE t.carries_impact = 1 AND r.child_id IN {within}"
        )))
        .bind(json_ids(present.iter().map(|&(id, _)| id)))
        .fetch_all(&mut *conn)
        .await?;
        let mut lists: HashMap<i64, Vec<u32>> = present.iter().map(|&(id, _)| (id, Vec::new())).collect();
        for (child, parent) in edges {
            if let (Some(list), Some(parent)) = (lists.get_mut(&child), self.ci_number(parent)) {
                list.push(parent);
            }
        }
        for &(id, ci) in &present {
            self.ci_mut(ci).dependents = lists.remove(&id).unwrap_or_default();
        }

        let present: Vec<(i64, u32)> = dirty
            .items_on
            .iter()
            .filter_map(|&id| Some((id, self.ci_number(id)?)))
            .collect();
        let items: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT ci_id, id FROM install_base_items WHERE active = 1 AND ci_id IN {within}"
        )))
        .bind(json_ids(present.iter().map(|&(id, _)| id)))
        .fetch_all(&mut *conn)
        .await?;
        let mut lists: HashMap<i64, Vec<u32>> = present.iter().map(|&(id, _)| (id, Vec::new())).collect();
        for (ci, item) in items {
            let item = self.active_item(item, &mut dirty.children)?;
            if let Some(list) = lists.get_mut(&ci) {
                list.push(item);
            }
        }
        for &(id, ci) in &present {
            self.ci_mut(ci).items = lists.remove(&id).unwrap_or_default();
        }

        // Children, until no child is new to the graph (a new one's own children are read in the next round).
        let mut round = std::mem::take(&mut dirty.children);
        while !round.is_empty() {
            let parents: Vec<(i64, u32)> = round
                .iter()
                .filter_map(|&id| Some((id, self.item_number(id)?)))
                .filter(|&(_, item)| self.view().item(item).is_none_or(|state| state.active))
                .collect();
            let children: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT parent_id, id FROM install_base_items WHERE active = 1 AND parent_id IN {within}"
            )))
            .bind(json_ids(parents.iter().map(|&(id, _)| id)))
            .fetch_all(&mut *conn)
            .await?;
            let mut next = BTreeSet::new();
            let mut lists: HashMap<i64, Vec<u32>> = parents.iter().map(|&(id, _)| (id, Vec::new())).collect();
            for (parent, child) in children {
                let child = self.active_item(child, &mut next)?;
                if let Some(list) = lists.get_mut(&parent) {
                    list.push(child);
                }
            }
            for &(id, item) in &parents {
                self.item_mut(item).children = lists.remove(&id).unwrap_or_default();
            }
            round = next;
        }
        Ok(())
    }
}

/// More CIs or items than a graph numbers (`u32`).
fn too_many() -> sqlx::Error {
    sqlx::Error::Decode("more configuration items or install base items than the impact graph can number".into())
}
