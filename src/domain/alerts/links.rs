//! The acknowledge link in an alert email: `{alert}.{contact}.{expires}.{mac}`, signed with a
//! key derived from the portal's secret, so nothing is stored per email. It names the contact
//! it was sent to (who is recorded as acknowledging), expires after `LIFETIME_DAYS`, and works
//! once: an alert is acknowledged only while it is open.
use chrono::{DateTime, Duration, Utc};

use crate::crypto;
use crate::domain::ids::{AlertId, ContactId};

pub const LIFETIME_DAYS: i64 = 7;

fn mac(key: &[u8], alert: AlertId, contact: ContactId, expires: i64) -> String {
    let signed = crypto::hmac_hex(
        key,
        format!("alert-ack|{alert}|{contact}|{expires}").as_bytes(),
    );
    signed[..32].to_string()
}

/// A link token for `contact` to acknowledge `alert`, valid from `now` for `LIFETIME_DAYS`.
pub fn sign(key: &[u8], alert: AlertId, contact: ContactId, now: DateTime<Utc>) -> String {
    let expires = (now + Duration::days(LIFETIME_DAYS)).timestamp();
    format!(
        "{}.{}.{expires}.{}",
        alert.uuid().simple(),
        contact.uuid().simple(),
        mac(key, alert, contact, expires)
    )
}

/// Why a link does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a link this portal made (or altered).
    Unknown,
    Expired,
}

/// The alert and contact a token names, if this portal signed it and it has not expired.
pub fn verify(
    key: &[u8],
    token: &str,
    now: DateTime<Utc>,
) -> Result<(AlertId, ContactId), Refused> {
    let mut parts = token.split('.');
    let (Some(a), Some(c), Some(e), Some(m), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(Refused::Unknown);
    };
    let alert: AlertId = a.parse().map_err(|_| Refused::Unknown)?;
    let contact: ContactId = c.parse().map_err(|_| Refused::Unknown)?;
    let expires: i64 = e.parse().map_err(|_| Refused::Unknown)?;
    if !crypto::constant_time_eq(&mac(key, alert, contact, expires), m) {
        return Err(Refused::Unknown);
    }
    if now.timestamp() > expires {
        return Err(Refused::Expired);
    }
    Ok((alert, contact))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_link_opens_until_it_expires_and_not_once_altered() {
        let key = b"k".repeat(64);
        let (alert, contact) = (AlertId::new(), ContactId::new());
        let now = Utc::now();
        let token = sign(&key, alert, contact, now);
        assert_eq!(verify(&key, &token, now), Ok((alert, contact)));
        assert_eq!(
            verify(
                &key,
                &token,
                now + Duration::days(LIFETIME_DAYS) + Duration::seconds(1)
            ),
            Err(Refused::Expired)
        );
        assert_eq!(verify(b"other key", &token, now), Err(Refused::Unknown));
        // Another alert's id with this signature is refused.
        let other = token.replacen(
            &alert.uuid().simple().to_string(),
            &AlertId::new().uuid().simple().to_string(),
            1,
        );
        assert_eq!(verify(&key, &other, now), Err(Refused::Unknown));
        // A later expiry with the old signature is refused.
        let parts: Vec<&str> = token.split('.').collect();
        let stretched = format!("{}.{}.{}.{}", parts[0], parts[1], i64::MAX, parts[3]);
        assert_eq!(verify(&key, &stretched, now), Err(Refused::Unknown));
        assert_eq!(verify(&key, "garbage", now), Err(Refused::Unknown));
    }
}
