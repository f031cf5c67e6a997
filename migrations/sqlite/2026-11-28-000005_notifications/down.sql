DROP TABLE notification_attempts;
DROP TABLE notification_deliveries;
DROP TABLE notification_messages;
DROP TABLE notification_subscriptions;
