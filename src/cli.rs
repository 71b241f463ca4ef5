//! The `canopy` command line: serve, migrate, bootstrap, demo.
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::config::Settings;
use crate::db::{self, embedded};
use crate::domain::alerts::scheduler;
use crate::domain::error::chain;
use crate::domain::setup::{self, SetupError};
use crate::email::worker::Worker;
use crate::startup::Application;

#[derive(Parser)]
#[command(
    name = "canopy",
    version,
    about = "A web portal for hierarchical multi-tenancy"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal (with no CANOPY_DATABASE_URL: a private PostgreSQL in the data folder).
    Serve {
        /// Fill an empty database with the demo tree first.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Create a root tenant and its first admin; the password is read from stdin.
    Bootstrap {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// The admin's display name (default: the email's local part).
        #[arg(long)]
        name: Option<String>,
    },
    /// Fill an empty database with the example tree and print who can sign in.
    Demo {
        /// `large`: the benchmark's data set (10 000 tenants, 1 000 000 devices).
        #[arg(long, value_enum, default_value_t = Size::Small)]
        size: Size,
        /// With `large`: write the data set divided by this (10: 100 000 devices), to measure
        /// how costs grow.
        #[arg(long, default_value_t = 1)]
        scale: usize,
    },
    /// Run the check-in scheduler once, until nothing is due, and say what it did (for cron
    /// and for the benchmark).
    Tick,
    /// Run only the background work (email delivery, the check-in scheduler); `serve` runs
    /// both too.
    Worker,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Size {
    Small,
    Large,
}

/// The database in use, and the embedded server if we started one.
struct Database {
    url: String,
    embedded: Option<embedded::EmbeddedPostgres>,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

fn open_database(settings: &Settings) -> Result<Database, String> {
    if let Some(url) = &settings.database_url {
        return Ok(Database {
            url: url.expose().clone(),
            embedded: None,
        });
    }
    embedded::install_if_missing().map_err(|e| e.to_string())?;
    let pg = embedded::EmbeddedPostgres::start(
        &settings.data_dir.join("postgres"),
        &embedded::Options {
            fast_unsafe: false,
            statement_stats: false,
        },
    )
    .map_err(|e| e.to_string())?;
    let mut admin = PgConnection::establish(&pg.url("postgres")).map_err(|e| e.to_string())?;
    let exists: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM pg_database WHERE datname = 'canopy')",
    ))
    .get_result(&mut admin)
    .map_err(|e| e.to_string())?;
    if exists == 0 {
        diesel::sql_query("CREATE DATABASE canopy")
            .execute(&mut admin)
            .map_err(|e| e.to_string())?;
    }
    Ok(Database {
        url: pg.url("canopy"),
        embedded: Some(pg),
    })
}

fn connect_and_migrate(settings: &Settings) -> Result<(Database, PgConnection), String> {
    let database = open_database(settings)?;
    let mut conn = PgConnection::establish(&database.url)
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    db::migrate(&mut conn).map_err(|e| e.to_string())?;
    Ok((database, conn))
}

pub fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match cli.command {
        Command::Migrate => match connect_and_migrate(&settings) {
            Ok(_) => {
                println!("The database is up to date.");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Bootstrap {
            tenant,
            email,
            name,
        } => bootstrap(&settings, &tenant, &email, name),
        Command::Demo { size, scale } => match connect_and_migrate(&settings) {
            Ok((_, mut conn)) => match size {
                Size::Small => demo(&mut conn),
                Size::Large => large_demo(&mut conn, scale),
            },
            Err(e) => fail(e),
        },
        Command::Serve { demo: with_demo } => serve(settings, with_demo),
        Command::Worker => worker(settings),
        Command::Tick => tick(settings),
    }
}

fn tick(settings: Settings) -> ExitCode {
    let (database, mut conn) = match connect_and_migrate(&settings) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let outcome = notices(&settings).map_err(|e| e.to_string()).and_then(|n| {
        let started = std::time::Instant::now();
        scheduler::pass(&mut conn, &n, 500)
            .map(|p| (p, started.elapsed()))
            .map_err(|e| chain(&e))
    });
    drop(conn);
    if let Some(pg) = database.embedded {
        let _ = pg.stop();
    }
    match outcome {
        Ok((p, took)) => {
            println!(
                "Scheduler pass: {} alerts opened, {} alert steps taken, in {:.2} s.",
                p.opened,
                p.steps,
                took.as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn bootstrap(settings: &Settings, tenant: &str, email: &str, name: Option<String>) -> ExitCode {
    let (_db, mut conn) = match connect_and_migrate(settings) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if std::io::stdin().is_terminal() {
        print!("Password for {email} (at least 12 characters): ");
        let _ = std::io::stdout().flush();
    }
    let mut password = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut password) {
        return fail(format!("cannot read the password from stdin: {e}"));
    }
    let password = password.trim_end_matches(['\r', '\n']);
    match setup::bootstrap(&mut conn, tenant, email, name.as_deref(), password) {
        Ok((tenant, user)) => {
            println!(
                "Created root tenant {:?} with admin {}. Sign in at {}/login",
                tenant.name, user.email, settings.base_url
            );
            ExitCode::SUCCESS
        }
        Err(SetupError::Domain(e)) => fail(chain(&e)),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn demo(conn: &mut PgConnection) -> ExitCode {
    match setup::demo(conn) {
        Ok(demo) => {
            println!(
                "Demo data loaded. Every account's password is: {}",
                demo.password
            );
            for a in demo.accounts {
                println!("  {:<34} {:<9} in {}", a.email, a.role.as_str(), a.tenant);
            }
            ExitCode::SUCCESS
        }
        Err(SetupError::NotEmpty) => fail(SetupError::NotEmpty),
        Err(e) => fail(e),
    }
}

fn large_demo(conn: &mut PgConnection, scale: usize) -> ExitCode {
    let started = std::time::Instant::now();
    let scale = crate::domain::large_demo::Scale::divided_by(scale);
    match crate::domain::large_demo::load(conn, scale) {
        Ok(d) => {
            println!(
                "Large demo loaded in {:.1} s.",
                started.elapsed().as_secs_f64()
            );
            println!(
                "{} tenants, {} devices, {} users, {} invitations.",
                scale.tenants, scale.devices, scale.users, scale.invitations
            );
            println!("Every account's password is: {}", d.password);
            println!("  root admin: {}", d.root_admin);
            println!("  mid-level admin: {}", d.mid_admin);
            println!("  leaf admin: {}", d.leaf_admin);
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn serve(settings: Settings, with_demo: bool) -> ExitCode {
    let (database, mut conn) = match connect_and_migrate(&settings) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let has_tenants = crate::domain::tenants::any_exists(&mut conn).unwrap_or(false);
    if with_demo && !has_tenants && demo(&mut conn) != ExitCode::SUCCESS {
        return ExitCode::FAILURE;
    }
    let has_tenants = has_tenants || with_demo;
    drop(conn);
    let pool = db::pool(&database.url, settings.pool_size);
    let base_url = settings.base_url.clone();
    let mail = settings.mail.clone();
    let mail_to = mail.smtp_url.clone();
    let notices = match notices(&settings) {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    let result = actix_web::rt::System::new().block_on(async move {
        let retention = settings.checkin_retention_months;
        let app = Application::build(settings, pool.clone())?;
        println!("Canopy is running at {base_url}/");
        if has_tenants {
            println!("Sign in at {base_url}/login");
        } else {
            println!(
                "No tenant exists yet. Create the first one with:\n  \
                 echo 'a long password' | canopy bootstrap --tenant \"Your Company\" --email you@example.com\n\
                 or restart with `canopy serve --demo` for the example tree."
            );
        }
        match (&mail_to, app.mailbox_key()) {
            (None, Some(key)) => println!(
                "Email goes to the local mailbox, for you alone (keep this link to yourself): \
                 {base_url}/mailbox?key={key}"
            ),
            (None, None) => println!(
                "warning: email is not delivered: no CANOPY_SMTP_URL, and the portal is \
                 reached beyond this machine ({base_url}), so the local mailbox is off. Email \
                 is kept in the database but neither sent nor shown; set CANOPY_SMTP_URL."
            ),
            (Some(_), _) => println!("Email is sent through CANOPY_SMTP_URL."),
        }
        actix_web::rt::spawn(housekeeping(pool.clone(), retention));
        actix_web::rt::spawn(watch_check_ins(pool.clone(), notices));
        let hooks = crate::hooks::Sender::new(pool.clone()).map_err(std::io::Error::other)?;
        actix_web::rt::spawn(hooks.run(mail.poll));
        let worker = Worker::new(pool, &mail).map_err(std::io::Error::other)?;
        actix_web::rt::spawn(worker.run());
        app.run_until_stopped().await
    });
    if let Some(pg) = database.embedded
        && let Err(e) = pg.stop()
    {
        eprintln!("warning: stopping the embedded PostgreSQL: {e}");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn worker(settings: Settings) -> ExitCode {
    let (database, conn) = match connect_and_migrate(&settings) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    drop(conn);
    let pool = db::pool(&database.url, 4);
    let notices = match notices(&settings) {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    let result = actix_web::rt::System::new().block_on(async move {
        let worker = Worker::new(pool.clone(), &settings.mail)?;
        let hooks = crate::hooks::Sender::new(pool.clone())?;
        actix_web::rt::spawn(hooks.run(settings.mail.poll));
        actix_web::rt::spawn(watch_check_ins(pool, notices));
        println!("Delivering email and webhooks, and watching check-ins; stop with Ctrl-C.");
        tokio::select! {
            _ = worker.run() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok::<(), crate::error::AppError>(())
    });
    if let Some(pg) = database.embedded {
        let _ = pg.stop();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// How often each instance's scheduler looks for missed check-ins and alerts' next steps.
const SCHEDULER_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// What the check-in scheduler needs to write alert emails: links back, and their signing key.
fn notices(settings: &Settings) -> std::io::Result<scheduler::Notices> {
    Ok(scheduler::Notices {
        base_url: settings.base_url.clone(),
        key: crate::startup::alert_key(&crate::startup::secret_key(settings)?),
    })
}

/// The check-in scheduler's loop: a pass now and then, in every instance (`scheduler`).
async fn watch_check_ins(pool: db::DbPool, notices: scheduler::Notices) {
    loop {
        let n = notices.clone();
        if let Err(e) = db::run_with(&pool, move |c| scheduler::pass(c, &n, 200)).await {
            tracing::warn!(error = %e, "check-in scheduler");
        }
        actix_web::rt::time::sleep(SCHEDULER_EVERY).await;
    }
}

/// Removes expired sessions and old sign-in failures, makes the check-ins' months ahead and
/// drops those past the retention, now and then; any instance may do it.
async fn housekeeping(pool: db::DbPool, retention_months: u32) {
    loop {
        let _ = db::run(&pool, move |conn| {
            crate::web::session_store::purge_expired(conn)?;
            crate::domain::throttle::purge_expired(conn)?;
            if let Err(e) = crate::domain::checkins::partitions::maintain(
                conn,
                Some(retention_months).filter(|m| *m > 0),
            ) {
                tracing::warn!(error = %chain(&e), "check-in partitions");
            }
            Ok(())
        })
        .await;
        actix_web::rt::time::sleep(std::time::Duration::from_secs(600)).await;
    }
}
