-- Replays keep the attempt history: attempts keeps counting, and the retry schedule restarts
-- from the attempts already made when the event was last replayed.
ALTER TABLE webhook_events ADD COLUMN attempts_before_replay INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_events ADD COLUMN replayed_at TIMESTAMP;
