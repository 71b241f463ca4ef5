-- Tenants and memberships per subtree, kept by triggers as device_counts keeps devices, so that
-- a root's dashboard and members page read one row instead of walking ten thousand.
-- `tenants` counts the subtree's tenants, itself included; `members` its memberships.
CREATE TABLE subtree_counts (
    tenant_id uuid PRIMARY KEY,
    tenants   bigint NOT NULL DEFAULT 0,
    members   bigint NOT NULL DEFAULT 0
);

-- One function for both tables: the trigger names the path column and the counter. A row adds
-- one to every tenant on its path; an update moves it from the old path to the new.
CREATE FUNCTION subtree_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    path_column text := TG_ARGV[0];
    counter text := TG_ARGV[1];
    added text := format('SELECT a.tid, 1 AS n FROM new_rows r CROSS JOIN LATERAL unnest(r.%I) a(tid)', path_column);
    removed text := format('SELECT a.tid, -1 AS n FROM old_rows r CROSS JOIN LATERAL unnest(r.%I) a(tid)', path_column);
    changes text;
BEGIN
    changes := CASE TG_OP
        WHEN 'INSERT' THEN added
        WHEN 'DELETE' THEN removed
        ELSE removed || ' UNION ALL ' || added
    END;
    EXECUTE format(
        'INSERT INTO subtree_counts AS c (tenant_id, %1$I)
         SELECT tid, sum(n) FROM (%2$s) d GROUP BY tid HAVING sum(n) <> 0
         ON CONFLICT (tenant_id) DO UPDATE SET %1$I = c.%1$I + excluded.%1$I',
        counter, changes);
    RETURN NULL;
END $$;

CREATE TRIGGER tenants_count_insert AFTER INSERT ON tenants
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION subtree_counts_track('traversal_ids', 'tenants');
CREATE TRIGGER tenants_count_update AFTER UPDATE ON tenants
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION subtree_counts_track('traversal_ids', 'tenants');
CREATE TRIGGER tenants_count_delete AFTER DELETE ON tenants
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION subtree_counts_track('traversal_ids', 'tenants');
CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION subtree_counts_track('tenant_path', 'members');
CREATE TRIGGER memberships_count_update AFTER UPDATE ON memberships
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION subtree_counts_track('tenant_path', 'members');
CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION subtree_counts_track('tenant_path', 'members');

INSERT INTO subtree_counts (tenant_id, tenants, members)
SELECT tid, sum(t), sum(m) FROM (
    SELECT a.tid, 1 AS t, 0 AS m FROM tenants x CROSS JOIN LATERAL unnest(x.traversal_ids) a(tid)
    UNION ALL
    SELECT a.tid, 0, 1 FROM memberships x CROSS JOIN LATERAL unnest(x.tenant_path) a(tid)
) d GROUP BY tid;
