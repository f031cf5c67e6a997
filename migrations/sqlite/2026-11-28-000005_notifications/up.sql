-- tenantgate's own outbound webhooks: subscribers, the outbox of notifications, one delivery per
-- (notification, subscription), and the log of each delivery attempt.
CREATE TABLE notification_subscriptions (
    id                         TEXT      PRIMARY KEY,
    url                        TEXT      NOT NULL,
    -- A JSON array of notification types, or ["*"] for every type.
    event_types                TEXT      NOT NULL,
    -- Only this tenant's notifications, when set.
    tenant_id                  TEXT,
    description                TEXT,
    -- Signing secrets (whsec_…). The previous one stays valid until its expiry after a rotation.
    secret                     TEXT      NOT NULL,
    previous_secret            TEXT,
    previous_secret_expires_at TIMESTAMP,
    active                     BOOLEAN   NOT NULL,
    disabled_reason            TEXT,
    -- Since when every delivery attempt has failed (null while the endpoint is healthy).
    failing_since              TIMESTAMP,
    created_at                 TIMESTAMP NOT NULL,
    updated_at                 TIMESTAMP NOT NULL
);

-- The outbox: written in the same transaction as the effect that causes the notification.
CREATE TABLE notification_messages (
    id         TEXT      PRIMARY KEY,
    event_type TEXT      NOT NULL,
    tenant_id  TEXT,
    -- The envelope exactly as sent (and signed).
    payload    TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE notification_deliveries (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id                 TEXT      NOT NULL REFERENCES notification_messages (id) ON DELETE CASCADE,
    subscription_id            TEXT      NOT NULL REFERENCES notification_subscriptions (id) ON DELETE CASCADE,
    status                     TEXT      NOT NULL
        CHECK (status IN ('pending', 'delivering', 'succeeded', 'failed_retrying', 'dead')),
    attempts                   INTEGER   NOT NULL DEFAULT 0,
    -- Attempts made before the last manual redelivery: the retry schedule restarts after one.
    attempts_before_redelivery INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at            TIMESTAMP NOT NULL,
    locked_until               TIMESTAMP,
    last_status_code           INTEGER,
    last_error                 TEXT,
    created_at                 TIMESTAMP NOT NULL,
    finished_at                TIMESTAMP
);
-- Claiming due deliveries, and the ones whose sender died (their lease expired).
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'failed_retrying', 'delivering');
CREATE INDEX notification_deliveries_subscription ON notification_deliveries (subscription_id, id);
CREATE INDEX notification_deliveries_message ON notification_deliveries (message_id);

CREATE TABLE notification_attempts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id   BIGINT    NOT NULL REFERENCES notification_deliveries (id) ON DELETE CASCADE,
    attempt       INTEGER   NOT NULL,
    at            TIMESTAMP NOT NULL,
    status_code   INTEGER,
    -- The start of the answer's body, truncated.
    response_body TEXT,
    error         TEXT,
    duration_ms   BIGINT    NOT NULL
);
CREATE INDEX notification_attempts_delivery ON notification_attempts (delivery_id, attempt);
