-- The inbox: every verified delivery, stored before it is acknowledged.
-- Timestamps are UTC, stored without a zone so both backends share one schema.
CREATE TABLE webhook_events (
    id              BIGSERIAL PRIMARY KEY,
    source          TEXT      NOT NULL,
    idempotency_key TEXT      NOT NULL,
    body_sha256     TEXT      NOT NULL,
    event_type      TEXT      NOT NULL,
    kind            TEXT      NOT NULL,
    tenant_id       TEXT,
    user_id         TEXT,
    occurred_at     TIMESTAMP,
    received_at     TIMESTAMP NOT NULL,
    -- occurred_at when the payload had one, else received_at: the per-tenant order.
    order_at        TIMESTAMP NOT NULL,
    payload         TEXT      NOT NULL,
    status          TEXT      NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'succeeded', 'failed_retrying', 'dead', 'ignored', 'skipped')),
    attempts        INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until    TIMESTAMP,
    last_error      TEXT,
    finished_at     TIMESTAMP,
    CONSTRAINT webhook_events_source_key UNIQUE (source, idempotency_key)
);
-- Claiming due work.
CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at);
-- "No earlier unfinished event of the same tenant".
CREATE INDEX webhook_events_tenant_order ON webhook_events (tenant_id, order_at, id);
-- Admin listing, newest first, and retention.
CREATE INDEX webhook_events_received ON webhook_events (received_at);
CREATE INDEX webhook_events_kind ON webhook_events (kind);

CREATE TABLE event_attempts (
    id           BIGSERIAL PRIMARY KEY,
    event_id     BIGINT    NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    attempt      INTEGER   NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP NOT NULL,
    outcome      TEXT      NOT NULL,
    error        TEXT,
    http_status  INTEGER,
    duration_ms  BIGINT    NOT NULL,
    CONSTRAINT event_attempts_event_attempt UNIQUE (event_id, attempt)
);

CREATE TABLE tenant_airbyte_workspaces (
    tenant_id      TEXT      PRIMARY KEY,
    tenant_name    TEXT,
    workspace_id   TEXT,
    workspace_name TEXT,
    status         TEXT      NOT NULL
        CHECK (status IN ('provisioning', 'active', 'archived', 'deleted', 'tombstone')),
    last_event_at  TIMESTAMP,
    last_event_id  BIGINT,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX tenant_airbyte_workspaces_status ON tenant_airbyte_workspaces (status);

CREATE TABLE tenant_users (
    tenant_id     TEXT      NOT NULL,
    user_id       TEXT      NOT NULL,
    email         TEXT,
    status        TEXT      NOT NULL CHECK (status IN ('active', 'deactivated', 'deleted')),
    last_event_at TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    deleted_at    TIMESTAMP,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE tenant_sso (
    tenant_id     TEXT      PRIMARY KEY,
    provider      TEXT      NOT NULL,
    last_event_at TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    deleted_at    TIMESTAMP
);

-- Kept when events are purged: event_id is a plain reference, not a foreign key.
CREATE TABLE audit_log (
    id        BIGSERIAL PRIMARY KEY,
    at        TIMESTAMP NOT NULL,
    tenant_id TEXT,
    user_id   TEXT,
    event_id  BIGINT,
    action    TEXT      NOT NULL,
    detail    TEXT
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, at);
CREATE INDEX audit_log_event ON audit_log (event_id);
