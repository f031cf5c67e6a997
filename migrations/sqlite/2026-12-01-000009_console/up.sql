-- Console sessions: a browser signed in with an admin token. The row is keyed by the SHA-256 of
-- the session's cookie value (the cookie itself is never stored) and names the admin token it was
-- opened with only by a fingerprint, so the session ends as soon as that token leaves the
-- configuration. Signing out deletes the row.
CREATE TABLE console_sessions (
    id          TEXT      PRIMARY KEY,
    grant_id    TEXT      NOT NULL,
    role        TEXT      NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_grant ON console_sessions (grant_id);

-- What the console's pages read without scanning: events by user, attempt outcomes by time (the
-- overview's chart), and the notifications a tenant caused.
CREATE INDEX webhook_events_user ON webhook_events (user_id, id);
CREATE INDEX event_attempts_finished ON event_attempts (finished_at);
CREATE INDEX notification_messages_tenant ON notification_messages (tenant_id, created_at);
