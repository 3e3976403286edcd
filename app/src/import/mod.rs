//! `forestall import DIR`: loads a CMDB (accounts, contacts, products, configuration items, their relationships and
//! install base items) from CSV files with named columns.
//!
//! All or nothing: everything goes into one transaction, and the first bad row stops the import with its file, line,
//! column and reason, leaving the database as it was. Rows are upserted by their natural key (account and product
//! name, contact email, CI name, item number, a relationship's three parts), so importing the same files twice
//! changes nothing the second time. Files are read row by row; what stays in memory is one hash per key, for
//! finding a key given twice.
//!
//! On a SQLite file that transaction is run on a staging copy of the CMDB and merged in one short one
//! (`staging.rs`), so that the service's writers are not held up for the whole import.

mod generate;
mod rows;
mod staging;

pub use generate::{generate, Generated};

use crate::{
    domain::ItemNumber,
    store::{Backend, Store},
};
use rows::{At, Columns};
use serde::{de::DeserializeOwned, Deserialize};
use sqlx::AnyConnection;
use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
    path::{Path, PathBuf},
    time::Duration,
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
    #[error("another import into this database is running: wait for it to end, then import again")]
    AlreadyRunning,
    #[error(
        "the CMDB was changed by something else while the import ran (another process's import or demo data, or SQL), and the import's rows would have overwritten that change: import again"
    )]
    ChangedMeanwhile,
    #[error("the staging database {path}: {reason}")]
    Staging { path: PathBuf, reason: String },
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
    /// On a SQLite file, how long the merge into the database took: the longest any other writer waited for the
    /// import. `None` when nothing changed, and on PostgreSQL (where the import does not hold up other writers).
    pub merge: Option<Duration>,
}

/// What an import is doing, as its progress callback hears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// On a SQLite file, first: the CMDB is being copied into the staging database (a read).
    Copying,
    /// Rows read from `file` so far, every 10,000 rows and at the file's end.
    Rows { file: &'static str, rows: u64 },
    /// On a SQLite file, last: the changed records are being written into the database, in one short transaction.
    Merging,
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
    fn first(&mut self, at: &At, column: &str, key: &str) -> Result<(), ImportError> {
        let mut hasher = DefaultHasher::new();
        key.to_lowercase().hash(&mut hasher);
        match self.0.insert(hasher.finish(), at.line) {
            None => Ok(()),
            Some(first) => Err(at.error(column, format!("“{key}” is given twice: first on line {first}"))),
        }
    }
}

impl Store {
    /// Imports the CSV files in `dir`, all or nothing; `progress` hears what the import is doing.
    ///
    /// On a SQLite file the other writers (the running server's sign-ins, events and case work) wait only for the
    /// last, short step, the merge ([`ImportReport::merge`]). On PostgreSQL, and on SQLite in memory, the import is
    /// one transaction on the database, which on PostgreSQL holds up no other writer.
    pub async fn import_dir(
        &self,
        dir: &Path,
        mut progress: impl FnMut(Progress),
    ) -> Result<ImportReport, ImportError> {
        let present: Vec<_> = FILES.into_iter().filter(|f| dir.join(f).is_file()).collect();
        if present.is_empty() {
            return Err(ImportError::NothingToImport(dir.to_owned()));
        }
        let report = match self.sqlite_file().await? {
            Some(main) => self.import_staged(&main, dir, &present, &mut progress).await?,
            None => self.import_in_one_transaction(dir, &present, &mut progress).await?,
        };
        if report.changed() > 0 {
            // Fresh statistics, so PostgreSQL's planner knows the new sizes: without them it plans the trace for
            // empty tables, an order of magnitude slower.
            self.analyze().await?;
        }
        Ok(report)
    }

    /// Imports `present`, files of `dir`, in one transaction on this store.
    async fn import_in_one_transaction(
        &self,
        dir: &Path,
        present: &[&'static str],
        progress: &mut impl FnMut(Progress),
    ) -> Result<ImportReport, ImportError> {
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            refuse_a_second_import(&mut tx).await?;
        }
        let mut report = ImportReport::default();
        for &file in present {
            let path = dir.join(file);
            let mut file_report = FileReport {
                file,
                ..FileReport::default()
            };
            match file {
                "accounts.csv" => import_file::<AccountRow>(&mut tx, &path, &mut file_report, progress).await?,
                "contacts.csv" => import_file::<ContactRow>(&mut tx, &path, &mut file_report, progress).await?,
                "products.csv" => import_file::<ProductRow>(&mut tx, &path, &mut file_report, progress).await?,
                "configuration_items.csv" => {
                    import_file::<CiRow>(&mut tx, &path, &mut file_report, progress).await?;
                }
                "ci_relationships.csv" => {
                    import_file::<RelationshipRow>(&mut tx, &path, &mut file_report, progress).await?;
                }
                _ => import_file::<ItemRow>(&mut tx, &path, &mut file_report, progress).await?,
            }
            // Second passes: references to records of the same file, or of a file read later.
            match file {
                "install_base_items.csv" => {
                    let mut csv = CsvFile::open(&path, file)?;
                    while let Some((at, row)) = csv.next::<ItemRow>()? {
                        row.set_parent(&mut tx, &at, &mut file_report).await?;
                    }
                    advance_item_counter(&mut tx).await?;
                }
                "contacts.csv" if dir.join("accounts.csv").is_file() => {
                    let accounts = report.files.iter_mut().find(|f| f.file == "accounts.csv");
                    let mut accounts_updated = 0;
                    let mut csv = CsvFile::open(&dir.join("accounts.csv"), "accounts.csv")?;
                    while let Some((at, row)) = csv.next::<AccountRow>()? {
                        accounts_updated += row.set_primary_contact(&mut tx, &at).await?;
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
        Ok(report)
    }
}

/// On PostgreSQL, refuses an import while another runs on the same database (two would each read the other's
/// records as absent, and the second fail at its commit or wait for the first row by row). The lock ends with the
/// transaction. On SQLite the staging lock does this (`staging.rs`).
async fn refuse_a_second_import(conn: &mut AnyConnection) -> Result<(), ImportError> {
    /// The advisory lock's key, any number no other part of Forestall uses: "Forestal" in ASCII.
    const IMPORT_LOCK: i64 = 0x466f_7265_7374_616c;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(IMPORT_LOCK)
        .fetch_one(conn)
        .await?;
    if locked {
        Ok(())
    } else {
        Err(ImportError::AlreadyRunning)
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

    /// The next row, read into its struct by the header's names, or `None` at the end of the file.
    fn next<T: DeserializeOwned>(&mut self) -> Result<Option<(At, T)>, ImportError> {
        let not_csv = |error: csv::Error, file| ImportError::Row {
            file,
            line: error.position().map_or(0, csv::Position::line),
            column: "-".into(),
            reason: format!("not valid CSV: {error}"),
        };
        match self.reader.read_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let at = At {
                    file: self.file,
                    line: self.record.position().map_or(0, csv::Position::line),
                };
                let row = self
                    .record
                    .deserialize(Some(self.columns.names()))
                    .map_err(|error| not_csv(error, self.file))?;
                Ok(Some((at, row)))
            }
            Err(error) => Err(not_csv(error, self.file)),
        }
    }
}

/// A row of one of the files, as serde reads it by the header's names, and how it is written.
trait CsvRow: DeserializeOwned {
    /// Checks the row, refuses a key the file gave before, and inserts or updates its record by its natural key.
    async fn import(&self, conn: &mut AnyConnection, at: &At, seen: &mut SeenKeys) -> Result<Upsert, ImportError>;
}

/// Imports every row of one file; `progress` hears every 10,000 rows and the file's end.
async fn import_file<T: CsvRow>(
    conn: &mut AnyConnection,
    path: &Path,
    report: &mut FileReport,
    progress: &mut impl FnMut(Progress),
) -> Result<(), ImportError> {
    let mut seen = SeenKeys::default();
    let mut csv = CsvFile::open(path, report.file)?;
    while let Some((at, row)) = csv.next::<T>()? {
        report.count(row.import(conn, &at, &mut seen).await?);
        report.rows += 1;
        if report.rows.is_multiple_of(10_000) {
            progress(Progress::Rows {
                file: report.file,
                rows: report.rows,
            });
        }
    }
    progress(Progress::Rows {
        file: report.file,
        rows: report.rows,
    });
    Ok(())
}

/// What an upsert found: nothing, or the record, the same as the row or not.
fn upserted<T: PartialEq>(stored: Option<T>, row: &T) -> Upsert {
    match stored {
        None => Upsert::Inserted,
        Some(stored) if stored == *row => Upsert::Unchanged,
        Some(_) => Upsert::Updated,
    }
}

const ACCOUNT_BY_NAME: &str = "SELECT id FROM accounts WHERE name = $1";
const CONTACT_BY_EMAIL: &str = "SELECT id FROM contacts WHERE email = $1";
const PRODUCT_BY_NAME: &str = "SELECT id FROM products WHERE name = $1";
const CI_BY_NAME: &str = "SELECT id FROM configuration_items WHERE lower(name) = lower($1)";

/// accounts.csv
#[derive(Deserialize)]
struct AccountRow {
    name: String,
    kind: String,
    primary_contact: Option<String>,
}

impl CsvRow for AccountRow {
    async fn import(&self, conn: &mut AnyConnection, at: &At, seen: &mut SeenKeys) -> Result<Upsert, ImportError> {
        let name = at.text("name", &self.name, 160)?;
        seen.first(at, "name", name)?;
        let kind = at.one_of("kind", &self.kind, &["external", "internal"])?;
        let stored: Option<String> = sqlx::query_scalar("SELECT kind FROM accounts WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
        let outcome = upserted(stored, &kind.to_owned());
        let sql = match outcome {
            Upsert::Inserted => "INSERT INTO accounts (name, kind) VALUES ($1, $2)",
            Upsert::Updated => "UPDATE accounts SET kind = $2 WHERE name = $1",
            Upsert::Unchanged => return Ok(outcome),
        };
        sqlx::query(sql).bind(name).bind(kind).execute(&mut *conn).await?;
        Ok(outcome)
    }
}

impl AccountRow {
    /// Second pass, once contacts exist: the account's primary contact. Answers 1 if it changed.
    async fn set_primary_contact(&self, conn: &mut AnyConnection, at: &At) -> Result<u64, ImportError> {
        let Some(email) = at.optional_text("primary_contact", self.primary_contact.as_deref(), 254)? else {
            return Ok(0);
        };
        let account = at
            .reference(conn, "name", &self.name, ACCOUNT_BY_NAME, "account")
            .await?;
        let contact = at
            .reference(conn, "primary_contact", email, CONTACT_BY_EMAIL, "contact")
            .await?;
        check_contact_of(conn, at, "primary_contact", contact, account).await?;
        let changed = sqlx::query(
            "UPDATE accounts SET primary_contact_id = $1 WHERE id = $2 AND primary_contact_id IS DISTINCT FROM $1",
        )
        .bind(contact)
        .bind(account)
        .execute(&mut *conn)
        .await?;
        Ok(changed.rows_affected())
    }
}

/// Refuses a contact of another account than the one it is given for.
async fn check_contact_of(
    conn: &mut AnyConnection,
    at: &At,
    column: &str,
    contact: i64,
    account: i64,
) -> Result<(), ImportError> {
    let owner: i64 = sqlx::query_scalar("SELECT account_id FROM contacts WHERE id = $1")
        .bind(contact)
        .fetch_one(&mut *conn)
        .await?;
    if owner != account {
        return Err(at.error(column, "this contact belongs to another account".into()));
    }
    Ok(())
}

/// contacts.csv
#[derive(Deserialize)]
struct ContactRow {
    email: String,
    name: String,
    account: String,
    /// Receives the account's customer notices besides its primary contact (default false).
    #[serde(default)]
    notify: Option<String>,
}

impl CsvRow for ContactRow {
    async fn import(&self, conn: &mut AnyConnection, at: &At, seen: &mut SeenKeys) -> Result<Upsert, ImportError> {
        let email = at.email("email", &self.email)?;
        seen.first(at, "email", email)?;
        let name = at.text("name", &self.name, 160)?;
        let account = at
            .reference(conn, "account", &self.account, ACCOUNT_BY_NAME, "account")
            .await?;
        let notify = i64::from(at.flag("notify", self.notify.as_deref(), false)?);
        let stored: Option<(String, i64, i64)> =
            sqlx::query_as("SELECT name, account_id, notify FROM contacts WHERE email = $1")
                .bind(email)
                .fetch_optional(&mut *conn)
                .await?;
        let outcome = upserted(stored, &(name.to_owned(), account, notify));
        let sql = match outcome {
            Upsert::Inserted => "INSERT INTO contacts (email, name, account_id, notify) VALUES ($1, $2, $3, $4)",
            Upsert::Updated => "UPDATE contacts SET name = $2, account_id = $3, notify = $4 WHERE email = $1",
            Upsert::Unchanged => return Ok(outcome),
        };
        sqlx::query(sql)
            .bind(email)
            .bind(name)
            .bind(account)
            .bind(notify)
            .execute(&mut *conn)
            .await?;
        Ok(outcome)
    }
}

/// products.csv
#[derive(Deserialize)]
struct ProductRow {
    name: String,
}

impl CsvRow for ProductRow {
    async fn import(&self, conn: &mut AnyConnection, at: &At, seen: &mut SeenKeys) -> Result<Upsert, ImportError> {
        let name = at.text("name", &self.name, 160)?;
        seen.first(at, "name", name)?;
        let inserted = sqlx::query("INSERT INTO products (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .execute(&mut *conn)
            .await?;
        Ok(if inserted.rows_affected() == 1 {
            Upsert::Inserted
        } else {
            Upsert::Unchanged
        })
    }
}

/// configuration_items.csv
#[derive(Deserialize)]
struct CiRow {
    name: String,
    class: String,
    fqdn: Option<String>,
    ip: Option<String>,
    in_maintenance: Option<String>,
}

/// A CI as the import compares it with the stored one.
#[derive(PartialEq, sqlx::FromRow)]
struct CiValues {
    name: String,
    class: String,
    fqdn: Option<String>,
    ip: Option<String>,
    in_maintenance: i64,
}

impl CsvRow for CiRow {
    async fn import(&self, conn: &mut AnyConnection, at: &At, seen: &mut SeenKeys) -> Result<Upsert, ImportError> {
        let name = at.text("name", &self.name, 255)?;
        seen.first(at, "name", name)?;
        let row = CiValues {
            name: name.to_owned(),
            class: at.one_of("class", &self.class, &CI_CLASSES)?.to_owned(),
            fqdn: at.optional_text("fqdn", self.fqdn.as_deref(), 255)?.map(str::to_owned),
            ip: at.optional_text("ip", self.ip.as_deref(), 45)?.map(str::to_owned),
            in_maintenance: i64::from(at.flag("in_maintenance", self.in_maintenance.as_deref(), false)?),
        };
        let stored: Option<CiValues> = sqlx::query_as(
            "SELECT name, class, fqdn, ip, in_maintenance FROM configuration_items WHERE lower(name) = lower($1)",
        )
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
        let outcome = upserted(stored, &row);
        let sql = match outcome {
            Upsert::Inserted => {
                "INSERT INTO configuration_items (name, class, fqdn, ip, in_maintenance) VALUES ($1, $2, $3, $4, $5)"
            }
            Upsert::Updated => {
                "UPDATE configuration_items SET name = $1, class = $2, fqdn = $3, ip = $4, in_maintenance = $5
                 WHERE lower(name) = lower($1)"
            }
            Upsert::Unchanged => return Ok(outcome),
        };
        sqlx::query(sql)
            .bind(&row.name)
            .bind(&row.class)
            .bind(&row.fqdn)
            .bind(&row.ip)
            .bind(row.in_maintenance)
            .execute(&mut *conn)
            .await?;
        Ok(outcome)
    }
}

/// ci_relationships.csv
#[derive(Deserialize)]
struct RelationshipRow {
    parent: String,
    #[serde(rename = "type")]
    kind: String,
    child: String,
}

impl CsvRow for RelationshipRow {
    async fn import(&self, conn: &mut AnyConnection, at: &At, seen: &mut SeenKeys) -> Result<Upsert, ImportError> {
        let parent = at
            .reference(conn, "parent", &self.parent, CI_BY_NAME, "configuration item")
            .await?;
        let kind = at
            .reference(
                conn,
                "type",
                &self.kind,
                "SELECT id FROM relationship_types WHERE name = $1",
                "relationship type",
            )
            .await?;
        let child = at
            .reference(conn, "child", &self.child, CI_BY_NAME, "configuration item")
            .await?;
        if parent == child {
            return Err(at.error("child", "a configuration item cannot be related to itself".into()));
        }
        seen.first(at, "child", &format!("{parent} {kind} {child}"))?;
        let inserted = sqlx::query(
            "INSERT INTO ci_relationships (parent_id, type_id, child_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(parent)
        .bind(kind)
        .bind(child)
        .execute(&mut *conn)
        .await?;
        Ok(if inserted.rows_affected() == 1 {
            Upsert::Inserted
        } else {
            Upsert::Unchanged
        })
    }
}

/// install_base_items.csv
#[derive(Deserialize)]
struct ItemRow {
    number: String,
    name: String,
    account: String,
    contact: Option<String>,
    product: Option<String>,
    ci: Option<String>,
    parent: Option<String>,
    active: Option<String>,
    install_date: Option<String>,
}

/// An item as the import compares it with the stored one (its parent is the second pass's).
#[derive(PartialEq, sqlx::FromRow)]
struct ItemValues {
    name: String,
    account_id: i64,
    contact_id: Option<i64>,
    product_id: Option<i64>,
    ci_id: Option<i64>,
    active: i64,
    install_date: Option<String>,
}

impl CsvRow for ItemRow {
    async fn import(&self, conn: &mut AnyConnection, at: &At, seen: &mut SeenKeys) -> Result<Upsert, ImportError> {
        let number = at.text("number", &self.number, 20)?;
        if number.parse::<ItemNumber>().is_err() {
            return Err(at.error("number", format!("“{number}” is not an item number such as IB0010001")));
        }
        seen.first(at, "number", number)?;
        let name = at.text("name", &self.name, 160)?;
        let account = at
            .reference(conn, "account", &self.account, ACCOUNT_BY_NAME, "account")
            .await?;
        let contact = at.optional_text("contact", self.contact.as_deref(), 254)?;
        let contact = at
            .optional_reference(conn, "contact", contact, CONTACT_BY_EMAIL, "contact")
            .await?;
        if let Some(contact) = contact {
            check_contact_of(conn, at, "contact", contact, account).await?;
        }
        let product = at.optional_text("product", self.product.as_deref(), 160)?;
        let product = at
            .optional_reference(conn, "product", product, PRODUCT_BY_NAME, "product")
            .await?;
        let ci = at.optional_text("ci", self.ci.as_deref(), 255)?;
        let ci = at
            .optional_reference(conn, "ci", ci, CI_BY_NAME, "configuration item")
            .await?;
        let row = ItemValues {
            name: name.to_owned(),
            account_id: account,
            contact_id: contact,
            product_id: product,
            ci_id: ci,
            active: i64::from(at.flag("active", self.active.as_deref(), true)?),
            install_date: at
                .date("install_date", self.install_date.as_deref())?
                .map(str::to_owned),
        };
        let stored: Option<ItemValues> = sqlx::query_as(
            "SELECT name, account_id, contact_id, product_id, ci_id, active, install_date
             FROM install_base_items WHERE number = $1",
        )
        .bind(number)
        .fetch_optional(&mut *conn)
        .await?;
        let outcome = upserted(stored, &row);
        let sql = match outcome {
            Upsert::Inserted => {
                "INSERT INTO install_base_items (number, name, account_id, contact_id, product_id, ci_id, active,
                                                 install_date)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            }
            Upsert::Updated => {
                "UPDATE install_base_items SET name = $2, account_id = $3, contact_id = $4, product_id = $5,
                        ci_id = $6, active = $7, install_date = $8
                 WHERE number = $1"
            }
            Upsert::Unchanged => return Ok(outcome),
        };
        sqlx::query(sql)
            .bind(number)
            .bind(&row.name)
            .bind(row.account_id)
            .bind(row.contact_id)
            .bind(row.product_id)
            .bind(row.ci_id)
            .bind(row.active)
            .bind(&row.install_date)
            .execute(&mut *conn)
            .await?;
        Ok(outcome)
    }
}

impl ItemRow {
    /// Second pass, once every item exists: the item's parent item.
    async fn set_parent(&self, conn: &mut AnyConnection, at: &At, report: &mut FileReport) -> Result<(), ImportError> {
        let number = at.text("number", &self.number, 20)?;
        let parent = match at.optional_text("parent", self.parent.as_deref(), 20)? {
            None => None,
            Some(parent) if parent.eq_ignore_ascii_case(number) => {
                return Err(at.error("parent", "an item cannot be its own parent".into()))
            }
            Some(parent) => Some(
                at.reference(
                    conn,
                    "parent",
                    parent,
                    "SELECT id FROM install_base_items WHERE number = $1",
                    "install base item",
                )
                .await?,
            ),
        };
        let changed = sqlx::query(
            "UPDATE install_base_items SET parent_id = $1 WHERE number = $2 AND parent_id IS DISTINCT FROM $1",
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
