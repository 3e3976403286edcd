//! Reading the graph whole from the database.

use super::{pack::Parts, ImpactGraph};
use crate::store::{Backend, Store};
use futures_util::TryStreamExt;
use sqlx::{Any, Transaction};
use std::{collections::HashMap, sync::Arc};

impl Store {
    /// A read-only transaction that sees one state of the database throughout, so that a version read in it
    /// matches the rows read after.
    pub(crate) async fn begin_snapshot(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend() {
            Backend::Sqlite => self.pool().begin().await,
            Backend::Postgres => {
                self.pool()
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
            }
        }
    }

    /// Reads the graph whole in one snapshot, so the version matches the rows, without holding it (refreshes ask
    /// for the held one, [`Store::impact_graph`]). Rows are streamed: only the packed graph is kept.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn read_graph(&self) -> Result<ImpactGraph, sqlx::Error> {
        let mut tx = self.begin_snapshot().await?;
        let version: i64 = sqlx::query_scalar("SELECT version FROM cmdb_state WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;

        let mut parts = Parts::default();
        // Only while reading: afterwards a CI's number is found by binary search over the ids.
        let mut ci_number = HashMap::new();
        {
            let mut rows = sqlx::query_as::<_, (i64, String, i64)>(
                "SELECT id, name, in_maintenance FROM configuration_items ORDER BY id",
            )
            .fetch(&mut *tx);
            while let Some((id, name, maintenance)) = rows.try_next().await? {
                ci_number.insert(id, parts.push_ci(id, &name, maintenance != 0).map_err(decode)?);
            }
        }
        {
            let mut rows = sqlx::query_as::<_, (i64, i64)>(
                "SELECT r.child_id, r.parent_id FROM ci_relationships r
                 JOIN relationship_types t ON t.id = r.type_id WHERE t.carries_impact = 1",
            )
            .fetch(&mut *tx);
            while let Some((child, parent)) = rows.try_next().await? {
                if let (Some(&from), Some(&to)) = (ci_number.get(&child), ci_number.get(&parent)) {
                    parts.edges.push((from, to));
                }
            }
        }
        let mut parents = Vec::new();
        {
            let mut rows = sqlx::query_as::<_, (i64, Option<i64>, Option<i64>)>(
                "SELECT id, ci_id, parent_id FROM install_base_items WHERE active = 1 ORDER BY id",
            )
            .fetch(&mut *tx);
            while let Some((id, ci, parent)) = rows.try_next().await? {
                let item = u32::try_from(parts.item_ids.len()).map_err(decode)?;
                parts.item_ids.push(id);
                if let Some(&ci) = ci.and_then(|ci| ci_number.get(&ci)) {
                    parts.on_ci.push((ci, item));
                }
                if let Some(parent) = parent {
                    parents.push((parent, item));
                }
            }
        }
        tx.commit().await?;
        drop(ci_number);

        // Parents are item ids; only an active parent passes impact on, and active items are numbered by id.
        parts.parent_child = parents
            .into_iter()
            .filter_map(|(parent, child)| {
                let parent = parts.item_ids.binary_search(&parent).ok()?;
                Some((u32::try_from(parent).ok()?, child))
            })
            .collect();
        Ok(ImpactGraph {
            version,
            base: Arc::new(parts.pack(version).map_err(decode)?),
            overlay: None,
        })
    }
}

/// A position past `u32`: a CMDB of four billion CIs, items or bytes of names is beyond what the graph holds.
pub(super) fn decode(error: std::num::TryFromIntError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}
