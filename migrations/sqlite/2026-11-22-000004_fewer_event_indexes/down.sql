DROP INDEX webhook_events_waiting;
CREATE INDEX webhook_events_kind ON webhook_events (kind);
CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at);
