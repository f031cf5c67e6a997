-- One subscription's delivery latency, in the groups delivery_latency.postgres.sql answers: the
-- attempt durations of the deliveries of subscription $2 queued since $1. A statement of its own,
-- with no `$2 IS NULL OR`, so that the planner reads them through the subscription's index
-- (notification_deliveries_subscription_created), whatever other subscriptions have queued.
SELECT d.subscription_id AS subscription_id,
       m.event_type AS event_type,
       COUNT(*) AS attempts,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY a.duration_ms) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY a.duration_ms) AS p95_ms
FROM notification_deliveries d
JOIN notification_messages m ON m.id = d.message_id
JOIN notification_attempts a ON a.delivery_id = d.id
WHERE d.subscription_id = $2
  AND d.created_at >= $1
GROUP BY GROUPING SETS ((d.subscription_id), (m.event_type), ())
