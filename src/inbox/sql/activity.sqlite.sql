-- Events received, and attempts by outcome, per bucket of `?2` seconds since `?1`.
SELECT 'received' AS series,
       CAST((julianday(received_at) - julianday(?1)) * 86400.0 / ?2 AS BIGINT) AS bucket,
       count(*) AS events
FROM webhook_events
WHERE received_at >= ?1
GROUP BY 2
UNION ALL
SELECT outcome,
       CAST((julianday(finished_at) - julianday(?1)) * 86400.0 / ?2 AS BIGINT),
       count(*)
FROM event_attempts
WHERE finished_at >= ?1
GROUP BY 1, 2
