DROP INDEX notification_messages_tenant;
DROP INDEX event_attempts_finished;
DROP INDEX webhook_events_user;
DROP TABLE console_sessions;
