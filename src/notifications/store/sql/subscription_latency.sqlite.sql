-- The attempt durations of the deliveries of subscription ?2 queued since ?1, newest first, at
-- most ?3 of them, as delivery_latency.sqlite.sql reads them for all. A statement of its own,
-- with no `?2 IS NULL OR`, so that SQLite reads them through the subscription's index
-- (notification_deliveries_subscription_created), in order, whatever other subscriptions have queued.
SELECT d.subscription_id AS subscription_id,
       m.event_type AS event_type,
       a.duration_ms AS duration_ms
FROM notification_deliveries d
JOIN notification_messages m ON m.id = d.message_id
JOIN notification_attempts a ON a.delivery_id = d.id
WHERE d.subscription_id = ?2
  AND d.created_at >= ?1
ORDER BY d.created_at DESC
LIMIT ?3
