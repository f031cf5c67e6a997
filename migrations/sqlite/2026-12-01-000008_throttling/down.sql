ALTER TABLE notification_deliveries DROP COLUMN throttled_attempts;
ALTER TABLE event_attempts DROP COLUMN throttled_calls;
ALTER TABLE webhook_events DROP COLUMN throttled_attempts;
