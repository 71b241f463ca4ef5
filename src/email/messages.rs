//! Email messages, each a text and an HTML template. The HTML part escapes what people
//! typed; the text part is sent as `text/plain` and carries it as typed (names hold no
//! control characters, so nothing can break out of a line).
use askama::Template;

use crate::domain::error::DomainError;

/// The brand as an email shows it: name, colour, and the logo as an absolute URL (the
/// domain makes one from a tenant's brand: email knows no tenants).
pub struct MailBrand {
    pub name: String,
    pub accent: String,
    pub logo_url: Option<String>,
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "email/invitation.txt", escape = "none")]
struct InvitationText<'a> {
    brand: &'a MailBrand,
    tenant: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "email/invitation.html", escape = "html")]
struct InvitationHtml<'a> {
    brand: &'a MailBrand,
    tenant: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    expires: &'a str,
}

pub fn invitation(
    brand: &MailBrand,
    tenant: &str,
    inviter: &str,
    role: &str,
    link: &str,
    expires: &str,
) -> Result<Rendered, DomainError> {
    Ok(Rendered {
        subject: format!("You are invited to {tenant} on {}", brand.name),
        text: InvitationText {
            brand,
            tenant,
            inviter,
            role,
            link,
            expires,
        }
        .render()?,
        html: InvitationHtml {
            brand,
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
#[template(path = "email/reset.txt", escape = "none")]
struct ResetText<'a> {
    brand: &'a MailBrand,
    name: &'a str,
    link: &'a str,
    minutes: u64,
}

#[derive(Template)]
#[template(path = "email/reset.html", escape = "html")]
struct ResetHtml<'a> {
    brand: &'a MailBrand,
    name: &'a str,
    link: &'a str,
    minutes: u64,
}

pub fn password_reset(
    brand: &MailBrand,
    name: &str,
    link: &str,
    minutes: u64,
) -> Result<Rendered, DomainError> {
    Ok(Rendered {
        subject: format!("Reset your {} password", brand.name),
        text: ResetText {
            brand,
            name,
            link,
            minutes,
        }
        .render()?,
        html: ResetHtml {
            brand,
            name,
            link,
            minutes,
        }
        .render()?,
    })
}

#[derive(Template)]
#[template(path = "email/two_factor_reset.txt", escape = "none")]
struct TwoFactorResetText<'a> {
    brand: &'a MailBrand,
    name: &'a str,
    by: &'a str,
    account: &'a str,
}

#[derive(Template)]
#[template(path = "email/two_factor_reset.html", escape = "html")]
struct TwoFactorResetHtml<'a> {
    brand: &'a MailBrand,
    name: &'a str,
    by: &'a str,
    account: &'a str,
}

/// Tells a person that someone who manages them reset their second factor.
pub fn two_factor_reset(
    brand: &MailBrand,
    name: &str,
    by: &str,
    account: &str,
) -> Result<Rendered, DomainError> {
    Ok(Rendered {
        subject: format!("Your {} two-factor sign-in was reset", brand.name),
        text: TwoFactorResetText {
            brand,
            name,
            by,
            account,
        }
        .render()?,
        html: TwoFactorResetHtml {
            brand,
            name,
            by,
            account,
        }
        .render()?,
    })
}

#[derive(Template)]
#[template(path = "email/alert.txt", escape = "none")]
struct AlertText<'a> {
    brand: &'a MailBrand,
    name: &'a str,
    device: &'a str,
    identifier: &'a str,
    tenant: &'a str,
    due: &'a str,
    link: &'a str,
    page: &'a str,
    again: bool,
}

#[derive(Template)]
#[template(path = "email/alert.html", escape = "html")]
struct AlertHtml<'a> {
    brand: &'a MailBrand,
    name: &'a str,
    device: &'a str,
    identifier: &'a str,
    tenant: &'a str,
    due: &'a str,
    link: &'a str,
    page: &'a str,
    again: bool,
}

/// A missed check-in, to one contact; `again` for a repeat or an escalation.
#[allow(clippy::too_many_arguments)]
pub fn alert(
    brand: &MailBrand,
    name: &str,
    device: &str,
    identifier: &str,
    tenant: &str,
    due: &str,
    link: &str,
    page: &str,
    again: bool,
) -> Result<Rendered, DomainError> {
    let prefix = if again { "Still overdue" } else { "Overdue" };
    Ok(Rendered {
        subject: format!("{prefix}: {device} ({tenant}) has not checked in"),
        text: AlertText {
            brand,
            name,
            device,
            identifier,
            tenant,
            due,
            link,
            page,
            again,
        }
        .render()?,
        html: AlertHtml {
            brand,
            name,
            device,
            identifier,
            tenant,
            due,
            link,
            page,
            again,
        }
        .render()?,
    })
}
