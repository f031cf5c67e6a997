-- Claims due deliveries of active subscriptions on SQLite. Placeholders: 1 the lease's end, 2 now,
-- 3 the most deliveries to claim. Due: waiting and its time has come, or being delivered by a
-- sender whose lease expired (it died mid-send).
UPDATE notification_deliveries SET status = 'delivering', locked_until = ?1, attempts = attempts + 1
WHERE id IN (
    SELECT d.id FROM notification_deliveries d
    JOIN notification_subscriptions s ON s.id = d.subscription_id
    WHERE d.status IN ('pending', 'failed_retrying', 'delivering')
      AND ((d.status IN ('pending', 'failed_retrying') AND d.next_attempt_at <= ?2)
           OR (d.status = 'delivering' AND d.locked_until < ?2))
      AND s.active
    ORDER BY d.next_attempt_at, d.id
    LIMIT ?3)
RETURNING *
