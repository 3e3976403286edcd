//! Telling the customers: Notify customers sends one notice per account however often it is pressed, the outbox
//! delivers each once across a restart and retries a refusal, a real SMTP server receives them, templates are
//! checked at save, and the affected set follows the CMDB.

use crate::support;

use app::{
    access::Role,
    cases::CaseCreated,
    notices::{
        server::{outbox::Mailer, NoticeSettings, Transport},
        NoticeKind, NoticePreview,
    },
    store::Store,
};
use axum::{body::Body, http::Request};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

pub async fn post_as(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> Reply {
    let request = Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(encode(form)))
        .expect("request");
    send(app.router.clone(), request).await
}

pub async fn get_as(app: &TestApp, cookie: &str, path: &str) -> Reply {
    let request = Request::get(path)
        .header("accept", "text/html")
        .header("cookie", cookie)
        .body(Body::empty())
        .expect("request");
    send(app.router.clone(), request).await
}

async fn preview_as(app: &TestApp, cookie: &str, case: &str, kind: &str) -> NoticePreview {
    let mut request = server_fn_request("notice_preview", &[("number", case), ("kind", kind)]);
    request.headers_mut().insert("cookie", cookie.parse().expect("cookie"));
    let reply = send(app.router.clone(), request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.parse()
}

/// The demo's major case: the db-host-01 alert, three accounts.
pub async fn major_case(app: &TestApp) -> CaseCreated {
    app.refresh(DB_HOST_ALERT).await;
    let reply = app.create_case(DB_HOST_ALERT, "Ledger disk full", "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.parse()
}

fn send_form<'a>(
    case: &'a str,
    preview: &'a NoticePreview,
    seq: &'a str,
    ids: &'a [String],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("case", case), ("kind", preview.kind.as_str()), ("seq", seq)];
    form.extend(ids.iter().map(|id| ("account", id.as_str())));
    form
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_submit_and_two_agents_at_once_send_one_notice_per_account_and_the_second_is_told() {
    let app = TestApp::new().await;
    let case = major_case(&app).await;
    let agent = app.sign_in_as(Role::SnCustomerserviceAgent).await;
    let admin = app.sign_in_as(Role::EvtMgmtAdmin).await;

    let preview = preview_as(&app, &agent, &case.number, "").await;
    assert_eq!(preview.kind, NoticeKind::Initial, "nobody was told yet");
    assert_eq!(preview.rows.len(), 3);
    assert!(
        preview.rows.iter().all(|r| r.suggested && r.blocked.is_none()),
        "{preview:?}"
    );
    let acme = preview
        .rows
        .iter()
        .find(|r| r.account == "Acme Corporation")
        .expect("Acme");
    assert_eq!(
        acme.recipients,
        [
            "Alice Moreau <alice.moreau@acme.example>",
            "Bruno Keller <bruno.keller@acme.example>"
        ],
        "the primary contact, then the contact marked to be told"
    );
    assert!(acme.body.contains("Hello Alice Moreau"), "{}", acme.body);

    let ids: Vec<String> = preview.rows.iter().map(|r| r.account_id.to_string()).collect();
    let form = send_form(&case.number, &preview, "1", &ids);
    // A double click by one agent and a second agent, at once.
    let (first, second, third) = tokio::join!(
        post_as(&app, &agent, "/notify", &form),
        post_as(&app, &agent, "/notify", &form),
        post_as(&app, &admin, "/notify", &form),
    );
    for reply in [&first, &second, &third] {
        assert_eq!(reply.status, 303, "{}", reply.body);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notices").await,
        3,
        "one notice per account"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM journal_entries j JOIN cases c ON c.id = j.case_id
             WHERE c.parent_id IS NOT NULL AND j.kind = 'comment' AND j.body LIKE 'Notice sent to the customer.%'"
        )
        .await,
        3,
        "one additional comment per child case"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'customers_notified'")
            .await,
        1
    );

    // A retry later is told what went out, and by whom.
    let again = post_as(&app, &admin, "/notify", &form).await;
    assert_eq!(again.status, 303);
    let page = get_as(&app, &admin, &format!("/cases/{}", case.number)).await;
    assert!(page.body.contains("Nothing was sent twice"), "{}", page.body);
    assert!(page.body.contains("Already sent: initial notice by"), "{}", page.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM notices").await, 3);
    // Shown once: the next visit does not say it again.
    let later = get_as(&app, &admin, &format!("/cases/{}", case.number)).await;
    assert!(!later.body.contains("Nothing was sent twice"));

    // The folder delivery wrote each, and the rows say so.
    let mut sent = 0;
    for _ in 0..100 {
        sent = app.count("SELECT COUNT(*) FROM notices WHERE status = 'sent'").await;
        if sent == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sent, 3);
    let files = std::fs::read_dir(app.outbox.path()).expect("outbox folder").count();
    assert_eq!(files, 3, "one .eml file per notice");
    assert!(later.body.contains("Customer impact"));
}

#[tokio::test]
async fn bad_sends_are_refused_with_a_message_and_change_nothing() {
    let app = TestApp::new().await;
    let case = major_case(&app).await;
    let agent = app.sign_in_as(Role::SnCustomerserviceAgent).await;
    let notify = format!("/cases/{}/notify", case.number);
    let none = post_as(
        &app,
        &agent,
        "/notify",
        &[("case", &case.number), ("kind", "initial"), ("seq", "1")],
    )
    .await;
    assert_eq!(none.status, 303);
    let page = get_as(&app, &agent, &format!("{notify}?kind=initial")).await;
    assert!(
        page.body.contains("Choose at least one account to notify."),
        "{}",
        page.body
    );
    let foreign = post_as(
        &app,
        &agent,
        "/notify",
        &[
            ("case", &case.number),
            ("kind", "initial"),
            ("seq", "1"),
            ("account", "999999"),
        ],
    )
    .await;
    assert_eq!(foreign.status, 303);
    let page = get_as(&app, &agent, &format!("{notify}?kind=initial")).await;
    assert!(
        page.body.contains("Choose accounts of this case only."),
        "{}",
        page.body
    );
    // An operator may not notify customers.
    let operator = app.cookie.clone().expect("operator");
    let refused = post_as(
        &app,
        &operator,
        "/notify",
        &[("case", &case.number), ("kind", "initial"), ("seq", "1")],
    )
    .await;
    assert_eq!(refused.status, 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM notices").await, 0);
}

#[tokio::test]
async fn an_account_without_a_contact_is_shown_and_not_sent() {
    let app = TestApp::new().await;
    let case = major_case(&app).await;
    sqlx::query("UPDATE accounts SET primary_contact_id = NULL WHERE name = 'Globex Industries'")
        .execute(&app.db)
        .await
        .expect("no contact");
    let agent = app.sign_in_as(Role::SnCustomerserviceAgent).await;
    let preview = preview_as(&app, &agent, &case.number, "initial").await;
    let globex = preview
        .rows
        .iter()
        .find(|r| r.account == "Globex Industries")
        .expect("Globex");
    assert!(
        globex.blocked.as_deref().is_some_and(|b| b.starts_with("No contact")),
        "{globex:?}"
    );
    let ids: Vec<String> = preview.rows.iter().map(|r| r.account_id.to_string()).collect();
    let reply = post_as(&app, &agent, "/notify", &send_form(&case.number, &preview, "1", &ids)).await;
    assert_eq!(reply.status, 303);
    assert_eq!(app.count("SELECT COUNT(*) FROM notices").await, 2);
    let page = get_as(&app, &agent, &format!("/cases/{}", case.number)).await;
    assert!(
        page.body.contains("Not sent: Globex Industries: No contact"),
        "{}",
        page.body
    );
    assert!(page.body.contains("No contact: nothing can be sent"));
}

/// Queues the initial notice to every account of the demo's major case, through the store.
pub async fn queue_initial(store: &Store, settings: &NoticeSettings) -> String {
    store
        .refresh_install_base(DB_HOST_ALERT, 10, "test")
        .await
        .expect("refresh");
    let created = store
        .create_proactive_case(
            &app::cases::NewCase {
                alert: DB_HOST_ALERT.into(),
                short_description: "Ledger disk full".into(),
                priority: "1".into(),
                ..Default::default()
            },
            "test",
        )
        .await
        .expect("case");
    let preview = store
        .notice_preview(&created.number, Some("initial"), settings)
        .await
        .expect("preview");
    let ids: Vec<i64> = preview.rows.iter().map(|r| r.account_id).collect();
    let outcome = store
        .send_notices(&created.number, "initial", 1, &ids, "agent", settings)
        .await
        .expect("send");
    assert_eq!(outcome.queued.len(), 3);
    created.number
}

#[tokio::test]
async fn the_outbox_sends_each_notice_once_across_a_restart_even_one_taken_before_the_crash() {
    let (database, url) = TestDatabase::create().await;
    let store = Store::open(&url).await.expect("open");
    let db = sqlx::AnyPool::connect(&url).await.expect("pool");
    store.seed_demo().await.expect("demo");
    let folder = TempDir::new();
    let settings = NoticeSettings {
        transport: Transport::Folder(folder.path().to_owned()),
        ..NoticeSettings::default()
    };
    queue_initial(&store, &settings).await;
    // A crash after one notice was taken (leased) and before it was marked: its lease has run out by the restart.
    sqlx::query(
        "UPDATE notices SET attempts = 1, next_attempt_at = '2000-01-01 00:00:00'
         WHERE id = (SELECT MIN(id) FROM notices)",
    )
    .execute(&db)
    .await
    .expect("crash");
    store.close().await;
    drop(store);

    let restarted = Store::open(&url).await.expect("reopen");
    let _keep = database;
    let mailer = Mailer::new(&settings.transport);
    assert_eq!(restarted.deliver_due(&mailer, &settings).await.expect("deliver"), 3);
    assert_eq!(
        restarted.deliver_due(&mailer, &settings).await.expect("again"),
        0,
        "nothing twice"
    );
    let sent: Vec<(String, String)> = sqlx::query_as("SELECT status, message_id FROM notices ORDER BY id")
        .fetch_all(&db)
        .await
        .expect("notices");
    assert!(sent.iter().all(|(status, _)| status == "sent"), "{sent:?}");
    for (_, message_id) in &sent {
        let name: String = message_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || ".-_@".contains(*c))
            .collect();
        let eml = std::fs::read_to_string(folder.path().join(format!("{name}.eml"))).expect("eml");
        assert!(eml.contains(&format!("Message-ID: {message_id}")), "{eml}");
    }
}

/// An SMTP server on loopback that refuses the first `refusals` messages with `code`, then accepts.
async fn fake_smtp(refusals: usize, code: &'static str) -> u16 {
    fake_smtp_with(refusals, code, None).await
}

/// A message the fake SMTP server received, and the go-ahead its 250 waits for.
pub type Received = (String, tokio::sync::oneshot::Sender<()>);

/// [`fake_smtp`] that hands each accepted message's text to `received` and answers 250 once it is let go: what a
/// test does meanwhile happens between the mail server taking a notice and the outbox hearing so.
pub async fn fake_smtp_with(
    refusals: usize,
    code: &'static str,
    received: Option<tokio::sync::mpsc::Sender<Received>>,
) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut refused = 0;
        while let Ok((socket, _)) = listener.accept().await {
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            let _ = write.write_all(b"220 fake ESMTP\r\n").await;
            let mut in_data = false;
            let mut message = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                let answer: String = if in_data {
                    if line != "." {
                        message.push_str(&line);
                        message.push('\n');
                        continue;
                    }
                    in_data = false;
                    if let Some(received) = &received {
                        let (go, gone) = tokio::sync::oneshot::channel();
                        let _ = received.send((std::mem::take(&mut message), go)).await;
                        let _ = gone.await;
                    }
                    "250 2.0.0 queued as FAKE1\r\n".into()
                } else {
                    let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                    match verb.as_str() {
                        "EHLO" | "HELO" => "250 fake\r\n".into(),
                        "MAIL" if refused < refusals => {
                            refused += 1;
                            format!("{code} try again later\r\n")
                        }
                        "MAIL" | "RCPT" | "RSET" | "NOOP" => "250 OK\r\n".into(),
                        "DATA" => {
                            in_data = true;
                            "354 go ahead\r\n".into()
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => "502 unknown\r\n".into(),
                    }
                };
                if write.write_all(answer.as_bytes()).await.is_err() {
                    break;
                }
            }
        }
    });
    port
}

#[tokio::test]
async fn a_refusing_or_absent_smtp_server_leaves_notices_retrying_then_failed_never_lost_and_retry_requeues() {
    let (store, db, _database) = empty_store().await;
    store.seed_demo().await.expect("demo");
    let port = fake_smtp(3, "451").await;
    let settings = NoticeSettings {
        transport: Transport::Smtp {
            host: "127.0.0.1".into(),
            port,
        },
        retry_after_secs: 1,
        ..NoticeSettings::default()
    };
    queue_initial(&store, &settings).await;
    let mailer = Mailer::new(&settings.transport);
    assert_eq!(store.deliver_due(&mailer, &settings).await.expect("deliver"), 3);
    let retrying: Vec<(String, Option<String>)> = sqlx::query_as("SELECT status, answer FROM notices ORDER BY id")
        .fetch_all(&db)
        .await
        .expect("rows");
    assert!(retrying.iter().all(|(s, _)| s == "pending"), "{retrying:?}");
    assert!(
        retrying[0]
            .1
            .as_deref()
            .is_some_and(|a| a.contains("451") && a.contains("retrying")),
        "{retrying:?}"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(store.deliver_due(&mailer, &settings).await.expect("retry"), 3);
    let sent: Vec<(String, Option<String>)> = sqlx::query_as("SELECT status, answer FROM notices ORDER BY id")
        .fetch_all(&db)
        .await
        .expect("rows");
    assert!(
        sent.iter()
            .all(|(s, a)| s == "sent" && a.as_deref().is_some_and(|a| a.starts_with("250"))),
        "{sent:?}"
    );

    // A server that is not there: retried up to the limit, then failed with why; Retry puts it back.
    let (store, db, _database) = empty_store().await;
    store.seed_demo().await.expect("demo");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let settings = NoticeSettings {
        transport: Transport::Smtp {
            host: "127.0.0.1".into(),
            port: closed,
        },
        max_attempts: 1,
        ..NoticeSettings::default()
    };
    queue_initial(&store, &settings).await;
    store
        .deliver_due(&Mailer::new(&settings.transport), &settings)
        .await
        .expect("deliver");
    let failed: Vec<(i64, String, Option<String>)> =
        sqlx::query_as("SELECT id, status, answer FROM notices ORDER BY id")
            .fetch_all(&db)
            .await
            .expect("rows");
    assert!(
        failed.iter().all(|(_, s, a)| s == "failed" && a.is_some()),
        "{failed:?}"
    );
    store.retry_notice(failed[0].0, "agent").await.expect("retry");
    let again = store.retry_notice(failed[0].0, "agent").await;
    assert!(matches!(again, Err(app::AppError::Conflict { .. })), "{again:?}");
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM notices WHERE status = 'pending'")
            .fetch_one(&db)
            .await
            .expect("count"),
        1
    );
}

#[tokio::test]
async fn a_real_smtp_server_on_loopback_receives_each_notice_with_its_recipients_subject_and_message_id() {
    let maildir = TempDir::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut server = std::process::Command::new("/usr/bin/python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(maildir.path().join("mail"))
        .spawn()
        .expect("/usr/bin/python3 -m aiosmtpd (Debian's python3-aiosmtpd; scripts/ensure-tools installs it)");
    let (store, db, _database) = empty_store().await;
    store.seed_demo().await.expect("demo");
    let settings = NoticeSettings {
        transport: Transport::Smtp {
            host: "127.0.0.1".into(),
            port,
        },
        mail_from: "Support <support@forestall.example>".into(),
        ..NoticeSettings::default()
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let case = queue_initial(&store, &settings).await;
    store
        .deliver_due(&Mailer::new(&settings.transport), &settings)
        .await
        .expect("deliver");
    let _ = server.kill();
    let _ = server.wait();
    let statuses: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT status, message_id, answer FROM notices ORDER BY id")
            .fetch_all(&db)
            .await
            .expect("rows");
    assert!(statuses.iter().all(|(s, ..)| s == "sent"), "{statuses:?}");
    let mut messages = Vec::new();
    for entry in std::fs::read_dir(maildir.path().join("mail/new")).expect("maildir") {
        let raw = std::fs::read_to_string(entry.expect("entry").path()).expect("message");
        // Long headers are folded, and quoted-printable bodies wrapped with soft breaks: read them unfolded.
        messages.push(raw.replace("\r\n", "\n").replace("=\n", "").replace("\n ", " "));
    }
    assert_eq!(messages.len(), 3, "one message per account");
    let acme = messages
        .iter()
        .find(|m| m.contains("alice.moreau@acme.example"))
        .expect("Acme's message");
    assert!(acme.contains("bruno.keller@acme.example"), "{acme}");
    assert!(acme.contains("From: Support <support@forestall.example>"), "{acme}");
    assert!(
        acme.contains("We are working on an issue that affects Acme Corporation"),
        "{acme}"
    );
    assert!(acme.contains("Hello Alice Moreau"), "{acme}");
    for (_, message_id, _) in &statuses {
        assert!(
            messages
                .iter()
                .any(|m| m.contains(&format!("Message-ID: {message_id}"))),
            "{message_id}"
        );
        assert!(message_id.ends_with("@forestall.example>"), "{message_id}");
    }
    assert!(statuses[0].1.contains(&case.to_ascii_lowercase()));
}

#[tokio::test]
async fn a_template_with_an_unknown_placeholder_is_refused_at_save_naming_it_and_kept_as_typed() {
    let app = TestApp::new().await;
    let admin = app.sign_in_as(Role::EvtMgmtAdmin).await;
    let before: String = sqlx::query_scalar("SELECT body FROM notice_templates WHERE kind = 'update'")
        .fetch_one(&app.db)
        .await
        .expect("template");
    let reply = post_as(
        &app,
        &admin,
        "/notice-templates/save",
        &[
            ("kind", "update"),
            ("subject", "Update"),
            ("body", "Dear {{ customer.name }}"),
        ],
    )
    .await;
    assert_eq!(reply.status, 303);
    let page = get_as(&app, &admin, "/notice-templates").await;
    assert!(
        page.body.contains("unknown placeholder “customer.name”"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Dear {{ customer.name }}"),
        "the draft is kept as typed"
    );
    let after: String = sqlx::query_scalar("SELECT body FROM notice_templates WHERE kind = 'update'")
        .fetch_one(&app.db)
        .await
        .expect("template");
    assert_eq!(after, before, "nothing saved");

    let saved = post_as(
        &app,
        &admin,
        "/notice-templates/save",
        &[
            ("kind", "update"),
            ("subject", "[{{ case.number }}] Update"),
            ("body", "Still on it, {{ contact.name }}."),
        ],
    )
    .await;
    assert_eq!(saved.status, 303);
    let page = get_as(&app, &admin, "/notice-templates").await;
    assert!(page.body.contains("Update template saved."), "{}", page.body);
    // Agents may not edit templates.
    let agent = app.sign_in_as(Role::SnCustomerserviceAgent).await;
    let refused = post_as(&app, &agent, "/notice-templates/save", &[("kind", "update")]).await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn the_affected_set_follows_the_cmdb_new_accounts_get_child_cases_gone_ones_stay_marked() {
    let app = TestApp::new().await;
    app.refresh(MAIL_ALERT).await;
    let reply = app.create_case(MAIL_ALERT, "SMTP queue", "").await;
    let created: CaseCreated = reply.parse();
    assert!(created.children.is_empty(), "one account: Umbrella Health");

    // Initech now also runs on mail-relay-01.
    sqlx::query(
        "INSERT INTO install_base_items (number, name, account_id, ci_id, active)
         SELECT 'IB0999001', 'Initech mail gateway', a.id, c.id, 1 FROM accounts a, configuration_items c
         WHERE a.name = 'Initech' AND c.name = 'mail-relay-01'",
    )
    .execute(&app.db)
    .await
    .expect("new item");
    app.refresh(MAIL_ALERT).await;
    let accounts: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT a.name, ca.affected, k.number FROM case_accounts ca JOIN accounts a ON a.id = ca.account_id
         JOIN cases k ON k.id = ca.child_case_id JOIN cases c ON c.id = ca.case_id WHERE c.number = $1 ORDER BY a.name",
    )
    .bind(&created.number)
    .fetch_all(&app.db)
    .await
    .expect("accounts");
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    assert!(
        accounts
            .iter()
            .all(|(_, affected, child)| *affected == 1 && *child != created.number),
        "{accounts:?}"
    );
    let parent_account: Option<i64> = sqlx::query_scalar("SELECT account_id FROM cases WHERE number = $1")
        .bind(&created.number)
        .fetch_one(&app.db)
        .await
        .expect("case");
    assert_eq!(parent_account, None, "now a major case");

    // The item leaves: Initech is no longer affected, and stays on the case, marked.
    sqlx::query("UPDATE install_base_items SET active = 0 WHERE number = 'IB0999001'")
        .execute(&app.db)
        .await
        .expect("retire");
    app.refresh(MAIL_ALERT).await;
    let initech: (i64, Option<String>) = sqlx::query_as(
        "SELECT ca.affected, ca.removed_at FROM case_accounts ca JOIN accounts a ON a.id = ca.account_id
         WHERE a.name = 'Initech'",
    )
    .fetch_one(&app.db)
    .await
    .expect("Initech");
    assert_eq!(initech.0, 0);
    assert!(initech.1.is_some());
    let changes: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.name, ch.change FROM case_impact_changes ch JOIN accounts a ON a.id = ch.account_id ORDER BY ch.id",
    )
    .fetch_all(&app.db)
    .await
    .expect("timeline");
    assert_eq!(
        changes,
        [
            ("Initech".to_owned(), "added".to_owned()),
            ("Initech".to_owned(), "removed".to_owned())
        ]
    );
    let page = app.get(&format!("/cases/{}", created.number)).await;
    assert!(page.body.contains("No longer affected"), "{}", page.body);
    assert!(page.body.contains("Account added: Initech"), "{}", page.body);
    assert!(page.body.contains("Account no longer affected: Initech"));
    assert!(page.body.contains("Not notified"), "Umbrella has not been told");
}

#[tokio::test]
async fn the_rule_sends_the_initial_notice_itself_after_the_hold_down_unless_the_alert_flaps() {
    let mut app = TestApp::new().await;
    let admin = app.sign_in_as(Role::EvtMgmtAdmin).await;
    let operator = app.cookie.replace(admin).expect("operator");
    let reply = app
        .call(
            "update_rule",
            &[
                ("input[id]", "1"),
                ("input[active]", "on"),
                ("input[min_severity]", "2"),
                ("input[send_initial_notice]", "on"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.parse::<app::rules::AlertRule>().send_initial_notice);
    app.cookie = Some(operator);
    let created = app.call("create_incident", &[("alert", DB_HOST_ALERT)]).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let (case, state, at): (String, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT number, auto_notice, auto_notice_at FROM cases WHERE parent_id IS NULL AND proactive = 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("the rule's case");
    assert_eq!(state.as_deref(), Some("scheduled"));
    let page = app.get(&format!("/cases/{case}")).await;
    assert!(
        page.body.contains(&format!("by itself at {} UTC", at.expect("when"))),
        "{}",
        page.body
    );

    // Its time comes while the alert flaps: it waits another hold-down, nothing is sent.
    let due = |state: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query("UPDATE alerts SET state = $1 WHERE number = $2")
                .bind(state)
                .bind(DB_HOST_ALERT)
                .execute(&db)
                .await
                .expect("state");
            sqlx::query("UPDATE cases SET auto_notice_at = '2000-01-01 00:00:00' WHERE auto_notice = 'scheduled'")
                .execute(&db)
                .await
                .expect("due");
        }
    };
    due("Flapping").await;
    app.store.run_auto_notices(&app.notices).await.expect("run");
    assert_eq!(app.count("SELECT COUNT(*) FROM notices").await, 0);
    let later: String = sqlx::query_scalar("SELECT auto_notice_at FROM cases WHERE number = $1")
        .bind(&case)
        .fetch_one(&app.db)
        .await
        .expect("postponed");
    assert!(later.as_str() > "2026-01-01", "postponed to {later}");

    // Open again and due: it goes to every affected account, from the rule.
    due("Open").await;
    app.store.run_auto_notices(&app.notices).await.expect("run");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notices WHERE kind = 'initial' AND created_by = 'Create Proactive Case rule'")
            .await,
        3
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM cases WHERE auto_notice = 'done'").await,
        1
    );
}

#[tokio::test]
async fn hold_keeps_the_rules_notice_back_and_send_now_sends_it() {
    let app = TestApp::new().await;
    let case = major_case(&app).await;
    let agent = app.sign_in_as(Role::SnCustomerserviceAgent).await;
    let schedule = || async {
        sqlx::query(
            "UPDATE cases SET auto_notice = 'scheduled', auto_notice_at = '2099-01-01 00:00:00' WHERE number = $1",
        )
        .bind(&case.number)
        .execute(&app.db)
        .await
        .expect("schedule");
    };
    schedule().await;
    let held = post_as(
        &app,
        &agent,
        "/auto-notice",
        &[("case", &case.number), ("action", "hold")],
    )
    .await;
    assert_eq!(held.status, 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM cases WHERE auto_notice = 'held'").await,
        1
    );
    let page = get_as(&app, &agent, &format!("/cases/{}", case.number)).await;
    assert!(page.body.contains("Initial notice held by"), "{}", page.body);
    // Held is not scheduled: a second Hold is told so.
    post_as(
        &app,
        &agent,
        "/auto-notice",
        &[("case", &case.number), ("action", "hold")],
    )
    .await;
    let page = get_as(&app, &agent, &format!("/cases/{}", case.number)).await;
    assert!(page.body.contains("is not waiting to go out any more"), "{}", page.body);

    schedule().await;
    let sent = post_as(
        &app,
        &agent,
        "/auto-notice",
        &[("case", &case.number), ("action", "send_now")],
    )
    .await;
    assert_eq!(sent.status, 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notices WHERE kind = 'initial'").await,
        3
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM cases WHERE auto_notice = 'done'").await,
        1
    );
}

#[tokio::test]
async fn an_overdue_update_is_flagged_in_the_cases_list_and_on_the_case_and_filters_its_accounts() {
    let app = TestApp::new().await;
    let case = major_case(&app).await;
    let agent = app.sign_in_as(Role::SnCustomerserviceAgent).await;
    let preview = preview_as(&app, &agent, &case.number, "initial").await;
    let ids: Vec<String> = preview.rows.iter().map(|r| r.account_id.to_string()).collect();
    post_as(&app, &agent, "/notify", &send_form(&case.number, &preview, "1", &ids)).await;
    let list = get_as(&app, &agent, "/cases").await;
    assert!(!list.body.contains("Update overdue"), "due in an hour, not yet");

    sqlx::query(
        "UPDATE case_accounts SET next_update_due = '2000-01-01 00:00:00'
         WHERE account_id = (SELECT id FROM accounts WHERE name = 'Acme Corporation')",
    )
    .execute(&app.db)
    .await
    .expect("overdue");
    let list = get_as(&app, &agent, "/cases").await;
    assert!(list.body.contains("Update overdue"), "{}", list.body);
    let page = get_as(&app, &agent, &format!("/cases/{}?impact=overdue", case.number)).await;
    assert!(page.body.contains("1 of 3 account(s) shown."), "{}", page.body);
    assert!(
        page.body.contains("Update overdue: an affected customer"),
        "{}",
        page.body
    );
    let untold = get_as(&app, &agent, &format!("/cases/{}?impact=not_notified", case.number)).await;
    assert!(untold.body.contains("0 of 3 account(s) shown."), "{}", untold.body);

    // The update: the next sequence, to those told; the overdue flag goes once it is sent.
    let update = preview_as(&app, &agent, &case.number, "update").await;
    assert_eq!((update.kind, update.seq), (NoticeKind::Update, 1));
    let ids: Vec<String> = update
        .rows
        .iter()
        .filter(|r| r.suggested)
        .map(|r| r.account_id.to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    post_as(&app, &agent, "/notify", &send_form(&case.number, &update, "1", &ids)).await;
    let list = get_as(&app, &agent, "/cases").await;
    assert!(!list.body.contains("Update overdue"));
    let next = preview_as(&app, &agent, &case.number, "update").await;
    assert_eq!(next.seq, 2, "the next update is number 2");
}
