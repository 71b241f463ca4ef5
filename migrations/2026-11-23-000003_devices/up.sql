-- Devices live in one tenant and carry a copy of its path: a page of a subtree's devices is
-- one index range scan. The identifier (IMEI or serial) is unique across the installation.
CREATE TABLE devices (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    tenant_path uuid[] NOT NULL,
    identifier  text NOT NULL,
    id_kind     text NOT NULL CHECK (id_kind IN ('imei', 'serial')),
    name        text NOT NULL,
    model       text NOT NULL DEFAULT '',
    kind        text NOT NULL CHECK (kind IN ('satellite_phone', 'tracker', 'router', 'phone', 'other')),
    status      text NOT NULL CHECK (status IN ('in_stock', 'active', 'in_repair', 'retired')),
    phone       text,
    notes       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (id_kind <> 'imei' OR identifier ~ '^[0-9]{15}$')
);
CREATE UNIQUE INDEX devices_identifier_idx ON devices (upper(identifier));
CREATE INDEX devices_tenant_path_name_idx ON devices (tenant_path, lower(name), id);
CREATE INDEX devices_tenant_id_idx ON devices (tenant_id);
CREATE INDEX devices_identifier_prefix_idx ON devices (upper(identifier) text_pattern_ops);

-- Who held a device, from when to when, and who moved it.
CREATE TABLE device_moves (
    id             bigserial PRIMARY KEY,
    device_id      uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    from_tenant_id uuid REFERENCES tenants (id) ON DELETE SET NULL,
    to_tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    moved_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    moved_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_moves_device_idx ON device_moves (device_id, moved_at);
