//! `forestall import DIR`: loads a CMDB (accounts, contacts, products, configuration items, their relationships and
//! install base items) from CSV files with named columns.
//!
//! All or nothing: everything goes into one transaction, and the first bad row stops the import with its file, line,
//! column and reason, leaving the database as it was. Rows are upserted by their natural key (account and product
//! name, contact email, CI name, item number, a relationship's three parts), so importing the same files twice
//! changes nothing the second time. Files are read row by row; what stays in memory is one hash per key, for
//! finding a key given twice.

mod generate;
mod rows;

pub use generate::{generate, Generated};

use crate::{domain::ItemNumber, store::Store};
use rows::{Columns, Row};
use sqlx::AnyConnection;
use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
    path::{Path, PathBuf},
};

/// The files an import reads, in the order it reads them; each is optional.
pub const FILES: [&str; 6] = [
    "accounts.csv",
    "contacts.csv",
    "products.csv",
    "configuration_items.csv",
    "ci_relationships.csv",
    "install_base_items.csv",
];

/// CI classes, as the schema allows them.
pub const CI_CLASSES: [&str; 6] = ["server", "database", "application", "network", "service", "storage"];

/// Why an import stopped. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file} line {line}, column {column}: {reason}")]
    Row {
        file: &'static str,
        line: u64,
        column: String,
        reason: String,
    },
    #[error("{file}: {reason}")]
    File { file: &'static str, reason: String },
    #[error("{0} holds none of the files an import reads ({files})", files = FILES.join(", "))]
    NothingToImport(PathBuf),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// What an import did to one file's records.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub file: &'static str,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
}

/// What an import did, file by file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub files: Vec<FileReport>,
}

impl ImportReport {
    /// Records inserted or changed, over all files.
    pub fn changed(&self) -> u64 {
        self.files.iter().map(|f| f.inserted + f.updated).sum()
    }
}

/// Whether an upsert inserted, changed or left a record.
#[derive(Clone, Copy)]
enum Upsert {
    Inserted,
    Updated,
    Unchanged,
}

impl FileReport {
    fn count(&mut self, outcome: Upsert) {
        match outcome {
            Upsert::Inserted => self.inserted += 1,
            Upsert::Updated => self.updated += 1,
            Upsert::Unchanged => {}
        }
    }
}

/// Remembers each key of a file by its hash and line, to refuse a key given twice.
#[derive(Default)]
struct SeenKeys(HashMap<u64, u64>);

impl SeenKeys {
    fn first(&mut self, row: &Row<'_>, column: &str, key: &str) -> Result<(), ImportError> {
        let mut hasher = DefaultHasher::new();
        key.to_lowercase().hash(&mut hasher);
        match self.0.insert(hasher.finish(), row.line) {
            None => Ok(()),
            Some(first) => Err(row.error(column, format!("“{key}” is given twice: first on line {first}"))),
        }
    }
}

impl Store {
    /// Imports the CSV files in `dir`; `progress` hears (file, rows read so far) every 10,000 rows and at each
    /// file's end.
    pub async fn import_dir(
        &self,
        dir: &Path,
        mut progress: impl FnMut(&str, u64),
    ) -> Result<ImportReport, ImportError> {
        let present: Vec<_> = FILES.iter().filter(|f| dir.join(f).is_file()).collect();
        if present.is_empty() {
            return Err(ImportError::NothingToImport(dir.to_owned()));
        }
        let mut tx = self.begin_write().await?;
        let mut report = ImportReport::default();
        for &file in present {
            let path = dir.join(file);
            let mut file_report = FileReport {
                file,
                ..FileReport::default()
            };
            let mut seen = SeenKeys::default();
            let mut csv = CsvFile::open(&path, file)?;
            while let Some(row) = csv.next_row()? {
                import_row(&mut tx, &row, &mut seen, &mut file_report).await?;
                file_report.rows += 1;
                if file_report.rows.is_multiple_of(10_000) {
                    progress(file, file_report.rows);
                }
            }
            progress(file, file_report.rows);
            // Second passes: references to records of the same file, or of a file read later.
            match file {
                "install_base_items.csv" => {
                    let mut csv = CsvFile::open(&path, file)?;
                    while let Some(row) = csv.next_row()? {
                        set_item_parent(&mut tx, &row, &mut file_report).await?;
                    }
                    advance_item_counter(&mut tx).await?;
                }
                "contacts.csv" if dir.join("accounts.csv").is_file() => {
                    let accounts = report.files.iter_mut().find(|f| f.file == "accounts.csv");
                    let mut accounts_updated = 0;
                    let mut csv = CsvFile::open(&dir.join("accounts.csv"), "accounts.csv")?;
                    while let Some(row) = csv.next_row()? {
                        accounts_updated += set_primary_contact(&mut tx, &row).await?;
                    }
                    if let Some(accounts) = accounts {
                        accounts.updated += accounts_updated;
                    }
                }
                _ => {}
            }
            report.files.push(file_report);
        }
        if report.changed() > 0 {
            crate::store::cmdb_changed(&mut tx).await?;
        }
        tx.commit().await?;
        if report.changed() > 0 {
            // Fresh statistics, so PostgreSQL's planner knows the new sizes: without them it plans the trace for
            // empty tables, an order of magnitude slower.
            self.analyze().await?;
        }
        Ok(report)
    }
}

/// One CSV file, read a row at a time.
struct CsvFile {
    file: &'static str,
    reader: csv::Reader<std::fs::File>,
    columns: Columns,
    record: csv::StringRecord,
}

impl CsvFile {
    /// Opens `path` and checks its header.
    fn open(path: &Path, file: &'static str) -> Result<Self, ImportError> {
        let unreadable = |e: csv::Error| ImportError::File {
            file,
            reason: format!("cannot be read: {e}"),
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(unreadable)?;
        let columns = Columns::from_header(file, reader.headers().map_err(unreadable)?)?;
        Ok(Self {
            file,
            reader,
            columns,
            record: csv::StringRecord::new(),
        })
    }

    /// The next row, or `None` at the end of the file.
    fn next_row(&mut self) -> Result<Option<Row<'_>>, ImportError> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                Ok(Some(Row::new(self.file, line, &self.columns, &self.record)))
            }
            Err(error) => Err(ImportError::Row {
                file: self.file,
                line: error.position().map_or(0, csv::Position::line),
                column: "-".into(),
                reason: format!("not valid CSV: {error}"),
            }),
        }
    }
}

async fn import_row(
    conn: &mut AnyConnection,
    row: &Row<'_>,
    seen: &mut SeenKeys,
    report: &mut FileReport,
) -> Result<(), ImportError> {
    let outcome = match row.file {
        "accounts.csv" => {
            let name = row.text("name", 160)?;
            seen.first(row, "name", name)?;
            let kind = row.one_of("kind", &["external", "internal"])?;
            upsert(
                conn,
                "SELECT id FROM accounts WHERE name = $1",
                "INSERT INTO accounts (name, kind) VALUES ($1, $2)",
                Some((
                    "SELECT id FROM accounts WHERE name = $1 AND kind = $2",
                    "UPDATE accounts SET kind = $2 WHERE name = $1",
                )),
                &[Some(name), Some(kind)],
            )
            .await?
        }
        "contacts.csv" => {
            let email = row.email("email")?;
            seen.first(row, "email", email)?;
            let name = row.text("name", 160)?;
            let account = row
                .reference(conn, "account", "SELECT id FROM accounts WHERE name = $1", "account")
                .await?;
            let account = account.to_string();
            upsert(
                conn,
                "SELECT id FROM contacts WHERE email = $1",
                "INSERT INTO contacts (email, name, account_id) VALUES ($1, $2, CAST($3 AS BIGINT))",
                Some((
                    "SELECT id FROM contacts WHERE email = $1 AND name = $2 AND account_id = CAST($3 AS BIGINT)",
                    "UPDATE contacts SET name = $2, account_id = CAST($3 AS BIGINT) WHERE email = $1",
                )),
                &[Some(email), Some(name), Some(&account)],
            )
            .await?
        }
        "products.csv" => {
            let name = row.text("name", 160)?;
            seen.first(row, "name", name)?;
            upsert(
                conn,
                "SELECT id FROM products WHERE name = $1",
                "INSERT INTO products (name) VALUES ($1)",
                None,
                &[Some(name)],
            )
            .await?
        }
        "configuration_items.csv" => {
            let name = row.text("name", 255)?;
            seen.first(row, "name", name)?;
            let class = row.one_of("class", &CI_CLASSES)?;
            let fqdn = row.optional_text("fqdn", 255)?;
            let ip = row.optional_text("ip", 45)?;
            let maintenance = if row.flag("in_maintenance", false)? { "1" } else { "0" };
            upsert(
                conn,
                "SELECT id FROM configuration_items WHERE lower(name) = lower($1)",
                "INSERT INTO configuration_items (name, class, fqdn, ip, in_maintenance)
                     VALUES ($1, $2, $3, $4, CAST($5 AS BIGINT))",
                Some((
                    "SELECT id FROM configuration_items WHERE lower(name) = lower($1) AND name = $1 AND class = $2
                     AND fqdn IS NOT DISTINCT FROM $3 AND ip IS NOT DISTINCT FROM $4
                     AND in_maintenance = CAST($5 AS BIGINT)",
                    "UPDATE configuration_items SET name = $1, class = $2, fqdn = $3, ip = $4,
                     in_maintenance = CAST($5 AS BIGINT) WHERE lower(name) = lower($1)",
                )),
                &[Some(name), Some(class), fqdn, ip, Some(maintenance)],
            )
            .await?
        }
        "ci_relationships.csv" => {
            let ci = "SELECT id FROM configuration_items WHERE lower(name) = lower($1)";
            let parent = row.reference(conn, "parent", ci, "configuration item").await?;
            let kind = row
                .reference(
                    conn,
                    "type",
                    "SELECT id FROM relationship_types WHERE name = $1",
                    "relationship type",
                )
                .await?;
            let child = row.reference(conn, "child", ci, "configuration item").await?;
            if parent == child {
                return Err(row.error("child", "a configuration item cannot be related to itself".into()));
            }
            seen.first(row, "child", &format!("{parent} {kind} {child}"))?;
            let inserted = sqlx::query(
                "INSERT INTO ci_relationships (parent_id, type_id, child_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(parent)
            .bind(kind)
            .bind(child)
            .execute(&mut *conn)
            .await?;
            if inserted.rows_affected() == 1 {
                Upsert::Inserted
            } else {
                Upsert::Unchanged
            }
        }
        "install_base_items.csv" => {
            let number = row.text("number", 20)?;
            if number.parse::<ItemNumber>().is_err() {
                return Err(row.error("number", format!("“{number}” is not an item number such as IB0010001")));
            }
            seen.first(row, "number", number)?;
            let name = row.text("name", 160)?;
            let account = row
                .reference(conn, "account", "SELECT id FROM accounts WHERE name = $1", "account")
                .await?;
            let contact = match row.optional_text("contact", 254)? {
                None => None,
                Some(_) => {
                    let contact = row
                        .reference(conn, "contact", "SELECT id FROM contacts WHERE email = $1", "contact")
                        .await?;
                    let owner: i64 = sqlx::query_scalar("SELECT account_id FROM contacts WHERE id = $1")
                        .bind(contact)
                        .fetch_one(&mut *conn)
                        .await?;
                    if owner != account {
                        return Err(row.error("contact", "this contact belongs to another account".into()));
                    }
                    Some(contact.to_string())
                }
            };
            let product = match row.optional_text("product", 160)? {
                None => None,
                Some(_) => Some(
                    row.reference(conn, "product", "SELECT id FROM products WHERE name = $1", "product")
                        .await?
                        .to_string(),
                ),
            };
            let ci = match row.optional_text("ci", 255)? {
                None => None,
                Some(_) => Some(
                    row.reference(
                        conn,
                        "ci",
                        "SELECT id FROM configuration_items WHERE lower(name) = lower($1)",
                        "configuration item",
                    )
                    .await?
                    .to_string(),
                ),
            };
            let active = if row.flag("active", true)? { "1" } else { "0" };
            let install_date = row.date("install_date")?;
            let account = account.to_string();
            upsert(
                conn,
                "SELECT id FROM install_base_items WHERE number = $1",
                "INSERT INTO install_base_items (number, name, account_id, contact_id, product_id, ci_id, active,
                                                 install_date)
                     VALUES ($1, $2, CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS BIGINT), CAST($6 AS BIGINT),
                             CAST($7 AS BIGINT), $8)",
                Some((
                    "SELECT id FROM install_base_items WHERE number = $1 AND name = $2 AND account_id = CAST($3 AS BIGINT)
                     AND contact_id IS NOT DISTINCT FROM CAST($4 AS BIGINT)
                     AND product_id IS NOT DISTINCT FROM CAST($5 AS BIGINT)
                     AND ci_id IS NOT DISTINCT FROM CAST($6 AS BIGINT) AND active = CAST($7 AS BIGINT)
                     AND install_date IS NOT DISTINCT FROM $8",
                    "UPDATE install_base_items SET name = $2, account_id = CAST($3 AS BIGINT),
                     contact_id = CAST($4 AS BIGINT), product_id = CAST($5 AS BIGINT), ci_id = CAST($6 AS BIGINT),
                     active = CAST($7 AS BIGINT), install_date = $8
                 WHERE number = $1",
                )),
                &[
                    Some(number),
                    Some(name),
                    Some(&account),
                    contact.as_deref(),
                    product.as_deref(),
                    ci.as_deref(),
                    Some(active),
                    install_date,
                ],
            )
            .await?
        }
        other => {
            return Err(ImportError::File {
                file: row.file,
                reason: format!("{other} is not a file an import reads"),
            })
        }
    };
    report.count(outcome);
    Ok(())
}

/// Inserts the record `find` does not find, updates one that differs from `values`, leaves the rest.
async fn upsert(
    conn: &mut AnyConnection,
    find: &'static str,
    insert: &'static str,
    // For records with more than their key: a query that finds the record only if it already holds these values,
    // and the update that makes it hold them.
    changes: Option<(&'static str, &'static str)>,
    values: &[Option<&str>],
) -> Result<Upsert, sqlx::Error> {
    // PostgreSQL refuses more arguments than a statement has parameters: bind only the ones it names.
    let bind_all = |sql: &'static str| {
        values
            .iter()
            .take(parameters(sql))
            .fold(sqlx::query_scalar::<_, i64>(sql), |query, value| query.bind(*value))
    };
    if bind_all(find).fetch_optional(&mut *conn).await?.is_none() {
        let mut query = sqlx::query(insert);
        for value in values {
            query = query.bind(*value);
        }
        query.execute(&mut *conn).await?;
        return Ok(Upsert::Inserted);
    }
    let Some((unchanged, update)) = changes else {
        return Ok(Upsert::Unchanged);
    };
    if bind_all(unchanged).fetch_optional(&mut *conn).await?.is_some() {
        return Ok(Upsert::Unchanged);
    }
    let mut query = sqlx::query(update);
    for value in values {
        query = query.bind(*value);
    }
    query.execute(&mut *conn).await?;
    Ok(Upsert::Updated)
}

/// The highest `$N` parameter in `sql`.
fn parameters(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse::<usize>().ok())
        .max()
        .unwrap_or(0)
}

/// Second pass over accounts.csv, once contacts exist: each account's primary contact. Answers 1 if it changed.
async fn set_primary_contact(conn: &mut AnyConnection, row: &Row<'_>) -> Result<u64, ImportError> {
    let Some(_) = row.optional_text("primary_contact", 254)? else {
        return Ok(0);
    };
    let account = row
        .reference(conn, "name", "SELECT id FROM accounts WHERE name = $1", "account")
        .await?;
    let contact = row
        .reference(
            conn,
            "primary_contact",
            "SELECT id FROM contacts WHERE email = $1",
            "contact",
        )
        .await?;
    let owner: i64 = sqlx::query_scalar("SELECT account_id FROM contacts WHERE id = $1")
        .bind(contact)
        .fetch_one(&mut *conn)
        .await?;
    if owner != account {
        return Err(row.error("primary_contact", "this contact belongs to another account".into()));
    }
    let changed = sqlx::query(
        "UPDATE accounts SET primary_contact_id = $1 WHERE id = $2 AND primary_contact_id IS DISTINCT FROM $1",
    )
    .bind(contact)
    .bind(account)
    .execute(&mut *conn)
    .await?;
    Ok(changed.rows_affected())
}

/// Second pass over install_base_items.csv, once every item exists: each item's parent item.
async fn set_item_parent(conn: &mut AnyConnection, row: &Row<'_>, report: &mut FileReport) -> Result<(), ImportError> {
    let number = row.text("number", 20)?;
    let parent = match row.optional_text("parent", 20)? {
        None => None,
        Some(parent) if parent.eq_ignore_ascii_case(number) => {
            return Err(row.error("parent", "an item cannot be its own parent".into()))
        }
        Some(_) => Some(
            row.reference(
                conn,
                "parent",
                "SELECT id FROM install_base_items WHERE number = $1",
                "install base item",
            )
            .await?,
        ),
    };
    let changed = sqlx::query(
        "UPDATE install_base_items SET parent_id = CAST($1 AS BIGINT)
         WHERE number = $2 AND parent_id IS DISTINCT FROM CAST($1 AS BIGINT)",
    )
    .bind(parent)
    .bind(number)
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 1 {
        report.updated += 1;
    }
    Ok(())
}

/// Moves the item number counter past the highest imported number, so items created later never collide.
async fn advance_item_counter(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    // Numbers have seven digits (the counter stops at 9999999), so the greatest as text is the greatest.
    let highest: Option<String> = sqlx::query_scalar("SELECT MAX(number) FROM install_base_items")
        .fetch_one(&mut *conn)
        .await?;
    let highest = highest
        .and_then(|n| n.parse::<ItemNumber>().ok())
        .map_or(0, |n| i64::from(n.seq()));
    sqlx::query("UPDATE number_counters SET next = $1 WHERE prefix = 'IB' AND next <= $2")
        .bind(highest + 1)
        .bind(highest)
        .execute(conn)
        .await
        .map(drop)
}
