ALTER TABLE audit_events DROP COLUMN api_key_id;
DROP TABLE api_idempotency;
DROP TABLE api_rate;
DROP TABLE api_keys;
