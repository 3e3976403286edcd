//! `forestall import`: the example CMDB in `examples/cmdb`, idempotent re-import, and bad files stopped with their
//! file, line, column and reason and nothing imported; the service's writers carry on while an import runs, and
//! what else happens meanwhile (another import, a change to the CMDB) is neither held up nor overwritten.

use crate::support;

use app::{
    import::{ImportError, Progress},
    store::{Backend, Store},
};
use axum::{body::Body, http::Request};
use sqlx::AnyPool;
use std::{
    future::Future,
    path::Path,
    time::{Duration, Instant},
};
use support::*;

/// A copy of the example folder with `file` replaced by `contents`, in a fresh temporary folder.
fn example_with(file: &str, contents: &str) -> TempDir {
    let dir = TempDir::new();
    for entry in std::fs::read_dir(example()).expect("example folder") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    std::fs::write(dir.path().join(file), contents).expect("write");
    dir
}

/// Row counts of every CMDB table, to show an import changed nothing.
async fn counts(db: &AnyPool) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "accounts",
        "contacts",
        "products",
        "configuration_items",
        "relationship_types",
        "ci_relationships",
        "install_base_items",
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        counts.push(
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(db)
                .await
                .expect("count"),
        );
    }
    counts
}

/// The CMDB's records, the record numbers and the CMDB's version, one line per row: what an import that failed must
/// leave exactly as it was.
async fn cmdb_rows(db: &AnyPool) -> Vec<String> {
    let mut rows = Vec::new();
    for (table, columns) in [
        ("accounts", "id, name, kind, primary_contact_id"),
        ("contacts", "id, account_id, name, email"),
        ("products", "id, name"),
        ("configuration_items", "id, name, class, fqdn, ip, in_maintenance"),
        ("relationship_types", "id, name, carries_impact"),
        ("ci_relationships", "id, parent_id, child_id, type_id"),
        (
            "install_base_items",
            "id, number, name, account_id, contact_id, product_id, ci_id, parent_id, active, install_date",
        ),
        ("number_counters", "prefix, next"),
        ("cmdb_state", "id, version, changed_at"),
    ] {
        // NULL as `-`, so that a value gone or come is seen.
        let values = columns
            .split(", ")
            .map(|c| format!("coalesce(CAST({c} AS TEXT), '-')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let sql = format!("SELECT '{table}|' || {values} FROM {table} ORDER BY 1");
        let table_rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(db)
            .await
            .expect("rows");
        rows.extend(table_rows);
    }
    rows
}

/// The files an import makes beside a SQLite database (the staging database and its lock) that are still there.
fn left_beside(database: &TestDatabase) -> Vec<String> {
    let Some(main) = database.sqlite_file() else {
        return Vec::new();
    };
    [
        "-import",
        "-import-wal",
        "-import-shm",
        "-import-journal",
        "-import.lock",
    ]
    .into_iter()
    .map(|suffix| format!("{}{suffix}", main.display()))
    .filter(|path| Path::new(path).exists())
    .collect()
}

/// Runs `work` to its end from inside an import's progress callback, as something else using the database while
/// the import runs (the callback is synchronous; the test's runtime has a second thread for it).
fn meanwhile<T>(work: impl Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(work))
}

#[tokio::test]
async fn the_example_imports_and_importing_it_again_changes_nothing() {
    let (store, db, _guard) = empty_store().await;
    let report = store.import_dir(&example(), |_| {}).await.expect("import");
    let rows: Vec<_> = report.files.iter().map(|f| (f.file, f.rows, f.inserted)).collect();
    assert_eq!(
        rows,
        [
            ("accounts.csv", 3, 3),
            ("contacts.csv", 3, 3),
            ("products.csv", 2, 2),
            ("configuration_items.csv", 7, 7),
            ("ci_relationships.csv", 6, 6),
            ("install_base_items.csv", 5, 5),
        ]
    );
    assert_eq!(counts(&db).await, [3, 3, 2, 7, 6, 6, 5]);

    let again = store.import_dir(&example(), |_| {}).await.expect("import again");
    assert_eq!(again.changed(), 0, "{again:?}");
    assert_eq!(counts(&db).await, [3, 3, 2, 7, 6, 6, 5]);

    // Items made later never reuse an imported number.
    let next: i64 = sqlx::query_scalar("SELECT next FROM number_counters WHERE prefix = 'IB'")
        .fetch_one(&db)
        .await
        .expect("counter");
    assert_eq!(next, 100_006);
}

#[tokio::test]
async fn a_changed_row_updates_its_record_in_place() {
    let (store, db, _guard) = empty_store().await;
    store.import_dir(&example(), |_| {}).await.expect("import");
    let original = std::fs::read_to_string(example().join("configuration_items.csv")).expect("read");
    let dir = example_with(
        "configuration_items.csv",
        &original.replace(
            "orders-db,database,orders-db.dc1.example,10.0.1.20,false",
            "ORDERS-DB,database,,10.0.1.21,true",
        ),
    );
    let report = store.import_dir(dir.path(), |_| {}).await.expect("import");
    let cis = report
        .files
        .iter()
        .find(|f| f.file == "configuration_items.csv")
        .expect("cis");
    assert_eq!(
        (cis.inserted, cis.updated),
        (0, 1),
        "names compare without case: the same CI"
    );
    assert_eq!(report.changed(), 1);
    #[derive(sqlx::FromRow)]
    struct Ci {
        name: String,
        ip: String,
        in_maintenance: i64,
    }
    let ci: Ci =
        sqlx::query_as("SELECT name, ip, in_maintenance FROM configuration_items WHERE lower(name) = 'orders-db'")
            .fetch_one(&db)
            .await
            .expect("ci");
    assert_eq!(
        (ci.name.as_str(), ci.ip.as_str(), ci.in_maintenance),
        ("ORDERS-DB", "10.0.1.21", 1)
    );
}

#[tokio::test]
async fn bad_files_stop_the_import_with_where_and_why_and_import_nothing() {
    let items = std::fs::read_to_string(example().join("install_base_items.csv")).expect("read");
    let cis = std::fs::read_to_string(example().join("configuration_items.csv")).expect("read");
    let relationships = std::fs::read_to_string(example().join("ci_relationships.csv")).expect("read");
    let contacts = std::fs::read_to_string(example().join("contacts.csv")).expect("read");
    let table: Vec<(&str, String, &str)> = vec![
        (
            // Notices go to these addresses: one a mail server would refuse is refused here.
            "contacts.csv",
            contacts.replace("dev@northwind.example", "dev@north wind.example"),
            "contacts.csv line 3, column email: “dev@north wind.example” is not an email address",
        ),
        (
            "contacts.csv",
            contacts.replace("dev@northwind.example", "dev@northwind"),
            "contacts.csv line 3, column email: “dev@northwind” is not an email address: its domain has no dot",
        ),
        (
            "contacts.csv",
            contacts.replace("Dev Patel,Northwind Traders,", "Dev Patel,Northwind Traders,often"),
            "contacts.csv line 3, column notify: “often” is not true or false",
        ),
        (
            "configuration_items.csv",
            cis.replacen("name,class", "name,clas", 1),
            "configuration_items.csv: unknown column “clas” in the header",
        ),
        (
            "ci_relationships.csv",
            relationships.replace(
                "orders-db,Runs on::Runs,vm-host-01",
                "orders-db,Runs on::Runs,vm-host-99",
            ),
            "ci_relationships.csv line 4, column child: there is no configuration item “vm-host-99”",
        ),
        (
            "configuration_items.csv",
            format!("{cis}Core-Switch-01,network,,,false\n"),
            "configuration_items.csv line 9, column name: “Core-Switch-01” is given twice: first on line 2",
        ),
        (
            "configuration_items.csv",
            cis.replace(
                "san-01.dc1.example,10.0.0.20,false",
                "san-01.dc1.example,10.0.0.20,maybe",
            ),
            "configuration_items.csv line 3, column in_maintenance: “maybe” is not true or false",
        ),
        (
            // The last row of the last file: everything before it was written, and is rolled back.
            "install_base_items.csv",
            format!("{items}IB0100006,Stray item,Nobody Inc,,,,,true,\n"),
            "install_base_items.csv line 7, column account: there is no account “Nobody Inc”",
        ),
        (
            "install_base_items.csv",
            items.replace("2025-02-01", "2025-13-01"),
            "install_base_items.csv line 3, column install_date: “2025-13-01” is not a date",
        ),
    ];
    for (file, contents, expected) in table {
        let (store, db, guard) = empty_store().await;
        let dir = example_with(file, &contents);
        let error = store.import_dir(dir.path(), |_| {}).await.expect_err(expected);
        assert!(
            matches!(error, ImportError::Row { .. } | ImportError::File { .. }),
            "{error:?}"
        );
        assert!(error.to_string().starts_with(expected), "{error}\nexpected: {expected}");
        assert_eq!(
            counts(&db).await,
            [0, 0, 0, 0, 6, 0, 0],
            "{expected}: something was imported"
        );
        assert_eq!(left_beside(&guard), Vec::<String>::new(), "{expected}: left behind");
    }
}

/// The example with three of its CIs changed or new and, on the last line of the last file, a row that refers to an
/// account that does not exist.
fn example_failing_at_its_last_row() -> TempDir {
    let cis = std::fs::read_to_string(example().join("configuration_items.csv")).expect("read");
    let cis = cis.replace(
        "orders-db,database,orders-db.dc1.example,10.0.1.20,false",
        "ORDERS-DB,database,,10.0.1.21,true",
    ) + "new-host-01,server,,,false\n";
    let dir = example_with("configuration_items.csv", &cis);
    let items = std::fs::read_to_string(example().join("install_base_items.csv")).expect("read");
    std::fs::write(
        dir.path().join("install_base_items.csv"),
        format!("{items}IB0100006,Stray item,Nobody Inc,,,,,true,\n"),
    )
    .expect("write");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_import_leaves_the_database_exactly_as_it_was_and_held_up_no_other_writer() {
    let app = TestApp::new().await;
    app.store.import_dir(&example(), |_| {}).await.expect("import");
    let before = cmdb_rows(&app.db).await;
    // Another process writing while the import runs (its own store, as `forestall serve` beside `forestall import`).
    let other = Store::open(&app.url).await.expect("another process");
    let mut meanwhile_write = None;
    let error = app
        .store
        .import_dir(example_failing_at_its_last_row().path(), |progress| {
            if let Progress::Rows {
                file: "ci_relationships.csv",
                ..
            } = progress
            {
                let started = Instant::now();
                let written = meanwhile(tokio::time::timeout(
                    Duration::from_secs(5),
                    other.create_token("written during the import", "test"),
                ));
                meanwhile_write = Some((written.map(|token| token.is_ok()), started.elapsed()));
            }
        })
        .await
        .expect_err("a bad last row");
    assert!(
        error
            .to_string()
            .starts_with("install_base_items.csv line 7, column account: there is no account “Nobody Inc”"),
        "{error}"
    );
    let (written, waited) = meanwhile_write.expect("the import read ci_relationships.csv");
    assert_eq!(
        written,
        Ok(true),
        "a writer that came while the import ran waited {waited:?} and did not write"
    );
    assert!(waited < Duration::from_secs(2), "waited {waited:?}");
    assert_eq!(cmdb_rows(&app.db).await, before, "the failed import changed the CMDB");
    assert_eq!(left_beside(app.database()), Vec::<String>::new());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE name = 'written during the import'")
            .await,
        1,
        "the other writer's row stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_import_while_one_runs_is_refused_and_the_first_goes_on() {
    let (database, url) = TestDatabase::create().await;
    let store = Store::open(&url).await.expect("open");
    let other = Store::open(&url).await.expect("another process");
    let mut second = None;
    store
        .import_dir(&example(), |progress| {
            if second.is_none() && matches!(progress, Progress::Rows { .. }) {
                second = Some(meanwhile(tokio::time::timeout(
                    Duration::from_secs(5),
                    other.import_dir(&example(), |_| {}),
                )));
            }
        })
        .await
        .expect("the first import");
    match second.expect("the first import read a file") {
        Ok(Err(ImportError::AlreadyRunning)) => {}
        other => panic!("the second import was not refused at once: {other:?}"),
    }
    let db = AnyPool::connect(&url).await.expect("pool");
    assert_eq!(counts(&db).await, [3, 3, 2, 7, 6, 6, 5]);
    assert_eq!(left_beside(&database), Vec::<String>::new());
    // Once the first has ended, another may run.
    let again = other.import_dir(&example(), |_| {}).await.expect("import after");
    assert_eq!(again.changed(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_to_the_cmdb_while_an_import_runs_is_not_overwritten() {
    // A CI (whose changes the CMDB's version counts) and an account (whose changes it does not), changed by an
    // administrator's SQL while the import reads its files; neither is one the import writes.
    for (change, changed) in [
        (
            "UPDATE configuration_items SET ip = '10.9.9.9' WHERE name = 'ledger-db'",
            "SELECT COUNT(*) FROM configuration_items WHERE name = 'ledger-db' AND ip = '10.9.9.9'",
        ),
        (
            "UPDATE accounts SET kind = 'internal' WHERE name = 'Initech'",
            "SELECT COUNT(*) FROM accounts WHERE name = 'Initech' AND kind = 'internal'",
        ),
    ] {
        let app = TestApp::new().await;
        let mut done = false;
        let imported = app
            .store
            .import_dir(&example(), |progress| {
                if !done
                    && matches!(
                        progress,
                        Progress::Rows {
                            file: "accounts.csv",
                            ..
                        }
                    )
                {
                    done = true;
                    meanwhile(async { sqlx::query(change).execute(&app.db).await.expect(change) });
                }
            })
            .await;
        assert!(done);
        let example_cis = app
            .count("SELECT COUNT(*) FROM configuration_items WHERE name = 'core-switch-01'")
            .await;
        match app.store.backend() {
            // The merge would have written the CI or account back as the import copied it: refused, nothing imported.
            Backend::Sqlite => {
                assert!(
                    matches!(imported, Err(ImportError::ChangedMeanwhile)),
                    "{change}: {imported:?}"
                );
                assert_eq!(example_cis, 0, "{change}: imported all the same");
                assert_eq!(left_beside(app.database()), Vec::<String>::new());
            }
            // Each transaction writes its own rows: both stand.
            Backend::Postgres => {
                imported.expect(change);
                assert_eq!(example_cis, 1);
            }
        }
        assert_eq!(app.count(changed).await, 1, "{change}: overwritten");
    }
}

/// How many of each the generated CMDB adds: CIs, relationships, install base items, accounts.
async fn cmdb_sizes(db: &AnyPool) -> [i64; 4] {
    let mut sizes = [0; 4];
    for (size, table) in sizes.iter_mut().zip([
        "configuration_items",
        "ci_relationships",
        "install_base_items",
        "accounts",
    ]) {
        *size = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(db)
            .await
            .expect("count");
    }
    sizes
}

/// The issue this answers: on SQLite an import held the database's one write lock for its whole run, and the running
/// server's sign-ins and case notes failed after waiting their 10 s busy timeout for it (events, which are retried,
/// waited for the whole import). The generated 100k CMDB (185,369 rows; 20–30 s to import in a debug build, twice the
/// busy timeout and more) is imported by `forestall import`, a second process, while this one's server signs in,
/// takes an event and adds a case note in a loop. On PostgreSQL, whose writers do not wait for an import, the same
/// with a 10k CMDB, as PostgreSQL imports several times more slowly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_keeps_writing_while_another_process_imports_a_large_cmdb() {
    let mut app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    let made = app.create_case(MAIL_ALERT, "Mail relay down", "").await;
    assert_eq!(made.status, 200, "{}", made.body);
    let number: app::cases::CaseCreated = made.parse();
    app.cookie = Some(app.sign_in_as(app::access::Role::SnCustomerserviceAgent).await);
    let token = app.store.create_token("monitoring", "test").await.expect("token");
    let size = match app.store.backend() {
        Backend::Sqlite => 100_000,
        Backend::Postgres => 10_000,
    };
    let dir = TempDir::new();
    let generated = app::import::generate(dir.path(), size, 1).expect("generate");
    let before = cmdb_sizes(&app.db).await;

    let mut import = std::process::Command::new(env!("CARGO_BIN_EXE_forestall"))
        .args(["--database-url", &app.url, "import"])
        .arg(dir.path())
        .env("FORESTALL_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("forestall import runs");
    let started = Instant::now();
    let (mut rounds, mut slowest) = (0, Duration::ZERO);
    loop {
        let round = Instant::now();
        let signed_in = app.sign_in("viewer", "demo-viewer-pass").await;
        assert_eq!(signed_in.status, 303, "sign-in {rounds}: {}", signed_in.body);
        let event = serde_json::json!({"source": "Nagios", "node": "mail-relay-01", "type": "Queue",
            "resource": format!("smtp-{rounds}"), "severity": 3, "description": "SMTP queue growing"});
        let ingested = send(
            app.router.clone(),
            Request::post("/ingest/v1/events")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(event.to_string()))
                .expect("request"),
        )
        .await;
        assert_eq!(ingested.status, 200, "event {rounds}: {}", ingested.body);
        let note = format!("Still on it ({rounds}).");
        let noted = app
            .call(
                "add_case_note",
                &[
                    ("input[number]", number.number.as_str()),
                    ("input[kind]", "WorkNote"),
                    ("input[text]", note.as_str()),
                ],
            )
            .await;
        assert_eq!(noted.status, 200, "case note {rounds}: {}", noted.body);
        slowest = slowest.max(round.elapsed());
        rounds += 1;
        if import.try_wait().expect("the import's status").is_some() {
            break;
        }
    }
    let imported_in = started.elapsed();
    let output = import.wait_with_output().expect("the import's output");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{rounds} rounds of sign-in, event and case note while the import ran ({imported_in:?}), the slowest {slowest:?}\n{said}");
    assert!(rounds >= 5, "only {rounds} rounds ran during the import");
    // Not one request waited as long as a SQLite writer may wait for another (then it fails, or, ingesting events,
    // retries): what is left is the merge's short transaction.
    assert!(slowest < Duration::from_secs(10), "a round took {slowest:?}");
    let generated = [
        generated.cis,
        generated.relationships,
        generated.items,
        generated.accounts,
    ]
    .map(|n| i64::try_from(n).expect("size"));
    let after = cmdb_sizes(&app.db).await;
    assert_eq!(
        std::array::from_fn::<_, 4, _>(|i| after[i] - before[i]),
        generated,
        "CIs, relationships, items, accounts"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM journal_entries WHERE body LIKE 'Still on it%'")
            .await,
        rounds,
        "every case note is there"
    );
    assert_eq!(left_beside(app.database()), Vec::<String>::new());
}

#[tokio::test]
async fn contacts_marked_notify_are_imported_to_receive_notices_and_others_are_not() {
    let (store, db, _guard) = empty_store().await;
    store.import_dir(&example(), |_| {}).await.expect("import");
    let marked: Vec<(String, i64)> = sqlx::query_as("SELECT email, notify FROM contacts ORDER BY email")
        .fetch_all(&db)
        .await
        .expect("contacts");
    assert!(marked.contains(&("ops@northwind.example".to_owned(), 1)), "{marked:?}");
    assert!(marked.contains(&("dev@northwind.example".to_owned(), 0)), "{marked:?}");
}
