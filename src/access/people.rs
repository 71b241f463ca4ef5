//! Who may do what to other people: give roles, remove memberships, disable accounts. The
//! rule against escalation lives here, once: nobody gives (or edits a role into) more than
//! they hold themselves at that tenant, in permissions or in reach.
use diesel::PgConnection;

use super::{Access, Reached};
use crate::domain::error::DomainError;
use crate::domain::ids::{RoleId, UserId};
use crate::domain::memberships;
use crate::domain::permissions::Permission;
use crate::domain::roles::RoleGrant;

/// A role the caller may hand out at a tenant: on offer there and within their own. Only
/// `Access::grantable` makes one, so what takes it needs no second check.
#[derive(Debug, Clone)]
pub struct Grantable(RoleGrant);

impl Grantable {
    pub fn role(&self) -> &RoleGrant {
        &self.0
    }
}

impl Access {
    /// The role `id` if it is on offer at `reached` (404 otherwise) and the caller may hand it
    /// out there (`may_hold`).
    pub fn grantable(
        &self,
        conn: &mut PgConnection,
        reached: &Reached,
        id: RoleId,
    ) -> Result<Grantable, DomainError> {
        let role =
            crate::domain::roles::custom::find_available(conn, reached.tenant(), id)?.grant();
        self.may_hold(reached, &role)?;
        Ok(Grantable(role))
    }

    /// Whether the caller may hand out `role` at `reached` (to a member, in an invitation, or
    /// as what a role they define or edit there allows): only a subset of their own
    /// permissions there, reaching no further than they do.
    pub fn may_hold(&self, reached: &Reached, role: &RoleGrant) -> Result<(), DomainError> {
        let extra = role.permissions.beyond(reached.permissions());
        if !extra.is_empty() {
            let names: Vec<String> = extra.iter().map(|p| format!("“{p}”")).collect();
            return Err(DomainError::NotAllowed(format!(
                "{} allows more than your own role here: {}.",
                role.name,
                names.join(", ")
            )));
        }
        if !role.reach.within(reached.reach()) {
            return Err(DomainError::NotAllowed(format!(
                "{} reaches the tenants below, and your role here does not.",
                role.name
            )));
        }
        Ok(())
    }

    /// Whether the caller may give `user_id`, a member of `reached`, the role `role`: with
    /// `members.change_role`, never a role beyond their own, never to someone whose present
    /// role is beyond their own, and never to themselves (someone else must do that).
    pub fn may_change_role(
        &self,
        conn: &mut PgConnection,
        reached: &Reached,
        user_id: UserId,
        role: &RoleGrant,
    ) -> Result<(), DomainError> {
        self.check(reached, Permission::MembersChangeRole)?;
        if user_id == self.user.id {
            return Err(DomainError::NotAllowed(
                "Ask someone else to change your own role.".into(),
            ));
        }
        self.may_hold(reached, role)?;
        self.may_manage(conn, reached, user_id)
    }

    /// Whether the caller may end `user_id`'s membership of `reached`: not their own, and not
    /// one whose role is beyond the caller's.
    pub fn may_remove(
        &self,
        conn: &mut PgConnection,
        reached: &Reached,
        user_id: UserId,
    ) -> Result<(), DomainError> {
        self.check(reached, Permission::MembersRemove)?;
        if user_id == self.user.id {
            return Err(DomainError::NotAllowed(
                "Ask someone else to remove your own membership.".into(),
            ));
        }
        self.may_manage(conn, reached, user_id)
    }

    /// `user_id` is a member of `reached` whose role the caller could have given.
    fn may_manage(
        &self,
        conn: &mut PgConnection,
        reached: &Reached,
        user_id: UserId,
    ) -> Result<(), DomainError> {
        let present =
            memberships::role_in(conn, user_id, reached.id())?.ok_or(DomainError::NotFound)?;
        self.may_hold(reached, &present).map_err(|_| {
            DomainError::NotAllowed(format!(
                "This person's role here ({}) allows more than yours.",
                present.name
            ))
        })
    }

    /// Whether the caller may disable or enable `user_id`, a member of `reached`: never
    /// themselves, and only with `members.remove` at every tenant the person belongs to, so
    /// that no customer can lock out their provider's staff.
    pub fn may_set_status(
        &self,
        conn: &mut PgConnection,
        reached: &Reached,
        user_id: UserId,
    ) -> Result<(), DomainError> {
        self.may_change_account(
            conn,
            reached,
            user_id,
            Permission::MembersRemove,
            "You cannot disable yourself.",
        )
    }

    /// Whether the caller may reset `user_id`'s second factor: as with disabling, but with
    /// `members.change_role`, never one's own (the account page does that), and not someone
    /// whose role here is beyond the caller's.
    pub fn may_reset_second_factor(
        &self,
        conn: &mut PgConnection,
        reached: &Reached,
        user_id: UserId,
    ) -> Result<(), DomainError> {
        self.may_change_account(
            conn,
            reached,
            user_id,
            Permission::MembersChangeRole,
            "Change your own two-factor sign-in on your account page.",
        )?;
        self.may_manage(conn, reached, user_id)
    }

    /// A change to `user_id`'s account itself, which follows them into every tenant: they are
    /// a member of `reached`, not the caller (`own` says so), and the caller holds `p` at every
    /// tenant the person belongs to.
    fn may_change_account(
        &self,
        conn: &mut PgConnection,
        reached: &Reached,
        user_id: UserId,
        p: Permission,
        own: &str,
    ) -> Result<(), DomainError> {
        memberships::role_in(conn, user_id, reached.id())?.ok_or(DomainError::NotFound)?;
        self.check(reached, p)?;
        if user_id == self.user.id {
            return Err(DomainError::NotAllowed(own.into()));
        }
        let everywhere = memberships::paths_of(conn, user_id)?;
        if everywhere.iter().any(|path| !self.permits(path, p)) {
            return Err(DomainError::NotAllowed(
                "This person also belongs to tenants you do not administer; ask an admin above them."
                    .into(),
            ));
        }
        Ok(())
    }
}
