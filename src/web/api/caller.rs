//! Who is calling the API: the key in `Authorization: Bearer …` and nothing else (no cookie,
//! so no request can be forged from a browser). A key's access (`Access::for_key`) is loaded
//! on every request, after the key's share of the rate limit is counted. `ApiReach` and
//! `ApiDevice` then reach the tenant or device the path names, exactly as the pages'
//! `Reach` and `DeviceReach` do: 404 outside reach, 403 within it but not permitted.
use std::marker::PhantomData;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;

use crate::access::{Access, Reached};
use crate::db::{self, DbPool};
use crate::domain::api_keys::{self, ApiKey, rate};
use crate::domain::devices::Device;
use crate::domain::ids::{DeviceId, TenantId};
use crate::domain::permissions::Needs;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::api::problem::Problem;

/// A request with a live key, counted against its rate limit.
pub struct Caller {
    pub access: Access,
    pub key: ApiKey,
    pub pool: DbPool,
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| secret.trim().to_string())
}

enum Outcome {
    Refused,
    Limited(u32),
    Let(Box<(ApiKey, Access)>),
}

impl FromRequest for Caller {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let secret = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let addr = crate::web::current::client_addr(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal("no app state".into()))?;
            let secret = secret.ok_or_else(Problem::unauthenticated)?;
            let per_minute = state.settings.api_rate_per_minute;
            let outcome = db::run(&state.pool, move |conn| {
                let Some((key, path)) = api_keys::authenticate(conn, &secret)? else {
                    return Ok(Outcome::Refused);
                };
                if let Err(seconds) = rate::take(conn, key.id, per_minute)? {
                    return Ok(Outcome::Limited(seconds));
                }
                Ok(match Access::for_key(conn, &key, &path, addr)? {
                    Some(access) => Outcome::Let(Box::new((key, access))),
                    None => Outcome::Refused,
                })
            })
            .await?;
            match outcome {
                Outcome::Refused => Err(Problem::unauthenticated()),
                Outcome::Limited(seconds) => Err(Problem::too_many(seconds)),
                Outcome::Let(found) => {
                    let (key, access) = *found;
                    Ok(Caller {
                        access,
                        key,
                        pool: state.pool.clone(),
                    })
                }
            }
        })
    }
}

/// The path's `{name}`; a malformed one names nothing, so it is 404 like an unknown id.
pub fn path_id<T: std::str::FromStr>(req: &HttpRequest, name: &str) -> Result<T, Problem> {
    req.match_info()
        .get(name)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| AppError::NotFound.into())
}

/// An API request about the tenant its path names as `{id}`, on which the key may do `A`.
pub struct ApiReach<A> {
    pub caller: Caller,
    pub tenant: Reached,
    needs: PhantomData<A>,
}

/// An API request about the device its path names as `{device}` under its tenant's `{id}`,
/// with the device's tenant.
pub struct ApiDevice<A> {
    pub caller: Caller,
    pub device: Device,
    pub tenant: Reached,
    needs: PhantomData<A>,
}

impl<A: Needs> FromRequest for ApiReach<A> {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        let id = path_id::<TenantId>(req, "id");
        Box::pin(async move {
            let caller = caller.await?;
            let id = id?;
            let access = caller.access.clone();
            let tenant = db::run(&caller.pool, move |conn| {
                Ok(access.tenant_for(conn, id, A::PERMISSION)?)
            })
            .await?;
            Ok(ApiReach {
                caller,
                tenant,
                needs: PhantomData,
            })
        })
    }
}

impl<A: Needs> FromRequest for ApiDevice<A> {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        let (tenant, id) = (
            path_id::<TenantId>(req, "id"),
            path_id::<DeviceId>(req, "device"),
        );
        Box::pin(async move {
            let caller = caller.await?;
            let (tenant, id) = (tenant?, id?);
            let access = caller.access.clone();
            let (device, tenant) = db::run(&caller.pool, move |conn| {
                let (device, tenant, _) = access.device_reached(conn, tenant, id)?;
                access.check(&tenant, A::PERMISSION)?;
                Ok((device, tenant))
            })
            .await?;
            Ok(ApiDevice {
                caller,
                device,
                tenant,
                needs: PhantomData,
            })
        })
    }
}
