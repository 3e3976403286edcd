//! A shift of agents against a running Forestall (issue 14): operators and case agents signed in, each doing what
//! they do all day with a think time between actions, while monitoring posts events at a steady rate. Every
//! request is named by its kind, so goose's report (and the table printed at the end) is per kind.
//!
//! `scripts/bench-load` prepares the database, starts the server and writes the plan this reads: the users, the
//! alerts to open and refresh, the alerts still without a case, the token. Run by hand:
//!
//! ```sh
//! FORESTALL_LOAD_PLAN=target/bench/load-plan.json target/release/forestall-load \
//!     --host http://127.0.0.1:PORT --users 210 --increase-rate 5 --run-time 3m
//! ```
//!
//! `--users` should be the plan's operators + agents + monitors: the scenarios' weights are those counts, so goose
//! starts exactly that many of each.

use goose::prelude::*;
use rand::seq::IndexedRandom;
use rand::Rng;
use regex::Regex;
use serde::Deserialize;
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        LazyLock, Mutex, OnceLock,
    },
    time::{Duration, Instant},
};

/// What `scripts/bench-load` found in the database it prepared.
#[derive(Debug, Deserialize)]
struct Plan {
    /// Every load user's password.
    password: String,
    operators: Vec<String>,
    agents: Vec<String>,
    /// How many monitoring senders, and what each sends: `batch` events every `interval_ms`.
    monitors: usize,
    batch: usize,
    interval_ms: u64,
    /// The API token monitoring sends.
    token: String,
    /// Alerts whose CI (a rack switch) reaches about 1,000 install base items: refreshed.
    rack_alerts: Vec<String>,
    /// Alerts raised by the monitoring keys before the run: opened.
    alerts: Vec<String>,
    /// Alerts on applications (about 10 items) without a case: each gets one, once.
    fresh_alerts: Vec<String>,
    /// Monitoring's repeated message keys, and the host CIs (`host-0000000` on) their events name.
    keys: usize,
    hosts: usize,
}

static PLAN: OnceLock<Plan> = OnceLock::new();

fn plan() -> &'static Plan {
    PLAN.get().expect("plan read in main")
}

/// Cases opened so far (by the operators, during the run): what agents and operators open and write notes on.
static CASES: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Alerts still without a case, taken one at a time.
static FRESH: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Which user name each new operator and agent signs in as.
static NEXT_OPERATOR: AtomicUsize = AtomicUsize::new(0);
static NEXT_AGENT: AtomicUsize = AtomicUsize::new(0);
static NEXT_MONITOR: AtomicUsize = AtomicUsize::new(0);
/// Events the server accepted, and create-case actions skipped because no alert without a case was left.
static EVENTS_ACCEPTED: AtomicU64 = AtomicU64::new(0);
static FRESH_EXHAUSTED: AtomicU64 = AtomicU64::new(0);

static CASE_NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#""number":"(CS\d+)""#).expect("regex"));

/// Think time between one action and the next.
const THINK_MIN: Duration = Duration::from_secs(1);
const THINK_MAX: Duration = Duration::from_secs(5);

fn main_error(message: impl Into<String>) -> GooseError {
    GooseError::InvalidOption {
        option: "FORESTALL_LOAD_PLAN".into(),
        value: String::new(),
        detail: message.into(),
    }
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    let path = std::env::var("FORESTALL_LOAD_PLAN").map_err(|_| main_error("set it to the plan's path"))?;
    let text = std::fs::read_to_string(&path).map_err(|e| main_error(format!("{path}: {e}")))?;
    let read: Plan = serde_json::from_str(&text).map_err(|e| main_error(format!("{path}: {e}")))?;
    *FRESH.lock().expect("fresh alerts") = read.fresh_alerts.clone();
    let (operators, agents, monitors) = (read.operators.len(), read.agents.len(), read.monitors);
    PLAN.set(read).map_err(|_| main_error("read twice"))?;

    let started = Instant::now();
    let metrics = GooseAttack::initialize()?
        .register_scenario(
            scenario!("Operator")
                .set_weight(operators)?
                .set_wait_time(THINK_MIN, THINK_MAX)?
                .register_transaction(transaction!(sign_in_operator).set_on_start())
                .register_transaction(transaction!(all_alerts).set_weight(4)?)
                .register_transaction(transaction!(open_alert).set_weight(3)?)
                .register_transaction(transaction!(refresh_rack_alert).set_weight(2)?)
                .register_transaction(transaction!(create_case).set_weight(1)?)
                .register_transaction(transaction!(open_cases).set_weight(2)?)
                .register_transaction(transaction!(work_note).set_weight(1)?),
        )
        .register_scenario(
            scenario!("Case agent")
                .set_weight(agents)?
                .set_wait_time(THINK_MIN, THINK_MAX)?
                .register_transaction(transaction!(sign_in_agent).set_on_start())
                .register_transaction(transaction!(open_cases).set_weight(3)?)
                .register_transaction(transaction!(open_case).set_weight(4)?)
                .register_transaction(transaction!(case_note).set_weight(2)?),
        )
        .register_scenario(
            scenario!("Monitoring")
                .set_weight(monitors.max(1))?
                .register_transaction(transaction!(post_events)),
        )
        .execute()
        .await?;
    print_summary(&metrics, started.elapsed());
    Ok(())
}

/// The per-kind table of BENCHMARKS.md, from goose's metrics (which start once every user is running).
fn print_summary(metrics: &GooseMetrics, elapsed: Duration) {
    if metrics.requests.is_empty() {
        return;
    }
    let seconds = metrics.duration.max(1) as f64;
    let ms = |us: u64| format!("{:.1}", us as f64 / 1000.0);
    let rows: BTreeMap<_, _> = metrics.requests.iter().collect();
    println!("\n| kind | requests | per s | p50 ms | p95 ms | p99 ms | max ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let (mut total, mut errors) = (0, 0);
    for (_, request) in rows {
        let data = &request.raw_data;
        let count = request.success_count + request.fail_count;
        // A page's whole-load row is the same request as its first-byte row: counted once, there.
        if request.method != GooseMethod::Custom {
            total += count;
        }
        errors += request.fail_count;
        println!(
            "| {} | {count} | {:.1} | {} | {} | {} | {} | {} |",
            request.path,
            count as f64 / seconds,
            ms(data.percentile_us(0.50)),
            ms(data.percentile_us(0.95)),
            ms(data.percentile_us(0.99)),
            ms(data.maximum_time_us),
            request.fail_count
        );
    }
    println!(
        "| all requests | {total} | {:.1} | | | | | {errors} |",
        total as f64 / seconds
    );
    let plan = plan();
    let target = plan.monitors as f64 * plan.batch as f64 * 1000.0 / plan.interval_ms as f64;
    let ingested = metrics
        .requests
        .values()
        .filter(|request| request.path.starts_with("POST /ingest"))
        .map(|request| request.success_count)
        .sum::<usize>()
        * plan.batch;
    println!(
        "\nIngestion: {ingested} events accepted in the {} s measured, {:.0}/s (target {target:.0}/s); {} in the \
         whole run of {:.0} s, senders starting included.",
        metrics.duration,
        ingested as f64 / seconds,
        EVENTS_ACCEPTED.load(Ordering::Relaxed),
        elapsed.as_secs_f64(),
    );
    let exhausted = FRESH_EXHAUSTED.load(Ordering::Relaxed);
    if exhausted > 0 {
        println!("Create Case skipped {exhausted} times: every prepared alert had its case.");
    }
}

fn random<T: Clone>(items: &[T]) -> Option<T> {
    items.choose(&mut rand::rng()).cloned()
}

fn failed(message: String) -> Box<TransactionError> {
    Box::new(TransactionError::Custom(message))
}

/// A write as a page sends it: a form post from Forestall's own origin.
async fn post_form(
    user: &mut GooseUser,
    path: &str,
    name: &str,
    form: &[(&str, &str)],
) -> Result<goose::goose::GooseResponse, Box<TransactionError>> {
    let builder = user
        .get_request_builder(&GooseMethod::Post, path)?
        .header("Sec-Fetch-Site", "same-origin")
        .header("Accept", "application/json")
        .form(form);
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path(path)
        .name(name)
        .set_request_builder(builder)
        .build();
    user.request(request).await
}

/// A page as a browser loads it: goose times the request to its headers (the row "… first byte"); the page is
/// read to its end, streamed Suspense chunks included, and that whole time is the row named `name`. A page whose
/// stream broke off (the body's read fails) or that holds no `</html>` is a failure.
async fn get(user: &mut GooseUser, path: &str, name: &str) -> TransactionResult {
    let started = Instant::now();
    let reply = user.get_named(path, &format!("{name} · first byte")).await?;
    let (status, whole) = match reply.response {
        Ok(response) => {
            let status = response.status();
            let whole = response.text().await.is_ok_and(|body| body.contains("</html>"));
            (Some(status.as_u16()), status.is_success() && whole)
        }
        Err(_) => (None, false),
    };
    let error = (!whole).then_some("the page did not arrive whole");
    user.record_custom_request_duration("PAGE", name, started.elapsed(), whole, status, error)
        .await?;
    if whole {
        Ok(())
    } else {
        Err(failed(format!("{path}: the page did not arrive whole")))
    }
}

/// Signs in as `name`; a sign-in answered with the login page again (busy, throttled) is an error and is retried.
async fn sign_in(user: &mut GooseUser, name: &str) -> TransactionResult {
    let password = plan().password.clone();
    for attempt in 0..10 {
        let mut reply = post_form(
            user,
            "/login",
            "POST /login",
            &[("user_name", name), ("password", &password)],
        )
        .await?;
        let landed = match &reply.response {
            Ok(response) => response.url().path().to_owned(),
            Err(error) => error.to_string(),
        };
        if landed == "/alerts" || landed == "/cases" {
            return Ok(());
        }
        let _ = user.set_failure(&format!("sign-in landed on {landed}"), &mut reply.request, None, None);
        tokio::time::sleep(Duration::from_millis(500 * (attempt + 1))).await;
    }
    Err(failed(format!("{name} could not sign in")))
}

async fn sign_in_operator(user: &mut GooseUser) -> TransactionResult {
    let names = &plan().operators;
    let name = names[NEXT_OPERATOR.fetch_add(1, Ordering::Relaxed) % names.len()].clone();
    sign_in(user, &name).await
}

async fn sign_in_agent(user: &mut GooseUser) -> TransactionResult {
    let names = &plan().agents;
    let name = names[NEXT_AGENT.fetch_add(1, Ordering::Relaxed) % names.len()].clone();
    sign_in(user, &name).await
}

/// All Alerts, as operators open it: unfiltered, or by state, severity or a text search.
async fn all_alerts(user: &mut GooseUser) -> TransactionResult {
    let choice = rand::rng().random_range(0..4);
    let (path, name) = match choice {
        0 => ("/alerts".to_owned(), "GET /alerts"),
        1 => ("/alerts?state=Open".to_owned(), "GET /alerts?state=Open"),
        2 => ("/alerts?severity=1".to_owned(), "GET /alerts?severity=1"),
        _ => {
            let host = rand::rng().random_range(0..plan().hosts.max(1));
            (format!("/alerts?q=host-{:05}", host / 100), "GET /alerts?q=host-NNNNN")
        }
    };
    get(user, &path, name).await?;
    Ok(())
}

/// An alert's page: mostly one monitoring keeps updating, sometimes a rack switch's (a thousand items affected).
async fn open_alert(user: &mut GooseUser) -> TransactionResult {
    let plan = plan();
    let pool = if rand::rng().random_bool(0.2) {
        &plan.rack_alerts
    } else {
        &plan.alerts
    };
    let Some(alert) = random(pool) else { return Ok(()) };
    get(user, &format!("/alerts/{alert}"), "GET /alerts/:number").await?;
    Ok(())
}

/// Refresh Install Base Items on a rack switch's alert: about 1,000 items traced and written.
async fn refresh_rack_alert(user: &mut GooseUser) -> TransactionResult {
    let Some(alert) = random(&plan().rack_alerts) else {
        return Ok(());
    };
    post_form(
        user,
        "/api/refresh_install_base",
        "POST refresh_install_base (~1,000 items)",
        &[("alert", &alert)],
    )
    .await?;
    Ok(())
}

/// An operator takes an alert without a case: opens it, refreshes its items, creates the case and opens that.
async fn create_case(user: &mut GooseUser) -> TransactionResult {
    let alert = FRESH.lock().expect("fresh alerts").pop();
    let Some(alert) = alert else {
        FRESH_EXHAUSTED.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    };
    get(user, &format!("/alerts/{alert}"), "GET /alerts/:number").await?;
    post_form(
        user,
        "/api/refresh_install_base",
        "POST refresh_install_base (~10 items)",
        &[("alert", &alert)],
    )
    .await?;
    let description = format!("Load test: proactive case for {alert}");
    let reply = post_form(
        user,
        "/api/create_case",
        "POST create_case",
        &[
            ("input[alert]", &alert),
            ("input[short_description]", &description),
            ("input[priority]", "2"),
            ("input[contact]", ""),
            ("input[work_notes]", "Opened during the load test."),
        ],
    )
    .await?;
    let body = match reply.response {
        Ok(response) if response.status().is_success() => response.text().await.unwrap_or_default(),
        _ => return Ok(()),
    };
    let Some(number) = CASE_NUMBER.captures(&body).map(|c| c[1].to_owned()) else {
        return Err(failed(format!("create_case answered without a case number: {body}")));
    };
    CASES.lock().expect("cases").push(number.clone());
    get(user, &format!("/cases/{number}"), "GET /cases/:number").await?;
    Ok(())
}

/// The Cases list, first page mostly, sometimes the second.
async fn open_cases(user: &mut GooseUser) -> TransactionResult {
    if rand::rng().random_bool(0.25) {
        get(user, "/cases?page=2", "GET /cases?page=2").await?;
    } else {
        get(user, "/cases", "GET /cases").await?;
    }
    Ok(())
}

fn some_case() -> Option<String> {
    random(&CASES.lock().expect("cases"))
}

async fn open_case(user: &mut GooseUser) -> TransactionResult {
    let Some(case) = some_case() else {
        return open_cases(user).await;
    };
    get(user, &format!("/cases/{case}"), "GET /cases/:number").await?;
    Ok(())
}

async fn note(user: &mut GooseUser, kind: &str) -> TransactionResult {
    let Some(case) = some_case() else { return Ok(()) };
    let text = format!("Load test note: checked at {:?} into the run.", user.started.elapsed());
    post_form(
        user,
        "/api/add_case_note",
        "POST add_case_note",
        &[("input[number]", &case), ("input[kind]", kind), ("input[text]", &text)],
    )
    .await?;
    Ok(())
}

/// Operators write work notes on the proactive cases.
async fn work_note(user: &mut GooseUser) -> TransactionResult {
    note(user, "WorkNote").await
}

/// Agents open a case and write on it, an internal work note or a customer-visible comment.
async fn case_note(user: &mut GooseUser) -> TransactionResult {
    let Some(case) = some_case() else {
        return open_cases(user).await;
    };
    get(user, &format!("/cases/{case}"), "GET /cases/:number").await?;
    let kind = if rand::rng().random_bool(0.5) {
        "WorkNote"
    } else {
        "Comment"
    };
    note(user, kind).await
}

/// One monitoring sender's clock: a batch due every `interval_ms`, whatever the last one took. A sender that fell
/// behind sends its late batches at once, as a monitoring tool empties its queue: the rate holds as long as the
/// server keeps up on average, and the rate achieved says whether it did.
#[derive(Clone)]
struct Sender {
    id: usize,
    next: tokio::time::Instant,
    sent: u64,
}

/// A batch of events: mostly repeats of the plan's keys (updating their alerts), one in twenty a new problem.
async fn post_events(user: &mut GooseUser) -> TransactionResult {
    let plan = plan();
    if user.get_session_data::<Sender>().is_none() {
        user.set_session_data(Sender {
            id: NEXT_MONITOR.fetch_add(1, Ordering::Relaxed),
            next: tokio::time::Instant::now(),
            sent: 0,
        });
    }
    let sender = user.get_session_data_unchecked_mut::<Sender>();
    tokio::time::sleep_until(sender.next).await;
    sender.next += Duration::from_millis(plan.interval_ms);
    let events = batch(plan, sender);
    let builder = user
        .get_request_builder(&GooseMethod::Post, "/ingest/v1/events")?
        .bearer_auth(&plan.token)
        .json(&serde_json::json!({ "events": events }));
    let name = format!("POST /ingest/v1/events ({} events)", plan.batch);
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path("/ingest/v1/events")
        .name(name.as_str())
        .set_request_builder(builder)
        .build();
    let reply = user.request(request).await?;
    if reply.response.as_ref().is_ok_and(|r| r.status().is_success()) {
        EVENTS_ACCEPTED.fetch_add(plan.batch as u64, Ordering::Relaxed);
    }
    Ok(())
}

/// The next batch of `sender`.
fn batch(plan: &Plan, sender: &mut Sender) -> Vec<serde_json::Value> {
    let mut rng = rand::rng();
    let hosts = plan.hosts.max(1);
    (0..plan.batch)
        .map(|_| {
            sender.sent += 1;
            let (key, node) = if rng.random_bool(0.05) {
                (
                    format!("load-new-{}-{}", sender.id, sender.sent),
                    rng.random_range(0..hosts),
                )
            } else {
                let key = rng.random_range(0..plan.keys.max(1));
                (format!("load-{key}"), key * 7 % hosts)
            };
            serde_json::json!({
                "source": "load",
                "node": format!("host-{node:07}"),
                "message_key": key,
                "severity": 1 + node % 5,
                "description": format!("Load test event {} from sender {}", sender.sent, sender.id),
            })
        })
        .collect()
}
