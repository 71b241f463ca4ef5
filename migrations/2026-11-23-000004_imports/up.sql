-- A CSV import: checked first (dry run), then run in one transaction in the background,
-- reporting its progress here from a separate connection.
CREATE TABLE device_imports (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    state      text NOT NULL DEFAULT 'checked'
               CHECK (state IN ('checked', 'running', 'done', 'failed')),
    csv        text NOT NULL,
    total      integer NOT NULL,
    processed  integer NOT NULL DEFAULT 0,
    created    integer NOT NULL DEFAULT 0,
    updated    integer NOT NULL DEFAULT 0,
    unchanged  integer NOT NULL DEFAULT 0,
    refused    integer NOT NULL DEFAULT 0,
    error      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_imports_tenant_idx ON device_imports (tenant_id, created_at);
