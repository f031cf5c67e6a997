-- The claim on SQLite: the rule of claim.postgres.sql, with the tenant's rows read after it.
-- Placeholders: 1 the lease's end, 2 now, 3 the most events to claim.
UPDATE webhook_events SET status = 'processing', locked_until = ?1, attempts = attempts + 1
WHERE id IN (
    SELECT e.id FROM webhook_events e
    WHERE e.status IN ('pending', 'processing', 'failed_retrying')
      AND ((e.status IN ('pending', 'failed_retrying') AND e.next_attempt_at <= ?2)
           OR (e.status = 'processing' AND e.locked_until < ?2))
      AND (e.tenant_id IS NULL OR e.id = (
          SELECT h.id FROM webhook_events h
          WHERE h.tenant_id = e.tenant_id AND h.status IN ('pending', 'processing', 'failed_retrying')
          ORDER BY CASE WHEN h.status = 'processing' THEN 0 ELSE 1 END, h.order_at, h.id LIMIT 1))
    ORDER BY e.order_at, e.id
    LIMIT ?3)
RETURNING *
