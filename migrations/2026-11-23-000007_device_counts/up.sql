-- Devices per tenant and status, kept by triggers so that a dashboard reads four rows instead
-- of counting a million devices: `own` counts the tenant's own devices, `total` the devices
-- of its whole subtree.
CREATE TABLE device_counts (
    tenant_id uuid NOT NULL,
    status    text NOT NULL,
    own       bigint NOT NULL DEFAULT 0,
    total     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, status)
);

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

-- Recounts everything from the devices themselves (after bulk work, and for existing data).
CREATE FUNCTION device_counts_rebuild() RETURNS void LANGUAGE sql AS $$
    DELETE FROM device_counts;
    INSERT INTO device_counts (tenant_id, status, own, total)
    SELECT a.tid, d.status, count(*) FILTER (WHERE a.tid = d.tenant_id), count(*)
    FROM devices d CROSS JOIN LATERAL unnest(d.tenant_path) AS a(tid)
    GROUP BY a.tid, d.status;
$$;

-- Recounts one tenant's own devices and carries the difference up its path.
CREATE FUNCTION device_counts_refresh_tenant(target uuid) RETURNS void LANGUAGE sql AS $$
    WITH actual AS (
        SELECT status, count(*) AS n FROM devices WHERE tenant_id = target GROUP BY status
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

SELECT device_counts_rebuild();

-- The members list pages people by name: walking this index finds a page at once, even for
-- the root's twenty thousand memberships.
CREATE INDEX IF NOT EXISTS users_display_name_idx ON users (display_name, id);
