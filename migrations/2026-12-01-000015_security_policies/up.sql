-- A tenant's security policy, inherited down the tree: each tenant below may tighten what
-- applies from above and never loosen it (the effective policy is the strictest along the
-- path). NULL or false: nothing set here.
CREATE TABLE security_policies (
    tenant_id          uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    require_two_factor boolean NOT NULL DEFAULT false,
    email_domains      text[] CHECK (cardinality(email_domains) BETWEEN 1 AND 20),
    idle_minutes       integer CHECK (idle_minutes BETWEEN 5 AND 1440),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
