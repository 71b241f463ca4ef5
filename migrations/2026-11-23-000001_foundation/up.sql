-- Tenants form a tree. parent_id is the source of truth; traversal_ids (root .. self) is kept
-- in the same transaction so that a whole subtree is one btree range scan.
CREATE TABLE tenants (
    id            uuid PRIMARY KEY,
    parent_id     uuid REFERENCES tenants (id) ON DELETE RESTRICT,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    slug          text NOT NULL,
    traversal_ids uuid[] NOT NULL CHECK (traversal_ids[array_length(traversal_ids, 1)] = id),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenants_traversal_ids_idx ON tenants (traversal_ids);
CREATE INDEX tenants_parent_id_idx ON tenants (parent_id);
-- Sibling names are unique regardless of case; roots share the nil parent.
CREATE UNIQUE INDEX tenants_sibling_name_idx
    ON tenants (coalesce(parent_id, '00000000-0000-0000-0000-000000000000'), lower(name));

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text NOT NULL,
    display_name    text NOT NULL,
    password_hash   text NOT NULL,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    last_sign_in_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));

-- tenant_path copies the tenant's traversal_ids so that a subtree's members are one range scan.
CREATE TABLE memberships (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    role        text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    tenant_path uuid[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, tenant_id)
);
CREATE INDEX memberships_tenant_path_idx ON memberships (tenant_path);
CREATE INDEX memberships_tenant_id_idx ON memberships (tenant_id);

-- No foreign keys: the audit trail outlives what it describes.
CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    tenant_id   uuid,
    tenant_path uuid[],
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   uuid,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
    client_addr text
);
CREATE INDEX audit_events_tenant_path_idx ON audit_events (tenant_path, at);

-- Server-side sessions: only a hash of the cookie's key is stored.
CREATE TABLE sessions (
    key_hash   text PRIMARY KEY,
    user_id    uuid REFERENCES users (id) ON DELETE CASCADE,
    state      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Failed sign-ins, counted per key (client address, account) over a sliding window.
CREATE TABLE login_failures (
    id  bigserial PRIMARY KEY,
    key text NOT NULL,
    at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_at_idx ON login_failures (key, at);
