//! Create Case and Submit: one transaction, one proactive case per alert, major cases for several accounts.

use crate::support;

use app::{
    alerts::AlertDetail,
    cases::{CaseCreated, CaseDetail, CaseDraft, CaseListPage},
    domain::Priority,
    journal::{JournalKind, JournalPage},
    AppError,
};
use support::*;

async fn get_case(app: &TestApp, number: &str) -> CaseDetail {
    app.call("get_case", &[("number", number)]).await.parse()
}

#[tokio::test]
async fn prefill_takes_the_alert_description_severity_and_single_account() {
    let app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    let draft: CaseDraft = app.call("prefill_case", &[("alert", MAIL_ALERT)]).await.parse();
    assert_eq!(draft.short_description, "SMTP queue growing on mail-relay-01");
    assert_eq!(draft.priority, Priority::High, "Major severity gives priority 2 - High");
    let accounts = &draft.affected_accounts;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].name, "Umbrella Health");
    let primary = accounts[0].primary_contact.expect("primary contact");
    assert!(draft
        .contacts
        .iter()
        .any(|c| c.id == primary && c.name == "Uma Lindqvist"));
}

#[tokio::test]
async fn submit_creates_the_case_links_and_notes_in_one_go() {
    let app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    let reply = app
        .create_case(
            MAIL_ALERT,
            "Mail delays expected",
            "Queue draining; customer not yet aware.",
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.parse::<CaseCreated>(),
        CaseCreated {
            number: "CS0010001".into(),
            children: vec![]
        }
    );

    let alert: AlertDetail = app.call("get_alert", &[("number", MAIL_ALERT)]).await.parse();
    assert_eq!(alert.case_number.as_deref(), Some("CS0010001"));

    let case = get_case(&app, "CS0010001").await;
    assert!(case.case.proactive);
    assert_eq!(case.case.alert.as_deref(), Some(MAIL_ALERT));
    assert_eq!(case.case.account.as_deref(), Some("Umbrella Health"));
    assert_eq!(case.case.priority, Priority::Critical);
    assert_eq!(
        case.contact.as_deref(),
        Some("Uma Lindqvist"),
        "the account's primary contact when none is chosen"
    );
    assert_eq!(case.product.as_deref(), Some("MailRelay"));
    assert_eq!((case.items.items.len(), case.items.total), (3, 3));
    assert!(case
        .work_notes
        .entries
        .iter()
        .any(|e| e.kind == JournalKind::WorkNote && e.body == "Queue draining; customer not yet aware."));

    let activity: JournalPage = app.call("alert_journal", &[("number", MAIL_ALERT)]).await.parse();
    assert!(activity
        .entries
        .iter()
        .any(|e| e.body == "Proactive case CS0010001 created."));
}

#[tokio::test]
async fn several_accounts_make_a_major_case_with_one_child_per_account() {
    let app = TestApp::new().await;
    app.refresh(DB_HOST_ALERT).await;
    let reply = app
        .create_case(DB_HOST_ALERT, "Ledger disk filling", "Paging storage team.")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let created: CaseCreated = reply.parse();
    assert_eq!(created.children.len(), 3);

    let major = get_case(&app, &created.number).await;
    assert_eq!(major.case.account, None);
    assert_eq!(major.items.total, 6);
    let mut accounts = Vec::new();
    for child in &created.children {
        let case = get_case(&app, child).await;
        assert_eq!(case.case.parent.as_ref(), Some(&created.number));
        assert!(case.contact.is_some(), "each child gets its account's primary contact");
        let account = case.case.account.expect("account");
        assert!(
            case.items.items.iter().all(|i| i.account == account),
            "{child} holds only {account}'s items"
        );
        accounts.push((account, case.items.items.len()));
    }
    accounts.sort();
    assert_eq!(
        accounts,
        [
            ("Acme Corporation".into(), 3),
            ("Forestall IT".into(), 1),
            ("Globex Industries".into(), 2)
        ]
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM cases").await, 4);
}

#[tokio::test]
async fn a_second_submit_gets_the_existing_case_and_creates_nothing() {
    let app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    let first = app.create_case(MAIL_ALERT, "First", "").await;
    assert_eq!(first.status, 200);
    let second = app.create_case(MAIL_ALERT, "Retry after a timeout", "").await;
    assert_eq!(second.status, 409, "{}", second.body);
    match second.parse::<AppError>() {
        AppError::Conflict { existing, message } => {
            assert_eq!(existing, "CS0010001");
            assert!(message.contains("CS0010001"), "{message}");
        }
        other => panic!("not a conflict: {other:?}"),
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM cases").await, 1);
    assert_eq!(
        app.count("SELECT next FROM number_counters WHERE prefix = 'CS'").await,
        10002
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submits_make_exactly_one_case() {
    let app = TestApp::new().await;
    app.refresh(DB_HOST_ALERT).await;
    let tasks: Vec<_> = (0..6)
        .map(|n| {
            let request = app.authorize(create_case_request(DB_HOST_ALERT, &format!("Agent {n}")));
            tokio::spawn(send(app.router.clone(), request))
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("task"));
    }
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let winner = winners[0].parse::<CaseCreated>().number;
    for loser in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(loser.status, 409, "{}", loser.body);
        assert!(
            matches!(loser.parse::<AppError>(), AppError::Conflict { ref existing, .. } if *existing == winner),
            "{}",
            loser.body
        );
    }
    let top_level = app
        .count(
            "SELECT COUNT(*) FROM cases WHERE parent_id IS NULL
             AND alert_id = (SELECT id FROM alerts WHERE number = 'Alert0010027')",
        )
        .await;
    assert_eq!(top_level, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM cases").await,
        4,
        "one major case and its three children"
    );
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field_and_writes_nothing() {
    let app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    let long_notes = "n".repeat(4001);
    let table: [(&str, &str, &str, &str); 4] = [
        ("", "1", "", "short_description"),
        (&"s".repeat(161), "1", "", "short_description"),
        ("Fine", "7", "", "priority"),
        ("Fine", "1", &long_notes, "work_notes"),
    ];
    for (short_description, priority, work_notes, field) in table {
        let reply = app
            .call(
                "create_case",
                &[
                    ("input[alert]", MAIL_ALERT),
                    ("input[short_description]", short_description),
                    ("input[priority]", priority),
                    ("input[work_notes]", work_notes),
                ],
            )
            .await;
        assert_eq!(reply.status, 422, "{field}: {}", reply.body);
        assert_eq!(reply.invalid_field(), field);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM cases").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM journal_entries WHERE case_id IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT next FROM number_counters WHERE prefix = 'CS'").await,
        10001
    );
}

/// Without JavaScript the browser posts the form itself and shows whatever comes back: a refusal must bring it back to
/// the form, with the message beside the field, not to a page of JSON.
#[tokio::test]
async fn a_form_posted_without_javascript_comes_back_to_the_form_with_its_error() {
    let app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    let form = format!("/alerts/{MAIL_ALERT}?compose=case");
    let mut request = server_fn_request(
        "create_case",
        &[
            ("input[alert]", MAIL_ALERT),
            ("input[short_description]", ""),
            ("input[priority]", "1"),
            ("input[work_notes]", ""),
        ],
    );
    let headers = request.headers_mut();
    headers.insert("accept", "text/html,application/xhtml+xml".parse().expect("accept"));
    headers.insert("referer", format!("http://localhost{form}").parse().expect("referer"));
    let reply = app.send(request).await;
    assert_eq!(reply.status, 302, "{}", reply.body);
    let location = reply.location.expect("a redirect back to the form");
    let back = location.trim_start_matches("http://localhost");
    assert!(back.starts_with(&form) && back.contains("__err="), "{location}");
    assert_eq!(app.count("SELECT COUNT(*) FROM cases").await, 0);

    let page = app.get(back).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Enter a short description."), "the form shows why");
}

#[tokio::test]
async fn a_contact_of_another_account_is_refused() {
    let app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    let acme_contact: i64 = sqlx::query_scalar("SELECT id FROM contacts WHERE name = 'Alice Moreau'")
        .fetch_one(&app.db)
        .await
        .expect("contact");
    let reply = app
        .call(
            "create_case",
            &[
                ("input[alert]", MAIL_ALERT),
                ("input[short_description]", "Mail"),
                ("input[priority]", "2"),
                ("input[contact]", &acme_contact.to_string()),
            ],
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.invalid_field(), "contact");
    assert_eq!(app.count("SELECT COUNT(*) FROM cases").await, 0);
}

#[tokio::test]
async fn cases_list_and_unknown_cases() {
    let app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    app.create_case(MAIL_ALERT, "Mail", "").await;
    let list: CaseListPage = app.call("list_cases", &[]).await.parse();
    assert_eq!(list.total, 1);
    assert_eq!(list.rows[0].number, "CS0010001");
    assert_eq!(app.call("get_case", &[("number", "CS0099999")]).await.status, 404);
    let page = app.get("/cases/CS0099999").await;
    assert_eq!(page.status, 404);
    let page = app.get("/cases/CS0010001").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>CS0010001</h1>"));
}
