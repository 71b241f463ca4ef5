DROP TABLE invitation_sends;
DROP TABLE reset_requests;
DROP TABLE device_tokens;
DELETE FROM device_moves m WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = m.to_tenant_id);
UPDATE device_moves m SET from_tenant_id = NULL
    WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = m.from_tenant_id);
ALTER TABLE device_moves ADD CONSTRAINT device_moves_to_tenant_id_fkey
    FOREIGN KEY (to_tenant_id) REFERENCES tenants (id) ON DELETE RESTRICT;
ALTER TABLE device_moves ADD CONSTRAINT device_moves_from_tenant_id_fkey
    FOREIGN KEY (from_tenant_id) REFERENCES tenants (id) ON DELETE SET NULL;
DROP TABLE deleted_tenants;
