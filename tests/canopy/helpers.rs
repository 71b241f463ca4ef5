//! spawn_app(): a real server on a free port with its own fresh database.
#![allow(dead_code)]
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use canopy::config::Settings;
use canopy::db::embedded::{EmbeddedPostgres, Options};
use canopy::db::{self, DbPool};
use canopy::domain::audit::Actor;
use canopy::domain::ids::{TenantId, UserId};
use canopy::domain::memberships;
use canopy::domain::roles::Role;
use canopy::domain::tenants::{self, Tenant, TenantName};
use canopy::startup::Application;
use diesel::prelude::*;
use reqwest::StatusCode;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";

struct Cluster {
    pg: EmbeddedPostgres,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static PASSWORD_HASH: OnceLock<String> = OnceLock::new();

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        // Every statement from here on is recorded (`recorder`), the server's apart from the
        // tests' own.
        crate::recorder::observe();
        let dir = PathBuf::from(format!("/tmp/canopy-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let options = Options {
            fast_unsafe: true,
            statement_stats: true,
        };
        let pg =
            EmbeddedPostgres::start(&dir, &options).expect("start the test PostgreSQL cluster");
        stop_when_we_exit(&pg);
        let mut admin = PgConnection::establish(&tests_own(&pg.url("postgres"))).expect("connect");
        diesel::sql_query("CREATE DATABASE canopy_template")
            .execute(&mut admin)
            .expect("create template");
        let mut template =
            PgConnection::establish(&tests_own(&pg.url("canopy_template"))).expect("connect");
        db::migrate(&mut template).expect("migrate template");
        // Every test database can read the statement statistics (`queries::`).
        diesel::sql_query("CREATE EXTENSION pg_stat_statements")
            .execute(&mut template)
            .expect("pg_stat_statements");
        Cluster { pg }
    })
}

/// `url` for a connection of the tests' own (set-up, checks): its statements are not the
/// portal's, and the suite's statement log leaves them out (`recorder`).
pub fn tests_own(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={}", crate::recorder::TESTS_OWN)
}

/// A watchdog shell stops the cluster and removes its folder once this process is gone.
pub fn stop_when_we_exit(pg: &EmbeddedPostgres) {
    let bin = canopy::db::embedded::find_bin_dir().expect("postgres binaries");
    let as_postgres = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let pg_ctl = format!(
        "{}{}/pg_ctl stop -m immediate -D {}",
        if as_postgres {
            "runuser -u postgres -- "
        } else {
            ""
        },
        bin.display(),
        pg.dir().display()
    );
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {pg_ctl} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = pg.dir().display()
    );
    // Deliberately never waited for: it outlives this process to clean up after it.
    #[allow(clippy::zombie_processes)]
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn watchdog");
}

pub fn embedded() -> &'static EmbeddedPostgres {
    &cluster().pg
}

/// A fresh database cloned from the migrated template.
pub fn fresh_database() -> String {
    let c = cluster();
    let name = format!("t_{}", Uuid::now_v7().simple());
    let mut admin = PgConnection::establish(&tests_own(&c.pg.url("postgres"))).expect("connect");
    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE canopy_template"))
        .execute(&mut admin)
        .expect("create test database");
    c.pg.url(&name)
}

pub struct TestApp {
    pub settings: Settings,
    pub base: String,
    pub port: u16,
    /// The server's pool (and its workers').
    pub pool: DbPool,
    /// The tests' own connections (`conn()`).
    pub own: DbPool,
    pub database_url: String,
    /// The local mailbox's key, as the terminal shows it (when the mailbox is on).
    pub mailbox_key: Option<String>,
}

pub fn test_settings(database_url: &str, extra: &[(&str, &str)]) -> Settings {
    // Links in emails name the real port, so it is chosen before the server binds it.
    let port = crate::smtp::free_port();
    let mut env: HashMap<String, String> = HashMap::from([
        ("CANOPY_DATABASE_URL".into(), database_url.to_string()),
        ("CANOPY_LISTEN".into(), format!("127.0.0.1:{port}")),
        ("CANOPY_BASE_URL".into(), format!("http://127.0.0.1:{port}")),
        ("CANOPY_SECURE_COOKIES".into(), "false".into()),
        ("CANOPY_SECRET_KEY".into(), "k".repeat(64)),
        ("CANOPY_WORKERS".into(), "2".into()),
        ("CANOPY_POOL_SIZE".into(), "4".into()),
        ("CANOPY_DATA_DIR".into(), "/tmp/canopy-test-data".into()),
        ("CANOPY_MAIL_POLL_MS".into(), "50".into()),
        ("CANOPY_MAIL_RETRY_BASE_MS".into(), "100".into()),
        ("CANOPY_MAIL_TIMEOUT_SECS".into(), "5".into()),
    ]);
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    Settings::from_lookup(|k| env.get(k).cloned()).expect("settings")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let database_url = tokio::task::spawn_blocking(fresh_database)
        .await
        .expect("db");
    spawn_app_on(&database_url, extra).await
}

/// A server on an existing database (a second instance, or a restart).
pub async fn spawn_app_on(database_url: &str, extra: &[(&str, &str)]) -> TestApp {
    let settings = test_settings(database_url, extra);
    let pool = db::pool(database_url, 4);
    let app = Application::build(settings.clone(), pool.clone()).expect("build app");
    let port = app.port();
    let mailbox_key = app.mailbox_key().map(str::to_string);
    tokio::spawn(app.server());
    TestApp {
        settings,
        base: format!("http://127.0.0.1:{port}"),
        port,
        pool,
        own: db::pool(&tests_own(database_url), 2),
        database_url: database_url.to_string(),
        mailbox_key,
    }
}

impl TestApp {
    /// Starts an outbox worker for this app, as `canopy serve` does.
    pub fn start_worker(&self) {
        let worker = canopy::email::worker::Worker::new(self.pool.clone(), &self.settings.mail)
            .expect("worker");
        tokio::spawn(worker.run());
    }

    pub fn worker(&self) -> canopy::email::worker::Worker {
        canopy::email::worker::Worker::new(self.pool.clone(), &self.settings.mail).expect("worker")
    }

    pub fn conn(&self) -> db::DbConn {
        self.own.get().expect("connection")
    }

    pub fn root(&self, name: &str) -> Tenant {
        let name = TenantName::parse(name).expect("name");
        tenants::create_root(&mut self.conn(), &Actor::system(), &name).expect("root")
    }

    pub fn child(&self, parent: &Tenant, name: &str) -> Tenant {
        let name = TenantName::parse(name).expect("name");
        let parent = self.reach(parent.id);
        tenants::create_child(&mut self.conn(), &Actor::system(), &parent, &name).expect("child")
    }

    /// The access layer's proof for a tenant, as work outside any request gets it.
    pub fn reach(&self, id: TenantId) -> canopy::access::Reached {
        canopy::access::system_reach(&mut self.conn(), id).expect("reach")
    }

    /// The access of a fresh admin of each of `roots`, for calling domain functions that
    /// re-check the caller's reach themselves.
    pub fn admin_access(&self, roots: &[&Tenant]) -> canopy::access::Access {
        let email = format!("mover-{}@example.com", Uuid::now_v7().simple());
        let id = self.user(&email, roots[0], Role::Admin);
        for root in &roots[1..] {
            memberships::grant(&mut self.conn(), &Actor::system(), id, root, Role::Admin)
                .expect("grant");
        }
        canopy::access::Access::load(&mut self.conn(), id, None)
            .expect("load")
            .expect("active")
    }

    pub fn tenant(&self, id: TenantId) -> Tenant {
        tenants::find(&mut self.conn(), id)
            .expect("query")
            .expect("tenant")
    }

    /// A user with `PASSWORD` and one membership (hashing once per run keeps tests fast).
    pub fn user(&self, email: &str, tenant: &Tenant, role: Role) -> UserId {
        let hash = PASSWORD_HASH.get_or_init(|| {
            canopy::domain::password::Password::parse(PASSWORD, "x@example.com")
                .expect("password")
                .hash()
                .expect("hash")
        });
        let id = UserId::new();
        let mut conn = self.conn();
        diesel::insert_into(canopy::db::schema::users::table)
            .values((
                canopy::db::schema::users::id.eq(id),
                canopy::db::schema::users::email.eq(email),
                canopy::db::schema::users::display_name
                    .eq(email.split('@').next().unwrap_or(email)),
                canopy::db::schema::users::password_hash.eq(hash),
            ))
            .execute(&mut conn)
            .expect("insert user");
        memberships::grant(&mut conn, &Actor::system(), id, tenant, role).expect("grant");
        id
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    pub async fn signed_in(&self, email: &str) -> Browser {
        let mut b = self.browser();
        let res = b.login(email, PASSWORD).await;
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "sign-in of {email}: {}",
            res.body
        );
        b
    }

    /// A digest of everything a request could store (sessions and throttling aside).
    pub fn fingerprint(&self) -> String {
        #[derive(QueryableByName)]
        struct F {
            #[diesel(sql_type = diesel::sql_types::Text)]
            f: String,
        }
        let tables = [
            ("tenants", "id"),
            ("users", "id"),
            ("memberships", "user_id, tenant_id"),
            ("devices", "id"),
            ("device_moves", "id"),
            ("device_imports", "id"),
            ("invitations", "id"),
            ("logos", "hash"),
            ("outbox", "id"),
            ("audit_events", "id"),
            ("password_resets", "token_hash"),
            ("roles", "id"),
            ("groups", "id"),
            ("group_devices", "group_id, device_id"),
            ("group_members", "group_id, user_id"),
            ("contacts", "id"),
            ("schedules", "id"),
            ("schedule_contacts", "schedule_id, contact_id"),
            ("checkin_states", "device_id"),
            ("checkins", "id"),
            ("alerts", "id"),
            ("api_keys", "id"),
            ("api_idempotency", "key_id, idem_key"),
        ];
        let parts: Vec<String> = tables
            .iter()
            .map(|(t, order)| {
                format!(
                    "(SELECT coalesce(string_agg(x::text, '|' ORDER BY {order}), '') FROM {t} x)"
                )
            })
            .collect();
        diesel::sql_query(format!("SELECT md5({}) AS f", parts.join(" || ")))
            .get_result::<F>(&mut self.conn())
            .expect("fingerprint")
            .f
    }

    pub fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<N>(&mut self.conn())
            .expect("count")
            .n
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }
}

/// An HTTP client with a cookie jar that keeps the page's CSRF token for its next post.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

/// The tree of the `/tenants` page (not its title or header, which name tenants too).
pub fn tree_of(body: &str) -> &str {
    let Some(start) = body.find("id=\"tree\"") else {
        return "";
    };
    let end = body[start..]
        .find("</main>")
        .map_or(body.len(), |e| start + e);
    &body[start..end]
}

/// The first link's target in `html`, its entities decoded: what a browser would follow.
pub fn first_href(html: &str) -> String {
    html.split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

pub fn csrf_in(body: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker)? + marker.len();
    Some(body[start..].chars().take_while(|c| *c != '"').collect())
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_string(),
            csrf: String::new(),
        }
    }

    async fn reply(&mut self, res: reqwest::Response) -> Reply {
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.expect("body");
        if let Some(t) = csrf_in(&body) {
            self.csrf = t;
        }
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        self.reply(res).await
    }

    pub async fn get_htmx(&mut self, path: &str) -> Reply {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .send()
            .await
            .expect("get");
        self.reply(res).await
    }

    /// Posts a form with the current CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        let token = self.csrf.clone();
        form.push(("csrf_token", &token));
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .expect("post");
        self.reply(res).await
    }

    /// Posts with no CSRF token at all, or with extra headers.
    pub async fn post_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("post");
        self.reply(res).await
    }

    /// Uploads `bytes` as the form's `file` field, the CSRF token its first field.
    pub async fn upload(&mut self, path: &str, bytes: Vec<u8>) -> Reply {
        let part = reqwest::multipart::Part::bytes(bytes).file_name("devices.csv");
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", self.csrf.clone())
            .part("file", part);
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .multipart(form)
            .send()
            .await
            .expect("upload");
        self.reply(res).await
    }

    /// Posts an already url-encoded body (so that a test can send bytes no form would),
    /// the CSRF token appended.
    pub async fn post_encoded(&mut self, path: &str, encoded: &str) -> Reply {
        let sep = if encoded.is_empty() { "" } else { "&" };
        let body = format!("{encoded}{sep}csrf_token={}", self.csrf);
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("post");
        self.reply(res).await
    }

    /// Posts a multipart form (text fields and files), the CSRF token its first field.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> Reply {
        let mut form = reqwest::multipart::Form::new().text("csrf_token", self.csrf.clone());
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (k, name, bytes) in files {
            let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string());
            form = form.part(k.to_string(), part);
        }
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .multipart(form)
            .send()
            .await
            .expect("multipart");
        self.reply(res).await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Reply {
        self.get("/login").await;
        let res = self
            .post("/login", &[("email", email), ("password", password)])
            .await;
        if res.status == StatusCode::SEE_OTHER {
            // The token rotates at sign-in: pick up the new one.
            self.get("/tenants").await;
        }
        res
    }
}
