ALTER TABLE memberships DROP COLUMN limited_to_groups;
DROP TABLE group_members;
DROP TABLE group_devices;
DROP TABLE groups;
