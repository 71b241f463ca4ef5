-- Branding: each field is inherited from the nearest ancestor that sets it.
ALTER TABLE tenants
    ADD COLUMN brand_name   text CHECK (length(brand_name) BETWEEN 1 AND 60),
    ADD COLUMN brand_accent text CHECK (brand_accent ~ '^#[0-9a-f]{6}$'),
    ADD COLUMN brand_logo   text;

-- Logos are addressed by the hash of their bytes, so a logo URL reveals no tenant and can be
-- cached for ever. Kept apart from tenants so that tenant reads never drag the bytes along.
CREATE TABLE logos (
    hash         text PRIMARY KEY,
    content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/svg+xml')),
    bytes        bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The tenant a user last switched to: where they land after signing in.
ALTER TABLE users ADD COLUMN last_tenant_id uuid REFERENCES tenants (id) ON DELETE SET NULL;

-- Membership history for the usage report: memberships are deleted when revoked, so a trigger
-- keeps who belonged where, from when to when.
CREATE TABLE membership_spans (
    id         bigserial PRIMARY KEY,
    user_id    uuid NOT NULL,
    tenant_id  uuid NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at   timestamptz
);
CREATE INDEX membership_spans_tenant_idx ON membership_spans (tenant_id, started_at);
INSERT INTO membership_spans (user_id, tenant_id, started_at)
    SELECT user_id, tenant_id, created_at FROM memberships;

CREATE FUNCTION membership_spans_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO membership_spans (user_id, tenant_id, started_at)
            VALUES (NEW.user_id, NEW.tenant_id, NEW.created_at);
        RETURN NEW;
    END IF;
    UPDATE membership_spans SET ended_at = now()
        WHERE user_id = OLD.user_id AND tenant_id = OLD.tenant_id AND ended_at IS NULL;
    RETURN OLD;
END $$;
CREATE TRIGGER memberships_track AFTER INSERT OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION membership_spans_track();

-- The audit page pages a subtree's events newest first.
CREATE INDEX audit_events_tenant_path_id_idx ON audit_events (tenant_path, id);
CREATE INDEX device_moves_to_tenant_idx ON device_moves (to_tenant_id, moved_at);
