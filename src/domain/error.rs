//! What goes wrong, in the domain's words. No status codes here: `crate::error` maps these to
//! HTTP in one place, and a failure keeps its source so that the log shows the whole chain.
use std::sync::Arc;

#[derive(Debug, Clone, thiserror::Error)]
pub enum DomainError {
    /// Missing, or outside the caller's reach: the two are indistinguishable on purpose.
    #[error("not found, or out of reach")]
    NotFound,
    /// Within reach but not allowed; the message says why, to the person who tried.
    #[error("{0}")]
    NotAllowed(String),
    /// Input the domain refuses; the message says what is wrong with it.
    #[error("{0}")]
    Invalid(String),
    /// The change contradicts the current state; the message says how.
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached; trying again later may work.
    #[error("the database is unavailable")]
    Unavailable,
    /// Something that should not fail did: `context` says what was being done.
    #[error("{context}")]
    Failed {
        context: &'static str,
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
}

impl DomainError {
    pub fn failed(
        context: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Failed {
            context,
            source: Arc::new(source),
        }
    }

    /// A failure with only a message for its source.
    pub fn failed_with(context: &'static str, message: impl Into<String>) -> Self {
        #[derive(Debug, thiserror::Error)]
        #[error("{0}")]
        struct Message(String);
        Self::failed(context, Message(message.into()))
    }
}

impl From<diesel::result::Error> for DomainError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::NotFound,
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => Self::Unavailable,
            other => Self::failed("database", other),
        }
    }
}

impl From<askama::Error> for DomainError {
    fn from(e: askama::Error) -> Self {
        Self::failed("template", e)
    }
}

/// The error and every source under it, as one line for the log.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut next = e.source();
    while let Some(source) = next {
        line.push_str(": ");
        line.push_str(&source.to_string());
        next = source.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_logs_its_whole_chain() {
        let e = DomainError::from(diesel::result::Error::QueryBuilderError(
            "bad column".into(),
        ));
        assert_eq!(chain(&e), "database: bad column");
        assert!(matches!(
            DomainError::from(diesel::result::Error::NotFound),
            DomainError::NotFound
        ));
    }
}
