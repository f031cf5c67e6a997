-- Before `invited` existed an invitation was not recorded: an invited user is not active, so
-- the nearest earlier status is `deactivated`.
UPDATE tenant_users SET status = 'deactivated' WHERE status = 'invited';
CREATE TABLE tenant_users_new (
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
INSERT INTO tenant_users_new (tenant_id, user_id, email, status, last_event_at, created_at, updated_at, deleted_at)
    SELECT tenant_id, user_id, email, status, last_event_at, created_at, updated_at, deleted_at FROM tenant_users;
DROP TABLE tenant_users;
ALTER TABLE tenant_users_new RENAME TO tenant_users;
