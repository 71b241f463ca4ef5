-- Ready to shard by customer: every tenant-owned data table carries the customer its rows
-- belong to — the tenant directly under the operator's root (`traversal_ids[2]`), or the root
-- itself for the operator's own rows — and leads its keys with it, so that a distributed
-- PostgreSQL (Citus) can keep a customer's rows on one shard and route each statement there.
-- Events placed in no tenant (a person's own sign-ins) belong to the nil customer.
--
-- What changes besides the column:
-- * primary keys and unique indexes include customer_id; foreign keys between these tables
--   include it; references that may cross customers (a schedule shared from the operator's
--   root, the contact a notice went to, the device of an alert left behind by a move) are
--   plain columns the application clears or keeps as history;
-- * device_counts is kept by the application in the same transaction as the change, not by
--   statement triggers reading transition tables (which Citus cannot run on shards);
-- * IMEI and serial uniqueness across customers is a lookup table keyed by the identifier
--   (device_identifiers), and so is a check-in URL's token (checkin_tokens): each is found by
--   its own key, then the device by its customer.
CREATE FUNCTION canopy_customer(path uuid[]) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT coalesce(path[2], path[1], '00000000-0000-0000-0000-000000000000'::uuid) $$;

DROP TRIGGER devices_count_insert ON devices;
DROP TRIGGER devices_count_update ON devices;
DROP TRIGGER devices_count_delete ON devices;
DROP FUNCTION device_counts_track();

-- Every foreign key pointing at a data table, and every key of one, is rebuilt below.
DO $$
DECLARE
    data_tables regclass[] := ARRAY['devices', 'device_moves', 'device_imports', 'audit_events',
        'device_counts', 'checkins', 'checkin_states', 'schedules', 'schedule_contacts', 'alerts',
        'alert_notifications', 'contacts', 'groups', 'group_devices', 'group_members', 'webhooks',
        'webhook_deliveries']::regclass[];
    c record;
BEGIN
    FOR c IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
             WHERE contype = 'f' AND confrelid = ANY (data_tables) AND conparentid = 0 LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname);
    END LOOP;
    FOR c IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
             WHERE contype IN ('p', 'u') AND conrelid = ANY (data_tables) AND conparentid = 0 LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname);
    END LOOP;
END $$;
DROP INDEX devices_identifier_idx;
DROP INDEX groups_tenant_name_idx;
DROP INDEX schedules_tenant_name_idx;

-- The column, filled from the tenant path (or the row's owner), then required.
ALTER TABLE devices ADD COLUMN customer_id uuid;
UPDATE devices SET customer_id = canopy_customer(tenant_path);
ALTER TABLE device_moves ADD COLUMN customer_id uuid;
UPDATE device_moves m SET customer_id = d.customer_id FROM devices d WHERE d.id = m.device_id;
ALTER TABLE device_imports ADD COLUMN customer_id uuid;
UPDATE device_imports i SET customer_id = canopy_customer(t.traversal_ids)
    FROM tenants t WHERE t.id = i.tenant_id;
ALTER TABLE audit_events ADD COLUMN customer_id uuid;
UPDATE audit_events SET customer_id = canopy_customer(tenant_path);
ALTER TABLE device_counts ADD COLUMN customer_id uuid;
UPDATE device_counts c SET customer_id = canopy_customer(t.traversal_ids)
    FROM tenants t WHERE t.id = c.tenant_id;
DELETE FROM device_counts WHERE customer_id IS NULL;
ALTER TABLE checkins ADD COLUMN customer_id uuid;
UPDATE checkins c SET customer_id = d.customer_id FROM devices d WHERE d.id = c.device_id;
ALTER TABLE checkin_states ADD COLUMN customer_id uuid;
UPDATE checkin_states s SET customer_id = d.customer_id FROM devices d WHERE d.id = s.device_id;
ALTER TABLE alerts ADD COLUMN customer_id uuid;
UPDATE alerts SET customer_id = canopy_customer(tenant_path);
ALTER TABLE alert_notifications ADD COLUMN customer_id uuid;
UPDATE alert_notifications n SET customer_id = a.customer_id FROM alerts a WHERE a.id = n.alert_id;
DO $$
DECLARE
    tbl text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['schedules', 'schedule_contacts', 'contacts', 'groups',
        'group_devices', 'group_members', 'webhooks', 'webhook_deliveries'] LOOP
        EXECUTE format('ALTER TABLE %I ADD COLUMN customer_id uuid', tbl);
        EXECUTE format('UPDATE %I x SET customer_id = canopy_customer(t.traversal_ids)
                        FROM tenants t WHERE t.id = x.tenant_id', tbl);
    END LOOP;
    FOREACH tbl IN ARRAY ARRAY['devices', 'device_moves', 'device_imports', 'audit_events',
        'device_counts', 'checkins', 'checkin_states', 'schedules', 'schedule_contacts', 'alerts',
        'alert_notifications', 'contacts', 'groups', 'group_devices', 'group_members', 'webhooks',
        'webhook_deliveries'] LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN customer_id SET NOT NULL', tbl);
    END LOOP;
END $$;

-- Keys: each keeps its columns and gains customer_id at its end, so a lookup by the old key
-- still walks the same index while a statement that names the customer narrows it further.
ALTER TABLE devices ADD PRIMARY KEY (id, customer_id);
CREATE UNIQUE INDEX devices_identifier_idx ON devices (upper(identifier), customer_id);
ALTER TABLE device_moves ADD PRIMARY KEY (id, customer_id),
    ADD FOREIGN KEY (device_id, customer_id) REFERENCES devices (id, customer_id) ON DELETE CASCADE;
ALTER TABLE device_imports ADD PRIMARY KEY (id, customer_id);
ALTER TABLE audit_events ADD PRIMARY KEY (id, customer_id);
ALTER TABLE device_counts ADD PRIMARY KEY (tenant_id, status, customer_id);

ALTER TABLE contacts ADD PRIMARY KEY (id, customer_id), ADD UNIQUE (id, tenant_id, customer_id);
ALTER TABLE schedules ADD PRIMARY KEY (id, customer_id), ADD UNIQUE (id, tenant_id, customer_id);
CREATE UNIQUE INDEX schedules_tenant_name_idx ON schedules (tenant_id, lower(name), customer_id);
ALTER TABLE schedule_contacts ADD PRIMARY KEY (schedule_id, contact_id, customer_id),
    ADD FOREIGN KEY (schedule_id, tenant_id, customer_id)
        REFERENCES schedules (id, tenant_id, customer_id) ON DELETE CASCADE,
    ADD FOREIGN KEY (contact_id, tenant_id, customer_id)
        REFERENCES contacts (id, tenant_id, customer_id) ON DELETE CASCADE;

ALTER TABLE groups ADD PRIMARY KEY (id, customer_id), ADD UNIQUE (id, tenant_id, customer_id);
CREATE UNIQUE INDEX groups_tenant_name_idx ON groups (tenant_id, lower(name), customer_id);
ALTER TABLE group_devices ADD PRIMARY KEY (group_id, device_id, customer_id),
    ADD FOREIGN KEY (group_id, tenant_id, customer_id)
        REFERENCES groups (id, tenant_id, customer_id) ON DELETE CASCADE,
    ADD FOREIGN KEY (device_id, customer_id) REFERENCES devices (id, customer_id) ON DELETE CASCADE;
ALTER TABLE group_members ADD PRIMARY KEY (group_id, user_id, customer_id),
    ADD FOREIGN KEY (group_id, tenant_id, customer_id)
        REFERENCES groups (id, tenant_id, customer_id) ON DELETE CASCADE;

ALTER TABLE checkin_states ADD PRIMARY KEY (device_id, customer_id),
    ADD FOREIGN KEY (device_id, customer_id) REFERENCES devices (id, customer_id) ON DELETE CASCADE;
ALTER TABLE checkins ADD PRIMARY KEY (id, at, customer_id),
    ADD FOREIGN KEY (device_id, customer_id) REFERENCES devices (id, customer_id) ON DELETE CASCADE;
-- An alert belongs where it was opened (its tenant's customer), like the audit log: a device
-- that moves to another customer leaves its resolved alerts behind, so no key ties them.
ALTER TABLE alerts ADD PRIMARY KEY (id, customer_id), ADD UNIQUE (device_id, due_at, customer_id);
ALTER TABLE alert_notifications ADD PRIMARY KEY (alert_id, step, email, customer_id),
    ADD FOREIGN KEY (alert_id, customer_id) REFERENCES alerts (id, customer_id) ON DELETE CASCADE;

ALTER TABLE webhooks ADD PRIMARY KEY (tenant_id, customer_id);
ALTER TABLE webhook_deliveries ADD PRIMARY KEY (id, customer_id);

-- The uniqueness that spans customers, each found by its own key.
CREATE TABLE device_identifiers (
    identifier  text PRIMARY KEY CHECK (identifier = upper(identifier)),
    customer_id uuid NOT NULL,
    device_id   uuid NOT NULL
);
INSERT INTO device_identifiers SELECT upper(identifier), customer_id, id FROM devices;

CREATE TABLE checkin_tokens (
    token_hash  text PRIMARY KEY,
    customer_id uuid NOT NULL,
    device_id   uuid NOT NULL
);
INSERT INTO checkin_tokens SELECT token_hash, customer_id, device_id FROM checkin_states
    WHERE token_hash IS NOT NULL;

-- Counts, recounted with their customer.
CREATE OR REPLACE FUNCTION device_counts_rebuild() RETURNS void LANGUAGE sql AS $$
    DELETE FROM device_counts;
    INSERT INTO device_counts (customer_id, tenant_id, status, own, total)
    SELECT canopy_customer(d.tenant_path[1:a.n]), a.tid, d.status,
           count(*) FILTER (WHERE a.tid = d.tenant_id), count(*)
    FROM devices d CROSS JOIN LATERAL unnest(d.tenant_path) WITH ORDINALITY AS a(tid, n)
    GROUP BY 1, a.tid, d.status;
$$;

CREATE OR REPLACE FUNCTION device_counts_refresh_tenant(target uuid) RETURNS void LANGUAGE sql AS $$
    WITH path AS (
        SELECT traversal_ids AS p FROM tenants WHERE id = target
    ), actual AS (
        SELECT status, count(*) AS n FROM devices
        WHERE customer_id = canopy_customer((SELECT p FROM path))
          AND tenant_path = (SELECT p FROM path)
        GROUP BY status
    ), stored AS (
        SELECT status, own AS n FROM device_counts
        WHERE customer_id = canopy_customer((SELECT p FROM path)) AND tenant_id = target
    ), delta AS (
        SELECT coalesce(a.status, s.status) AS status, coalesce(a.n, 0) - coalesce(s.n, 0) AS n
        FROM actual a FULL JOIN stored s ON s.status = a.status
    )
    INSERT INTO device_counts AS c (customer_id, tenant_id, status, own, total)
    SELECT canopy_customer((SELECT p FROM path)[1:a.n]), a.tid, d.status,
           CASE WHEN a.tid = target THEN d.n ELSE 0 END, d.n
    FROM delta d
    CROSS JOIN LATERAL unnest((SELECT p FROM path)) WITH ORDINALITY AS a(tid, n)
    WHERE d.n <> 0
    ON CONFLICT (tenant_id, status, customer_id) DO UPDATE
        SET own = c.own + excluded.own, total = c.total + excluded.total;
$$;

-- Moving rows to another customer (a subtree or devices moved across customers): a
-- distributed database cannot change a row's distribution column, so the rows are copied
-- under the new customer and the old ones deleted, in the caller's transaction. `cond` selects
-- the rows by `$3`, an array of ids; the column lists come from the catalog, so a column added
-- later moves along.
CREATE FUNCTION canopy_copy_rows(tbl regclass, from_customer uuid, to_customer uuid, cond text, ids uuid[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    cols text;
    vals text;
    n bigint;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
           string_agg(CASE WHEN attname = 'customer_id' THEN '$2' ELSE quote_ident(attname) END,
                      ', ' ORDER BY attnum)
      INTO cols, vals
      FROM pg_attribute WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped;
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s WHERE customer_id = $1 AND (%s)',
                   tbl, cols, vals, tbl, cond)
        USING from_customer, to_customer, ids;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

CREATE FUNCTION canopy_delete_rows(tbl regclass, from_customer uuid, cond text, ids uuid[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('DELETE FROM %s WHERE customer_id = $1 AND (%s)', tbl,
                   replace(cond, '$3', '$2'))
        USING from_customer, ids;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
