DROP INDEX devices_name_idx;
