//! The `rapport` command: serve (default), migrate, token, export-schema,
//! seed and bench.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use rapport::auth::{Claims, Role, mint_token};
use rapport::config::{JwtAlgorithm, Settings};
use rapport::contract::jobs::{JobOutcome, JobTrigger};
use rapport::service::jobs;
use rapport::{Application, database, telemetry};

#[derive(Parser)]
#[command(name = "rapport", version, about = "Customer relationship maintenance API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a development JWT signed with the configured HS256 secret.
    Token {
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "dev")]
        sub: String,
        #[arg(long)]
        customer_id: Option<uuid::Uuid>,
        #[arg(long)]
        partner_id: Option<String>,
        /// Lifetime: e.g. 90s, 30m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
    /// Write schema/schema.graphql and schema/openapi.json.
    ExportSchema {
        #[arg(long, default_value = "schema")]
        dir: PathBuf,
    },
    /// Fill the configured database with realistic, reproducible customers and orders.
    Seed {
        #[arg(long, default_value_t = 10_000)]
        customers: u64,
        #[arg(long, default_value_t = 100_000)]
        orders: u64,
        /// Random seed: the same seed gives the same data (on the same day).
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// List the background jobs with their last runs, or run one now.
    Jobs {
        #[command(subcommand)]
        what: JobsCommand,
    },
    /// Erase again every customer the erasure records name (after restoring a backup).
    Erase {
        /// Required: repeat the recorded erasures.
        #[arg(long)]
        replay: bool,
    },
    /// Time operations on a seeded PostgreSQL database.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Every job: schedule, last run and outcome (JSON).
    List,
    /// Run a job now, here, and print its run (JSON); fails while another
    /// instance runs it, or when the run fails.
    Run {
        /// A job name, as `rapport jobs list` prints them.
        name: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Picks the customers `benches/http.sh` requests (the first buyers by id)
    /// and gives them contacts, interactions and open feedback, then computes RFM.
    HotSet {
        #[arg(long, default_value_t = 1_000)]
        customers: u64,
        /// Only print the ids, one per line.
        #[arg(long)]
        ids_only: bool,
    },
    /// RFM recompute vs hand-written SQL, segment preview and refresh, peak memory.
    Segments {
        /// Runs of each timed step (the median is printed).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

fn parse_ttl(raw: &str) -> anyhow::Result<i64> {
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: i64 = digits.parse().with_context(|| format!("bad --ttl {raw:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => bail!("bad --ttl unit in {raw:?}: use s, m, h or d"),
    };
    if secs <= 0 {
        bail!("--ttl must be positive");
    }
    Ok(secs)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::load()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            telemetry::init(&settings.log);
            settings.resolve_secret()?;
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "listening");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            telemetry::init(&settings.log);
            let db = database::connect(&settings, Default::default()).await?;
            database::migrate(&db).await?;
            println!("migrations applied");
        }
        Command::Token {
            role,
            sub,
            customer_id,
            partner_id,
            ttl,
        } => {
            if settings.auth.algorithm != JwtAlgorithm::HS256 {
                bail!(
                    "`rapport token` signs HS256 tokens only; tokens for {:?} come from your identity provider",
                    settings.auth.algorithm
                );
            }
            settings.resolve_secret()?;
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: use one of admin, manager, agent, analyst, partner, customer")
            })?;
            if role == Role::Customer && customer_id.is_none() {
                bail!("--customer-id is required for the customer role");
            }
            let now = chrono::Utc::now().timestamp();
            let claims = Claims {
                sub,
                role,
                customer_id,
                partner_id,
                iss: settings.auth.issuer.clone(),
                aud: settings.auth.audience.clone(),
                iat: now,
                exp: now + parse_ttl(&ttl)?,
            };
            let secret = settings.auth.jwt_secret.as_ref().context("no JWT secret")?;
            println!("{}", mint_token(secret.expose(), &claims)?);
        }
        Command::Seed {
            customers,
            orders,
            seed,
        } => {
            telemetry::init(&settings.log);
            let db = database::connect(&settings, Default::default()).await?;
            database::migrate(&db).await?;
            let plan = rapport::cli::seed::SeedPlan {
                customers,
                orders,
                seed,
            };
            print!("{}", rapport::cli::seed::seed(&db, plan).await?);
        }
        Command::Bench {
            what: BenchCommand::HotSet { customers, ids_only },
        } => {
            telemetry::init(&settings.log);
            let db = database::connect(&settings, Default::default()).await?;
            database::migrate(&db).await?;
            if !ids_only {
                rapport::cli::bench::fill_hot_set(&db, customers).await?;
            }
            for id in rapport::cli::bench::hot_ids(&db, customers).await? {
                println!("{id}");
            }
        }
        Command::Bench {
            what: BenchCommand::Segments { runs },
        } => {
            telemetry::init(&settings.log);
            let db = database::connect(&settings, Default::default()).await?;
            database::migrate(&db).await?;
            rapport::cli::bench::segments(&db, &settings.database.url, runs).await?;
        }
        Command::Jobs { what } => {
            telemetry::init(&settings.log);
            let db = database::connect(&settings, Default::default()).await?;
            database::migrate(&db).await?;
            let ctx = jobs::JobContext::new(db, std::sync::Arc::new(settings))?;
            match what {
                JobsCommand::List => println!("{}", serde_json::to_string_pretty(&jobs::list_all(&ctx).await?)?),
                JobsCommand::Run { name } => {
                    let job = jobs::parse_name(&name).map_err(|_| anyhow::anyhow!("no job named {name:?}"))?;
                    let run = jobs::run(&ctx, job, JobTrigger::Cli)
                        .await?
                        .with_context(|| format!("{name} is running on another instance"))?;
                    println!("{}", serde_json::to_string_pretty(&run)?);
                    if run.last_outcome == Some(JobOutcome::Failed) {
                        bail!("{name} failed");
                    }
                }
            }
        }
        Command::Erase { replay } => {
            if !replay {
                bail!(
                    "erasing a customer is `POST /api/v1/customers/{{id}}/erase`; `rapport erase --replay` repeats the recorded erasures"
                );
            }
            telemetry::init(&settings.log);
            let db = database::connect(&settings, Default::default()).await?;
            database::migrate(&db).await?;
            let n = rapport::service::privacy::replay(&db).await?;
            println!("{n} recorded erasures applied again");
        }
        Command::ExportSchema { dir } => {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("schema.graphql"), rapport::graphql::schema().sdl())?;
            std::fs::write(dir.join("openapi.json"), rapport::http::docs::openapi_json()?)?;
            println!(
                "wrote {}/schema.graphql and {}/openapi.json",
                dir.display(),
                dir.display()
            );
        }
    }
    Ok(())
}
