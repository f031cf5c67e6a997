-- Events received, and attempts by outcome, per bucket of `$2` seconds since `$1`.
SELECT 'received' AS series,
       floor(extract(epoch FROM received_at - $1) / $2)::bigint AS bucket,
       count(*) AS events
FROM webhook_events
WHERE received_at >= $1
GROUP BY 2
UNION ALL
SELECT outcome,
       floor(extract(epoch FROM finished_at - $1) / $2)::bigint,
       count(*)
FROM event_attempts
WHERE finished_at >= $1
GROUP BY 1, 2
