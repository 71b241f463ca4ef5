//! Check-ins live in one partition per month (`checkins_YYYY_MM`, migration 21). Housekeeping
//! makes the months ahead before any check-in needs them, and drops whole months past the
//! retention instead of deleting rows: a drop is a catalogue change, not millions of dead
//! rows for vacuum.
use chrono::{Datelike, Months, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::domain::error::DomainError;

/// Months made ahead of the present one.
const AHEAD: u32 = 2;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Kept {
    pub made: Vec<String>,
    pub dropped: Vec<String>,
}

fn name(month: NaiveDate) -> String {
    format!("checkins_{:04}_{:02}", month.year(), month.month())
}

/// The month a partition's name stands for (`None` for the default partition).
fn month_of(name: &str) -> Option<NaiveDate> {
    let rest = name.strip_prefix("checkins_")?;
    let (y, m) = rest.split_once('_')?;
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

#[derive(QueryableByName)]
struct Partition {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Makes this month's partition and the next two where missing, and, with `retention` months,
/// drops every month that ended at least that many months before this one began. Several
/// instances may run it at once: they take turns.
pub fn maintain(conn: &mut PgConnection, retention: Option<u32>) -> Result<Kept, DomainError> {
    conn.transaction(|conn| {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('canopy.checkin_partitions'))")
            .execute(conn)?;
        let today = crate::domain::clock::now(conn)?.date_naive();
        let this_month = today.with_day(1).ok_or(DomainError::NotFound)?;
        let existing: Vec<String> = diesel::sql_query(
            "SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'checkins'::regclass",
        )
        .load::<Partition>(conn)?
        .into_iter()
        .map(|p| p.name)
        .collect();
        let mut kept = Kept::default();
        for k in 0..=AHEAD {
            let Some(month) = this_month.checked_add_months(Months::new(k)) else {
                continue;
            };
            if !existing.contains(&name(month)) {
                make(conn, month)?;
                kept.made.push(name(month));
            }
        }
        if let Some(months) = retention.filter(|m| *m > 0) {
            let cutoff = this_month
                .checked_sub_months(Months::new(months))
                .ok_or(DomainError::NotFound)?;
            // What the default partition caught before its month was made, past the cutoff.
            diesel::sql_query(format!("DELETE FROM checkins_default WHERE at < '{cutoff}'"))
                .execute(conn)?;
            for old in &existing {
                let ends = month_of(old).and_then(|m| m.checked_add_months(Months::new(1)));
                if ends.is_some_and(|end| end <= cutoff) {
                    diesel::sql_query(format!("DROP TABLE {old}")).execute(conn)?;
                    kept.dropped.push(old.clone());
                }
            }
        }
        Ok(kept)
    })
}

/// A month's partition; rows the default partition caught for that month move into it first
/// (attaching a range the default partition holds rows of would fail).
fn make(conn: &mut PgConnection, month: NaiveDate) -> Result<(), DomainError> {
    let next = month
        .checked_add_months(Months::new(1))
        .ok_or(DomainError::NotFound)?;
    let table = name(month);
    let range = format!("at >= '{month}' AND at < '{next}'");
    diesel::sql_query(format!(
        "CREATE TABLE {table} (LIKE checkins INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    ))
    .execute(conn)?;
    diesel::sql_query(format!(
        "WITH caught AS (DELETE FROM checkins_default WHERE {range} RETURNING *) \
         INSERT INTO {table} SELECT * FROM caught"
    ))
    .execute(conn)?;
    diesel::sql_query(format!(
        "ALTER TABLE checkins ATTACH PARTITION {table} FOR VALUES FROM ('{month}') TO ('{next}')"
    ))
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_and_months_go_both_ways() {
        let m = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        assert_eq!(name(m), "checkins_2027_03");
        assert_eq!(month_of("checkins_2027_03"), Some(m));
        assert_eq!(month_of("checkins_default"), None);
    }
}
