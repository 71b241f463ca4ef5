CREATE INDEX devices_tenant_id_idx ON devices (tenant_id);
CREATE INDEX devices_identifier_prefix_idx ON devices (upper(identifier) text_pattern_ops);
