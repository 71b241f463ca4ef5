//! What one transaction of a scheduler pass reads once and uses for many devices.
use std::collections::HashMap;
use std::rc::Rc;

use diesel::PgConnection;

use super::scheduler::Notices;
use crate::domain::contacts::Contact;
use crate::domain::error::DomainError;
use crate::domain::ids::{ScheduleId, TenantId};
use crate::domain::schedules::Schedule;
use crate::email::messages::MailBrand;

/// A schedule's contacts: tier 1, tier 2.
pub type Tiers = Rc<(Vec<Contact>, Vec<Contact>)>;

/// What one transaction of a pass reads once and uses for many devices: schedules, their
/// contacts, and each tenant's name and mail brand.
pub(super) struct Batch<'a> {
    pub notices: &'a Notices,
    schedules: HashMap<ScheduleId, Option<Schedule>>,
    contacts: HashMap<ScheduleId, Tiers>,
    places: HashMap<TenantId, Rc<(String, MailBrand)>>,
}

impl<'a> Batch<'a> {
    pub fn new(notices: &'a Notices) -> Self {
        Self {
            notices,
            schedules: HashMap::new(),
            contacts: HashMap::new(),
            places: HashMap::new(),
        }
    }

    /// The schedule a device at `path` follows.
    pub fn schedule(
        &mut self,
        conn: &mut PgConnection,
        path: &[TenantId],
        id: Option<ScheduleId>,
    ) -> Result<Option<Schedule>, DomainError> {
        let Some(id) = id else { return Ok(None) };
        if let Some(known) = self.schedules.get(&id) {
            return Ok(known.clone());
        }
        let found = crate::domain::schedules::by_id(conn, path, Some(id))?;
        self.schedules.insert(id, found.clone());
        Ok(found)
    }

    pub fn contacts(
        &mut self,
        conn: &mut PgConnection,
        schedule: &Schedule,
    ) -> Result<Tiers, DomainError> {
        if let Some(c) = self.contacts.get(&schedule.id) {
            return Ok(c.clone());
        }
        let c = Rc::new(crate::domain::schedules::contacts_of(conn, schedule)?);
        self.contacts.insert(schedule.id, c.clone());
        Ok(c)
    }

    /// A tenant's name and mail brand.
    pub fn place(
        &mut self,
        conn: &mut PgConnection,
        id: TenantId,
    ) -> Result<Rc<(String, MailBrand)>, DomainError> {
        self.places_of(conn, &[id])?;
        self.places.get(&id).cloned().ok_or(DomainError::NotFound)
    }

    /// Reads the places of these tenants not read yet, in one statement.
    pub fn places_of(
        &mut self,
        conn: &mut PgConnection,
        ids: &[TenantId],
    ) -> Result<(), DomainError> {
        let mut missing: Vec<TenantId> = ids
            .iter()
            .copied()
            .filter(|id| !self.places.contains_key(id))
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        for (tenant, brand) in crate::domain::branding::tenants_with_brands(conn, &missing)? {
            let mail = brand.for_mail(&self.notices.base_url);
            self.places.insert(tenant.id, Rc::new((tenant.name, mail)));
        }
        Ok(())
    }
}
