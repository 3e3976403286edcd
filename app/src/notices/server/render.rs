//! Notice templates, rendered with MiniJinja into plain text: strict about placeholders, so a template that names
//! something the notice does not have is refused when it is saved, never sent with a hole in it.

use crate::AppError;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

/// What a template may use, with what each holds: the Notice templates page lists them.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    (
        "case.number",
        "the case the notice is written to (the account's child case)",
    ),
    ("case.short_description", "the case's short description"),
    ("case.priority", "the case's priority, as 1 - Critical"),
    ("case.state", "the case's state"),
    ("alert.number", "the alert's number"),
    ("alert.description", "the alert's description"),
    ("alert.severity", "the alert's severity, as 1 - Critical"),
    ("alert.state", "the alert's state"),
    ("alert.node", "the node the alert is about"),
    ("account.name", "the account's name"),
    ("contact.name", "the account's primary contact (or first recipient)"),
    (
        "items",
        "the account's affected items (at most 50), each with number, name and product",
    ),
    ("item_count", "how many of the account's items are affected"),
    (
        "update_number",
        "the update's number (1 for the initial and resolution notices)",
    ),
    ("next_update_due", "when the next update is due (UTC), or \"soon\""),
];

/// Items listed in a notice at most; `item_count` says how many there are.
pub const ITEMS_LISTED: usize = 50;

#[derive(Clone, Debug, Serialize)]
pub struct CaseFacts {
    pub number: String,
    pub short_description: String,
    pub priority: String,
    pub state: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AlertFacts {
    pub number: String,
    pub description: String,
    pub severity: String,
    pub state: String,
    pub node: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Named {
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ItemFacts {
    pub number: String,
    pub name: String,
    pub product: String,
}

/// Everything a notice is rendered from.
#[derive(Clone, Debug, Serialize)]
pub struct NoticeContext {
    pub case: CaseFacts,
    pub alert: AlertFacts,
    pub account: Named,
    pub contact: Named,
    pub items: Vec<ItemFacts>,
    pub item_count: i64,
    pub update_number: i64,
    pub next_update_due: String,
}

impl NoticeContext {
    /// A notice about made-up records, which every saved template must render.
    pub fn sample() -> Self {
        Self {
            case: CaseFacts {
                number: "CS0000001".into(),
                short_description: "Disk full on db-host-01".into(),
                priority: "1 - Critical".into(),
                state: "New".into(),
            },
            alert: AlertFacts {
                number: "Alert0000001".into(),
                description: "Disk 97% full".into(),
                severity: "1 - Critical".into(),
                state: "Open".into(),
                node: "db-host-01".into(),
            },
            account: Named {
                name: "Example Corp".into(),
            },
            contact: Named {
                name: "Sam Example".into(),
            },
            items: vec![ItemFacts {
                number: "IB0000001".into(),
                name: "Example ledger".into(),
                product: "LedgerDB".into(),
            }],
            item_count: 1,
            update_number: 1,
            next_update_due: "2026-12-01 12:00:00".into(),
        }
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Plain text: nothing is HTML-escaped, because nothing is HTML (pages escape it when they show it).
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_keep_trailing_newline(false);
    env
}

/// Renders one template text; `part` names it in the error.
fn render_part(part: &str, source: &str, context: &NoticeContext) -> Result<String, AppError> {
    let env = environment();
    let label = if part == "subject" { "The subject" } else { "The body" };
    let template = env.template_from_str(source).map_err(|error| {
        AppError::invalid(
            part,
            format!(
                "{label} is not a valid template{}: {}.",
                error.line().map(|l| format!(" (line {l})")).unwrap_or_default(),
                error.detail().unwrap_or("syntax error")
            ),
        )
    })?;
    let known = |name: &str| {
        PLACEHOLDERS
            .iter()
            .any(|(placeholder, _)| *placeholder == name || placeholder.split('.').next() == Some(name))
    };
    let mut unknown: Vec<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter(|name| !known(name))
        .collect();
    unknown.sort();
    if let Some(first) = unknown.first() {
        return Err(AppError::invalid(
            part,
            format!(
                "{label} uses the unknown placeholder “{first}”. Use one of: {}.",
                PLACEHOLDERS.iter().map(|(p, _)| *p).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    template.render(context).map_err(|error| {
        AppError::invalid(
            part,
            format!(
                "{label} cannot be rendered{}: {}.",
                error.line().map(|l| format!(" (line {l})")).unwrap_or_default(),
                error.detail().unwrap_or("an unknown value")
            ),
        )
    })
}

/// The notice's subject (one line) and body.
pub fn render(subject: &str, body: &str, context: &NoticeContext) -> Result<(String, String), AppError> {
    let subject = render_part("subject", subject, context)?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let body = render_part("body", body, context)?;
    if subject.is_empty() {
        return Err(AppError::invalid("subject", "The subject renders to nothing."));
    }
    if body.trim().is_empty() {
        return Err(AppError::invalid("body", "The body renders to nothing."));
    }
    Ok((subject, body))
}

/// Checks a template before it is saved: it must parse, name only known placeholders, and render a sample notice
/// within the limits.
pub fn check(subject: &str, body: &str) -> Result<(), AppError> {
    use crate::notices::{BODY_MAX, SUBJECT_MAX};
    if subject.trim().is_empty() {
        return Err(AppError::invalid("subject", "Enter a subject."));
    }
    if body.trim().is_empty() {
        return Err(AppError::invalid("body", "Enter a body."));
    }
    if subject.chars().count() > SUBJECT_MAX {
        return Err(AppError::invalid(
            "subject",
            format!("The subject is longer than {SUBJECT_MAX} characters."),
        ));
    }
    if body.chars().count() > BODY_MAX {
        return Err(AppError::invalid(
            "body",
            format!("The body is longer than {BODY_MAX} characters."),
        ));
    }
    render(subject, body, &NoticeContext::sample()).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<(), AppError>) -> (String, String) {
        match result {
            Err(AppError::Invalid { field, message }) => (field, message),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_template_renders_plain_text_from_the_notice() {
        let mut context = NoticeContext::sample();
        context.account.name = "Acme <b>&</b>".into();
        let (subject, body) = render(
            "[{{ case.number }}]\n {{ account.name }}",
            "{% for item in items %}{{ item.name }};{% endfor %} {{ item_count }}",
            &context,
        )
        .expect("renders");
        assert_eq!(subject, "[CS0000001] Acme <b>&</b>");
        assert_eq!(body, "Example ledger; 1");
    }

    #[test]
    fn unknown_placeholders_and_broken_templates_are_named() {
        let (field, text) = message(check("Hi {{ customer.name }}", "ok"));
        assert_eq!(field, "subject");
        assert!(text.contains("“customer.name”"), "{text}");
        let (field, text) = message(check("ok", "Line\n{% for x in items %}"));
        assert_eq!(field, "body");
        assert!(text.contains("line"), "{text}");
        let (field, text) = message(check("ok", "{% for item in items %}{{ item.colour }}{% endfor %}"));
        assert_eq!(field, "body");
        assert!(text.contains("cannot be rendered"), "{text}");
        let (_, text) = message(check("ok", "{{ account.nmae }}"));
        assert!(text.contains("account.nmae"), "{text}");
        assert!(check("{{ case.number }}", "{{ alert.description }}").is_ok());
    }
}
