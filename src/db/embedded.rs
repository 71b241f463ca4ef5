//! A private PostgreSQL cluster started from the system's binaries, for the embedded default
//! and for the test harness. As root, the server runs as the `postgres` user (initdb refuses
//! root), so the cluster folder must be reachable by that user.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL's server programs were not found (looked in /usr/lib/postgresql/*/bin and PATH); \
         install them with `apt-get install postgresql`"
    )]
    MissingBinaries,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("`{command}` failed: {output}")]
    Command { command: String, output: String },
    #[error(
        "the folder {0} cannot be reached by the `postgres` user (every folder above it must be \
         searchable by others); set CANOPY_DATA_DIR to such a folder \
         outside /root (for example /var/lib/canopy)"
    )]
    Unreachable(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Trade durability for speed: for throw-away test clusters only.
    pub fast_unsafe: bool,
    /// Load `pg_stat_statements` with planning tracked (tests count parse and plan work).
    pub statement_stats: bool,
}

/// A running cluster that listens on a Unix socket inside its own folder only.
#[derive(Debug, Clone)]
pub struct EmbeddedPostgres {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres_user: bool,
}

pub const SUPERUSER: &str = "canopy";

impl EmbeddedPostgres {
    /// Initialises the cluster in `dir` on first use, then starts it unless it already runs.
    pub fn start(dir: &Path, options: &Options) -> Result<Self, EmbeddedError> {
        let bin = find_bin_dir().ok_or(EmbeddedError::MissingBinaries)?;
        let as_postgres_user = is_root();
        std::fs::create_dir_all(dir)?;
        let dir = dir.canonicalize()?;
        let pg = Self {
            dir,
            bin,
            as_postgres_user,
        };
        if as_postgres_user {
            pg.give_to_postgres_user()?;
        }
        if !pg.dir.join("PG_VERSION").exists() {
            pg.initdb()?;
        }
        if !pg.is_running() {
            pg.pg_ctl_start(options)?;
        }
        Ok(pg)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A libpq URL that reaches `database` through the cluster's socket.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost/{database}?host={}",
            self.dir.display()
        )
    }

    pub fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .args(["status", "-D"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    pub fn stop(&self) -> Result<(), EmbeddedError> {
        let mut cmd = self.command("pg_ctl");
        cmd.args(["stop", "-m", "fast", "-w", "-D"]).arg(&self.dir);
        run(cmd, "pg_ctl stop")
    }

    /// Starts the server again after `stop` (used by fault tests and restarts).
    pub fn restart(&self, options: &Options) -> Result<(), EmbeddedError> {
        if !self.is_running() {
            self.pg_ctl_start(options)?;
        }
        Ok(())
    }

    fn initdb(&self) -> Result<(), EmbeddedError> {
        let mut cmd = self.command("initdb");
        cmd.args([
            "-D",
            &self.dir.to_string_lossy(),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
        ]);
        run(cmd, "initdb")
    }

    fn pg_ctl_start(&self, options: &Options) -> Result<(), EmbeddedError> {
        // Listen on the socket in our own folder only: no TCP port to collide with.
        let mut server_opts = format!(
            "-c listen_addresses= -k {} -c unix_socket_permissions=0700 -c max_connections=200",
            self.dir.display()
        );
        if options.fast_unsafe {
            server_opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        if options.statement_stats {
            server_opts.push_str(
                " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on",
            );
        }
        let mut cmd = self.command("pg_ctl");
        cmd.args(["start", "-w", "-t", "60", "-D"])
            .arg(&self.dir)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-o", &server_opts]);
        run(cmd, "pg_ctl start")
    }

    fn give_to_postgres_user(&self) -> Result<(), EmbeddedError> {
        let mut chown = Command::new("chown");
        chown.args(["-R", "postgres:postgres"]).arg(&self.dir);
        run(chown, "chown")?;
        let reachable = Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-w"])
            .arg(&self.dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if reachable {
            Ok(())
        } else {
            Err(EmbeddedError::Unreachable(self.dir.clone()))
        }
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres_user {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), EmbeddedError> {
    let output = cmd.stdin(Stdio::null()).output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(EmbeddedError::Command {
            command: what.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest `/usr/lib/postgresql/<version>/bin`, else the folder of `initdb` on PATH.
pub fn find_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
    })
}

/// On Debian as root, installs the `postgresql` package when its programs are missing.
pub fn install_if_missing() -> Result<(), EmbeddedError> {
    if find_bin_dir().is_some() || !is_root() || !Path::new("/usr/bin/apt-get").exists() {
        return Ok(());
    }
    eprintln!("PostgreSQL is not installed; installing Debian's postgresql package …");
    let mut update = Command::new("apt-get");
    update
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(update, "apt-get update")?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "--no-install-recommends", "postgresql"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(install, "apt-get install postgresql")
}
