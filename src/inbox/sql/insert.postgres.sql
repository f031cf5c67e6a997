-- A batch of deliveries into the inbox on Postgres, in one statement whatever the batch size:
-- placeholders 1 to 13 are one array per column, in the order of the column list. Rows already
-- there (same source and idempotency key) are left alone; the inserted ones come back. The
-- wake-up for other instances (LISTEN tenantgate_events) rides on the same statement, so a batch
-- costs one round trip; it is delivered when the statement commits.
WITH inserted AS (
    INSERT INTO webhook_events (source, idempotency_key, body_sha256, event_type, kind, tenant_id, user_id,
                                occurred_at, received_at, order_at, payload, status, next_attempt_at)
    SELECT * FROM UNNEST($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    ON CONFLICT DO NOTHING
    RETURNING id, source, idempotency_key)
SELECT inserted.id, inserted.source, inserted.idempotency_key
FROM inserted, (SELECT pg_notify('tenantgate_events', '')) AS announced
