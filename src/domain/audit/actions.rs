//! What the audit log records: a closed set of actions and object types.
use crate::domain::states::text_enum;

text_enum!(
    /// Every action the portal records.
    AuditAction {
        DeviceCreate => "device.create",
        DeviceUpdate => "device.update",
        DeviceMove => "device.move",
        DeviceImport => "device.import",
        InvitationCreate => "invitation.create",
        InvitationResend => "invitation.resend",
        InvitationRevoke => "invitation.revoke",
        InvitationAccept => "invitation.accept",
        MembershipGrant => "membership.grant",
        MembershipRevoke => "membership.revoke",
        UserEnable => "user.enable",
        UserDisable => "user.disable",
        UserPasswordReset => "user.password_reset",
        SessionSignIn => "session.sign_in",
        SessionSignOut => "session.sign_out",
        SessionEndAll => "session.end_all",
        TenantCreate => "tenant.create",
        TenantRename => "tenant.rename",
        TenantMove => "tenant.move",
        TenantSuspend => "tenant.suspend",
        TenantReactivate => "tenant.reactivate",
        TenantDelete => "tenant.delete",
        TenantBranding => "tenant.branding",
        RoleCreate => "role.create",
        RoleUpdate => "role.update",
        RoleDelete => "role.delete",
        GroupCreate => "group.create",
        GroupUpdate => "group.update",
        GroupDelete => "group.delete",
        GroupDevicesAdd => "group.devices_add",
        GroupDeviceRemove => "group.device_remove",
        GroupMemberAdd => "group.member_add",
        GroupMemberRemove => "group.member_remove",
        MembershipLimit => "membership.limit",
        UserPasswordChange => "user.password_change",
        UserRename => "user.rename",
        SessionEnd => "session.end",
        TwoFactorEnable => "user.two_factor_enable",
        TwoFactorDisable => "user.two_factor_disable",
        TwoFactorReset => "user.two_factor_reset",
        CodeRefused => "session.code_refused",
        RecoveryCodeUsed => "session.recovery_code_used",
        TenantSecurityPolicy => "tenant.security_policy",
        ContactCreate => "contact.create",
        ContactUpdate => "contact.update",
        ContactDelete => "contact.delete",
        ScheduleCreate => "schedule.create",
        ScheduleUpdate => "schedule.update",
        ScheduleDelete => "schedule.delete",
        ScheduleAssign => "device.schedule",
        GroupSchedule => "group.schedule",
        CheckinUrlIssue => "device.check_in_url",
        AlertOpen => "alert.open",
        AlertEscalate => "alert.escalate",
        AlertRepeat => "alert.repeat",
        AlertAcknowledge => "alert.acknowledge",
        AlertResolve => "alert.resolve",
        WebhookSave => "tenant.webhook",
        WebhookRemove => "tenant.webhook_remove",
        ApiKeyCreate => "api_key.create",
        ApiKeyRevoke => "api_key.revoke",
    }
);

impl AuditAction {
    /// The kind of object an event of this action is about.
    pub fn target_type(self) -> TargetType {
        match self {
            Self::DeviceCreate
            | Self::DeviceUpdate
            | Self::DeviceMove
            | Self::ScheduleAssign
            | Self::CheckinUrlIssue => TargetType::Device,
            Self::ContactCreate | Self::ContactUpdate | Self::ContactDelete => TargetType::Contact,
            Self::ScheduleCreate | Self::ScheduleUpdate | Self::ScheduleDelete => {
                TargetType::Schedule
            }
            Self::AlertOpen
            | Self::AlertEscalate
            | Self::AlertRepeat
            | Self::AlertAcknowledge
            | Self::AlertResolve => TargetType::Alert,
            Self::GroupSchedule => TargetType::Group,
            Self::ApiKeyCreate | Self::ApiKeyRevoke => TargetType::ApiKey,
            Self::InvitationCreate
            | Self::InvitationResend
            | Self::InvitationRevoke
            | Self::InvitationAccept => TargetType::Invitation,
            Self::MembershipGrant
            | Self::MembershipRevoke
            | Self::UserEnable
            | Self::UserDisable
            | Self::UserPasswordReset
            | Self::SessionSignIn
            | Self::SessionSignOut
            | Self::SessionEndAll => TargetType::User,
            Self::DeviceImport
            | Self::TenantCreate
            | Self::TenantRename
            | Self::TenantMove
            | Self::TenantSuspend
            | Self::TenantReactivate
            | Self::TenantDelete
            | Self::TenantBranding
            | Self::TenantSecurityPolicy
            | Self::WebhookSave
            | Self::WebhookRemove => TargetType::Tenant,
            Self::RoleCreate | Self::RoleUpdate | Self::RoleDelete => TargetType::Role,
            Self::GroupCreate
            | Self::GroupUpdate
            | Self::GroupDelete
            | Self::GroupDevicesAdd
            | Self::GroupDeviceRemove
            | Self::GroupMemberAdd
            | Self::GroupMemberRemove => TargetType::Group,
            Self::MembershipLimit
            | Self::UserPasswordChange
            | Self::UserRename
            | Self::SessionEnd
            | Self::TwoFactorEnable
            | Self::TwoFactorDisable
            | Self::TwoFactorReset
            | Self::CodeRefused
            | Self::RecoveryCodeUsed => TargetType::User,
        }
    }

    /// How the log says it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::DeviceCreate => "created a device",
            Self::DeviceUpdate => "changed a device",
            Self::DeviceMove => "moved a device",
            Self::DeviceImport => "imported devices",
            Self::InvitationCreate => "invited someone",
            Self::InvitationResend => "resent an invitation",
            Self::InvitationRevoke => "revoked an invitation",
            Self::InvitationAccept => "accepted an invitation",
            Self::MembershipGrant => "granted a membership",
            Self::MembershipRevoke => "removed a membership",
            Self::UserEnable => "enabled a user",
            Self::UserDisable => "disabled a user",
            Self::UserPasswordReset => "reset a password",
            Self::SessionSignIn => "signed in",
            Self::SessionSignOut => "signed out",
            Self::SessionEndAll => "ended every session",
            Self::TenantCreate => "created a tenant",
            Self::TenantRename => "renamed a tenant",
            Self::TenantMove => "moved a tenant",
            Self::TenantSuspend => "suspended a tenant",
            Self::TenantReactivate => "reactivated a tenant",
            Self::TenantDelete => "deleted a tenant",
            Self::TenantBranding => "changed the branding",
            Self::RoleCreate => "created a role",
            Self::RoleUpdate => "changed a role",
            Self::RoleDelete => "deleted a role",
            Self::GroupCreate => "created a group",
            Self::GroupUpdate => "changed a group",
            Self::GroupDelete => "deleted a group",
            Self::GroupDevicesAdd => "added devices to a group",
            Self::GroupDeviceRemove => "removed a device from a group",
            Self::GroupMemberAdd => "added someone to a group",
            Self::GroupMemberRemove => "removed someone from a group",
            Self::MembershipLimit => "changed a membership's limit to groups",
            Self::UserPasswordChange => "changed their password",
            Self::UserRename => "changed their name",
            Self::SessionEnd => "ended one of their sessions",
            Self::TwoFactorEnable => "turned on two-factor sign-in",
            Self::TwoFactorDisable => "turned off two-factor sign-in",
            Self::TwoFactorReset => "reset someone's two-factor sign-in",
            Self::CodeRefused => "was refused a sign-in code",
            Self::RecoveryCodeUsed => "signed in with a recovery code",
            Self::TenantSecurityPolicy => "changed the security policy",
            Self::ContactCreate => "added a contact",
            Self::ContactUpdate => "changed a contact",
            Self::ContactDelete => "deleted a contact",
            Self::ScheduleCreate => "created a check-in schedule",
            Self::ScheduleUpdate => "changed a check-in schedule",
            Self::ScheduleDelete => "deleted a check-in schedule",
            Self::ScheduleAssign => "set a device's check-in schedule",
            Self::GroupSchedule => "set a group's check-in schedule",
            Self::CheckinUrlIssue => "made a new check-in URL",
            Self::AlertOpen => "opened an alert for a missed check-in",
            Self::AlertEscalate => "told an alert's second tier",
            Self::AlertRepeat => "repeated an alert",
            Self::AlertAcknowledge => "acknowledged an alert",
            Self::AlertResolve => "resolved an alert",
            Self::WebhookSave => "set the alert webhook",
            Self::WebhookRemove => "removed the alert webhook",
            Self::ApiKeyCreate => "created an API key",
            Self::ApiKeyRevoke => "revoked an API key",
        }
    }
}

text_enum!(
    /// The kind of object an event is about.
    TargetType {
        Device => "device",
        Invitation => "invitation",
        Membership => "membership",
        Tenant => "tenant",
        User => "user",
        Role => "role",
        Group => "group",
        Contact => "contact",
        Schedule => "schedule",
        Alert => "alert",
        ApiKey => "api_key",
    }
);
