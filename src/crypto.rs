//! Small primitives shared by sessions, CSRF and sign-in: random tokens, hashes, MACs.
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// `bytes` random bytes from the OS CSPRNG, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    hex::encode(buf)
}

pub fn fill_random(buf: &mut [u8]) {
    // The OS generator failing is unrecoverable: no token may be issued without it.
    if let Err(e) = getrandom::fill(buf) {
        panic!("the operating system's random generator failed: {e}");
    }
}

/// A password of `len` characters that avoids look-alike letters.
pub fn random_password(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = vec![0u8; len];
    fill_random(&mut buf);
    buf.iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC accepts keys of any length; this arm is unreachable.
        Err(_) => String::new(),
    }
}

/// Compares without an early exit, so that timing does not reveal a matching prefix.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// 64 bytes derived from `secret` for one `purpose`, so that keys are never shared.
pub fn sha512_pair(secret: &[u8], purpose: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    for half in [b"1", b"2"] {
        let mut h = Sha256::new();
        h.update(purpose);
        h.update(half);
        h.update(secret);
        out.extend_from_slice(&h.finalize());
    }
    out
}
