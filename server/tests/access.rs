//! Who may call what: every route of the router, as nobody and as each role, against DESIGN.md's role table.
//!
//! The routes are enumerated from the app (Leptos pages, registered server functions, the plain axum routes), and
//! the table below must name each exactly once: a route added later without a rule here fails this test, and a
//! route without a rule in `route_access` is refused to everyone.

use crate::support;

use app::{access::Role, auth::server::route_access, App};
use axum::{body::Body, http::Request};
use leptos::server_fn::axum::server_fn_paths;
use std::collections::BTreeSet;
use support::*;

/// Who may use a route.
#[derive(Clone, Copy, Debug)]
enum Rule {
    Public,
    SignedIn,
    Roles(&'static [Role]),
    /// Monitoring tools with an API token: a session is not one, so every identity here is refused.
    Token,
    /// Prometheus: its own bearer token, or a scraper on this machine (an in-process call is neither).
    Scraper,
}

use Role::*;

const OPERATORS: &[Role] = &[EvtMgmtAdmin, EvtMgmtOperator];
const ALERT_VIEWERS: &[Role] = &[EvtMgmtAdmin, EvtMgmtOperator, EvtMgmtUser];
const CASE_VIEWERS: &[Role] = &[EvtMgmtAdmin, EvtMgmtOperator, SnCustomerserviceAgent, EvtMgmtUser];
/// Work notes on a proactive case: agents, and operators (who may not otherwise change it).
const WORK_NOTE_WRITERS: &[Role] = &[EvtMgmtAdmin, EvtMgmtOperator, SnCustomerserviceAgent];

/// The proactive dashboard: operators, agents and both admins (not the read-only evt_mgmt_user).
const DASHBOARD_VIEWERS: &[Role] = &[Admin, EvtMgmtAdmin, EvtMgmtOperator, SnCustomerserviceAgent];

/// Notify customers: agents and evt_mgmt_admin.
const NOTIFIERS: &[Role] = &[EvtMgmtAdmin, SnCustomerserviceAgent];

/// Every route: method, path as the router matches it, rule.
const TABLE: &[(&str, &str, Rule)] = &[
    ("GET", "/healthz", Rule::Public),
    ("GET", "/metrics", Rule::Scraper),
    // The stream of alert changes (`topics=alerts`); live.rs has the case topics.
    ("GET", "/live", Rule::Roles(ALERT_VIEWERS)),
    ("POST", "/login", Rule::Public),
    ("GET", "/login", Rule::Public),
    ("POST", "/logout", Rule::SignedIn),
    ("POST", "/ingest/v1/events", Rule::Token),
    ("POST", "/ingest/v1/alertmanager", Rule::Token),
    ("POST", "/ingest/v1/grafana", Rule::Token),
    ("GET", "/", Rule::SignedIn),
    ("GET", "/alerts", Rule::Roles(ALERT_VIEWERS)),
    ("GET", "/alerts/{number}", Rule::Roles(ALERT_VIEWERS)),
    ("GET", "/cases", Rule::Roles(CASE_VIEWERS)),
    ("GET", "/cases/{number}", Rule::Roles(CASE_VIEWERS)),
    // Reactive cases: the form, its choices and its post; agents record them.
    ("GET", "/cases/new", Rule::Roles(&[SnCustomerserviceAgent])),
    (
        "POST",
        "/api/reactive_case_form",
        Rule::Roles(&[SnCustomerserviceAgent]),
    ),
    ("POST", "/reactive-cases", Rule::Roles(&[SnCustomerserviceAgent])),
    // The proactive dashboard: operators, agents and admins; its tables as CSV.
    ("GET", "/dashboard", Rule::Roles(DASHBOARD_VIEWERS)),
    ("GET", "/dashboard.csv", Rule::Roles(DASHBOARD_VIEWERS)),
    ("POST", "/api/dashboard", Rule::Roles(DASHBOARD_VIEWERS)),
    ("GET", "/audit", Rule::Roles(&[Admin])),
    ("GET", "/rules", Rule::Roles(&[EvtMgmtAdmin])),
    // Telling the customers: agents and evt_mgmt_admin notify; every case viewer sees what was sent.
    ("GET", "/cases/{number}/notify", Rule::Roles(NOTIFIERS)),
    ("POST", "/notify", Rule::Roles(NOTIFIERS)),
    ("POST", "/notices/retry", Rule::Roles(NOTIFIERS)),
    ("POST", "/auto-notice", Rule::Roles(NOTIFIERS)),
    ("GET", "/notices", Rule::Roles(CASE_VIEWERS)),
    ("GET", "/notice-templates", Rule::Roles(&[EvtMgmtAdmin])),
    ("POST", "/notice-templates/save", Rule::Roles(&[EvtMgmtAdmin])),
    ("POST", "/api/customer_impact", Rule::Roles(CASE_VIEWERS)),
    ("POST", "/api/notice_preview", Rule::Roles(NOTIFIERS)),
    ("POST", "/api/list_notices", Rule::Roles(CASE_VIEWERS)),
    ("POST", "/api/notice_templates", Rule::Roles(&[EvtMgmtAdmin])),
    ("POST", "/api/list_alerts", Rule::Roles(ALERT_VIEWERS)),
    // The live lists' rows (live.rs has what they answer).
    ("POST", "/api/live_alert_rows", Rule::Roles(ALERT_VIEWERS)),
    ("POST", "/api/live_case_rows", Rule::Roles(CASE_VIEWERS)),
    ("POST", "/api/get_alert", Rule::Roles(ALERT_VIEWERS)),
    ("POST", "/api/alert_journal", Rule::Roles(ALERT_VIEWERS)),
    ("POST", "/api/affected_items", Rule::Roles(ALERT_VIEWERS)),
    ("POST", "/api/impact_map", Rule::Roles(ALERT_VIEWERS)),
    ("POST", "/api/refresh_install_base", Rule::Roles(OPERATORS)),
    ("POST", "/api/prefill_case", Rule::Roles(OPERATORS)),
    ("POST", "/api/create_case", Rule::Roles(OPERATORS)),
    ("POST", "/api/create_incident", Rule::Roles(OPERATORS)),
    ("POST", "/api/list_rules", Rule::Roles(&[EvtMgmtAdmin])),
    ("POST", "/api/update_rule", Rule::Roles(&[EvtMgmtAdmin])),
    ("POST", "/api/list_cases", Rule::Roles(CASE_VIEWERS)),
    ("POST", "/api/get_case", Rule::Roles(CASE_VIEWERS)),
    // The case page's work area, which it reads again after each change.
    ("POST", "/api/case_work", Rule::Roles(CASE_VIEWERS)),
    ("POST", "/api/update_case", Rule::Roles(&[SnCustomerserviceAgent])),
    ("POST", "/api/assign_case", Rule::Roles(&[SnCustomerserviceAgent])),
    ("POST", "/api/add_case_note", Rule::Roles(WORK_NOTE_WRITERS)),
    ("POST", "/api/list_audit", Rule::Roles(&[Admin])),
];

/// Every route the router serves, as `(method, path)`.
fn enumerate_router() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for listing in leptos_axum::generate_route_list(App) {
        for method in listing.methods() {
            routes.insert((format!("{method:?}").to_uppercase(), listing.path().to_owned()));
        }
    }
    for (path, method) in server_fn_paths() {
        routes.insert((method.to_string(), path.to_owned()));
    }
    for (method, path, _) in server::plain_routes() {
        routes.insert((method.to_string(), path.to_owned()));
    }
    routes
}

#[test]
fn every_route_has_a_rule_here_and_in_the_guard() {
    let table: BTreeSet<_> = TABLE.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let routes = enumerate_router();
    let missing: Vec<_> = routes.difference(&table).collect();
    let stale: Vec<_> = table.difference(&routes).collect();
    assert!(
        missing.is_empty(),
        "routes without an expected rule in this test: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rules for routes the router does not serve: {stale:?}"
    );
    for (_, path) in &routes {
        assert!(route_access(path).is_some(), "{path} has no rule in auth::route_access");
    }
}

/// The request that exercises a route, with arguments that name real demo records (case CS0010001 is the
/// operator's proactive case for the mail relay alert, made before each run).
fn request(method: &str, path: &str) -> Request<Body> {
    let form: &[(&str, &str)] = match path {
        "/api/list_alerts" => &[("filter[page]", "1")],
        "/api/live_alert_rows" => &[
            ("filter[page]", "1"),
            ("shown[0][number]", DB_HOST_ALERT),
            ("shown[0][fingerprint]", "0"),
        ],
        "/api/live_case_rows" => &[
            ("page", "1"),
            ("shown[0][number]", "CS0010001"),
            ("shown[0][fingerprint]", "0"),
        ],
        "/api/get_alert" | "/api/alert_journal" => &[("number", DB_HOST_ALERT)],
        "/api/impact_map" => &[("alert", DB_HOST_ALERT)],
        "/api/affected_items" | "/api/refresh_install_base" | "/api/prefill_case" => &[("alert", MAIL_ALERT)],
        "/api/create_case" => &[
            ("input[alert]", DB_HOST_ALERT),
            ("input[short_description]", "Database host down"),
            ("input[priority]", "1"),
        ],
        "/api/create_incident" => &[("alert", DB_HOST_ALERT)],
        "/api/list_rules" => &[],
        "/api/update_rule" => &[
            ("input[id]", "1"),
            ("input[active]", "on"),
            ("input[min_severity]", "3"),
        ],
        "/api/list_cases" => &[],
        "/api/get_case" | "/api/case_work" => &[("number", "CS0010001")],
        "/api/update_case" => &[("input[number]", "CS0010001"), ("input[state]", "Open")],
        "/api/assign_case" => &[("number", "CS0010001")],
        "/api/add_case_note" => &[
            ("input[number]", "CS0010001"),
            ("input[kind]", "WorkNote"),
            ("input[text]", "Checked the relay."),
        ],
        "/api/list_audit" => &[],
        "/api/reactive_case_form" => &[],
        "/reactive-cases" => &[
            ("account", "1"),
            ("channel", "phone"),
            ("short_description", "Mail is not arriving"),
            ("priority", "3"),
            ("related", "CS0010001"),
        ],
        "/api/customer_impact" | "/api/notice_preview" => &[("number", "CS0010001")],
        "/notify" => &[("case", "CS0010001"), ("kind", "initial"), ("seq", "1")],
        "/notices/retry" => &[("id", "1"), ("back", "/notices")],
        "/auto-notice" => &[("case", "CS0010001"), ("action", "hold")],
        "/notice-templates/save" => &[
            ("kind", "update"),
            ("subject", "[{{ case.number }}] Update"),
            ("body", "Still working on it."),
        ],
        "/login" if method == "POST" => &[("user_name", "nobody"), ("password", "not a password")],
        _ => &[],
    };
    if path.starts_with("/ingest/") {
        let body = match path {
            "/ingest/v1/events" => r#"{"source": "Nagios", "node": "mail-relay-01", "severity": 1}"#,
            _ => r#"{"status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "Down"}}]}"#,
        };
        return Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("request");
    }
    if path == "/live" {
        return Request::get("/live?topics=alerts")
            .header("accept", "text/event-stream")
            .body(Body::empty())
            .expect("request");
    }
    if method == "GET" {
        let path = path.replace("{number}", &number_in(path));
        return Request::get(path)
            .header("accept", "text/html")
            .body(Body::empty())
            .expect("request");
    }
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(Body::from(encode(form)))
        .expect("request")
}

/// The record a path's `{number}` names in these tests.
fn number_in(path: &str) -> String {
    if path.starts_with("/cases") {
        "CS0010001"
    } else {
        DB_HOST_ALERT
    }
    .to_owned()
}

/// The route's path with a trailing slash, and with its first letter in upper case (its record's number as it is).
fn variants(path: &str) -> Vec<String> {
    let real = path.replace("{number}", &number_in(path));
    let query = if path == "/live" { "?topics=alerts" } else { "" };
    let mut variants = vec![format!("{real}/{query}")];
    if real.len() > 1 {
        variants.push(format!("/{}{}{query}", real[1..2].to_ascii_uppercase(), &real[2..]));
    }
    variants
}

/// What the database holds that a refused request must not change.
async fn fingerprint(app: &TestApp) -> String {
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM cases ORDER BY id")
        .fetch_all(&app.db)
        .await
        .expect("states");
    let counts = [
        app.count("SELECT COUNT(*) FROM journal_entries").await,
        app.count("SELECT COUNT(*) FROM affected_items").await,
        app.count("SELECT COUNT(*) FROM alerts WHERE ib_refreshed_at IS NOT NULL")
            .await,
        app.count("SELECT COUNT(*) FROM audit_log").await,
        app.count("SELECT CAST(SUM(event_count) AS BIGINT) FROM alerts").await,
        app.count("SELECT COUNT(*) FROM incidents").await,
        app.count("SELECT COUNT(*) FROM alert_rules WHERE active = 1").await,
    ];
    format!("{states:?} {counts:?}")
}

#[tokio::test]
async fn every_route_allows_exactly_the_roles_the_design_names() {
    let identities: Vec<Option<Role>> = std::iter::once(None).chain(Role::ALL.into_iter().map(Some)).collect();
    for identity in identities {
        // One app per identity, starting with the operator's proactive case CS0010001 on the mail relay alert.
        // Allowed calls may change it (a refresh, a note); what is checked is that refused ones change nothing.
        let mut app = TestApp::new().await;
        app.refresh(MAIL_ALERT).await;
        let made = app.create_case(MAIL_ALERT, "Mail relay down", "").await;
        assert_eq!(made.status, 200, "{}", made.body);
        let session = match identity {
            Some(role) => Some(app.sign_in_as(role).await),
            None => None,
        };
        for (method, path, rule) in TABLE {
            let who = identity.map_or("nobody", |r| r.as_str());
            // The same route with a trailing slash, or in other letters, must not slip past its rule: it is sent
            // to the route's own path, or not found, or refused; never answered, never a change.
            for variant in variants(path) {
                let before = fingerprint(&app).await;
                let mut request = request(method, path);
                *request.uri_mut() = variant.parse().expect("uri");
                let reply = app.send(request).await;
                let (before_query, query) = variant.split_once('?').map_or((variant.as_str(), ""), |(p, q)| (p, q));
                let trimmed = match before_query.trim_end_matches('/') {
                    "" => "/",
                    trimmed => trimmed,
                };
                let expected = if query.is_empty() {
                    trimmed.to_owned()
                } else {
                    format!("{trimmed}?{query}")
                };
                let canonical = reply.location.as_deref() == Some(expected.as_str());
                assert!(
                    matches!(reply.status, 401 | 403 | 404 | 405) || (reply.status == 308 && canonical),
                    "{method} {variant} as {who}: {} {:?} {}",
                    reply.status,
                    reply.location,
                    reply.body
                );
                assert_eq!(
                    fingerprint(&app).await,
                    before,
                    "{method} {variant} as {who} changed the database"
                );
            }
            // Signing out ends the session: sign in again for each call.
            app.cookie = match (identity, *path) {
                (Some(role), "/logout") => Some(app.sign_in_as(role).await),
                _ => session.clone(),
            };
            let before = fingerprint(&app).await;
            let reply = match *path {
                // A stream never ends: its status says whether it was let through.
                "/live" => send_head(app.router.clone(), app.authorize(request(method, path))).await,
                _ => app.send(request(method, path)).await,
            };
            let allowed = match (rule, identity) {
                (Rule::Token | Rule::Scraper, _) => false,
                (Rule::Public, _) => true,
                (_, None) => false,
                (Rule::SignedIn, Some(_)) => true,
                (Rule::Roles(roles), Some(role)) => roles.contains(&role),
            };
            let refused_as = match reply.status {
                401 => Some("401"),
                403 => Some("403"),
                303 if reply.location.as_deref().is_some_and(|l| l.starts_with("/login?next=")) => Some("to login"),
                _ => None,
            };
            if allowed {
                assert!(
                    refused_as.is_none(),
                    "{method} {path} as {who}: refused ({}) {}",
                    reply.status,
                    reply.body
                );
                assert!(
                    reply.status < 500,
                    "{method} {path} as {who}: {} {}",
                    reply.status,
                    reply.body
                );
            } else {
                assert!(
                    refused_as.is_some(),
                    "{method} {path} as {who}: allowed ({}) {}",
                    reply.status,
                    reply.body
                );
                assert_eq!(
                    fingerprint(&app).await,
                    before,
                    "{method} {path} as {who} changed the database"
                );
                match identity {
                    _ if matches!(rule, Rule::Scraper) => {
                        assert_eq!(reply.status, 401, "{method} {path} as {who}");
                        assert!(reply.body.contains("Metrics are answered"), "{}", reply.body);
                    }
                    _ if matches!(rule, Rule::Token) => {
                        assert_eq!(reply.status, 401, "{method} {path} as {who}");
                        assert!(reply.body.contains("API token is required"), "{}", reply.body);
                    }
                    // Pages send nobody to the login page; calls get 401 with the typed error.
                    None if *path == "/live" => assert_eq!(reply.status, 401, "{method} {path}"),
                    None if *method == "GET" => assert_eq!(refused_as, Some("to login"), "{method} {path}"),
                    None => assert_eq!(reply.body, "\"Unauthorized\"", "{method} {path}"),
                    Some(_) => assert_eq!(reply.status, 403, "{method} {path} as {who}"),
                }
            }
        }
    }
}
