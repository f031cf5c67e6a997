-- One subscription's deliveries queued since $1, counted by type and status, as
-- delivery_stats::counts counts them for all. Each delivery's type is looked up by the message's
-- key (a subquery per row): joined instead, Postgres reads the whole message table to hash it,
-- whatever the subscription's share of it.
SELECT d.subscription_id AS subscription_id,
       d.event_type AS event_type,
       d.status AS status,
       COUNT(*) AS deliveries,
       COALESCE(SUM(d.attempts), 0)::BIGINT AS attempts
FROM (SELECT d.subscription_id,
             d.status,
             d.attempts,
             (SELECT m.event_type FROM notification_messages m WHERE m.id = d.message_id) AS event_type
      FROM notification_deliveries d
      WHERE d.subscription_id = $2
        AND d.created_at >= $1) d
GROUP BY d.subscription_id, d.event_type, d.status
