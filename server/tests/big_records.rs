//! Records too big to show whole, a page at a time: a core switch's case (50,000 items and hundreds of journal
//! entries), an alert that reopened hundreds of times, and the case form when the snapshot names no account and the
//! CMDB holds hundreds of them. Each page answers with one page of rows and the totals, and the next page by its
//! query parameter, without JavaScript.

use crate::support;

use app::{
    cases::{CaseDetail, CaseDraft, CaseWorkView, ACCOUNT_CHOICES_MAX, CONTACT_CHOICES_MAX},
    journal::JournalPage,
};
use std::time::Instant;
use support::*;

/// Items on the core switch: about what one reaches in the generated 100k CMDB (BENCHMARKS.md).
const CORE_ITEMS: i64 = 50_000;

/// The section headed by the `<h2>` with this id, as rendered (an island's props, which come first, hold no
/// markup).
fn section<'a>(html: &'a str, heading_id: &str) -> &'a str {
    let start = html
        .find(&format!(r#"<h2 id="{heading_id}">"#))
        .unwrap_or_else(|| panic!("no section {heading_id}: {html}"));
    let end = html[start..].find("</section>").map_or(html.len(), |end| start + end);
    &html[start..end]
}

/// The texts that follow each `open` in `html`, up to the next tag.
fn texts<'a>(html: &'a str, open: &str) -> Vec<&'a str> {
    html.split(open)
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap_or_default())
        .collect()
}

/// The item numbers of the case page's Install base items table, in order.
fn item_rows(page: &str) -> Vec<&str> {
    texts(section(page, "case-items-heading"), r#"<th scope="row">"#)
}

/// The entries of a journal (`journal-work-notes`, `journal-additional-comments`, `journal-activity`), newest
/// first.
fn journal_rows<'a>(page: &'a str, heading_id: &str) -> Vec<&'a str> {
    texts(section(page, heading_id), r#"<p class="journal-body">"#)
}

/// `IB5000001`…: the core switch's items by number, from 1.
fn item(n: i64) -> String {
    format!("IB{}", 5_000_000 + n)
}

/// The `first..=last` (newest first when `first > last`) of the entries `text` numbers.
fn numbered(text: &str, first: i64, last: i64) -> Vec<String> {
    let range: Vec<i64> = if first >= last {
        (last..=first).rev().collect()
    } else {
        (first..=last).collect()
    };
    range.into_iter().map(|n| format!("{text} {}.", 1000 + n)).collect()
}

/// Inserts `count` journal entries on the record `record_sql` names (`case_id` or `alert_id`), set-based, numbered
/// from 1 in the order they are written: `{text} 1001.`, `{text} 1002.`, …
async fn write_journal(app: &TestApp, column: &str, record_sql: &str, kind: &str, text: &str, count: i64) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})
         INSERT INTO journal_entries ({column}, kind, author, created_at, body)
         SELECT ({record_sql}), '{kind}', 'agent', '2026-12-02 10:00:00', '{text} ' || CAST(1000 + i AS TEXT) || '.'
         FROM n ORDER BY i"
    )))
    .execute(&app.db)
    .await
    .expect("journal entries");
}

/// A core switch with [`CORE_ITEMS`] of Acme's items on it, an alert on it whose snapshot holds them all (written
/// set-based, as a trace would leave it), and its proactive case, made by Submit: CS0010001, which covers them all.
async fn core_switch_case(app: &TestApp) {
    let started = Instant::now();
    sqlx::query("INSERT INTO configuration_items (name, class) VALUES ('core-switch-01', 'network')")
        .execute(&app.db)
        .await
        .expect("CI");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {CORE_ITEMS})
         INSERT INTO install_base_items (number, name, account_id, ci_id)
         SELECT 'IB' || CAST(5000000 + i AS TEXT), 'Switch port ' || CAST(i AS TEXT), acc.id, ci.id
         FROM n, accounts acc, configuration_items ci
         WHERE acc.name = 'Acme Corporation' AND ci.name = 'core-switch-01'"
    )))
    .execute(&app.db)
    .await
    .expect("items");
    sqlx::query(
        "INSERT INTO alerts (number, source, node, message_key, severity, state, ci_id, first_event_at,
                             last_event_at, ib_refreshed_at)
         SELECT 'Alert0090001', 'Test', 'core-switch-01', 'core', 1, 'Open', id, '2026-12-02 09:00:00',
                '2026-12-02 09:00:00', '2026-12-02 09:01:00'
         FROM configuration_items WHERE name = 'core-switch-01'",
    )
    .execute(&app.db)
    .await
    .expect("alert");
    sqlx::query(
        "INSERT INTO affected_items (alert_id, item_id, reason, hops, ci_path)
         SELECT a.id, ib.id, 'direct', 0, 'core-switch-01' FROM alerts a, install_base_items ib
         WHERE a.number = 'Alert0090001' AND ib.ci_id = a.ci_id",
    )
    .execute(&app.db)
    .await
    .expect("snapshot");
    let made = app.create_case("Alert0090001", "Core switch down", "").await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM case_items WHERE case_id = (SELECT id FROM cases WHERE number = 'CS0010001')")
            .await,
        CORE_ITEMS
    );
    eprintln!(
        "core switch case of {CORE_ITEMS} items written in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_case_of_50000_items_and_hundreds_of_journal_entries_comes_a_page_at_a_time() {
    let app = TestApp::new().await;
    core_switch_case(&app).await;
    let case = "SELECT id FROM cases WHERE number = 'CS0010001'";
    // 120 work notes, then 70 comments; with Submit's activity line, 121 entries in the work notes journal.
    write_journal(&app, "case_id", case, "work_note", "Work note", 120).await;
    write_journal(&app, "case_id", case, "comment", "Comment", 70).await;

    let started = Instant::now();
    let page = app.get("/cases/CS0010001").await;
    let elapsed = started.elapsed();
    assert_eq!(page.status, 200, "{}", page.body);
    eprintln!(
        "GET /cases/CS0010001 ({CORE_ITEMS} items, 191 journal entries): {elapsed:?}, {} bytes",
        page.body.len()
    );
    let body = &page.body;

    // One page of items, by number, and the totals.
    let first_page: Vec<String> = (1..=50).map(item).collect();
    assert_eq!(item_rows(body), first_page);
    assert!(!body.contains(&item(51)), "nothing of the next page is sent");
    assert!(
        body.contains("Showing 1–50 of 50,000 items"),
        "{}",
        section(body, "case-items-heading")
    );
    assert!(body.contains(r#"<nav aria-label="items pages""#));
    assert!(body.contains("Page 1 of 1,000 · 50,000 items"));
    assert!(body.contains(r#"href="?items_page=2""#));

    // The newest 50 of each journal, with its total and the way to older ones.
    assert_eq!(journal_rows(body, "journal-work-notes"), numbered("Work note", 120, 71));
    assert_eq!(
        journal_rows(body, "journal-additional-comments"),
        numbered("Comment", 70, 21)
    );
    assert!(body.contains("Showing 1–50 of 121 entries, newest first"));
    assert!(body.contains("Showing 1–50 of 70 entries, newest first"));
    assert!(body.contains(r#"aria-label="Work notes pages""#));
    assert!(body.contains(r#"aria-label="Additional comments pages""#));
    assert!(
        !body.contains("Work note 1070.") && !body.contains("Comment 1020."),
        "older entries are neither rendered nor in the island's props"
    );

    // The next page of items, by its query parameter; each pager keeps the other lists' pages.
    let page = app.get("/cases/CS0010001?items_page=2").await;
    assert_eq!(page.status, 200);
    let second_page: Vec<String> = (51..=100).map(item).collect();
    assert_eq!(item_rows(&page.body), second_page);
    assert!(page.body.contains("Showing 51–100 of 50,000 items"));
    assert!(page.body.contains(r#"href="?items_page=1""#) && page.body.contains(r#"href="?items_page=3""#));
    assert!(
        page.body.contains(r#"href="?notes_page=2&amp;items_page=2""#),
        "the journal's pager keeps the items page"
    );
    assert_eq!(
        journal_rows(&page.body, "journal-work-notes"),
        numbered("Work note", 120, 71)
    );

    // The last page of items; a page past the end shows the last.
    let started = Instant::now();
    let page = app.get("/cases/CS0010001?items_page=1000").await;
    eprintln!(
        "GET /cases/CS0010001?items_page=1000 (the last): {:?}",
        started.elapsed()
    );
    let last_page: Vec<String> = (49_951..=50_000).map(item).collect();
    assert_eq!(item_rows(&page.body), last_page);
    assert_eq!(
        item_rows(&app.get("/cases/CS0010001?items_page=5000").await.body),
        last_page
    );

    // Older journal entries, a page at a time.
    let page = app.get("/cases/CS0010001?notes_page=2&comments_page=2").await;
    assert_eq!(
        journal_rows(&page.body, "journal-work-notes"),
        numbered("Work note", 70, 21)
    );
    assert_eq!(
        journal_rows(&page.body, "journal-additional-comments"),
        numbered("Comment", 20, 1)
    );
    assert!(page.body.contains("Showing 51–70 of 70 entries, newest first"));
    assert_eq!(item_rows(&page.body), first_page);
    let page = app.get("/cases/CS0010001?notes_page=3").await;
    let mut oldest = numbered("Work note", 20, 1);
    oldest.push(format!(
        "Proactive case opened from Alert0090001; covers {CORE_ITEMS} install base item(s)."
    ));
    assert_eq!(journal_rows(&page.body, "journal-work-notes"), oldest);

    // The server functions answer the same pages.
    let detail: CaseDetail = app
        .call(
            "get_case",
            &[("number", "CS0010001"), ("items_page", "3"), ("notes_page", "2")],
        )
        .await
        .parse();
    assert_eq!(
        (detail.items.total, detail.items.page, detail.items.pages),
        (50_000, 3, 1_000)
    );
    assert_eq!(detail.items.items.len(), 50);
    assert_eq!(detail.items.items[0].number, item(101));
    assert_eq!(
        (
            detail.work_notes.total,
            detail.work_notes.page,
            detail.work_notes.entries.len()
        ),
        (121, 2, 50)
    );
    assert_eq!(
        (
            detail.comments.total,
            detail.comments.page,
            detail.comments.entries.len()
        ),
        (70, 1, 50)
    );
}

/// What the case page's work area reads again on each live update: the pages it shows, never the items.
#[tokio::test]
async fn the_case_work_area_reads_again_only_the_journal_pages_it_shows() {
    let app = TestApp::new().await;
    core_switch_case(&app).await;
    write_journal(
        &app,
        "case_id",
        "SELECT id FROM cases WHERE number = 'CS0010001'",
        "work_note",
        "Work note",
        120,
    )
    .await;
    let reply = app
        .call("case_work", &[("number", "CS0010001"), ("notes_page", "2")])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(!reply.body.contains("IB50"), "no item comes with it");
    let work: CaseWorkView = reply.parse();
    let bodies: Vec<String> = work.work_notes.entries.iter().map(|e| e.body.clone()).collect();
    assert_eq!(bodies, numbered("Work note", 70, 21));
    assert_eq!(
        (work.work_notes.total, work.work_notes.page, work.work_notes.pages),
        (121, 2, 3)
    );
    assert_eq!((work.comments.total, work.comments.entries.len()), (0, 0));
    assert_eq!(app.call("case_work", &[("number", "CS0099999")]).await.status, 404);
}

#[tokio::test]
async fn an_alert_that_reopened_hundreds_of_times_shows_its_newest_activity_and_pages_back() {
    let app = TestApp::new().await;
    let alert = format!("SELECT id FROM alerts WHERE number = '{MAIL_ALERT}'");
    write_journal(&app, "alert_id", &alert, "activity", "Reopened by event", 130).await;
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM journal_entries WHERE alert_id = ({alert})"
    )))
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert!(total >= 130);

    let started = Instant::now();
    let page = app.get(&format!("/alerts/{MAIL_ALERT}")).await;
    eprintln!(
        "GET /alerts/{MAIL_ALERT} ({total} activity entries): {:?}, {} bytes",
        started.elapsed(),
        page.body.len()
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        journal_rows(&page.body, "journal-activity"),
        numbered("Reopened by event", 130, 81)
    );
    assert!(page
        .body
        .contains(&format!("Showing 1–50 of {total} entries, newest first")));
    assert!(page.body.contains(r#"<nav aria-label="Activity pages""#));
    assert!(page.body.contains(r#"href="?activity_page=2""#));
    assert!(
        !page.body.contains("Reopened by event 1080."),
        "older entries are neither rendered nor in the props"
    );

    let page = app.get(&format!("/alerts/{MAIL_ALERT}?activity_page=2")).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        journal_rows(&page.body, "journal-activity"),
        numbered("Reopened by event", 80, 31)
    );
    assert!(page
        .body
        .contains(&format!("Showing 51–100 of {total} entries, newest first")));

    // What the alert form reads again on a live update: the page it shows.
    let journal: JournalPage = app
        .call("alert_journal", &[("number", MAIL_ALERT), ("page", "2")])
        .await
        .parse();
    assert_eq!(
        (journal.total, journal.page, journal.entries.len()),
        (total as u64, 2, 50)
    );
    assert_eq!(journal.entries[0].body, "Reopened by event 1080.");
}

/// Without a snapshot that names an account, the case form offers a bounded list of accounts, found by name.
#[tokio::test]
async fn without_an_affected_account_the_case_form_offers_a_bounded_list_found_by_name() {
    let app = TestApp::new().await;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
         INSERT INTO accounts (name, kind) SELECT 'Bulk customer ' || CAST(1000 + i AS TEXT), 'external' FROM n",
    )
    .execute(&app.db)
    .await
    .expect("accounts");
    // Two contacts each.
    for n in 1..=2 {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO contacts (account_id, name, email)
             SELECT id, 'Contact {n} of ' || name, 'c{n}.' || CAST(id AS TEXT) || '@bulk.example.com'
             FROM accounts WHERE name LIKE 'Bulk customer %'"
        )))
        .execute(&app.db)
        .await
        .expect("contacts");
    }
    let accounts = app.count("SELECT COUNT(*) FROM accounts").await;
    assert!(accounts > 300);

    let draft: CaseDraft = app.call("prefill_case", &[("alert", NO_CI_ALERT)]).await.parse();
    assert!(draft.affected_accounts.is_empty());
    assert_eq!(
        draft.other_accounts.len(),
        ACCOUNT_CHOICES_MAX as usize,
        "at most a page of accounts"
    );
    assert_eq!(draft.other_accounts_total, accounts as u64);
    let mut names: Vec<&str> = draft.other_accounts.iter().map(|a| a.name.as_str()).collect();
    let sorted = {
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted
    };
    assert_eq!(names, sorted, "by name");
    assert!(draft.contacts.len() <= CONTACT_CHOICES_MAX as usize);
    assert!(
        draft
            .contacts
            .iter()
            .all(|c| draft.other_accounts.iter().any(|a| a.id == c.account_id)),
        "only the contacts of the accounts offered"
    );

    // A search finds accounts by any part of the name, whatever the case, and only those.
    let search = |text: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .call("prefill_case", &[("alert", NO_CI_ALERT), ("account_search", text)])
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.parse::<CaseDraft>()
        }
    };
    let found = search("customer 12").await;
    assert_eq!((found.other_accounts.len(), found.other_accounts_total), (50, 100));
    assert_eq!(found.other_accounts[0].name, "Bulk customer 1200");
    let one = search("  BULK CUSTOMER 1234 ").await;
    names = one.other_accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Bulk customer 1234"]);
    assert_eq!(one.account_search.as_deref(), Some("BULK CUSTOMER 1234"));
    let contacts: Vec<&str> = one.contacts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        contacts,
        ["Contact 1 of Bulk customer 1234", "Contact 2 of Bulk customer 1234"]
    );
    assert_eq!(one.contacts_total, 2);
    assert_eq!(
        search("%").await.other_accounts_total,
        0,
        "LIKE's wildcards are taken literally"
    );

    // The form without JavaScript: the first page of accounts, what the list holds, and the search (a GET of the
    // same form).
    let page = app.get(&format!("/alerts/{NO_CI_ALERT}?compose=case")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let select = section_from(&page.body, r#"<select id="case-account""#, "</select>");
    assert_eq!(
        select.matches("<option").count(),
        ACCOUNT_CHOICES_MAX as usize + 1,
        "None and a page of accounts"
    );
    assert!(page
        .body
        .contains(&format!("The first 50 of {accounts} accounts, by name")));
    assert!(page.body.contains(r#"role="search" aria-label="Find an account""#));
    assert!(page
        .body
        .contains(r#"<label for="case-account-search">Account name</label>"#));
    let page = app
        .get(&format!(
            "/alerts/{NO_CI_ALERT}?compose=case&account_search=Bulk+customer+1234"
        ))
        .await;
    let select = section_from(&page.body, r#"<select id="case-account""#, "</select>");
    assert_eq!(
        select.matches("<option").count(),
        2,
        "None and the one account found: {select}"
    );
    assert!(select.contains("Bulk customer 1234"), "{select}");
    assert!(page.body.contains("1 account whose name holds “Bulk customer 1234”."));
}

/// `html` from the first `start` to the `end` after it.
fn section_from<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("no {start}: {html}"));
    let to = html[from..].find(end).map_or(html.len(), |to| from + to);
    &html[from..to]
}
