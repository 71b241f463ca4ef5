//! The signed-in caller: `Access` as an extractor, and the page chrome (brand, tenant switcher,
//! the tenant in view) built from it and from what the route reached (`web::reach`).
use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use crate::access::{Access, Reached};
use crate::db;
use crate::domain::branding::Brand;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::permissions::{Permission, Permissions};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::csrf;
use crate::web::session_store::USER_ID_KEY;

/// The client's address: the peer's, or (from a trusted proxy only) the one it forwards.
/// The throttle, the audit log and the sessions all read it here.
pub fn client_addr(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Some(peer.to_string());
    };
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let client =
        state
            .settings
            .trusted_proxies
            .client(peer, header("forwarded"), header("x-forwarded-for"));
    Some(client.to_string())
}

/// The request's one load of `Access`, shared by every extractor that asks for it (they are
/// polled together, so a plain cache would be filled too late).
#[derive(Clone)]
struct SharedAccess(Shared<LocalBoxFuture<'static, Result<Access, AppError>>>);

impl FromRequest for Access {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(shared) = req.extensions().get::<SharedAccess>().cloned() {
            return shared.0.boxed_local();
        }
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let addr = client_addr(req);
        let path = req.path().to_string();
        let load = async move {
            let state = state.ok_or_else(|| AppError::Internal("no app state".into()))?;
            let user_id = session
                .get::<UserId>(USER_ID_KEY)
                .ok()
                .flatten()
                .ok_or(AppError::Unauthenticated)?;
            let access = db::run(&state.pool, move |c| Ok(Access::load(c, user_id, addr)?)).await?;
            let access = access.ok_or_else(|| {
                session.purge();
                AppError::Unauthenticated
            })?;
            policies_in_force(&session, &access, &path)?;
            Ok(access)
        }
        .boxed_local()
        .shared();
        req.extensions_mut().insert(SharedAccess(load.clone()));
        load.boxed_local()
    }
}

const SEEN_AT: &str = "seen_at";

/// The security policies of the caller's tenants, on every signed-in request: a shorter idle
/// timeout ends the session; a required second factor not yet set up allows nothing but
/// setting it up. (The idle clock is kept in the session only while such a policy applies,
/// refreshed at most once a minute.)
fn policies_in_force(
    session: &actix_session::Session,
    access: &Access,
    path: &str,
) -> Result<(), AppError> {
    if let Some(minutes) = access.idle_minutes() {
        let now = chrono::Utc::now().timestamp();
        let seen = session.get::<i64>(SEEN_AT).ok().flatten();
        if seen.is_some_and(|at| now - at > i64::from(minutes) * 60) {
            session.purge();
            return Err(AppError::Unauthenticated);
        }
        if seen.is_none_or(|at| now - at >= 60) {
            session
                .insert(SEEN_AT, now)
                .map_err(|e| AppError::Internal(e.to_string()))?;
        }
    }
    if access.must_enrol() && !crate::web::two_factor::WHILE_ENROLLING.contains(&path) {
        return Err(AppError::MustEnrol);
    }
    Ok(())
}

/// The tenant a page is about, as the header shows it: its links follow what the caller may
/// do there.
#[derive(Debug, Clone)]
pub struct InView {
    pub id: TenantId,
    pub name: String,
    pub permissions: Permissions,
    pub sees_below: bool,
}

impl InView {
    pub fn may(&self, p: Permission) -> bool {
        self.permissions.has(p)
    }

    /// The tenant page is for those who shape the tenant or see below it.
    pub fn shows_tenant_page(&self) -> bool {
        self.sees_below || self.may(Permission::TenantRename) || self.may(Permission::TenantCreate)
    }
}

/// One of the caller's memberships, as the switcher offers it.
#[derive(Debug, Clone)]
pub struct Membership {
    pub tenant_id: TenantId,
    pub tenant_name: String,
    pub role: String,
}

/// What every signed-in page shows around its content.
pub struct Chrome {
    pub user_name: String,
    pub csrf: String,
    pub brand: Brand,
    pub in_view: Option<InView>,
    pub memberships: Vec<Membership>,
    /// The zone the reader reads times in: their account's, else their tenant's default,
    /// else UTC.
    pub zone: chrono_tz::Tz,
    /// What the last change did, said once (`web::flash`).
    pub flash: Option<String>,
}

impl Chrome {
    /// A moment as this reader reads it: in their zone, which is named.
    pub fn local(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        at.with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    /// A recent moment as a span of time ("3 hours ago"); an older or future one as `local`.
    pub fn ago(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        ago_at(*at, chrono::Utc::now()).unwrap_or_else(|| self.local(at))
    }

    /// The same moment as a `<time datetime>` value: UTC, whole seconds.
    pub fn iso(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// The membership the switcher shows as selected.
    pub fn is_current(&self, tenant_id: &TenantId) -> bool {
        self.in_view.as_ref().is_some_and(|v| v.id == *tenant_id)
    }
}

impl Chrome {
    /// The chrome of a page about `in_view` (with its brand), or about nothing in particular.
    pub fn about(
        session: &actix_session::Session,
        access: &Access,
        in_view: Option<(&Reached, Brand)>,
    ) -> Self {
        let memberships = access
            .grants
            .iter()
            .map(|g| Membership {
                tenant_id: g.tenant_id,
                tenant_name: g.tenant_name.clone(),
                role: g.role.name.clone(),
            })
            .collect();
        let (brand, in_view) = match in_view {
            Some((reached, brand)) => (
                brand,
                Some(InView {
                    id: reached.id(),
                    name: reached.tenant().name.clone(),
                    permissions: reached.permissions(),
                    sees_below: reached.sees_below(),
                }),
            ),
            None => (Brand::default(), None),
        };
        // The reader's own zone; else the one their tenant in view sets (nearest on its path).
        let zone = access
            .user
            .time_zone
            .as_deref()
            .or(brand.time_zone.as_deref())
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        Chrome {
            user_name: access.user.display_name.clone(),
            csrf: csrf::token(session),
            brand,
            in_view,
            memberships,
            flash: crate::web::flash::take(session),
            zone,
        }
    }
}

/// The chrome of a page that names no tenant: the caller's home is in view. Pages about a
/// tenant or a device take `Reach`/`DeviceReach` instead, whose route names it.
impl FromRequest for Chrome {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let access = Access::from_request(req, payload);
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let access = access.await?;
            let state = state.ok_or_else(|| AppError::Internal("no app state".into()))?;
            let a = access.clone();
            let home = db::run(&state.pool, move |conn| match a.home() {
                // The home is shown whatever the role there allows.
                Some(id) => Ok(Some(a.tenant_with_brand(conn, id)?)),
                None => Ok(None),
            })
            .await?;
            Ok(Chrome::about(
                &session,
                &access,
                home.as_ref().map(|(r, b)| (r, b.clone())),
            ))
        })
    }
}

/// How long before `now` the moment `at` was, when that is under a week.
fn ago_at(at: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let seconds = (now - at).num_seconds();
    let (n, unit) = match seconds {
        s if s < 0 => return None,
        0..60 => return Some("just now".into()),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s if s < 7 * 86_400 => (s / 86_400, "day"),
        _ => return None,
    };
    Some(format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::ago_at;
    use chrono::{Duration, Utc};

    #[test]
    fn recent_moments_read_as_spans_and_older_ones_not() {
        let now = Utc::now();
        let ago = |d: Duration| ago_at(now - d, now);
        assert_eq!(ago(Duration::seconds(5)).as_deref(), Some("just now"));
        assert_eq!(ago(Duration::minutes(1)).as_deref(), Some("1 minute ago"));
        assert_eq!(
            ago(Duration::minutes(59)).as_deref(),
            Some("59 minutes ago")
        );
        assert_eq!(ago(Duration::hours(3)).as_deref(), Some("3 hours ago"));
        assert_eq!(ago(Duration::days(6)).as_deref(), Some("6 days ago"));
        assert_eq!(ago(Duration::days(7)), None);
        assert_eq!(ago(Duration::seconds(-30)), None);
    }
}
