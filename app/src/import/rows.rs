//! A file's columns and one row of it, with the checks every column needs and errors that name file, line and
//! column.

use super::ImportError;
use sqlx::AnyConnection;
use std::collections::HashSet;

/// The columns each file may have; the ones marked `true` are required.
fn expected(file: &str) -> &'static [(&'static str, bool)] {
    match file {
        "accounts.csv" => &[("name", true), ("kind", true), ("primary_contact", false)],
        "contacts.csv" => &[("email", true), ("name", true), ("account", true), ("notify", false)],
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

/// A file's header, checked, with its names as the row structs spell them (trimmed, lower case, no BOM).
pub(super) struct Columns(csv::StringRecord);

impl Columns {
    /// Reads the header: every required column present, none unknown, none twice.
    pub fn from_header(file: &'static str, header: &csv::StringRecord) -> Result<Self, ImportError> {
        let expected = expected(file);
        let names: Vec<_> = expected.iter().map(|(name, _)| *name).collect();
        let mut columns = HashSet::new();
        for name in header.iter() {
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
            if !columns.insert(name.clone()) {
                return Err(ImportError::File {
                    file,
                    reason: format!("column “{name}” is in the header twice"),
                });
            }
        }
        if let Some((missing, _)) = expected
            .iter()
            .find(|(name, required)| *required && !columns.contains(*name))
        {
            return Err(ImportError::File {
                file,
                reason: format!("the header lacks the required column “{missing}”"),
            });
        }
        Ok(Self(
            header
                .iter()
                .map(|name| name.trim().trim_start_matches('\u{feff}').to_lowercase())
                .collect(),
        ))
    }

    pub fn names(&self) -> &csv::StringRecord {
        &self.0
    }
}

/// Where a row is, for its errors, and the checks each kind of cell needs.
pub(super) struct At {
    pub file: &'static str,
    pub line: u64,
}

impl At {
    pub fn error(&self, column: &str, reason: String) -> ImportError {
        ImportError::Row {
            file: self.file,
            line: self.line,
            column: column.to_owned(),
            reason,
        }
    }

    /// A required text of at most `max` characters.
    pub fn text<'v>(&self, column: &str, value: &'v str, max: usize) -> Result<&'v str, ImportError> {
        self.optional_text(column, Some(value), max)?
            .ok_or_else(|| self.error(column, "is empty; it is required".into()))
    }

    /// An optional text of at most `max` characters; empty is `None`.
    pub fn optional_text<'v>(
        &self,
        column: &str,
        value: Option<&'v str>,
        max: usize,
    ) -> Result<Option<&'v str>, ImportError> {
        let text = value.unwrap_or_default();
        let length = text.chars().count();
        if length > max {
            return Err(self.error(column, format!("is {length} characters long; the limit is {max}")));
        }
        Ok((!text.is_empty()).then_some(text))
    }

    /// A required text that must be one of `allowed`.
    pub fn one_of(&self, column: &str, value: &str, allowed: &[&'static str]) -> Result<&'static str, ImportError> {
        let text = self.text(column, value, 64)?;
        allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(text))
            .copied()
            .ok_or_else(|| self.error(column, format!("“{text}” is not one of {}", allowed.join(", "))))
    }

    pub fn email<'v>(&self, column: &str, value: &'v str) -> Result<&'v str, ImportError> {
        let email = self.text(column, value, 254)?;
        // As a mail server will read it: notices go to these addresses.
        match email.parse::<lettre::Address>() {
            Ok(_) if email.contains('.') || email.rsplit('@').next().is_some_and(|d| d == "localhost") => Ok(email),
            Ok(_) => Err(self.error(
                column,
                format!("“{email}” is not an email address: its domain has no dot"),
            )),
            Err(error) => Err(self.error(column, format!("“{email}” is not an email address ({error})"))),
        }
    }

    /// `true`/`false` (also `yes`/`no`, `1`/`0`); empty is `default`.
    pub fn flag(&self, column: &str, value: Option<&str>, default: bool) -> Result<bool, ImportError> {
        match value.unwrap_or_default().to_lowercase().as_str() {
            "" => Ok(default),
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            other => Err(self.error(column, format!("“{other}” is not true or false"))),
        }
    }

    /// An optional date, `YYYY-MM-DD`.
    pub fn date<'v>(&self, column: &str, value: Option<&'v str>) -> Result<Option<&'v str>, ImportError> {
        let Some(text) = self.optional_text(column, value, 10)? else {
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

    /// The id of the record `sql` finds by `key`; an error naming what is missing otherwise.
    pub async fn reference(
        &self,
        conn: &mut AnyConnection,
        column: &str,
        key: &str,
        sql: &'static str,
        noun: &str,
    ) -> Result<i64, ImportError> {
        let key = self.text(column, key, 255)?;
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

    /// The same for an optional reference: empty is `None`.
    pub async fn optional_reference(
        &self,
        conn: &mut AnyConnection,
        column: &str,
        key: Option<&str>,
        sql: &'static str,
        noun: &str,
    ) -> Result<Option<i64>, ImportError> {
        match key.filter(|key| !key.is_empty()) {
            None => Ok(None),
            Some(key) => self.reference(conn, column, key, sql, noun).await.map(Some),
        }
    }
}
