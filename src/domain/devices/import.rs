//! CSV import: read and check the file, plan every row (create, update, unchanged or
//! refused, and why), then apply the plan in one transaction. The dry run and the import
//! use the same plan, so what the dry run says is what the import does.
use std::collections::HashMap;

use diesel::prelude::*;

use super::{Device, DeviceFields, DeviceInput, insert_many};

/// New devices per insert statement (11 parameters each, well under PostgreSQL's 65 535).
const BATCH: usize = 1_000;
use crate::db::schema::{devices, tenants};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, DeviceId, TenantId};
use crate::domain::tenants::Tenant;

pub const MAX_BYTES: usize = 32 * 1024 * 1024;
pub const MAX_ROWS: usize = 200_000;
pub const MAX_LINE: usize = 10_000;
pub const REQUIRED: [&str; 4] = ["imei", "serial", "name", "kind"];
/// The column an export adds and an import ignores.
pub const EXPORT_ONLY: &str = "tenant";

pub const COLUMNS: [&str; 8] = [
    "imei", "serial", "name", "model", "kind", "status", "phone", "notes",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("The file is empty.")]
    Empty,
    #[error("The file is not UTF-8 text. Save it as \"CSV UTF-8\" and try again.")]
    NotUtf8,
    #[error("The file is larger than 32 MB; split it into smaller files.")]
    TooLarge,
    #[error("The file has more than 200000 rows; split it into smaller files.")]
    TooManyRows,
    #[error("Line {0} is longer than 10000 characters.")]
    LineTooLong(usize),
    #[error(
        "The first line must name the columns; missing: {0}. Expected: imei, serial, name, model, kind, status, phone, notes."
    )]
    MissingColumns(String),
    #[error(
        "Unknown column {0:?}. Expected: imei, serial, name, model, kind, status, phone, notes."
    )]
    UnknownColumn(String),
    #[error("Line {0} contains a NUL character, which no field accepts. Remove it and try again.")]
    Nul(usize),
    #[error("Line {0} cannot be read: {1}")]
    Malformed(usize, String),
    #[error("The file has a header but no devices.")]
    NoRows,
}

pub struct Row {
    pub line: usize,
    pub input: DeviceInput,
}

/// Reads and checks the whole file before anything else happens.
pub fn read(bytes: &[u8]) -> Result<Vec<Row>, FileError> {
    if bytes.len() > MAX_BYTES {
        return Err(FileError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| FileError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    if let Some(n) = text.lines().position(|l| l.len() > MAX_LINE) {
        return Err(FileError::LineTooLong(n + 1));
    }
    if let Some(n) = text.lines().position(|l| l.contains('\0')) {
        return Err(FileError::Nul(n + 1));
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| FileError::Malformed(1, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    // An export's `tenant` column says where each device was; an import puts every device
    // in the tenant it is run for, so the column is read past.
    if let Some(unknown) = header
        .iter()
        .find(|h| !COLUMNS.contains(&h.as_str()) && h.as_str() != EXPORT_ONLY)
    {
        return Err(FileError::UnknownColumn(unknown.clone()));
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        return Err(FileError::MissingColumns(missing.join(", ")));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            FileError::Malformed(line, e.to_string())
        })?;
        if rows.len() == MAX_ROWS {
            return Err(FileError::TooManyRows);
        }
        let line = record
            .position()
            .map_or(rows.len() + 2, |p| p.line() as usize);
        let get = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .map_or("", crate::domain::spreadsheet::unguard)
                .to_string()
        };
        rows.push(Row {
            line,
            input: DeviceInput {
                imei: get("imei"),
                serial: get("serial"),
                name: get("name"),
                model: get("model"),
                kind: get("kind"),
                status: get("status"),
                phone: get("phone"),
                notes: get("notes"),
            },
        });
    }
    if rows.is_empty() {
        return Err(FileError::NoRows);
    }
    Ok(rows)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Create(DeviceFields),
    Update(DeviceId, DeviceFields),
    Unchanged,
    Refused(String),
}

#[derive(Debug, Clone)]
pub struct Planned {
    pub line: usize,
    pub identifier: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub refused: i32,
}

pub fn count(plan: &[Planned]) -> Counts {
    let mut c = Counts::default();
    for p in plan {
        match p.outcome {
            Outcome::Create(_) => c.created += 1,
            Outcome::Update(..) => c.updated += 1,
            Outcome::Unchanged => c.unchanged += 1,
            Outcome::Refused(_) => c.refused += 1,
        }
    }
    c
}

fn same(d: &Device, f: &DeviceFields) -> bool {
    d.identifier == f.identifier.value()
        && d.id_kind == f.identifier.kind()
        && d.name == f.name
        && d.model == f.model
        && d.kind == f.kind
        && d.status == f.status
        && d.phone == f.phone
        && d.notes == f.notes
}

/// Decides what happens to every row, against the database as it is now.
pub fn plan(
    conn: &mut PgConnection,
    tenant: &Tenant,
    rows: &[Row],
) -> Result<Vec<Planned>, DomainError> {
    let parsed: Vec<(usize, String, Result<DeviceFields, String>)> = rows
        .iter()
        .map(|r| {
            let shown = if r.input.imei.trim().is_empty() {
                r.input.serial.trim()
            } else {
                r.input.imei.trim()
            };
            let fields = r.input.parse().map_err(|errors| {
                errors
                    .iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            (r.line, shown.chars().take(40).collect(), fields)
        })
        .collect();
    let keys: Vec<String> = parsed
        .iter()
        .filter_map(|(_, _, f)| {
            f.as_ref()
                .ok()
                .map(|f| f.identifier.value().to_ascii_uppercase())
        })
        .collect();
    // Identifiers are found by their own key (`device_identifiers`); only this customer's
    // devices are read whole: one elsewhere is refused without reading it.
    let customer = tenant.customer();
    let mut existing: HashMap<String, Option<Device>> = HashMap::new();
    for chunk in keys.chunks(5000) {
        use crate::db::schema::device_identifiers as di;
        let claimed: Vec<(String, CustomerId, DeviceId)> = di::table
            .filter(di::identifier.eq_any(chunk))
            .select((di::identifier, di::customer_id, di::device_id))
            .load(conn)?;
        let here: Vec<DeviceId> = claimed
            .iter()
            .filter(|c| c.1 == customer)
            .map(|c| c.2)
            .collect();
        let mut found: HashMap<DeviceId, Device> = devices::table
            .filter(devices::customer_id.eq(customer))
            .filter(devices::id.eq_any(&here))
            .select(Device::as_select())
            .load::<Device>(conn)?
            .into_iter()
            .map(|d| (d.id, d))
            .collect();
        existing.extend(
            claimed
                .into_iter()
                .map(|(key, _, id)| (key, found.remove(&id))),
        );
    }
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    Ok(parsed
        .into_iter()
        .map(|(line, identifier, fields)| {
            let outcome = match fields {
                Err(why) => Outcome::Refused(why),
                Ok(f) => {
                    let key = f.identifier.value().to_ascii_uppercase();
                    if let Some(first) = first_seen.get(&key) {
                        Outcome::Refused(format!("the same device is on line {first} already"))
                    } else {
                        first_seen.insert(key.clone(), line);
                        match existing.get(&key) {
                            None => Outcome::Create(f),
                            Some(None) => Outcome::Refused(
                                "this device is registered to another tenant".into(),
                            ),
                            Some(Some(d)) if d.tenant_id != tenant.id => Outcome::Refused(
                                "this device is registered to another tenant".into(),
                            ),
                            Some(Some(d)) if same(d, &f) => Outcome::Unchanged,
                            Some(Some(d)) => Outcome::Update(d.id, f),
                        }
                    }
                }
            };
            Planned {
                line,
                identifier,
                outcome,
            }
        })
        .collect())
}

/// Plans again and applies, all in one transaction; `progress` hears how many rows are done.
pub fn apply(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant_id: TenantId,
    rows: &[Row],
    mut progress: impl FnMut(usize),
) -> Result<Counts, DomainError> {
    conn.transaction(|conn| {
        let tenant: Tenant = tenants::table
            .find(tenant_id)
            .for_share()
            .select(Tenant::as_select())
            .first(conn)?;
        let planned = plan(conn, &tenant, rows)?;
        // New devices go in batches: three statements per thousand instead of three each.
        let mut batch: Vec<&DeviceFields> = Vec::with_capacity(BATCH);
        let flush = |conn: &mut PgConnection, batch: &mut Vec<&DeviceFields>| {
            insert_many(conn, actor, &tenant, batch)
                .map_err(|e| DomainError::Conflict(e.to_string()))?;
            batch.clear();
            Ok::<(), DomainError>(())
        };
        for (n, p) in planned.iter().enumerate() {
            match &p.outcome {
                Outcome::Create(f) => {
                    batch.push(f);
                    if batch.len() == BATCH {
                        flush(conn, &mut batch)?;
                    }
                }
                Outcome::Update(id, f) => {
                    diesel::update(
                        devices::table
                            .filter(devices::customer_id.eq(tenant.customer()))
                            .filter(devices::id.eq(id)),
                    )
                    .set((
                        super::DeviceChange::new(f, false),
                        devices::updated_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)?;
                }
                Outcome::Unchanged | Outcome::Refused(_) => {}
            }
            if (n + 1) % 500 == 0 {
                progress(n + 1);
            }
        }
        flush(conn, &mut batch)?;
        progress(planned.len());
        // Updates may have changed statuses: the tenant's own counts are settled once.
        super::counts::refresh_tenant(conn, tenant.id)?;
        let counts = count(&planned);
        Event::new(AuditAction::DeviceImport, &tenant.traversal_ids, tenant.id)
            .detail(serde_json::json!({
                "created": counts.created, "updated": counts.updated,
                "unchanged": counts.unchanged, "refused": counts.refused,
            }))
            .record(conn, actor)?;
        Ok(counts)
    })
}
