//! Devices through the access layer: a device is seen when a grant that applies at its tenant
//! admits it (a grant limited to groups admits its holder's groups' devices), and what may be
//! done with it is the union of those grants. Callers without limits pay no extra statement.
use diesel::PgConnection;

use super::{Access, Reached};
use crate::domain::branding::Brand;
use crate::domain::devices::{self, Device};
use crate::domain::error::DomainError;
use crate::domain::groups;
use crate::domain::ids::DeviceId;
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

    /// A device in reach, whatever may be done with it (a list's cursor).
    pub fn device_seen(
        &self,
        conn: &mut PgConnection,
        id: DeviceId,
    ) -> Result<Device, DomainError> {
        let device = devices::find(conn, id)?.ok_or(DomainError::NotFound)?;
        self.device_at(conn, &device)?;
        Ok(device)
    }

    /// Devices by id, each in reach (`NotFound` for any that is not): one statement, and one
    /// more per device only where a membership limited to groups decides.
    pub fn devices_seen(
        &self,
        conn: &mut PgConnection,
        ids: &[DeviceId],
    ) -> Result<Vec<Device>, DomainError> {
        let found = devices::find_many(conn, ids)?;
        if found.len() != ids.len() {
            return Err(DomainError::NotFound);
        }
        for d in &found {
            self.device_at(conn, d)?;
        }
        Ok(found)
    }

    /// A device in reach with its tenant, standing for the device: what the returned
    /// `Reached` allows is what applies to this device.
    pub fn device_reached(
        &self,
        conn: &mut PgConnection,
        id: DeviceId,
    ) -> Result<(Device, Reached, Brand), DomainError> {
        let device = devices::find(conn, id)?.ok_or(DomainError::NotFound)?;
        let at = self.device_at(conn, &device)?;
        let (mut reached, brand) = self.tenant_with_brand(conn, device.tenant_id)?;
        reached.at = at;
        Ok((device, reached, brand))
    }

    /// A device in reach on which the caller may do `p`: 404 outside, 403 inside.
    pub fn device(
        &self,
        conn: &mut PgConnection,
        id: DeviceId,
        p: Permission,
    ) -> Result<(Device, Reached), DomainError> {
        let device = devices::find(conn, id)?.ok_or(DomainError::NotFound)?;
        let at = self.device_at(conn, &device)?;
        let mut reached = self.tenant(conn, device.tenant_id)?;
        reached.at = at;
        self.check(&reached, p)?;
        Ok((device, reached))
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
