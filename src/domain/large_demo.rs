//! `canopy demo --size large`: a data set for the benchmark — 10 000 tenants up to 8 levels
//! deep, 1 000 000 devices, 20 000 users with memberships and 50 000 invitations — written in
//! large batches (one statement per few thousand rows), not row by row.
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{devices, invitations, memberships, tenants, users};
use crate::domain::devices::fields::imei_from;
use crate::domain::password::Password;
use crate::domain::setup::SetupError;

pub const TENANTS: usize = 10_000;
pub const DEVICES: usize = 1_000_000;
pub const USERS: usize = 20_000;
pub const INVITATIONS: usize = 50_000;
/// How much of the full data set to write: all of it (`1`), or a tenth, a hundredth… (the
/// benchmark's smaller sizes, to see how each cost grows).
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub tenants: usize,
    pub devices: usize,
    pub users: usize,
    pub invitations: usize,
}

impl Scale {
    /// The full data set divided by `n` (at least the root, its customers and three admins).
    pub fn divided_by(n: usize) -> Self {
        let n = n.max(1);
        Self {
            tenants: (TENANTS / n).max(CUSTOMERS + 1),
            devices: DEVICES / n,
            users: (USERS / n).max(3),
            invitations: INVITATIONS / n,
        }
    }
}

/// Customers under the root; each holds an equal share of the tree.
pub const CUSTOMERS: usize = 10;
const MAX_DEPTH: usize = 8;

/// Accounts the benchmark signs in with, one per level it measures.
pub struct LargeDemo {
    pub password: String,
    pub root_admin: String,
    pub mid_admin: String,
    pub leaf_admin: String,
}

struct Node {
    id: Uuid,
    parent: Option<usize>,
    path: Vec<Uuid>,
}

/// A deterministic tree: root, CUSTOMERS customers, then each customer's share spread over
/// levels 3..=8 so that every customer has a deep branch.
fn tree(tenants: usize) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::with_capacity(tenants);
    let root = Uuid::now_v7();
    nodes.push(Node {
        id: root,
        parent: None,
        path: vec![root],
    });
    for _ in 0..CUSTOMERS {
        let id = Uuid::now_v7();
        nodes.push(Node {
            id,
            parent: Some(0),
            path: vec![root, id],
        });
    }
    let mut i = 0usize;
    while nodes.len() < tenants {
        // Round-robin over the customers; attach to a node of that customer that is not too deep.
        let customer = 1 + i % CUSTOMERS;
        let mut parent = customer;
        let candidates: Vec<usize> = (customer..nodes.len())
            .step_by(CUSTOMERS.max(1))
            .filter(|&n| {
                nodes[n].path.len() < MAX_DEPTH && nodes[n].path.get(1) == Some(&nodes[customer].id)
            })
            .collect();
        if !candidates.is_empty() {
            parent = candidates[(i * 7919) % candidates.len()];
        }
        let id = Uuid::now_v7();
        let mut path = nodes[parent].path.clone();
        path.push(id);
        nodes.push(Node {
            id,
            parent: Some(parent),
            path,
        });
        i += 1;
    }
    nodes
}

/// Inserts rows in chunks small enough for PostgreSQL's bind-parameter limit.
macro_rules! insert_chunks {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {
        for chunk in $rows.chunks($chunk) {
            diesel::insert_into($table).values(chunk).execute($conn)?;
        }
    };
}

pub fn load(conn: &mut PgConnection, scale: Scale) -> Result<LargeDemo, SetupError> {
    let password = crate::crypto::random_password(16);
    let hash = Password::parse(&password, "bench@example")
        .map_err(SetupError::Invalid)?
        .hash()?;
    conn.transaction(|conn| {
        if crate::domain::tenants::any_exists(conn)? {
            return Err(SetupError::NotEmpty);
        }
        let nodes = tree(scale.tenants);
        let tenant_rows: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(n, t)| {
                let name = match n {
                    0 => "Rent-a-fone".to_string(),
                    n if n <= CUSTOMERS => format!("Customer {n:02}"),
                    n => format!("Site {n:05}"),
                };
                (
                    tenants::id.eq(t.id),
                    tenants::parent_id.eq(t.parent.map(|p| nodes[p].id)),
                    tenants::slug.eq(name.to_lowercase().replace(' ', "-")),
                    tenants::name.eq(name),
                    tenants::traversal_ids.eq(t.path.clone()),
                )
            })
            .collect();
        insert_chunks!(conn, tenants::table, tenant_rows, 5_000);

        let user_ids: Vec<Uuid> = (0..scale.users).map(|_| Uuid::now_v7()).collect();
        let user_rows: Vec<_> = user_ids
            .iter()
            .enumerate()
            .map(|(n, id)| {
                (
                    users::id.eq(*id),
                    users::email.eq(format!("user{n:05}@large.example")),
                    users::display_name.eq(format!("User {n:05}")),
                    users::password_hash.eq(hash.clone()),
                )
            })
            .collect();
        insert_chunks!(conn, users::table, user_rows, 10_000);
        // The first three users are the benchmark's admins: root, a mid-level tenant, a leaf.
        let mid = nodes.iter().position(|t| t.path.len() == 4).unwrap_or(1);
        let leaf = (0..nodes.len())
            .rev()
            .find(|&n| !nodes.iter().any(|c| c.parent == Some(n)))
            .unwrap_or(0);
        let membership_rows: Vec<_> = user_ids
            .iter()
            .enumerate()
            .map(|(n, user)| {
                use crate::domain::roles::Role;
                let (t, role) = match n {
                    0 => (0, Role::Admin),
                    1 => (mid, Role::Admin),
                    2 => (leaf, Role::Admin),
                    n => (
                        n % nodes.len(),
                        [Role::Admin, Role::Operator, Role::Viewer, Role::Viewer][n % 4],
                    ),
                };
                (
                    memberships::user_id.eq(*user),
                    memberships::tenant_id.eq(nodes[t].id),
                    memberships::role_id.eq(role.id()),
                    memberships::tenant_path.eq(nodes[t].path.clone()),
                )
            })
            .collect();
        insert_chunks!(conn, memberships::table, membership_rows, 10_000);

        // Counted once at the end rather than per batch.
        for start in (0..scale.devices).step_by(5_000) {
            let rows: Vec<_> = (start..(start + 5_000).min(scale.devices))
                .map(|n| {
                    let t = &nodes[n % nodes.len()];
                    (
                        devices::id.eq(Uuid::now_v7()),
                        // The customer: the tenant under the root.
                        devices::customer_id.eq(t
                            .path
                            .get(1)
                            .or(t.path.first())
                            .copied()
                            .unwrap_or_default()),
                        devices::tenant_id.eq(t.id),
                        devices::tenant_path.eq(t.path.clone()),
                        devices::identifier.eq(imei_from(&format!("35{n:012}"))),
                        devices::id_kind.eq("imei"),
                        devices::name.eq(format!("Unit {n:07}")),
                        devices::kind.eq(["satellite_phone", "tracker", "router", "phone"][n % 4]),
                        devices::status.eq([
                            "in_stock",
                            "active",
                            "active",
                            "in_repair",
                            "retired",
                        ][n % 5]),
                    )
                })
                .collect();
            diesel::insert_into(devices::table)
                .values(&rows)
                .execute(conn)?;
        }
        diesel::sql_query(
            "INSERT INTO device_moves (customer_id, device_id, to_tenant_id, moved_at) \
             SELECT customer_id, id, tenant_id, created_at FROM devices",
        )
        .execute(conn)?;
        diesel::sql_query(
            "INSERT INTO device_identifiers (identifier, customer_id, device_id) \
             SELECT upper(identifier), customer_id, id FROM devices",
        )
        .execute(conn)?;
        crate::domain::devices::counts::rebuild(conn)?;

        let invitation_rows: Vec<_> = (0..scale.invitations)
            .map(|n| {
                let t = &nodes[(n * 31) % nodes.len()];
                (
                    invitations::id.eq(Uuid::now_v7()),
                    invitations::tenant_id.eq(t.id),
                    invitations::tenant_path.eq(t.path.clone()),
                    invitations::email.eq(format!("invitee{n:05}@large.example")),
                    invitations::role_id.eq(crate::domain::roles::Role::Viewer.id()),
                    invitations::inviter_id.eq(user_ids[0]),
                    invitations::token_hash.eq(crate::crypto::sha256_hex(
                        format!("large-{n}-{}", t.id).as_bytes(),
                    )),
                    invitations::expires_at.eq(chrono::Utc::now() + chrono::Duration::days(7)),
                )
            })
            .collect();
        insert_chunks!(conn, invitations::table, invitation_rows, 5_000);
        diesel::sql_query("ANALYZE").execute(conn)?;
        Ok(LargeDemo {
            password: password.clone(),
            root_admin: "user00000@large.example".into(),
            mid_admin: "user00001@large.example".into(),
            leaf_admin: "user00002@large.example".into(),
        })
    })
}
