ALTER TABLE console_sessions DROP COLUMN reveal_until;
ALTER TABLE console_sessions DROP COLUMN reveal_sealed_secret;
ALTER TABLE console_sessions DROP COLUMN reveal_subscription_id;
