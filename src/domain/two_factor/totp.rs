//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP, HMAC-SHA-1, six digits,
//! 30-second steps) as every authenticator app computes them, the secret's base32 form
//! (RFC 4648), the `otpauth://` URI apps read, and that URI as a QR code drawn in SVG here
//! (no script, no image request: the page's CSP is unchanged).
use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const STEP_SECS: i64 = 30;
pub const DIGITS: u32 = 6;
/// 160 bits, the size RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

/// The HOTP value of `secret` at `counter` (RFC 4226 §5.3).
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return u32::MAX; // HMAC takes keys of any length: unreachable, and never a valid code
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    bin % 10u32.pow(DIGITS)
}

/// The time step of a Unix time.
pub fn step_at(unix: i64) -> i64 {
    unix.div_euclid(STEP_SECS)
}

/// The code at a step, as typed (leading zeros kept).
pub fn code_at(secret: &[u8], step: i64) -> String {
    format!("{:06}", hotp(secret, step.max(0) as u64))
}

/// The step among now and its neighbours (a clock up to 30 s off, a code typed as it turned)
/// whose code is `typed`; `None` when none matches. Spaces in the typed code are ignored.
pub fn matching_step(secret: &[u8], typed: &str, unix: i64) -> Option<i64> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix);
    [now - 1, now, now + 1]
        .into_iter()
        .find(|s| crate::crypto::constant_time_eq(&code_at(secret, *s), &typed))
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = buffer << 8 | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[(buffer >> bits & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[(buffer << (5 - bits) & 31) as usize] as char);
    }
    out
}

/// The bytes of a base32 secret (case and spaces ignored); `None` when it is not base32.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = BASE32
            .iter()
            .position(|b| *b as char == c.to_ascii_uppercase())? as u32;
        buffer = buffer << 5 | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits & 0xff) as u8);
        }
    }
    Some(out)
}

/// The URI an authenticator app reads from the QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// `text` as a QR code in SVG: one path of dark modules on a light square, with a quiet zone.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let width = code.width();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut path = String::new();
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"{px}\" \
         height=\"{px}\" role=\"img\" aria-label=\"QR code for your authenticator app\" \
         shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>",
        px = size * 5
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (eight digits there; the last six are ours).
    #[test]
    fn the_rfc_6238_test_vectors_hold() {
        let secret = b"12345678901234567890";
        for (unix, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(secret, step_at(unix)), eight[2..], "at {unix}");
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(from_base32("mzxw 6ytb oi").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(from_base32("not base32!"), None);
    }

    #[test]
    fn a_code_matches_its_step_or_a_neighbour_only() {
        let secret = b"12345678901234567890";
        let now = 1_234_567_890;
        let code = code_at(secret, step_at(now));
        assert_eq!(matching_step(secret, &code, now), Some(step_at(now)));
        assert_eq!(matching_step(secret, &code, now + 30), Some(step_at(now)));
        assert_eq!(matching_step(secret, &code, now + 90), None);
        assert_eq!(matching_step(secret, "12345", now), None);
    }
}
