//! Devices: the inventory that lives in the tree. Every change is audited; a move writes an
//! ownership history row. There is no hard delete: a device's history is kept.
pub mod counts;
pub mod fields;
pub mod identifiers;
pub mod import;
pub mod jobs;
pub mod list;
pub mod moves;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{device_moves, devices, tenants};
use crate::domain::audit::{self, Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, DeviceId, TenantId, in_customer};
use crate::domain::states::{DeviceKind, DeviceStatus};
use crate::domain::tenants::Tenant;
pub use fields::{DeviceFields, DeviceInput, FieldErrors, Identifier};

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: DeviceId,
    pub tenant_id: TenantId,
    pub tenant_path: Vec<TenantId>,
    pub identifier: String,
    pub id_kind: String,
    pub name: String,
    pub model: String,
    pub kind: DeviceKind,
    pub status: DeviceStatus,
    pub phone: Option<String>,
    pub notes: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub customer_id: CustomerId,
}

impl Device {
    pub fn kind_label(&self) -> &'static str {
        fields::label(fields::KINDS, self.kind.as_str())
    }
    pub fn status_label(&self) -> &'static str {
        fields::label(fields::STATUSES, self.status.as_str())
    }
    /// The form values that show this device as it is.
    pub fn input(&self) -> DeviceInput {
        let (imei, serial) = match self.id_kind.as_str() {
            "imei" => (self.identifier.clone(), String::new()),
            _ => (String::new(), self.identifier.clone()),
        };
        DeviceInput {
            imei,
            serial,
            name: self.name.clone(),
            model: self.model.clone(),
            kind: self.kind.to_string(),
            status: self.status.to_string(),
            phone: self.phone.clone().unwrap_or_default(),
            notes: self.notes.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("A device with this IMEI or serial number exists already.")]
    Duplicate,
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for DeviceError {
    fn from(e: diesel::result::Error) -> Self {
        match crate::db::unique_violation(e) {
            Ok(()) => Self::Duplicate,
            Err(other) => Self::Domain(other),
        }
    }
}

/// The device of `customer` with this id (a caller that knows the customer already: a
/// device's address names its tenant, the scheduler, an alert, a check-in URL).
pub fn find_in(
    conn: &mut PgConnection,
    customer: CustomerId,
    id: DeviceId,
) -> Result<Option<Device>, DomainError> {
    Ok(devices::table
        .filter(devices::customer_id.eq(customer))
        .filter(devices::id.eq(id))
        .select(Device::as_select())
        .first(conn)
        .optional()?)
}

/// The devices with these ids among the rows of `only` (every customer's when `None`: a
/// selection made at the operator's root). For the access layer, which decides whether the
/// caller may see each.
pub fn find_many(
    conn: &mut PgConnection,
    only: Option<CustomerId>,
    ids: &[DeviceId],
) -> Result<Vec<Device>, DomainError> {
    Ok(devices::table
        .filter(in_customer!(devices::customer_id, only))
        .filter(devices::id.eq_any(ids))
        .order(devices::id.asc())
        .select(Device::as_select())
        .load(conn)?)
}

pub fn find_by_identifier(
    conn: &mut PgConnection,
    identifier: &str,
) -> Result<Option<Device>, DomainError> {
    match identifiers::find(conn, identifier)? {
        Some((customer, id)) => find_in(conn, customer, id),
        None => Ok(None),
    }
}

/// The customers of these devices (each once) and their ids: a statement about devices that
/// may be of several customers names them all.
pub fn customers_and_ids(devices: &[Device]) -> (Vec<CustomerId>, Vec<DeviceId>) {
    let mut customers: Vec<CustomerId> = devices.iter().map(|d| d.customer_id).collect();
    customers.sort();
    customers.dedup();
    (customers, devices.iter().map(|d| d.id).collect())
}

/// Inserts a device and its first history row; call inside the caller's transaction.
/// A new device row of `tenant` with checked fields.
#[derive(Insertable)]
#[diesel(table_name = devices)]
struct NewDevice<'a> {
    id: DeviceId,
    customer_id: CustomerId,
    tenant_id: TenantId,
    tenant_path: &'a [TenantId],
    identifier: &'a str,
    id_kind: &'a str,
    name: &'a str,
    model: &'a str,
    kind: DeviceKind,
    status: DeviceStatus,
    phone: Option<&'a str>,
    notes: &'a str,
}

impl<'a> NewDevice<'a> {
    fn new(tenant: &'a Tenant, f: &'a DeviceFields) -> Self {
        Self {
            id: DeviceId::new(),
            customer_id: tenant.customer(),
            tenant_id: tenant.id,
            tenant_path: &tenant.traversal_ids,
            identifier: f.identifier.value(),
            id_kind: f.identifier.kind(),
            name: &f.name,
            model: &f.model,
            kind: f.kind,
            status: f.status,
            phone: f.phone.as_deref(),
            notes: &f.notes,
        }
    }
}

pub fn insert(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    f: &DeviceFields,
) -> Result<Device, DeviceError> {
    let row = NewDevice::new(tenant, f);
    identifiers::claim(conn, row.customer_id, &[(row.id, row.identifier)])?;
    let device: Device = diesel::insert_into(devices::table)
        .values(row)
        .returning(Device::as_returning())
        .get_result(conn)?;
    counts::apply(
        conn,
        &[counts::Change::at(&tenant.traversal_ids, device.status, 1)],
    )?;
    diesel::insert_into(device_moves::table)
        .values((
            device_moves::customer_id.eq(device.customer_id),
            device_moves::device_id.eq(device.id),
            device_moves::to_tenant_id.eq(tenant.id),
            device_moves::moved_by.eq(actor.user_id),
        ))
        .execute(conn)?;
    Event::new(AuditAction::DeviceCreate, &tenant.traversal_ids, device.id)
        .detail(serde_json::json!({ "identifier": device.identifier }))
        .record(conn, actor)?;
    Ok(device)
}

/// Inserts many devices of one tenant in three statements (devices, their first ownership
/// rows, their audit events), as `insert` does for one.
pub fn insert_many(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    fields: &[&DeviceFields],
) -> Result<usize, DeviceError> {
    if fields.is_empty() {
        return Ok(0);
    }
    let rows: Vec<NewDevice<'_>> = fields.iter().map(|f| NewDevice::new(tenant, f)).collect();
    let claimed: Vec<(DeviceId, &str)> = rows.iter().map(|r| (r.id, r.identifier)).collect();
    identifiers::claim(conn, tenant.customer(), &claimed)?;
    let mut by_status: Vec<counts::Change<'_>> = Vec::new();
    for r in &rows {
        match by_status.iter_mut().find(|c| c.status == r.status) {
            Some(c) => c.delta += 1,
            None => by_status.push(counts::Change::at(&tenant.traversal_ids, r.status, 1)),
        }
    }
    counts::apply(conn, &by_status)?;
    let created: Vec<(DeviceId, String)> = diesel::insert_into(devices::table)
        .values(&rows)
        .returning((devices::id, devices::identifier))
        .get_results(conn)?;
    let moves: Vec<_> = created
        .iter()
        .map(|(id, _)| {
            (
                device_moves::customer_id.eq(tenant.customer()),
                device_moves::device_id.eq(*id),
                device_moves::to_tenant_id.eq(tenant.id),
                device_moves::moved_by.eq(actor.user_id),
            )
        })
        .collect();
    diesel::insert_into(device_moves::table)
        .values(&moves)
        .execute(conn)?;
    let events: Vec<Event<'_>> = created
        .iter()
        .map(|(id, identifier)| {
            Event::new(AuditAction::DeviceCreate, &tenant.traversal_ids, *id)
                .detail(serde_json::json!({ "identifier": identifier }))
        })
        .collect();
    audit::record_many(conn, actor, &events)?;
    Ok(created.len())
}

pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant_id: TenantId,
    f: &DeviceFields,
) -> Result<Device, DeviceError> {
    conn.transaction(|conn| {
        // Share-lock the tenant so that a concurrent subtree move cannot leave a stale path.
        let tenant = tenants::table
            .find(tenant_id)
            .for_share()
            .select(Tenant::as_select())
            .first(conn)?;
        insert(conn, actor, &tenant, f)
    })
}

/// New field values of a device (never its tenant). The identifier is left as it is unless
/// asked for: an import matches devices by it.
#[derive(AsChangeset)]
#[diesel(table_name = devices)]
pub(crate) struct DeviceChange<'a> {
    identifier: Option<&'a str>,
    id_kind: Option<&'a str>,
    name: &'a str,
    model: &'a str,
    kind: DeviceKind,
    status: DeviceStatus,
    // Some(None) clears the phone.
    phone: Option<Option<&'a str>>,
    notes: &'a str,
}

impl<'a> DeviceChange<'a> {
    pub(crate) fn new(f: &'a DeviceFields, with_identifier: bool) -> Self {
        Self {
            identifier: with_identifier.then(|| f.identifier.value()),
            id_kind: with_identifier.then(|| f.identifier.kind()),
            name: &f.name,
            model: &f.model,
            kind: f.kind,
            status: f.status,
            phone: Some(f.phone.as_deref()),
            notes: &f.notes,
        }
    }
}

/// Writes new field values (not the tenant), audited.
pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    device: &Device,
    f: &DeviceFields,
) -> Result<Device, DeviceError> {
    conn.transaction(|conn| {
        identifiers::rename(
            conn,
            device.customer_id,
            device.id,
            &device.identifier,
            f.identifier.value(),
        )?;
        let updated: Device = diesel::update(
            devices::table
                .filter(devices::customer_id.eq(device.customer_id))
                .filter(devices::id.eq(device.id)),
        )
        .set((
            DeviceChange::new(f, true),
            devices::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Device::as_returning())
        .get_result(conn)?;
        let detail = serde_json::json!({
            "identifier": updated.identifier, "status": updated.status.as_str(),
        });
        Event::new(AuditAction::DeviceUpdate, &device.tenant_path, device.id)
            .detail(detail)
            .record(conn, actor)?;
        // A retired device is due nowhere, and nobody is told about it any more.
        if updated.status != device.status {
            counts::apply(
                conn,
                &[
                    counts::Change::at(&device.tenant_path, device.status, -1),
                    counts::Change::at(&device.tenant_path, updated.status, 1),
                ],
            )?;
            if updated.status == DeviceStatus::Retired {
                let now = crate::domain::clock::now(conn)?;
                crate::domain::alerts::resolve_for(
                    conn,
                    std::slice::from_ref(device),
                    "retired",
                    now,
                    actor,
                )?;
            }
            crate::domain::checkins::refresh(conn, Some(device.customer_id), &[device.id])?;
        }
        Ok(updated)
    })
}

/// One row of a device's ownership history.
#[derive(Debug, Clone, Queryable)]
pub struct HistoryRow {
    pub from_tenant_id: Option<TenantId>,
    pub to_tenant_id: TenantId,
    pub moved_by: Option<String>,
    pub moved_at: DateTime<Utc>,
}

pub fn history(conn: &mut PgConnection, device: &Device) -> Result<Vec<HistoryRow>, DomainError> {
    use crate::db::schema::users;
    Ok(device_moves::table
        .left_join(users::table.on(users::id.nullable().eq(device_moves::moved_by)))
        .filter(device_moves::customer_id.eq(device.customer_id))
        .filter(device_moves::device_id.eq(device.id))
        .order(device_moves::id.asc())
        .select((
            device_moves::from_tenant_id,
            device_moves::to_tenant_id,
            users::display_name.nullable(),
            device_moves::moved_at,
        ))
        .load(conn)?)
}

/// The tenant's own devices (those whose path is exactly the tenant's).
pub fn count_in(conn: &mut PgConnection, tenant: &Tenant) -> Result<i64, DomainError> {
    Ok(devices::table
        .filter(devices::customer_id.eq(tenant.customer()))
        .filter(devices::tenant_path.eq(&tenant.traversal_ids))
        .count()
        .get_result(conn)?)
}
