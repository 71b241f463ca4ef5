-- A person's own time zone (IANA name); NULL: UTC.
ALTER TABLE users ADD COLUMN time_zone text CHECK (char_length(time_zone) <= 64);
