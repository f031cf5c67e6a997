-- Every status change of an event rewrites its entry in each full index (status is indexed, so
-- the update is never in-place), twice per event: at the claim and at the finish. Keep only the
-- indexes something reads:
-- * the wait for the next retry looks only at waiting events: a small partial index replaces
--   the full (status, next_attempt_at) one;
-- * the admin filter by kind scans newest first along the primary key instead.
DROP INDEX webhook_events_due;
DROP INDEX webhook_events_kind;
CREATE INDEX webhook_events_waiting ON webhook_events (next_attempt_at)
    WHERE status IN ('pending', 'failed_retrying');
