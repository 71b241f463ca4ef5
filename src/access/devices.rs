//! Devices through the access layer: a device is seen when a grant that applies at its tenant
//! admits it (a grant limited to groups admits its holder's groups' devices), and what may be
//! done with it is the union of those grants. Callers without limits pay no extra statement.
use diesel::PgConnection;

use super::{Access, Reached};
use crate::domain::branding::Brand;
use crate::domain::devices::{self, Device};
use crate::domain::error::DomainError;
use crate::domain::groups;
use crate::domain::ids::{DeviceId, TenantId};
use crate::domain::memberships::{self, At};
use crate::domain::permissions::Permission;

impl Access {
    /// What applies to `device`; `NotFound` when no grant admits it.
    pub fn device_at(&self, conn: &mut PgConnection, device: &Device) -> Result<At, DomainError> {
        let path = &device.tenant_path;
        let groups = if memberships::limited_at(&self.grants, path) {
            groups::of_device(conn, device)?
        } else {
            Vec::new()
        };
        memberships::at_device(&self.grants, path, &groups).ok_or(DomainError::NotFound)
    }

    /// A device in reach among `within`'s customers, whatever may be done with it (a list's
    /// cursor).
    pub fn device_seen(
        &self,
        conn: &mut PgConnection,
        within: &Reached,
        id: DeviceId,
    ) -> Result<Device, DomainError> {
        let mut found = self.devices_seen(conn, within, &[id])?;
        found.pop().ok_or(DomainError::NotFound)
    }

    /// Devices by id among `within`'s customers (a selection on a page of that tenant), each in
    /// reach (`NotFound` for any that is not): one statement, and one more per device only
    /// where a membership limited to groups decides.
    pub fn devices_seen(
        &self,
        conn: &mut PgConnection,
        within: &Reached,
        ids: &[DeviceId],
    ) -> Result<Vec<Device>, DomainError> {
        Ok(self
            .seen_at(conn, within, ids)?
            .into_iter()
            .map(|(d, _)| d)
            .collect())
    }

    /// Devices by id among `within`'s customers, each with what applies to it (`NotFound`
    /// for any not in reach).
    fn seen_at(
        &self,
        conn: &mut PgConnection,
        within: &Reached,
        ids: &[DeviceId],
    ) -> Result<Vec<(Device, At)>, DomainError> {
        let found = devices::find_many(conn, within.scope(), ids)?;
        if found.len() != ids.len() {
            return Err(DomainError::NotFound);
        }
        found
            .into_iter()
            .map(|d| {
                let at = self.device_at(conn, &d)?;
                Ok((d, at))
            })
            .collect()
    }

    /// A device by its address (`/tenants/{tenant}/devices/{id}`), with its tenant, standing
    /// for the device: what the returned `Reached` allows is what applies to this device.
    /// Both ids go through the access layer: the named tenant must be in reach (it names the
    /// customer the device is read from), and so must the device. A device moved since its
    /// address was written is still found where it is now, within the same customer.
    pub fn device_reached(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
        id: DeviceId,
    ) -> Result<(Device, Reached, Brand), DomainError> {
        let (named, brand) = self.tenant_with_brand(conn, tenant)?;
        let device = devices::find_in(conn, named.customer(), id)?.ok_or(DomainError::NotFound)?;
        let at = self.device_at(conn, &device)?;
        let (mut reached, brand) = if device.tenant_id == tenant {
            (named, brand)
        } else {
            self.tenant_with_brand(conn, device.tenant_id)?
        };
        reached.at = at;
        Ok((device, reached, brand))
    }

    /// Devices by id among `within`'s customers on each of which the caller may do `p`: 404
    /// for any outside reach, 403 for one inside on which `p` does not apply.
    pub fn devices(
        &self,
        conn: &mut PgConnection,
        within: &Reached,
        ids: &[DeviceId],
        p: Permission,
    ) -> Result<Vec<Device>, DomainError> {
        let found = self.seen_at(conn, within, ids)?;
        if let Some((d, _)) = found.iter().find(|(_, at)| !at.permissions.has(p)) {
            return Err(DomainError::NotAllowed(format!(
                "This needs the permission “{p}” on {}, which your role there does not hold.",
                d.name
            )));
        }
        Ok(found.into_iter().map(|(d, _)| d).collect())
    }

    /// Whether `p` applies to a device locked inside a transaction (its path may have changed
    /// since the request began).
    pub fn permits_device(
        &self,
        conn: &mut PgConnection,
        device: &Device,
        p: Permission,
    ) -> Result<bool, DomainError> {
        Ok(match self.device_at(conn, device) {
            Ok(at) => at.permissions.has(p),
            Err(DomainError::NotFound) => false,
            Err(e) => return Err(e),
        })
    }
}
