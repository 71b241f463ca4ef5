-- Invitations: only a hash of the token is stored. tenant_path places them in the tree.
CREATE TABLE invitations (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    tenant_path  uuid[] NOT NULL,
    email        text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    inviter_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    token_hash   text NOT NULL UNIQUE,
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'accepted', 'revoked')),
    expires_at   timestamptz NOT NULL,
    accepted_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- At most one pending invitation per address and tenant.
CREATE UNIQUE INDEX invitations_one_pending_idx
    ON invitations (tenant_id, lower(email)) WHERE state = 'pending';
CREATE INDEX invitations_tenant_path_idx ON invitations (tenant_path, created_at);

-- Password reset tokens, hashed, single use.
CREATE TABLE password_resets (
    token_hash text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The transactional outbox: written with the change that causes the email, delivered by
-- workers that claim rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    to_email        text NOT NULL,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL,
    invitation_id   uuid REFERENCES invitations (id) ON DELETE CASCADE,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_until   timestamptz,
    sent_at         timestamptz,
    failed_at       timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_invitation_idx ON outbox (invitation_id);
