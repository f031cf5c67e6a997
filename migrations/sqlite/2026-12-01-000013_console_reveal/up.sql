-- A secret made in the console (a new subscription, a rotation) is shown on a page of its own
-- that the action redirects to, so that reloading it never repeats the action. The session may
-- open that page once, for that subscription, for a few minutes: these columns say which.
ALTER TABLE console_sessions ADD COLUMN reveal_subscription_id TEXT;
ALTER TABLE console_sessions ADD COLUMN reveal_until TIMESTAMP;
