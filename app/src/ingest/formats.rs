//! The payloads monitoring sends, read into [`Event`]s: the generic event API, Prometheus Alertmanager's webhook
//! (version 4) and Grafana's alerting webhook. Each event of a batch is read on its own, so one bad event is reported
//! by its index and the others are kept.

use super::event::{
    parse_severity, severity_label, Event, FieldError, Fields, DESCRIPTION_MAX, MESSAGE_KEY_MAX, SHORT_FIELD_MAX,
};
use crate::domain::Severity;
use serde_json::{Map, Value};

/// Most events one request may carry.
pub const BATCH_MAX: usize = 1000;

/// What a payload was read into: one entry per event, in order, each an event or what is wrong with it.
#[derive(Debug)]
pub struct Payload {
    /// A single generic event (not a batch): its error, if any, is the whole answer.
    pub single: bool,
    pub events: Vec<Result<Event, FieldError>>,
}

/// The generic event API: one event object, `{"events": [...]}` (or `"records"`), or an array of events.
pub fn generic(body: &Value) -> Result<Payload, FieldError> {
    let (list, path) = match body {
        Value::Array(list) => (list, ""),
        Value::Object(object) => match (object.get("events"), object.get("records")) {
            (Some(Value::Array(list)), _) => (list, "events"),
            (None, Some(Value::Array(list))) => (list, "records"),
            (Some(_), _) => return Err(FieldError::new("events", "Must be an array of events.")),
            (None, Some(_)) => return Err(FieldError::new("records", "Must be an array of events.")),
            (None, None) => {
                return Ok(Payload {
                    single: true,
                    events: vec![generic_event(body, "")],
                })
            }
        },
        _ => {
            return Err(FieldError::new(
                "(body)",
                "Must be an event object or an array of events.",
            ))
        }
    };
    check_batch_size(list, if path.is_empty() { "(body)" } else { path })?;
    Ok(Payload {
        single: false,
        events: list
            .iter()
            .enumerate()
            .map(|(i, event)| generic_event(event, &format!("{path}[{i}]")))
            .collect(),
    })
}

fn check_batch_size(list: &[Value], path: &str) -> Result<(), FieldError> {
    match list.len() {
        0 => Err(FieldError::new(path, "Holds no events.")),
        n if n > BATCH_MAX => Err(FieldError::new(
            path,
            format!("Holds {n} events; send at most {BATCH_MAX} in one request."),
        )),
        _ => Ok(()),
    }
}

fn generic_event(value: &Value, path: &str) -> Result<Event, FieldError> {
    let fields = Fields::of(value, path)?;
    let source = fields.required("source", SHORT_FIELD_MAX)?;
    let node = fields.required("node", SHORT_FIELD_MAX)?;
    let kind = fields.text("type", SHORT_FIELD_MAX)?.unwrap_or_default();
    let resource = fields.text("resource", SHORT_FIELD_MAX)?.unwrap_or_default();
    let metric_name = fields.text("metric_name", SHORT_FIELD_MAX)?.unwrap_or_default();
    let message_key = fields
        .text("message_key", MESSAGE_KEY_MAX)?
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| Event::derived_key(&source, &node, &kind, &resource, &metric_name));
    let severity = match fields.get("severity") {
        None => return Err(FieldError::new(fields.path("severity"), "Is required.")),
        Some(value) => parse_severity(value).ok_or_else(|| {
            FieldError::new(
                fields.path("severity"),
                "Is not a severity: use 0 to 5 or Critical, Major, Minor, Warning, Info, Clear.",
            )
        })?,
    };
    let resolved = match fields.text("resolution_state", 20)?.as_deref() {
        None | Some("") => false,
        Some(state) if state.eq_ignore_ascii_case("new") => false,
        Some(state) if state.eq_ignore_ascii_case("closing") => true,
        Some(_) => {
            return Err(FieldError::new(
                fields.path("resolution_state"),
                "Is not a resolution state: use New or Closing.",
            ))
        }
    };
    Ok(Event {
        description: fields.text("description", DESCRIPTION_MAX)?.unwrap_or_default(),
        additional_info: fields.json_text("additional_info")?,
        time: fields.time("time_of_event")?,
        resolved: resolved || severity == Severity::Clear,
        source,
        node,
        kind,
        resource,
        metric_name,
        message_key,
        severity,
    })
}

/// The two webhooks share Alertmanager's shape; they differ in name, version and key prefix.
#[derive(Clone, Copy, Debug)]
pub struct Webhook {
    /// The alert's Source.
    pub source: &'static str,
    /// The payload `version` this reader understands, when the payload says one.
    pub version: &'static str,
    /// In front of the fingerprint, so the two tools' keys never meet.
    pub key_prefix: &'static str,
}

pub const ALERTMANAGER: Webhook = Webhook {
    source: "Alertmanager",
    version: "4",
    key_prefix: "alertmanager:",
};

pub const GRAFANA: Webhook = Webhook {
    source: "Grafana",
    version: "1",
    key_prefix: "grafana:",
};

/// A webhook payload: `{"version": "4", "status": ..., "alerts": [...], ...}`, one event per alert.
pub fn webhook(hook: Webhook, body: &Value) -> Result<Payload, FieldError> {
    let fields = Fields::of(body, "")?;
    if let Some(version) = fields.get("version") {
        if version.as_str() != Some(hook.version) {
            return Err(FieldError::new(
                "version",
                format!(
                    "{} webhook version {} is what this endpoint reads.",
                    hook.source, hook.version
                ),
            ));
        }
    }
    let Some(Value::Array(alerts)) = fields.get("alerts") else {
        return Err(FieldError::new("alerts", "Is required: an array of alerts."));
    };
    check_batch_size(alerts, "alerts")?;
    Ok(Payload {
        single: false,
        events: alerts
            .iter()
            .enumerate()
            .map(|(i, alert)| webhook_event(hook, alert, &format!("alerts[{i}]")))
            .collect(),
    })
}

/// Label names that say which host an alert is about, most specific first.
const NODE_LABELS: [&str; 5] = ["node", "nodename", "hostname", "host", "instance"];

fn webhook_event(hook: Webhook, value: &Value, path: &str) -> Result<Event, FieldError> {
    let fields = Fields::of(value, path)?;
    let resolved = match fields.required("status", 20)?.as_str() {
        "firing" => false,
        "resolved" => true,
        _ => return Err(FieldError::new(fields.path("status"), "Is not firing or resolved.")),
    };
    let labels = fields
        .object("labels")?
        .ok_or_else(|| FieldError::new(fields.path("labels"), "Is required."))?;
    let annotations = fields.object("annotations")?;
    let alertname = labels.required("alertname", SHORT_FIELD_MAX)?;
    let node = match NODE_LABELS.into_iter().find(|name| labels.get(name).is_some()) {
        // `instance` is host:port in Prometheus; the host is what names a CI.
        Some("instance") => strip_port(&labels.required("instance", SHORT_FIELD_MAX + 6)?).to_owned(),
        Some(name) => labels.required(name, SHORT_FIELD_MAX)?,
        None => String::new(),
    };
    if node.chars().count() > SHORT_FIELD_MAX {
        return Err(FieldError::new(
            labels.path("instance"),
            format!("Is longer than {SHORT_FIELD_MAX} characters."),
        ));
    }
    let severity = match labels.text("severity", SHORT_FIELD_MAX)? {
        None => Severity::Warning,
        Some(label) => severity_label(&label).ok_or_else(|| {
            FieldError::new(
                labels.path("severity"),
                "Is not a severity: use critical, major (or error), minor, warning or info.",
            )
        })?,
    };
    let summary = match &annotations {
        Some(annotations) => (
            annotations.text("summary", DESCRIPTION_MAX)?,
            annotations.text("description", DESCRIPTION_MAX)?,
        ),
        None => (None, None),
    };
    let description = match summary {
        (Some(summary), Some(detail)) if !detail.is_empty() && detail != summary => format!("{summary}\n{detail}"),
        (Some(summary), _) => summary,
        (None, detail) => detail.unwrap_or_default(),
    };
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(FieldError::new(
            format!("{path}.annotations"),
            format!("Summary and description together are longer than {DESCRIPTION_MAX} characters."),
        ));
    }
    let fingerprint = match fields.text("fingerprint", MESSAGE_KEY_MAX - hook.key_prefix.len())? {
        Some(fingerprint) if !fingerprint.is_empty() => fingerprint,
        // Older senders leave it out: the labels identify the alert as the fingerprint would.
        _ => sorted_labels(value.get("labels")),
    };
    let time = if resolved {
        fields.time("endsAt")?.or(fields.time("startsAt")?)
    } else {
        fields.time("startsAt")?
    };
    let mut info = Map::new();
    for name in ["labels", "generatorURL", "dashboardURL", "panelURL", "silenceURL"] {
        if let Some(member) = fields.get(name) {
            info.insert(name.to_owned(), member.clone());
        }
    }
    // Extra context only: left out rather than refusing an alert whose labels are many.
    let additional_info = Some(Value::Object(info).to_string()).filter(|t| t.chars().count() <= DESCRIPTION_MAX);
    let message_key = format!("{}{}", hook.key_prefix, fingerprint);
    if message_key.chars().count() > MESSAGE_KEY_MAX {
        return Err(FieldError::new(
            fields.path("labels"),
            format!("Without a fingerprint, the labels make a key longer than {MESSAGE_KEY_MAX} characters."),
        ));
    }
    Ok(Event {
        source: hook.source.to_owned(),
        node,
        kind: alertname,
        resource: labels.text("job", SHORT_FIELD_MAX)?.unwrap_or_default(),
        metric_name: String::new(),
        message_key,
        severity,
        description,
        additional_info,
        time,
        resolved,
    })
}

fn strip_port(instance: &str) -> &str {
    match instance.rsplit_once(':') {
        // An IPv6 address without brackets has colons of its own and no port.
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.contains(':') => host,
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && host.ends_with(']') => {
            host.trim_start_matches('[').trim_end_matches(']')
        }
        _ => instance,
    }
}

fn sorted_labels(labels: Option<&Value>) -> String {
    let mut pairs: Vec<(String, String)> = labels
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn only(payload: Payload) -> Result<Event, FieldError> {
        let mut events = payload.events;
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    #[test]
    fn a_generic_event_without_a_key_gets_one_from_what_and_where() {
        let event = only(
            generic(&json!({
                "source": "Nagios", "node": "mail01", "type": "Disk", "resource": "/var", "metric_name": "used",
                "severity": "2", "description": " Disk 95% full ", "time_of_event": "2026-11-27 03:00:00"
            }))
            .expect("payload"),
        )
        .expect("event");
        assert_eq!(event.message_key, "Nagios|mail01|Disk|/var|used");
        assert_eq!((event.severity, event.resolved), (Severity::Major, false));
        assert_eq!(event.description, "Disk 95% full");
        assert_eq!(event.time, crate::store::clock::parse_rfc3339("2026-11-27T03:00:00Z"));
    }

    #[test]
    fn closing_and_clear_events_resolve() {
        for event in [
            json!({"source": "s", "node": "n", "severity": 3, "resolution_state": "Closing"}),
            json!({"source": "s", "node": "n", "severity": "Clear"}),
        ] {
            assert!(
                only(generic(&event).expect("payload")).expect("event").resolved,
                "{event}"
            );
        }
    }

    #[test]
    fn each_bad_generic_field_is_named() {
        let good = json!({"source": "s", "node": "n", "severity": 1});
        let with = |name: &str, value: Value| {
            let mut event = good.clone();
            event[name] = value;
            event
        };
        let table = [
            (with("source", json!("")), "source"),
            (with("node", json!(["n"])), "node"),
            (with("type", json!("t".repeat(101))), "type"),
            (with("resource", json!("r".repeat(101))), "resource"),
            (with("metric_name", json!(5)), "metric_name"),
            (with("message_key", json!("k".repeat(1025))), "message_key"),
            (with("description", json!("d".repeat(4001))), "description"),
            (with("severity", json!("severe")), "severity"),
            (with("time_of_event", json!("yesterday")), "time_of_event"),
            (with("resolution_state", json!("Done")), "resolution_state"),
            (with("additional_info", json!(12)), "additional_info"),
        ];
        for (event, field) in table {
            let error = only(generic(&event).expect("payload")).expect_err(field);
            assert_eq!(error.field, field);
        }
        let batch = generic(&json!({"events": [good, with("severity", json!(9))]})).expect("payload");
        assert!(batch.events[0].is_ok());
        assert_eq!(batch.events[1].as_ref().expect_err("bad").field, "events[1].severity");
        assert_eq!(generic(&json!({"events": []})).expect_err("empty").field, "events");
        assert_eq!(generic(&json!("text")).expect_err("not an event").field, "(body)");
    }

    #[test]
    fn alertmanager_alerts_become_events_keyed_by_fingerprint() {
        let body = json!({
            "version": "4", "status": "firing", "receiver": "forestall", "groupKey": "{}:{}",
            "alerts": [
                {"status": "firing", "fingerprint": "a1b2",
                 "labels": {"alertname": "HighLoad", "instance": "mail01.example.com:9100", "severity": "critical", "job": "node"},
                 "annotations": {"summary": "Load high", "description": "Load 12 for 5m"},
                 "startsAt": "2026-11-27T03:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/x"},
                {"status": "resolved", "fingerprint": "c3d4",
                 "labels": {"alertname": "DiskFull", "node": "db01"},
                 "startsAt": "2026-11-27T02:00:00Z", "endsAt": "2026-11-27T03:10:00+00:00"}
            ]
        });
        let payload = webhook(ALERTMANAGER, &body).expect("payload");
        let firing = payload.events[0].clone().expect("firing");
        assert_eq!(firing.node, "mail01.example.com");
        assert_eq!(firing.message_key, "alertmanager:a1b2");
        assert_eq!((firing.severity, firing.resolved), (Severity::Critical, false));
        assert_eq!(firing.description, "Load high\nLoad 12 for 5m");
        assert_eq!((firing.kind.as_str(), firing.resource.as_str()), ("HighLoad", "node"));
        let resolved = payload.events[1].clone().expect("resolved");
        assert!(resolved.resolved);
        assert_eq!(resolved.severity, Severity::Warning);
        assert_eq!(
            resolved.time,
            crate::store::clock::parse_rfc3339("2026-11-27T03:10:00Z")
        );
    }

    #[test]
    fn bad_webhook_alerts_are_named_by_index() {
        let body = json!({"version": "4", "alerts": [
            {"status": "firing", "labels": {"alertname": "A", "severity": "apocalyptic"}},
            {"status": "pending", "labels": {"alertname": "B"}},
            {"status": "firing", "labels": {}},
            {"status": "firing", "labels": {"alertname": "C"}, "startsAt": "now"}
        ]});
        let fields: Vec<String> = webhook(ALERTMANAGER, &body)
            .expect("payload")
            .events
            .into_iter()
            .map(|e| e.expect_err("bad").field)
            .collect();
        assert_eq!(
            fields,
            [
                "alerts[0].labels.severity",
                "alerts[1].status",
                "alerts[2].labels.alertname",
                "alerts[3].startsAt"
            ]
        );
        assert_eq!(
            webhook(ALERTMANAGER, &json!({"version": "3", "alerts": []}))
                .expect_err("v3")
                .field,
            "version"
        );
        assert_eq!(
            webhook(GRAFANA, &json!({"status": "firing"}))
                .expect_err("no alerts")
                .field,
            "alerts"
        );
    }

    #[test]
    fn ports_are_stripped_from_instances_but_not_from_ipv6_addresses() {
        assert_eq!(strip_port("10.0.0.5:9100"), "10.0.0.5");
        assert_eq!(strip_port("[fe80::1]:9100"), "fe80::1");
        assert_eq!(strip_port("fe80::1"), "fe80::1");
        assert_eq!(strip_port("mail01"), "mail01");
    }
}
