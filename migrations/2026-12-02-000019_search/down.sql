DROP INDEX contacts_name_idx;
DROP INDEX users_lower_display_name_idx;
DROP INDEX tenants_name_idx;
DROP INDEX devices_phone_idx;
