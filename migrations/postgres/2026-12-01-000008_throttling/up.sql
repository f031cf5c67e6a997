-- Throttling is not failure: an attempt that ended because the provider kept refusing calls for
-- its rate is counted apart (`throttled_attempts`), so it spends none of the event's retries,
-- and each attempt logs how many refusals it waited out at the pacing gate (`throttled_calls`).
-- The same for a notification delivery a subscriber answered 429 or 503.
ALTER TABLE webhook_events ADD COLUMN throttled_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event_attempts ADD COLUMN throttled_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notification_deliveries ADD COLUMN throttled_attempts INTEGER NOT NULL DEFAULT 0;
