DROP INDEX notification_deliveries_created;
ALTER TABLE notification_subscriptions DROP COLUMN max_attempts;
ALTER TABLE notification_subscriptions DROP COLUMN request_timeout_ms;
ALTER TABLE notification_subscriptions DROP COLUMN name;
