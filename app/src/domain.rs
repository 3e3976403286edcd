//! Domain values parsed once at the edge: record numbers, severities, states and priorities.

use serde::{Deserialize, Serialize};
use std::{fmt, marker::PhantomData, str::FromStr};

/// A stored or sent value that names no variant of its enum (a row the schema should not have allowed, an unknown
/// word in a request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// The enum's name.
    pub what: &'static str,
    pub value: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.what, self.value)
    }
}

impl std::error::Error for UnknownValue {}

/// The one table between a field-less enum and its text, from which everything else is derived: `ALL` (in the
/// table's order), the text, `parse` (trimmed, any case: what forms and the API send) and `TryFrom`, so that a row
/// decodes its column once (`#[sqlx(try_from = "String")]`) and a value the schema does not allow is a decode
/// error rather than a default. A variant missing from the table does not compile.
///
/// `text_enum!(Name { Variant => "text", … })`: stored as the text (`as_str`).
/// `text_enum!(Name as code { Variant => "Label", … })`: stored as the variant's discriminant (`code`, `TryFrom<i64>`),
/// shown as the label (`label`).
macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                let text = text.trim();
                Self::ALL.into_iter().find(|value| value.as_str().eq_ignore_ascii_case(text))
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::domain::UnknownValue;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value).ok_or($crate::domain::UnknownValue { what: stringify!($name), value })
            }
        }
    };
    ($name:ident as code { $($variant:ident => $label:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: [$name; [$($label),+].len()] = [$($name::$variant),+];

            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }

            pub fn code(self) -> u8 {
                self as u8
            }

            pub fn from_code(code: i64) -> Option<Self> {
                Self::ALL.into_iter().find(|value| i64::from(value.code()) == code)
            }
        }

        impl TryFrom<i64> for $name {
            type Error = $crate::domain::UnknownValue;

            fn try_from(code: i64) -> Result<Self, Self::Error> {
                Self::from_code(code).ok_or($crate::domain::UnknownValue { what: stringify!($name), value: code.to_string() })
            }
        }
    };
}
pub(crate) use text_enum;

/// The letters in front of a record number, one per kind of record.
pub trait Prefix {
    const PREFIX: &'static str;
    /// What a user calls such a record ("Alert"), for messages.
    const NOUN: &'static str;
}

macro_rules! prefix {
    ($name:ident, $prefix:literal, $noun:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {}
        impl Prefix for $name {
            const PREFIX: &'static str = $prefix;
            const NOUN: &'static str = $noun;
        }
    };
}
prefix!(AlertPrefix, "Alert", "Alert");
prefix!(CasePrefix, "CS", "Case");
prefix!(ItemPrefix, "IB", "Install base item");
prefix!(IncidentPrefix, "INC", "Incident");

/// A record number such as `Alert0010001`: a prefix and at least seven digits.
pub struct Number<P> {
    seq: u32,
    prefix: PhantomData<P>,
}

pub type AlertNumber = Number<AlertPrefix>;
pub type CaseNumber = Number<CasePrefix>;
pub type ItemNumber = Number<ItemPrefix>;
pub type IncidentNumber = Number<IncidentPrefix>;

impl<P: Prefix> Number<P> {
    pub fn from_seq(seq: u32) -> Self {
        Self {
            seq,
            prefix: PhantomData,
        }
    }

    pub fn seq(&self) -> u32 {
        self.seq
    }
}

// Written out rather than derived: a derive would demand the same of the marker type, which has no values.
impl<P> Clone for Number<P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for Number<P> {}
impl<P> PartialEq for Number<P> {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}
impl<P> Eq for Number<P> {}

impl<P: Prefix> fmt::Display for Number<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:07}", P::PREFIX, self.seq)
    }
}

impl<P: Prefix> fmt::Debug for Number<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a text is not a record number; the message is for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{input}” is not a valid {noun} number: expected {prefix} followed by seven digits, like {prefix}0010001.")]
pub struct NumberError {
    pub input: String,
    pub noun: &'static str,
    pub prefix: &'static str,
}

impl<P: Prefix> FromStr for Number<P> {
    type Err = NumberError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = || NumberError {
            input: input.chars().take(40).collect(),
            noun: P::NOUN,
            prefix: P::PREFIX,
        };
        let digits = input.trim().strip_prefix(P::PREFIX).ok_or_else(error)?;
        if digits.len() < 7 || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error());
        }
        digits.parse().map(Self::from_seq).map_err(|_| error())
    }
}

impl<P: Prefix> Serialize for Number<P> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de, P: Prefix> Deserialize<'de> for Number<P> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses an alert number typed or linked by a user; a malformed one is as unknown as a missing one.
pub fn parse_alert_number(number: &str) -> Result<AlertNumber, crate::AppError> {
    number
        .parse::<AlertNumber>()
        .map_err(|_| crate::AppError::not_found("Alert", number.chars().take(40).collect::<String>()))
}

/// Alert severity, as monitoring tools number it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    Clear = 0,
    Critical = 1,
    Major = 2,
    Minor = 3,
    Warning = 4,
    Info = 5,
}

text_enum!(Severity as code {
    Critical => "Critical",
    Major => "Major",
    Minor => "Minor",
    Warning => "Warning",
    Info => "Info",
    Clear => "Clear",
});

impl Severity {
    /// The case priority DESIGN.md assigns to an alert of this severity.
    pub fn case_priority(self) -> Priority {
        match self {
            Self::Critical => Priority::Critical,
            Self::Major => Priority::High,
            Self::Minor => Priority::Moderate,
            Self::Warning | Self::Info | Self::Clear => Priority::Low,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} - {}", self.code(), self.label())
    }
}

/// Case priority, 1 (Critical) to 4 (Low).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    Critical = 1,
    High = 2,
    Moderate = 3,
    Low = 4,
}

text_enum!(Priority as code {
    Critical => "Critical",
    High => "High",
    Moderate => "Moderate",
    Low => "Low",
});

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} - {}", self.code(), self.label())
    }
}

/// Alert state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlertState {
    Open,
    Reopen,
    Flapping,
    Closed,
}

text_enum!(AlertState {
    Open => "Open",
    Reopen => "Reopen",
    Flapping => "Flapping",
    Closed => "Closed",
});

/// How a customer raised a reactive case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    Phone,
    Email,
    Web,
}

text_enum!(Channel {
    Phone => "phone",
    Email => "email",
    Web => "web",
});

impl Channel {
    /// As a form and a case page name it.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Phone => "Phone",
            Channel::Email => "Email",
            Channel::Web => "Web",
        }
    }
}

/// Case state, along the lifecycle New → Open → Awaiting Info → Resolved → Closed (or Canceled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CaseState {
    New,
    Open,
    AwaitingInfo,
    Resolved,
    Closed,
    Canceled,
}

text_enum!(CaseState {
    New => "New",
    Open => "Open",
    AwaitingInfo => "Awaiting Info",
    Resolved => "Resolved",
    Closed => "Closed",
    Canceled => "Canceled",
});

impl CaseState {
    /// The states a case in this state may move to. Closed and canceled cases are read-only; a resolved case can
    /// be reopened or closed.
    pub fn next_states(self) -> &'static [CaseState] {
        use CaseState::*;
        match self {
            New => &[Open, AwaitingInfo, Resolved, Canceled],
            Open => &[AwaitingInfo, Resolved, Canceled],
            AwaitingInfo => &[Open, Resolved, Canceled],
            Resolved => &[Open, Closed],
            Closed | Canceled => &[],
        }
    }

    pub fn is_read_only(self) -> bool {
        self.next_states().is_empty()
    }

    /// Whether a case in this state must carry resolution notes.
    pub fn needs_resolution_notes(self) -> bool {
        matches!(self, CaseState::Resolved | CaseState::Closed)
    }
}

/// A trimmed text of bounded length, as a form field or an API property takes it.
///
/// `field` names the input for the error message; `min` is 0 for optional texts.
pub fn bounded_text(field: &str, label: &str, text: &str, min: usize, max: usize) -> Result<String, crate::AppError> {
    let trimmed = text.trim();
    let length = trimmed.chars().count();
    if length < min {
        return Err(crate::AppError::invalid(
            field,
            format!("Enter a {}.", label.to_lowercase()),
        ));
    }
    if length > max {
        return Err(crate::AppError::invalid(
            field,
            format!("{label} is {length} characters long; the limit is {max}. Shorten it and submit again."),
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_seven_digits_and_parse_back() {
        let number = CaseNumber::from_seq(10001);
        assert_eq!(number.to_string(), "CS0010001");
        assert_eq!("CS0010001".parse::<CaseNumber>(), Ok(number));
        assert_eq!(AlertNumber::from_seq(10042).to_string(), "Alert0010042");
        assert_eq!(ItemNumber::from_seq(9_999_999).to_string(), "IB9999999");
    }

    #[test]
    fn malformed_numbers_are_refused_with_a_message() {
        for input in [
            "",
            "CS",
            "CS001",
            "CS00100O1",
            "Alert0010001",
            "cs0010001",
            "CS-0010001",
            "CS0010001000",
        ] {
            let error = input.parse::<CaseNumber>().expect_err(input);
            assert!(error.to_string().contains("CS0010001"), "{input}: {error}");
        }
    }

    #[test]
    fn severity_maps_to_case_priority_as_designed() {
        let table = [
            (Severity::Critical, Priority::Critical),
            (Severity::Major, Priority::High),
            (Severity::Minor, Priority::Moderate),
            (Severity::Warning, Priority::Low),
            (Severity::Info, Priority::Low),
            (Severity::Clear, Priority::Low),
        ];
        for (severity, priority) in table {
            assert_eq!(severity.case_priority(), priority, "{severity}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for severity in Severity::ALL {
            assert_eq!(Severity::from_code(i64::from(severity.code())), Some(severity));
        }
        assert_eq!(Severity::from_code(6), None);
        assert_eq!(Priority::from_code(0), None);
        assert_eq!(AlertState::parse("closed"), Some(AlertState::Closed));
        assert_eq!(CaseState::parse("Awaiting Info"), Some(CaseState::AwaitingInfo));
    }

    #[test]
    fn the_case_lifecycle_ends_in_closed_or_canceled() {
        use CaseState::*;
        assert!(New.next_states().contains(&Resolved));
        assert!(
            !New.next_states().contains(&Closed),
            "a case is resolved before it is closed"
        );
        assert_eq!(Resolved.next_states(), &[Open, Closed]);
        assert!(Closed.is_read_only() && Canceled.is_read_only() && !Resolved.is_read_only());
        for state in CaseState::ALL {
            assert!(!state.next_states().contains(&state), "{state:?} to itself");
        }
    }

    #[test]
    fn bounded_text_trims_and_limits() {
        assert_eq!(
            bounded_text("f", "Short description", "  db down ", 1, 160),
            Ok("db down".to_owned())
        );
        let empty = bounded_text("f", "Short description", "   ", 1, 160).expect_err("empty");
        assert_eq!(empty.message_for("f").as_deref(), Some("Enter a short description."));
        let long = bounded_text("f", "Short description", &"é".repeat(161), 1, 160).expect_err("long");
        assert!(long.message_for("f").expect("message").contains("161 characters"));
        assert_eq!(bounded_text("f", "Work notes", "", 0, 10), Ok(String::new()));
    }

    #[test]
    fn malformed_alert_numbers_are_not_found() {
        let error = parse_alert_number("Alert12").expect_err("malformed");
        assert_eq!(error, crate::AppError::not_found("Alert", "Alert12"));
        assert_eq!(error.status_code(), 404);
    }
}
