-- Tenants of one status in id order (a page of `provisioning` tenants in the console): the index
-- on status alone made every page sort them all. A migration of its own: 000009 had already been
-- applied to databases when this was first written into it.
DROP INDEX tenant_airbyte_workspaces_status;
CREATE INDEX tenant_airbyte_workspaces_status ON tenant_airbyte_workspaces (status, tenant_id);
