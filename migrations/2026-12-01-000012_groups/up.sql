-- Groups: named sets of a tenant's own devices and members. A membership limited to groups
-- sees only the devices of the groups its holder belongs to. The composite keys make the
-- database refuse a group member who is not a member of the group's tenant; a device that
-- leaves its tenant leaves its groups (the move does it, and says so in its preview).
CREATE TABLE groups (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 60),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 300),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, tenant_id)
);
CREATE UNIQUE INDEX groups_tenant_name_idx ON groups (tenant_id, lower(name));

CREATE TABLE group_devices (
    group_id  uuid NOT NULL,
    tenant_id uuid NOT NULL,
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, device_id),
    FOREIGN KEY (group_id, tenant_id) REFERENCES groups (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX group_devices_device_idx ON group_devices (device_id);

CREATE TABLE group_members (
    group_id  uuid NOT NULL,
    tenant_id uuid NOT NULL,
    user_id   uuid NOT NULL,
    PRIMARY KEY (group_id, user_id),
    FOREIGN KEY (group_id, tenant_id) REFERENCES groups (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, tenant_id) REFERENCES memberships (user_id, tenant_id)
        ON DELETE CASCADE
);
CREATE INDEX group_members_user_idx ON group_members (user_id, tenant_id);

ALTER TABLE memberships ADD COLUMN limited_to_groups boolean NOT NULL DEFAULT false;
