-- A deleted tenant leaves its name behind for the history that mentions it.
CREATE TABLE deleted_tenants (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    traversal_ids uuid[] NOT NULL,
    deleted_at    timestamptz NOT NULL DEFAULT now()
);
-- Ownership history outlives the tenants it names.
ALTER TABLE device_moves DROP CONSTRAINT device_moves_from_tenant_id_fkey;
ALTER TABLE device_moves DROP CONSTRAINT device_moves_to_tenant_id_fkey;
