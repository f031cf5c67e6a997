-- A secret made in the console (a new subscription, a rotation) is shown on a page of its own
-- that the action redirects to, so that reloading it never repeats the action. The session may
-- open that page once, for a few minutes: these columns hold which subscription, the secret the
-- action made (sealed as subscription secrets are) and until when.
ALTER TABLE console_sessions ADD COLUMN reveal_subscription_id TEXT;
ALTER TABLE console_sessions ADD COLUMN reveal_sealed_secret TEXT;
ALTER TABLE console_sessions ADD COLUMN reveal_until TIMESTAMP;
