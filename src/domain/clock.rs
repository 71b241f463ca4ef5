//! The time check-ins and alerts are measured by: the database's, so that every instance
//! agrees and a test can move it (`clock.skew`).
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::domain::error::DomainError;

pub fn now(conn: &mut PgConnection) -> Result<DateTime<Utc>, DomainError> {
    Ok(diesel::select(crate::db::functions::canopy_now()).get_result(conn)?)
}
