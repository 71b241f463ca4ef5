//! Every count a dashboard shows links to a list of exactly that many: a fixed three-level
//! tree with the scope sentences, and random trees with random members and invitations.
use canopy::domain::roles::Role;

use crate::helpers::{Browser, first_href, spawn_app};

/// The dashboard's cards that link to a list, and the id of the total on that list.
const CARDS: [(&str, &str); 3] = [
    ("card-devices", "device-total"),
    ("card-members", "member-total"),
    ("card-invitations", "pending-total"),
];

/// The leading digits of the text after `at`'s next `>`.
fn number_after(body: &str, at: usize) -> String {
    body[at..]
        .split('>')
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

/// Follows `card` (when the reader is shown it) and compares its number with the total its
/// list shows; returns whether the card was there.
async fn card_agrees(
    b: &mut Browser,
    dashboard: &str,
    card: &str,
    total_id: &str,
    who: &str,
) -> bool {
    let Some(start) = dashboard.find(&format!("id=\"{card}\"")) else {
        return false;
    };
    let tag_start = dashboard[..start].rfind("<a ").unwrap();
    let href = first_href(&dashboard[tag_start..]);
    let number = number_after(
        dashboard,
        dashboard[start..].find("class=\"number\"").unwrap() + start,
    );
    let list = b.get(&href).await;
    let at = list
        .body
        .find(&format!("id=\"{total_id}\""))
        .unwrap_or_else(|| panic!("{who}: {href} has no {total_id}: {}", list.body));
    let shown = number_after(&list.body, at);
    assert_eq!(
        shown, number,
        "{who}: {card} says {number}, its list {href} {shown}"
    );
    true
}

/// The cards say what they count and link to a list of exactly that many, for an admin at
/// every level of a tree.
#[tokio::test]
async fn dashboard_counts_link_to_lists_of_exactly_that_count() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    let leeds = app.child(&uk, "Acme Leeds");
    for (t, n) in [(&acme, 2), (&uk, 3), (&leeds, 4)] {
        for i in 0..n {
            crate::devices::device_in(&app, t, &format!("D-{}-{i}", t.name.replace(' ', "")));
        }
    }
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("uma@acme.example", &uk, Role::Admin);
    app.user("vic@acme.example", &uk, Role::Viewer);
    app.user("lee@acme.example", &leeds, Role::Operator);
    for (email, tenant) in [
        ("ann@acme.example", &acme),
        ("uma@acme.example", &uk),
        ("vic@acme.example", &uk),
    ] {
        let mut b = app.signed_in(email).await;
        let page = b.get(&format!("/tenants/{}/dashboard", tenant.id)).await;
        for (card, total_id) in CARDS {
            let shown = card_agrees(&mut b, &page.body, card, total_id, email).await;
            assert_eq!(
                shown,
                email != "vic@acme.example" || card != "card-invitations",
                "{email}: {card}"
            );
        }
        if email == "ann@acme.example" {
            assert!(page.body.contains("in Acme and the 2 tenants below it"));
        }
    }
    // A list of one tenant says what it leaves out, and one click includes it.
    let mut uma = app.signed_in("uma@acme.example").await;
    let own = uma.get(&format!("/tenants/{}/devices", uk.id)).await;
    assert!(
        own.body.contains("id=\"device-total\">3 devices<"),
        "{}",
        own.body
    );
    assert!(
        own.body
            .contains("4 more devices are in the tenants below, not shown here."),
        "{}",
        own.body
    );
    let link = own.body.split("id=\"hidden-below\"").nth(1).unwrap();
    let all = uma.get(&first_href(link)).await;
    assert!(
        all.body.contains("id=\"device-total\">7 devices<"),
        "{}",
        all.body
    );
    assert!(!all.body.contains("hidden-below"));
    // A viewer of Acme UK alone is told of nothing below (they cannot see it).
    let mut vic = app.signed_in("vic@acme.example").await;
    let theirs = vic.get(&format!("/tenants/{}/devices", uk.id)).await;
    assert!(!theirs.body.contains("hidden-below"));
}

/// Random trees, devices, members and invitations (some revoked, some expired): for every
/// member, the dashboard of their own tenant and, for those who see below, of a tenant below.
#[tokio::test]
async fn on_random_trees_every_card_equals_its_lists_total() {
    let app = spawn_app().await;
    let roles = [Role::Admin, Role::Operator, Role::Viewer];
    for seed in [0x5eed_2026_1202_u64, 0x0dd_ba11_u64, 0xfeed_f00d_u64] {
        let mut rng = crate::isolation::Rng(seed);
        let root = app.root(&format!("Root {seed:x}"));
        let mut tenants = vec![root];
        for i in 0..6 {
            let parent = tenants[rng.below(tenants.len())].clone();
            tenants.push(app.child(&parent, &format!("T{seed:x}-{i}")));
        }
        for (k, t) in tenants.iter().enumerate() {
            for d in 0..rng.below(4) {
                crate::devices::device_in(&app, t, &format!("S{seed:x}-{k}-{d}"));
            }
            for j in 0..rng.below(4) {
                let id = crate::invitations::invite_directly(
                    &app,
                    t,
                    &format!("i{k}-{j}@{seed:x}.example"),
                );
                let end = match rng.below(3) {
                    0 => "state = 'revoked'",
                    1 => "expires_at = now() - interval '1 minute'",
                    _ => continue,
                };
                diesel::RunQueryDsl::execute(
                    diesel::sql_query(format!("UPDATE invitations SET {end} WHERE id = '{id}'")),
                    &mut app.conn(),
                )
                .unwrap();
            }
        }
        let mut people = Vec::new();
        for n in 0..5 {
            let k = rng.below(tenants.len());
            let role = roles[rng.below(roles.len())];
            let email = format!("u{n}@{seed:x}.example");
            app.user(&email, &tenants[k], role);
            people.push((email, k, role));
        }
        for (email, k, role) in people {
            let mut b = app.signed_in(&email).await;
            let mut at = vec![tenants[k].clone()];
            if role == Role::Admin {
                let below: Vec<_> = tenants
                    .iter()
                    .filter(|t| {
                        t.traversal_ids.len() > tenants[k].traversal_ids.len()
                            && t.traversal_ids.starts_with(&tenants[k].traversal_ids)
                    })
                    .collect();
                if !below.is_empty() {
                    at.push(below[rng.below(below.len())].clone());
                }
            }
            for t in at {
                let who = format!(
                    "{email} ({role:?} at {}) on {}, seed {seed:x}",
                    tenants[k].name, t.name
                );
                let page = b.get(&format!("/tenants/{}/dashboard", t.id)).await;
                assert_eq!(page.status, reqwest::StatusCode::OK, "{who}");
                let mut shown = 0;
                for (card, total_id) in CARDS {
                    shown +=
                        usize::from(card_agrees(&mut b, &page.body, card, total_id, &who).await);
                }
                // Everyone sees the device and member cards, admins the invitations' too.
                let expected = if role == Role::Admin { 3 } else { 2 };
                assert_eq!(shown, expected, "{who}");
            }
        }
    }
}
