-- Back to keys without the customer, and counts kept by statement triggers.
DROP FUNCTION canopy_copy_rows(regclass, uuid, uuid, text, uuid[]);
DROP FUNCTION canopy_delete_rows(regclass, uuid, text, uuid[]);
DROP TABLE checkin_tokens;
DROP TABLE device_identifiers;

DO $$
DECLARE
    tbl text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['alert_notifications', 'checkins', 'checkin_states', 'alerts',
        'group_devices', 'group_members', 'schedule_contacts', 'device_moves', 'devices',
        'device_imports', 'audit_events', 'device_counts', 'schedules', 'contacts', 'groups',
        'webhooks', 'webhook_deliveries'] LOOP
        EXECUTE format('ALTER TABLE %I DROP COLUMN customer_id CASCADE', tbl);
    END LOOP;
END $$;

ALTER TABLE devices ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX devices_identifier_idx ON devices (upper(identifier));
ALTER TABLE device_moves ADD PRIMARY KEY (id),
    ADD FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE;
ALTER TABLE device_imports ADD PRIMARY KEY (id);
ALTER TABLE audit_events ADD PRIMARY KEY (id);
ALTER TABLE device_counts ADD PRIMARY KEY (tenant_id, status);
ALTER TABLE contacts ADD PRIMARY KEY (id), ADD UNIQUE (id, tenant_id);
ALTER TABLE schedules ADD PRIMARY KEY (id), ADD UNIQUE (id, tenant_id);
CREATE UNIQUE INDEX schedules_tenant_name_idx ON schedules (tenant_id, lower(name));
ALTER TABLE schedule_contacts ADD PRIMARY KEY (schedule_id, contact_id),
    ADD FOREIGN KEY (schedule_id, tenant_id) REFERENCES schedules (id, tenant_id) ON DELETE CASCADE,
    ADD FOREIGN KEY (contact_id, tenant_id) REFERENCES contacts (id, tenant_id) ON DELETE CASCADE;
ALTER TABLE groups ADD PRIMARY KEY (id), ADD UNIQUE (id, tenant_id),
    ADD FOREIGN KEY (schedule_id) REFERENCES schedules (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX groups_tenant_name_idx ON groups (tenant_id, lower(name));
ALTER TABLE group_devices ADD PRIMARY KEY (group_id, device_id),
    ADD FOREIGN KEY (group_id, tenant_id) REFERENCES groups (id, tenant_id) ON DELETE CASCADE,
    ADD FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE;
ALTER TABLE group_members ADD PRIMARY KEY (group_id, user_id),
    ADD FOREIGN KEY (group_id, tenant_id) REFERENCES groups (id, tenant_id) ON DELETE CASCADE;
ALTER TABLE checkin_states ADD PRIMARY KEY (device_id), ADD UNIQUE (token_hash),
    ADD FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE,
    ADD FOREIGN KEY (own_schedule_id) REFERENCES schedules (id) ON DELETE SET NULL,
    ADD FOREIGN KEY (schedule_id) REFERENCES schedules (id) ON DELETE SET NULL;
ALTER TABLE checkins ADD PRIMARY KEY (id, at),
    ADD FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE;
ALTER TABLE alerts ADD PRIMARY KEY (id), ADD UNIQUE (device_id, due_at),
    ADD FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE,
    ADD FOREIGN KEY (schedule_id) REFERENCES schedules (id) ON DELETE SET NULL;
ALTER TABLE alert_notifications ADD PRIMARY KEY (alert_id, step, email),
    ADD FOREIGN KEY (alert_id) REFERENCES alerts (id) ON DELETE CASCADE,
    ADD FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE SET NULL;
ALTER TABLE webhooks ADD PRIMARY KEY (tenant_id);
ALTER TABLE webhook_deliveries ADD PRIMARY KEY (id);

DROP FUNCTION canopy_customer(uuid[]);

CREATE OR REPLACE FUNCTION device_counts_rebuild() RETURNS void LANGUAGE sql AS $$
    DELETE FROM device_counts;
    INSERT INTO device_counts (tenant_id, status, own, total)
    SELECT a.tid, d.status, count(*) FILTER (WHERE a.tid = d.tenant_id), count(*)
    FROM devices d CROSS JOIN LATERAL unnest(d.tenant_path) AS a(tid)
    GROUP BY a.tid, d.status;
$$;

CREATE OR REPLACE FUNCTION device_counts_refresh_tenant(target uuid) RETURNS void LANGUAGE sql AS $$
    WITH actual AS (
        SELECT status, count(*) AS n FROM devices
        WHERE tenant_path = (SELECT traversal_ids FROM tenants WHERE id = target)
        GROUP BY status
    ), stored AS (
        SELECT status, own AS n FROM device_counts WHERE tenant_id = target
    ), delta AS (
        SELECT coalesce(a.status, s.status) AS status, coalesce(a.n, 0) - coalesce(s.n, 0) AS n
        FROM actual a FULL JOIN stored s ON s.status = a.status
    )
    INSERT INTO device_counts AS c (tenant_id, status, own, total)
    SELECT p.tid, d.status, CASE WHEN p.tid = target THEN d.n ELSE 0 END, d.n
    FROM delta d
    CROSS JOIN LATERAL unnest((SELECT traversal_ids FROM tenants WHERE id = target)) AS p(tid)
    WHERE d.n <> 0
    ON CONFLICT (tenant_id, status) DO UPDATE
        SET own = c.own + excluded.own, total = c.total + excluded.total;
$$;

CREATE FUNCTION device_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Bulk work (subtree moves, imports, demo data) adjusts the counts itself.
    IF current_setting('canopy.counts_deferred', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO device_counts AS c (tenant_id, status, own, total)
        SELECT a.tid, n.status, count(*) FILTER (WHERE a.tid = n.tenant_id), count(*)
        FROM new_rows n CROSS JOIN LATERAL unnest(n.tenant_path) AS a(tid)
        GROUP BY a.tid, n.status
        ON CONFLICT (tenant_id, status) DO UPDATE
            SET own = c.own + excluded.own, total = c.total + excluded.total;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO device_counts AS c (tenant_id, status, own, total)
        SELECT a.tid, o.status, -count(*) FILTER (WHERE a.tid = o.tenant_id), -count(*)
        FROM old_rows o CROSS JOIN LATERAL unnest(o.tenant_path) AS a(tid)
        GROUP BY a.tid, o.status
        ON CONFLICT (tenant_id, status) DO UPDATE
            SET own = c.own + excluded.own, total = c.total + excluded.total;
    ELSE
        INSERT INTO device_counts AS c (tenant_id, status, own, total)
        SELECT tid, status, sum(own), sum(total) FROM (
            SELECT a.tid, o.status, -count(*) FILTER (WHERE a.tid = o.tenant_id) AS own, -count(*) AS total
            FROM old_rows o CROSS JOIN LATERAL unnest(o.tenant_path) AS a(tid)
            GROUP BY a.tid, o.status
            UNION ALL
            SELECT a.tid, n.status, count(*) FILTER (WHERE a.tid = n.tenant_id), count(*)
            FROM new_rows n CROSS JOIN LATERAL unnest(n.tenant_path) AS a(tid)
            GROUP BY a.tid, n.status
        ) d
        GROUP BY tid, status
        HAVING sum(own) <> 0 OR sum(total) <> 0
        ON CONFLICT (tenant_id, status) DO UPDATE
            SET own = c.own + excluded.own, total = c.total + excluded.total;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER devices_count_insert AFTER INSERT ON devices
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION device_counts_track();
CREATE TRIGGER devices_count_update AFTER UPDATE ON devices
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION device_counts_track();
CREATE TRIGGER devices_count_delete AFTER DELETE ON devices
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION device_counts_track();
