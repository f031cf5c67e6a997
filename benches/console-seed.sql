-- The console benchmark's data set (benches/console.sh): :events events received over the last 30
-- days (the last hour and day populated like the rest), by :tenants tenants with ten users each,
-- hot tenants far busier than most; their attempts, workspace mappings, users, SSO, audit trail,
-- and a few subscriptions with their deliveries. Pseudo-random but reproducible (setseed).
--
--   psql -v events=1000000 -v tenants=20000 -f benches/console-seed.sql DATABASE_URL
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
SELECT setseed(0.18) AS seeded \gset

CREATE TEMP TABLE bench_now AS SELECT date_trunc('second', timezone('utc', now())) AS now;

-- Events, ids in the order received. Kinds: 2 % tenant created, 4 % updated, 1 % deleted, 15 %
-- users joined, 40 % activated, 8 % deactivated, 3 % SSO changed, 27 % ignored (authentications
-- and the like). Statuses of the processed ones: 0.5 % dead, 0.3 % failed_retrying, 0.4 %
-- skipped, the rest succeeded; the last 300 received are pending (the newest 20 processing).
-- One tenant (number 4242) imported its users in bulk twenty days ago: one event in 250 of the
-- whole, all in a row, and only its share of the ordinary traffic since.
CREATE TEMP TABLE bench_events AS
SELECT i,
       now - make_interval(secs => (:events - i) * (30 * 86400.0 / :events) + rj * 2) AS received_at,
       CASE WHEN bulk AND rk < 0.5 THEN 'user_joined' WHEN bulk THEN 'user_activated'
            WHEN rk < 0.02 THEN 'tenant_created' WHEN rk < 0.06 THEN 'tenant_updated'
            WHEN rk < 0.07 THEN 'tenant_deleted' WHEN rk < 0.22 THEN 'user_joined'
            WHEN rk < 0.62 THEN 'user_activated' WHEN rk < 0.70 THEN 'user_deactivated'
            WHEN rk < 0.73 THEN 'sso_changed' ELSE 'ignored' END AS kind,
       -- hot tenants: tenant n is drawn with density falling as n grows
       CASE WHEN bulk THEN 4242 % :tenants ELSE floor(:tenants * power(rt, 1.5))::int END AS tenant_n,
       floor(ru * 10)::int AS user_n,
       CASE WHEN i > :events - 20 THEN 'processing' WHEN i > :events - 300 THEN 'pending'
            WHEN rs < 0.005 THEN 'dead' WHEN rs < 0.008 THEN 'failed_retrying'
            WHEN rs < 0.012 THEN 'skipped' ELSE 'succeeded' END AS status,
       rs, rj
FROM (SELECT i, random() AS rk, random() AS rt, random() AS ru, random() AS rs, random() AS rj,
             i BETWEEN :events / 3 AND :events / 3 + :events / 250 AS bulk
      FROM generate_series(1, :events) AS i) AS r, bench_now;

INSERT INTO webhook_events (id, source, idempotency_key, body_sha256, event_type, kind, tenant_id,
    user_id, occurred_at, received_at, order_at, payload, status, attempts, next_attempt_at,
    locked_until, last_error, finished_at, attempts_before_replay, replayed_at, throttled_attempts)
SELECT e.i, 'frontegg', md5('delivery-' || e.i), md5('body-' || e.i) || md5('body+' || e.i),
       t.event_type, e.kind, tenant, user_id,
       e.received_at - interval '150 milliseconds', e.received_at,
       e.received_at - interval '150 milliseconds',
       json_build_object('eventKey', t.event_type, 'eventContext',
           json_build_object('tenantId', tenant, 'userId', user_id, 'vendorId', 'f3b1c2d4-0000-4000-8000-000000000001'),
           'user', json_build_object('id', user_id, 'email', 'user' || e.user_n || '.' || e.tenant_n || '@example.com',
                                     'name', 'User ' || e.user_n, 'tenantId', tenant, 'activatedForTenant', true,
                                     'metadata', '{"plan":"team","region":"eu-west-1"}'),
           'tenant', json_build_object('tenantId', tenant, 'name', 'Company ' || e.tenant_n),
           'createdAt', to_char(e.received_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text,
       CASE WHEN e.kind = 'ignored' THEN 'ignored' ELSE e.status END,
       s.attempts,
       CASE WHEN e.kind <> 'ignored' AND e.status = 'failed_retrying' THEN e.received_at + interval '2 hours'
            ELSE e.received_at END,
       CASE WHEN e.kind <> 'ignored' AND e.status = 'processing' THEN e.received_at + interval '15 seconds' END,
       CASE WHEN e.kind = 'ignored' THEN NULL
            WHEN e.status IN ('dead', 'failed_retrying') THEN s.error
            WHEN e.status = 'skipped' THEN 'skipped: the tenant has no workspace (tombstone)' END,
       CASE WHEN e.kind = 'ignored' OR e.status IN ('succeeded', 'dead', 'skipped')
            THEN e.received_at + make_interval(secs => 0.05 + e.rj) END,
       0, NULL, 0
FROM bench_events AS e
CROSS JOIN LATERAL (SELECT md5('tenant-' || e.tenant_n)::uuid::text AS tenant,
                           CASE WHEN e.kind IN ('tenant_created', 'tenant_updated', 'tenant_deleted', 'sso_changed') THEN NULL
                                ELSE md5('user-' || e.tenant_n || '-' || e.user_n)::uuid::text END AS user_id,
                           CASE e.kind WHEN 'tenant_created' THEN 'frontegg.tenant.created'
                                WHEN 'tenant_updated' THEN 'frontegg.tenant.updated'
                                WHEN 'tenant_deleted' THEN 'frontegg.tenant.deleted'
                                WHEN 'user_joined' THEN 'frontegg.user.created'
                                WHEN 'user_activated' THEN 'frontegg.user.activated'
                                WHEN 'user_deactivated' THEN 'frontegg.user.deactivated'
                                WHEN 'sso_changed' THEN 'frontegg.sso.updated'
                                ELSE (ARRAY['frontegg.user.authenticated', 'frontegg.user.authenticatedWithSSO',
                                            'frontegg.user.changedPassword', 'frontegg.user.enrolledMFA'])[1 + (e.i % 4)] END
                                AS event_type) AS t
CROSS JOIN LATERAL (SELECT CASE WHEN e.kind = 'ignored' OR e.status IN ('pending', 'processing') THEN 0
                                WHEN e.status = 'dead' THEN 8
                                WHEN e.status = 'failed_retrying' THEN 1 + (e.i % 3)
                                WHEN e.status = 'succeeded' AND e.rj < 0.1 THEN 2
                                ELSE 1 END AS attempts,
                           (ARRAY['Airbyte answered 500 Internal Server Error: {"message":"Internal Server Error","exceptionClassName":"io.airbyte.commons.server.errors.IdNotFoundKnownException"}',
                                  'Airbyte answered 502 Bad Gateway',
                                  'timed out after 30000 ms waiting for Airbyte (POST /workspaces)',
                                  'connection refused: api.airbyte.com:443',
                                  'Airbyte answered 409 Conflict: workspace name already taken, adopting failed'])[1 + (e.i % 5)]
                                AS error) AS s
ORDER BY e.i;
SELECT setval('webhook_events_id_seq', :events) AS id_seq \gset

-- Attempts: one per processed event (a tenth of the successes after one failure), eight for a
-- dead event, one to three for an event waiting for its retry; failures carry their error.
INSERT INTO event_attempts (event_id, attempt, started_at, finished_at, outcome, error, http_status,
    duration_ms, throttled_calls)
SELECT w.id, a, w.received_at + make_interval(secs => 0.02 + (a - 1) * 120),
       w.received_at + make_interval(secs => 0.02 + (a - 1) * 120 + 0.03 + (w.id % 7) * 0.05),
       CASE WHEN a < w.attempts OR w.status = 'failed_retrying' THEN 'failed_retrying' ELSE w.status END,
       CASE WHEN a < w.attempts OR w.status IN ('failed_retrying', 'dead') THEN coalesce(w.last_error, 'Airbyte answered 503 Service Unavailable') END,
       CASE WHEN a < w.attempts OR w.status IN ('failed_retrying', 'dead') THEN (ARRAY[500, 502, NULL, NULL, 409])[1 + (w.id % 5)]
            WHEN w.status = 'succeeded' THEN 200 END,
       30 + (w.id % 7) * 50, 0
FROM webhook_events AS w, generate_series(1, w.attempts) AS a
WHERE w.attempts > 0
ORDER BY w.id, a;

-- Workspace mappings: most tenants active, some provisioning, archived, deleted or tombstone.
INSERT INTO tenant_airbyte_workspaces (tenant_id, tenant_name, workspace_id, workspace_name, status,
    last_event_at, last_event_id, created_at, updated_at)
SELECT md5('tenant-' || n)::uuid::text, 'Company ' || n,
       CASE WHEN st IN ('active', 'archived') THEN md5('workspace-' || n)::uuid::text END,
       'Company ' || n || ' [' || md5('tenant-' || n)::uuid::text || ']', st,
       now - make_interval(secs => n * 60), NULL,
       now - interval '30 days' + make_interval(secs => n * 60), now - make_interval(secs => n * 30)
FROM (SELECT n, CASE WHEN n % 100 = 7 THEN 'provisioning' WHEN n % 100 IN (8, 9) THEN 'archived'
                     WHEN n % 100 = 10 THEN 'deleted' WHEN n % 200 = 11 THEN 'tombstone' ELSE 'active' END AS st
      FROM generate_series(0, :tenants - 1) AS n) AS t, bench_now;

-- Ten users per tenant; SSO for one tenant in ten.
INSERT INTO tenant_users (tenant_id, user_id, email, status, last_event_at, created_at, updated_at, deleted_at)
SELECT md5('tenant-' || n)::uuid::text, md5('user-' || n || '-' || u)::uuid::text,
       'user' || u || '.' || n || '@example.com',
       CASE WHEN u = 9 THEN 'deactivated' WHEN u = 8 THEN 'invited' ELSE 'active' END,
       now - make_interval(secs => (n * 10 + u) * 5), now - interval '30 days', now - make_interval(secs => (n * 10 + u) * 5), NULL
FROM generate_series(0, :tenants - 1) AS n, generate_series(0, 9) AS u, bench_now;
INSERT INTO tenant_sso (tenant_id, provider, last_event_at, created_at, updated_at)
SELECT md5('tenant-' || n)::uuid::text, (ARRAY['okta', 'azure-ad', 'google'])[1 + n % 3],
       now - make_interval(secs => n * 60), now - interval '30 days', now - make_interval(secs => n * 60)
FROM generate_series(0, :tenants - 1, 10) AS n, bench_now;

-- Audit: what the workers wrote for created workspaces, activations and SSO changes, and a few
-- hundred replays by operators.
INSERT INTO audit_log (at, tenant_id, user_id, event_id, action, detail)
SELECT finished_at, tenant_id, user_id, id,
       CASE kind WHEN 'tenant_created' THEN 'workspace.created' WHEN 'sso_changed' THEN 'sso.changed'
                 WHEN 'user_deactivated' THEN 'user.deactivated' ELSE 'user.activated' END,
       json_build_object('event_type', event_type, 'status', status)::text
FROM webhook_events
WHERE status = 'succeeded' AND kind IN ('tenant_created', 'sso_changed', 'user_activated', 'user_deactivated')
ORDER BY id;
INSERT INTO audit_log (at, tenant_id, user_id, event_id, action, detail)
SELECT finished_at + interval '1 hour', tenant_id, NULL, id, 'event.replayed', '{"by":"console:0123456789ab"}'
FROM webhook_events WHERE status = 'dead' AND id % 10 = 0 ORDER BY id;

-- Subscriptions (secrets in plain text: the server encrypts them at start), with the
-- notifications of the last 30 days, one delivery per subscription and notification, and their
-- attempts; one subscription failing since yesterday, one disabled twenty days ago.
INSERT INTO notification_subscriptions (id, url, event_types, tenant_id, description, secret, active,
    disabled_reason, failing_since, created_at, updated_at, name)
SELECT 'sub_bench' || s, 'https://hooks' || s || '.example.com/tenantgate', '["*"]', NULL,
       'benchmark subscriber ' || s, 'whsec_' || encode(sha256(('bench-secret-' || s)::bytea), 'base64'),
       s <> 5, CASE WHEN s = 5 THEN 'the endpoint answered 410 Gone' END,
       CASE WHEN s = 4 THEN now - interval '1 day' END, now - interval '30 days', now - interval '1 day',
       'Subscriber ' || s
FROM generate_series(1, 5) AS s, bench_now;
INSERT INTO notification_messages (id, event_type, tenant_id, payload, created_at)
SELECT 'msg_bench' || id, CASE kind WHEN 'tenant_created' THEN 'workspace.provisioned' WHEN 'sso_changed' THEN 'sso.changed'
                                    WHEN 'user_deactivated' THEN 'user.deactivated' ELSE 'user.activated' END,
       tenant_id, json_build_object('id', 'msg_bench' || id, 'tenant_id', tenant_id, 'data', json_build_object('event_id', id))::text,
       finished_at
FROM webhook_events
WHERE status = 'succeeded' AND kind IN ('tenant_created', 'sso_changed', 'user_deactivated')
ORDER BY id;
INSERT INTO notification_deliveries (message_id, subscription_id, status, attempts, next_attempt_at,
    last_status_code, last_error, created_at, finished_at)
SELECT m.id, 'sub_bench' || s,
       CASE WHEN s = 4 AND m.created_at > now - interval '1 day' THEN 'failed_retrying'
            WHEN s = 5 THEN 'dead' ELSE 'succeeded' END,
       CASE WHEN s = 5 OR (s = 4 AND m.created_at > now - interval '1 day') THEN 3 ELSE 1 END, m.created_at,
       CASE WHEN s = 4 AND m.created_at > now - interval '1 day' THEN 500 WHEN s = 5 THEN 410 ELSE 204 END,
       CASE WHEN s = 4 AND m.created_at > now - interval '1 day' THEN 'the subscriber answered 500'
            WHEN s = 5 THEN 'the subscriber answered 410 Gone' END,
       m.created_at, CASE WHEN NOT (s = 4 AND m.created_at > now - interval '1 day') THEN m.created_at + interval '1 second' END
FROM notification_messages AS m, generate_series(1, 5) AS s, bench_now
WHERE s <> 5 OR m.created_at < now - interval '20 days'
ORDER BY m.created_at, s;
INSERT INTO notification_attempts (delivery_id, attempt, at, status_code, response_body, error, duration_ms)
SELECT d.id, a, d.created_at + make_interval(secs => (a - 1) * 5), d.last_status_code,
       CASE WHEN d.last_status_code = 204 THEN '' ELSE '{"error":"no"}' END, d.last_error, 40
FROM notification_deliveries AS d, generate_series(1, d.attempts) AS a
ORDER BY d.id, a;

VACUUM (ANALYZE);
SELECT relname AS "table", n_live_tup AS "rows" FROM pg_stat_user_tables WHERE schemaname = 'public' AND n_live_tup > 0 ORDER BY n_live_tup DESC;
SELECT pg_size_pretty(pg_database_size(current_database())) AS "database size";
