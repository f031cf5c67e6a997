DROP INDEX tenant_airbyte_workspaces_status;
CREATE INDEX tenant_airbyte_workspaces_status ON tenant_airbyte_workspaces (status);
DROP INDEX notification_messages_tenant;
DROP INDEX event_attempts_finished;
DROP INDEX webhook_events_user;
DROP TABLE console_sessions;
