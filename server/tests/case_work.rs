//! Working a case: the state lifecycle, resolution notes, read-only closed cases, the two journals, who may add
//! what, and the audit log of it all.

use crate::support;

use app::{access::Role, AppError};
use support::*;

/// A fresh app with the proactive case CS0010001 on the mail relay alert, signed in as the agent.
async fn agent_with_a_case() -> TestApp {
    let mut app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    let made = app
        .create_case(MAIL_ALERT, "Mail relay down", "Opened before customers call.")
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    app.cookie = Some(app.sign_in_as(Role::SnCustomerserviceAgent).await);
    app
}

async fn update(app: &TestApp, state: &str, notes: &str) -> Reply {
    app.call(
        "update_case",
        &[
            ("input[number]", "CS0010001"),
            ("input[state]", state),
            ("input[resolution_notes]", notes),
        ],
    )
    .await
}

async fn note(app: &TestApp, kind: &str, text: &str) -> Reply {
    app.call(
        "add_case_note",
        &[
            ("input[number]", "CS0010001"),
            ("input[kind]", kind),
            ("input[text]", text),
        ],
    )
    .await
}

async fn state(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT state FROM cases WHERE number = 'CS0010001'")
        .fetch_one(&app.db)
        .await
        .expect("state")
}

#[tokio::test]
async fn a_case_moves_along_its_lifecycle_and_closed_cases_are_read_only() {
    let app = agent_with_a_case().await;
    assert_eq!(update(&app, "Open", "").await.status, 200);
    assert_eq!(state(&app).await, "Open");

    // Resolving needs resolution notes; the refusal names the field and changes nothing.
    let refused = update(&app, "Resolved", "  ").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.invalid_field(), "resolution_notes");
    assert_eq!(state(&app).await, "Open");

    // A move the lifecycle does not have is refused with the moves it does have.
    let skipped = update(&app, "Closed", "Fixed").await;
    assert!(
        matches!(skipped.parse::<AppError>(), AppError::Invalid { ref field, ref message }
            if field == "state" && message.contains("Resolved")),
        "{}",
        skipped.body
    );
    assert_eq!(update(&app, "Bogus", "").await.invalid_field(), "state");

    assert_eq!(
        update(&app, "Resolved", "Relay restarted; queue drained.").await.status,
        200
    );
    // Closing keeps the notes given when resolving.
    assert_eq!(update(&app, "Closed", "").await.status, 200);
    let notes: Option<String> = sqlx::query_scalar("SELECT resolution_notes FROM cases WHERE number = 'CS0010001'")
        .fetch_one(&app.db)
        .await
        .expect("notes");
    assert_eq!(notes.as_deref(), Some("Relay restarted; queue drained."));

    let entries = app.count("SELECT COUNT(*) FROM journal_entries").await;
    for reply in [
        update(&app, "Open", "").await,
        note(&app, "WorkNote", "one more thing").await,
    ] {
        assert_eq!(reply.status, 409, "{}", reply.body);
        assert!(
            matches!(reply.parse::<AppError>(), AppError::Conflict { ref message, .. } if message.contains("read-only")),
            "{}",
            reply.body
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM journal_entries").await, entries);
    // The schema holds the line too, whatever the code above it does.
    let direct = sqlx::query("UPDATE cases SET state = 'Open' WHERE number = 'CS0010001'")
        .execute(&app.db)
        .await;
    assert!(direct.is_err(), "a closed case was changed behind the code's back");

    let page = app.get("/cases/CS0010001").await;
    assert!(
        page.body.contains("This case is Closed: it is read-only."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Update case"));
}

#[tokio::test]
async fn work_notes_and_comments_are_two_journals() {
    let app = agent_with_a_case().await;
    assert_eq!(note(&app, "WorkNote", "Internal: relay restarted.").await.status, 200);
    assert_eq!(note(&app, "Comment", "We are aware of mail delays.").await.status, 200);
    let empty = note(&app, "Comment", "   ").await;
    assert_eq!(empty.invalid_field(), "comments");
    let kinds: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, author FROM journal_entries WHERE body IN ('Internal: relay restarted.', 'We are aware of mail delays.') ORDER BY id")
            .fetch_all(&app.db)
            .await
            .expect("journal");
    assert_eq!(
        kinds,
        [("work_note".into(), "agent".into()), ("comment".into(), "agent".into())]
    );
    let page = app.get("/cases/CS0010001").await;
    // The last occurrence of each is the rendered one (the island's props come first).
    let comments_at = page.body.rfind("Additional comments</h2>").expect("comments journal");
    let comment_at = page.body.rfind("We are aware of mail delays.").expect("comment shown");
    let note_at = page.body.rfind("Internal: relay restarted.").expect("work note shown");
    assert!(
        comment_at > comments_at && note_at < comments_at,
        "each entry in its own journal"
    );
}

#[tokio::test]
async fn operators_may_add_work_notes_to_proactive_cases_and_nothing_more() {
    let mut app = agent_with_a_case().await;
    app.cookie = Some(app.sign_in_as(Role::EvtMgmtOperator).await);
    assert_eq!(note(&app, "WorkNote", "Monitoring shows recovery.").await.status, 200);
    assert_eq!(note(&app, "Comment", "Dear customer").await.status, 403);
    assert_eq!(update(&app, "Open", "").await.status, 403);
    assert_eq!(state(&app).await, "New");
    let page = app.get("/cases/CS0010001").await;
    assert!(page
        .body
        .contains("may add work notes to this proactive case but not otherwise change it"));
    assert!(page.body.contains("Post work note") && !page.body.contains("Post comment"));
}

#[tokio::test]
async fn an_agent_takes_a_case_once_with_its_activity_and_audit_and_a_closed_case_refuses() {
    let app = agent_with_a_case().await;
    let assigned_to = || async {
        sqlx::query_scalar::<_, Option<String>>("SELECT assigned_to FROM cases WHERE number = 'CS0010001'")
            .fetch_one(&app.db)
            .await
            .expect("assigned_to")
    };
    let lines = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM journal_entries WHERE body LIKE 'Assigned to%' \
             AND case_id = (SELECT id FROM cases WHERE number = 'CS0010001')",
        )
        .fetch_one(&app.db)
        .await
        .expect("journal")
    };
    assert_eq!(assigned_to().await, None);
    let page = app.get("/cases/CS0010001").await;
    assert!(
        page.body.contains("Unassigned") && page.body.contains("Assign to me"),
        "{}",
        page.body
    );

    let taken = app.call("assign_case", &[("number", "CS0010001")]).await;
    assert_eq!(taken.status, 200, "{}", taken.body);
    assert_eq!(taken.parse::<String>(), "agent");
    assert_eq!(assigned_to().await.as_deref(), Some("agent"));
    // Taking it again (a double click, a retry) changes nothing.
    assert_eq!(app.call("assign_case", &[("number", "CS0010001")]).await.status, 200);
    assert_eq!(lines().await, 1, "one activity line");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'case_assigned' AND actor = 'agent' AND record = 'CS0010001'",
    )
    .fetch_one(&app.db)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
    let page = app.get("/cases/CS0010001").await;
    assert!(!page.body.contains("Assign to me"), "offered to the agent who has it");
    let list = app.get("/cases").await;
    assert!(
        list.body.contains("Assigned to") && list.body.contains("<td>agent</td>"),
        "{}",
        list.body
    );

    // Unknown cases are not found; closed cases are read-only, and nothing changes.
    assert_eq!(app.call("assign_case", &[("number", "CS0999999")]).await.status, 404);
    assert_eq!(update(&app, "Canceled", "Duplicate.").await.status, 200, "cancel");
    let refused = app.call("assign_case", &[("number", "CS0010001")]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(lines().await, 1);
}

#[tokio::test]
async fn every_write_is_in_the_audit_log_which_only_admin_may_read() {
    let mut app = agent_with_a_case().await;
    assert_eq!(update(&app, "Open", "").await.status, 200);
    assert_eq!(note(&app, "Comment", "Looking into it.").await.status, 200);
    #[derive(Debug, sqlx::FromRow)]
    struct Audited {
        actor: String,
        action: String,
        record: Option<String>,
    }
    let audited: Vec<Audited> =
        sqlx::query_as("SELECT actor, action, record FROM audit_log WHERE action NOT LIKE 'login%' ORDER BY id")
            .fetch_all(&app.db)
            .await
            .expect("audit");
    let expected = [
        ("operator", "install_base_refreshed", Some(MAIL_ALERT)),
        ("operator", "case_created", Some("CS0010001")),
        ("agent", "case_state_changed", Some("CS0010001")),
        ("agent", "case_comment", Some("CS0010001")),
    ];
    // The demo's seeding writes its own entries first.
    let tail: Vec<_> = audited
        .iter()
        .skip_while(|a| a.action == "user_added" || a.action == "token_created")
        .map(|a| (a.actor.as_str(), a.action.as_str(), a.record.as_deref()))
        .collect();
    assert_eq!(tail, expected, "{audited:?}");

    assert_eq!(app.get("/audit").await.status, 403);
    app.cookie = Some(app.sign_in_as(Role::Admin).await);
    let page = app.get("/audit").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Case state changed") && page.body.contains("Signed in"),
        "{}",
        page.body
    );
}
