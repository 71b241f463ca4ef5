//! Passwords: the strength rule applied wherever one is chosen, and argon2id hashing.
use std::sync::LazyLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::domain::error::DomainError;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// Common choices that pass the length rule; refused outright.
const COMMON: &[&str] = &[
    "password1234",
    "passwordpassword",
    "123456789012",
    "qwertyuiopas",
    "letmeinletmein",
    "administrator",
    "changemechangeme",
    "welcome12345",
    "iloveyou1234",
    "correcthorsebatterystaple",
];

/// A password that passed the strength rule.
pub struct Password(String);

impl Password {
    /// Applies the rule; `email` is refused as (part of) the password.
    pub fn parse(plain: &str, email: &str) -> Result<Self, String> {
        let chars = plain.chars().count();
        if chars < MIN_LEN {
            return Err(format!("Use at least {MIN_LEN} characters."));
        }
        if chars > MAX_LEN {
            return Err(format!("Use at most {MAX_LEN} characters."));
        }
        let lower = plain.to_lowercase();
        let distinct: std::collections::HashSet<char> = lower.chars().collect();
        if distinct.len() < 4 || COMMON.contains(&lower.as_str()) {
            return Err("This password is too easy to guess.".into());
        }
        let local = email.split('@').next().unwrap_or("").to_lowercase();
        if local.len() >= 3 && lower.contains(&local) {
            return Err("The password must not contain your email address.".into());
        }
        Ok(Self(plain.to_string()))
    }

    pub fn hash(&self) -> Result<String, DomainError> {
        hasher()
            .hash_password(self.0.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| DomainError::failed_with("password hashing", e.to_string()))
    }
}

/// OWASP's argon2id parameters: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash checked when the email is unknown, so that both answers take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Password("dummy password for timing".into())
        .hash()
        .unwrap_or_default()
});

pub fn verify(plain: &str, hash: Option<&str>) -> bool {
    let hash = hash.unwrap_or(DUMMY_HASH.as_str());
    hasher().verify_password(plain.as_bytes(), hash).is_ok() && hash != DUMMY_HASH.as_str()
}
