//! The signed-in caller: `Access` as an extractor, and the page chrome built from it.
use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use uuid::Uuid;

use crate::access::Access;
use crate::db;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::csrf;
use crate::web::session_store::USER_ID_KEY;

/// The peer's address. Forwarded headers are not trusted: anyone can set them.
pub fn client_addr(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

impl FromRequest for Access {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let addr = client_addr(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal("no app state".into()))?;
            let user_id = session
                .get::<Uuid>(USER_ID_KEY)
                .ok()
                .flatten()
                .ok_or(AppError::Unauthenticated)?;
            let access = db::run(&state.pool, move |c| Access::load(c, user_id, addr)).await?;
            match access {
                Some(access) => Ok(access),
                None => {
                    session.purge();
                    Err(AppError::Unauthenticated)
                }
            }
        })
    }
}

/// What every signed-in page shows around its content.
pub struct Chrome {
    pub user_name: String,
    pub csrf: String,
}

impl Chrome {
    pub fn new(access: &Access, session: &Session) -> Self {
        Self {
            user_name: access.user.display_name.clone(),
            csrf: csrf::token(session),
        }
    }
}
