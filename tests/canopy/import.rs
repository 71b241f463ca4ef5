//! CSV import and export: dry run = import, bad files change nothing, export → import is a
//! no-op, and a long import reports progress without holding up other requests.
use std::time::{Duration, Instant};

use canopy::domain::devices::fields;
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::devices::device_in;
use crate::helpers::{Browser, TestApp, spawn_app};

pub const HEADER: &str = "imei,serial,name,model,kind,status,phone,notes\n";

fn imei(n: u32) -> String {
    fields::imei_from(&format!("35111111{n:06}"))
}

/// Waits until the import job finishes and returns its final fragment.
pub async fn finish(b: &mut Browser, progress_url: &str) -> String {
    for _ in 0..600 {
        let p = b.get_htmx(progress_url).await;
        if p.body.contains("import-done") || p.body.contains("import-failed") {
            return p.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the import did not finish");
}

pub fn job_url(dry_run: &str) -> String {
    let start = dry_run.find("/devices/import/").unwrap();
    let tail: String = dry_run[start..].chars().take_while(|c| *c != '"').collect();
    let tenant: String = dry_run[..start]
        .rsplit("/tenants/")
        .next()
        .unwrap()
        .chars()
        .take(36)
        .collect();
    format!("/tenants/{tenant}{tail}")
}

async fn operator(app: &TestApp, tenant: &canopy::domain::tenants::Tenant) -> Browser {
    app.user("olly@acme.example", tenant, Role::Operator);
    let mut b = app.signed_in("olly@acme.example").await;
    b.get(&format!("/tenants/{}/devices/import", tenant.id))
        .await;
    b
}

#[tokio::test]
async fn the_dry_run_reports_each_row_and_the_import_does_exactly_that() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let other = app.root("Other");
    device_in(&app, &acme, "KNOWN-1");
    device_in(&app, &acme, "SAME-1");
    device_in(&app, &other, "THEIRS-1");
    let mut b = operator(&app, &acme).await;
    let csv = format!(
        "{HEADER}{},,New phone,9555,satellite_phone,in_stock,+881631234567,\n\
         ,known-1,Known renamed,,tracker,in_repair,,fixed\n\
         ,SAME-1,Device SAME-1,,tracker,active,,\n\
         490154203237519,,Bad check digit,,phone,active,,\n\
         {},,Twice,,phone,active,,\n\
         ,THEIRS-1,Not ours,,tracker,active,,\n",
        imei(1),
        imei(1)
    );

    let dry = b
        .upload(
            &format!("/tenants/{}/devices/import", acme.id),
            csv.into_bytes(),
        )
        .await;

    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    assert!(dry.body.contains("<strong>1</strong> to create, <strong>1</strong> to update, <strong>1</strong> unchanged, <strong>3</strong> refused"));
    assert!(
        dry.body.contains("check digit")
            && dry.body.contains("on line 2 already")
            && dry.body.contains("another tenant")
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM devices"),
        3,
        "a dry run changes nothing"
    );
    let url = job_url(&dry.body);
    b.get(&format!("/tenants/{}/devices/import", acme.id)).await;
    let started = b.post(&url, &[]).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let done = finish(&mut b, &url).await;

    assert!(
        done.contains("1 created, 1 updated, 1 unchanged, 3 refused"),
        "{done}"
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM devices"), 4);
    assert_eq!(app.count("SELECT count(*) AS n FROM devices WHERE identifier = 'KNOWN-1' AND status = 'in_repair' AND notes = 'fixed'"), 1);
    assert_eq!(app.count("SELECT count(*) AS n FROM devices WHERE identifier = 'THEIRS-1' AND name = 'Device THEIRS-1'"), 1);
}

#[tokio::test]
async fn bad_files_get_a_clear_message_and_change_nothing() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let mut b = operator(&app, &acme).await;
    let path = format!("/tenants/{}/devices/import", acme.id);
    let long_line = format!("{HEADER},SN1,{},,tracker,active,,\n", "x".repeat(20_000));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "The file is empty"),
        (HEADER.as_bytes().to_vec(), "no devices"),
        (b"id,title\n1,2\n".to_vec(), "Unknown column"),
        (b"imei,name\n1,2\n".to_vec(), "missing: serial, kind"),
        (vec![0xff, 0xfe, 0x41, 0x00, 0x0a], "not UTF-8"),
        (long_line.into_bytes(), "longer than 10000 characters"),
        (
            format!("{HEADER},SN1,Too,many,fields,here,x,y,z\n").into_bytes(),
            "cannot be read",
        ),
    ];
    for (bytes, message) in cases {
        let res = b.upload(&path, bytes).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(
            res.body.contains("file-error") && res.body.contains(message),
            "{message}: {}",
            res.body
        );
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM devices"), 0);
    assert_eq!(app.count("SELECT count(*) AS n FROM device_imports"), 0);
}

#[tokio::test]
async fn an_exported_list_imported_again_changes_nothing() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    for i in 0..25 {
        device_in(&app, &acme, &format!("RT-{i}"));
    }
    let mut b = operator(&app, &acme).await;
    b.get(&format!("/tenants/{}/devices", acme.id)).await;
    let csv = b
        .client
        .get(format!(
            "{}/tenants/{}/devices/export.csv",
            app.base, acme.id
        ))
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = csv.bytes().await.unwrap().to_vec();
    assert_eq!(String::from_utf8_lossy(&bytes).lines().count(), 26);
    b.get(&format!("/tenants/{}/devices/import", acme.id)).await;

    let dry = b
        .upload(&format!("/tenants/{}/devices/import", acme.id), bytes)
        .await;

    assert!(dry.body.contains("<strong>0</strong> to create, <strong>0</strong> to update, <strong>25</strong> unchanged, <strong>0</strong> refused"), "{}", dry.body);
    assert!(dry.body.contains("nothing to import"));
}

#[tokio::test]
async fn exported_cells_that_look_like_formulas_are_quoted_and_import_back_unchanged() {
    use canopy::domain::devices::{self, DeviceInput};
    let app = spawn_app().await;
    let acme = app.root("Acme");
    for (serial, name, phone, notes) in [
        (
            "F-1",
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "+447700900123",
            "@SUM(1)",
        ),
        ("F-2", "-2+3", "", "'quoted already"),
    ] {
        let input = DeviceInput {
            serial: serial.into(),
            name: name.into(),
            kind: "tracker".into(),
            status: "active".into(),
            phone: phone.into(),
            notes: notes.into(),
            ..Default::default()
        };
        devices::create(
            &mut app.conn(),
            &canopy::domain::audit::Actor::system(),
            acme.id,
            &input.parse().unwrap(),
        )
        .unwrap();
    }
    let mut b = operator(&app, &acme).await;
    b.get(&format!("/tenants/{}/devices", acme.id)).await;

    let csv = b
        .get(&format!("/tenants/{}/devices/export.csv", acme.id))
        .await
        .body;

    for line in csv.lines().skip(1) {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "a formula cell in {line:?}"
            );
        }
    }
    assert!(csv.contains("'=HYPERLINK") && csv.contains("'+447700900123"));
    b.get(&format!("/tenants/{}/devices/import", acme.id)).await;
    let dry = b
        .upload(
            &format!("/tenants/{}/devices/import", acme.id),
            csv.into_bytes(),
        )
        .await;
    assert!(dry.body.contains("<strong>0</strong> to create, <strong>0</strong> to update, <strong>2</strong> unchanged, <strong>0</strong> refused"), "{}", dry.body);
}

#[tokio::test]
async fn a_nul_character_in_an_uploaded_file_is_refused_with_its_line() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let mut b = operator(&app, &acme).await;
    b.get(&format!("/tenants/{}/devices/import", acme.id)).await;
    let before = app.fingerprint();

    let res = b
        .upload(
            &format!("/tenants/{}/devices/import", acme.id),
            b"serial,name,kind,status\nN-1,Nul\0here,tracker,active\n".to_vec(),
        )
        .await;

    assert_eq!(
        res.status,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.body
    );
    assert!(
        res.body.contains("Line 2 contains a NUL character"),
        "{}",
        res.body
    );
    assert_eq!(app.fingerprint(), before);
}

#[tokio::test]
async fn imports_into_other_tenants_are_hidden_and_viewers_cannot_import() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let other = app.root("Other");
    app.user("victor@acme.example", &acme, Role::Viewer);
    let mut b = operator(&app, &acme).await;
    let mut victor = app.signed_in("victor@acme.example").await;
    let csv = format!("{HEADER},SN-X,X,,tracker,active,,\n");

    let hidden = b
        .upload(
            &format!("/tenants/{}/devices/import", other.id),
            csv.clone().into_bytes(),
        )
        .await;
    let denied = victor
        .upload(
            &format!("/tenants/{}/devices/import", acme.id),
            csv.into_bytes(),
        )
        .await;

    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) AS n FROM device_imports"), 0);
}

#[tokio::test]
async fn a_long_import_shows_progress_and_other_requests_are_answered_meanwhile() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let mut b = operator(&app, &acme).await;
    let mut csv = String::from(HEADER);
    for i in 0..4000 {
        csv.push_str(&format!("{},,Phone {i},,phone,active,,\n", imei(1000 + i)));
    }
    let dry = b
        .upload(
            &format!("/tenants/{}/devices/import", acme.id),
            csv.into_bytes(),
        )
        .await;
    assert!(dry.body.contains("<strong>4000</strong> to create"));
    let url = job_url(&dry.body);
    b.get(&format!("/tenants/{}/devices/import", acme.id)).await;

    b.post(&url, &[]).await;
    let page = b.get(&url).await;
    let started = Instant::now();
    let other = app.browser().get("/healthz").await;
    let answered_in = started.elapsed();
    let done = finish(&mut b, &url).await;

    assert!(page.body.contains("Importing") || page.body.contains("import-done"));
    assert!(
        page.body.contains("data-hx-trigger=\"every 1s\"") || page.body.contains("import-done")
    );
    assert_eq!(other.status, StatusCode::OK);
    assert!(answered_in < Duration::from_secs(1), "{answered_in:?}");
    assert!(done.contains("4000 created"));
    assert_eq!(app.count("SELECT count(*) AS n FROM devices"), 4000);
}

#[tokio::test]
async fn unconfirmed_dry_runs_expire_after_a_day_with_their_file() {
    use canopy::domain::devices::jobs;
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let old = jobs::create(&mut app.conn(), &acme, None, "serial\nOLD-1\n", 1).unwrap();
    let fresh = jobs::create(&mut app.conn(), &acme, None, "serial\nNEW-1\n", 1).unwrap();
    let finished = jobs::create(&mut app.conn(), &acme, None, "serial\nDONE-1\n", 1).unwrap();
    app.count(&format!(
        "WITH u AS (UPDATE device_imports SET created_at = now() - interval '25 hours', \
         updated_at = now() - interval '25 hours' WHERE id IN ('{old}', '{finished}') RETURNING 1) \
         SELECT count(*) AS n FROM u"
    ));
    app.count(&format!(
        "WITH u AS (UPDATE device_imports SET state = 'done' WHERE id = '{finished}' RETURNING 1) \
         SELECT count(*) AS n FROM u"
    ));

    let purged = jobs::purge_expired(&mut app.conn()).unwrap();

    assert_eq!(purged, 2);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM device_imports WHERE id = '{old}'"
        )),
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM device_imports WHERE id = '{fresh}' AND csv <> ''"
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM device_imports WHERE id = '{finished}' AND csv = ''"
        )),
        1
    );
    let mut b = operator(&app, &acme).await;
    let page = b
        .get(&format!("/tenants/{}/devices/import/{old}", acme.id))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}
