-- Per-subscription settings over the global defaults of [notifications]; null keeps the default.
-- A short human label for the subscription (distinct from its description).
ALTER TABLE notification_subscriptions ADD COLUMN name TEXT;
-- Total time for one delivery request to this subscriber, at most notifications.request_timeout_ms.
ALTER TABLE notification_subscriptions ADD COLUMN request_timeout_ms INTEGER;
-- Delivery attempts before a delivery is dead (default: the retry schedule's length + 1).
ALTER TABLE notification_subscriptions ADD COLUMN max_attempts INTEGER;

-- Delivery statistics (the admin API, and the metrics refreshed in the background) read the
-- deliveries queued within a window, the last 24 hours by default: without this index each
-- refresh would scan every delivery the retention keeps. It costs one more index entry per
-- delivery write.
CREATE INDEX notification_deliveries_created ON notification_deliveries (created_at);
