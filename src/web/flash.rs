//! A message about a change that just happened, kept in the session across the redirect that
//! follows it and shown once by the next full page, in the header's live region (announced
//! to screen readers).
use actix_session::Session;

use crate::error::AppError;

const KEY: &str = "flash";

pub fn set(session: &Session, message: impl Into<String>) -> Result<(), AppError> {
    session
        .insert(KEY, message.into())
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// The message waiting to be shown, taken (it is shown once).
pub fn take(session: &Session) -> Option<String> {
    let message = session.get::<String>(KEY).ok().flatten()?;
    session.remove(KEY);
    Some(message)
}
