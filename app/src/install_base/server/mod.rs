//! The trace: impacted CIs by a walk over impact-carrying relationships, then the active items on them and,
//! recursively, their active children. Refresh (`refresh`) walks the impact graph held in memory (`graph`); the
//! same trace in SQL (`trace_sql`, recursive CTEs) is the reference the walk is checked against on both databases.
//! The result replaces the alert's snapshot in one transaction; `snapshot` reads it back. `plain_walk` is the
//! benchmark's lower bound.

mod graph;
mod plain_walk;
mod refresh;
mod snapshot;
mod trace_sql;

#[cfg(test)]
use graph::GraphCache;
pub use graph::ImpactGraph;
pub use plain_walk::MemoryCmdb;

use std::sync::Arc;

/// How far impact travels from the alert's CI, in relationship hops.
pub const DEFAULT_MAX_HOPS: u32 = 10;

/// One row of the new snapshot, ready to store.
#[derive(Debug, PartialEq, Eq)]
pub struct TracedItem {
    pub item_id: i64,
    pub reason: &'static str,
    pub hops: u32,
    /// Shared by the items on one CI.
    pub ci_path: Option<Arc<str>>,
    pub via_item_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        demo::CmdbWriter,
        store::{tests::memory_store, Store},
    };
    use trace_sql::trace_sql;

    /// A small CMDB: `db` hosts `app` (Runs on), `app` is used by `svc` (Depends on), `svc` → `portal` → ... as given.
    struct Fixture {
        store: Store,
    }

    impl Fixture {
        async fn new() -> Self {
            Self {
                store: memory_store().await,
            }
        }

        async fn write(&self) -> CmdbWriter<sqlx::pool::PoolConnection<sqlx::Any>> {
            CmdbWriter::new(self.store.pool().acquire().await.expect("connection"))
        }

        /// The trace on the impact graph, after checking that the SQL trace gives the very same rows.
        async fn traced(&self, root: i64, max_hops: u32) -> Vec<TracedItem> {
            let in_sql = {
                let mut conn = self.store.pool().acquire().await.expect("connection");
                trace_sql(&mut conn, self.store.backend(), root, max_hops)
                    .await
                    .expect("trace")
            };
            let version = self.store.cmdb_version().await.expect("version");
            let graph = self.store.impact_graph_loaded(version).await.expect("graph");
            let walked = graph.trace(root, max_hops);
            assert_eq!(walked, in_sql, "the walk over the graph and the SQL trace differ");
            walked
        }
    }

    /// (item, reason, hops, CI path, via item) of each traced row.
    type Row<'a> = (i64, &'static str, u32, Option<&'a str>, Option<i64>);

    fn summary(items: &[TracedItem]) -> Vec<Row<'_>> {
        items
            .iter()
            .map(|i| (i.item_id, i.reason, i.hops, i.ci_path.as_deref(), i.via_item_id))
            .collect()
    }

    #[tokio::test]
    async fn direct_path_and_child_items_carry_their_reasons() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let host = w.ci("host", "server", false).await.expect("write");
        let db = w.ci("db", "database", false).await.expect("write");
        let app = w.ci("app", "application", false).await.expect("write");
        w.relate(db, "Runs on::Runs", host).await.expect("write");
        w.relate(app, "Depends on::Used by", db).await.expect("write");
        let on_host = w.item("on host", acme, Some(host), None, true).await.expect("write");
        let on_app = w.item("on app", acme, Some(app), None, true).await.expect("write");
        let child = w
            .item("child of app item", acme, None, Some(on_app), true)
            .await
            .expect("write");
        let grandchild = w
            .item("grandchild", acme, None, Some(child), true)
            .await
            .expect("write");
        let _inactive_child = w
            .item("inactive child", acme, None, Some(on_app), false)
            .await
            .expect("write");
        let _inactive = w
            .item("inactive on db", acme, Some(db), None, false)
            .await
            .expect("write");
        drop(w);

        let traced = fx.traced(host, DEFAULT_MAX_HOPS).await;
        assert_eq!(
            summary(&traced),
            vec![
                (on_host, "direct", 0, Some("host"), None),
                (on_app, "ci_path", 2, Some("host → db → app"), None),
                (child, "child", 0, None, Some(on_app)),
                (grandchild, "child", 0, None, Some(child)),
            ]
        );
    }

    #[tokio::test]
    async fn impact_does_not_flow_to_what_the_alert_ci_depends_on_nor_along_other_types() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let app = w.ci("app", "application", false).await.expect("write");
        let db = w.ci("db", "database", false).await.expect("write");
        let backup = w.ci("backup", "server", false).await.expect("write");
        w.relate(app, "Depends on::Used by", db).await.expect("write");
        w.relate(backup, "Connected by::Connects", app).await.expect("write");
        let on_db = w.item("on db", acme, Some(db), None, true).await.expect("write");
        let _on_backup = w
            .item("on backup", acme, Some(backup), None, true)
            .await
            .expect("write");
        let on_app = w.item("on app", acme, Some(app), None, true).await.expect("write");
        drop(w);

        // An alert on the app impacts the app only: the db it depends on is fine, and "Connected by" carries no impact.
        assert_eq!(
            summary(&fx.traced(app, 10).await),
            vec![(on_app, "direct", 0, Some("app"), None)]
        );
        // An alert on the db reaches the app that depends on it.
        let from_db: Vec<i64> = fx.traced(db, 10).await.iter().map(|i| i.item_id).collect();
        assert_eq!(from_db, vec![on_db, on_app]);
    }

    #[tokio::test]
    async fn the_depth_limit_stops_the_walk() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let mut chain = vec![w.ci("c0", "server", false).await.expect("write")];
        let mut items = Vec::new();
        for n in 1..=4 {
            let ci = w.ci(&format!("c{n}"), "application", false).await.expect("write");
            w.relate(ci, "Depends on::Used by", chain[n - 1]).await.expect("write");
            items.push(w.item(&format!("item {n}"), acme, Some(ci), None, true).await);
            chain.push(ci);
        }
        drop(w);

        let hops = |t: Vec<TracedItem>| t.iter().map(|i| i.hops).collect::<Vec<_>>();
        assert_eq!(hops(fx.traced(chain[0], 10).await), vec![1, 2, 3, 4]);
        assert_eq!(hops(fx.traced(chain[0], 2).await), vec![1, 2]);
        assert_eq!(hops(fx.traced(chain[0], 0).await), Vec::<u32>::new());
    }

    #[tokio::test]
    async fn cycles_terminate_and_each_item_appears_once_at_its_shortest_distance() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let a = w.ci("a", "application", false).await.expect("write");
        let b = w.ci("b", "application", false).await.expect("write");
        let c = w.ci("c", "application", false).await.expect("write");
        w.relate(b, "Depends on::Used by", a).await.expect("write");
        w.relate(c, "Depends on::Used by", b).await.expect("write");
        w.relate(a, "Depends on::Used by", c).await.expect("write");
        // Items whose parent links form a cycle too.
        let on_c = w.item("on c", acme, Some(c), None, true).await.expect("write");
        let looped = w.item("looped", acme, None, Some(on_c), true).await.expect("write");
        w.set_parent(on_c, looped).await.expect("write");
        drop(w);

        let traced = fx.traced(a, 10).await;
        assert_eq!(
            summary(&traced),
            vec![
                (on_c, "ci_path", 2, Some("a → b → c"), None),
                (looped, "child", 0, None, Some(on_c))
            ]
        );
    }

    #[tokio::test]
    async fn an_unknown_relationship_type_is_refused() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let a = w.ci("a", "server", false).await.expect("write");
        let b = w.ci("b", "server", false).await.expect("write");
        assert!(w.relate(a, "Likes::Liked by", b).await.is_err());
    }

    #[tokio::test]
    async fn of_two_shortest_paths_the_one_through_the_smaller_ci_id_is_shown() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let root = w.ci("root", "server", false).await.expect("write");
        let first = w.ci("first", "database", false).await.expect("write");
        let second = w.ci("second", "database", false).await.expect("write");
        let top = w.ci("top", "application", false).await.expect("write");
        // Related in the opposite order, so that neither walk meets the smaller id first by accident.
        w.relate(second, "Runs on::Runs", root).await.expect("write");
        w.relate(first, "Runs on::Runs", root).await.expect("write");
        w.relate(top, "Depends on::Used by", second).await.expect("write");
        w.relate(top, "Depends on::Used by", first).await.expect("write");
        let on_top = w.item("on top", acme, Some(top), None, true).await.expect("write");
        drop(w);

        assert_eq!(
            summary(&fx.traced(root, 10).await),
            vec![(on_top, "ci_path", 2, Some("root → first → top"), None)]
        );
    }

    #[tokio::test]
    async fn a_change_to_the_cmdb_is_traced_at_once_whoever_made_it() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let host = w.ci("host", "server", false).await.expect("write");
        let app = w.ci("app", "application", false).await.expect("write");
        let on_app = w.item("on app", acme, Some(app), None, true).await.expect("write");
        drop(w);
        assert!(fx.traced(host, 10).await.is_empty());

        // Plain SQL, as an administrator might: the graph held is replaced because the version went up.
        sqlx::query(
            "INSERT INTO ci_relationships (parent_id, type_id, child_id)
                     SELECT $1, id, $2 FROM relationship_types WHERE name = 'Runs on::Runs'",
        )
        .bind(app)
        .bind(host)
        .execute(fx.store.pool())
        .await
        .expect("relate");
        assert_eq!(
            summary(&fx.traced(host, 10).await),
            vec![(on_app, "ci_path", 1, Some("host → app"), None)]
        );
        sqlx::query("UPDATE configuration_items SET in_maintenance = 1 WHERE id = $1")
            .bind(app)
            .execute(fx.store.pool())
            .await
            .expect("maintenance");
        assert!(fx.traced(host, 10).await.is_empty());
    }

    #[tokio::test]
    async fn maintenance_stops_propagation() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let host = w.ci("host", "server", false).await.expect("write");
        let paused = w.ci("paused", "database", true).await.expect("write");
        let beyond = w.ci("beyond", "application", false).await.expect("write");
        let other = w.ci("other", "application", false).await.expect("write");
        w.relate(paused, "Runs on::Runs", host).await.expect("write");
        w.relate(beyond, "Depends on::Used by", paused).await.expect("write");
        w.relate(other, "Hosted on::Hosts", host).await.expect("write");
        let _on_paused = w
            .item("on paused", acme, Some(paused), None, true)
            .await
            .expect("write");
        let _on_beyond = w
            .item("on beyond", acme, Some(beyond), None, true)
            .await
            .expect("write");
        let on_other = w.item("on other", acme, Some(other), None, true).await.expect("write");
        let on_host = w.item("on host", acme, Some(host), None, true).await.expect("write");
        drop(w);

        let traced: Vec<i64> = fx.traced(host, 10).await.iter().map(|i| i.item_id).collect();
        assert_eq!(traced, vec![on_other, on_host]);
        // An alert on a CI in maintenance affects that CI's items but goes no further.
        let from_paused: Vec<&str> = fx.traced(paused, 10).await.iter().map(|i| i.reason).collect();
        assert_eq!(from_paused, vec!["direct"]);
    }

    #[tokio::test]
    async fn a_refresh_while_the_graph_is_being_read_is_traced_in_sql_with_the_same_rows() {
        let fx = Fixture::new().await;
        let mut w = fx.write().await;
        let acme = w.account("Acme", true).await.expect("write");
        let host = w.ci("host", "server", false).await.expect("write");
        let db = w.ci("db", "database", false).await.expect("write");
        w.relate(db, "Runs on::Runs", host).await.expect("write");
        let on_db = w.item("on db", acme, Some(db), None, true).await.expect("write");
        w.item("child", acme, None, Some(on_db), true).await.expect("write");
        w.item("on host", acme, Some(host), None, true).await.expect("write");
        let alert = w
            .alert(&crate::demo::NewAlert {
                source: "Prometheus",
                node: "host",
                kind: "Threshold",
                resource: "disk",
                metric_name: "disk_used",
                description: "Disk full on host",
                severity: crate::domain::Severity::Critical,
                closed: false,
                ci: Some(host),
                event_count: 1,
                first_event_at: "2026-12-01 10:00:00",
                last_event_at: "2026-12-01 10:00:00",
            })
            .await
            .expect("write");
        drop(w);
        let snapshot = || async {
            sqlx::query_as::<_, (i64, String, i64, Option<String>, Option<i64>)>(
                "SELECT item_id, reason, hops, ci_path, via_item_id FROM affected_items ORDER BY item_id",
            )
            .fetch_all(fx.store.pool())
            .await
            .expect("snapshot")
        };

        // The graph's read is held back: the refresh does not wait for it.
        let graphs = fx.store.cache::<GraphCache>();
        let held_back = graphs.hold_loading.lock().await;
        let version = fx.store.cmdb_version().await.expect("version");
        let outcome = fx
            .store
            .refresh_install_base(&alert, DEFAULT_MAX_HOPS, "tester")
            .await
            .expect("refresh");
        assert_eq!(outcome.items, 3);
        assert!(
            fx.store.impact_graph(version).await.expect("graph").is_none(),
            "the graph is still being read"
        );
        let in_sql = snapshot().await;
        assert_eq!(in_sql.len(), 3);
        assert!(in_sql.iter().any(|row| row.3.as_deref() == Some("host → db")));

        drop(held_back);
        let graph = fx.store.impact_graph_loaded(version).await.expect("graph");
        assert_eq!(graph.version(), version);
        fx.store
            .refresh_install_base(&alert, DEFAULT_MAX_HOPS, "tester")
            .await
            .expect("refresh");
        assert_eq!(
            snapshot().await,
            in_sql,
            "the walk over the graph stores the rows the SQL trace stored"
        );
    }
}
