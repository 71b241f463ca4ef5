//! Opening and accepting an invitation link (public: the token is the credential).
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::domain::ids::UserId;
use crate::domain::invitations::{self, AcceptError, Acceptor, LinkError, Opened};
use crate::domain::password::Password;
use crate::domain::users::{self, User};
use crate::error::AppError;
use crate::web::current::client_addr;
use crate::web::render::{html_status, see_other};
use crate::web::session_store::USER_ID_KEY;
use crate::web::{AppState, csrf};

#[derive(Template)]
#[template(path = "invitations/accept.html")]
struct AcceptPage {
    brand: crate::domain::branding::Brand,
    csrf: String,
    token: String,
    tenant: String,
    inviter: String,
    email: String,
    role: String,
    /// Signed in as the invited address: one click.
    signed_in_as: Option<String>,
    /// An account exists for the address, but this browser is not signed in to it.
    has_account: bool,
    name_value: String,
    name_error: Option<String>,
    password_error: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "invitations/gone.html")]
struct GonePage {
    title: String,
    reason: String,
    ask: Option<String>,
}

fn gone(e: LinkError) -> Result<HttpResponse, AppError> {
    let (status, opened) = match e {
        LinkError::Domain(a) => return Err(a.into()),
        LinkError::Unknown => (StatusCode::NOT_FOUND, None),
        LinkError::Expired(ref o) | LinkError::Revoked(ref o) | LinkError::Used(ref o) => {
            (StatusCode::GONE, Some(o))
        }
    };
    let ask = opened.map(|o| match &o.inviter {
        Some((name, email)) => format!(
            "Ask {name} ({email}) for a new invitation to {}.",
            o.tenant_name
        ),
        None => format!(
            "Ask an administrator of {} for a new invitation.",
            o.tenant_name
        ),
    });
    html_status(
        status,
        &GonePage {
            title: "Invitation".into(),
            reason: e.to_string(),
            ask,
        },
    )
}

fn page(
    session: &Session,
    token: &str,
    o: &Opened,
    me: Option<&User>,
    has_account: bool,
) -> AcceptPage {
    AcceptPage {
        brand: o.brand.clone(),
        csrf: csrf::token(session),
        token: token.to_string(),
        tenant: o.tenant_name.clone(),
        inviter: o
            .inviter
            .as_ref()
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| "An administrator".into()),
        email: o.invitation.email.clone(),
        role: o.role_name.clone(),
        signed_in_as: me.map(|u| u.email.clone()),
        has_account,
        name_value: String::new(),
        name_error: None,
        password_error: None,
        error: None,
    }
}

fn signed_in(session: &Session) -> Option<UserId> {
    session.get::<UserId>(USER_ID_KEY).ok().flatten()
}

pub async fn open(
    state: web::Data<AppState>,
    session: Session,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let me_id = signed_in(&session);
    let t = token.clone();
    let found = db::run(&state.pool, move |conn| {
        let opened = match invitations::open(conn, &t) {
            Ok(o) => o,
            Err(LinkError::Domain(e)) => return Err(e.into()),
            Err(e) => return Ok(Err(e)),
        };
        let me = match me_id {
            Some(id) => users::find(conn, id)?.filter(User::is_active),
            None => None,
        };
        let has_account = users::find_by_email(conn, &opened.invitation.email)?.is_some();
        Ok(Ok((opened, me, has_account)))
    })
    .await?;
    match found {
        Err(e) => gone(e),
        Ok((opened, me, has_account)) => html_status(
            StatusCode::OK,
            &page(&session, &token, &opened, me.as_ref(), has_account),
        ),
    }
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    token: web::Path<String>,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let form = form.into_inner();
    let me_id = signed_in(&session);
    let addr = client_addr(&req);
    let t = token.clone();
    let outcome = db::run(&state.pool, move |conn| {
        let me = match me_id {
            Some(id) => users::find(conn, id)?.filter(User::is_active),
            None => None,
        };
        if let Some(me) = &me {
            return Ok(Ok(invitations::accept(
                conn,
                &t,
                Acceptor::Existing(me),
                addr,
            )));
        }
        let opened = match invitations::open(conn, &t) {
            Ok(o) => o,
            Err(LinkError::Domain(e)) => return Err(e.into()),
            Err(e) => return Ok(Ok(Err(AcceptError::Link(e)))),
        };
        let name = users::parse_display_name(&form.display_name);
        let password = if form.password != form.password_confirm {
            Err("The two passwords differ.".to_string())
        } else {
            Password::parse(&form.password, &opened.invitation.email)
        };
        match (name, password) {
            (Ok(name), Ok(password)) => Ok(Ok(invitations::accept(
                conn,
                &t,
                Acceptor::New {
                    display_name: &name,
                    password: &password,
                },
                addr,
            ))),
            (name, password) => Ok(Err((opened, form.display_name, name.err(), password.err()))),
        }
    })
    .await?;
    match outcome {
        Ok(Ok((user, tenant_id))) => {
            crate::web::auth::begin_session(&session, &req, user.id)?;
            Ok(see_other(&format!("/tenants/{tenant_id}/dashboard")))
        }
        Ok(Err(AcceptError::Link(e))) => gone(e),
        Ok(Err(e)) => {
            // Has an account, or signed in as someone else: say so on the same page.
            let t = token.clone();
            let opened = db::run(&state.pool, move |conn| {
                invitations::open(conn, &t).map_err(|e| match e {
                    LinkError::Domain(a) => a.into(),
                    _ => AppError::NotFound,
                })
            })
            .await?;
            let mut p = page(
                &session,
                &token,
                &opened,
                None,
                matches!(e, AcceptError::HasAccount),
            );
            p.error = Some(e.to_string());
            html_status(StatusCode::CONFLICT, &p)
        }
        Err((opened, name_value, name_error, password_error)) => {
            let mut p = page(&session, &token, &opened, None, false);
            p.name_value = name_value.chars().take(100).collect();
            p.name_error = name_error;
            p.password_error = password_error;
            html_status(StatusCode::UNPROCESSABLE_ENTITY, &p)
        }
    }
}
