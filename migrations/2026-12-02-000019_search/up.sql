-- Search across everything a person reaches (domain::search): each field is found by its
-- prefix, as one range scan of an index in the field's own order. Device names and
-- identifiers, and people's email addresses, have such indexes already.
CREATE INDEX devices_phone_idx ON devices (phone) WHERE phone IS NOT NULL;
CREATE INDEX tenants_name_idx ON tenants (lower(name));
CREATE INDEX users_lower_display_name_idx ON users (lower(display_name));
CREATE INDEX contacts_name_idx ON contacts (lower(name));
