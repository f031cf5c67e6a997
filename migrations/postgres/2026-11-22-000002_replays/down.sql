ALTER TABLE webhook_events DROP COLUMN replayed_at;
ALTER TABLE webhook_events DROP COLUMN attempts_before_replay;
