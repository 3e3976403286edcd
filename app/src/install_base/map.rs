//! The alert form's **Impact map**: where the alert's outage spreads, drawn on the server as SVG (it works without
//! JavaScript and costs the wasm nothing) and laid out by layout-rs (a Sugiyama layered layout, as Graphviz's dot):
//! the alert's CI, the CIs its impact reaches by hop, the CIs in maintenance where it stopped, and the affected items
//! by account. A big trace is collapsed so it still draws quickly and stays readable: CIs grouped by hop and class,
//! the accounts with the most items named and the rest counted. The Affected Install Base Items table stays the
//! accessible source; the map's text alternative summarises what it shows.

use crate::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Past this many CIs, or accounts, the map is collapsed.
#[cfg(feature = "ssr")]
pub const MAX_CIS: usize = 30;
#[cfg(feature = "ssr")]
pub const MAX_ACCOUNTS: usize = 12;

/// The map as the alert form shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactMap {
    /// The SVG; empty when there is nothing to draw (no snapshot yet, or an empty one).
    pub svg: String,
    /// What the map shows, in words: its text alternative.
    pub summary: String,
    /// CIs grouped and accounts counted, because the trace is big.
    pub collapsed: bool,
}

/// The alert's impact map, from its stored snapshot.
#[server(endpoint = "impact_map", output = crate::codec::Json)]
pub async fn read_impact_map(alert: String) -> Result<ImpactMap, AppError> {
    crate::access::require(crate::access::Permission::ViewAlerts)?;
    let store = crate::store::Store::from_context()?;
    crate::error::with_status(store.impact_map(&alert).await)
}

/// The region beside Affected Install Base Items.
#[component]
pub fn ImpactMapView(map: ImpactMap) -> impl IntoView {
    let picture = (!map.svg.is_empty()).then(|| view! { <div class="impact-map" inner_html=map.svg></div> });
    view! {
        <section class="related" aria-labelledby="impact-map-heading">
            <h2 id="impact-map-heading">"Impact map"</h2>
            {picture}
            <p id="impact-map-summary">{map.summary}</p>
            <p class="muted">"The Affected Install Base Items table lists every item with its path."</p>
        </section>
    }
}

#[cfg(feature = "ssr")]
mod draw {
    use super::{ImpactMap, MAX_ACCOUNTS, MAX_CIS};
    use crate::{domain::parse_alert_number, store::Store, AppError};
    use layout::{
        backends::svg::SVGWriter,
        core::{base::Orientation, color::Color, style::StyleAttr},
        std_shapes::{
            render::get_shape_size,
            shapes::{Arrow, Element, ShapeKind},
        },
        topo::layout::VisualGraph,
    };
    use std::collections::{BTreeMap, BTreeSet};

    const FONT: usize = 13;

    /// What the snapshot says, grouped: each distinct path with its account and item count.
    struct Trace {
        alert_ci: String,
        /// CI name → its hop (the shortest seen) and class.
        cis: BTreeMap<String, (usize, String)>,
        /// CI → CI, along the paths.
        edges: BTreeSet<(String, String)>,
        /// (the item's CI, or the alert's for a child item) → account → items.
        items: BTreeMap<String, BTreeMap<String, i64>>,
        /// CIs in maintenance that depend on a reached CI: where the spread stopped, and the CI it stopped at.
        stopped: BTreeSet<(String, String)>,
    }

    #[derive(Clone, Copy)]
    enum Kind {
        Alert,
        Reached,
        Maintenance,
        Account,
    }

    fn style(kind: Kind) -> StyleAttr {
        let (line, fill) = match kind {
            Kind::Alert => (0x8a1c1cff, 0xfde2e2ff),
            Kind::Reached => (0x1f5a85ff, 0xe3eef7ff),
            Kind::Maintenance => (0x5f6b7aff, 0xeeeeeeff),
            Kind::Account => (0x2e7d32ff, 0xe5f3e6ff),
        };
        StyleAttr::new(Color::new(line), 2, Some(Color::new(fill)), 4, FONT)
    }

    /// A graph of labelled boxes and edges between them, laid out and drawn as SVG named `title`.
    struct Drawing {
        graph: VisualGraph,
        nodes: BTreeMap<String, layout::adt::dag::NodeHandle>,
    }

    impl Drawing {
        fn new() -> Self {
            Self {
                graph: VisualGraph::new(Orientation::LeftToRight),
                nodes: BTreeMap::new(),
            }
        }

        fn node(&mut self, key: &str, label: &str, kind: Kind) {
            if self.nodes.contains_key(key) {
                return;
            }
            let shape = ShapeKind::new_box(label);
            let size = get_shape_size(Orientation::LeftToRight, &shape, FONT, false);
            let element = Element::create(shape, style(kind), Orientation::TopToBottom, size);
            let handle = self.graph.add_node(element);
            self.nodes.insert(key.to_owned(), handle);
        }

        fn edge(&mut self, from: &str, to: &str, label: &str) {
            if let (Some(&a), Some(&b)) = (self.nodes.get(from), self.nodes.get(to)) {
                self.graph.add_edge(Arrow::simple(label), a, b);
            }
        }

        /// The SVG, as an image named `title` and described by the summary under it; none if layout-rs fails.
        fn svg(mut self, title: &str) -> String {
            if self.graph.num_nodes() == 0 {
                return String::new();
            }
            let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                let mut writer = SVGWriter::new();
                self.graph.do_it(false, false, false, &mut writer);
                writer.finalize()
            }));
            let Ok(svg) = drawn else {
                tracing::error!("the impact map could not be laid out");
                return String::new();
            };
            let svg = match svg.find("<svg") {
                Some(at) => &svg[at..],
                None => return String::new(),
            };
            let title = escape(title);
            svg.replacen(
                "<svg",
                &format!("<svg role=\"img\" aria-label=\"{title}\" aria-describedby=\"impact-map-summary\""),
                1,
            )
        }
    }

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
    }

    /// `n` and its noun, thousands grouped (`46,953 items`).
    fn plural(n: usize, one: &str, many: &str) -> String {
        format!("{} {}", crate::ui::grouped(n as u64), if n == 1 { one } else { many })
    }

    impl Trace {
        /// The map with every CI and account drawn.
        fn full(&self) -> ImpactMap {
            let mut d = Drawing::new();
            d.node(&self.alert_ci, &format!("{} (alert)", self.alert_ci), Kind::Alert);
            for (name, (hop, _)) in &self.cis {
                if *name != self.alert_ci {
                    d.node(name, &format!("{name} · hop {hop}"), Kind::Reached);
                }
            }
            for (from, to) in &self.edges {
                d.edge(from, to, "");
            }
            for (ci, at) in &self.stopped {
                let key = format!("maintenance:{ci}");
                d.node(&key, &format!("{ci} (in maintenance: stopped here)"), Kind::Maintenance);
                d.edge(at, &key, "");
            }
            for (ci, accounts) in &self.items {
                for (account, items) in accounts {
                    let key = format!("account:{account}");
                    d.node(&key, account, Kind::Account);
                    d.edge(ci, &key, &plural(*items as usize, "item", "items"));
                }
            }
            ImpactMap {
                svg: d.svg("Impact map"),
                summary: self.summary(false),
                collapsed: false,
            }
        }

        /// The map of a big trace: CIs by hop and class, the accounts with the most items, the rest counted.
        fn collapsed(&self) -> ImpactMap {
            let mut d = Drawing::new();
            d.node(&self.alert_ci, &format!("{} (alert)", self.alert_ci), Kind::Alert);
            let group = |name: &str| -> String {
                if name == self.alert_ci {
                    return name.to_owned();
                }
                let (hop, class) = &self.cis[name];
                format!("group:{hop}:{class}")
            };
            let mut groups: BTreeMap<String, (usize, String, usize)> = BTreeMap::new();
            for (name, (hop, class)) in &self.cis {
                if *name != self.alert_ci {
                    groups.entry(group(name)).or_insert((*hop, class.clone(), 0)).2 += 1;
                }
            }
            for (key, (hop, class, count)) in &groups {
                d.node(
                    key,
                    &format!(
                        "{} · hop {hop}",
                        plural(*count, &format!("{class} CI"), &format!("{class} CIs"))
                    ),
                    Kind::Reached,
                );
            }
            let edges: BTreeSet<(String, String)> = self
                .edges
                .iter()
                .map(|(a, b)| (group(a), group(b)))
                .filter(|(a, b)| a != b)
                .collect();
            for (from, to) in &edges {
                d.edge(from, to, "");
            }
            if !self.stopped.is_empty() {
                d.node(
                    "maintenance",
                    &plural(
                        self.stopped.len(),
                        "CI in maintenance: stopped",
                        "CIs in maintenance: stopped",
                    ),
                    Kind::Maintenance,
                );
                let from: BTreeSet<String> = self.stopped.iter().map(|(_, at)| group(at)).collect();
                for at in from {
                    d.edge(&at, "maintenance", "");
                }
            }
            let mut accounts: BTreeMap<&str, i64> = BTreeMap::new();
            for per in self.items.values() {
                for (account, items) in per {
                    *accounts.entry(account).or_default() += items;
                }
            }
            let mut ranked: Vec<(&str, i64)> = accounts.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let named: BTreeSet<&str> = ranked.iter().take(MAX_ACCOUNTS).map(|(a, _)| *a).collect();
            let (rest, rest_items) = ranked
                .iter()
                .skip(MAX_ACCOUNTS)
                .fold((0, 0), |(n, i), (_, items)| (n + 1, i + items));
            for (account, items) in ranked.iter().take(MAX_ACCOUNTS) {
                d.node(
                    &format!("account:{account}"),
                    &format!("{account} · {}", plural(*items as usize, "item", "items")),
                    Kind::Account,
                );
            }
            if rest > 0 {
                d.node(
                    "account:rest",
                    &format!(
                        "{} more accounts · {}",
                        rest,
                        plural(rest_items as usize, "item", "items")
                    ),
                    Kind::Account,
                );
            }
            let mut links: BTreeSet<(String, String)> = BTreeSet::new();
            for (ci, per) in &self.items {
                for account in per.keys() {
                    let to = if named.contains(account.as_str()) {
                        format!("account:{account}")
                    } else {
                        "account:rest".to_owned()
                    };
                    links.insert((group(ci), to));
                }
            }
            for (from, to) in &links {
                d.edge(from, to, "");
            }
            ImpactMap {
                svg: d.svg("Impact map (collapsed)"),
                summary: self.summary(true),
                collapsed: true,
            }
        }

        fn summary(&self, collapsed: bool) -> String {
            let mut accounts: BTreeMap<&str, i64> = BTreeMap::new();
            for per in self.items.values() {
                for (account, items) in per {
                    *accounts.entry(account).or_default() += items;
                }
            }
            let items: i64 = accounts.values().sum();
            let hops = self.cis.values().map(|(h, _)| *h).max().unwrap_or(0);
            let mut ranked: Vec<(&str, i64)> = accounts.iter().map(|(a, i)| (*a, *i)).collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let named: Vec<String> = ranked
                .iter()
                .take(5)
                .map(|(a, i)| format!("{a} ({})", crate::ui::grouped(u64::try_from(*i).unwrap_or(0))))
                .collect();
            let more = ranked.len().saturating_sub(5);
            let reached = self.cis.len().saturating_sub(1);
            let mut text = format!(
                "From {}, the impact reaches {} over {} and {} of {}: {}{}.",
                self.alert_ci,
                plural(reached, "other CI", "other CIs"),
                plural(hops, "hop", "hops"),
                plural(items as usize, "item", "items"),
                plural(accounts.len(), "account", "accounts"),
                named.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                },
            );
            if !self.stopped.is_empty() {
                let names: Vec<&str> = self.stopped.iter().map(|(ci, _)| ci.as_str()).take(5).collect();
                text.push_str(&format!(
                    " It stopped at {} in maintenance: {}.",
                    plural(self.stopped.len(), "CI", "CIs"),
                    names.join(", ")
                ));
            }
            if collapsed {
                text.push_str(" The map groups the CIs by hop and class and names the accounts with the most items.");
            }
            text
        }
    }

    impl Store {
        /// The alert's impact map, from its snapshot (see the module's documentation).
        #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
        pub async fn impact_map(&self, alert: &str) -> Result<ImpactMap, AppError> {
            let number = parse_alert_number(alert)?;
            let mut conn = self.pool().acquire().await?;
            let found: Option<(i64, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT a.id, ci.name, a.ib_refreshed_at FROM alerts a
                 LEFT JOIN configuration_items ci ON ci.id = a.ci_id WHERE a.number = $1",
            )
            .bind(number.to_string())
            .fetch_optional(&mut *conn)
            .await?;
            let Some((id, ci, refreshed)) = found else {
                return Err(AppError::not_found("Alert", number.to_string()));
            };
            let (Some(alert_ci), Some(_)) = (ci, refreshed) else {
                return Ok(ImpactMap {
                    summary: "Nothing to draw yet: the alert has no snapshot of affected items. Refresh Install Base Items to trace it.".into(),
                    ..ImpactMap::default()
                });
            };
            let rows: Vec<(Option<String>, String, i64)> = sqlx::query_as(
                "SELECT ai.ci_path, acc.name, COUNT(*) FROM affected_items ai
                 JOIN install_base_items ib ON ib.id = ai.item_id JOIN accounts acc ON acc.id = ib.account_id
                 WHERE ai.alert_id = $1 GROUP BY ai.ci_path, acc.name",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
            if rows.is_empty() {
                return Ok(ImpactMap {
                    summary: format!("Nothing to draw: the snapshot holds no item affected by {alert_ci}."),
                    ..ImpactMap::default()
                });
            }
            let mut trace = Trace {
                alert_ci: alert_ci.clone(),
                cis: BTreeMap::from([(alert_ci.clone(), (0, String::new()))]),
                edges: BTreeSet::new(),
                items: BTreeMap::new(),
                stopped: BTreeSet::new(),
            };
            for (path, account, items) in rows {
                let names: Vec<&str> = path.as_deref().map(|p| p.split(" → ").collect()).unwrap_or_default();
                for (hop, name) in names.iter().enumerate() {
                    let entry = trace.cis.entry((*name).to_owned()).or_insert((hop, String::new()));
                    entry.0 = entry.0.min(hop);
                }
                for pair in names.windows(2) {
                    trace.edges.insert((pair[0].to_owned(), pair[1].to_owned()));
                }
                let at = names.last().map_or(alert_ci.clone(), |n| (*n).to_owned());
                *trace.items.entry(at).or_default().entry(account).or_default() += items;
            }
            // The reached CIs' classes, and the CIs in maintenance that depend on them (where the trace stopped).
            let names: Vec<String> = trace.cis.keys().cloned().collect();
            for chunk in names.chunks(500) {
                let list = crate::store::placeholders(chunk.len());
                let classes: Vec<(String, String)> = chunk
                    .iter()
                    .fold(
                        sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "SELECT name, class FROM configuration_items WHERE name IN ({list})"
                        ))),
                        |q, n| q.bind(n),
                    )
                    .fetch_all(&mut *conn)
                    .await?;
                for (name, class) in classes {
                    if let Some(entry) = trace.cis.get_mut(&name) {
                        entry.1 = class;
                    }
                }
                let stopped: Vec<(String, String)> = chunk
                    .iter()
                    .fold(
                        sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "SELECT p.name, c.name FROM ci_relationships r
                             JOIN relationship_types t ON t.id = r.type_id AND t.carries_impact = 1
                             JOIN configuration_items p ON p.id = r.parent_id AND p.in_maintenance = 1
                             JOIN configuration_items c ON c.id = r.child_id
                             WHERE c.name IN ({list})"
                        ))),
                        |q, n| q.bind(n),
                    )
                    .fetch_all(&mut *conn)
                    .await?;
                trace.stopped.extend(stopped);
            }
            drop(conn);
            let accounts: BTreeSet<&String> = trace.items.values().flat_map(|a| a.keys()).collect();
            let big = trace.cis.len() > MAX_CIS || accounts.len() > MAX_ACCOUNTS;
            Ok(if big { trace.collapsed() } else { trace.full() })
        }
    }
}
