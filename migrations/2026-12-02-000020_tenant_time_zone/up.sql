-- A tenant's default time zone (IANA name), for the people in it and below who chose none of
-- their own; like the brand, the nearest one set on the path applies. NULL: inherit (UTC at
-- the top).
ALTER TABLE tenants ADD COLUMN time_zone text CHECK (char_length(time_zone) <= 64);
