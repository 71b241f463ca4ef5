DROP TRIGGER memberships_count_delete ON memberships;
DROP TRIGGER memberships_count_update ON memberships;
DROP TRIGGER memberships_count_insert ON memberships;
DROP TRIGGER tenants_count_delete ON tenants;
DROP TRIGGER tenants_count_update ON tenants;
DROP TRIGGER tenants_count_insert ON tenants;
DROP FUNCTION subtree_counts_track();
DROP TABLE subtree_counts;
