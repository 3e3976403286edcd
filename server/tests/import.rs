//! `forestall import`: the example CMDB in `examples/cmdb`, idempotent re-import, and bad files stopped with their
//! file, line, column and reason and nothing imported.

use crate::support;

use app::import::ImportError;
use sqlx::AnyPool;
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

#[tokio::test]
async fn the_example_imports_and_importing_it_again_changes_nothing() {
    let (store, db, _guard) = empty_store().await;
    let report = store.import_dir(&example(), |_, _| {}).await.expect("import");
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

    let again = store.import_dir(&example(), |_, _| {}).await.expect("import again");
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
    store.import_dir(&example(), |_, _| {}).await.expect("import");
    let original = std::fs::read_to_string(example().join("configuration_items.csv")).expect("read");
    let dir = example_with(
        "configuration_items.csv",
        &original.replace(
            "orders-db,database,orders-db.dc1.example,10.0.1.20,false",
            "ORDERS-DB,database,,10.0.1.21,true",
        ),
    );
    let report = store.import_dir(dir.path(), |_, _| {}).await.expect("import");
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
    let table: Vec<(&str, String, &str)> = vec![
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
        let (store, db, _guard) = empty_store().await;
        let dir = example_with(file, &contents);
        let error = store.import_dir(dir.path(), |_, _| {}).await.expect_err(expected);
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
    }
}

#[tokio::test]
async fn a_generated_cmdb_traces_to_the_same_items_in_sql_on_the_graph_and_by_a_plain_walk() {
    let (store, _db, _guard) = empty_store().await;
    let dir = TempDir::new();
    let generated = app::import::generate(dir.path(), 4_000, 11).expect("generate");
    let report = store.import_dir(dir.path(), |_, _| {}).await.expect("import");
    assert_eq!(
        report
            .files
            .iter()
            .find(|f| f.file == "install_base_items.csv")
            .map(|f| f.rows),
        Some(generated.items)
    );
    let cmdb = store.memory_cmdb().await.expect("memory");
    // A core switch (everything under it), a rack switch, a storage array and a few applications.
    let mut names = vec![
        "core-switch-00".to_owned(),
        "rack-switch-00001".to_owned(),
        "storage-array-01".to_owned(),
    ];
    names.extend(cmdb.names_starting("app-").into_iter().step_by(37).take(5));
    let mut sizes = Vec::new();
    for name in names {
        let ci = cmdb.ci(&name).expect("generated CI");
        let traced = store.trace_items(ci, 10).await.expect("trace");
        assert_eq!(
            traced,
            cmdb.affected(ci, 10),
            "{name}: the graph's trace and the plain walk"
        );
        let in_sql = store.trace_items_sql(ci, 10).await.expect("trace in SQL");
        assert_eq!(traced, in_sql, "{name}: the graph's trace and the SQL trace");
        sizes.push(traced.len());
    }
    assert!(
        sizes[0] > sizes[1] && sizes[1] > sizes[3],
        "a core switch reaches most, an application few: {sizes:?}"
    );
}
