//! The signed-in caller: `Access` as an extractor, and the page chrome (brand, tenant switcher,
//! the tenant in view) built from it.
use std::future::Future;
use std::pin::Pin;

use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use diesel::PgConnection;
use uuid::Uuid;

use crate::access::Access;
use crate::db;
use crate::domain::branding::{self, Brand};
use crate::domain::ids::{TenantId, UserId};
use crate::domain::roles::Role;
use crate::domain::tenants::Tenant;
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
        let load = async move {
            let state = state.ok_or_else(|| AppError::Internal("no app state".into()))?;
            let user_id = session
                .get::<UserId>(USER_ID_KEY)
                .ok()
                .flatten()
                .ok_or(AppError::Unauthenticated)?;
            let access = db::run(&state.pool, move |c| Ok(Access::load(c, user_id, addr)?)).await?;
            access.ok_or_else(|| {
                session.purge();
                AppError::Unauthenticated
            })
        }
        .boxed_local()
        .shared();
        req.extensions_mut().insert(SharedAccess(load.clone()));
        load.boxed_local()
    }
}

/// The tenant a page is about, as the header shows it.
#[derive(Debug, Clone)]
pub struct InView {
    pub id: TenantId,
    pub name: String,
    pub admin: bool,
}

/// One of the caller's memberships, as the switcher offers it.
#[derive(Debug, Clone)]
pub struct Membership {
    pub tenant_id: TenantId,
    pub tenant_name: String,
    pub role: Role,
}

/// What every signed-in page shows around its content.
pub struct Chrome {
    pub user_name: String,
    pub csrf: String,
    pub brand: Brand,
    pub in_view: Option<InView>,
    pub memberships: Vec<Membership>,
}

impl Chrome {
    /// The membership the switcher shows as selected.
    pub fn is_current(&self, tenant_id: &TenantId) -> bool {
        self.in_view.as_ref().is_some_and(|v| v.id == *tenant_id)
    }
}

/// The tenant a request is about — the one its URL names, the tenant of the device it names,
/// or the caller's home — with its brand. Anything out of reach falls back to home: the
/// handler answers 404.
fn tenant_in_view(
    conn: &mut PgConnection,
    access: &Access,
    path: &str,
    id: Option<Uuid>,
) -> Result<Option<(Tenant, Brand)>, AppError> {
    let named = match id {
        Some(id) if path.starts_with("/tenants/") => Some(TenantId::from(id)),
        Some(id) if path.starts_with("/devices/") => {
            crate::domain::devices::find(conn, id.into())?.map(|d| d.tenant_id)
        }
        _ => None,
    };
    if let Some(id) = named
        && let Some((t, brand)) = branding::tenant_with_brand(conn, id)?
        && access.role_on(&t.traversal_ids).is_some()
    {
        return Ok(Some((t, brand)));
    }
    match access.home() {
        Some(home) => Ok(branding::tenant_with_brand(conn, home)?),
        None => Ok(None),
    }
}

impl FromRequest for Chrome {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let access = Access::from_request(req, payload);
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let path = req.path().to_string();
        let is_get = req.method() == actix_web::http::Method::GET;
        let id = req
            .match_info()
            .get("id")
            .and_then(|s| Uuid::parse_str(s).ok());
        Box::pin(async move {
            let access = access.await?;
            let state = state.ok_or_else(|| AppError::Internal("no app state".into()))?;
            let memberships = access
                .grants
                .iter()
                .map(|g| Membership {
                    tenant_id: g.tenant_id,
                    tenant_name: g.tenant_name.clone(),
                    role: g.role,
                })
                .collect();
            let user_name = access.user.display_name.clone();
            let (brand, in_view) = db::run(&state.pool, move |conn| {
                let Some((tenant, brand)) = tenant_in_view(conn, &access, &path, id)? else {
                    return Ok((Brand::default(), None));
                };
                // A GET changes nothing, so the handler may reuse this tenant as loaded.
                if is_get {
                    access.remember(&tenant);
                }
                let admin = access.role_on(&tenant.traversal_ids) == Some(Role::Admin);
                Ok((
                    brand,
                    Some(InView {
                        id: tenant.id,
                        name: tenant.name,
                        admin,
                    }),
                ))
            })
            .await?;
            Ok(Chrome {
                user_name,
                csrf: csrf::token(&session),
                brand,
                in_view,
                memberships,
            })
        })
    }
}
