-- The end of a batch of attempts on Postgres: each event's new status, if the event is still
-- claimed by that attempt, and the attempt logged, only for the attempts whose claim held (the
-- ones `finished` returns). Placeholders 1 to 14: one array per column of `v`, in its order.
WITH v AS (
    SELECT * FROM UNNEST($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        AS v(id, attempts, status, next_attempt_at, last_error, finished_at, throttled,
             started_at, ended_at, outcome, error, http_status, duration_ms, throttled_calls)),
finished AS (
    UPDATE webhook_events AS e
    SET status = v.status, next_attempt_at = v.next_attempt_at, locked_until = NULL,
        last_error = v.last_error, finished_at = v.finished_at,
        throttled_attempts = e.throttled_attempts + CASE WHEN v.throttled THEN 1 ELSE 0 END
    FROM v
    WHERE e.id = v.id AND e.attempts = v.attempts AND e.status = 'processing'
    RETURNING e.id, e.attempts),
logged AS (
    INSERT INTO event_attempts
        (event_id, attempt, started_at, finished_at, outcome, error, http_status, duration_ms, throttled_calls)
    SELECT v.id, v.attempts, v.started_at, v.ended_at, v.outcome, v.error, v.http_status, v.duration_ms,
           v.throttled_calls
    FROM v WHERE (v.id, v.attempts) IN (SELECT id, attempts FROM finished))
SELECT id, attempts FROM finished
