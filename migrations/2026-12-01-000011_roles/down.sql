-- Back to the three fixed roles; a custom role becomes the weakest, viewer.
ALTER TABLE memberships ADD COLUMN role text;
UPDATE memberships m SET role = coalesce(r.preset, 'viewer') FROM roles r WHERE r.id = m.role_id;
ALTER TABLE memberships ALTER COLUMN role SET NOT NULL,
    ADD CHECK (role IN ('admin', 'operator', 'viewer'));
ALTER TABLE memberships DROP COLUMN role_id;

ALTER TABLE invitations ADD COLUMN role text;
UPDATE invitations i SET role = coalesce(r.preset, 'viewer') FROM roles r WHERE r.id = i.role_id;
ALTER TABLE invitations ALTER COLUMN role SET NOT NULL,
    ADD CHECK (role IN ('admin', 'operator', 'viewer'));
ALTER TABLE invitations DROP COLUMN role_id;

DROP TABLE roles;
