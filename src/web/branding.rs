//! Branding pages: the admin's form, and the two public resources a brand needs (its accent
//! stylesheet and its logo), both addressed by content so they reveal no tenant.
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db;
use crate::domain::branding::{self, Brand, BrandChange, BrandErrors, Logo};
use crate::domain::permissions::perm;
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other};

#[derive(Template)]
#[template(path = "branding/form.html")]
struct BrandingPage {
    chrome: Chrome,
    tenant: Tenant,
    /// What the tenant would show without its own settings.
    inherited: Brand,
    name_value: String,
    accent_value: String,
    zone_value: String,
    zones: Vec<&'static str>,
    errors: BrandErrors,
}

impl BrandingPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

pub async fn form(r: Reach<perm::BrandingEdit>) -> Result<HttpResponse, AppError> {
    let tenant = r.tenant.into_tenant();
    let t = tenant.clone();
    let inherited = db::run(&r.pool, move |conn| Ok(branding::inherited(conn, &t)?)).await?;
    html(&BrandingPage {
        chrome: r.chrome,
        name_value: tenant.brand_name.clone().unwrap_or_default(),
        accent_value: tenant.brand_accent.clone().unwrap_or_default(),
        zone_value: tenant.time_zone.clone().unwrap_or_default(),
        zones: crate::domain::account::zone_names().collect(),
        tenant,
        inherited,
        errors: BrandErrors::new(),
    })
}

/// A text field of the upload form; invalid UTF-8 is refused, never replaced.
fn text(fields: &std::collections::HashMap<String, Vec<u8>>, name: &str) -> Result<String, String> {
    match fields.get(name) {
        None => Ok(String::new()),
        Some(bytes) => String::from_utf8(bytes.clone()).map_err(|_| {
            "This is not valid UTF-8 text. Check what you entered and try again.".to_string()
        }),
    }
}

/// Reads the form into a change, or the messages for its fields.
fn parse(fields: &std::collections::HashMap<String, Vec<u8>>) -> Result<BrandChange, BrandErrors> {
    let mut errors = BrandErrors::new();
    let name = text(fields, "name")
        .and_then(|t| branding::parse_name(&t))
        .unwrap_or_else(|e| {
            errors.insert("name", e);
            None
        });
    let accent = text(fields, "accent")
        .and_then(|t| branding::parse_accent(&t))
        .unwrap_or_else(|e| {
            errors.insert("accent", e);
            None
        });
    let logo: Option<Option<Logo>> = match fields.get("logo").filter(|b| !b.is_empty()) {
        Some(bytes) => match branding::parse_logo(bytes) {
            Ok(logo) => Some(Some(logo)),
            Err(e) => {
                errors.insert("logo", e.to_string());
                None
            }
        },
        None if text(fields, "remove_logo").is_ok_and(|t| t == "yes") => Some(None),
        None => None,
    };
    let time_zone = text(fields, "time_zone")
        .and_then(|t| crate::domain::account::parse_zone(&t))
        .unwrap_or_else(|e| {
            errors.insert("time_zone", e);
            None
        });
    if errors.is_empty() {
        Ok(BrandChange {
            name,
            accent,
            logo,
            time_zone,
        })
    } else {
        Err(errors)
    }
}

/// `Reach` comes first: another tenant's form is 404 whatever was uploaded.
pub async fn save(
    req: HttpRequest,
    session: actix_session::Session,
    r: Reach<perm::BrandingEdit>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let id = reached.id();
    let too_large = branding::LogoError::TooLarge.to_string();
    let limit = branding::LOGO_MAX_BYTES + 16 * 1024;
    let fields =
        crate::web::upload::fields(Multipart::new(req.headers(), payload), limit, &too_large).await;
    let parsed = match &fields {
        Ok(fields) => parse(fields),
        Err(message) => Err(BrandErrors::from([("logo", message.clone())])),
    };
    match parsed {
        Ok(change) => {
            let tenant = reached.into_tenant();
            db::run(&pool, move |conn| {
                Ok(branding::save(conn, &access.actor, &tenant, change)?)
            })
            .await?;
            crate::web::flash::set(
                &session,
                "Branding saved: pages here and below without their own show it now.",
            )?;
            Ok(see_other(&format!("/tenants/{id}/branding")))
        }
        Err(errors) => {
            let tenant = reached.into_tenant();
            let t = tenant.clone();
            let inherited = db::run(&pool, move |conn| Ok(branding::inherited(conn, &t)?)).await?;
            let fields = fields.unwrap_or_default();
            html_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &BrandingPage {
                    chrome,
                    name_value: text(&fields, "name").unwrap_or_default(),
                    accent_value: text(&fields, "accent").unwrap_or_default(),
                    zone_value: text(&fields, "time_zone").unwrap_or_default(),
                    zones: crate::domain::account::zone_names().collect(),
                    tenant,
                    inherited,
                    errors,
                },
            )
        }
    }
}

/// `:root { --accent: … }` for a validated colour: the CSP allows no inline style, so a
/// brand's colour arrives as a stylesheet of its own, cached for good.
pub async fn accent_css(color: web::Path<String>) -> Result<HttpResponse, AppError> {
    let hex = color.into_inner();
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let hex = hex.to_ascii_lowercase();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(format!(":root {{ --accent: #{hex}; }}\n")))
}

/// A logo by its content hash. An SVG opened on its own runs nothing: the policy below
/// forbids scripts and sandboxes the document.
pub async fn logo(
    state: web::Data<AppState>,
    hash: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let hash = hash.into_inner();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let (content_type, bytes) = db::run(&state.pool, move |conn| {
        Ok(branding::find_logo(conn, &hash)?)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ))
        .body(bytes))
}
