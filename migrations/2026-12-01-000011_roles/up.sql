-- Roles: the three built-in presets (fixed ids; what they allow is defined in the code, so
-- their permission lists stay empty here) and the roles each tenant defines. A membership or
-- an invitation holds one role by id; a role someone holds cannot be deleted.
CREATE TABLE roles (
    id          uuid PRIMARY KEY,
    tenant_id   uuid REFERENCES tenants (id) ON DELETE CASCADE,
    preset      text UNIQUE CHECK (preset IN ('admin', 'operator', 'viewer')),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 60),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 300),
    permissions text[] NOT NULL DEFAULT '{}',
    reach       text NOT NULL CHECK (reach IN ('tenant', 'subtree')),
    -- Available to the tenants below the one that defined it.
    shared      boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((preset IS NULL) = (tenant_id IS NOT NULL))
);
CREATE UNIQUE INDEX roles_tenant_name_idx ON roles (tenant_id, lower(name));

INSERT INTO roles (id, preset, name, reach) VALUES
    ('00000000-0000-7000-8000-000000000001', 'admin', 'Admin', 'subtree'),
    ('00000000-0000-7000-8000-000000000002', 'operator', 'Operator', 'tenant'),
    ('00000000-0000-7000-8000-000000000003', 'viewer', 'Viewer', 'tenant');

ALTER TABLE memberships ADD COLUMN role_id uuid REFERENCES roles (id) ON DELETE RESTRICT;
UPDATE memberships m SET role_id = r.id FROM roles r WHERE r.preset = m.role;
ALTER TABLE memberships ALTER COLUMN role_id SET NOT NULL;
ALTER TABLE memberships DROP COLUMN role;
CREATE INDEX memberships_role_id_idx ON memberships (role_id);

ALTER TABLE invitations ADD COLUMN role_id uuid REFERENCES roles (id) ON DELETE RESTRICT;
UPDATE invitations i SET role_id = r.id FROM roles r WHERE r.preset = i.role;
ALTER TABLE invitations ALTER COLUMN role_id SET NOT NULL;
ALTER TABLE invitations DROP COLUMN role;
CREATE INDEX invitations_role_id_idx ON invitations (role_id);
