//! The command line as its users meet it: `forestall` run as a process, its help and its one-line refusals.

use std::process::{Command, Output};

fn forestall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forestall"))
        .args(args)
        // The caller's environment must not choose the database or the log for these runs.
        .env_remove("DATABASE_URL")
        .env("FORESTALL_LOG", "off")
        .output()
        .expect("forestall runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A refusal: a non-zero exit and one line on standard error that says what is wrong; nothing on standard output.
fn refusal(output: &Output) -> String {
    assert!(!output.status.success(), "exit code {:?}", output.status.code());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(output.stdout.is_empty(), "{}", stdout(output));
    stderr
}

#[test]
fn help_opens_with_what_forestall_is_and_each_command_offers_only_its_own_settings() {
    let help = stdout(&forestall(&["--help"]));
    assert!(
        help.starts_with("Forestall: proactive customer service from monitoring alerts."),
        "{help}"
    );
    assert!(help.contains("install base items"), "{help}");

    let serve = stdout(&forestall(&["serve", "--help"]));
    for setting in [
        "--addr",
        "--demo",
        "--secure-cookies",
        "--trust-forwarded-for",
        "--live-max-age",
    ] {
        assert!(serve.contains(setting), "serve --help lacks {setting}: {serve}");
    }
    let import = stdout(&forestall(&["import", "--help"]));
    for setting in [
        "--addr",
        "--demo",
        "--secure-cookies",
        "--trust-forwarded-for",
        "--reopen-within",
    ] {
        assert!(
            !import.contains(setting),
            "import --help offers serve's {setting}: {import}"
        );
    }
    assert!(
        import.contains("accounts.csv"),
        "import DIR says what it holds: {import}"
    );
    assert!(import.contains("--database-url"), "{import}");
}

#[test]
fn a_database_in_a_directory_that_does_not_exist_is_refused_in_one_line_and_nothing_is_created() {
    let missing = std::env::temp_dir().join(format!("forestall-cli-{}", std::process::id()));
    let url = format!("sqlite://{}/forestall.db", missing.display());
    let said = refusal(&forestall(&["--database-url", &url, "migrate"]));
    assert!(said.contains("does not exist"), "{said}");
    assert!(said.contains("DATABASE_URL"), "says what to change: {said}");
    assert!(!missing.exists());
}

#[test]
fn an_unreachable_postgresql_is_named_with_what_to_check_and_the_password_is_not_shown() {
    // Nothing listens on port 1.
    let said = refusal(&forestall(&[
        "--database-url",
        "postgres://forestall:s3cret@127.0.0.1:1/forestall",
        "migrate",
    ]));
    assert!(
        said.contains("cannot reach PostgreSQL at 127.0.0.1:1/forestall"),
        "{said}"
    );
    assert!(said.contains("Check that it is running"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
}

#[test]
fn an_unsupported_database_url_names_the_ones_that_are() {
    let said = refusal(&forestall(&[
        "--database-url",
        "mysql://localhost/forestall",
        "migrate",
    ]));
    assert!(said.contains("not supported"), "{said}");
    assert!(said.contains("postgres://"), "{said}");
}

#[test]
fn an_import_from_a_directory_that_does_not_exist_is_refused_before_any_database_is_made() {
    let work = std::env::temp_dir().join(format!("forestall-cli-import-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("work dir");
    let db = work.join("forestall.db");
    let url = format!("sqlite://{}", db.display());
    let said = refusal(&forestall(&["--database-url", &url, "import", "/no/such/cmdb"]));
    assert!(said.contains("/no/such/cmdb does not exist"), "{said}");
    assert!(!db.exists(), "a database was created for an import that could not run");
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn a_wrong_argument_exits_non_zero_and_says_how_to_get_help() {
    let output = forestall(&["import", "--secure-cookies", "dir"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--secure-cookies"), "{stderr}");
    assert!(stderr.contains("--help"), "{stderr}");
}
