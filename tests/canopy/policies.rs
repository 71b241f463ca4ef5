//! Tenant security policies: inherited down the tree, tightened never loosened, and enforced —
//! two-factor sign-in required, invitations to allowed domains only, a shorter idle timeout.
use std::collections::HashMap;

use canopy::domain::ids::TenantId;
use canopy::domain::policies::{self, Policy};
use canopy::domain::roles::Role;
use canopy::domain::tenants::Tenant;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

/// The strictest along the path, written out plainly: required once, required below; the
/// domains allowed everywhere above; the shortest idle timeout.
fn strictest(chain: &[&Policy]) -> (bool, Option<Vec<String>>, Option<i32>) {
    let mut required = false;
    let mut domains: Option<Vec<String>> = None;
    let mut idle: Option<i32> = None;
    for p in chain {
        required |= p.require_two_factor;
        if let Some(mine) = &p.email_domains {
            domains = Some(match domains {
                Some(above) => above.into_iter().filter(|d| mine.contains(d)).collect(),
                None => mine.clone(),
            });
        }
        if let Some(m) = p.idle_minutes {
            idle = Some(idle.map_or(m, |i| i.min(m)));
        }
    }
    (required, domains, idle)
}

#[tokio::test]
async fn random_trees_with_random_policies_apply_the_strictest_along_each_path() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        | 1;
    println!("policy seed {seed}");
    let mut x = seed;
    let mut rng = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let app = spawn_app().await;
    let root = app.root("Root");
    let mut tenants: Vec<Tenant> = vec![root.clone()];
    for n in 0..9 {
        let parent = tenants[rng(tenants.len())].clone();
        tenants.push(app.child(&parent, &format!("T{n}")));
    }
    app.user("admin@root.example", &root, Role::Admin);
    let mut admin = app.signed_in("admin@root.example").await;
    // With two-factor sign-in set up, a policy that requires it never stops the admin.
    crate::two_factor::enrol(&mut admin).await;
    let domains = ["a.example", "b.example", "c.example"];
    let mut own: HashMap<TenantId, Policy> = HashMap::new();
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..30 {
        let t = &tenants[rng(tenants.len())];
        let pick: Vec<&str> = domains.iter().copied().filter(|_| rng(2) == 0).collect();
        let idle = [String::new(), "10".into(), "20".into(), "30".into()][rng(4)].clone();
        let require = if rng(4) == 0 { "1" } else { "" };
        let list = pick.join(", ");
        admin.get(&format!("/tenants/{}/security", t.id)).await;
        let res = admin
            .post(
                &format!("/tenants/{}/security", t.id),
                &[
                    ("require_two_factor", require),
                    ("email_domains", &list),
                    ("idle_minutes", &idle),
                ],
            )
            .await;
        // What the model says: refused exactly when it would loosen what is above.
        let mut path = t.traversal_ids.clone();
        path.pop();
        let chain: Vec<&Policy> = path.iter().filter_map(|p| own.get(p)).collect();
        let (_, above_domains, above_idle) = strictest(&chain);
        let wider = above_domains
            .as_ref()
            .is_some_and(|a| pick.iter().any(|d| !a.iter().any(|x| x == d)));
        let longer = idle
            .parse::<i32>()
            .ok()
            .zip(above_idle)
            .is_some_and(|(m, a)| m > a);
        if wider || longer {
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
            refused += 1;
        } else {
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
            own.insert(
                t.id,
                Policy {
                    require_two_factor: require == "1",
                    email_domains: (!pick.is_empty())
                        .then(|| pick.iter().map(|d| d.to_string()).collect()),
                    idle_minutes: idle.parse().ok(),
                },
            );
            accepted += 1;
        }
    }
    // Every tenant's effective policy is the strictest of what is set along its path.
    for t in &tenants {
        let chain: Vec<&Policy> = t.traversal_ids.iter().filter_map(|p| own.get(p)).collect();
        let (required, domains, idle) = strictest(&chain);
        let e = policies::effective(&mut app.conn(), &t.traversal_ids).unwrap();
        assert_eq!(
            e.requires_two_factor(),
            required,
            "{} (seed {seed})",
            t.name
        );
        assert_eq!(
            e.email_domains.map(|d| d.value),
            domains,
            "{} (seed {seed})",
            t.name
        );
        assert_eq!(
            e.idle_minutes.map(|d| d.value),
            idle,
            "{} (seed {seed})",
            t.name
        );
        let page = admin.get(&format!("/tenants/{}/security", t.id)).await;
        let shown = if required { ">required<" } else { ">optional<" };
        assert!(page.body.contains(shown), "{} shows {shown}", t.name);
    }
    println!("{accepted} policies saved, {refused} refused as loosening");
    assert!(accepted > 0);
}

#[tokio::test]
async fn a_required_second_factor_allows_nothing_else_until_it_is_set_up() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    app.user("alice@rent.example", &rent, Role::Admin);
    app.user("ann@acme.example", &acme, Role::Viewer);
    let mut alice = app.signed_in("alice@rent.example").await;
    alice.get(&format!("/tenants/{}/security", rent.id)).await;
    let set = alice
        .post(
            &format!("/tenants/{}/security", rent.id),
            &[("require_two_factor", "1")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'tenant.security_policy'"),
        1
    );

    // Ann, below, is sent to set it up, whatever she opens.
    let mut ann = app.browser();
    ann.login("ann@acme.example", crate::helpers::PASSWORD)
        .await;
    for path in [
        "/".to_string(),
        "/tenants".to_string(),
        format!("/tenants/{}/devices", acme.id),
        "/account".to_string(),
    ] {
        let res = ann.get(&path).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.location(), Some("/account/two-factor"), "{path}");
    }
    let (secret, _) = crate::two_factor::enrol(&mut ann).await;
    assert!(!secret.is_empty());
    assert_eq!(
        ann.get("/tenants").await.status,
        StatusCode::OK,
        "set up: free to go"
    );
    // …and it stays on while the policy requires it.
    let off = ann
        .post(
            "/account/two-factor/disable",
            &[("password", crate::helpers::PASSWORD)],
        )
        .await;
    assert_eq!(off.status, StatusCode::FORBIDDEN);
    assert!(
        off.body.contains("requires two-factor sign-in"),
        "{}",
        off.body
    );
    // Alice, at the top, must set it up too (the policy is her tenant's own).
    assert_eq!(
        alice.get("/tenants").await.location(),
        Some("/account/two-factor")
    );
}

#[tokio::test]
async fn invitations_go_to_allowed_domains_only_and_the_form_says_so() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    ann.get(&format!("/tenants/{}/security", acme.id)).await;
    let bad = ann
        .post(
            &format!("/tenants/{}/security", acme.id),
            &[("email_domains", "acme.example, not a domain")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"email_domains-error\""));
    ann.post(
        &format!("/tenants/{}/security", acme.id),
        &[("email_domains", "acme.example")],
    )
    .await;
    let form = ann.get(&format!("/tenants/{}/invitations", acme.id)).await;
    assert!(
        form.body.contains("id=\"allowed-domains\""),
        "{}",
        form.body
    );
    let before = app.fingerprint();
    let outside = ann
        .post(
            &format!("/tenants/{}/invitations", acme.id),
            &[("email", "someone@gmail.example"), ("role", "viewer")],
        )
        .await;
    assert_eq!(outside.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        outside.body.contains("acme.example only"),
        "{}",
        outside.body
    );
    assert_eq!(app.fingerprint(), before);
    let inside = ann
        .post(
            &format!("/tenants/{}/invitations", acme.id),
            &[("email", "new@acme.example"), ("role", "viewer")],
        )
        .await;
    assert_eq!(inside.status, StatusCode::OK);
    assert!(inside.body.contains("Invitation sent"));
}

#[tokio::test]
async fn a_shorter_idle_timeout_ends_a_quiet_session() {
    use diesel::prelude::*;
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let other = app.root("Other Co");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("otto@other.example", &other, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut otto = app.signed_in("otto@other.example").await;
    ann.get(&format!("/tenants/{}/security", acme.id)).await;
    ann.post(
        &format!("/tenants/{}/security", acme.id),
        &[("idle_minutes", "5")],
    )
    .await;
    // Another tree's admin cannot set Acme's policy.
    let foreign = otto
        .post(
            &format!("/tenants/{}/security", acme.id),
            &[("idle_minutes", "30")],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(ann.get("/tenants").await.status, StatusCode::OK);
    // Six quiet minutes, as the session remembers them.
    diesel::sql_query(
        "UPDATE sessions SET state = jsonb_set(state, '{seen_at}', \
         to_jsonb((extract(epoch FROM now())::bigint - 360)::text)) \
         WHERE state ? 'seen_at'",
    )
    .execute(&mut app.conn())
    .unwrap();
    let res = ann.get("/tenants").await;
    assert_eq!(
        res.location(),
        Some("/login"),
        "signed out after 5 idle minutes"
    );
    assert_eq!(
        otto.get("/tenants").await.status,
        StatusCode::OK,
        "not Otto"
    );
}
