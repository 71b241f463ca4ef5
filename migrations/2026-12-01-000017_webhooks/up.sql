-- A tenant's webhook: alerts on its subtree are also POSTed as JSON to its URL, signed with
-- HMAC-SHA256 over the timestamp and the body. The secret is kept to sign with (shown once).
CREATE TABLE webhooks (
    tenant_id   uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    url         text NOT NULL CHECK (char_length(url) BETWEEN 8 AND 500),
    secret      text NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Deliveries wait here like emails in the outbox: claimed with SKIP LOCKED and a lease,
-- retried with backoff, each sent until it is accepted once.
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event           text NOT NULL,
    body            text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT canopy_now(),
    claimed_until   timestamptz,
    delivered_at    timestamptz,
    failed_at       timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT canopy_now()
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_deliveries_tenant_idx ON webhook_deliveries (tenant_id, id DESC);
