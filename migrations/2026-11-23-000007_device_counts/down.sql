DROP INDEX IF EXISTS users_display_name_idx;
DROP TRIGGER devices_count_insert ON devices;
DROP TRIGGER devices_count_update ON devices;
DROP TRIGGER devices_count_delete ON devices;
DROP FUNCTION device_counts_refresh_tenant(uuid);
DROP FUNCTION device_counts_rebuild();
DROP FUNCTION device_counts_track();
DROP TABLE device_counts;
