//! Drives Forestall's axum app in-process, each test on its own fresh database seeded with the demo data, signed in
//! as the demo operator unless a test says otherwise.
//!
//! The database is a SQLite file, or, when `FORESTALL_TEST_POSTGRES_URL` names a PostgreSQL server
//! (`postgres://postgres@127.0.0.1:5432/test`), a database created on it for the test and dropped after.

#![allow(dead_code)] // each test binary uses part of this

use app::{access::Role, demo::DEMO_USERS, install_base::RefreshOutcome, state::Settings, store::Store, AppError};
use axum::{body::Body, http::Request, Router};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use serde::{de::DeserializeOwned, Deserialize};
use sqlx::AnyPool;
use std::sync::atomic::{AtomicU32, Ordering};
use tower::ServiceExt;

/// The demo's alert numbers (see `app/src/store/demo.rs`).
pub const EDGE_ROUTER_ALERT: &str = "Alert0010023";
pub const NO_CI_ALERT: &str = "Alert0010024";
pub const CLOSED_ALERT: &str = "Alert0010025";
pub const MAIL_ALERT: &str = "Alert0010026";
pub const DB_HOST_ALERT: &str = "Alert0010027";

pub struct TestApp {
    pub router: Router,
    /// A second pool on the same file, to check what the database holds.
    pub db: AnyPool,
    /// The session cookie sent with every request (`name=value`), if any.
    pub cookie: Option<String>,
    /// The app's own store, for what the CLI would do.
    pub store: Store,
    /// The database's URL, for another instance to open.
    pub url: String,
    /// The app's hub of live changes, to close as a shutdown would.
    pub changes: app::state::Changes,
    /// Where this app's notices go (a folder of its own unless the test chose).
    pub notices: app::notices::server::NoticeSettings,
    /// The folder notices are written to, removed with the app.
    pub outbox: TempDir,
    database: TestDatabase,
}

/// Where a test's database lives; removed when dropped.
pub enum TestDatabase {
    SqliteFile(std::path::PathBuf),
    /// The server's URL (to connect to while dropping) and the database's name.
    Postgres {
        server: String,
        name: String,
    },
}

/// A store on a fresh database without the demo data, a second pool to check what it holds, and the guard that
/// removes the database.
pub async fn empty_store() -> (Store, AnyPool, TestDatabase) {
    let (database, url) = TestDatabase::create().await;
    let store = Store::open(&url).await.expect("open test database");
    let db = AnyPool::connect(&url).await.expect("second pool");
    (store, db, database)
}

impl TestDatabase {
    /// A fresh, empty database for one test; its URL.
    pub async fn create() -> (Self, String) {
        init_logs();
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let unique = format!("{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        match std::env::var("FORESTALL_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(server) => {
                let name = format!("forestall_test_{unique}");
                let admin = connect_admin(&server).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                // A wait for a lock fails the test with the statement that waited, rather than hanging it.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "ALTER DATABASE {name} SET lock_timeout = '20s'"
                )))
                .execute(&admin)
                .await
                .expect("set the test database's lock timeout");
                admin.close().await;
                let url = with_database(&server, &name);
                (Self::Postgres { server, name }, url)
            }
            None => {
                let path = std::env::temp_dir().join(format!("forestall-test-{unique}.db"));
                let url = format!("sqlite://{}", path.display());
                (Self::SqliteFile(path), url)
            }
        }
    }
}

impl TestDatabase {
    /// The database's file, if it is a SQLite one.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        match self {
            TestDatabase::SqliteFile(path) => Some(path),
            TestDatabase::Postgres { .. } => None,
        }
    }
}

async fn connect_admin(server: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::pool::PoolOptions::new()
        .max_connections(1)
        .connect(server)
        .await
        .expect("connect to the PostgreSQL server given by FORESTALL_TEST_POSTGRES_URL")
}

/// `server` with its database path replaced by `name`.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            TestDatabase::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            TestDatabase::Postgres { server, name } => {
                // Drop cannot wait on the test's runtime: a thread with its own drops the database.
                let (server, name) = (server.clone(), name.clone());
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                    if let Ok(runtime) = runtime {
                        runtime.block_on(async move {
                            let admin = connect_admin(&server).await;
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .execute(&admin)
                            .await;
                            admin.close().await;
                        });
                    }
                });
                let _ = dropped.join();
            }
        }
    }
}

/// A response: status, the headers a test looks at, and body text.
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body read as `T`: a server function's own answer type (or [`AppError`]), or one of the ingestion API's
    /// shapes below. Read into a type rather than indexed as JSON, so a field the test reads that is renamed or gone
    /// fails here (or does not compile) instead of comparing equal to `null`. Panics with the body if it is not a `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "the {} answer is not a {} ({e}): {}",
                self.status,
                std::any::type_name::<T>(),
                self.body
            )
        })
    }

    /// The field an `AppError::Invalid` answer names; panics, with the body, on any other answer.
    pub fn invalid_field(&self) -> String {
        match self.parse::<AppError>() {
            AppError::Invalid { field, .. } => field,
            other => panic!("not Invalid but {other:?}: {}", self.body),
        }
    }
}

/// The ingestion API's answer to events it read (`/ingest/v1/*`, README "Answers"): a public JSON API rather than a
/// Rust type of the app's, so its documented shape is written out here. Unknown fields are refused, so a renamed one
/// fails the test rather than reading as absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestAnswer {
    pub accepted: u64,
    pub rejected: u64,
    /// One per event, in the order they were sent.
    pub results: Vec<EventLine>,
}

/// One event's line of an [`IngestAnswer`]: `status` and `alert` if it was stored, `field` and `error` if refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLine {
    pub index: usize,
    pub status: Option<EventStatus>,
    /// The alert the event touched; none when it was `ignored`.
    pub alert: Option<String>,
    pub field: Option<String>,
    pub error: Option<String>,
}

impl EventLine {
    /// The alert a stored event touched; panics if there is none.
    pub fn alert(&self) -> String {
        self.alert.clone().unwrap_or_else(|| panic!("no alert in {self:?}"))
    }
}

/// What a stored event did, as the README lists the statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Created,
    Updated,
    Closed,
    Reopened,
    Flapping,
    Ignored,
}

/// The ingestion API's refusal: `{"error": message, "field": field}`, the field only when one input is at fault.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiError {
    pub error: String,
    pub field: Option<String>,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_settings(Settings::default()).await
    }

    pub async fn with_settings(mut settings: Settings) -> Self {
        let outbox = TempDir::new();
        let default = app::notices::server::NoticeSettings::default();
        if settings.notices.transport == default.transport {
            settings.notices.transport = app::notices::server::Transport::Folder(outbox.path().to_owned());
        }
        let notices = settings.notices.clone();
        let (database, url) = TestDatabase::create().await;
        let store = Store::open(&url).await.expect("open test database");
        assert!(store.seed_demo().await.expect("seed").written);
        let options = test_options();
        let state = server::app_state(options, store.clone(), settings);
        let changes = state.changes.clone();
        let router = server::router(state);
        let db = AnyPool::connect(&url).await.expect("second pool");
        let mut app = Self {
            router,
            db,
            cookie: None,
            store,
            url,
            changes,
            notices,
            outbox,
            database,
        };
        app.cookie = Some(app.sign_in_as(Role::EvtMgmtOperator).await);
        app
    }

    /// The database this app runs on.
    pub fn database(&self) -> &TestDatabase {
        &self.database
    }

    /// Signs in as the demo user with `role` and answers the session cookie.
    pub async fn sign_in_as(&self, role: Role) -> String {
        let (name, _, password) = DEMO_USERS
            .iter()
            .find(|(_, r, _)| *r == role)
            .expect("a demo user per role");
        let reply = self.sign_in(name, password).await;
        assert_eq!(reply.status, 303, "sign-in as {name}: {}", reply.body);
        reply.set_cookie.expect("a session cookie")
    }

    /// Posts the login form.
    pub async fn sign_in(&self, name: &str, password: &str) -> Reply {
        send(
            self.router.clone(),
            Request::post("/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(encode(&[("user_name", name), ("password", password)])))
                .expect("request"),
        )
        .await
    }

    /// Calls a server function with a form body, as a browser's fetch would.
    pub async fn call(&self, function: &str, form: &[(&str, &str)]) -> Reply {
        self.send(server_fn_request(function, form)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(
            Request::get(path)
                .header("accept", "text/html")
                .body(Body::empty())
                .expect("request"),
        )
        .await
    }

    /// Sends the request with this app's session cookie.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        send(self.router.clone(), self.authorize(request)).await
    }

    /// Adds this app's session cookie to a request.
    pub fn authorize(&self, mut request: Request<Body>) -> Request<Body> {
        if let Some(cookie) = &self.cookie {
            request
                .headers_mut()
                .insert("cookie", cookie.parse().expect("cookie header"));
        }
        request
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db).await.expect("count")
    }

    pub async fn refresh(&self, alert: &str) -> RefreshOutcome {
        let reply = self.call("refresh_install_base", &[("alert", alert)]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.parse()
    }

    pub async fn create_case(&self, alert: &str, short_description: &str, work_notes: &str) -> Reply {
        self.send(create_case_request_with(alert, short_description, work_notes))
            .await
    }
}

/// A Submit of the case form with priority 1 and no contact chosen.
pub fn create_case_request(alert: &str, short_description: &str) -> Request<Body> {
    create_case_request_with(alert, short_description, "")
}

fn create_case_request_with(alert: &str, short_description: &str, work_notes: &str) -> Request<Body> {
    server_fn_request(
        "create_case",
        &[
            ("input[alert]", alert),
            ("input[short_description]", short_description),
            ("input[priority]", "1"),
            ("input[contact]", ""),
            ("input[work_notes]", work_notes),
        ],
    )
}

pub fn server_fn_request(function: &str, form: &[(&str, &str)]) -> Request<Body> {
    Request::post(format!("/api/{function}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(Body::from(encode(form)))
        .expect("request")
}

/// The options every test app is built with.
pub fn test_options() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("forestall")
        .site_root("target/site")
        .build()
}

/// Sends one request through the app and answers its status and headers, leaving the body unread (a stream's
/// never ends).
pub async fn send_head(router: Router, request: Request<Body>) -> Reply {
    let response = router.oneshot(request).await.expect("response");
    Reply {
        status: response.status().as_u16(),
        location: None,
        set_cookie: None,
        headers: response.headers().clone(),
        body: String::new(),
    }
}

/// Sends one request through the app and reads the whole answer.
pub async fn send(router: Router, request: Request<Body>) -> Reply {
    let response = router.oneshot(request).await.expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let location = header("location");
    // Only the `name=value` part: what a browser sends back.
    let set_cookie = header("set-cookie").and_then(|c| c.split(';').next().map(str::to_owned));
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        location,
        set_cookie,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub fn encode(form: &[(&str, &str)]) -> String {
    let part = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", part(k), part(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Server logs at `warn` (or `FORESTALL_TEST_LOG`), captured with each test's output: a failing test shows the
/// error the server logged, a passing one stays quiet.
fn init_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let filter = std::env::var("FORESTALL_TEST_LOG").unwrap_or_else(|_| "warn".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    });
}

/// The example CMDB in the import format (`examples/cmdb`).
pub fn example() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cmdb")
}

/// A temporary folder, removed when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "forestall-dir-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("temporary folder");
        Self(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
