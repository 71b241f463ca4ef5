//! IMEI and serial numbers are unique across all customers: `device_identifiers` holds each
//! (upper-cased) once with the device's customer, so a distributed database finds a device by
//! its identifier without asking every customer's shard, and refuses a duplicate by its key.
use diesel::prelude::*;

use crate::db::schema::device_identifiers as di;
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, DeviceId};

fn key(identifier: &str) -> String {
    identifier.to_ascii_uppercase()
}

/// Claims the identifiers of new devices of `customer`; a taken one is a unique violation.
pub fn claim(
    conn: &mut PgConnection,
    customer: CustomerId,
    devices: &[(DeviceId, &str)],
) -> Result<(), diesel::result::Error> {
    let rows: Vec<_> = devices
        .iter()
        .map(|(id, identifier)| {
            (
                di::identifier.eq(key(identifier)),
                di::customer_id.eq(customer),
                di::device_id.eq(*id),
            )
        })
        .collect();
    diesel::insert_into(di::table).values(&rows).execute(conn)?;
    Ok(())
}

/// A device's identifier changed from `old` to `new` (a no-op when only its case did).
pub fn rename(
    conn: &mut PgConnection,
    customer: CustomerId,
    device: DeviceId,
    old: &str,
    new: &str,
) -> Result<(), diesel::result::Error> {
    if key(old) == key(new) {
        return Ok(());
    }
    diesel::delete(di::table.find(key(old))).execute(conn)?;
    claim(conn, customer, &[(device, new)])
}

/// The customer and device holding `identifier`, if any.
pub fn find(
    conn: &mut PgConnection,
    identifier: &str,
) -> Result<Option<(CustomerId, DeviceId)>, DomainError> {
    Ok(di::table
        .find(key(identifier))
        .select((di::customer_id, di::device_id))
        .first(conn)
        .optional()?)
}

/// Devices that moved to another customer take their identifiers along.
pub fn moved(
    conn: &mut PgConnection,
    identifiers: &[&str],
    to: CustomerId,
) -> Result<(), DomainError> {
    let keys: Vec<String> = identifiers.iter().map(|i| key(i)).collect();
    diesel::update(di::table.filter(di::identifier.eq_any(&keys)))
        .set(di::customer_id.eq(to))
        .execute(conn)?;
    Ok(())
}
