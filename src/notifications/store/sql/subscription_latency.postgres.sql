-- One subscription's delivery latency, in the groups delivery_latency.postgres.sql answers: the
-- attempt durations of the deliveries of subscription $2 queued since $1. A statement of its own,
-- with no `$2 IS NULL OR`, so that the planner reads them through the subscription's index
-- (notification_deliveries_subscription_created), whatever other subscriptions have queued. Its
-- deliveries are read first (materialized), each one's type looked up by the message's key and its
-- attempts through their index (`OFFSET 0` keeps the lateral subquery a per-row lookup): joined
-- instead, Postgres reads the whole message and attempt tables to hash them once the planner
-- cannot hand them to parallel workers.
WITH d AS MATERIALIZED (
    SELECT d.id,
           d.subscription_id,
           (SELECT m.event_type FROM notification_messages m WHERE m.id = d.message_id) AS event_type
    FROM notification_deliveries d
    WHERE d.subscription_id = $2
      AND d.created_at >= $1
)
SELECT d.subscription_id AS subscription_id,
       d.event_type AS event_type,
       COUNT(*) AS attempts,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY a.duration_ms) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY a.duration_ms) AS p95_ms
FROM d
CROSS JOIN LATERAL (SELECT a.duration_ms FROM notification_attempts a WHERE a.delivery_id = d.id OFFSET 0) a
GROUP BY GROUPING SETS ((d.subscription_id), (d.event_type), ())
