DROP TABLE audit_log;
DROP TABLE tenant_sso;
DROP TABLE tenant_users;
DROP TABLE tenant_airbyte_workspaces;
DROP TABLE event_attempts;
DROP TABLE webhook_events;
