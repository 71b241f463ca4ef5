//! Every statement the test process sends, through diesel's instrumentation: kept per
//! database for the tests that count them (`sent`, once one asks: `install`), and, for the
//! portal's connections (not the tests' own, `helpers::tests_own`), written to the suite's
//! statement log that `statement_log` plans after the suite.
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};

static TEXTS: OnceLock<Mutex<HashMap<String, Vec<String>>>> = OnceLock::new();

/// The statements each database was sent, as SQL without their bound values.
fn texts() -> &'static Mutex<HashMap<String, Vec<String>>> {
    TEXTS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The `application_name` of the tests' own connections (`helpers::tests_own`).
pub(crate) const TESTS_OWN: &str = "canopy-tests";

/// Counts the statements each connection sends, under the name of its database.
struct Counter {
    database: Option<String>,
    /// A connection of the portal's (not one of the tests' own).
    portal: bool,
}

/// The suite's statement log: each distinct statement a portal connection sent, one JSON
/// string a line, in the file `CANOPY_STATEMENT_LOG` names (`scripts/test` sets it, and
/// `statement_log` reads it after the suite).
fn log_statement(sql: &str) {
    use std::collections::HashSet;
    use std::io::Write;
    /// The statements written so far, and the file.
    type Log = Mutex<(HashSet<String>, std::fs::File)>;
    static LOG: OnceLock<Option<Log>> = OnceLock::new();
    let log = LOG.get_or_init(|| {
        let path = std::env::var("CANOPY_STATEMENT_LOG").ok()?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("the statement log opens");
        Some(Mutex::new((HashSet::new(), file)))
    });
    if let Some(log) = log {
        let mut guard = log.lock().unwrap();
        let (seen, file) = &mut *guard;
        if seen.insert(sql.to_string()) {
            writeln!(file, "{}", serde_json::Value::String(sql.to_string())).unwrap();
        }
    }
}

impl Instrumentation for Counter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                let path = url.split('?').next().unwrap_or(url);
                self.database = path.rsplit('/').next().map(str::to_string);
                self.portal = !url.contains(&format!("application_name={TESTS_OWN}"));
            }
            InstrumentationEvent::StartQuery { query, .. } => {
                if let Some(db) = &self.database {
                    let q = query.to_string();
                    let sql = q.split(" -- binds:").next().unwrap_or_default().to_string();
                    if self.portal {
                        log_statement(&sql);
                    }
                    if !KEEP.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    texts()
                        .lock()
                        .unwrap()
                        .entry(db.clone())
                        .or_default()
                        .push(sql);
                    if std::env::var("CANOPY_SHOW_SQL").is_ok() {
                        let q = query.to_string();
                        println!("SQL[{db}]: {}", &q[..q.len().min(160)]);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether each database's statements are kept for `sent` (once a test asks for them).
static KEEP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Keeps the statements each database is sent, for `sent`.
pub(crate) fn install() {
    KEEP.store(true, std::sync::atomic::Ordering::Relaxed);
    observe();
}

/// Observes every connection made from now on (the statement log; `sent` once installed).
pub(crate) fn observe() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        set_default_instrumentation(|| {
            Some(Box::new(Counter {
                database: None,
                portal: false,
            }))
        })
        .unwrap();
    });
}

pub(crate) fn sent(database_url: &str) -> Vec<String> {
    let path = database_url.split('?').next().unwrap();
    let db = path.rsplit('/').next().unwrap();
    texts().lock().unwrap().get(db).cloned().unwrap_or_default()
}
