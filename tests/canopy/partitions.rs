//! Check-ins by month: the table is partitioned, months ahead are made before they are needed,
//! and months past the retention go whole, with nothing else touched.
use canopy::domain::checkins::partitions;
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

/// The partition this month's check-ins go to, by the database's (possibly moved) clock.
fn this_month(app: &crate::helpers::TestApp) -> String {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    diesel::RunQueryDsl::get_result::<Name>(
        diesel::sql_query("SELECT 'checkins_' || to_char(canopy_now(), 'YYYY_MM') AS name"),
        &mut app.conn(),
    )
    .unwrap()
    .name
}

async fn check_in(
    app: &crate::helpers::TestApp,
    b: &mut crate::helpers::Browser,
    d: canopy::domain::ids::DeviceId,
) {
    let page = crate::devices::page(app, d);
    b.get(&page).await;
    let res = b
        .post(&format!("{page}/check-in"), &[("message", "ok")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
}

#[tokio::test]
async fn check_ins_are_kept_by_month_and_months_past_the_retention_go_whole() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let device = crate::devices::device_in(&app, &acme, "P-1");
    let other = crate::devices::device_in(&app, &acme, "P-2");
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM pg_partitioned_table WHERE partrelid = 'checkins'::regclass"
        ),
        1
    );
    // The migration made this month and the two ahead: nothing to make.
    assert_eq!(
        partitions::maintain(&mut app.conn(), Some(12)).unwrap(),
        partitions::Kept::default()
    );
    let mut ann = app.signed_in("ann@acme.example").await;
    check_in(&app, &mut ann, device).await;
    let first_month = this_month(&app);
    assert_eq!(
        app.count(&format!("SELECT count(*) AS n FROM {first_month}")),
        1,
        "this month's partition holds it"
    );

    // Fourteen months later another device checks in: no month was made for it yet, so the
    // default partition catches it; housekeeping makes its month, moves it there, and drops
    // the months that ended twelve months or more before this one.
    crate::checkins::advance(&app, 14 * 31 * 24 * 60);
    check_in(&app, &mut ann, other).await;
    let kept = partitions::maintain(&mut app.conn(), Some(12)).unwrap();
    let now_month = this_month(&app);
    assert!(kept.made.contains(&now_month), "{kept:?}");
    assert!(kept.dropped.contains(&first_month), "{kept:?}");
    assert_eq!(app.count("SELECT count(*) AS n FROM checkins_default"), 0);
    assert_eq!(
        app.count(&format!("SELECT count(*) AS n FROM {now_month}")),
        1
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM checkins"), 1);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM pg_class WHERE relname = '{first_month}'"
        )),
        0
    );
    // The devices, their last-state rows and the device pages are untouched.
    assert_eq!(
        app.count("SELECT count(*) AS n FROM checkin_states WHERE last_checkin_at IS NOT NULL"),
        2
    );
    let page = ann.get(&crate::devices::page(&app, other)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("id=\"no-checkins\""),
        "its check-in is listed"
    );
    // Without a retention nothing goes.
    crate::checkins::advance(&app, 60 * 24 * 31 * 30);
    let kept = partitions::maintain(&mut app.conn(), None).unwrap();
    assert!(kept.dropped.is_empty() && kept.made.len() == 3, "{kept:?}");
    assert_eq!(app.count("SELECT count(*) AS n FROM checkins"), 1);
}
