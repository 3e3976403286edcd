//! One event from monitoring, checked field by field: what every payload format is read into before anything is
//! stored, and the errors that name the field at fault.

use crate::{domain::Severity, store::clock::parse_rfc3339};
use serde::Serialize;
use serde_json::{Map, Value};

/// Longest source, node, type, resource and metric name.
pub const SHORT_FIELD_MAX: usize = 100;
pub const MESSAGE_KEY_MAX: usize = 1024;
pub const DESCRIPTION_MAX: usize = 4000;
pub const ADDITIONAL_INFO_MAX: usize = 4000;

/// An event, checked: the fields fit the alert they update or create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub source: String,
    pub node: String,
    pub kind: String,
    pub resource: String,
    pub metric_name: String,
    /// Events with the same key are one problem: they update one alert.
    pub message_key: String,
    pub severity: Severity,
    pub description: String,
    pub additional_info: Option<String>,
    /// When it happened, in seconds since 1970 UTC; `None` means when it arrived.
    pub time: Option<i64>,
    /// The problem is over: the event closes the open alert with its key.
    pub resolved: bool,
}

impl Event {
    /// The key of events that give none: the fields that say what and where.
    pub fn derived_key(source: &str, node: &str, kind: &str, resource: &str, metric_name: &str) -> String {
        format!("{source}|{node}|{kind}|{resource}|{metric_name}")
    }
}

/// What is wrong with one field of a payload; `field` is its path in the JSON (`alerts[2].labels.severity`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    #[serde(rename = "error")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A JSON object being read, with its path for error messages.
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    /// `value` as an object at `path` (`""` for the body itself).
    pub fn of(value: &'a Value, path: &str) -> Result<Self, FieldError> {
        match value {
            Value::Object(object) => Ok(Self {
                object,
                path: path.to_owned(),
            }),
            _ => Err(FieldError::new(
                if path.is_empty() { "(body)" } else { path },
                "Must be a JSON object.",
            )),
        }
    }

    /// The full path of a member, for messages.
    pub fn path(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name).filter(|v| !v.is_null())
    }

    /// A nested object, if present.
    pub fn object(&self, name: &str) -> Result<Option<Fields<'a>>, FieldError> {
        self.get(name)
            .map(|value| Fields::of(value, &self.path(name)))
            .transpose()
    }

    /// A text member, trimmed, at most `max` characters; absent or null is `None`.
    pub fn text(&self, name: &str, max: usize) -> Result<Option<String>, FieldError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let Value::String(text) = value else {
            return Err(FieldError::new(self.path(name), "Must be a string."));
        };
        let text = text.trim();
        if text.chars().count() > max {
            return Err(FieldError::new(
                self.path(name),
                format!("Is longer than {max} characters."),
            ));
        }
        no_nul(&self.path(name), text)?;
        Ok(Some(text.to_owned()))
    }

    /// A text member that must be there and not be empty.
    pub fn required(&self, name: &str, max: usize) -> Result<String, FieldError> {
        match self.text(name, max)? {
            Some(text) if !text.is_empty() => Ok(text),
            _ => Err(FieldError::new(self.path(name), "Is required.")),
        }
    }

    /// A time member: RFC 3339 (`2026-11-27T03:00:00Z`), or UTC as `2026-11-27 03:00:00`.
    pub fn time(&self, name: &str) -> Result<Option<i64>, FieldError> {
        let Some(text) = self.text(name, 64)? else {
            return Ok(None);
        };
        if text.is_empty() {
            return Ok(None);
        }
        parse_rfc3339(&text)
            .or_else(|| (text.len() == 19).then(|| parse_rfc3339(&format!("{text}Z"))).flatten())
            .map(Some)
            .ok_or_else(|| {
                FieldError::new(
                    self.path(name),
                    "Is not a time: use RFC 3339 (2026-11-27T03:00:00Z) or UTC as 2026-11-27 03:00:00.",
                )
            })
    }

    /// A member kept as JSON text (an object or a string), at most [`ADDITIONAL_INFO_MAX`] characters.
    pub fn json_text(&self, name: &str) -> Result<Option<String>, FieldError> {
        let text = match self.get(name) {
            None => return Ok(None),
            Some(Value::String(text)) => text.trim().to_owned(),
            Some(value @ Value::Object(_)) => value.to_string(),
            Some(_) => return Err(FieldError::new(self.path(name), "Must be a JSON object or a string.")),
        };
        if text.chars().count() > ADDITIONAL_INFO_MAX {
            return Err(FieldError::new(
                self.path(name),
                format!("Is longer than {ADDITIONAL_INFO_MAX} characters."),
            ));
        }
        no_nul(&self.path(name), &text)?;
        Ok(Some(text).filter(|t| !t.is_empty()))
    }
}

/// Text may hold any character but NUL (`\u0000`), which PostgreSQL cannot store: refused here, by field, rather
/// than failing the transaction it would be written in.
fn no_nul(path: &str, text: &str) -> Result<(), FieldError> {
    if text.contains('\0') {
        return Err(FieldError::new(
            path,
            "Contains a NUL character (\\u0000), which cannot be stored.",
        ));
    }
    Ok(())
}

/// A severity as the generic API takes it: its number (0-5, as a number or text) or its name.
pub fn parse_severity(value: &Value) -> Option<Severity> {
    match value {
        Value::Number(number) => number.as_i64().and_then(Severity::from_code),
        Value::String(text) => {
            let text = text.trim();
            text.parse::<i64>()
                .ok()
                .and_then(Severity::from_code)
                .or_else(|| Severity::ALL.into_iter().find(|s| s.label().eq_ignore_ascii_case(text)))
        }
        _ => None,
    }
}

/// A severity label as Prometheus and Grafana rules commonly set it.
pub fn severity_label(label: &str) -> Option<Severity> {
    Some(match label.trim().to_ascii_lowercase().as_str() {
        "critical" | "crit" | "page" | "emergency" | "fatal" | "1" => Severity::Critical,
        "major" | "error" | "high" | "2" => Severity::Major,
        "minor" | "medium" | "3" => Severity::Minor,
        "warning" | "warn" | "4" => Severity::Warning,
        "info" | "informational" | "low" | "none" | "5" => Severity::Info,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn severities_are_read_by_number_or_name_and_others_refused() {
        let table = [
            (json!(1), Some(Severity::Critical)),
            (json!("2"), Some(Severity::Major)),
            (json!("minor"), Some(Severity::Minor)),
            (json!("WARNING"), Some(Severity::Warning)),
            (json!(0), Some(Severity::Clear)),
            (json!(6), None),
            (json!("urgent"), None),
            (json!(true), None),
            (json!(2.5), None),
        ];
        for (value, expected) in table {
            assert_eq!(parse_severity(&value), expected, "{value}");
        }
        assert_eq!(severity_label("error"), Some(Severity::Major));
        assert_eq!(severity_label("disaster"), None);
    }

    #[test]
    fn fields_name_their_path_when_wrong() {
        let body = json!({ "source": 7, "node": "x".repeat(101), "labels": { "severity": "warning" }, "at": "soon" });
        let fields = Fields::of(&body, "events[3]").expect("object");
        let error = |r: Result<Option<String>, FieldError>| r.expect_err("refused").field;
        assert_eq!(error(fields.text("source", 100)), "events[3].source");
        assert_eq!(error(fields.text("node", 100)), "events[3].node");
        assert_eq!(
            fields.required("type", 100).expect_err("required").message,
            "Is required."
        );
        assert_eq!(fields.time("at").expect_err("not a time").field, "events[3].at");
        let nul = json!({ "description": "disk\0full", "info": "a\0b" });
        let nul = Fields::of(&nul, "").expect("object");
        assert_eq!(nul.text("description", 100).expect_err("NUL").field, "description");
        assert_eq!(nul.json_text("info").expect_err("NUL").field, "info");
        let labels = fields.object("labels").expect("object").expect("present");
        assert_eq!(labels.path("severity"), "events[3].labels.severity");
        assert_eq!(
            Fields::of(&json!([1]), "").err().map(|e| e.field).as_deref(),
            Some("(body)")
        );
    }
}
