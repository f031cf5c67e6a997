-- One subscription's delivery statistics read the deliveries it had queued in a window: this
-- index finds them by subscription and time, whatever other subscriptions have in that window.
CREATE INDEX notification_deliveries_subscription_created ON notification_deliveries (subscription_id, created_at);
