-- A deleted tenant leaves its name behind for the history that mentions it.
CREATE TABLE deleted_tenants (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    traversal_ids uuid[] NOT NULL,
    deleted_at    timestamptz NOT NULL DEFAULT now()
);
-- Ownership history outlives the tenants it names.
ALTER TABLE device_moves DROP CONSTRAINT device_moves_from_tenant_id_fkey;
ALTER TABLE device_moves DROP CONSTRAINT device_moves_to_tenant_id_fkey;
-- A browser that signed in to an account before: a random token per account and browser,
-- stored hashed, so that a password reset or "sign out everywhere" can forget it.
CREATE TABLE device_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_tokens_user_idx ON device_tokens (user_id);
-- Forgot-password requests: the form only records the address (the same statement for any
-- address, so its time says nothing); a worker sends the email or drops the request.
CREATE TABLE reset_requests (
    id           bigserial PRIMARY KEY,
    email        text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
-- Invitation emails sent (created or resent), for the hourly limits per sender and tenant.
CREATE TABLE invitation_sends (
    id         bigserial PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    sender_id  uuid,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invitation_sends_tenant_idx ON invitation_sends (tenant_id, at);
CREATE INDEX invitation_sends_sender_idx ON invitation_sends (sender_id, at);
