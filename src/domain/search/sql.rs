//! The search statements. Each kind is one statement: per field, a branch that walks that
//! field's index from the prefix on, confined to the scope's windows and cut at the page's
//! end; branches after the first leave out what an earlier one found, so the union reads in
//! a fixed order (field, then the field's own order) and pages follow on from each other.
use diesel::PgConnection;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};

use super::{Hit, Term, prefix_bounds};
use crate::db::like_escape;
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, GroupId, TenantId};
use crate::domain::memberships::Window;
use crate::domain::tenants::subtree_bounds;

enum Bind {
    Text(String),
    Path(Vec<TenantId>),
    Groups(Vec<GroupId>),
    Customer(CustomerId),
    Int(i64),
    Bool(bool),
}

/// A statement's text with its parameters, numbered as they are added.
#[derive(Default)]
struct Statement {
    binds: Vec<Bind>,
}

impl Statement {
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    /// `expr` starts with `prefix`: a range the field's index answers, and LIKE to be exact
    /// whatever the database's collation.
    fn prefix(&mut self, expr: &str, prefix: &str) -> String {
        let (lo, hi) = prefix_bounds(prefix);
        let (lo, hi) = (self.bind(Bind::Text(lo)), self.bind(Bind::Text(hi)));
        let like = self.bind(Bind::Text(format!("{}%", like_escape(prefix))));
        format!("({expr} >= {lo} AND {expr} < {hi} AND {expr} LIKE {like})")
    }

    /// The rows whose tenant path (`col`) lies in one of the windows; for a window limited to
    /// groups, only devices (`id_col`) of those groups.
    fn within(
        &mut self,
        col: &str,
        id_col: &str,
        customer_col: Option<&str>,
        windows: &[Window],
    ) -> String {
        let mut any = Vec::new();
        for w in windows {
            // A data table's rows are also those of the window's customer: below the root, one;
            // from the root, every customer (named all the same, as `in_customer!` does).
            let customer = match (customer_col, CustomerId::reaching(&w.path)) {
                (Some(c), Some(id)) => {
                    format!("{c} = {} AND ", self.bind(Bind::Customer(id)))
                }
                (Some(c), None) => format!(
                    "({c} = {} OR {}) AND ",
                    self.bind(Bind::Customer(CustomerId::NONE)),
                    self.bind(Bind::Bool(true))
                ),
                (None, _) => String::new(),
            };
            let place = if w.subtree {
                let (lo, hi) = subtree_bounds(&w.path);
                let (lo, hi) = (self.bind(Bind::Path(lo)), self.bind(Bind::Path(hi)));
                format!("({customer}{col} >= {lo} AND {col} < {hi})")
            } else {
                let path = self.bind(Bind::Path(w.path.clone()));
                format!("({customer}{col} = {path})")
            };
            any.push(match &w.groups {
                None => place,
                Some(groups) => format!(
                    "({place} AND {id_col} IN (SELECT device_id FROM group_devices \
                     WHERE customer_id = {} AND group_id = ANY({})))",
                    self.bind(Bind::Customer(CustomerId::of(&w.path))),
                    self.bind(Bind::Groups(groups.clone()))
                ),
            });
        }
        format!("({})", any.join(" OR "))
    }

    fn load(self, conn: &mut PgConnection, text: String) -> Result<Vec<Hit>, DomainError> {
        let mut q = diesel::sql_query(text).into_boxed::<Pg>();
        for b in self.binds {
            q = match b {
                Bind::Text(s) => q.bind::<Text, _>(s),
                Bind::Path(p) => q.bind::<Array<SqlUuid>, _>(p),
                Bind::Groups(g) => q.bind::<Array<SqlUuid>, _>(g),
                Bind::Customer(c) => q.bind::<SqlUuid, _>(c),
                Bind::Int(n) => q.bind::<BigInt, _>(n),
                Bind::Bool(b) => q.bind::<diesel::sql_types::Bool, _>(b),
            };
        }
        Ok(q.load(conn)?)
    }
}

/// A branch: rows matching `matches` (and none of `before`) in `key` order, the first `k`.
struct Branch {
    matches: String,
    key: &'static str,
}

/// The union of the branches, in order, one page of it.
fn union(
    s: &mut Statement,
    select: &str,
    from: &str,
    scope: &str,
    branches: &[Branch],
    limit: i64,
    offset: i64,
) -> String {
    let k = s.bind(Bind::Int(limit + offset + 1));
    let mut parts = Vec::new();
    for (rank, b) in branches.iter().enumerate() {
        let earlier: String = branches[..rank]
            .iter()
            .map(|e| format!(" AND NOT coalesce({}, false)", e.matches))
            .collect();
        parts.push(format!(
            "(SELECT {select}, {rank} AS rank, {key} AS key FROM {from} \
             WHERE {m}{earlier} AND {scope} ORDER BY {key}, id LIMIT {k})",
            key = b.key,
            m = b.matches,
        ));
    }
    format!(
        "SELECT id, tenant_id, tenant_path, title, detail FROM ({}) found \
         ORDER BY rank, key, id LIMIT {} OFFSET {}",
        parts.join(" UNION ALL "),
        s.bind(Bind::Int(limit + 1)),
        s.bind(Bind::Int(offset)),
    )
}

/// One kind's statement: `shape` adds its parameters and says what to read, from where,
/// within which scope and through which branches; no windows, no statement.
fn run(
    conn: &mut PgConnection,
    windows: &[Window],
    select: &str,
    limit: i64,
    offset: i64,
    shape: impl FnOnce(&mut Statement) -> (String, String, Vec<Branch>),
) -> Result<Vec<Hit>, DomainError> {
    if windows.is_empty() {
        return Ok(Vec::new());
    }
    let mut s = Statement::default();
    let (from, scope, branches) = shape(&mut s);
    let text = union(&mut s, select, &from, &scope, &branches, limit, offset);
    // The best plan depends on the scope's size and the prefix (see `db::plans`).
    crate::db::plans::per_execution(conn, |conn| s.load(conn, text))
}

pub fn devices(
    conn: &mut PgConnection,
    windows: &[Window],
    term: &Term,
    limit: i64,
    offset: i64,
) -> Result<Vec<Hit>, DomainError> {
    let select = "id, tenant_id, tenant_path, name AS title, \
                  identifier || coalesce(' · ' || phone, '') AS detail";
    run(conn, windows, select, limit, offset, |s| {
        let scope = s.within("tenant_path", "id", Some("customer_id"), windows);
        let mut branches = vec![
            Branch {
                matches: s.prefix("upper(identifier)", &term.as_str().to_uppercase()),
                key: "upper(identifier)",
            },
            Branch {
                matches: s.prefix("lower(name)", &term.as_str().to_lowercase()),
                key: "lower(name)",
            },
        ];
        if let Some(phone) = term.phone() {
            branches.push(Branch {
                matches: s.prefix("phone", &phone),
                key: "phone",
            });
        }
        ("devices".to_string(), scope, branches)
    })
}

pub fn tenants(
    conn: &mut PgConnection,
    windows: &[Window],
    term: &Term,
    limit: i64,
    offset: i64,
) -> Result<Vec<Hit>, DomainError> {
    let select = "id, id AS tenant_id, traversal_ids AS tenant_path, name AS title, \
                  status AS detail";
    run(conn, windows, select, limit, offset, |s| {
        let scope = s.within("traversal_ids", "id", None, windows);
        let name = Branch {
            matches: s.prefix("lower(name)", &term.as_str().to_lowercase()),
            key: "lower(name)",
        };
        ("tenants".to_string(), scope, vec![name])
    })
}

/// People by name or email, each shown once, at the highest of their memberships in scope.
pub fn people(
    conn: &mut PgConnection,
    windows: &[Window],
    term: &Term,
    limit: i64,
    offset: i64,
) -> Result<Vec<Hit>, DomainError> {
    let select = "u.id, m.tenant_id, m.tenant_path, u.display_name AS title, u.email AS detail";
    run(conn, windows, select, limit, offset, |s| {
        let within = s.within("m.tenant_path", "m.user_id", None, windows);
        let lower = term.as_str().to_lowercase();
        let branches = vec![
            Branch {
                matches: s.prefix("lower(display_name)", &lower),
                key: "lower(display_name)",
            },
            Branch {
                matches: s.prefix("lower(email)", &lower),
                key: "lower(email)",
            },
        ];
        // The scope is the lateral join's: a person with no membership in it is no row.
        let from = format!(
            "users u CROSS JOIN LATERAL (SELECT m.tenant_id, m.tenant_path FROM memberships m \
             WHERE m.user_id = u.id AND {within} \
             ORDER BY cardinality(m.tenant_path), m.tenant_id LIMIT 1) m"
        );
        (from, "true".to_string(), branches)
    })
}

pub fn contacts(
    conn: &mut PgConnection,
    windows: &[Window],
    term: &Term,
    limit: i64,
    offset: i64,
) -> Result<Vec<Hit>, DomainError> {
    let select = "c.id, c.tenant_id, t.traversal_ids AS tenant_path, c.name AS title, \
                  coalesce(c.email, c.phone, '') AS detail";
    run(conn, windows, select, limit, offset, |s| {
        let scope = s.within("t.traversal_ids", "c.id", Some("c.customer_id"), windows);
        let name = Branch {
            matches: s.prefix("lower(c.name)", &term.as_str().to_lowercase()),
            key: "lower(c.name)",
        };
        let from = "contacts c JOIN tenants t ON t.id = c.tenant_id".to_string();
        (from, scope, vec![name])
    })
}
