-- The claim on Postgres. Placeholders: 1 the lease's end, 2 now, 3 the most events to claim.
-- An event may be claimed when it is its tenant's head: the tenant's event being processed if
-- there is one (so only its own expired lease frees it), else its earliest unfinished event by
-- order_at then id. Tenants with a live lease are set aside first with one hashed look-up, so
-- the correlated head look-up runs only for the rows that may be claimed, not for every event
-- queued behind a tenant in flight. Each claimed event comes with its tenant's rows as JSON.
UPDATE webhook_events SET status = 'processing', locked_until = $1, attempts = attempts + 1
WHERE id IN (
    SELECT e.id FROM webhook_events e
    WHERE e.status IN ('pending', 'processing', 'failed_retrying')
      AND ((e.status IN ('pending', 'failed_retrying') AND e.next_attempt_at <= $2)
           OR (e.status = 'processing' AND e.locked_until < $2))
      AND (e.tenant_id IS NULL OR (
          e.tenant_id NOT IN (
              SELECT b.tenant_id FROM webhook_events b
              WHERE b.status = 'processing' AND b.locked_until >= $2 AND b.tenant_id IS NOT NULL)
          AND e.id = (
              SELECT h.id FROM webhook_events h
              WHERE h.tenant_id = e.tenant_id AND h.status IN ('pending', 'processing', 'failed_retrying')
              ORDER BY CASE WHEN h.status = 'processing' THEN 0 ELSE 1 END, h.order_at, h.id LIMIT 1)))
    ORDER BY e.order_at, e.id
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
RETURNING webhook_events.*,
    (SELECT row_to_json(m)::text FROM tenant_airbyte_workspaces m
     WHERE m.tenant_id = webhook_events.tenant_id) AS tenant_mapping,
    (SELECT row_to_json(u)::text FROM tenant_users u
     WHERE u.tenant_id = webhook_events.tenant_id AND u.user_id = webhook_events.user_id) AS tenant_user,
    (SELECT row_to_json(s)::text FROM tenant_sso s
     WHERE s.tenant_id = webhook_events.tenant_id) AS tenant_sso
