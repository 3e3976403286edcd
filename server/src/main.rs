//! `forestall`: serves the workspace, seeds demo data, applies migrations.

use app::store::Store;
use clap::{Parser, Subcommand};
use std::{net::SocketAddr, process::ExitCode};
use tracing_subscriber::EnvFilter;

/// Forestall: proactive customer service from monitoring alerts.
#[derive(Debug, Parser)]
#[command(name = "forestall", version, about)]
struct Cli {
    /// Database URL: sqlite://PATH (created if missing).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://forestall.db", global = true)]
    database_url: String,

    /// Log filter, in tracing's EnvFilter syntax.
    #[arg(long, env = "FORESTALL_LOG", default_value = "info,sqlx=warn", global = true)]
    log: String,

    #[command(flatten)]
    serve: ServeArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the workspace (the default command).
    Serve,
    /// Write the demo data set into an empty database.
    Demo,
    /// Apply pending database migrations and exit.
    Migrate,
}

/// Settings of `serve`, read with or without the subcommand (it is the default).
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: LEPTOS_SITE_ADDR, or 127.0.0.1:3000].
    #[arg(long, env = "FORESTALL_ADDR", global = true)]
    addr: Option<SocketAddr>,

    /// Seed the demo data first when the database is empty.
    #[arg(long, env = "FORESTALL_DEMO", global = true)]
    demo: bool,
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
    let store = Store::open(&cli.database_url).await?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => println!("The database at {} is up to date.", cli.database_url),
        Command::Demo => seed(&store).await?,
        Command::Serve => {
            if cli.serve.demo {
                seed(&store).await?;
            }
            serve(store, cli.serve).await?;
        }
    }
    Ok(())
}

async fn seed(store: &Store) -> Result<(), sqlx::Error> {
    let summary = store.seed_demo().await?;
    if summary.written {
        println!("Demo data written. Alerts to start from:");
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
    let app = server::router(server::app_state(options, store.clone()));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("Forestall listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    store.close().await;
    Ok(())
}
