-- Every device row a subtree move rewrites (its path changes, so no update is HOT) costs an
-- entry in every index of the table. Two of the six were redundant:
-- * devices_tenant_id_idx: a tenant's own devices are the ones whose path is exactly the
--   tenant's, which devices_tenant_path_name_idx answers already in name order;
-- * devices_identifier_prefix_idx: an IMEI prefix is searched as a bounded range of
--   upper(identifier), which the unique devices_identifier_idx answers.
-- (Deleting a tenant checks its foreign key without an index; that tenant has no devices by
-- then — the delete refuses otherwise — and deletes are rare.)
DROP INDEX devices_tenant_id_idx;
DROP INDEX devices_identifier_prefix_idx;

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
