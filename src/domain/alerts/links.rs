//! The acknowledge link in an alert email:
//! `{alert}.{contact}.{alert's customer}.{contact's customer}.{expires}.{mac}`, signed with a
//! key derived from the portal's secret, so nothing is stored per email. It names the contact
//! it was sent to (who is recorded as acknowledging), expires after `LIFETIME_DAYS`, and works
//! once: an alert is acknowledged only while it is open. The customers let each row be found
//! by its key (the contact may be the operator's, the alert a customer's).
use chrono::{DateTime, Duration, Utc};

use crate::crypto;
use crate::domain::ids::{AlertId, ContactId, CustomerId};

pub const LIFETIME_DAYS: i64 = 7;

/// What a link names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    pub alert: AlertId,
    pub contact: ContactId,
    pub alert_customer: CustomerId,
    pub contact_customer: CustomerId,
}

impl Named {
    fn text(&self, expires: i64) -> String {
        format!(
            "{}.{}.{}.{}.{expires}",
            self.alert.uuid().simple(),
            self.contact.uuid().simple(),
            self.alert_customer.uuid().simple(),
            self.contact_customer.uuid().simple()
        )
    }
}

fn mac(key: &[u8], text: &str) -> String {
    let signed = crypto::hmac_hex(key, format!("alert-ack|{text}").as_bytes());
    signed[..32].to_string()
}

/// A link token for the contact to acknowledge the alert, valid from `now` for
/// `LIFETIME_DAYS`.
pub fn sign(key: &[u8], named: &Named, now: DateTime<Utc>) -> String {
    let expires = (now + Duration::days(LIFETIME_DAYS)).timestamp();
    let text = named.text(expires);
    format!("{text}.{}", mac(key, &text))
}

/// Why a link does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a link this portal made (or altered).
    Unknown,
    Expired,
}

/// What a token names, if this portal signed it and it has not expired.
pub fn verify(key: &[u8], token: &str, now: DateTime<Utc>) -> Result<Named, Refused> {
    let parts: Vec<&str> = token.split('.').collect();
    let [a, c, ac, cc, e, m] = parts[..] else {
        return Err(Refused::Unknown);
    };
    let named = Named {
        alert: a.parse().map_err(|_| Refused::Unknown)?,
        contact: c.parse().map_err(|_| Refused::Unknown)?,
        alert_customer: ac.parse().map_err(|_| Refused::Unknown)?,
        contact_customer: cc.parse().map_err(|_| Refused::Unknown)?,
    };
    let expires: i64 = e.parse().map_err(|_| Refused::Unknown)?;
    if !crypto::constant_time_eq(&mac(key, &named.text(expires)), m) {
        return Err(Refused::Unknown);
    }
    if now.timestamp() > expires {
        return Err(Refused::Expired);
    }
    Ok(named)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_link_opens_until_it_expires_and_not_once_altered() {
        let key = b"k".repeat(64);
        let named = Named {
            alert: AlertId::new(),
            contact: ContactId::new(),
            alert_customer: CustomerId::new(),
            contact_customer: CustomerId::new(),
        };
        let now = Utc::now();
        let token = sign(&key, &named, now);
        assert_eq!(verify(&key, &token, now), Ok(named));
        assert_eq!(
            verify(
                &key,
                &token,
                now + Duration::days(LIFETIME_DAYS) + Duration::seconds(1)
            ),
            Err(Refused::Expired)
        );
        assert_eq!(verify(b"other key", &token, now), Err(Refused::Unknown));
        // Another alert's id, or another customer, with this signature is refused.
        for (i, replaced) in [
            (0, AlertId::new().uuid()),
            (2, CustomerId::new().uuid()),
            (3, CustomerId::new().uuid()),
        ] {
            let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
            parts[i] = replaced.simple().to_string();
            assert_eq!(verify(&key, &parts.join("."), now), Err(Refused::Unknown));
        }
        // A later expiry with the old signature is refused.
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[4] = i64::MAX.to_string();
        assert_eq!(verify(&key, &parts.join("."), now), Err(Refused::Unknown));
        assert_eq!(verify(&key, "garbage", now), Err(Refused::Unknown));
    }
}
