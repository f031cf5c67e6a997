-- One row per reconciler run: when, who asked, whether it repaired, how it ended, and what drift
-- it found with what was done about each (JSON). A run that applies repairs holds its turn with a
-- lease (`lease_until`, renewed while it runs): one such run at a time on a shared database.
CREATE TABLE reconcile_runs (
    id             BIGSERIAL PRIMARY KEY,
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP,
    lease_until    TIMESTAMP NOT NULL,
    apply          BOOLEAN   NOT NULL,
    triggered_by   TEXT      NOT NULL,
    status         TEXT      NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    -- Why deletions were held back, when they were.
    brake          TEXT,
    tenants_listed BIGINT,
    mappings_seen  BIGINT,
    -- {"kind": count, …} and [{"kind", "tenant_id", "workspace_id", "detail", "action", "event_id"}, …]
    counts         TEXT,
    drifts         TEXT,
    error          TEXT
);
CREATE INDEX reconcile_runs_running ON reconcile_runs (lease_until) WHERE status = 'running';
