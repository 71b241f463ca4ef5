//! Email messages, each a text and an HTML template (HTML escaping on in both: the values
//! come from people, and a text part may be shown as HTML by some clients).
use askama::Template;

use crate::error::AppError;

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "email/invitation.txt", escape = "html")]
struct InvitationText<'a> {
    tenant: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "email/invitation.html", escape = "html")]
struct InvitationHtml<'a> {
    tenant: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    expires: &'a str,
}

pub fn invitation(
    tenant: &str,
    inviter: &str,
    role: &str,
    link: &str,
    expires: &str,
) -> Result<Rendered, AppError> {
    Ok(Rendered {
        subject: format!("You are invited to {tenant} on Canopy"),
        text: InvitationText {
            tenant,
            inviter,
            role,
            link,
            expires,
        }
        .render()?,
        html: InvitationHtml {
            tenant,
            inviter,
            role,
            link,
            expires,
        }
        .render()?,
    })
}

#[derive(Template)]
#[template(path = "email/reset.txt", escape = "html")]
struct ResetText<'a> {
    name: &'a str,
    link: &'a str,
    minutes: u64,
}

#[derive(Template)]
#[template(path = "email/reset.html", escape = "html")]
struct ResetHtml<'a> {
    name: &'a str,
    link: &'a str,
    minutes: u64,
}

pub fn password_reset(name: &str, link: &str, minutes: u64) -> Result<Rendered, AppError> {
    Ok(Rendered {
        subject: "Reset your Canopy password".into(),
        text: ResetText {
            name,
            link,
            minutes,
        }
        .render()?,
        html: ResetHtml {
            name,
            link,
            minutes,
        }
        .render()?,
    })
}
