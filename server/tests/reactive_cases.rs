//! Reactive cases: an agent records a case a customer raised, for the account, by a channel, related to the alert's
//! proactive case; the proactive case's Customer impact shows it on the account's row. Bad input is refused with a
//! message, the form shows what was typed again, and nothing is written; the schema refuses what the form would.

use crate::{
    notices::{get_as, major_case, post_as},
    support,
};

use app::access::Role;
use support::*;

/// The demo's accounts of the major case on db-host-01, by name: (id, name, a contact's id).
async fn account(app: &TestApp, name: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT a.id, c.id FROM accounts a JOIN contacts c ON c.account_id = a.id WHERE a.name = $1 ORDER BY c.id LIMIT 1",
    )
    .bind(name)
    .fetch_one(&app.db)
    .await
    .expect("a demo account with a contact")
}

async fn affected_account_names(app: &TestApp, case: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT a.name FROM case_accounts ca JOIN accounts a ON a.id = ca.account_id
         JOIN cases c ON c.id = ca.case_id WHERE c.number = $1 ORDER BY a.name",
    )
    .bind(case)
    .fetch_all(&app.db)
    .await
    .expect("accounts")
}

#[tokio::test]
async fn an_agent_records_a_reactive_case_that_shows_on_the_major_cases_customer_impact_row() {
    let app = TestApp::new().await;
    let major = major_case(&app).await;
    let accounts = affected_account_names(&app, &major.number).await;
    let caller = accounts.first().expect("an affected account").clone();
    let (account_id, contact_id) = account(&app, &caller).await;
    let agent = app.sign_in_as(Role::SnCustomerserviceAgent).await;

    // The Customer impact row links to the form for its account, which offers the major case's accounts first.
    let case_page = get_as(&app, &agent, &format!("/cases/{}", major.number)).await;
    assert_eq!(case_page.status, 200);
    let link = format!("/cases/new?related={}&amp;account={account_id}", major.number);
    assert!(case_page.body.contains(&link), "{}", case_page.body);
    assert!(case_page
        .body
        .contains(&format!("aria-label=\"Record a reactive case for {caller}\"")));
    let form = get_as(
        &app,
        &agent,
        &format!("/cases/new?related={}&account={account_id}", major.number),
    )
    .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body
            .contains(&format!("<option value=\"{account_id}\" selected>{caller} (affected)")),
        "{}",
        form.body
    );
    assert!(
        form.body
            .contains(&format!("<option value=\"{}\" selected>", major.number)),
        "{}",
        form.body
    );

    let cases_before = app.count("SELECT COUNT(*) FROM cases").await;
    let posted = post_as(
        &app,
        &agent,
        "/reactive-cases",
        &[
            ("account", &account_id.to_string()),
            ("contact", &contact_id.to_string()),
            ("channel", "phone"),
            ("short_description", " Ledger reports fail "),
            ("priority", "2"),
            ("related", &major.number),
        ],
    )
    .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    let location = posted.location.expect("to the new case");
    let number = location.strip_prefix("/cases/").expect("a case page").to_owned();
    assert_eq!(app.count("SELECT COUNT(*) FROM cases").await, cases_before + 1);
    let (proactive, channel, related, account, contact, description, priority, opened_by): (
        i64,
        String,
        String,
        i64,
        i64,
        String,
        i64,
        String,
    ) = sqlx::query_as(
        "SELECT c.proactive, c.channel, r.number, c.account_id, c.contact_id, c.short_description, c.priority,
                c.opened_by
         FROM cases c JOIN cases r ON r.id = c.related_case_id WHERE c.number = $1",
    )
    .bind(&number)
    .fetch_one(&app.db)
    .await
    .expect("the reactive case");
    assert_eq!(
        (proactive, channel.as_str(), related.as_str(), account, contact),
        (0, "phone", major.number.as_str(), account_id, contact_id)
    );
    assert_eq!(
        (description.as_str(), priority, opened_by.as_str()),
        ("Ledger reports fail", 2, "agent")
    );

    // Its page says what it is; the major case's activity and Customer impact name it.
    let page = get_as(&app, &agent, &location).await;
    assert!(page.body.contains("Reactive case"), "{}", page.body);
    assert!(page.body.contains("<dt>Channel</dt><dd>Phone</dd>"), "{}", page.body);
    assert!(page
        .body
        .contains(&format!("<a href=\"/cases/{0}\">{0}</a>", major.number)));
    let line = format!("Reactive case {number} raised by {caller} by phone.");
    let activity: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM journal_entries j JOIN cases c ON c.id = j.case_id WHERE c.number = $1 AND j.body = $2",
    )
    .bind(&major.number)
    .bind(&line)
    .fetch_one(&app.db)
    .await
    .expect("activity");
    assert_eq!(activity, 1, "{line}");
    let mut request = server_fn_request("customer_impact", &[("number", &major.number)]);
    request.headers_mut().insert("cookie", agent.parse().expect("cookie"));
    let impact: app::notices::CustomerImpact = send(app.router.clone(), request).await.parse();
    for row in &impact.rows {
        let expected: Vec<String> = if row.account == caller {
            vec![number.clone()]
        } else {
            Vec::new()
        };
        assert_eq!(row.reactive_cases, expected, "{}", row.account);
    }
    let major_page = get_as(&app, &agent, &format!("/cases/{}", major.number)).await;
    assert!(major_page
        .body
        .contains(&format!("<a href=\"/cases/{number}\">{number}</a>")));
}

#[tokio::test]
async fn bad_reactive_cases_are_refused_with_a_message_kept_as_typed_and_write_nothing() {
    let app = TestApp::new().await;
    let major = major_case(&app).await;
    let (account_id, _) = account(&app, &affected_account_names(&app, &major.number).await[0]).await;
    let other_contact: i64 = sqlx::query_scalar("SELECT id FROM contacts WHERE account_id <> $1 ORDER BY id LIMIT 1")
        .bind(account_id)
        .fetch_one(&app.db)
        .await
        .expect("another account's contact");
    let child = major.children[0].clone();
    let agent = app.sign_in_as(Role::SnCustomerserviceAgent).await;
    let account = account_id.to_string();
    let other_contact = other_contact.to_string();
    let good = [
        ("account", account.as_str()),
        ("contact", ""),
        ("channel", "email"),
        ("short_description", "Cannot post invoices"),
        ("priority", "3"),
        ("related", major.number.as_str()),
    ];
    let with = |field: &str, value: &'static str| -> Vec<(String, String)> {
        good.iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    if *k == field { value.to_owned() } else { v.to_string() },
                )
            })
            .collect()
    };
    // The form's fields, the field at fault, what it says (empty: checked by its start below).
    type Refused = (Vec<(String, String)>, &'static str, String);
    let mut cases: Vec<Refused> = vec![
        (with("account", ""), "account", "Choose the customer's account.".into()),
        (
            with("account", "999999"),
            "account",
            "Choose the customer's account from the list.".into(),
        ),
        (
            with("channel", "fax"),
            "channel",
            "Choose how the customer raised it: Phone, Email or Web.".into(),
        ),
        (
            with("channel", ""),
            "channel",
            "Choose how the customer raised it: Phone, Email or Web.".into(),
        ),
        (
            with("short_description", "   "),
            "short_description",
            "Enter a short description.".into(),
        ),
        (
            with("priority", "9"),
            "priority",
            "Choose a priority from 1 - Critical to 4 - Low.".into(),
        ),
        (
            with("related", "nonsense"),
            "related",
            "Choose the related proactive case from the list, or None.".into(),
        ),
        (
            with("related", "CS9999999"),
            "related",
            "There is no case CS9999999: choose one from the list, or None.".into(),
        ),
    ];
    let mut child_case = with("related", "");
    child_case.retain(|(k, _)| k != "related");
    child_case.push(("related".into(), child.clone()));
    cases.push((
        child_case,
        "related",
        format!("{child} is not an alert's proactive case: choose one from the list, or None."),
    ));
    let mut foreign_contact = with("contact", "");
    foreign_contact.retain(|(k, _)| k != "contact");
    foreign_contact.push(("contact".into(), other_contact.clone()));
    cases.push((foreign_contact, "contact", String::new()));

    let before = (
        app.count("SELECT COUNT(*) FROM cases").await,
        app.count("SELECT COUNT(*) FROM journal_entries").await,
        app.count("SELECT COUNT(*) FROM audit_log").await,
    );
    for (form, field, message) in cases {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let reply = post_as(&app, &agent, "/reactive-cases", &pairs).await;
        assert_eq!(reply.status, 303, "{field}: {}", reply.body);
        assert_eq!(reply.location.as_deref(), Some("/cases/new"), "{field}");
        // Without the markers Leptos leaves around reactive text.
        let body = get_as(&app, &agent, "/cases/new").await.body.replace("<!>", "");
        let error = format!("<p id=\"{field}-error\" role=\"alert\" class=\"field-error\">");
        let at = body
            .find(&error)
            .unwrap_or_else(|| panic!("{field}: no error shown: {body}"));
        let shown = &body[at + error.len()..];
        let shown = &shown[..shown.find("</p>").expect("end")];
        if message.is_empty() {
            assert!(shown.starts_with("Choose a contact of "), "{field}: {shown}");
        } else {
            assert_eq!(shown, message, "{field}");
        }
        let typed = pairs
            .iter()
            .find(|(k, _)| *k == "short_description")
            .map(|(_, v)| *v)
            .unwrap_or("");
        if !typed.trim().is_empty() {
            assert!(body.contains(&format!("value=\"{typed}\"")), "{field}: typed text kept");
        }
        // Shown once: the next visit is a fresh form.
        let again = get_as(&app, &agent, "/cases/new").await.body.replace("<!>", "");
        assert!(
            again.contains(&format!("{error}</p>")),
            "{field}: the next visit is a fresh form"
        );
    }
    let after = (
        app.count("SELECT COUNT(*) FROM cases").await,
        app.count("SELECT COUNT(*) FROM journal_entries").await,
        app.count("SELECT COUNT(*) FROM audit_log").await,
    );
    assert_eq!(before, after, "nothing written");

    // An operator may not record one, nor open the form.
    let operator = app.sign_in_as(Role::EvtMgmtOperator).await;
    let refused = post_as(&app, &operator, "/reactive-cases", &good).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM cases").await, before.0);
}

#[tokio::test]
async fn the_schema_refuses_a_reactive_case_related_to_anything_but_a_top_level_proactive_case() {
    let app = TestApp::new().await;
    let major = major_case(&app).await;
    let child = &major.children[0];
    let insert = |related: &str| {
        let related = related.to_owned();
        let db = app.db.clone();
        async move {
            sqlx::query(
                "INSERT INTO cases (number, proactive, account_id, short_description, priority, state, opened_by,
                                    opened_at, channel, related_case_id)
                 SELECT 'CS9000001', 0, (SELECT MIN(id) FROM accounts), 'x', 3, 'New', 'sql', '2026-12-02 00:00:00',
                        'web', id FROM cases WHERE number = $1",
            )
            .bind(related)
            .execute(&db)
            .await
        }
    };
    assert!(
        insert(child).await.is_err(),
        "a child case is not a proactive case to relate to"
    );
    let channel_on_proactive = sqlx::query("UPDATE cases SET channel = 'phone' WHERE number = $1")
        .bind(&major.number)
        .execute(&app.db)
        .await;
    assert!(channel_on_proactive.is_err(), "a proactive case has no channel");
    let done = insert(&major.number).await.expect("related to the major case");
    assert_eq!(done.rows_affected(), 1);
    let reactive_without_channel = sqlx::query("UPDATE cases SET channel = NULL WHERE number = 'CS9000001'")
        .execute(&app.db)
        .await;
    assert!(reactive_without_channel.is_err(), "a related case needs its channel");
}
