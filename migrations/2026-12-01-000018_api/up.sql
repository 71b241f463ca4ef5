-- API keys: a member's credential for programs, in one tenant they belong to, with a role no
-- stronger than their own there. Only the secret's SHA-256 is kept (the secret carries 256
-- random bits, so a fast hash is enough); `prefix` lets a person recognise a key in a list.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- A deleted custom role takes its keys with it: nobody chose what they would become.
    role_id      uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    prefix       text NOT NULL,
    secret_hash  bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at DESC);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

-- The rate limit: requests per key per minute window, shared by every portal instance.
CREATE TABLE api_rate (
    key_id       uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    requests     integer NOT NULL,
    PRIMARY KEY (key_id, window_start)
);

-- The first answer to a creating request sent with an Idempotency-Key, kept a day: a retry
-- with the same key gets it again instead of creating a second object.
CREATE TABLE api_idempotency (
    key_id       uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    idem_key     text NOT NULL,
    request_hash bytea NOT NULL,
    status       smallint NOT NULL,
    location     text,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, idem_key)
);

-- Which key did it, when a program did.
ALTER TABLE audit_events ADD COLUMN api_key_id uuid;
