-- The attempt durations of the deliveries queued since ?1, newest deliveries first, at most ?2 of
-- them: SQLite has no percentile function, so the percentiles are computed from these rows, as
-- Postgres' percentile_cont would. One subscription's: subscription_latency.
SELECT d.subscription_id AS subscription_id,
       m.event_type AS event_type,
       a.duration_ms AS duration_ms
FROM notification_deliveries d
JOIN notification_messages m ON m.id = d.message_id
JOIN notification_attempts a ON a.delivery_id = d.id
WHERE d.created_at >= ?1
ORDER BY d.created_at DESC
LIMIT ?2
