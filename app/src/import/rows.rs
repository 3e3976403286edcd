//! A file's columns and one row of it, with the checks every column needs and errors that name file, line and
//! column.

use super::ImportError;
use sqlx::AnyConnection;
use std::collections::HashMap;

/// The columns each file may have; the ones marked `true` are required.
fn expected(file: &str) -> &'static [(&'static str, bool)] {
    match file {
        "accounts.csv" => &[("name", true), ("kind", true), ("primary_contact", false)],
        "contacts.csv" => &[("email", true), ("name", true), ("account", true)],
        "products.csv" => &[("name", true)],
        "configuration_items.csv" => &[
            ("name", true),
            ("class", true),
            ("fqdn", false),
            ("ip", false),
            ("in_maintenance", false),
        ],
        "ci_relationships.csv" => &[("parent", true), ("type", true), ("child", true)],
        "install_base_items.csv" => &[
            ("number", true),
            ("name", true),
            ("account", true),
            ("contact", false),
            ("product", false),
            ("ci", false),
            ("parent", false),
            ("active", false),
            ("install_date", false),
        ],
        _ => &[],
    }
}

/// Where each column of a file is, by its header.
pub(super) struct Columns(HashMap<String, usize>);

impl Columns {
    /// Reads the header: every required column present, none unknown, none twice.
    pub fn from_header(file: &'static str, header: &csv::StringRecord) -> Result<Self, ImportError> {
        let expected = expected(file);
        let names: Vec<_> = expected.iter().map(|(name, _)| *name).collect();
        let mut columns = HashMap::new();
        for (index, name) in header.iter().enumerate() {
            let name = name.trim().trim_start_matches('\u{feff}').to_lowercase();
            if !names.contains(&name.as_str()) {
                return Err(ImportError::File {
                    file,
                    reason: format!(
                        "unknown column “{name}” in the header; the columns are {}",
                        names.join(", ")
                    ),
                });
            }
            if columns.insert(name.clone(), index).is_some() {
                return Err(ImportError::File {
                    file,
                    reason: format!("column “{name}” is in the header twice"),
                });
            }
        }
        if let Some((missing, _)) = expected
            .iter()
            .find(|(name, required)| *required && !columns.contains_key(*name))
        {
            return Err(ImportError::File {
                file,
                reason: format!("the header lacks the required column “{missing}”"),
            });
        }
        Ok(Self(columns))
    }
}

/// One data row.
pub(super) struct Row<'r> {
    pub file: &'static str,
    pub line: u64,
    columns: &'r Columns,
    record: &'r csv::StringRecord,
}

impl<'r> Row<'r> {
    pub fn new(file: &'static str, line: u64, columns: &'r Columns, record: &'r csv::StringRecord) -> Self {
        Self {
            file,
            line,
            columns,
            record,
        }
    }

    pub fn error(&self, column: &str, reason: String) -> ImportError {
        ImportError::Row {
            file: self.file,
            line: self.line,
            column: column.to_owned(),
            reason,
        }
    }

    /// The column's text, empty when the file has no such column.
    fn get(&self, column: &str) -> &'r str {
        self.columns
            .0
            .get(column)
            .and_then(|&index| self.record.get(index))
            .unwrap_or_default()
    }

    /// A required text of at most `max` characters.
    pub fn text(&self, column: &str, max: usize) -> Result<&'r str, ImportError> {
        self.optional_text(column, max)?
            .ok_or_else(|| self.error(column, "is empty; it is required".into()))
    }

    /// An optional text of at most `max` characters; empty is `None`.
    pub fn optional_text(&self, column: &str, max: usize) -> Result<Option<&'r str>, ImportError> {
        let text = self.get(column);
        let length = text.chars().count();
        if length > max {
            return Err(self.error(column, format!("is {length} characters long; the limit is {max}")));
        }
        Ok((!text.is_empty()).then_some(text))
    }

    /// A required text that must be one of `allowed`.
    pub fn one_of(&self, column: &str, allowed: &[&'static str]) -> Result<&'static str, ImportError> {
        let text = self.text(column, 64)?;
        allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(text))
            .copied()
            .ok_or_else(|| self.error(column, format!("“{text}” is not one of {}", allowed.join(", "))))
    }

    pub fn email(&self, column: &str) -> Result<&'r str, ImportError> {
        let email = self.text(column, 254)?;
        match email.split_once('@') {
            Some((user, domain)) if !user.is_empty() && !domain.is_empty() => Ok(email),
            _ => Err(self.error(column, format!("“{email}” is not an email address"))),
        }
    }

    /// `true`/`false` (also `yes`/`no`, `1`/`0`); empty is `default`.
    pub fn flag(&self, column: &str, default: bool) -> Result<bool, ImportError> {
        match self.get(column).to_lowercase().as_str() {
            "" => Ok(default),
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            other => Err(self.error(column, format!("“{other}” is not true or false"))),
        }
    }

    /// An optional date, `YYYY-MM-DD`.
    pub fn date(&self, column: &str) -> Result<Option<&'r str>, ImportError> {
        let Some(text) = self.optional_text(column, 10)? else {
            return Ok(None);
        };
        let bytes = text.as_bytes();
        let shape = bytes.len() == 10
            && bytes.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        let (month, day) = (text.get(5..7).unwrap_or("0"), text.get(8..10).unwrap_or("0"));
        let valid = shape
            && (1..=12).contains(&month.parse::<u8>().unwrap_or(0))
            && (1..=31).contains(&day.parse::<u8>().unwrap_or(0));
        if valid {
            Ok(Some(text))
        } else {
            Err(self.error(column, format!("“{text}” is not a date such as 2025-03-01")))
        }
    }

    /// The id of the record `sql` finds by this column's text; an error naming what is missing otherwise.
    pub async fn reference(
        &self,
        conn: &mut AnyConnection,
        column: &str,
        sql: &'static str,
        noun: &str,
    ) -> Result<i64, ImportError> {
        let key = self.text(column, 255)?;
        sqlx::query_scalar(sql)
            .bind(key)
            .fetch_optional(conn)
            .await?
            .ok_or_else(|| {
                self.error(
                    column,
                    format!("there is no {noun} “{key}” (in this import or already stored)"),
                )
            })
    }
}
