DROP INDEX device_moves_to_tenant_idx;
DROP INDEX audit_events_tenant_path_id_idx;
DROP TRIGGER memberships_track ON memberships;
DROP FUNCTION membership_spans_track();
DROP TABLE membership_spans;
ALTER TABLE users DROP COLUMN last_tenant_id;
DROP TABLE logos;
ALTER TABLE tenants DROP COLUMN brand_name, DROP COLUMN brand_accent, DROP COLUMN brand_logo;
