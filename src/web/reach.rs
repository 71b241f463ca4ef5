//! The tenant (or device) a route is about, reached before the handler runs. A handler states
//! the permission it needs in its signature — `Reach<perm::BrandingEdit>`,
//! `DeviceReach<perm::DevicesEdit>`, one type per entry of the catalogue — and
//! gets the proof (`Reached`) with the page chrome already showing that tenant: the route
//! carries the tenant in view, nothing guesses it from the URL.
//!
//! Outside reach answers 404 before any other work; within reach but not allowed, 403.
use std::marker::PhantomData;

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;

use crate::access::{Access, Reached};
use crate::db::{self, DbPool};
use crate::domain::devices::Device;
use crate::domain::ids::{DeviceId, TenantId};
use crate::domain::permissions::Needs;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;

/// A signed-in request about the tenant its route names as `{id}`.
pub struct Reach<A> {
    pub access: Access,
    pub chrome: Chrome,
    pub tenant: Reached,
    pub pool: DbPool,
    needs: PhantomData<A>,
}

/// A signed-in request about the device its route names as `{device}` under its tenant's
/// `{id}`, with the device's tenant.
pub struct DeviceReach<A> {
    pub access: Access,
    pub chrome: Chrome,
    pub device: Device,
    pub tenant: Reached,
    pub pool: DbPool,
    needs: PhantomData<A>,
}

impl<A> Reach<A> {
    pub fn into_parts(self) -> (Access, Chrome, Reached, DbPool) {
        (self.access, self.chrome, self.tenant, self.pool)
    }
}

impl<A> DeviceReach<A> {
    pub fn into_parts(self) -> (Access, Chrome, Device, Reached, DbPool) {
        (
            self.access,
            self.chrome,
            self.device,
            self.tenant,
            self.pool,
        )
    }
}

/// The path's `{id}`; a malformed one names nothing, so it is 404 like any unknown id.
fn path_id<T: std::str::FromStr>(req: &HttpRequest) -> Result<T, AppError> {
    path_part(req, "id")
}

/// The path's `{name}`, 404 when malformed.
fn path_part<T: std::str::FromStr>(req: &HttpRequest, name: &str) -> Result<T, AppError> {
    req.match_info()
        .get(name)
        .and_then(|s| s.parse().ok())
        .ok_or(AppError::NotFound)
}

fn pool(req: &HttpRequest) -> Result<DbPool, AppError> {
    req.app_data::<web::Data<AppState>>()
        .map(|s| s.pool.clone())
        .ok_or_else(|| AppError::Internal("no app state".into()))
}

impl<A: Needs> FromRequest for Reach<A> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let access = Access::from_request(req, payload);
        let session = req.get_session();
        let (id, pool) = (path_id::<TenantId>(req), pool(req));
        Box::pin(async move {
            let (access, id, pool) = (access.await?, id?, pool?);
            let a = access.clone();
            let (tenant, brand) = db::run(&pool, move |conn| {
                let (tenant, brand) = a.tenant_with_brand(conn, id)?;
                a.check(&tenant, A::PERMISSION)?;
                Ok((tenant, brand))
            })
            .await?;
            let chrome = Chrome::about(&session, &access, Some((&tenant, brand)));
            Ok(Reach {
                access,
                chrome,
                tenant,
                pool,
                needs: PhantomData,
            })
        })
    }
}

impl<A: Needs> FromRequest for DeviceReach<A> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let access = Access::from_request(req, payload);
        let session = req.get_session();
        let (tenant, id, pool) = (
            path_id::<TenantId>(req),
            path_part::<DeviceId>(req, "device"),
            pool(req),
        );
        Box::pin(async move {
            let (access, tenant, id, pool) = (access.await?, tenant?, id?, pool?);
            let a = access.clone();
            let (device, tenant, brand) = db::run(&pool, move |conn| {
                let (device, tenant, brand) = a.device_reached(conn, tenant, id)?;
                a.check(&tenant, A::PERMISSION)?;
                Ok((device, tenant, brand))
            })
            .await?;
            let chrome = Chrome::about(&session, &access, Some((&tenant, brand)));
            Ok(DeviceReach {
                access,
                chrome,
                device,
                tenant,
                pool,
                needs: PhantomData,
            })
        })
    }
}
