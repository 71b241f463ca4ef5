-- Two-factor sign-in: a TOTP secret (base32; NULL: none), the last time step accepted (a code
-- is accepted once), a generation bumped whenever the password or the second factor changes
-- (a remembered browser dies with it), and ten single-use recovery codes, stored hashed.
ALTER TABLE users ADD COLUMN totp_secret text;
ALTER TABLE users ADD COLUMN totp_last_step bigint;
ALTER TABLE users ADD COLUMN factor_generation integer NOT NULL DEFAULT 0;
CREATE TABLE recovery_codes (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
