//! First run: a root tenant with its first admin (`canopy bootstrap`), and the demo tree.
use diesel::prelude::*;

use crate::domain::audit::Actor;
use crate::domain::error::DomainError;
use crate::domain::memberships;
use crate::domain::password::Password;
use crate::domain::roles::Role;
use crate::domain::tenants::{self, Tenant, TenantError, TenantName};
use crate::domain::users::{self, CreateUserError, Email};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Invalid(String),
    #[error("An account with the email {0} already exists.")]
    EmailTaken(String),
    #[error("A root tenant named {0:?} already exists.")]
    TenantTaken(String),
    #[error("The database already holds tenants; `canopy demo` only fills an empty database.")]
    NotEmpty,
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<CreateUserError> for SetupError {
    fn from(e: CreateUserError) -> Self {
        match e {
            CreateUserError::EmailTaken => Self::EmailTaken(String::new()),
            CreateUserError::Domain(a) => Self::Domain(a),
        }
    }
}

impl From<diesel::result::Error> for SetupError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Domain(e.into())
    }
}

/// Creates a root tenant and its first admin in one transaction.
pub fn bootstrap(
    conn: &mut PgConnection,
    tenant_name: &str,
    email: &str,
    display_name: Option<&str>,
    password: &str,
) -> Result<(Tenant, users::User), SetupError> {
    let name = TenantName::parse(tenant_name)
        .map_err(|m| SetupError::Invalid(format!("Tenant name: {m}")))?;
    let email = Email::parse(email).map_err(SetupError::Invalid)?;
    let password = Password::parse(password, email.as_str())
        .map_err(|m| SetupError::Invalid(format!("Password: {m}")))?;
    let display_name = display_name.map(str::to_string).unwrap_or_else(|| {
        email
            .as_str()
            .split('@')
            .next()
            .unwrap_or("admin")
            .to_string()
    });
    let display_name = users::parse_display_name(&display_name).map_err(SetupError::Invalid)?;
    let actor = Actor::system();
    conn.transaction(|conn| {
        let tenant = tenants::create_root(conn, &actor, &name).map_err(|e| match e {
            TenantError::NameTaken => SetupError::TenantTaken(name.as_str().to_string()),
            TenantError::Domain(a) => SetupError::Domain(a),
            other => SetupError::Invalid(other.to_string()),
        })?;
        let user = users::create(conn, &email, &display_name, &password).map_err(|e| match e {
            CreateUserError::EmailTaken => SetupError::EmailTaken(email.as_str().to_string()),
            CreateUserError::Domain(a) => SetupError::Domain(a),
        })?;
        memberships::grant(conn, &actor, user.id, &tenant, Role::Admin)?;
        Ok((tenant, user))
    })
}

/// One person of the demo tree.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub email: String,
    pub tenant: String,
    pub role: Role,
}

pub struct Demo {
    pub password: String,
    pub accounts: Vec<DemoAccount>,
}

/// (tenant, parent, [(email, display name, role)])
type DemoTenant = (
    &'static str,
    Option<&'static str>,
    &'static [(&'static str, &'static str, Role)],
);

const DEMO_TREE: &[DemoTenant] = &[
    (
        "Rent-a-fone",
        None,
        &[
            ("alice@rentafone.example", "Alice Admin", Role::Admin),
            ("oscar@rentafone.example", "Oscar Operator", Role::Operator),
            ("vera@rentafone.example", "Vera Viewer", Role::Viewer),
        ],
    ),
    (
        "Acme Haulage Ltd",
        Some("Rent-a-fone"),
        &[
            ("ann@acme.example", "Ann Acme-Admin", Role::Admin),
            ("olly@acme.example", "Olly Acme-Operator", Role::Operator),
            ("victor@acme.example", "Victor Acme-Viewer", Role::Viewer),
        ],
    ),
    (
        "Acme UK",
        Some("Acme Haulage Ltd"),
        &[
            ("uma@acme.example", "Uma UK-Admin", Role::Admin),
            ("ulysses@acme.example", "Ulysses UK-Viewer", Role::Viewer),
        ],
    ),
    (
        "Acme France",
        Some("Acme Haulage Ltd"),
        &[
            ("fanny@acme.example", "Fanny France-Admin", Role::Admin),
            ("felix@acme.example", "Felix France-Viewer", Role::Viewer),
        ],
    ),
    (
        "Acme Germany",
        Some("Acme Haulage Ltd"),
        &[
            ("greta@acme.example", "Greta Germany-Admin", Role::Admin),
            ("gustav@acme.example", "Gustav Germany-Viewer", Role::Viewer),
        ],
    ),
    (
        "Great Expeditions LLC",
        Some("Rent-a-fone"),
        &[
            (
                "erin@greatexpeditions.example",
                "Erin Expeditions-Admin",
                Role::Admin,
            ),
            (
                "eddie@greatexpeditions.example",
                "Eddie Expeditions-Viewer",
                Role::Viewer,
            ),
        ],
    ),
    (
        "ABC Holidays PLC",
        Some("Rent-a-fone"),
        &[
            (
                "hana@abcholidays.example",
                "Hana Holidays-Admin",
                Role::Admin,
            ),
            (
                "hugo@abcholidays.example",
                "Hugo Holidays-Operator",
                Role::Operator,
            ),
        ],
    ),
];

/// Fills an empty database with the example tree; every account shares one random password.
pub fn demo(conn: &mut PgConnection) -> Result<Demo, SetupError> {
    let password = crate::crypto::random_password(16);
    let parsed = Password::parse(&password, "demo@example").map_err(SetupError::Invalid)?;
    let actor = Actor::system();
    conn.transaction(|conn| {
        if tenants::any_exists(conn)? {
            return Err(SetupError::NotEmpty);
        }
        let mut created: Vec<Tenant> = Vec::new();
        let mut accounts = Vec::new();
        for (name, parent, people) in DEMO_TREE {
            let name = TenantName::parse(name).map_err(SetupError::Invalid)?;
            let tenant = match parent.and_then(|p| created.iter().find(|t| t.name == p)) {
                Some(parent) => crate::access::system_reach(conn, parent.id)
                    .map_err(TenantError::from)
                    .and_then(|p| tenants::create_child(conn, &actor, &p, &name)),
                None => tenants::create_root(conn, &actor, &name),
            }
            .map_err(|e| SetupError::Invalid(e.to_string()))?;
            for (email, display, role) in *people {
                let email = Email::parse(email).map_err(SetupError::Invalid)?;
                let user = users::create(conn, &email, display, &parsed)?;
                memberships::grant(conn, &actor, user.id, &tenant, *role)?;
                accounts.push(DemoAccount {
                    email: email.as_str().to_string(),
                    tenant: tenant.name.clone(),
                    role: *role,
                });
            }
            demo_devices(conn, &actor, &tenant, created.len())?;
            created.push(tenant);
        }
        demo_branding(conn, &actor, &created)?;
        demo_history(conn)?;
        if let Some(acme) = created.iter().find(|t| t.name == "Acme Haulage Ltd") {
            crate::domain::checkins::demo::seed(conn, acme)?;
        }
        Ok(Demo {
            password: password.clone(),
            accounts,
        })
    })
}

/// The rental company and its first customer each present their own brand; the rental
/// company and an American customer set their time zones.
fn demo_branding(
    conn: &mut PgConnection,
    actor: &Actor,
    created: &[Tenant],
) -> Result<(), SetupError> {
    use crate::domain::branding::{self, BrandChange};
    const ACME_LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 32"><rect width="64" height="32" rx="4" fill="#8a2b1d"/><text x="32" y="22" font-family="sans-serif" font-size="16" font-weight="bold" fill="#ffffff" text-anchor="middle">ACME</text></svg>"##;
    for tenant in created {
        let change = match tenant.name.as_str() {
            "Rent-a-fone" => BrandChange {
                name: Some("Rent-a-fone Portal".into()),
                accent: Some("#1d4f8a".into()),
                logo: None,
                time_zone: Some(chrono_tz::Europe::London),
            },
            "Acme Haulage Ltd" => BrandChange {
                name: Some("Acme Haulage".into()),
                accent: Some("#8a2b1d".into()),
                logo: Some(Some(
                    branding::parse_logo(ACME_LOGO.as_bytes())
                        .map_err(|e| SetupError::Invalid(e.to_string()))?,
                )),
                time_zone: None,
            },
            // A customer across the Atlantic reads its times in its own zone.
            "Great Expeditions LLC" => BrandChange {
                time_zone: Some(chrono_tz::America::New_York),
                ..BrandChange::default()
            },
            _ => continue,
        };
        branding::save(conn, actor, tenant, change)?;
    }
    Ok(())
}

/// Spreads the demo's history over the last four months, so that the usage report has
/// something to show on a fresh install.
fn demo_history(conn: &mut PgConnection) -> Result<(), SetupError> {
    diesel::sql_query(
        "UPDATE device_moves SET moved_at = now() - make_interval(days => 20 + abs(hashtext(device_id::text)) % 100)",
    )
    .execute(conn)
    .map_err(DomainError::from)?;
    diesel::sql_query(
        "UPDATE membership_spans SET started_at = now() - make_interval(days => 40 + abs(hashtext(user_id::text)) % 80)",
    )
    .execute(conn)
    .map_err(DomainError::from)?;
    Ok(())
}

/// A few devices of every status in each demo tenant.
fn demo_devices(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    index: usize,
) -> Result<(), SetupError> {
    use crate::domain::devices::{self, DeviceInput, fields};
    let kinds = ["satellite_phone", "tracker", "router", "phone"];
    for (n, (status, _)) in fields::STATUSES.iter().cycle().take(8).enumerate() {
        let imei = fields::imei_from(&format!("3566{:02}{:08}", index, n));
        let input = DeviceInput {
            imei,
            name: format!(
                "{} {}",
                tenant.name.split_whitespace().next().unwrap_or("Unit"),
                n + 1
            ),
            model: if n % 2 == 0 {
                "Iridium 9555".into()
            } else {
                "Thuraya XT".into()
            },
            kind: kinds[n % kinds.len()].into(),
            status: (*status).into(),
            phone: format!("+88163{:07}", index * 100 + n),
            ..Default::default()
        };
        let fields = input
            .parse()
            .map_err(|e| SetupError::Invalid(format!("demo device: {e:?}")))?;
        devices::insert(conn, actor, tenant, &fields)
            .map_err(|e| SetupError::Invalid(e.to_string()))?;
    }
    Ok(())
}
