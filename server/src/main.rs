//! `forestall`: serves the workspace, seeds demo data, applies migrations.

use app::{
    access::Role,
    auth::server::{check_password_rules, generate_password},
    import::Progress,
    ingest::Lifecycle,
    notices::server::{outbox::check_mail_from, NoticeSettings, Transport},
    state::Settings,
    store::Store,
};
use clap::{Parser, Subcommand};
use std::{io::BufRead, net::SocketAddr, process::ExitCode};
use tracing_subscriber::EnvFilter;

mod bench;
mod bench_alerts;
mod bench_changes;
mod bench_ingest;
mod bench_live;

/// What `forestall --help` opens with.
const ABOUT: &str = "Forestall: proactive customer service from monitoring alerts.";
const LONG_ABOUT: &str = "Forestall: proactive customer service from monitoring alerts.

Monitoring raises an alert on a configuration item; Forestall traces which customers' install base items it affects
through the CMDB's relationships, opens a proactive case for them before anyone calls, and keeps every open page
up to date as the alert, the case and the CMDB change.

Run with no command to serve the workspace (the same as `forestall serve`). Every setting is also an environment
variable, shown in brackets; `.env.example` lists them all.";

#[derive(Debug, Parser)]
#[command(name = "forestall", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// Database URL: sqlite://PATH (a file, created if missing) or postgres://USER@HOST:PORT/DATABASE.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://forestall.db", global = true)]
    database_url: String,

    /// Log filter, in tracing's EnvFilter syntax.
    #[arg(long, env = "FORESTALL_LOG", default_value = "info,sqlx=warn", global = true)]
    log: String,

    #[command(subcommand)]
    command: Option<Command>,
}

/// `forestall` with no command: `serve`, its settings from the environment alone.
#[derive(Debug, Parser)]
struct DefaultServe {
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the workspace (the default command).
    Serve(ServeArgs),
    /// Write the demo data set into an empty database.
    Demo,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write a synthetic CMDB of SIZE CIs and install base items (in the import format) into DIR.
    Gen {
        /// The directory to write the CSV files to (created if missing), ready for `forestall import DIR`.
        dir: std::path::PathBuf,
        /// How many configuration items, and as many install base items.
        #[arg(long, default_value_t = 100_000)]
        size: u64,
        /// The same seed writes the same CMDB.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure the trace (and the import) on generated CMDBs; prints the tables of BENCHMARKS.md.
    Bench(bench::BenchArgs),
    /// Measure event ingestion: events per second batched and single, and request latency under concurrent
    /// senders; prints the table of BENCHMARKS.md.
    BenchIngest(bench_ingest::IngestBenchArgs),
    /// Measure live updates: streams held open, a burst of changes, the time until every stream has each, and the
    /// memory per stream; prints the table of BENCHMARKS.md.
    BenchLive(bench_live::LiveBenchArgs),
    /// Time All Alerts over a year of alerts (BENCHMARKS.md).
    BenchAlerts(bench_alerts::AlertsBenchArgs),
    /// Measure the refresh right after a one-row CMDB change (the graph brought up to date from the change record)
    /// against reading the graph whole; prints the table of BENCHMARKS.md.
    BenchChanges(bench_changes::ChangesBenchArgs),
    /// Load a CMDB from CSV files in DIR (all or nothing; rows are upserted by natural key). See the README.
    Import {
        /// A directory holding any of accounts.csv, contacts.csv, products.csv, configuration_items.csv,
        /// ci_relationships.csv and install_base_items.csv (the README, "Importing a CMDB", has their columns).
        dir: std::path::PathBuf,
    },
    /// Copy the SQLite database, as one consistent snapshot, to the new file PATH, while it serves (PostgreSQL: use
    /// pg_dump; the README has the commands).
    Backup {
        /// The backup to write; it must not exist yet.
        path: std::path::PathBuf,
    },
    /// Put the backup PATH in place of the SQLite database; refused while a server runs on it. The database as it
    /// was is kept beside it as DATABASE.before-restore.
    Restore {
        /// A file `forestall backup` wrote.
        path: std::path::PathBuf,
    },
    /// Manage the users who may sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the API tokens monitoring tools send to the ingestion endpoints.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `forestall token …`. Every change is in the audit log, by "command line".
#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token named NAME (say, for the tool that sends it) and print it, once.
    Create {
        /// The token's name, unique: say, the monitoring tool that sends it.
        name: String,
    },
    /// Refuse the token named NAME from now on.
    Revoke {
        /// The name it was created with (`forestall token list`).
        name: String,
    },
    /// List the tokens (names and dates; the tokens themselves are not kept).
    List,
}

/// `forestall user …`. Passwords are read from standard input with `--password-stdin`, else generated and printed
/// once. Every change is in the audit log, by "command line".
#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user with a role.
    Add {
        /// The user name they sign in with.
        name: String,
        /// One of admin, evt_mgmt_admin, evt_mgmt_operator, sn_customerservice_agent, evt_mgmt_user.
        #[arg(long)]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (ending the user's sessions).
    ResetPassword {
        /// The user's name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Give a user another role.
    Role {
        /// The user's name.
        name: String,
        /// One of admin, evt_mgmt_admin, evt_mgmt_operator, sn_customerservice_agent, evt_mgmt_user.
        role: Role,
    },
    /// Stop a user from signing in (ending their sessions).
    Disable {
        /// The user's name.
        name: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        /// The user's name.
        name: String,
    },
    /// List the users.
    List,
}

/// Settings of `serve` (with no command, from the environment).
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: LEPTOS_SITE_ADDR, or 127.0.0.1:3000].
    #[arg(long, env = "FORESTALL_ADDR")]
    addr: Option<SocketAddr>,

    /// Seed the demo data first when the database is empty.
    #[arg(long, env = "FORESTALL_DEMO")]
    demo: bool,

    /// Mark the session cookie Secure and send HSTS. Set it when users reach Forestall over https.
    #[arg(long, env = "FORESTALL_SECURE_COOKIES")]
    secure_cookies: bool,

    /// Take the client address from X-Forwarded-For (for sign-in throttling and the audit log): the right-most
    /// entry, the one the proxy added. Set it only behind a proxy that appends to that header.
    #[arg(long, env = "FORESTALL_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,

    /// Behind N proxies that each append to X-Forwarded-For, take the client address N entries from the right
    /// (implies --trust-forwarded-for; 0: as that flag says).
    #[arg(long, env = "FORESTALL_TRUSTED_PROXIES", default_value_t = 0)]
    trusted_proxies: u8,

    /// When an alert is opened by someone who may refresh it and the CMDB changed since its install base snapshot
    /// was taken, refresh the snapshot first.
    #[arg(long, env = "FORESTALL_REFRESH_STALE_ON_OPEN")]
    refresh_stale_on_open: bool,

    /// An event for an alert closed at most this many seconds ago reopens it; a later one raises a new alert.
    #[arg(long, env = "FORESTALL_REOPEN_WITHIN", default_value_t = 3600)]
    reopen_within: u32,

    /// An alert reopened FLAP_THRESHOLD times within this many seconds is marked Flapping.
    #[arg(long, env = "FORESTALL_FLAP_WINDOW", default_value_t = 3600)]
    flap_window: u32,

    /// End each live stream after this many seconds (the page reconnects at once and misses nothing), so that
    /// streams spread over instances added behind a load balancer; 0 for no limit.
    #[arg(long, env = "FORESTALL_LIVE_MAX_AGE", default_value_t = 600)]
    live_max_age: u64,

    /// How many reopens within the flap window make an alert Flapping.
    #[arg(long, env = "FORESTALL_FLAP_THRESHOLD", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    flap_threshold: u32,

    /// The bearer token a Prometheus scrape of /metrics must send. Without it, /metrics answers scrapers on this
    /// machine (loopback) only.
    #[arg(long, env = "FORESTALL_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,

    /// Send customer notices through this SMTP server, as smtp://host:port (plain SMTP, as to a relay; port 25
    /// when left out). Without it, notices are written to --outbox-dir as .eml files and listed on Sent notices.
    #[arg(long, env = "FORESTALL_SMTP_URL")]
    smtp_url: Option<String>,

    /// The From of customer notices; its domain is also the Message-IDs' (which let receivers drop a resent copy).
    #[arg(
        long,
        env = "FORESTALL_MAIL_FROM",
        default_value = "Forestall <notices@forestall.invalid>"
    )]
    mail_from: String,

    /// Where notices are written as .eml files when no --smtp-url is given.
    #[arg(long, env = "FORESTALL_OUTBOX_DIR", default_value = "notices")]
    outbox_dir: std::path::PathBuf,

    /// Minutes from a notice to the next update that is due, for priorities 1 to 4 (Critical to Low).
    #[arg(long, env = "FORESTALL_UPDATE_EVERY", default_value = "60,240,1440,4320", value_parser = parse_cadence)]
    update_every: Cadence,

    /// Seconds the rule's initial notice waits for the alert to stay open (and not flap) before it goes out.
    #[arg(long, env = "FORESTALL_NOTICE_HOLD_DOWN", default_value_t = 300)]
    notice_hold_down: u32,

    /// Remove closed alerts that no case or incident names once they have been closed this many days (checked
    /// every ten minutes, in batches of 50); kept for ever without it.
    #[arg(long, env = "FORESTALL_RETAIN_CLOSED_ALERTS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    retain_closed_alerts: Option<u32>,
}

/// Minutes between updates, by priority.
#[derive(Clone, Copy, Debug)]
struct Cadence([i64; 4]);

fn parse_cadence(text: &str) -> Result<Cadence, String> {
    let minutes: Vec<i64> = text
        .split(',')
        .map(|part| part.trim().parse::<i64>().ok().filter(|m| (1..=525_600).contains(m)))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("“{text}”: give four numbers of minutes (1 to 525600), as 60,240,1440,4320"))?;
    <[i64; 4]>::try_from(minutes)
        .map(Cadence)
        .map_err(|_| format!("“{text}”: give four numbers of minutes, one per priority, as 60,240,1440,4320"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("forestall: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    // These two bring their own databases (or none).
    match cli.command {
        Some(Command::Gen { dir, size, seed }) => {
            let generated = app::import::generate(&dir, size, seed)?;
            println!(
                "Wrote {} accounts, {} CIs, {} relationships and {} install base items to {} (seed {seed}).",
                generated.accounts,
                generated.cis,
                generated.relationships,
                generated.items,
                dir.display()
            );
            return Ok(());
        }
        Some(Command::Bench(args)) => return bench::run(args).await,
        Some(Command::BenchIngest(args)) => return bench_ingest::run(args).await,
        Some(Command::BenchLive(args)) => return bench_live::run(args).await,
        Some(Command::BenchAlerts(args)) => return bench_alerts::run(args).await,
        Some(Command::BenchChanges(args)) => return bench_changes::run(args).await,
        Some(Command::Restore { ref path }) => {
            let database = app::store::backup::restore(&cli.database_url, path).await?;
            println!(
                "Restored {} from {}; the database as it was is kept as {}.before-restore.",
                database.display(),
                path.display(),
                database.display()
            );
            return Ok(());
        }
        Some(Command::Import { ref dir }) => {
            if let Some(problem) = import_dir_problem(dir) {
                return Err(problem.into());
            }
        }
        _ => {}
    }
    // Held while serving: a restore refuses while any server runs on the file, and no server starts during one.
    let _serving = match &cli.command {
        None | Some(Command::Serve(_)) => app::store::backup::ServeLock::acquire(&cli.database_url)?,
        _ => None,
    };
    if matches!(cli.command, Some(Command::Backup { .. })) && cli.database_url.starts_with("postgres") {
        return Err(app::store::backup::BackupError::Postgres.into());
    }
    let store = Store::open(&cli.database_url).await?;
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(DefaultServe::parse_from(["forestall"]).serve));
    match command {
        Command::Migrate => println!("The database at {} is up to date.", cli.database_url),
        Command::Demo => seed(&store).await?,
        Command::User(command) => user(&store, command).await?,
        Command::Token(command) => token(&store, command).await?,
        Command::Import { dir } => import(&store, &dir).await?,
        Command::Backup { path } => {
            let report = store.backup_to(&path).await?;
            println!(
                "Backed up to {} ({:.1} MB in {:.2} s).",
                report.path.display(),
                report.bytes as f64 / 1e6,
                report.seconds
            );
        }
        Command::Restore { .. } => unreachable!("handled before the database is opened"),
        Command::Gen { .. }
        | Command::Bench(_)
        | Command::BenchIngest(_)
        | Command::BenchLive(_)
        | Command::BenchAlerts(_)
        | Command::BenchChanges(_) => {
            unreachable!("handled before the database is opened")
        }
        Command::Serve(args) => {
            if args.demo {
                seed(&store).await?;
            }
            serve(store, args).await?;
        }
    }
    Ok(())
}

async fn seed(store: &Store) -> Result<(), sqlx::Error> {
    let summary = store.seed_demo().await?;
    if summary.written {
        let history = store.seed_demo_history().await?;
        println!("Demo data written, with {history} alerts of the six weeks before this one. Alerts to start from:");
        for (number, description) in summary.alerts {
            println!("  {number}  {description}");
        }
    } else {
        println!("The database already holds data; demo data not written.");
    }
    Ok(())
}

async fn serve(store: Store, args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = leptos::config::get_configuration(None)?.leptos_options;
    if options.output_name.is_empty() {
        // Built by plain cargo rather than cargo-leptos: the site's files are still named forestall.*.
        options.output_name = "forestall".into();
    }
    if let Some(addr) = args.addr {
        options.site_addr = addr;
    }
    let addr = options.site_addr;
    let settings = Settings {
        trusted_proxies: match (args.trusted_proxies, args.trust_forwarded_for) {
            (0, true) => 1,
            (hops, _) => hops,
        },
        secure_cookies: args.secure_cookies,
        refresh_stale_on_open: args.refresh_stale_on_open,
        lifecycle: Lifecycle {
            reopen_within_secs: i64::from(args.reopen_within),
            flap_window_secs: i64::from(args.flap_window),
            flap_threshold: i64::from(args.flap_threshold),
        },
        live_max_age: (args.live_max_age > 0).then(|| std::time::Duration::from_secs(args.live_max_age)),
        metrics_token: args.metrics_token.clone().filter(|t| !t.is_empty()),
        notices: NoticeSettings {
            cadence_minutes: args.update_every.0,
            hold_down_secs: i64::from(args.notice_hold_down),
            mail_from: check_mail_from(&args.mail_from)?,
            transport: Transport::parse(args.smtp_url.as_deref(), args.outbox_dir.clone())?,
            ..NoticeSettings::default()
        },
    };
    tracing::info!(to = %settings.notices.transport.describe(), "customer notices");
    if !args.demo {
        // Five password checks: beside the start, not before it.
        let check = store.clone();
        tokio::spawn(async move { warn_of_demo_credentials(&check).await });
    }
    let state = server::app_state(options, store.clone(), settings);
    let changes = state.changes.clone();
    let app = server::router(state);
    // Start reading the impact graph now rather than at the first refresh (seconds, for a CMDB of a million rows);
    // refreshes meanwhile trace in SQL.
    let warm = store.clone();
    tokio::spawn(async move {
        if let Err(error) = async { warm.impact_graph(warm.cmdb_version().await?).await }.await {
            tracing::warn!(%error, "could not start reading the CMDB's impact graph");
        }
    });
    if let Some(days) = args.retain_closed_alerts {
        app::alerts::retention::start(store.clone(), days);
    }
    let listener = server::listen(addr).await?;
    tracing::info!("Forestall listening on http://{addr}");
    // The peer address is what sign-in throttling counts failures by.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            stop_requested().await;
            tracing::info!("stopping: closing live streams, finishing requests in flight");
            // Open pages' streams end here (their pages reconnect to whoever serves next), so the server does not
            // wait for them forever.
            changes.close();
        })
        .await?;
    store.close().await;
    Ok(())
}

/// Says at start which of the demo's published credentials still work on a server that is not serving the demo.
async fn warn_of_demo_credentials(store: &Store) {
    match store.demo_credentials_in_use().await {
        Ok(in_use) => {
            for credential in in_use {
                tracing::warn!(
                    "the demo's {credential} still works: anyone who read the README can use it \
                     (forestall user reset-password / forestall token revoke)"
                );
            }
        }
        Err(error) => tracing::warn!(%error, "could not check for the demo's credentials"),
    }
}

/// Ctrl-C or SIGTERM (what service managers and `kill` send).
async fn stop_requested() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Why `dir` cannot be imported from, said before the database is opened (or created).
fn import_dir_problem(dir: &std::path::Path) -> Option<String> {
    let what = match (dir.is_dir(), dir.exists()) {
        (true, _) => return None,
        (false, true) => "is not a directory",
        (false, false) => "does not exist",
    };
    Some(format!(
        "import: {} {what}: name the directory that holds the CSV files (forestall import --help)",
        dir.display()
    ))
}

async fn import(store: &Store, dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let report = store
        .import_dir(dir, |progress| match progress {
            Progress::Copying => eprintln!("Copying the CMDB into a staging database beside this one."),
            Progress::Rows { file, rows } => eprint!("\r{file}: {rows} rows read   "),
            Progress::Merging => eprint!("\nMerging the changes into the database (one short transaction)..."),
        })
        .await;
    eprintln!();
    let report = report.map_err(|error| format!("import stopped, nothing was imported. {error}"))?;
    let rows: u64 = report.files.iter().map(|f| f.rows).sum();
    for file in &report.files {
        println!(
            "{:<26} {:>9} rows  {:>9} inserted  {:>9} updated",
            file.file, file.rows, file.inserted, file.updated
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "Imported {rows} rows in {seconds:.1} s ({:.0} rows/s); {} records inserted or changed.",
        rows as f64 / seconds.max(0.001),
        report.changed()
    );
    if let Some(merge) = report.merge {
        println!(
            "Merged in {:.2} s: the longest any other writer waited for this import.",
            merge.as_secs_f64()
        );
    }
    Ok(())
}

/// The actor the audit log names for changes made with `forestall user`.
const CLI_ACTOR: &str = "command line";

async fn user(store: &Store, command: UserCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            store.add_user(&name, role, &password, CLI_ACTOR).await?;
            println!("Added {name} with role {role}.");
            if generated {
                println!("Password (shown once): {password}");
            }
        }
        UserCommand::ResetPassword { name, password_stdin } => {
            let (password, generated) = password(password_stdin)?;
            store.reset_password(&name, &password, CLI_ACTOR).await?;
            println!("New password set for {name}; their sessions have ended.");
            if generated {
                println!("Password (shown once): {password}");
            }
        }
        UserCommand::Role { name, role } => {
            store.set_user_role(&name, role, CLI_ACTOR).await?;
            println!("{name} now has role {role}.");
        }
        UserCommand::Disable { name } => {
            store.set_user_disabled(&name, true, CLI_ACTOR).await?;
            println!("{name} is disabled; their sessions have ended.");
        }
        UserCommand::Enable { name } => {
            store.set_user_disabled(&name, false, CLI_ACTOR).await?;
            println!("{name} is enabled.");
        }
        UserCommand::List => {
            for user in store.list_users().await? {
                let disabled = if user.disabled { "  (disabled)" } else { "" };
                println!(
                    "{:<24} {:<26} added {}{disabled}",
                    user.name, user.role, user.created_at
                );
            }
        }
    }
    Ok(())
}

async fn token(store: &Store, command: TokenCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        TokenCommand::Create { name } => {
            let token = store.create_token(&name, CLI_ACTOR).await?;
            println!("Created token {name}. Send it as Authorization: Bearer <token>.");
            println!("Token (shown once): {token}");
        }
        TokenCommand::Revoke { name } => {
            store.revoke_token(&name, CLI_ACTOR).await?;
            println!("Token {name} is revoked: requests that send it are refused.");
        }
        TokenCommand::List => {
            for token in store.list_tokens().await? {
                let revoked = token
                    .revoked_at
                    .map(|at| format!("  (revoked {at})"))
                    .unwrap_or_default();
                println!(
                    "{:<24} created {} by {}{revoked}",
                    token.name, token.created_at, token.created_by
                );
            }
        }
    }
    Ok(())
}

/// The password from standard input's first line, or a generated one (and whether it was generated).
fn password(from_stdin: bool) -> Result<(String, bool), Box<dyn std::error::Error>> {
    if !from_stdin {
        return Ok((generate_password(), true));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    check_password_rules(&password)?;
    Ok((password, false))
}
