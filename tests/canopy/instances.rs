//! Two `serve` instances on one database: nothing that matters lives in a process.
use std::time::Duration;

use canopy::domain::roles::Role;
use canopy::domain::throttle;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, spawn_app_on, spawn_app_with};
use crate::smtp::SmtpServer;

#[tokio::test]
async fn a_session_made_on_one_instance_works_on_the_other_and_ends_on_both() {
    let one = crate::helpers::spawn_app().await;
    let two = spawn_app_on(&one.database_url, &[]).await;
    let acme = one.root("Acme");
    one.user("ann@acme.example", &acme, Role::Admin);

    let mut ann = one.signed_in("ann@acme.example").await;
    // The same browser (cookies are per host, not per port) talks to the other instance.
    ann.base = two.base.clone();
    let page = ann.get(&format!("/tenants/{}/dashboard", acme.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("ann"));
    // A form rendered by one instance is accepted by the other (the CSRF token is in the
    // shared session).
    ann.base = one.base.clone();
    ann.get(&format!("/tenants/{}", acme.id)).await;
    ann.base = two.base.clone();
    let created = ann
        .post(
            &format!("/tenants/{}/children", acme.id),
            &[("name", "Made on two")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);

    // Signing out on the second ends the session on the first too.
    ann.post("/logout", &[]).await;
    ann.base = one.base.clone();
    let after = ann.get(&format!("/tenants/{}/dashboard", acme.id)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), Some("/login"));
}

#[tokio::test]
async fn throttling_counts_failures_across_both_instances() {
    let one = crate::helpers::spawn_app().await;
    let two = spawn_app_on(&one.database_url, &[]).await;
    let acme = one.root("Acme");
    one.user("ann@acme.example", &acme, Role::Admin);

    let mut attacker_one = one.browser();
    let mut attacker_two = two.browser();
    for n in 0..throttle::MAX_PER_ACCOUNT {
        let b = if n % 2 == 0 {
            &mut attacker_one
        } else {
            &mut attacker_two
        };
        let r = b.login("ann@acme.example", "guess guess guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Half the failures were on each instance; both refuse now, even the right password.
    for b in [&mut attacker_one, &mut attacker_two] {
        let r = b.login("ann@acme.example", PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    }
}

#[tokio::test]
async fn with_both_instances_sending_each_email_goes_out_exactly_once() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let one = spawn_app_with(&[("CANOPY_SMTP_URL", url.as_str())]).await;
    let two = spawn_app_on(&one.database_url, &[("CANOPY_SMTP_URL", url.as_str())]).await;
    one.start_worker();
    two.start_worker();
    let acme = one.root("Acme");
    one.user("ann@acme.example", &acme, Role::Admin);

    // Invitations made through both instances while both workers poll.
    let mut on_one = one.signed_in("ann@acme.example").await;
    let mut on_two = two.signed_in("ann@acme.example").await;
    for i in 0..20 {
        let b = if i % 2 == 0 { &mut on_one } else { &mut on_two };
        b.get(&format!("/tenants/{}/invitations", acme.id)).await;
        let res = b
            .post(
                &format!("/tenants/{}/invitations", acme.id),
                &[
                    ("email", &format!("person{i}@example.com")),
                    ("role", "viewer"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    let messages = smtp.wait_for(20).await;
    // Give a duplicate the time to arrive, were there one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 20);
    for i in 0..20 {
        let to = format!("To: person{i}@example.com");
        assert_eq!(
            messages.iter().filter(|m| m.contains(&to)).count(),
            1,
            "{to}"
        );
    }
    assert_eq!(
        one.count("SELECT count(*) AS n FROM outbox WHERE sent_at IS NOT NULL"),
        20
    );
}
