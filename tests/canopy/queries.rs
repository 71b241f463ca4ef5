//! The cost of a page in SQL statements (the session look-up included), counted by diesel's
//! instrumentation per database (`recorder`), and the plans of the list queries on a seeded
//! database.
use canopy::domain::roles::Role;

use crate::helpers::spawn_app;
use crate::recorder::{install, sent};

#[tokio::test]
async fn each_page_costs_a_few_statements_including_the_session() {
    install();
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("alice@rent.example", &rent, Role::Admin);
    for n in 0..120 {
        crate::devices::device_in(
            &app,
            if n % 2 == 0 { &acme } else { &uk },
            &format!("DEV-{n:03}"),
        );
    }
    let mut alice = app.signed_in("alice@rent.example").await;
    let r = rent.id;
    let dev049 = crate::devices::id_of(&app, "DEV-049");
    let pages = [
        ("tree", "/tenants".to_string()),
        ("dashboard", format!("/tenants/{r}/dashboard")),
        ("tenant page", format!("/tenants/{r}")),
        ("device list", format!("/tenants/{r}/devices?sub=1")),
        (
            "device list, next page",
            format!("/tenants/{r}/devices?sub=1&sort=name&after=device+dev-049&after_id={dev049}"),
        ),
        (
            "IMEI/serial search",
            format!("/tenants/{r}/devices?sub=1&q=DEV-01"),
        ),
        ("members", format!("/tenants/{r}/members?sub=1")),
    ];
    let mut report = Vec::new();
    for (name, path) in &pages {
        // Warm: the first request of a connection may prepare statements.
        alice.get(path).await;
        let before = sent(&app.database_url).len();
        let res = alice.get(path).await;
        let texts = sent(&app.database_url);
        let (switches, used): (Vec<&String>, Vec<&String>) = texts[before..]
            .iter()
            .partition(|t| t.starts_with("SET plan_cache_mode"));
        assert!(res.status.is_success(), "{name}: {}", res.status);
        report.push((name, used.len()));
        // Reads of a whole subtree are planned for it: a switch there and one back, at most
        // twice a page.
        assert!(
            switches.len() <= 4 && switches.len() % 2 == 0,
            "{name}: {switches:?}"
        );
    }
    println!("statements per page: {report:?}");
    // Three go to the session (load and touch in one), the user with their grants, and the
    // tenant in view with its brand; the rest are the page's own.
    for (name, used) in &report {
        // A next page also resolves its cursor's device through the access layer.
        let most = match **name {
            "tree" => 4,
            "device list, next page" => 7,
            _ => 6,
        };
        assert!(
            *used <= most,
            "{name} used {used} statements (at most {most}): {report:?}"
        );
    }
}

#[tokio::test]
async fn the_forgot_password_form_runs_the_same_statements_for_a_known_and_an_unknown_address() {
    install();
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut b = app.browser();
    b.get("/password/forgot").await;
    // Warm the session row, so both requests below find it alike.
    b.post("/password/forgot", &[("email", "warm@acme.example")])
        .await;

    let start = sent(&app.database_url).len();
    let known = b
        .post("/password/forgot", &[("email", "ann@acme.example")])
        .await;
    let middle = sent(&app.database_url).len();
    let unknown = b
        .post("/password/forgot", &[("email", "nobody@acme.example")])
        .await;
    let all = sent(&app.database_url);

    assert_eq!(known.status, unknown.status);
    assert_eq!(known.body, unknown.body);
    let (known, unknown) = (&all[start..middle], &all[middle..]);
    assert!(!known.is_empty());
    assert_eq!(known, unknown, "the statements differ");
    assert!(
        !known.iter().any(|q| q.contains("\"users\"")),
        "the form looks the address up: {known:?}"
    );
    // The worker sends the known address its email, and drops the other.
    app.worker().tick().await.unwrap();
    assert_eq!(
        app.count("SELECT count(*) AS n FROM outbox WHERE to_email = 'ann@acme.example'"),
        1
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM outbox"), 1);
    assert_eq!(app.count("SELECT count(*) AS n FROM reset_requests"), 0);
}

/// What the server logged with a duration after `from` bytes: plans from `auto_explain`, or
/// statements (only the tests that turn either on do so, for their own connections).
fn logged_since(from: u64) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    let path = crate::helpers::embedded().dir().join("server.log");
    let mut file = std::fs::File::open(path).unwrap();
    file.seek(SeekFrom::Start(from)).unwrap();
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    text.split("LOG:  duration:")
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn list_queries_on_a_seeded_database_are_index_range_scans() {
    use std::io::Seek;
    let database_url = tokio::task::spawn_blocking(crate::helpers::fresh_database)
        .await
        .unwrap();
    let seeding = spawn_app_on_plain(&database_url).await;
    let root = seeding.root("Rent-a-fone");
    seeding.user("alice@rent.example", &root, Role::Admin);
    for sql in [
        format!(
            "INSERT INTO tenants (id, parent_id, name, slug, traversal_ids)
             SELECT id, '{r}', 'Customer ' || n, 'customer-' || n, ARRAY['{r}'::uuid, id]
             FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(1, 400) n) s",
            r = root.id
        ),
        "INSERT INTO devices (id, tenant_id, tenant_path, identifier, id_kind, name, kind, status,
                              customer_id)
         SELECT gen_random_uuid(), t.id, t.traversal_ids, '35' || lpad(n::text, 13, '0'), 'imei',
                'Unit ' || lpad(n::text, 6, '0'), 'tracker', 'active',
                canopy_customer(t.traversal_ids)
         FROM generate_series(1, 60000) n
         JOIN LATERAL (SELECT id, traversal_ids FROM tenants WHERE parent_id IS NOT NULL
                       ORDER BY id OFFSET (n % 400) LIMIT 1) t ON true"
            .to_string(),
        "INSERT INTO users (id, email, display_name, password_hash)
         SELECT gen_random_uuid(), 'person' || n || '@example.com', 'Person ' || lpad(n::text, 5, '0'), 'x'
         FROM generate_series(1, 6000) n"
            .to_string(),
        "INSERT INTO memberships (user_id, tenant_id, role_id, tenant_path)
         SELECT u.id, t.id, '00000000-0000-7000-8000-000000000003', t.traversal_ids
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users
               WHERE email LIKE 'person%') u
         JOIN (SELECT id, traversal_ids, row_number() OVER (ORDER BY id) AS n FROM tenants
               WHERE parent_id IS NOT NULL) t ON t.n = u.n % 400 + 1"
            .to_string(),
        "INSERT INTO audit_events (at, tenant_id, tenant_path, action, target_type, customer_id)
         SELECT now() - n * interval '1 minute', t.id, t.traversal_ids, 'device.create', 'device',
                canopy_customer(t.traversal_ids)
         FROM generate_series(1, 20000) n
         JOIN LATERAL (SELECT id, traversal_ids FROM tenants WHERE parent_id IS NOT NULL
                       ORDER BY id OFFSET (n % 400) LIMIT 1) t ON true"
            .to_string(),
        "SELECT device_counts_rebuild()".to_string(),
        "ANALYZE".to_string(),
    ] {
        diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut seeding.conn()).unwrap();
    }

    // The same database through connections that log every plan.
    let explained = format!(
        "{database_url}&options=-c%20session_preload_libraries%3Dauto_explain%20-c%20auto_explain.log_min_duration%3D0"
    );
    let app = crate::helpers::spawn_app_on(&explained, &[]).await;
    let mut alice = app.signed_in("alice@rent.example").await;
    let log = crate::helpers::embedded().dir().join("server.log");
    let from = std::fs::File::open(&log)
        .unwrap()
        .seek(std::io::SeekFrom::End(0))
        .unwrap();
    let r = root.id;
    let unit = crate::devices::id_of(&app, "Unit 030000");
    let first = alice.get(&format!("/tenants/{r}/devices?sub=1")).await;
    assert!(first.body.contains("Unit 000001"));
    // Past the cap, an unfiltered list still says exactly how many: the kept counts answer.
    assert!(
        first.body.contains("60000 devices"),
        "exact total from the kept counts"
    );
    let searched = alice
        .get(&format!("/tenants/{r}/devices?sub=1&q=Unit"))
        .await;
    // A search stops counting sooner.
    assert!(searched.body.contains("More than 1000 devices"));
    let filtered = alice
        .get(&format!("/tenants/{r}/devices?sub=1&kind=tracker"))
        .await;
    assert!(filtered.body.contains("More than 10000 devices"));
    for path in [
        format!("/tenants/{r}/devices?sub=1&sort=name&after=unit+030000&after_id={unit}"),
        format!("/tenants/{r}/devices?sub=1&q=3500000000123"),
        format!("/tenants/{r}/members?sub=1"),
        format!("/tenants/{r}/audit"),
        format!("/tenants/{r}/dashboard"),
    ] {
        assert!(alice.get(&path).await.status.is_success(), "{path}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // (Another test may log statements meanwhile: only plans count here.)
    let plans: Vec<String> = logged_since(from)
        .into_iter()
        .filter(|entry| entry.contains(" ms  plan:"))
        .collect();
    assert!(
        plans.len() > 10,
        "auto_explain logged {} plans",
        plans.len()
    );
    // The lists of the big tables (the 401-row tenant table may be read whole).
    let lists: Vec<&String> = plans
        .iter()
        .filter(|p| p.contains("ORDER BY") && p.contains("LIMIT"))
        .filter(|p| {
            ["\"devices\"", "\"memberships\"", "\"audit_events\""]
                .iter()
                .any(|t| p.contains(t))
        })
        .collect();
    assert!(lists.len() >= 5, "{} list queries seen", lists.len());
    for plan in &lists {
        assert!(
            plan.contains("Index"),
            "a list query without an index scan:\n{plan}"
        );
        for table in ["devices", "memberships", "audit_events", "users"] {
            assert!(
                !plan.contains(&format!("Seq Scan on {table}")),
                "a list query scans all of {table}:\n{plan}"
            );
        }
    }
}

/// A plain server for seeding (no plan logging).
async fn spawn_app_on_plain(database_url: &str) -> crate::helpers::TestApp {
    crate::helpers::spawn_app_on(database_url, &[]).await
}

#[derive(diesel::QueryableByName, Debug)]
struct StatementStat {
    #[diesel(sql_type = diesel::sql_types::Text)]
    query: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    calls: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    plans: i64,
}

/// This database's statements as `pg_stat_statements` counts them.
fn statement_stats(app: &crate::helpers::TestApp) -> Vec<StatementStat> {
    use diesel::RunQueryDsl;
    diesel::sql_query(
        "SELECT query, calls, plans FROM pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .load(&mut app.conn())
    .unwrap()
}

/// The connections of a test app's pool (`helpers::spawn_app_on`).
const POOL: i64 = 4;

#[tokio::test]
async fn once_a_connection_is_warm_pages_are_neither_parsed_nor_planned_again() {
    // The server logs each parse, bind and execute of this app's connections (and no other
    // test's): a statement prepared again would show as a `parse` line.
    let database_url = tokio::task::spawn_blocking(crate::helpers::fresh_database)
        .await
        .unwrap();
    let app = crate::helpers::spawn_app_on(
        &format!("{database_url}&options=-c%20log_min_duration_statement%3D0"),
        &[],
    )
    .await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("alice@rent.example", &rent, Role::Admin);
    app.user("olly@acme.example", &acme, Role::Operator);
    for n in 0..60 {
        crate::devices::device_in(
            &app,
            if n % 2 == 0 { &acme } else { &uk },
            &format!("DEV-{n:03}"),
        );
    }
    let dev = crate::devices::id_of(&app, "DEV-020");
    // Statistics settled before warming: an autovacuum ANALYZE of the tables just seeded,
    // landing in the measured rounds, would drop cached plans and read as planning again.
    {
        use diesel::RunQueryDsl;
        diesel::sql_query("ANALYZE")
            .execute(&mut app.conn())
            .unwrap();
    }
    let mut alice = app.signed_in("alice@rent.example").await;
    let mut olly = app.signed_in("olly@acme.example").await;
    let (r, a) = (rent.id, acme.id);
    let pages = [
        "/tenants".to_string(),
        format!("/tenants/{r}/dashboard"),
        format!("/tenants/{r}"),
        format!("/tenants/{r}/children"),
        format!("/tenants/{r}/devices?sub=1"),
        format!("/tenants/{r}/devices?sub=1&sort=name&after=device+dev-020&after_id={dev}"),
        format!("/tenants/{r}/devices?sub=1&q=DEV-01"),
        format!("/tenants/{r}/devices?sub=1&q=Device&status=active&kind=tracker"),
        format!("/tenants/{r}/devices?tenant={}", uk.id),
        crate::devices::page(&app, dev),
        format!("/tenants/{r}/members?sub=1"),
        format!("/tenants/{r}/members?sub=1&q=olly"),
        format!("/tenants/{r}/invitations"),
        format!("/tenants/{r}/audit"),
        format!("/tenants/{r}/usage"),
    ];
    let olly_pages = [
        format!("/tenants/{a}/dashboard"),
        format!("/tenants/{a}/devices"),
        format!("/tenants/{a}/members"),
    ];
    // Warm the connections of the pool (4 in tests) on every page.
    for _ in 0..8 {
        for p in &pages {
            assert!(alice.get(p).await.status.is_success(), "{p}");
        }
        for p in &olly_pages {
            assert!(olly.get(p).await.status.is_success(), "{p}");
        }
    }
    let before = statement_stats(&app);
    let log_from = std::fs::metadata(crate::helpers::embedded().dir().join("server.log"))
        .unwrap()
        .len();

    for _ in 0..5 {
        for p in &pages {
            alice.get(p).await;
        }
        for p in &olly_pages {
            olly.get(p).await;
        }
    }

    let logged = logged_since(log_from);
    let executed = logged
        .iter()
        .filter(|e| e.contains(" ms  execute "))
        .count();
    assert!(executed > 100, "{executed} executions logged");
    let parsed: Vec<&String> = logged
        .iter()
        .filter(|entry| entry.contains(" ms  parse "))
        .collect();
    assert!(
        parsed.is_empty(),
        "{} statements were parsed again: {parsed:#?}",
        parsed.len()
    );
    let after = statement_stats(&app);
    let mut planned_once = Vec::new();
    let mut planned_again = Vec::new();
    for s in &after {
        let old = before.iter().find(|b| b.query == s.query);
        let plans = s.plans - old.map_or(0, |b| b.plans);
        let calls = s.calls - old.map_or(0, |b| b.calls);
        if calls == 0 || s.query.contains("pg_stat_statements") || s.query.starts_with("SET ") {
            continue;
        }
        // A connection the warm-up happened not to hand this statement to plans it once (the
        // pool gives connections out in whatever order load makes): at most one plan per
        // connection, and fewer plans than executions. Planning on every execution is not that.
        if plans == 0 || (plans <= POOL && plans < calls) {
            planned_once.push(&s.query);
        } else {
            planned_again.push(&s.query);
        }
    }
    // Lookups by key — the session, the user with their grants, the tenant in view, a device —
    // keep their first plan; only reads of a whole tenant or subtree (and what runs beside
    // them) are planned for their parameters: see `db::plans`.
    for query in &planned_again {
        assert!(
            READS_OF_A_WHOLE_TENANT.iter().any(|m| query.contains(m)),
            "a lookup by key was planned again: {query}"
        );
    }
    for every_page in ["FROM sessions", "FROM users u LEFT JOIN LATERAL"] {
        assert!(
            planned_once.iter().any(|q| q.contains(every_page)),
            "{every_page} was planned again: {planned_again:#?}"
        );
    }
    assert!(
        planned_once.len() >= 10,
        "{} statements kept their plan",
        planned_once.len()
    );
}

/// Conditions by which a statement reads a whole subtree (or a tenant's own rows).
const READS_OF_A_WHOLE_TENANT: [&str; 6] = [
    "\"devices\".\"tenant_path\" = $",
    "\"memberships\".\"tenant_id\" = $",
    "tenant_path\" >= $",
    "traversal_ids\" >= $",
    "tenant_path >= $",
    "traversal_ids >= $",
];
