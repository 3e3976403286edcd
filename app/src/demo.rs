//! The demo data set (`forestall demo`, `forestall serve --demo`) and the writer it and the tests build CMDBs with.
//!
//! Deterministic: the same records, numbers and times every time, so the README and the end-to-end tests can name
//! them. The demo server also gets six weeks of history ([`history`]) for its dashboard.

mod history;

use crate::{
    access::Role,
    auth::server::{
        passwords,
        users::{insert_user, UserError},
    },
    domain::{AlertPrefix, ItemPrefix, Severity},
    ingest::tokens::{insert_token, TokenError},
    store::{next_number, Store},
};
use serde::Serialize;
use sqlx::AnyConnection;
use std::ops::DerefMut;

/// Writes CMDB records on one connection (or inside one transaction).
pub(crate) struct CmdbWriter<C> {
    conn: C,
}

/// An alert as monitoring would have raised it.
pub(crate) struct NewAlert<'a> {
    pub source: &'a str,
    pub node: &'a str,
    pub kind: &'a str,
    pub resource: &'a str,
    pub metric_name: &'a str,
    pub description: &'a str,
    pub severity: Severity,
    pub closed: bool,
    pub ci: Option<i64>,
    pub event_count: i64,
    pub first_event_at: &'a str,
    pub last_event_at: &'a str,
}

impl<C: DerefMut<Target = AnyConnection>> CmdbWriter<C> {
    pub fn new(conn: C) -> Self {
        Self { conn }
    }

    pub async fn account(&mut self, name: &str, external: bool) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("INSERT INTO accounts (name, kind) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(if external { "external" } else { "internal" })
            .fetch_one(&mut *self.conn)
            .await
    }

    /// Adds a contact to `account`, as its primary contact when `primary`.
    pub async fn contact(&mut self, account: i64, name: &str, email: &str, primary: bool) -> Result<i64, sqlx::Error> {
        let id = sqlx::query_scalar("INSERT INTO contacts (account_id, name, email) VALUES ($1, $2, $3) RETURNING id")
            .bind(account)
            .bind(name)
            .bind(email)
            .fetch_one(&mut *self.conn)
            .await?;
        if primary {
            sqlx::query("UPDATE accounts SET primary_contact_id = $1 WHERE id = $2")
                .bind(id)
                .bind(account)
                .execute(&mut *self.conn)
                .await?;
        }
        Ok(id)
    }

    pub async fn product(&mut self, name: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("INSERT INTO products (name) VALUES ($1) RETURNING id")
            .bind(name)
            .fetch_one(&mut *self.conn)
            .await
    }

    pub async fn ci(&mut self, name: &str, class: &str, in_maintenance: bool) -> Result<i64, sqlx::Error> {
        let fqdn = format!("{name}.example.net");
        sqlx::query_scalar(
            "INSERT INTO configuration_items (name, class, fqdn, in_maintenance) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(class)
        .bind(fqdn)
        .bind(i64::from(in_maintenance))
        .fetch_one(&mut *self.conn)
        .await
    }

    /// Records "`parent` <type> `child`", e.g. `relate(app, "Runs on::Runs", host)`. An unknown type is an error,
    /// not a silently missing relationship.
    pub async fn relate(&mut self, parent: i64, relationship_type: &str, child: i64) -> Result<(), sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO ci_relationships (parent_id, child_id, type_id)
             SELECT $1, $2, id FROM relationship_types WHERE name = $3",
        )
        .bind(parent)
        .bind(child)
        .bind(relationship_type)
        .execute(&mut *self.conn)
        .await?;
        match inserted.rows_affected() {
            1 => Ok(()),
            _ => Err(sqlx::Error::RowNotFound),
        }
    }

    /// Adds an install base item without contact or product.
    #[cfg(test)]
    pub async fn item(
        &mut self,
        name: &str,
        account: i64,
        ci: Option<i64>,
        parent: Option<i64>,
        active: bool,
    ) -> Result<i64, sqlx::Error> {
        self.item_with(name, account, None, None, ci, parent, active).await
    }

    #[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
    pub async fn item_with(
        &mut self,
        name: &str,
        account: i64,
        contact: Option<i64>,
        product: Option<i64>,
        ci: Option<i64>,
        parent: Option<i64>,
        active: bool,
    ) -> Result<i64, sqlx::Error> {
        let number = next_number::<ItemPrefix>(&mut self.conn).await?;
        sqlx::query_scalar(
            "INSERT INTO install_base_items
                 (number, name, account_id, contact_id, product_id, ci_id, parent_id, active, install_date)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '2025-03-01') RETURNING id",
        )
        .bind(number.to_string())
        .bind(name)
        .bind(account)
        .bind(contact)
        .bind(product)
        .bind(ci)
        .bind(parent)
        .bind(i64::from(active))
        .fetch_one(&mut *self.conn)
        .await
    }

    #[cfg(test)]
    pub async fn set_parent(&mut self, item: i64, parent: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE install_base_items SET parent_id = $1 WHERE id = $2")
            .bind(parent)
            .bind(item)
            .execute(&mut *self.conn)
            .await
            .map(drop)
    }

    /// Raises an alert; returns its number.
    pub async fn alert(&mut self, alert: &NewAlert<'_>) -> Result<String, sqlx::Error> {
        let number = next_number::<AlertPrefix>(&mut self.conn).await?.to_string();
        let message_key = format!(
            "{}|{}|{}|{}|{}",
            alert.source, alert.node, alert.kind, alert.resource, alert.metric_name
        );
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alerts (number, source, node, type, resource, metric_name, message_key, description,
                                 severity, state, ci_id, event_count, first_event_at, last_event_at, closed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                     CASE WHEN $10 = 'Closed' THEN $14 END) RETURNING id",
        )
        .bind(&number)
        .bind(alert.source)
        .bind(alert.node)
        .bind(alert.kind)
        .bind(alert.resource)
        .bind(alert.metric_name)
        .bind(message_key)
        .bind(alert.description)
        .bind(i64::from(alert.severity.code()))
        .bind(if alert.closed { "Closed" } else { "Open" })
        .bind(alert.ci)
        .bind(alert.event_count)
        .bind(alert.first_event_at)
        .bind(alert.last_event_at)
        .fetch_one(&mut *self.conn)
        .await?;
        sqlx::query(
            "INSERT INTO journal_entries (alert_id, kind, author, created_at, body) VALUES ($1, 'activity', $2, $3, $4)",
        )
        .bind(id)
        .bind(alert.source)
        .bind(alert.first_event_at)
        .bind(format!("Alert raised by {} for {}.", alert.source, alert.node))
        .execute(&mut *self.conn)
        .await?;
        Ok(number)
    }
}

/// What `forestall demo` wrote, for its output and the README.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DemoSummary {
    /// False when the database already held data and nothing was written.
    pub written: bool,
    pub alerts: Vec<(String, String)>,
}

impl Store {
    /// Writes the demo data set into an empty database, in one transaction. A database that already has alerts or
    /// accounts is left as it is.
    pub async fn seed_demo(&self) -> Result<DemoSummary, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let existing: i64 =
            sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM alerts) + (SELECT COUNT(*) FROM accounts)")
                .fetch_one(&mut *tx)
                .await?;
        if existing > 0 {
            return Ok(DemoSummary {
                written: false,
                alerts: Vec::new(),
            });
        }
        let mut hashes = Vec::with_capacity(DEMO_USERS.len());
        for (_, _, password) in DEMO_USERS {
            hashes.push(passwords::hash(password.to_owned()).await?);
        }
        let alerts = write_demo(&mut CmdbWriter::new(&mut *tx)).await?;
        crate::store::cmdb_changed(&mut tx).await?;
        for ((name, role, _), hash) in DEMO_USERS.iter().zip(&hashes) {
            insert_user(&mut tx, name, *role, hash, "demo data")
                .await
                .map_err(|error| match error {
                    UserError::Database(error) => error,
                    other => sqlx::Error::Protocol(other.to_string()),
                })?;
        }
        insert_token(&mut tx, DEMO_TOKEN.0, DEMO_TOKEN.1, "demo data")
            .await
            .map_err(|error| match error {
                TokenError::Database(error) => error,
                other => sqlx::Error::Protocol(other.to_string()),
            })?;
        tx.commit().await?;
        Ok(DemoSummary { written: true, alerts })
    }
}

impl Store {
    /// The demo's credentials that still work here: users whose password is still the demo's (anyone who read the
    /// README can sign in as them) and the demo token, unless revoked. The server warns of them at start when it is
    /// not serving the demo.
    pub async fn demo_credentials_in_use(&self) -> Result<Vec<String>, sqlx::Error> {
        let mut in_use = Vec::new();
        for (name, _, password) in DEMO_USERS {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT password_hash FROM users WHERE lower(name) = $1 AND disabled = 0")
                    .bind(name)
                    .fetch_optional(self.pool())
                    .await?;
            let Some(stored) = stored else { continue };
            let Some(turn) = passwords::check_turn().await else {
                continue;
            };
            if passwords::verify(&turn, password.to_owned(), Some(stored)).await? {
                in_use.push(format!("user “{name}” with the demo password"));
            }
        }
        let token: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(crate::store::digest(DEMO_TOKEN.1))
                .fetch_one(self.pool())
                .await?;
        if token > 0 {
            in_use.push(format!("API token “{}”, whose secret is in the README", DEMO_TOKEN.0));
        }
        Ok(in_use)
    }
}

/// The demo's API token, name and token, for posting events to a demo server. For the demo only: it is in the
/// README.
pub const DEMO_TOKEN: (&str, &str) = ("demo", "fst_demo_only_not_secret_0000000000000000");

/// The demo's users, one per role: name, role, password. For the demo only: anyone who reads the README knows them.
pub const DEMO_USERS: [(&str, Role, &str); 5] = [
    ("admin", Role::Admin, "demo-admin-pass"),
    ("evt.admin", Role::EvtMgmtAdmin, "demo-evt-admin-pass"),
    ("operator", Role::EvtMgmtOperator, "demo-operator-pass"),
    ("agent", Role::SnCustomerserviceAgent, "demo-agent-pass"),
    ("viewer", Role::EvtMgmtUser, "demo-viewer-pass"),
];

/// source, node, type, resource, severity, CI, closed, description
type DemoAlert<'a> = (&'a str, &'a str, &'a str, &'a str, Severity, Option<i64>, bool, &'a str);

const FILLER_NODES: [&str; 6] = ["web-01", "web-02", "cache-01", "queue-01", "dns-01", "vpn-gw-01"];
/// resource, metric name, what the description calls it
const FILLER_METRICS: [(&str, &str, &str); 4] = [
    ("cpu", "node_load5", "Load average"),
    ("memory", "node_memory_MemAvailable_bytes", "Memory use"),
    ("disk", "node_filesystem_avail_bytes", "Disk use"),
    ("network", "node_network_receive_errs_total", "Network errors"),
];

async fn write_demo<C: DerefMut<Target = AnyConnection>>(
    w: &mut CmdbWriter<C>,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    // Accounts and their people.
    let acme = w.account("Acme Corporation", true).await?;
    let acme_ops = w
        .contact(acme, "Alice Moreau", "alice.moreau@acme.example", true)
        .await?;
    // Bruno is told too: notices go to the primary contact and the contacts marked to receive them.
    let bruno = w
        .contact(acme, "Bruno Keller", "bruno.keller@acme.example", false)
        .await?;
    sqlx::query("UPDATE contacts SET notify = 1 WHERE id = $1")
        .bind(bruno)
        .execute(&mut *w.conn)
        .await?;
    let globex = w.account("Globex Industries", true).await?;
    let globex_ops = w
        .contact(globex, "Grace Okafor", "grace.okafor@globex.example", true)
        .await?;
    let initech = w.account("Initech", true).await?;
    let initech_ops = w
        .contact(initech, "Ivan Petrov", "ivan.petrov@initech.example", true)
        .await?;
    let umbrella = w.account("Umbrella Health", true).await?;
    let umbrella_ops = w
        .contact(umbrella, "Uma Lindqvist", "uma.lindqvist@umbrella.example", true)
        .await?;
    let internal = w.account("Forestall IT", false).await?;
    let it_ops = w
        .contact(internal, "Ines Duarte", "ines.duarte@forestall.example", true)
        .await?;

    let gateway = w.product("PayFlow Gateway").await?;
    let ledger = w.product("LedgerDB Cluster").await?;
    let billing = w.product("Billing Suite").await?;
    let mail = w.product("MailRelay").await?;
    let analytics = w.product("Analytics Suite").await?;

    // The payments stack: db-host-01 ← ledger-db ← payments-app ↔ payments-service, billing-app; reporting-app is in
    // maintenance, so analytics-app behind it is not reached.
    let db_host = w.ci("db-host-01", "server", false).await?;
    let ledger_db = w.ci("ledger-db", "database", false).await?;
    let payments_app = w.ci("payments-app", "application", false).await?;
    let payments_svc = w.ci("payments-service", "service", false).await?;
    let billing_app = w.ci("billing-app", "application", false).await?;
    let reporting_app = w.ci("reporting-app", "application", true).await?;
    let analytics_app = w.ci("analytics-app", "application", false).await?;
    let backup_agent = w.ci("backup-agent-01", "server", false).await?;
    w.relate(ledger_db, "Runs on::Runs", db_host).await?;
    w.relate(payments_app, "Depends on::Used by", ledger_db).await?;
    w.relate(billing_app, "Depends on::Used by", ledger_db).await?;
    w.relate(payments_svc, "Depends on::Used by", payments_app).await?;
    w.relate(payments_app, "Depends on::Used by", payments_svc).await?;
    w.relate(reporting_app, "Depends on::Used by", ledger_db).await?;
    w.relate(analytics_app, "Depends on::Used by", reporting_app).await?;
    w.relate(backup_agent, "Connected by::Connects", db_host).await?;

    // The mail stack, one customer only.
    let mail_host = w.ci("mail-relay-01", "server", false).await?;
    let mail_app = w.ci("mailrelay", "application", false).await?;
    w.relate(mail_app, "Hosted on::Hosts", mail_host).await?;

    // A router nothing depends on.
    let edge_router = w.ci("edge-router-07", "network", false).await?;

    let acme_ledger = w
        .item_with(
            "Acme ledger cluster",
            acme,
            Some(acme_ops),
            Some(ledger),
            Some(ledger_db),
            None,
            true,
        )
        .await?;
    let acme_gateway = w
        .item_with(
            "Acme payment gateway",
            acme,
            Some(acme_ops),
            Some(gateway),
            Some(payments_app),
            None,
            true,
        )
        .await?;
    w.item_with(
        "Acme gateway EU node",
        acme,
        Some(acme_ops),
        Some(gateway),
        None,
        Some(acme_gateway),
        true,
    )
    .await?;
    w.item_with(
        "Acme legacy gateway",
        acme,
        Some(acme_ops),
        Some(gateway),
        Some(payments_app),
        None,
        false,
    )
    .await?;
    w.item_with(
        "Globex billing",
        globex,
        Some(globex_ops),
        Some(billing),
        Some(billing_app),
        None,
        true,
    )
    .await?;
    w.item_with(
        "Globex payments portal",
        globex,
        Some(globex_ops),
        Some(gateway),
        Some(payments_svc),
        None,
        true,
    )
    .await?;
    w.item_with(
        "Initech reporting",
        initech,
        Some(initech_ops),
        Some(analytics),
        Some(reporting_app),
        None,
        true,
    )
    .await?;
    w.item_with(
        "Initech analytics",
        initech,
        Some(initech_ops),
        Some(analytics),
        Some(analytics_app),
        None,
        true,
    )
    .await?;
    w.item_with(
        "Forestall IT database host",
        internal,
        Some(it_ops),
        None,
        Some(db_host),
        None,
        true,
    )
    .await?;
    let umbrella_relay = w
        .item_with(
            "Umbrella mail relay",
            umbrella,
            Some(umbrella_ops),
            Some(mail),
            Some(mail_host),
            None,
            true,
        )
        .await?;
    w.item_with(
        "Umbrella mail filtering",
        umbrella,
        Some(umbrella_ops),
        Some(mail),
        Some(mail_app),
        None,
        true,
    )
    .await?;
    w.item_with(
        "Umbrella archive",
        umbrella,
        Some(umbrella_ops),
        Some(mail),
        None,
        Some(umbrella_relay),
        true,
    )
    .await?;
    let _ = acme_ledger;

    let mut alerts = Vec::new();
    // Older, quieter alerts first: they fill a second page of All Alerts.
    for (n, node) in FILLER_NODES.iter().cycle().take(22).enumerate() {
        let minute = n * 7;
        let at = format!(
            "2026-11-2{} {:02}:{:02}:00",
            1 + n % 4,
            8 + minute / 60 % 10,
            minute % 60
        );
        let closed = n % 3 != 0;
        let severity = if n % 2 == 0 { Severity::Warning } else { Severity::Info };
        // Each round over the nodes watches another resource, so no two alerts share a message key.
        let (resource, metric_name, what) = FILLER_METRICS[n / FILLER_NODES.len()];
        w.alert(&NewAlert {
            source: "Prometheus",
            node,
            kind: "Threshold",
            resource,
            metric_name,
            description: &format!("{what} above threshold on {node} (sample {})", n + 1),
            severity,
            closed,
            ci: None,
            event_count: 1 + (n as i64 % 5),
            first_event_at: &at,
            last_event_at: &at,
        })
        .await?;
    }
    // The alerts the flow works on, newest last. (source, node, type, resource, severity, CI, closed, description)
    let specs: [DemoAlert; 5] = [
        (
            "Grafana",
            "edge-router-07",
            "Interface",
            "ge-0/0/1",
            Severity::Minor,
            Some(edge_router),
            false,
            "Interface ge-0/0/1 flapping on edge-router-07",
        ),
        (
            "Prometheus",
            "unknown-host-99",
            "Availability",
            "ping",
            Severity::Major,
            None,
            false,
            "Host unknown-host-99 unreachable (no matching configuration item)",
        ),
        (
            "Prometheus",
            "edge-router-07",
            "Availability",
            "bgp",
            Severity::Warning,
            Some(edge_router),
            true,
            "BGP session reset",
        ),
        (
            "Prometheus",
            "mail-relay-01",
            "Queue",
            "smtp",
            Severity::Major,
            Some(mail_host),
            false,
            "SMTP queue growing on mail-relay-01",
        ),
        (
            "Prometheus",
            "db-host-01",
            "Disk",
            "/var/lib/ledger",
            Severity::Critical,
            Some(db_host),
            false,
            "Disk /var/lib/ledger 97% full on db-host-01",
        ),
    ];
    for (i, (source, node, kind, resource, severity, ci, closed, description)) in specs.into_iter().enumerate() {
        let at = format!("2026-11-26 09:{:02}:00", 10 + i * 5);
        let number = w
            .alert(&NewAlert {
                source,
                node,
                kind,
                resource,
                metric_name: "",
                description,
                severity,
                closed,
                ci,
                event_count: 3,
                first_event_at: "2026-11-26 09:00:00",
                last_event_at: &at,
            })
            .await?;
        alerts.push((number, description.to_owned()));
    }
    Ok(alerts)
}
