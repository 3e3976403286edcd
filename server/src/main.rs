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
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://forestall.db",
        global = true
    )]
    database_url: String,

    /// Log filter, in tracing's EnvFilter syntax.
    #[arg(
        long,
        env = "FORESTALL_LOG",
        default_value = "info,sqlx=warn",
        global = true
    )]
    log: String,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the workspace (the default command).
    Serve(ServeArgs),
    /// Write the demo data set into an empty database.
    Demo,
    /// Apply pending database migrations and exit.
    Migrate,
}

#[derive(Debug, Default, clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: LEPTOS_SITE_ADDR, or 127.0.0.1:3000].
    #[arg(long, env = "FORESTALL_ADDR")]
    addr: Option<SocketAddr>,

    /// Seed the demo data first when the database is empty.
    #[arg(long, env = "FORESTALL_DEMO")]
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
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Migrate => println!("The database at {} is up to date.", cli.database_url),
        Command::Demo => seed(&store).await?,
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
