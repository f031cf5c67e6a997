-- Delivery latency over a window, from the attempt log: the median and 95th percentile of the
-- attempt durations of the deliveries queued since $1, per subscription (event_type null), per
-- notification type (subscription_id null) and overall (both null). Neither column is ever null
-- in a row, so the nulls tell the groups apart. One subscription's: subscription_latency.
SELECT d.subscription_id AS subscription_id,
       m.event_type AS event_type,
       COUNT(*) AS attempts,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY a.duration_ms) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY a.duration_ms) AS p95_ms
FROM notification_deliveries d
JOIN notification_messages m ON m.id = d.message_id
JOIN notification_attempts a ON a.delivery_id = d.id
WHERE d.created_at >= $1
GROUP BY GROUPING SETS ((d.subscription_id), (m.event_type), ())
